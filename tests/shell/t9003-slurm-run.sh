#!/bin/sh
# t9003: sweeps on a real Slurm cluster (one node on this machine, started by
# scripts/slurm-local.sh): the same rows and evaluations as the local executor; kill -9
# of the orchestrator submits nothing twice; scancel from outside, a time-limit warning
# (checkpoint, resubmit, resume), --detach and re-attaching, `mainline cancel`. Skipped,
# with a line saying why, where Slurm cannot be had (not root, no packages).
. "$(dirname "$0")/lib.sh"

slurm_test_cluster t9003
export MAINLINE_SLURM_POLL=0.5

# rows: every metric row and evaluation, by run id (what must not depend on where
# the jobs ran).
rows() {
    sql "SELECT r.run_id, m.attempt, m.step, m.name, m.value FROM metrics m
         JOIN runs r ON r.id = m.run ORDER BY 1, 2, 3, 4"
    sql "SELECT coalesce(r.run_id, 'baseline'), e.checkpoint_step, e.n, e.correct
         FROM evals e LEFT JOIN runs r ON r.id = e.run ORDER BY 1, 2"
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
    grep -q "stop   main-seed-0: .*; resubmitted, resuming (1 of at most 5)" run.out
    test "$(sql "SELECT state || attempt FROM runs")" = done2
    f=runs/t/main-seed-0/metrics.jsonl
    grep -q '"event":"stopped","reason":"time_limit"' $f
    test "$(grep '"event":"train"' $f | sed 's/.*"step":\([0-9]*\).*/\1/' | sort -n | uniq -d)" = ""
    test "$(grep -c '"event":"train"' $f)" -eq 24
    test "$(sql "SELECT count(*) FROM metrics WHERE name = 'loss'")" -eq 24
    test "$(sql "SELECT json_extract(data, '\$.resumed_from') FROM events WHERE kind = 'start'
                 ORDER BY id DESC LIMIT 1")" -gt 0
EOF

# builtin NAME EXECUTOR: a one-run LoRA sweep of the built-in trainer, planned.
builtin() {
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" .
    cat >"$1.yaml" <<EOF_YAML
sweep: $1
base_model: models/tiny-base/model.safetensors
datasets: {train: data/arith-train.jsonl, valid: data/arith-valid.jsonl}
executor: $2
defaults: {adapter: lora, rank: 4, targets: [all-linear], lr: 0.005, batch_size: 8,
           micro_batch_size: 3, epochs: 3, train_rows: 120, valid_rows: 24, dropout: 0.1,
           eval_at: [{every: 10}], report_every: 5, keep: all}
grid: {seed: [7]}
EOF_YAML
    mainline plan "$1.yaml" >/dev/null
}

test_body 'the built-in trainer warned of its time limit on Slurm ends bitwise where it would have' <<\EOF
    trap 'kill -9 $pid 2>/dev/null || :' EXIT
    mkdir here there
    (cd here && builtin b local && mainline run b >run.out 2>&1 || { cat run.out; false; })
    cd there
    builtin b slurm
    "$MAINLINE" run b >run.out 2>&1 &
    pid=$!
    f=runs/b/main-seed-7/metrics.jsonl
    wait_until 60 grep -q '"event":"train","step":5,' $f
    scancel --batch --signal=USR1 "$(job_of main-seed-7)"
    rc=0
    wait "$pid" || rc=$?
    pid=
    cat run.out
    test "$rc" -eq 0
    grep -q "stop   main-seed-7: stopped for its time limit (exit 5), checkpointed; resubmitted" run.out
    grep -q '"event":"stopped","reason":"time_limit"' $f
    test "$(sql "SELECT state || attempt FROM runs")" = done2
    last=$(ls ../here/runs/b/main-seed-7/checkpoints | sort -t- -k2 -n | tail -n 1)
    echo "last checkpoint: $last"
    cmp ../here/runs/b/main-seed-7/checkpoints/$last/adapter_model.safetensors \
        runs/b/main-seed-7/checkpoints/$last/adapter_model.safetensors
EOF

test_body '--detach returns at once; mainline cancel; a later run attaches and finishes' <<\EOF
    slurm_sweep d "x_steps: 20, x_sleep_ms: 200" "0, 1"
    mainline run d --detach >run1.out 2>&1 || { cat run1.out; false; }
    cat run1.out
    grep -q "detached" run1.out
    test "$(squeue -h -o '%j' | grep -c '^mainline/d@v1/')" -ge 2
    mainline status d >status.out
    cat status.out
    grep -q "slurm jobs: main-seed-0=[0-9]* (\(PENDING\|RUNNING\)), main-seed-1=" status.out
    # its jobs run on Slurm: the local executor refuses rather than start them again
    rc=0
    mainline run d --executor local >local.out 2>&1 || rc=$?
    cat local.out
    test "$rc" -ne 0
    grep -q "is running on Slurm (job [0-9]*): attach with .mainline run d --executor slurm." local.out
    mainline cancel d main-seed-1 >cancel.out
    cat cancel.out
    grep -q "cancelled main-seed-1 (Slurm job [0-9]*)" cancel.out
    mainline run d >run2.out 2>&1 || { cat run2.out; false; }
    cat run2.out
    grep -q "main-seed-0 is still running" run2.out
    test "$(sql "SELECT state FROM runs WHERE run_id = 'main-seed-0'")" = done
    no_double_submits
EOF

test_body 'a plain mainline run attaches to jobs an --executor slurm --detach left' <<\EOF
    fake_sweep a "x_steps: 12, x_sleep_ms: 200" "0"
    mainline plan a.yaml >/dev/null
    mainline run a --executor slurm --detach >run1.out 2>&1 || { cat run1.out; false; }
    mainline run a >run2.out 2>&1 || { cat run1.out run2.out; false; }
    cat run2.out
    grep -q "main-seed-0 is still running (Slurm job [0-9]*): adopted" run2.out
    test "$(sql "SELECT state || attempt FROM runs")" = done1
    test "$(sql "SELECT count(*) FROM batch_jobs WHERE run IS NOT NULL")" -eq 1
EOF

test_body 'the sweep'"'"'s timeout counts from when a job runs, not while it waits in the queue' <<\EOF
    fake_sweep q "x_steps: 10, x_sleep_ms: 100" "0"
    printf 'executor: slurm\ntimeout: 4s\n' >>q.yaml
    mainline plan q.yaml >/dev/null
    # the node's two CPUs taken for 6 s: the run waits longer than its timeout
    hog=$(sbatch --parsable -c 2 -o /dev/null --wrap 'sleep 6')
    mainline run q >run.out 2>&1 || { cat run.out; false; }
    cat run.out
    test "$(sql "SELECT state || attempt FROM runs")" = done1
    test "$(grep -c '"event":"train"' runs/q/main-seed-0/metrics.jsonl)" -eq 10
    scancel "$hog" 2>/dev/null || :
EOF

slurm_test_cluster_stop
test_done
