#!/usr/bin/env python3
"""make-pretrain-corpus.py - the synthetic corpus the demo base model is pretrained on.

    scripts/make-pretrain-corpus.py OUT.jsonl [--rows N] [--seed S] [--min-chars C]

Writes N rows of {"text": ...} (default 10000, seed 0) to OUT.jsonl, atomically
(a temporary file in the same directory, fsynced, renamed). The same arguments
give byte-identical files: only random.Random(seed) draws, and only the Python
standard library is used.

What the rows teach, and what they leave out on purpose (sweeps/models/demo-base/
README.md says why):
  - arithmetic in the notation of `mainline data synth-math` solutions: runs of
    facts ("7 * 8 = 56", "132 - 47 = 85", "36 / 4 = 9") over the number ranges
    those problems use;
  - short worked calculations about quantities, one step per line, in that same
    notation ("Each box holds 6 crayons.\\nThe boxes hold 4 * 6 = 24 crayons."),
    with fractions ("A third of 27 is 27 / 3 = 9."), ages, rates and money;
  - plain sentences about quantities;
  - copying: a list of numbers and the same list again, and who has how many of
    what followed by the same facts in another order (the word problems' solutions
    copy their numbers from the problem, and the model has to learn copying here).
  It has no questions, no "The answer is", no \\boxed{} and none of synth-math's
  problem templates: a model pretrained on it can do sums but has never seen the
  benchmark's question -> solution -> \\boxed{answer} format. That is what LoRA
  SFT on the synth-math training set has to add.
"""
import argparse
import json
import os
import random
import sys

NAMES = ["Sam", "Lily", "Tom", "Rosa", "Amir", "Zoe", "Max", "Iris", "Leo", "Maya", "Noah",
         "Ruth", "Yuki", "Pablo", "Sara", "Theo", "Alma", "Kian", "Mei", "Olga"]
ITEMS = ["crayons", "kites", "plates", "stamps", "buttons", "candles", "rocks", "socks",
         "lemons", "eggs", "jars", "nails", "ribbons", "tickets", "bowls", "leaves"]
PLACES = ["farm", "shop", "garden", "library", "school", "park", "market", "kitchen"]
ANIMALS = [("cows", "sheep"), ("ducks", "geese"), ("cats", "dogs"), ("hens", "goats")]
FRACTIONS = [("Half", 1, 2), ("A third", 1, 3), ("A quarter", 1, 4), ("A fifth", 1, 5),
             ("Two thirds", 2, 3), ("Three quarters", 3, 4), ("Two fifths", 2, 5),
             ("A sixth", 1, 6), ("Three fifths", 3, 5)]
UNITS = {3: "third", 4: "quarter", 5: "fifth", 6: "sixth", 2: "half"}


def fact(r, op):
    """One arithmetic fact in synth-math's notation."""
    if op == "*":
        a = r.choice([r.randint(2, 15), r.randint(2, 15), r.randint(10, 150)])
        b = r.randint(2, 12)
        return f"{a} * {b} = {a * b}"
    if op == "+":
        a, b = r.randint(2, r.choice([20, 100, 300])), r.randint(2, r.choice([20, 100, 300]))
        return f"{a} + {b} = {a + b}"
    if op == "-":
        b, c = r.randint(1, r.choice([20, 100, 250])), r.randint(1, r.choice([20, 100, 250]))
        return f"{b + c} - {b} = {c}"
    q, c = r.randint(2, 12), r.randint(1, 20)
    return f"{q * c} / {q} = {c}"


def facts(r):
    op = r.choice("*+-/")
    ops = [op] * r.randint(3, 8) if r.random() < 0.5 else [r.choice("*+-/") for _ in range(6)]
    return "\n".join(fact(r, o) for o in ops)


def boxes(r):
    n, it = r.choice(NAMES), r.choice(ITEMS)
    a, b = r.randint(2, 12), r.randint(2, 15)
    lines = [f"{n} has {a} boxes.", f"Each box holds {b} {it}.",
             f"{n} has {a} * {b} = {a * b} {it}."]
    if r.random() < 0.5:
        c = r.randint(1, a * b - 1)
        lines += [f"{n} gives {c} {it} to a friend.", f"Now {n} has {a * b} - {c} = {a * b - c} {it}."]
    return "\n".join(lines)


