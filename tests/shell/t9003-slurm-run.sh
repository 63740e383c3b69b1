#!/bin/sh
# t9003: sweeps on a real Slurm cluster (one node on this machine, started by
# scripts/slurm-local.sh): the same rows and evaluations as the local executor; kill -9
# of the orchestrator submits nothing twice; scancel from outside, a time-limit warning
# (checkpoint, resubmit, resume), --detach and re-attaching, `mainline cancel`. Skipped,
# with a line saying why, where Slurm cannot be had (not root, no packages).
. "$(dirname "$0")/lib.sh"

slurm_test_cluster
export MAINLINE_SLURM_POLL=0.5

# rows: every metric row and evaluation, by run id (what must not depend on where
# the jobs ran).
rows() {
    sql "SELECT r.run_id, m.attempt, m.step, m.name, m.value FROM metrics m
         JOIN runs r ON r.id = m.run ORDER BY 1, 2, 3, 4"
    sql "SELECT coalesce(r.run_id, 'baseline'), e.checkpoint_step, e.n, e.correct
         FROM evals e LEFT JOIN runs r ON r.id = e.run ORDER BY 1, 2"
}

# No job name was submitted twice (jobs Slurm still knows about).
no_double_submits() {
    squeue -h -t all -o '%j' | grep '^mainline/' | sort | uniq -d >doubles
    must_be_empty doubles
}

job_of() {
    sql "SELECT job_id FROM runs WHERE run_id = '$1'"
}

running_on_slurm() {
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'running' AND job_id > 0")" -ge "$1"
}

test_body 'a sweep on Slurm: the same rows and evaluations as on this machine' <<\EOF
    mkdir here there
    (cd here && fake_sweep s "x_steps: 6, x_sleep_ms: 50" "0, 1" &&
     mainline plan s.yaml >/dev/null && mainline run s >run.out 2>&1 && rows >rows)
    (cd there && slurm_sweep s "x_steps: 6, x_sleep_ms: 50" "0, 1" &&
     mainline run s >run.out 2>&1 || { cat run.out; false; }) 
    cat there/run.out
    (cd there && rows >rows && test "$(sql "SELECT count(*) FROM batch_jobs")" -eq 5 &&
     test "$(sql "SELECT count(*) FROM batch_jobs WHERE state = 'COMPLETED'")" -eq 5 &&
     test "$(sql "SELECT count(*) FROM runs WHERE state = 'done' AND job_id > 0")" -eq 2 &&
     # no accounting here: where and how long from squeue, the end from exit.json
     test "$(sql "SELECT count(*) FROM batch_jobs WHERE partition = 'debug' AND nodes <> ''
                  AND elapsed_s >= 0 AND max_rss_bytes IS NULL AND acct_confirmed = 0")" -eq 5)
    test -s here/rows
    test_cmp here/rows there/rows
    # switching the executor is not a new version of the sweep
    (cd here && mainline run s --executor slurm >again.out 2>&1 && cat again.out &&
     grep -q "^s: 2 done" again.out)
EOF

test_body 'kill -9 of the orchestrator on Slurm: re-attaching submits nothing twice' <<\EOF
    trap 'kill -9 $pid 2>/dev/null || :' EXIT
    slurm_sweep k "x_steps: 10, x_sleep_ms: 200" "0, 1, 2"
    "$MAINLINE" run k >run1.out 2>&1 &
    pid=$!
    wait_until 30 running_on_slurm 2
    kill -9 "$pid"
    wait "$pid" || :
    pid=
    mainline run k >run2.out 2>&1 || { cat run1.out run2.out; false; }
    cat run2.out
    grep -q "is still running" run2.out
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'done' AND attempt = 1")" -eq 3
    test "$(sql "SELECT count(*) FROM batch_jobs WHERE run IS NOT NULL")" -eq 3
    no_double_submits
EOF

test_body 'scancel from outside: the run is cancelled, and the next run finishes it' <<\EOF
    trap 'kill -9 $pid 2>/dev/null || :' EXIT
    slurm_sweep c "x_steps: 30, x_sleep_ms: 200" "0"
    "$MAINLINE" run c >run1.out 2>&1 &
    pid=$!
    wait_until 30 grep -q '"event":"checkpoint"' runs/c/main-seed-0/metrics.jsonl
    scancel "$(job_of main-seed-0)"
    rc=0
    wait "$pid" || rc=$?
    pid=
    cat run1.out
    test "$rc" -eq 1
    grep -q "cancel main-seed-0: cancelled in Slurm" run1.out
    test "$(sql "SELECT state FROM runs")" = cancelled
    test "$(sql "SELECT state FROM batch_jobs WHERE run IS NOT NULL")" = CANCELLED
    mainline run c >run2.out 2>&1 || { cat run2.out; false; }
    test "$(sql "SELECT state || attempt FROM runs")" = done2
EOF

test_body 'the warning before a time limit: checkpoint, resubmit, resume, no lost step' <<\EOF
    trap 'kill -9 $pid 2>/dev/null || :' EXIT
    slurm_sweep t "x_steps: 24, x_sleep_ms: 150, x_val_every: 100" "0"
    "$MAINLINE" run t >run.out 2>&1 &
    pid=$!
    wait_until 30 grep -q '"event":"train","step":5' runs/t/main-seed-0/metrics.jsonl
    # what Slurm does --signal=B:USR1@N before the limit
    scancel --batch --signal=USR1 "$(job_of main-seed-0)"
    rc=0
    wait "$pid" || rc=$?
    pid=
    cat run.out
    test "$rc" -eq 0
    grep -q "stopped for its time limit" run.out
    grep -q "main-seed-0 will be resubmitted, resuming" run.out
    test "$(sql "SELECT state || attempt FROM runs")" = done2
    f=runs/t/main-seed-0/metrics.jsonl
    grep -q '"event":"stopped","reason":"time_limit"' $f
    test "$(grep '"event":"train"' $f | sed 's/.*"step":\([0-9]*\).*/\1/' | sort -n | uniq -d)" = ""
    test "$(grep -c '"event":"train"' $f)" -eq 24
    test "$(sql "SELECT count(*) FROM metrics WHERE name = 'loss'")" -eq 24
    test "$(sql "SELECT json_extract(data, '\$.resumed_from') FROM events WHERE kind = 'start'
                 ORDER BY id DESC LIMIT 1")" -gt 0
EOF

test_body '--detach returns at once; mainline cancel; a later run attaches and finishes' <<\EOF
    slurm_sweep d "x_steps: 20, x_sleep_ms: 200" "0, 1"
    mainline run d --detach >run1.out 2>&1 || { cat run1.out; false; }
    cat run1.out
    grep -q "detached" run1.out
    test "$(squeue -h -o '%j' | grep -c '^mainline/d@v1/')" -ge 2
    mainline status d >status.out
    cat status.out
    mainline cancel d main-seed-1 >cancel.out
    cat cancel.out
    grep -q "cancelled main-seed-1 (Slurm job [0-9]*)" cancel.out
    mainline run d >run2.out 2>&1 || { cat run2.out; false; }
    cat run2.out
    grep -q "main-seed-0 is still running" run2.out
    test "$(sql "SELECT state FROM runs WHERE run_id = 'main-seed-0'")" = done
    no_double_submits
EOF

slurm_test_done
