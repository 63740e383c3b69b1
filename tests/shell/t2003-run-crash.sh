#!/bin/sh
# t2003: `mainline run` interrupted and crashed: Ctrl-C cancels the jobs and a later
# run resumes them; after kill -9 of the orchestrator the next run adopts or
# restarts what it left, without duplicate metric rows or a run executed twice at
# once; a second orchestrator on the same sweep is refused (exit 1, one error line)
# while `mainline status` keeps working; a lock left by a dead holder is taken over.
#
# Each test runs the orchestrator in the background under its own scratch
# directory, and kills (by pid) whatever it started before it ends. The fake
# trainer gets {run_dir} in its argv so `pgrep -f $PWD/runs/` finds every job.
. "$(dirname "$0")/lib.sh"

# crash_sweep NAME DEFAULTS: two runs (main-seed-0, main-seed-1) evaluated on
# bench with a baseline, written to NAME.yaml and planned.
crash_sweep() {
    fake_sweep "$1" "$2" "0, 1"
    echo "selection: {checkpoint: min(val_nll)}" >>"$1.yaml"
    mainline plan "$1.yaml" >plan.out
}

# Every run of SWEEP has written a checkpoint line.
all_checkpointed() {
    for r in main-seed-0 main-seed-1; do
        grep -q '"event":"checkpoint"' "runs/$1/$r/metrics.jsonl" 2>/dev/null || return 1
    done
}

# Both runs are running with a recorded pid.
both_running() {
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'running' AND pid > 0")" -eq 2
}

lock_held() {
    test "$(sql "SELECT count(*) FROM locks")" -eq 1
}

# check_lineage SWEEP: every run done; no duplicate metric rows; per run, the train
# rows equal the train lines of metrics.jsonl across attempts (archived ones too),
# and one start line per attempt (no attempt ran twice, none ran unrecorded).
check_lineage() {
    test "$(sql "SELECT count(*) FROM runs WHERE state <> 'done'")" -eq 0
    test "$(sql "SELECT count(*) FROM metrics")" -eq \
        "$(sql "SELECT count(*) FROM (SELECT DISTINCT run, attempt, src_offset, name
                                       FROM metrics)")"
    for r in main-seed-0 main-seed-1; do
        d="runs/$1/$r"
        files="$d/metrics.jsonl $(ls "$d"/attempt-*/metrics.jsonl 2>/dev/null || :)"
        train=$(cat $files | grep -c '"event":"train"')
        starts=$(cat $files | grep -c '"event":"start"')
        where="run = (SELECT id FROM runs WHERE run_id = '$r')"
        rows=$(sql "SELECT count(*) FROM metrics WHERE $where AND name = 'loss'")
        attempt=$(sql "SELECT attempt FROM runs WHERE run_id = '$r'")
        echo "$r: attempt $attempt, $starts start lines, $train train lines, $rows loss rows"
        test "$rows" -eq "$train"
        test "$starts" -eq "$attempt"
        test "$attempt" -le 2
        test "$(sql "SELECT count(*) FROM events WHERE $where AND kind = 'start'")" -eq "$starts"
    done
}

test_body 'Ctrl-C cancels the runs and stops their jobs; the next run resumes them' <<\EOF
    trap kill_leftovers EXIT
    crash_sweep t2003-int "x_steps: 10, x_sleep_ms: 200"
    "$MAINLINE" run -j 2 t2003-int >run1.out 2>&1 &
    pid=$!
    wait_until 20 all_checkpointed t2003-int
    test -n "$(jobs_of_this_test)"
    kill -INT "$pid"
    t0=$(date +%s)
    rc=0
    wait "$pid" || rc=$?
    pid=
    cat run1.out
    test "$rc" -ne 0
    test $(($(date +%s) - t0)) -le 5
    no_jobs_left
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'cancelled' AND attempt = 1")" -eq 2
    test "$(sql "SELECT count(*) FROM eval_jobs WHERE state = 'running'")" -eq 0
    test "$(sql "SELECT count(*) FROM locks")" -eq 0
    grep -q "interrupted" run1.out
    mainline run t2003-int >run2.out 2>&1 || { cat run2.out; false; }
    cat run2.out
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'done' AND attempt = 2")" -eq 2
    # the second attempt resumed from a checkpoint of the first
    for r in main-seed-0 main-seed-1; do
        tail_start=$(grep '"event":"start"' "runs/t2003-int/$r/metrics.jsonl" | tail -n 1)
        echo "$r: $tail_start"
        from=$(echo "$tail_start" | sed -n 's/.*"resumed_from":\([0-9]*\).*/\1/p')
        test "$from" -gt 0
    done
    check_lineage t2003-int
    test "$(sql "SELECT count(*) FROM evals")" -eq 3
EOF

