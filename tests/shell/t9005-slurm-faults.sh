#!/bin/sh
# t9005: faults on a real Slurm cluster (one node on this machine, started by
# scripts/slurm-local.sh): the built-in trainer and evaluator give the same rows,
# predictions and verdict as on this machine; slurmctld stopped and started again
# mid-sweep; a trainer that fails (retries applied, reasons recorded); a job over its
# memory (OUT_OF_MEMORY, where the cluster contains memory: skipped otherwise, saying
# why); a node that fails under a job (NODE_FAIL: resubmitted, resuming); a --detach'ed
# sweep finished by a `mainline run` started in another directory. Skipped, with a
# line saying why, where Slurm cannot be had (not root, no packages).
. "$(dirname "$0")/lib.sh"

# Ports far above 6817, where every other cluster of this machine takes the first free
# ones: slurmctld is stopped and started again below, and a cluster started meanwhile
# must not take its port (the Slurm clients would then ask that cluster about our jobs).
free_port() {
    [ -z "$(ss -Htln "( sport = :$1 )" 2>/dev/null)" ]
}
tries=0
port=
while [ "$tries" -lt 50 ] && [ -z "$port" ]; do
    p=$((20000 + ($$ * 7 + tries * 31) % 4999 * 2))
    if free_port "$p" && free_port $((p + 1)); then
        port=$p
    fi
    tries=$((tries + 1))
done
slurm_test_cluster t9005 "$port"
export MAINLINE_SLURM_POLL=0.5
NODE=$(sinfo -h -N -o %N | head -n 1)
export NODE

# slurm_state ID: the state Slurm gives job ID.
slurm_state() {
    squeue -h -t all -j "$1" -o %T
}

# jobs_in SWEEP STATE: how many of SWEEP's jobs squeue lists in STATE.
jobs_in() {
    squeue -h -t "$2" -o '%j' | grep -c "^mainline/$1@v1/" || :
}

# jobs_at_least SWEEP STATE N: squeue lists at least N of SWEEP's jobs in STATE.
jobs_at_least() {
    [ "$(jobs_in "$1" "$2")" -ge "$3" ]
}

# slurm_state_is ID STATE
slurm_state_is() {
    [ "$(slurm_state "$1")" = "$2" ]
}

# ended_ok SECONDS: the orchestrator started in the background ($pid, its output in
# run.out) ends within SECONDS, with exit status 0.
ended_ok() {
    wait_until "$1" proc_gone "$pid" || return 1
    eo_rc=0
    wait "$pid" || eo_rc=$?
    pid=
    cat run.out
    [ "$eo_rc" -eq 0 ]
}

# ---- (a) the built-in trainer and evaluator ----

# tiny_sweep: tiny.yaml, LoRA on tiny-base with the built-in trainer and evaluator: an
# LR-selection stage (2 conditions x 2 lrs) whose pick feeds 2 conditions x 2 seeds,
# each evaluated on 12 held-out problems, and the base model; planned.
tiny_sweep() {
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" .
    cat >tiny.yaml <<\EOF_YAML
sweep: tiny
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
  valid: data/arith-valid.jsonl
  bench: data/arith-test.jsonl
conditions:
  attn: {adapter: lora, targets: [q_proj, v_proj]}
  mlp:  {adapter: lora, targets: [gate_proj, up_proj, down_proj]}
defaults: {rank: 4, alpha: 8, batch_size: 8, max_steps: 6, train_rows: 48, valid_rows: 16,
           eval_at: [3, end]}
stages:
  lr_select:
    grid: {condition: [attn, mlp], lr: [0.003, 0.01], seed: [7]}
    pick: {per: condition, param: lr, by: min(val_nll)}
  main:
    needs: lr_select
    grid: {condition: [attn, mlp], seed: [0, 1]}
    lr: {from: lr_select}
evaluation: {dataset: bench, max_new_tokens: 16, extract: regex, pattern: "#### (-?[0-9.,]+)",
             baseline: true, limit: 12}
selection: {checkpoint: min(val_nll),
            compare: {metric: accuracy, over: seed, winner_threshold: 0.01}}
EOF_YAML
    mainline plan tiny.yaml >plan.out
}