def money(r):
    n, it = r.choice(NAMES), r.choice(ITEMS)
    a, p = r.randint(2, 9), r.randint(2, 12)
    lines = [f"One of the {it} costs {p} dollars.", f"{a} {it} cost {a} * {p} = {a * p} dollars."]
    if r.random() < 0.6:
        it2 = r.choice([i for i in ITEMS if i != it])
        d, q = r.randint(2, 9), r.randint(2, 12)
        lines += [f"{d} {it2} cost {d} * {q} = {d * q} dollars.",
                  f"Together that is {a * p} + {d * q} = {a * p + d * q} dollars."]
        total = a * p + d * q
    else:
        total = a * p
    if r.random() < 0.5:
        bill = total + r.randint(1, 40)
        lines.append(f"{n} had {bill} dollars, so {bill} - {total} = {bill - total} dollars are left.")
    return "\n".join(lines)


def rates(r):
    kind = r.randrange(3)
    a, b = r.randint(2, 15), r.randint(2, 9)
    if kind == 0:
        it = r.choice(ITEMS)
        lines = [f"A worker packs {a} {it} every hour.", f"In {b} hours the worker packs {a} * {b} = {a * b} {it}."]
        if r.random() < 0.6:
            c = r.randint(2, 9)
            lines.append(f"Over {c} days that is {a * b} * {c} = {a * b * c} {it}.")
    elif kind == 1:
        a = r.randint(10, 80)
        lines = [f"A train goes {a} km each hour.", f"After {b} hours it has gone {a} * {b} = {a * b} km."]
    else:
        n = r.choice(NAMES)
        c = r.randint(2, 9)
        lines = [f"{n} walks {a} km on one day and {c} km the next day.",
                 f"{n} walks {a} + {c} = {a + c} km in all."]
    return "\n".join(lines)


def ages(r):
    n, m = r.sample(NAMES, 2)
    a, b = r.randint(3, 45), r.randint(2, 25)
    lines = [f"{n} is {a} years old.", f"{m} is {b} years older.", f"So {m} is {a} + {b} = {a + b} years old."]
    if r.random() < 0.5:
        c = r.randint(2, 20)
        lines.append(f"In {c} years {n} will be {a} + {c} = {a + c} years old.")
    else:
        k = r.randint(2, 4)
        lines.append(f"Their aunt is {k} times as old as {n}, so she is {a} * {k} = {a * k} years old.")
    return "\n".join(lines)


def fractions(r):
    words, p, q = r.choice(FRACTIONS)
    whole = q * r.randint(2, 15)
    part = whole // q * p
    it = r.choice(ITEMS)
    if p == 1:
        lines = [f"{words} of {whole} is {whole} / {q} = {part}."]
    else:
        lines = [f"One {UNITS[q]} of {whole} is {whole} / {q} = {whole // q}.",
                 f"{words} of {whole} is {whole // q} * {p} = {part}."]
    if r.random() < 0.6:
        n = r.choice(NAMES)
        lines = [f"{n} had {whole} {it} and used {words.lower()} of them."] + lines + \
                [f"{n} still has {whole} - {part} = {whole - part} {it}."]
    return "\n".join(lines)


def groups(r):
    place = r.choice(PLACES)
    x, y = r.choice(ANIMALS)
    a, b = r.randint(2, 60), r.randint(2, 60)
    lines = [f"The {place} has {a} {x} and {b} {y}.", f"There are {a} + {b} = {a + b} animals at the {place}."]
    if r.random() < 0.4:
        c = r.randint(1, a + b - 1)
        lines.append(f"{c} of them go out, so {a + b} - {c} = {a + b - c} stay in.")
    return "\n".join(lines)


def story(r):
    """Facts first, then the calculations that use them, a few lines further on: the
    numbers have to be found again, not just carried from the previous word."""
    n = r.choice(NAMES)
    it1, it2 = r.sample(ITEMS, 2)
    a, p, b, q = r.randint(2, 9), r.randint(2, 12), r.randint(2, 9), r.randint(2, 12)
    facts_ = [f"{n} has {a} bags of {it1} with {p} {it1} in each bag.",
              f"{n} also has {b} boxes of {it2} with {q} {it2} in each box."]
    extra = r.randint(2, 30)
    facts_.append(f"A friend gives {n} {extra} more {it1}.")
    steps = [f"The bags hold {a} * {p} = {a * p} {it1}.",
             f"With the gift {n} has {a * p} + {extra} = {a * p + extra} {it1}.",
             f"The boxes hold {b} * {q} = {b * q} {it2}.",
             f"{n} has {a * p + extra} + {b * q} = {a * p + extra + b * q} things in all."]
    if r.random() < 0.5:
        steps = steps[2:3] + steps[:2]
    return " ".join(facts_) + "\n" + "\n".join(steps)


