#!/usr/bin/env python3
"""make-probes.py - what the demo base model can do, as line-completion probes.

    scripts/make-probes.py OUT_DIR [--rows N] [--seed S]

Writes four files of {"prompt": ..., "completion": ...} rows (default 150 each,
seed 12345) to OUT_DIR, for `mainline-eval --complete` (a row counts when the
model's greedy continuation of the prompt, up to the end of the line, is exactly
the completion). Each prompt is a snippet in the pretraining corpus's own formats
(scripts/make-pretrain-corpus.py), cut where the rest of the line is determined:

  probe-arith.jsonl   a sum:                 "...\\n12 * 7 =" -> " 84"
  probe-boxes.jsonl   copy two numbers from the lines above and multiply:
                      "Sam has 8 boxes.\\nEach box holds 3 crayons.\\nSam has"
                      -> " 8 * 3 = 24 crayons."
  probe-ages.jsonl    copy two numbers and add: "... So Zoe is" -> " 12 + 4 = 16 years old."
  probe-roster.jsonl  find a number by the name before it: who has what, then the
                      same facts in another order, the last one left to say.

make-base-model.py runs them on the model it trains and reports the counts in its
README; tests/shell/t3004 checks the committed model still scores them. Written
atomically; Python standard library only; the same arguments give the same bytes.
"""
import argparse
import importlib.util
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("corpus", os.path.join(HERE, "make-pretrain-corpus.py"))
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)


def arith(r):
    op = r.choice("*+-")
    if op == "*":
        a, b = r.randint(2, 12), r.randint(2, 12)
        c = a * b
    elif op == "+":
        a, b = r.randint(2, 60), r.randint(2, 60)
        c = a + b
    else:
        b, c = r.randint(1, 40), r.randint(1, 40)
        a = b + c
    return f"5 * 6 = 30\n14 + 9 = 23\n{a} {op} {b} =", f" {c}"


def boxes(r):
    n, it = r.choice(corpus.NAMES), r.choice(corpus.ITEMS)
    a, b = r.randint(2, 12), r.randint(2, 15)
    return f"{n} has {a} boxes.\nEach box holds {b} {it}.\n{n} has", f" {a} * {b} = {a * b} {it}."


def ages(r):
    n, m = r.sample(corpus.NAMES, 2)
    a, b = r.randint(3, 45), r.randint(2, 25)
    return f"{n} is {a} years old.\n{m} is {b} years older.\nSo {m} is", \
        f" {a} + {b} = {a + b} years old."


def roster(r):
    people = r.sample(corpus.NAMES, 3)
    said = [f"{n} has {r.randint(2, 99)} {r.choice(corpus.ITEMS)}." for n in people]
    order = [1, 2, 0] if r.random() < 0.5 else [2, 0, 1]
    again = " ".join(said[i] for i in order[:2])
    last = people[order[2]]
    return f"{' '.join(said)}\n{again} {last} has", said[order[2]][len(last) + 4:]


PROBES = [("arith", arith), ("boxes", boxes), ("ages", ages), ("roster", roster)]


def main():
    ap = argparse.ArgumentParser(description="write the demo base model's probes")
    ap.add_argument("out", help="the directory to write probe-*.jsonl into")
    ap.add_argument("--rows", type=int, default=150, help="rows per probe (default 150)")
    ap.add_argument("--seed", type=int, default=12345, help="generator seed (default 12345)")
    a = ap.parse_args()
    if a.rows < 1:
        sys.exit("make-probes.py: --rows must be >= 1")
    os.makedirs(a.out, exist_ok=True)
    r = random.Random(a.seed)
    for name, fn in PROBES:
        rows = [fn(r) for _ in range(a.rows)]
        corpus.write_atomic(os.path.join(a.out, f"probe-{name}.jsonl"),
                            (json.dumps({"prompt": p, "completion": c}) + "\n" for p, c in rows))


if __name__ == "__main__":
    main()
