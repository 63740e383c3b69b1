#!/usr/bin/env python3
"""make-tokenizer.py - a number-token vocabulary: a llama2.c tokenizer.bin in
which every whole number from 10 to 999 is one token.

    scripts/make-tokenizer.py OUT.bin

The vocabulary (1344 tokens, always the same bytes):
  0 <unk>, 1 BOS, 2 EOS (llama2.c's pieces for them);
  3..258 the byte-fallback pieces <0x00>..<0xFF> (mainline's tokenizer requires them);
  259..353 the 95 printable ASCII characters, one token each;
  354..1343 the numbers 10..999, one token each.
Encoding (model/tokenizer.c, as llama2.c's run.c) starts from one token per
character and merges the best-scoring adjacent pair that is in the vocabulary: a
number's two-digit prefix merges first (score -1), then its third digit (score -2),
so "305" is one token and "1234" two.

Why: the demo's word problems are solved by copying the problem's numbers into
the solution. Byte by byte, a number is several tokens from an alphabet of ten;
with one token per number, copying it is a look-up of one distinctive token. This
is an experiment's tool (issue 6): on 2026-11-21 a model of the demo base's shape
pretrained with it for 750 steps (batch 16) did not copy numbers either, but at lr 3e-3,
which later turned out to keep copying from forming at all (sweeps/models/demo-base/
README.md), so that trial says nothing about the tokenizer. The demo base model learned
to copy byte by byte at lr 1e-3 and stays byte-level. tests/shell/t3003 uses this file
to test training with a tokenizer file.

Written atomically (temporary file, fsync, rename). Python standard library only.
"""
import importlib.util
import os
import struct
import sys

VOCAB = 1344


def pieces():
    """(piece bytes, score) in id order."""
    out = [(b"<unk>", 0.0), (b"\n<s>\n", 0.0), (b"\n</s>\n", 0.0)]
    out += [(f"<0x{b:02X}>".encode(), 0.0) for b in range(256)]
    out += [(bytes([c]), 0.0) for c in range(32, 127)]
    out += [(str(n).encode(), -1.0 if n < 100 else -2.0) for n in range(10, 1000)]
    assert len(out) == VOCAB
    return out


def encode():
    ps = pieces()
    blob = struct.pack("<i", max(len(p) for p, _ in ps))
    for p, score in ps:
        blob += struct.pack("<fi", score, len(p)) + p
    return blob


def write_atomic(path, data):
    """make-pretrain-corpus.py's atomic writer (temporary file, fsync, rename)."""
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(
        "make_pretrain_corpus", os.path.join(here, "make-pretrain-corpus.py"))
    corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(corpus)
    corpus.write_atomic(path, [data], binary=True)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-tokenizer.py OUT.bin")
    write_atomic(sys.argv[1], encode())


if __name__ == "__main__":
    main()