# What must not depend on where the jobs ran: every metric but the measured speed, memory
# and time; the picks; every evaluation and every generated answer.
tiny_rows() {
    sql "SELECT r.run_id, m.attempt, m.step, m.name, m.value FROM metrics m
         JOIN runs r ON r.id = m.run
         WHERE m.name NOT IN ('elapsed', 'tok_per_s', 'peak_rss_mb') ORDER BY 1, 2, 3, 4"
    sql "SELECT pick, run, lr, value, step, picked FROM v_lr_selection ORDER BY 1, 2"
    sql "SELECT coalesce(r.run_id, 'baseline'), e.checkpoint_step, e.n, e.correct,
                e.extraction_failures, e.gen_tokens
         FROM evals e LEFT JOIN runs r ON r.id = e.run ORDER BY 1, 2"
    sql "SELECT coalesce(r.run_id, 'baseline'), p.example_id, p.output, p.extracted, p.correct
         FROM predictions p JOIN evals e ON e.id = p.eval LEFT JOIN runs r ON r.id = e.run
         ORDER BY 1, 2"
}

test_body 'the built-in trainer and evaluator on Slurm: the rows and verdict of this machine' <<\EOF
    mkdir here there
    (cd here && tiny_sweep && mainline run -j 2 tiny >run.out 2>&1 && tiny_rows >rows &&
     mainline select tiny >select.out) || { cat here/run.out; false; }
    (cd there && tiny_sweep && mainline run tiny --executor slurm >run.out 2>&1) ||
        { cat there/run.out; false; }
    cat there/run.out
    (cd there && tiny_rows >rows && mainline select tiny >select.out)
    # 8 runs x (3 + 6 + 1) metric rows, the picks, 5 evaluations of 12 problems
    test "$(grep -c '|val_nll|' here/rows)" -eq 16
    test "$(cd here && sql "SELECT count(*) FROM predictions")" -eq 60
    test_cmp here/rows there/rows
    test_cmp here/select.out there/select.out
    grep -q '^\*\*Verdict:\*\* ' there/select.out
    # it ran on Slurm: each of the 8 runs and 5 evaluations a batch job of its own that
    # ran the built-in programs under the supervisor, and Slurm recorded it COMPLETED
    cd there
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'done' AND attempt = 1
                 AND job_id > 0")" -eq 8
    test "$(sql "SELECT count(*) FROM batch_jobs WHERE state = 'COMPLETED'")" -eq 13
    test "$(sql "SELECT count(DISTINCT job_id) FROM batch_jobs")" -eq 13
    for id in $(sql "SELECT job_id FROM batch_jobs"); do
        test "$(slurm_state "$id")" = COMPLETED
    done
    grep -q "^exec .*/mainline-supervise' --checkpoints .* '[^']*/mainline-train' '--config'" \
        runs/tiny/main-attn-seed-0/job.sh
    grep -q "^exec .*/mainline-supervise' '.* '[^']*/mainline-eval' '--config'" \
        runs/tiny/main-attn-seed-0/eval/step-*/job.sh
    # the job hashed its checkpoints on its node: the registry holds its digests
    sed 's/^\([0-9a-f]*\)  [0-9]*  \(.*\)/\2|\1/' runs/tiny/main-attn-seed-0/checkpoints.sha256 >job.sha
    sql "SELECT path, sha256 FROM checkpoints c JOIN runs r ON r.id = c.run
         WHERE r.run_id = 'main-attn-seed-0' AND kept = 1 ORDER BY step" >reg.sha
    test -s job.sha && test_cmp job.sha reg.sha
    grep -q "^exec .*/mainline-eval' " runs/tiny/baseline/job.sh
    test ! -e ../here/runs/tiny/main-attn-seed-0/job.sh
    no_double_submits
