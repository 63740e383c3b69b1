#!/bin/sh
# t2020: a job directory never has two live jobs, and evaluations survive their
# orchestrator. kill -9 of a job's supervisor leaves its command running: the
# orchestrator waits for it (it holds the directory's job.lock) instead of starting
# a second copy. kill -9 of the orchestrator leaves evaluations running: the next
# one adopts them rather than killing and redoing them. A run directory made
# read-only mid-run ends with the job's own exit status, not "killed with its
# supervisor".
. "$(dirname "$0")/lib.sh"

# one_run NAME DEFAULTS [EVALUATOR-ARGS]: a one-run sweep for the fakes (one retry),
# planned.
one_run() {
    fake_sweep "$1" "$2" 0 "$3"
    echo "retries: 1" >>"$1.yaml"
    mainline plan "$1.yaml" >plan.out
}

# Both evaluations (the baseline's and the run's) are running with a recorded pid.
evals_running() {
    test "$(sql "SELECT count(*) FROM eval_jobs WHERE state = 'running' AND pid > 0")" -eq 2
}

# The most trainers seen at once in one run directory, sampled until $pid ends.
count_trainers() {
    max=0
    while kill -0 "$pid" 2>/dev/null; do
        n=$(pgrep -fc "^[^ ]*fake_trainer $PWD/runs/$1/main-seed-0" || :)
        [ "$n" -gt "$max" ] && max=$n
        echo "$max" >max_trainers
        sleep 0.03
    done
}

test_body 'kill -9 of a supervisor: its trainer runs on alone, never beside a second copy' <<\EOF
    trap kill_leftovers EXIT
    one_run t2020-sup "x_steps: 30, x_sleep_ms: 150"
    "$MAINLINE" run t2020-sup >run.out 2>&1 &
    pid=$!
    d=runs/t2020-sup/main-seed-0
    wait_until 20 grep -q '"event":"checkpoint"' "$d/metrics.jsonl"
    count_trainers t2020-sup &
    sampler=$!
    sup=$(cut -d" " -f1 "$d/exit.json.pid")
    kill -9 "$sup"
    rc=0
    wait "$pid" || rc=$?
    pid=
    wait "$sampler"
    cat run.out
    test "$rc" -eq 0
    echo "most trainers at once: $(cat max_trainers)"
    test "$(cat max_trainers)" -eq 1
    grep -q "main-seed-0: its supervisor (pid $sup) died but the job still runs" run.out
    # the orphan ran to its end and said done: its exit status died with the supervisor,
    # but running it again would only redo it
    test "$(sql "SELECT state || ' ' || attempt FROM runs")" = "done 1"
    files="$d/metrics.jsonl"
    test "$(sql "SELECT count(*) FROM metrics WHERE name = 'loss'")" -eq \
        "$(grep -c '"event":"train"' $files)"
    test "$(grep '"event":"train"' $files | sed 's/.*"step":\([0-9]*\).*/\1/' | sort | uniq -d)" = ""
    test "$(grep -c '"event":"done"' $files)" -eq 1
    test "$(sql "SELECT count(*) FROM evals")" -eq 2
    no_jobs_left
EOF

test_body 'the supervisor refuses to start a job beside a live one in the same directory' <<\EOF
    mkdir d
    exec 9>d/job.lock
    flock -n 9
    rc=0
    "$TOP/${BINDIR:-bin}/mainline-supervise" d/exit.json -- true 2>err || rc=$?
    exec 9>&-
    cat err
    test "$rc" -eq 75
    grep -q "another job still runs in 'd'" err
    test ! -e d/exit.json.pid
    "$TOP/${BINDIR:-bin}/mainline-supervise" d/exit.json -- true
    grep -q '"exit": 0' d/exit.json
EOF

test_body 'kill -9 of the orchestrator: the next one adopts live evaluations, starts none twice' <<\EOF
    trap kill_leftovers EXIT
    # long enough that neither evaluation ends between the kill and the next orchestrator,
    # even under ASan
    one_run t2020-eval "x_steps: 4" ", --sleep-ms, 6000, --log-starts, $PWD/starts.log"
    "$MAINLINE" run t2020-eval >run1.out 2>&1 &
    pid=$!
    wait_until 30 evals_running
    kill -9 "$pid"
    wait "$pid" || :
    pid=
    # both evaluators outlived their orchestrator (counted by their recorded pids: under
    # ASan an ending process has a LeakSanitizer tracer with the same command line)
    for p in $(sql "SELECT pid FROM eval_jobs"); do kill -0 "$p"; done
    mainline run t2020-eval >run2.out 2>&1 || { cat run2.out; false; }
    cat run1.out run2.out starts.log
    grep -q "baseline eval is still running (pid [0-9]*): adopted" run2.out
    grep -q "main-seed-0 eval@4 is still running (pid [0-9]*): adopted" run2.out
    test "$(wc -l <starts.log)" -eq 2
    test "$(sql "SELECT count(*) FROM evals")" -eq 2
    test "$(sql "SELECT group_concat(state || attempt) FROM eval_jobs")" = "done1,done1"
    no_jobs_left
EOF

test_body 'an evaluation that ended while no orchestrator watched is recorded, not redone' <<\EOF
    trap kill_leftovers EXIT
    one_run t2020-evend "x_steps: 4" ", --sleep-ms, 1500, --log-starts, $PWD/starts.log"
    "$MAINLINE" run t2020-evend >run1.out 2>&1 &
    pid=$!
    wait_until 30 evals_running
    kill -9 "$pid"
    wait "$pid" || :
    pid=
    wait_until 20 no_jobs_left >/dev/null
    mainline run t2020-evend >run2.out 2>&1 || { cat run2.out; false; }
    cat run2.out
    grep -q "baseline eval finished while no orchestrator watched: recording it" run2.out
    test "$(wc -l <starts.log)" -eq 2
    test "$(sql "SELECT count(*) FROM evals")" -eq 2
    test "$(sql "SELECT group_concat(state || attempt) FROM eval_jobs")" = "done1,done1"
EOF

test_body 'a run directory made read-only mid-run: the job'"'"'s own exit status and error' <<\EOF
    trap 'kill_leftovers; chmod -R u+w runs 2>/dev/null' EXIT
    one_run t2020-ro "x_steps: 40, x_sleep_ms: 100"
    sed -i 's/^retries: 1/retries: 0/' t2020-ro.yaml
    mainline plan t2020-ro.yaml >/dev/null 2>&1 || :
    "$MAINLINE" run t2020-ro >run.out 2>&1 &
    pid=$!
    d=runs/t2020-ro/main-seed-0
    wait_until 20 grep -q '"event":"checkpoint"' "$d/metrics.jsonl"
    # root ignores permission bits: a read-only bind mount of the directory does not
    if ! mount --bind "$d" "$d" 2>/dev/null || ! mount -o remount,bind,ro "$d" 2>/dev/null; then
        umount "$d" 2>/dev/null || :
        chmod -R a-w "$d"
    fi
    rc=0
    wait "$pid" || rc=$?
    pid=
    umount "$d" 2>/dev/null || :
    chmod -R u+w runs
    cat run.out
    test "$rc" -eq 1
    refute grep -q "killed with its supervisor" run.out
    grep "FAIL   main-seed-0: exit status [0-9]*, from its supervisor, which could not write exit.json: .*(runs/t2020-ro/main-seed-0/stderr.log)$" run.out
    grep -q "Read-only file system\|Permission denied" "$d/stderr.log"
EOF

test_done
