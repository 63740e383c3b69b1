#!/usr/bin/env python3
"""logits-compare.py A.jsonl B.jsonl LABEL MAX_DIFF MIN_AGREE_PCT [MIN_EXACT_PCT]: two runtimes' logits on
the same ids (mainline-eval --logits, tests/js/gguf-logits.mjs: one line per row with
"ids" and "logits", one list of V floats a position). Prints LABEL, the largest and the
mean |difference| over every logit of every position, the largest |logit|, and at how
many positions the two pick the same highest logit and at how many every logit agrees
within 1e-4 (float32 rounding, nothing more); fails when the ids differ, the largest
difference exceeds MAX_DIFF, the agreement is below MIN_AGREE_PCT percent or the positions
within 1e-4 below MIN_EXACT_PCT percent (default 0)."""
import json
import sys


def main():
    a_path, b_path, label, max_diff, min_pct = sys.argv[1:6]
    min_exact = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
    a = [json.loads(l) for l in open(a_path) if l.strip()]
    b = [json.loads(l) for l in open(b_path) if l.strip()]
    if len(a) != len(b) or not a:
        sys.exit("FAIL: %s: %d rows against %d" % (label, len(a), len(b)))
    worst = total = top = 0.0
    count = agree = positions = exact = 0
    for ra, rb in zip(a, b):
        if ra["ids"] != rb["ids"] or len(ra["logits"]) != len(rb["logits"]):
            sys.exit("FAIL: %s: the rows' ids differ" % label)
        for la, lb in zip(ra["logits"], rb["logits"]):
            if len(la) != len(lb) or None in lb:
                sys.exit("FAIL: %s: %d logits against %d" % (label, len(la), len(lb)))
            d = [abs(x - y) for x, y in zip(la, lb)]
            worst = max(worst, max(d))
            exact += max(d) <= 1e-4
            total += sum(d)
            count += len(d)
            top = max(top, max(abs(x) for x in la))
            agree += la.index(max(la)) == lb.index(max(lb))
            positions += 1
    pct = 100.0 * agree / positions
    print("%s: max |diff| %.3g, mean |diff| %.3g (largest |logit| %.2f), same argmax at "
          "%d/%d positions (%.1f%%), every logit within 1e-4 at %d" % (
              label, worst, total / count, top, agree, positions, pct, exact))
    if worst > float(max_diff) or pct < float(min_pct) or 100.0 * exact / positions < min_exact:
        sys.exit("FAIL: %s: over max |diff| %s, under %s%% agreement or under %s%% of positions "
                 "within 1e-4" % (label, max_diff, min_pct, min_exact))


main()