EOF

# ---- (b) slurmctld stopped and started again ----

test_body 'slurmctld stopped (SIGTERM) and started again mid-sweep: every run done, once' <<\EOF
    trap 'kill -9 $pid 2>/dev/null || :' EXIT
    # 3 s a run; 2 CPUs: two run, the third and the baseline wait
    slurm_sweep r "x_steps: 12, x_sleep_ms: 250" "0, 1, 2"
    "$MAINLINE" run r >run.out 2>&1 &
    pid=$!
    wait_until 30 jobs_at_least r RUNNING 2
    jobs_at_least r PENDING 1
    ctld=$(cat "$CLUSTER/run/slurmctld.pid")
    kill -TERM "$ctld"
    wait_until 20 proc_gone "$ctld"
    # down for 4 s: the running jobs end meanwhile, and squeue gets no answer
    sleep 4
    refute timeout 2 squeue -h
    slurmctld -f "$CLUSTER/slurm.conf" </dev/null >>"$CLUSTER/log/slurmctld.log" 2>&1
    wait_until 10 test -s "$CLUSTER/run/slurmctld.pid"
    test "$(cat "$CLUSTER/run/slurmctld.pid")" != "$ctld"
    ended_ok 120
    test "$(grep -c 'slurmctld version .* started' "$CLUSTER/log/slurmctld.log")" -ge 2
    grep -q '^r: 3 done, 0 failed, 0 cancelled' run.out
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'done' AND attempt = 1")" -eq 3
    test "$(sql "SELECT count(*) FROM eval_jobs WHERE state = 'done' AND attempt = 1")" -eq 4
    # 3 runs, 3 evaluations, the baseline: one batch job each, all COMPLETED
    test "$(sql "SELECT count(*) FROM batch_jobs WHERE state = 'COMPLETED'")" -eq 7
    test "$(sql "SELECT count(*) FROM batch_jobs")" -eq 7
    test "$(squeue -h -t all -o '%j' | grep -c '^mainline/r@v1/')" -eq 7
    test "$(sql "SELECT count(*) FROM metrics WHERE name = 'loss'")" -eq 36
    no_double_submits
EOF

# ---- (c) a trainer that fails ----

test_body 'a trainer that fails on Slurm: retries applied, reasons recorded' <<\EOF
    fake_sweep f "x_steps: 6, x_fail_at: 3" "0"
    cat >>f.yaml <<\EOF_YAML
executor: slurm
retries: 1
conditions:
  boom: {adapter: lora, targets: [q_proj]}
  nan:  {adapter: lora, targets: [q_proj], x_exit: 3}
EOF_YAML
    sed -i 's/^grid: .*/grid: {condition: [boom, nan], seed: [0]}/' f.yaml
    mainline plan f.yaml >/dev/null
    rc=0
    mainline run f >run.out 2>&1 || rc=$?
    cat run.out
    test "$rc" -eq 1
    grep -q '^f: 0 done, 2 failed' run.out
    # exit 1: failed, tried once more (retries: 1), failed again
    check_eq boom "failed|2|1|exit status 1: fake_trainer: failing at step 3 as asked (runs/f/main-boom-seed-0/stderr.log)" \
        "$(sql "SELECT state, attempt, exit_status, fail_reason FROM runs
                WHERE run_id = 'main-boom-seed-0'")"
    # exit 3 (diverged): failed once, not retried
    check_eq nan "failed|1|3|diverged: the loss became NaN or infinite (exit 3)" \
        "$(sql "SELECT state, attempt, exit_status, fail_reason FROM runs
                WHERE run_id = 'main-nan-seed-0'")"
    test "$(grep -c 'FAIL   main-boom-seed-0: exit status 1' run.out)" -eq 2
    test "$(grep -c 'start  main-nan-seed-0' run.out)" -eq 1
    # one batch job per attempt, each FAILED in Slurm with the trainer's exit code
    sql "SELECT r.run_id, b.attempt, b.state FROM batch_jobs b JOIN runs r ON r.id = b.run
         ORDER BY 1, 2" >got
    printf '%s\n' 'main-boom-seed-0|1|FAILED' 'main-boom-seed-0|2|FAILED' \
        'main-nan-seed-0|1|FAILED' >want
    test_cmp want got
    id=$(job_of main-nan-seed-0)
    test "$(slurm_state "$id")" = FAILED
    scontrol show job "$id" | grep -q 'ExitCode=3:0'
    # the failed runs' jobs got no evaluation; the baseline did
    test "$(sql "SELECT count(*) FROM eval_jobs")" -eq 1
    test "$(sql "SELECT count(*) FROM eval_jobs WHERE run IS NULL AND state = 'done'")" -eq 1
    grep -q 'failing at step 3 as asked' runs/f/main-boom-seed-0/stderr.log
    no_double_submits
