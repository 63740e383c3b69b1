#!/usr/bin/env python3
"""make_tiny_tokenizer.py - a byte-level BPE tokenizer.json (GPT-2's byte alphabet,
no merges: one token a byte) with <|im_start|> and <|im_end|> as added tokens, and a
tokenizer_config.json with a ChatML chat_template, for tests that need a Hugging
Face tokenizer of 258 tokens rather than a real 150,000-token one. Standard library only.

    make_tiny_tokenizer.py OUT_DIR
"""
import json
import os
import sys


def byte_alphabet():
    """GPT-2's bytes_to_unicode: every byte as a printable character."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + \
        list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    alpha = byte_alphabet()
    vocab = {alpha[b]: b for b in range(256)}
    added = [{"id": 256 + i, "content": t, "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True}
             for i, t in enumerate(["<|im_start|>", "<|im_end|>"])]
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
           "normalizer": None,
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False,
                             "trim_offsets": False, "use_regex": True},
           "post_processor": None,
           "decoder": {"type": "ByteLevel", "add_prefix_space": False,
                       "trim_offsets": False, "use_regex": True},
           "model": {"type": "BPE", "dropout": None, "unk_token": None,
                     "continuing_subword_prefix": None, "end_of_word_suffix": None,
                     "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                     "vocab": vocab, "merges": []}}
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tok, f)
    tmpl = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
            "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"chat_template": tmpl, "eos_token": "<|im_end|>", "bos_token": None}, f)


if __name__ == "__main__":
    main()
