#!/bin/sh
# t2021: a busy or full registry is a reason to wait, not to lose a finished run's
# rows or fail it. A run is `done` only once its rows are in the registry: while the
# registry refuses (its disk is full, or another process holds its write lock), an
# ended job waits in its slot and is retried for MAINLINE_REGISTRY_WAIT seconds; past
# that it is left `running`, and the next `mainline run` ingests it from the offset
# committed with its last rows.
. "$(dirname "$0")/lib.sh"

# check_rows SWEEP RUNS...: each run done, one loss row per train line of its metrics,
# no line recorded twice.
check_rows() {
    sweep=$1
    shift
    for r in "$@"; do
        f="runs/$sweep/$r/metrics.jsonl"
        where="run = (SELECT id FROM runs WHERE run_id = '$r')"
        echo "$r: $(sql "SELECT state FROM runs WHERE run_id = '$r'"),"\
             "$(sql "SELECT count(*) FROM metrics WHERE $where AND name = 'loss'") loss rows,"\
             "$(grep -c '"event":"train"' "$f") train lines"
        test "$(sql "SELECT state || attempt FROM runs WHERE run_id = '$r'")" = done1
        test "$(sql "SELECT count(*) FROM metrics WHERE $where AND name = 'loss'")" -eq \
            "$(grep -c '"event":"train"' "$f")"
    done
    test "$(sql "SELECT count(*) FROM metrics")" -eq \
        "$(sql "SELECT count(*) FROM (SELECT DISTINCT run, attempt, src_offset, name FROM metrics)")"
}

DISK="$SCRATCH/regdisk"
mkdir -p "$DISK"
if mount -t tmpfs -o size=4m tmpfs "$DISK" 2>/dev/null; then
    trap 'umount "$DISK" 2>/dev/null' EXIT
    have_disk=1
else
    skip "t2021 full registry disk" "cannot mount a small tmpfs here (needs root)"
    have_disk=
fi

# full_sweep DIR: in DIR (on the small disk) a registry and a two-run sweep of 3000
# fake steps whose data, models and runs/ live elsewhere (here); a filler file leaves
# 300 KiB free, less than the rows need (about 24000 of them).
full_sweep() {
    fake_sweep full "x_steps: 3000, x_val_every: 500" "0, 1"
    mkdir -p runs "$1"
    for f in data models runs; do ln -s "$PWD/$f" "$1/$f"; done
    mv full.yaml "$1/"
    (cd "$1" && mainline plan full.yaml >/dev/null)
    free=$(df -k --output=avail "$1" | tail -1)
    dd if=/dev/zero of="$1/filler" bs=1k count=$((free - 300)) 2>/dev/null
}

if [ -n "$have_disk" ]; then
test_body 'a full registry disk: the runs stay running, and a later run records every row' <<\EOF
    full_sweep "$DISK/a"
    cd "$DISK/a"
    rc=0
    MAINLINE_REGISTRY_WAIT=2 mainline run full >run1.out 2>&1 || rc=$?
    cat run1.out
    test "$rc" -eq 1
    grep -q "disk is full" run1.out
    grep -q "left .running. for the next .mainline run." run1.out
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'running'")" -eq 2
    test "$(sql "SELECT count(*) FROM metrics WHERE name = 'loss'")" -lt 6000
    rm filler
    mainline run full >run2.out 2>&1 || { cat run2.out; false; }
    cat run2.out
    grep -q "main-seed-0 finished while no orchestrator watched: done" run2.out
    check_rows full main-seed-0 main-seed-1
    db_is_sound mainline.db
    cd "$SCRATCH" && rm -rf "$DISK/a"
EOF

test_body 'a full registry disk freed while the run waits: it ends done, every row in' <<\EOF
    full_sweep "$DISK/b"
    cd "$DISK/b"
    MAINLINE_REGISTRY_WAIT=60 "$MAINLINE" run full >run.out 2>&1 &
    pid=$!
    trap 'kill -9 $pid 2>/dev/null || :' EXIT
    wait_until 30 grep -q "disk is full" run.out
    rm filler
    rc=0
    wait "$pid" || rc=$?
    pid=
    cat run.out
    test "$rc" -eq 0
    check_rows full main-seed-0 main-seed-1
    cd "$SCRATCH" && rm -rf "$DISK/b"
EOF
umount "$DISK"
fi

# hold_registry SECONDS: another process takes the registry's write lock (BEGIN
# IMMEDIATE, as a user's script might) and keeps it that long; `held` exists while
# it does.
hold_registry() {
    python3 - "$1" <<\EOF_PY &
import sqlite3, sys, time, os
db = sqlite3.connect("mainline.db", isolation_level=None)
db.execute("BEGIN IMMEDIATE")
open("held", "w").close()
time.sleep(float(sys.argv[1]))
os.unlink("held")
db.execute("COMMIT")
EOF_PY
    holder=$!
}

both_running() {
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'running' AND pid > 0")" -eq 2
}

test_body 'an outside writer holding the write lock: finished runs wait, none fails' <<\EOF
    trap 'kill_leftovers; kill $holder 2>/dev/null || :' EXIT
    fake_sweep busy "x_steps: 20, x_sleep_ms: 50" "0, 1, 2"
    mainline plan busy.yaml >/dev/null
    "$MAINLINE" run -j 2 busy >run.out 2>&1 &
    pid=$!
    wait_until 20 both_running
    hold_registry 16
    wait_until 10 test -e held
    # the two runs end while the lock is held; the third waits to start
    rc=0
    wait "$pid" || rc=$?
    pid=
    wait "$holder"
    cat run.out
    test "$rc" -eq 0
    grep -q "registry busy\|database is locked" run.out
    refute grep -q "FAIL" run.out
    check_rows busy main-seed-0 main-seed-1 main-seed-2
    test "$(sql "SELECT count(*) FROM evals")" -eq 4
EOF

test_done