EOF

# ---- (d) a job over its memory ----

# OUT_OF_MEMORY needs memory the cluster contains (cgroups) and schedules: Slurm marks a
# job so when the kernel's OOM killer acts inside its cgroup. A cluster without them runs
# the job past its --mem (COMPLETED); with only jobacct_gather's OverMemoryKill, Slurm
# kills it but records FAILED.
memory_contained() {
    conf=$(scontrol show config)
    echo "$conf" | grep -q '^TaskPlugin *= .*task/cgroup' &&
        echo "$conf" | grep -q '^SelectTypeParameters *= .*MEMORY'
}

if memory_contained; then
test_body 'a job over its memory: OUT_OF_MEMORY, failed with the reason, retries applied' <<\EOF
    fake_sweep m "lr: 1.0e-4" "0"
    sed -i 's|^trainer: .*|trainer: {command: [python3, -c, "import time; b = bytearray(400 << 20); time.sleep(2)"]}|' m.yaml
    printf '%s\n' 'executor: slurm' 'retries: 1' 'slurm: {mem: 64M}' >>m.yaml
    mainline plan m.yaml >/dev/null
    rc=0
    mainline run m >run.out 2>&1 || rc=$?
    cat run.out
    test "$rc" -eq 1
    reason='out of memory (Slurm: OUT_OF_MEMORY): ask for more with slurm: {mem: ...}'
    check_eq run "failed|2|$reason" \
        "$(sql "SELECT state, attempt, fail_reason FROM runs WHERE run_id = 'main-seed-0'")"
    test "$(sql "SELECT count(*) FROM batch_jobs WHERE run IS NOT NULL
                 AND state = 'OUT_OF_MEMORY'")" -eq 2
    test "$(slurm_state "$(job_of main-seed-0)")" = OUT_OF_MEMORY
EOF
else
    skip "t9005 out of memory" "this cluster does not contain memory, so Slurm never marks a job \
OUT_OF_MEMORY (a job past its --mem ran on to COMPLETED here); it would with TaskPlugin=task/cgroup, \
SelectTypeParameters=CR_Core_Memory, DefMemPerCPU=1024 in slurm.conf and a cgroup.conf \
'CgroupPlugin=cgroup/v1' 'ConstrainRAMSpace=yes' beside it (docs/slurm.md)"
fi

# ---- a node that fails under a job ----

