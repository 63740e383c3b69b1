#!/usr/bin/env python3
"""logits-compare.py A.jsonl B.jsonl LABEL MAX_DIFF MIN_AGREE_PCT: two runtimes' logits on
the same ids (mainline-eval --logits, tests/js/gguf-logits.mjs: one line per row with
"ids" and "logits", one list of V floats a position). Prints LABEL, the largest and the
mean |difference| over every logit of every position, the largest |logit|, and at how
many positions the two pick the same highest logit; fails when the ids differ, the
largest difference exceeds MAX_DIFF or the agreement is below MIN_AGREE_PCT percent."""
import json
import sys


def main():
    a_path, b_path, label, max_diff, min_pct = sys.argv[1:6]
    a = [json.loads(l) for l in open(a_path) if l.strip()]
    b = [json.loads(l) for l in open(b_path) if l.strip()]
    if len(a) != len(b) or not a:
        sys.exit("FAIL: %s: %d rows against %d" % (label, len(a), len(b)))
    worst = total = top = 0.0
    count = agree = positions = 0
    for ra, rb in zip(a, b):
        if ra["ids"] != rb["ids"] or len(ra["logits"]) != len(rb["logits"]):
            sys.exit("FAIL: %s: the rows' ids differ" % label)
        for la, lb in zip(ra["logits"], rb["logits"]):
            if len(la) != len(lb) or None in lb:
                sys.exit("FAIL: %s: %d logits against %d" % (label, len(la), len(lb)))
            d = [abs(x - y) for x, y in zip(la, lb)]
            worst = max(worst, max(d))
            total += sum(d)
            count += len(d)
            top = max(top, max(abs(x) for x in la))
            agree += la.index(max(la)) == lb.index(max(lb))
            positions += 1
    pct = 100.0 * agree / positions
    print("%s: max |diff| %.4f, mean |diff| %.5f (largest |logit| %.2f), same argmax at "
          "%d/%d positions (%.1f%%)" % (label, worst, total / count, top, agree, positions, pct))
    if worst > float(max_diff) or pct < float(min_pct):
        sys.exit("FAIL: %s: over max |diff| %s or under %s%% agreement" % (label, max_diff, min_pct))


main()