test_body 'kill -9 of the orchestrator: the next run adopts the jobs, nothing doubles' <<\EOF
    trap kill_leftovers EXIT
    crash_sweep t2003-kill "x_steps: 14, x_sleep_ms: 150"
    "$MAINLINE" run -j 2 t2003-kill >run1.out 2>&1 &
    pid=$!
    wait_until 20 all_checkpointed t2003-kill
    wait_until 10 both_running
    kill -9 "$pid"
    wait "$pid" || :
    pid=
    test -n "$(jobs_of_this_test)"   # the jobs outlive their orchestrator
    mainline run t2003-kill >run2.out 2>&1 || { cat run2.out; false; }
    cat run2.out
    grep -q "main-seed-0 is still running (pid [0-9]*): adopted" run2.out
    check_lineage t2003-kill
    test "$(sql "SELECT count(*) FROM runs WHERE attempt = 1")" -eq 2
    test "$(sql "SELECT count(*) FROM evals")" -eq 3
    test "$(sql "SELECT count(*) FROM locks")" -eq 0
    no_jobs_left
EOF

test_body 'runs that finished while no orchestrator watched are done and evaluated' <<\EOF
    trap kill_leftovers EXIT
    crash_sweep t2003-orphan "x_steps: 6, x_sleep_ms: 100"
    "$MAINLINE" run -j 2 t2003-orphan >run1.out 2>&1 &
    pid=$!
    wait_until 20 both_running
    kill -9 "$pid"
    wait "$pid" || :
    pid=
    wait_until 20 no_jobs_left >/dev/null
    mainline run t2003-orphan >run2.out 2>&1 || { cat run2.out; false; }
    cat run2.out
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'done' AND attempt = 1")" -eq 2
    check_lineage t2003-orphan
    # the baseline, and each run at its best checkpoint
    test "$(sql "SELECT count(*) FROM evals WHERE run IS NULL")" -eq 1
    test "$(sql "SELECT count(*) FROM runs r WHERE
                 (SELECT count(*) FROM evals e WHERE e.run = r.id) = 1")" -eq 2
EOF

test_body 'jobs killed with their orchestrator are restarted, resuming a checkpoint' <<\EOF
    trap kill_leftovers EXIT
    crash_sweep t2003-lost "x_steps: 10, x_sleep_ms: 150"
    "$MAINLINE" run -j 2 t2003-lost >run1.out 2>&1 &
    pid=$!
    wait_until 20 all_checkpointed t2003-lost
    wait_until 10 both_running
    kill -9 "$pid" $(jobs_of_this_test)    # as if the machine went down
    wait "$pid" || :
    pid=
    wait_until 10 no_jobs_left >/dev/null
    mainline run t2003-lost >run2.out 2>&1 || { cat run2.out; false; }
    cat run2.out
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'done' AND attempt = 2")" -eq 2
    check_lineage t2003-lost
    test "$(sql "SELECT count(*) FROM events WHERE kind = 'start'
                 AND json_extract(data, '\$.resumed_from') > 0")" -eq 2
    test "$(sql "SELECT count(*) FROM evals")" -eq 3
EOF

test_body 'a second orchestrator on the same sweep is refused (exit 1); status still works' <<\EOF
    trap kill_leftovers EXIT
    crash_sweep t2003-two "x_steps: 16, x_sleep_ms: 150"
    "$MAINLINE" run -j 2 t2003-two >run1.out 2>&1 &
    pid=$!
    wait_until 20 lock_held
    wait_until 10 both_running
    rc=0
    mainline run t2003-two >run2.out 2>&1 || rc=$?
    cat run2.out
    test "$rc" -eq 1
    grep -q "^error: sweep 't2003-two' is already being run by pid $pid " run2.out
    test "$(wc -l <run2.out)" -eq 1
    mainline status t2003-two >status.out
    cat status.out
    grep -q "^  main *2 *0 *0 *2 " status.out
    # the refused one changed nothing: the first finishes its runs alone
    rc=0
    wait "$pid" || rc=$?
    pid=
    cat run1.out
    test "$rc" -eq 0
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'done' AND attempt = 1")" -eq 2
    test "$(sql "SELECT count(*) FROM evals")" -eq 3
    check_lineage t2003-two
EOF

test_body 'a lock left by a dead orchestrator is taken over' <<\EOF
    trap kill_leftovers EXIT
    crash_sweep t2003-lock "x_steps: 6, x_sleep_ms: 100"
    "$MAINLINE" run -j 2 t2003-lock >run1.out 2>&1 &
    pid=$!
    wait_until 20 lock_held
    dead=$pid
    kill -9 "$pid"
    wait "$pid" || :
    pid=
    test "$(sql "SELECT holder_pid FROM locks")" -eq "$dead"
    mainline run t2003-lock >run2.out 2>&1 || { cat run2.out; false; }
    cat run2.out
    test "$(sql "SELECT count(*) FROM locks")" -eq 0
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'done'")" -eq 2
    no_jobs_left
EOF

test_done