test_body 'a node that fails under a running job: NODE_FAIL, resubmitted resuming, no failure' <<\EOF
    trap 'kill -9 $pid 2>/dev/null || :; scontrol update nodename="$NODE" state=resume 2>/dev/null || :' EXIT
    slurm_sweep n "x_steps: 30, x_sleep_ms: 150, x_val_every: 5" "0"
    "$MAINLINE" run n >run.out 2>&1 &
    pid=$!
    wait_until 30 grep -q '"event":"checkpoint"' runs/n/main-seed-0/metrics.jsonl
    first=$(job_of main-seed-0)
    scontrol update nodename="$NODE" state=down reason=t9005
    # ReturnToService=2: the node comes back once slurmd registers again; else resume it
    wait_until 30 slurm_state_is "$first" NODE_FAIL
    scontrol update nodename="$NODE" state=resume 2>/dev/null || :
    ended_ok 120
    grep -q 'stop   main-seed-0: Slurm ended it: NODE_FAIL.*; resubmitted, resuming (1 of at most 5)' run.out
    grep -q 'start  main-seed-0 (attempt 2, resuming)' run.out
    # retries: 0, and still done: the node's failure was not counted against the run
    test "$(sql "SELECT state || attempt FROM runs")" = done2
    sql "SELECT attempt, state, reason FROM batch_jobs WHERE run IS NOT NULL ORDER BY 1" >got
    printf '%s\n' '1|NODE_FAIL|NodeDown' '2|COMPLETED|' >want
    test_cmp want got
    test "$(sql "SELECT json_extract(data, '\$.resumed_from') FROM events WHERE kind = 'start'
                 ORDER BY id DESC LIMIT 1")" -gt 0
    test "$(sql "SELECT max(step) FROM metrics WHERE name = 'loss' AND attempt = 2")" -eq 30
    no_double_submits
EOF

# ---- (e) --detach, then re-attaching from elsewhere ----

test_body '--detach, then `mainline run` from another directory attaches and finishes' <<\EOF
    mkdir home elsewhere
    cd home
    fake_sweep e "x_steps: 12, x_sleep_ms: 200" "0, 1"
    cat >>e.yaml <<\EOF_YAML
executor: slurm
stages:
  lr_select:
    grid: {lr: [1.0e-4, 3.0e-4, 1.0e-3], seed: [7]}
    pick: {param: lr, by: min(val_nll)}
  main:
    grid: {seed: [0, 1]}
    lr: {from: lr_select}
EOF_YAML
    sed -i '/^grid: /d' e.yaml
    mainline plan e.yaml >/dev/null
    start=$(date +%s)
    mainline run e --detach >run1.out 2>&1 || { cat run1.out; false; }
    cat run1.out
    test $(($(date +%s) - start)) -le 10
    grep -q 'detached: 4 job(s) run on' run1.out
    # the orchestrator is gone; of the 3 lr_select runs and the baseline, 2 run and 2 wait
    wait_until 10 jobs_at_least e RUNNING 2
    jobs_at_least e PENDING 1
    test "$(sql "SELECT count(*) FROM runs WHERE stage = 'main' AND state = 'running'")" -eq 0
    cd ../elsewhere
    MAINLINE_REGISTRY=../home/mainline.db mainline status e >status.out
    cat status.out
    grep -q '  slurm jobs: lr_select-' status.out
    mainline --registry "$(cd ../home && pwd)/mainline.db" run e >run2.out 2>&1 ||
        { cat run2.out; false; }
    cat run2.out
    # each of the 4 jobs it left is adopted, or recorded if it ended meanwhile
    grep -q 'is still running (Slurm job [0-9]*): adopted' run2.out
    test "$(grep -c -e 'is still running (Slurm job [0-9]*): adopted' \
        -e 'finished while no orchestrator watched' run2.out)" -eq 4
    grep -q '^\[ *[0-9.]*s\] pick   lr_select.lr = ' run2.out
    grep -q '^e: 5 done, 0 failed' run2.out
    # nothing of the sweep landed here: the runs live beside the registry
    test ! -e runs && test ! -e mainline.db
    cd ../home
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'done' AND attempt = 1")" -eq 5
    test "$(sql "SELECT count(*) FROM eval_jobs WHERE state = 'done'")" -eq 3
    test "$(sql "SELECT count(*) FROM batch_jobs WHERE state = 'COMPLETED'")" -eq 8
    test -s runs/e/main-seed-1/eval/step-12/predictions.jsonl
    no_double_submits
EOF

slurm_test_cluster_stop
test_done