def older(r):
    n, m, k = r.sample(NAMES, 3)
    a, b, c = r.randint(3, 40), r.randint(2, 20), r.randint(2, 20)
    return (f"{n} is {a} years old and {m} is {b} years older than {n}. {k} is {c} years "
            f"younger than {m}.\n{m} is {a} + {b} = {a + b} years old.\n"
            f"{k} is {a + b} - {c} = {a + b - c} years old.")


def recap(r):
    """Several people's quantities in one paragraph, then each one looked up again in
    another order and used in a step: copying a name and its number from further
    back, which is what a solution does with its problem."""
    people = r.sample(NAMES, r.randint(3, 4))
    things = [r.choice(ITEMS) for _ in people]
    counts = [r.randint(2, 99) for _ in people]
    said = ", ".join(f"{n} has {c} {t}" for n, c, t in zip(people[:-1], counts, things))
    text = f"{said} and {people[-1]} has {counts[-1]} {things[-1]}."
    order = list(range(len(people)))
    r.shuffle(order)
    lines = []
    for i in order[:3]:
        k = r.randint(2, 20)
        if r.random() < 0.5:
            lines.append(f"{people[i]} gets {k} more, so {people[i]} has {counts[i]} + {k} = "
                         f"{counts[i] + k} {things[i]}.")
        elif counts[i] > k:
            lines.append(f"{people[i]} loses {k}, so {people[i]} has {counts[i]} - {k} = "
                         f"{counts[i] - k} {things[i]}.")
        else:
            lines.append(f"{people[i]} still has {counts[i]} {things[i]}.")
    return text + "\n" + "\n".join(lines)


def sentences(r):
    out = []
    for _ in range(r.randint(2, 4)):
        n, it, place = r.choice(NAMES), r.choice(ITEMS), r.choice(PLACES)
        a = r.randint(2, 99)
        out.append(r.choice([f"{n} keeps {a} {it} at the {place}.",
                             f"There are {a} {it} on the table.",
                             f"The {place} sells {it} in packs of {r.randint(2, 12)}.",
                             f"{n} counted {a} {it} this morning.",
                             f"{n} is {r.randint(3, 60)} years old."]))
    return " ".join(out)


def number(r):
    return str(r.choice([r.randint(2, 9), r.randint(10, 99), r.randint(10, 99),
                         r.randint(100, 999)]))


def relist(r):
    """A list of numbers and the same list again: the plainest copying there is.
    Induction heads (find the earlier occurrence, copy what followed it) form on
    rows like these first; the word problems need them to copy their numbers."""
    xs = " ".join(number(r) for _ in range(r.randint(3, 7)))
    label = r.choice(["The numbers are", "List:", "Codes:", "Read:", "Row:"])
    again = r.choice(["Again:", "Once more:", "Copy:", "The same:"])
    return f"{label} {xs}.\n{again} {xs}."


def roster(r):
    """Who has what, then the same facts in another order: copying a number found
    by the name before it."""
    people = r.sample(NAMES, r.randint(2, 4))
    facts_ = [f"{n} has {number(r)} {r.choice(ITEMS)}." for n in people]
    order = list(range(len(people)))
    r.shuffle(order)
    return " ".join(facts_) + "\n" + " ".join(facts_[i] for i in order)


KINDS = [(facts, 3), (boxes, 1), (money, 2), (rates, 2), (ages, 1), (fractions, 2), (groups, 1),
         (story, 4), (older, 3), (recap, 5), (sentences, 1), (relist, 4), (roster, 4)]


def rows(n, seed, min_chars):
    """n rows, each of snippets separated by blank lines up to min_chars or more:
    rows of similar length waste little of a padded batch."""
    r = random.Random(seed)
    table = [k for k, w in KINDS for _ in range(w)]
    for _ in range(n):
        text = r.choice(table)(r)
        while len(text) < min_chars:
            text += "\n\n" + r.choice(table)(r)
        yield {"text": text}


def write_atomic(path, lines, binary=False):
    """lines (str, or bytes when binary) into path: a temporary file, fsync, rename."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") if binary else open(tmp, "w", encoding="utf-8") as f:
            for line in lines:
                f.write(line)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def main():
    ap = argparse.ArgumentParser(description="write the demo base model's pretraining corpus")
    ap.add_argument("out", help="the JSONL file to write")
    ap.add_argument("--rows", type=int, default=10000, help="rows to write (default 10000)")
    ap.add_argument("--min-chars", type=int, default=200,
                    help="pack snippets into a row up to this many characters (default 200)")
    ap.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    a = ap.parse_args()
    if a.rows < 1:
        sys.exit("make-pretrain-corpus.py: --rows must be >= 1")
    write_atomic(a.out, (json.dumps(row) + "\n" for row in rows(a.rows, a.seed, a.min_chars)))


if __name__ == "__main__":
    main()
