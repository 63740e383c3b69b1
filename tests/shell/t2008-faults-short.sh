#!/bin/sh
# t2008: the short form of the fault battery (tests/faults/faults.py --short; `make faults`
# runs the long one): one round each of a few scenarios, a real sweep with a fault at a
# moment drawn from the seed (kill -9 of the orchestrator, a supervisor, a trainer; the
# registry's disk full; its write lock held by an outside writer; corrupt pages), then
# `mainline run` again until it ends. One test per scenario: nothing lost, duplicated,
# run twice at once, rerun needlessly, hung or left wrong, and its fault really made.
# The battery's seed is its first line: FAULTS_SEED=N sh tests/shell/t2008-faults-short.sh
# draws the same moments again.
. "$(dirname "$0")/lib.sh"

OUT=$SCRATCH/faults.out
python3 "$TOP/tests/faults/faults.py" --short --dir "$SCRATCH/faults" >"$OUT" 2>&1
cat "$OUT"

test_expect_success 'the short fault battery ran and printed its table' '
    grep "^fault battery: seed [0-9]" "$OUT" &&
    grep "^| total | [1-9]" "$OUT"
'

# Columns of a row, split at "|": 2 scenario, 3 rounds, 4 kills/faults, 5 rows checked,
# 6 rows lost, 7 duplicates, 8 double runs, 9 needless reruns, 10 hangs, 11 bad ends.
for s in $(sed -n 's/^| \([a-z-]*\) | [0-9].*/\1/p' "$OUT" | grep -vx total); do
    test_expect_success "faults: $s: nothing lost, doubled, rerun, hung or left wrong" "
        grep '^| $s |' '$OUT' | tee row &&
        awk -F'|' '{ if (\$4 + 0 < 1) { print \"no fault made\"; exit 1 }
                     for (i = 6; i <= 11; i++) if (\$i + 0 != 0) exit 1 }' row
    "
done

test_done
