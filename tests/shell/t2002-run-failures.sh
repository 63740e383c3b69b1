#!/bin/sh
# t2002: how `mainline run` handles jobs that fail: exit statuses and reasons in
# the registry, retries (and the exits no retry can fix), --fail-fast, timeouts,
# signals, a trainer deaf to SIGTERM, malformed metrics lines, a last line without
# its newline, checkpoints outside the run directory, a run directory that cannot be
# written, runs/ or a baseline directory that cannot be made (one error, no endless
# retries), an evaluator output holding \u0000, runs waiting on a stage whose run
# failed, --retry-failed.
#
# The jobs are tests/fakes/fake_trainer (knobs: x_fail_at + x_exit, x_signal_at,
# x_ignore_term, x_malformed_at...) or small shell wrappers around it.
. "$(dirname "$0")/lib.sh"

FAKES="$TOP/${BUILD:-build}/tests/fakes"
DEP="$SCRATCH/dep"

# col RUN COLUMN: one column of a run's row, "|"-joined when several.
col() {
    sql "SELECT $2 FROM runs WHERE run_id = '$1'"
}

# sweep_head NAME [COMMAND]: the top of a sweep file for the fakes (the data and
# model copied here). COMMAND is a YAML list; by default the fake trainer with
# {run_dir} in its argv, so `pgrep -f $PWD/runs/` finds it.
sweep_head() {
    cmd=${2:-"[$FAKES/fake_trainer, '{run_dir}']"}
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" .
    cat <<EOF
sweep: $1
base_model: models/tiny-base/model.safetensors
datasets: {train: data/arith-train.jsonl, valid: data/arith-valid.jsonl}
trainer: {command: $cmd, resume: true}
EOF
}

# write_failer: fail.sh RUN_ID fails (exit 1) while ./fail-RUN_ID exists, and
# flaky.sh RUN_ID fails once per ./flaky-RUN_ID (removing it); else the fake trainer.
write_failer() {
    cat >fail.sh <<EOF
#!/bin/sh
if [ -e "$PWD/fail-\$1" ]; then echo "fail.sh: \$1 fails as asked" >&2; exit 1; fi
exec "$FAKES/fake_trainer" "\$MAINLINE_RUN_DIR"
EOF
    cat >flaky.sh <<EOF
#!/bin/sh
if [ -e "$PWD/flaky-\$1" ]; then rm "$PWD/flaky-\$1"; echo "flaky.sh: once" >&2; exit 1; fi
exec "$FAKES/fake_trainer" "\$MAINLINE_RUN_DIR"
EOF
}

test_body 'a failing run ends failed with its exit status and reason; exit 1' <<\EOF
    { sweep_head fl; cat <<EOT; } >fl.yaml
defaults: {x_steps: 4}
conditions: {bad: {x_fail_at: 2}, ok: {}}
grid: {condition: [bad, ok]}
EOT
    mainline plan fl.yaml >plan.out
    rc=0
    mainline run fl >run.out 2>&1 || rc=$?
    cat run.out
    test "$rc" -eq 1
    test "$(col main-bad "state, attempt, exit_status")" = "failed|1|1"
    col main-bad fail_reason | grep "exit status 1"
    test -n "$(col main-bad finished_at)"
    test "$(col main-ok "state, exit_status")" = "done|0"
    grep -q "failing at step 2" runs/fl/main-bad/stderr.log
    grep -q '"exit": 1' runs/fl/main-bad/exit.json
    grep -q "^fl: 1 done, 1 failed, 0 cancelled" run.out
    mainline status fl >status.out
    grep -q "fl/main-bad (attempt 1): exit status 1" status.out
EOF

test_body 'retries: 1 - a run that fails once is done on attempt 2, and exit is 0' <<\EOF
    write_failer
    { sweep_head rt "[sh, $PWD/flaky.sh, '{run_id}']"; cat <<EOT; } >rt.yaml
defaults: {x_steps: 3}
grid: {seed: [0, 1]}
retries: 1
EOT
    mainline plan rt.yaml >plan.out
    touch flaky-main-seed-0
    rc=0
    mainline run rt >run.out 2>&1 || rc=$?
    cat run.out
    test "$(col main-seed-0 "state, attempt, base_attempt")" = "done|2|2"
    test "$(col main-seed-1 "state, attempt")" = "done|1"
    grep -q "flaky.sh: once" runs/rt/main-seed-0/attempt-1/stderr.log
    grep -q "^rt: 2 done, 0 failed" run.out
    # every run ended done: nothing failed in the end
    test "$rc" -eq 0
EOF

test_body 'retries: 1 - a run failing on every attempt ends failed at attempt 2' <<\EOF
    { sweep_head rf; cat <<EOT; } >rf.yaml
defaults: {x_steps: 3, x_fail_at: 1}
grid: {seed: [0]}
retries: 1
EOT
    mainline plan rf.yaml >plan.out
    rc=0
    mainline run rf >run.out 2>&1 || rc=$?
    cat run.out
    test "$rc" -eq 1
    test "$(col main-seed-0 "state, attempt, exit_status")" = "failed|2|1"
    test "$(grep -c '^\[.*\] start  main-seed-0' run.out)" -eq 2
    test "$(sql "SELECT count(*) FROM events WHERE kind = 'start'")" -eq 2
    test -f runs/rf/main-seed-0/attempt-1/metrics.jsonl
    refute test -e runs/rf/main-seed-0/attempt-2
EOF

test_body '--fail-fast: the first failure cancels the running jobs, starts nothing more' <<\EOF
    trap kill_leftovers EXIT
    { sweep_head ff; cat <<EOT; } >ff.yaml
defaults: {x_steps: 40, x_sleep_ms: 250}
conditions:
  bad: {x_fail_at: 1, x_sleep_ms: 300}
  slow1: {}
  slow2: {}
  slow3: {}
grid: {condition: [bad, slow1, slow2, slow3]}
EOT
    mainline plan ff.yaml >plan.out
    t0=$(date +%s)
    rc=0
    mainline run -j 3 --fail-fast ff >run.out 2>&1 || rc=$?
    t1=$(date +%s)
    cat run.out
    test "$rc" -eq 1
    test $((t1 - t0)) -le 6
    test "$(col main-bad state)" = failed
    test "$(col main-slow1 "state, fail_reason")" = "cancelled|cancelled"
    test "$(col main-slow2 "state, fail_reason")" = "cancelled|cancelled"
    test "$(col main-slow3 "state, attempt")" = "planned|0"
    grep -q "fail-fast" run.out
    no_jobs_left
EOF

test_body 'timeout: 1s - a run still going after 1 s is stopped and failed "timeout"' <<\EOF
    trap kill_leftovers EXIT
    { sweep_head to; cat <<EOT; } >to.yaml
defaults: {x_steps: 20, x_sleep_ms: 500}
grid: {seed: [0]}
timeout: 1s
EOT
    mainline plan to.yaml >plan.out
    t0=$(date +%s)
    rc=0
    mainline run to >run.out 2>&1 || rc=$?
    t1=$(date +%s)
    cat run.out
    test "$rc" -eq 1
    test $((t1 - t0)) -le 6
    test "$(col main-seed-0 "state, attempt")" = "failed|1"
    col main-seed-0 fail_reason | grep timeout
    test "$(grep -c '"event":"train"' runs/to/main-seed-0/metrics.jsonl)" -lt 20
    no_jobs_left
EOF

test_body 'SIGUSR1 (the warning before a time limit): checkpoint, exit 5, resumed, no failure' <<\EOF
    trap kill_leftovers EXIT
    { sweep_head tl; cat <<EOT; } >tl.yaml
defaults: {x_steps: 20, x_sleep_ms: 100, x_val_every: 100}
grid: {seed: [0]}
EOT
    mainline plan tl.yaml >plan.out
    "$MAINLINE" run tl >run.out 2>&1 &
    pid=$!
    f=runs/tl/main-seed-0/metrics.jsonl
    wait_until 20 grep -q '"event":"train","step":4' $f
    # a batch system warns the job's supervisor, which passes it on
    kill -USR1 "$(cut -d" " -f1 runs/tl/main-seed-0/exit.json.pid)"
    rc=0
    wait "$pid" || rc=$?
    pid=
    cat run.out
    test "$rc" -eq 0
    grep -q "stop   main-seed-0: stopped for its time limit (exit 5), checkpointed; resubmitted, resuming (1 of at most 5)" run.out
    test "$(col main-seed-0 "state, attempt")" = "done|2"
    test "$(grep -c '"event":"train"' $f)" -eq 20
    test "$(sql "SELECT count(*) FROM metrics WHERE name = 'loss'")" -eq 20
EOF

test_body 'a trainer killed by a signal ends failed, the reason names signal 9' <<\EOF
    { sweep_head sg; cat <<EOT; } >sg.yaml
defaults: {x_steps: 4, x_signal_at: 2}
grid: {seed: [0]}
EOT
    mainline plan sg.yaml >plan.out
    rc=0
    mainline run sg >run.out 2>&1 || rc=$?
    cat run.out
    test "$rc" -eq 1
    test "$(col main-seed-0 state)" = failed
    col main-seed-0 fail_reason | grep "signal 9"
    grep -q '"signal": 9' runs/sg/main-seed-0/exit.json
EOF

test_body 'a trainer ignoring SIGTERM is killed after MAINLINE_KILL_GRACE' <<\EOF
    trap kill_leftovers EXIT
    { sweep_head it; cat <<EOT; } >it.yaml
defaults: {x_steps: 20, x_sleep_ms: 500, x_ignore_term: true}
grid: {seed: [0]}
timeout: 1s
EOT
    mainline plan it.yaml >plan.out
    t0=$(date +%s)
    rc=0
    MAINLINE_KILL_GRACE=1 mainline run it >run.out 2>&1 || rc=$?
    t1=$(date +%s)
    cat run.out
    echo "took $((t1 - t0)) s"
    test "$rc" -eq 1
    # alone the trainer takes 10 s; the default grace would take 11 s
    test $((t1 - t0)) -le 7
    test "$(col main-seed-0 state)" = failed
    col main-seed-0 fail_reason | grep timeout
    no_jobs_left
EOF

test_body 'a malformed metrics line becomes a malformed_line event; the run goes on' <<\EOF
    { sweep_head ml; cat <<EOT; } >ml.yaml
defaults: {x_steps: 5, x_malformed_at: 3}
grid: {seed: [0]}
EOT
    mainline plan ml.yaml >plan.out
    mainline run ml >run.out 2>&1 || { cat run.out; false; }
    m=runs/ml/main-seed-0/metrics.jsonl
    line=$(grep -n oops "$m" | cut -d: -f1)
    test -n "$line"
    test "$(col main-seed-0 state)" = done
    test "$(sql "SELECT count(*) FROM events WHERE kind = 'malformed_line'")" -eq 1
    msg=$(sql "SELECT message FROM events WHERE kind = 'malformed_line'")
    echo "$msg"
    echo "$msg" | grep -q "line $line:"
    test "$(sql "SELECT json_extract(data, '\$.line') FROM events
                 WHERE kind = 'malformed_line'")" -eq "$line"
    # every good line after it was read: one loss per step
    test "$(sql "SELECT count(*) FROM metrics WHERE name = 'loss'")" -eq 5
    test "$(sql "SELECT count(*) FROM events WHERE kind = 'done'")" -eq 1
EOF

# writer NAME TEXT: NAME.sh, a trainer that appends TEXT (printf's format) to its
# metrics file and exits 0.
writer() {
    printf '#!/bin/sh\nprintf %s >>"$MAINLINE_METRICS"\n' "'$2'" >"$1.sh"
    chmod +x "$1.sh"
}

test_body 'the last metrics line, without its newline, is read once the job has ended' <<\EOF
    writer tail '{"event":"start","total_steps":1}\n{"event":"train","step":1,"loss":0.5}'
    { sweep_head tail "[$PWD/tail.sh]"; echo 'grid: {seed: [0]}'; } >tail.yaml
    mainline plan tail.yaml >plan.out
    mainline run tail >run.out 2>&1 || { cat run.out; false; }
    test "$(col main-seed-0 state)" = done
    test "$(sql "SELECT name || '|' || step || '|' || value FROM metrics")" = "loss|1|0.5"
    test "$(sql "SELECT count(*) FROM events WHERE kind = 'malformed_line'")" -eq 0
EOF

test_body 'a checkpoint path outside the run directory is a malformed line, not recorded' <<\EOF
    writer escape '{"event":"checkpoint","step":1,"path":"../../../../etc/passwd"}\n{"event":"checkpoint","step":2,"path":"/etc/passwd"}\n{"event":"checkpoint","step":3,"path":"checkpoints/step-3"}\n'
    { sweep_head escape "[$PWD/escape.sh]"; echo 'grid: {seed: [0]}'; } >escape.yaml
    mainline plan escape.yaml >plan.out
    mainline run escape >run.out 2>&1 || { cat run.out; false; }
    test "$(sql "SELECT step || '|' || path FROM checkpoints")" = "3|checkpoints/step-3"
    sql "SELECT message FROM events WHERE kind = 'malformed_line' ORDER BY id" >msgs
    cat msgs
    grep -q "line 1: the checkpoint path '../../../../etc/passwd' is outside the run directory" msgs
    grep -q "line 2: the checkpoint path '/etc/passwd' is outside the run directory" msgs
    test "$(wc -l <msgs)" -eq 2
EOF

# The fake returns early without freeing its config: under `make asan` LeakSanitizer
# would turn exit 3 into 1, so leak checks are off for this trainer.
test_body 'exit 3 is "diverged" and exit 2 "bad configuration": neither is retried' <<\EOF
    { sweep_head dv "[env, ASAN_OPTIONS=detect_leaks=0, $FAKES/fake_trainer, '{run_dir}']"
      cat <<EOT; } >dv.yaml
defaults: {x_steps: 4, x_fail_at: 2}
conditions: {div: {x_exit: 3}, cfg: {x_exit: 2}, other: {x_exit: 7}}
grid: {condition: [div, cfg, other]}
retries: 2
EOT
    mainline plan dv.yaml >plan.out
    rc=0
    mainline run dv >run.out 2>&1 || rc=$?
    cat run.out
    test "$rc" -eq 1
    test "$(col main-div "state, attempt, exit_status")" = "failed|1|3"
    col main-div fail_reason | grep diverged
    test "$(col main-cfg "state, attempt, exit_status")" = "failed|1|2"
    col main-cfg fail_reason | grep "bad configuration"
    # the last line of its stderr is kept alone for the report; a divergence says why itself
    test "$(col main-cfg fail_stderr)" = "fake_trainer: failing at step 2 as asked"
    test -z "$(col main-div fail_stderr)"
    # any other exit is retried while retries allow
    test "$(col main-other "state, attempt, exit_status")" = "failed|3|7"
EOF

test_body 'a run directory that cannot be written: clear error, run failed, rest done' <<\EOF
    trap 'chmod -R u+w runs 2>/dev/null || :' EXIT
    { sweep_head rd; cat <<EOT; } >rd.yaml
defaults: {x_steps: 3}
conditions: {blocked: {}, ok: {}}
grid: {condition: [blocked, ok]}
EOT
    mainline plan rd.yaml >plan.out
    mkdir -p runs/rd
    if [ "$(id -u)" -eq 0 ]; then
        echo "not a directory" >runs/rd/main-blocked   # root ignores permissions
    else
        mkdir runs/rd/main-blocked
        chmod 555 runs/rd/main-blocked
    fi
    rc=0
    mainline run rd >run.out 2>&1 || rc=$?
    cat run.out
    test "$rc" -eq 1
    grep -q "^error: main-blocked: .*runs/rd/main-blocked" run.out
    test "$(col main-blocked "state, attempt")" = "failed|1"
    col main-blocked fail_reason | grep "runs/rd/main-blocked"
    test -n "$(col main-blocked finished_at)"
    test "$(col main-ok state)" = done
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'running'")" -eq 0
    test "$(sql "SELECT count(*) FROM locks")" -eq 0
    mainline status rd >status.out
    grep -q "rd/main-blocked (attempt 1): .*runs/rd/main-blocked" status.out
EOF

# runs_blocked_sweep NAME: two runs evaluated on bench with a baseline, one retry
# allowed, planned.
runs_blocked_sweep() {
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" .
    cat >"$1.yaml" <<EOT
sweep: $1
base_model: models/tiny-base/model.safetensors
datasets: {train: data/arith-train.jsonl, valid: data/arith-valid.jsonl,
           bench: data/arith-test.jsonl}
trainer: {command: [$FAKES/fake_trainer, '{run_dir}']}
evaluator: {command: [$FAKES/fake_evaluator]}
defaults: {x_steps: 3}
grid: {seed: [0, 1]}
evaluation: {dataset: bench, baseline: true}
retries: 1
EOT
    mainline plan "$1.yaml" >plan.out
}

# run_once_failing NAME: `mainline run NAME` under a 10 s timeout ends within 5 s
# (timeout's SIGTERM would be an interruption, exit 1 too: the time tells a hang),
# exit 1, with exactly one error line.
run_once_failing() {
    t0=$(date +%s)
    rc=0
    timeout 10 "$MAINLINE" run "$1" >run.out 2>&1 || rc=$?
    t1=$(date +%s)
    cat run.out
    test "$rc" -eq 1
    test $((t1 - t0)) -le 5
    test "$(grep -c "^error: " run.out)" -eq 1
}

# check_blocked_run NAME: run_once_failing, the error naming runs/NAME; nothing
# started, nothing left locked.
check_blocked_run() {
    run_once_failing "$1"
    grep -q "^error: nothing can start: .*'$PWD/runs/$1'" run.out
    test "$(sql "SELECT count(*) FROM runs WHERE state <> 'planned'")" -eq 0
    test "$(sql "SELECT count(*) FROM eval_jobs WHERE state <> 'planned'")" -eq 0
    test "$(sql "SELECT count(*) FROM locks")" -eq 0
}

test_body 'runs/ a plain file, with a baseline evaluation: one error, exit 1, no hang' <<\EOF
    runs_blocked_sweep rb
    echo "not a directory" >runs
    check_blocked_run rb
EOF

test_body 'runs/ read-only, with a baseline evaluation: one error, exit 1, no hang' <<\EOF
    if [ "$(id -u)" -eq 0 ]; then
        skip "read-only runs/" "root writes through permissions"
        exit 0
    fi
    trap 'chmod u+w runs 2>/dev/null || :' EXIT
    runs_blocked_sweep ro
    mkdir runs
    chmod 555 runs
    check_blocked_run ro
EOF

test_body 'a baseline directory that cannot be made: that evaluation fails once, exit 1' <<\EOF
    runs_blocked_sweep bb
    mkdir -p runs/bb
    echo "not a directory" >runs/bb/baseline
    run_once_failing bb
    grep -q "^error: baseline eval: .*runs/bb/baseline" run.out
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'done'")" -eq 2
    test "$(sql "SELECT state || '|' || attempt FROM eval_jobs WHERE run IS NULL")" = "failed|1"
    sql "SELECT fail_reason FROM eval_jobs WHERE run IS NULL" | grep -q "runs/bb/baseline"
    test "$(sql "SELECT count(*) FROM eval_jobs WHERE run IS NOT NULL AND state = 'done'")" -eq 2
    test "$(sql "SELECT count(*) FROM locks")" -eq 0
EOF

test_body 'an evaluator output with \u0000 is recorded with U+FFFD; the report counts it' <<\EOF
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" .
    cat >nul.yaml <<EOT
sweep: nul
base_model: models/tiny-base/model.safetensors
datasets: {train: data/arith-train.jsonl, valid: data/arith-valid.jsonl,
           bench: data/arith-test.jsonl}
trainer: {command: [$FAKES/fake_trainer, '{run_dir}']}
evaluator: {command: [$FAKES/fake_evaluator, --nul, "2"]}
defaults: {x_steps: 3}
grid: {seed: [0]}
evaluation: {dataset: bench, baseline: true}
EOT
    mainline plan nul.yaml >plan.out
    mainline run nul >run.out 2>&1 || { cat run.out; false; }
    cat run.out
    test "$(grep -c 'u0000' runs/nul/baseline/predictions.jsonl)" -eq 2
    test "$(sql "SELECT count(*) FROM eval_jobs WHERE state = 'done'")" -eq 2
    test "$(sql "SELECT count(*) FROM predictions")" -eq 12
    test "$(sql "SELECT count(*) FROM predictions
                 WHERE hex(output) LIKE '%EFBFBD' AND instr(output, 'answer') = 1")" -eq 4
    test "$(sql "SELECT group_concat(summary ->> '$.nul_outputs') FROM evals")" = "2,2"
    mainline select nul >select.out
    mainline report nul --format md -o report.md
    grep -x '4 evaluator outputs held a NUL byte (\\u0000), recorded with U+FFFD in its place.' \
        report.md
    mainline report nul --format html -o report.html
    grep -q '<p class="small">4 evaluator outputs held a NUL byte' report.html
EOF

# $DEP: LR selection where one run of condition a fails (fail.sh), so the main runs
# of condition a cannot get their lr. The tests after the first continue in $DEP.
test_body 'runs waiting on a stage whose run failed stay waiting; status says why' <<\EOF
    mkdir "$DEP" && cd "$DEP"
    write_failer
    { sweep_head dep "[sh, $PWD/fail.sh, '{run_id}']"; cat <<EOT; } >dep.yaml
conditions: {a: {adapter: lora, targets: [q_proj]}, b: {adapter: lora, targets: all-linear}}
defaults: {x_steps: 4}
stages:
  lr_select:
    grid: {condition: [a, b], lr: [1.0e-4, 3.0e-4, 1.0e-3], seed: [7]}
    pick: {per: condition, param: lr, by: min(val_nll)}
  main:
    grid: {condition: [a, b], seed: [0, 1]}
    lr: {from: lr_select}
EOT
    mainline plan dep.yaml >plan.out
    touch fail-lr_select-a-lr-1e-3-seed-7
    rc=0
    mainline run -j 3 dep >run.out 2>&1 || rc=$?
    cat run.out
    test "$rc" -eq 1
    test "$(col lr_select-a-lr-1e-3-seed-7 state)" = failed
    test "$(sql "SELECT count(*) FROM runs WHERE stage = 'main' AND condition = 'a'
                 AND state = 'waiting' AND attempt = 0")" -eq 2
    grep "^  main-a-seed-0 waits: lr from lr_select: .*lr_select-a-lr-1e-3-seed-7.*failed" \
        run.out
    grep -q "^  main-a-seed-1 waits: .*--retry-failed" run.out
    mainline status dep >status.out
    cat status.out
    grep -q "dep/main waits for lr from stage lr_select (1 of its runs failed" status.out
    grep -q "dep/lr_select-a-lr-1e-3-seed-7 (attempt 1): exit status 1" status.out
EOF

test_body 'the run summary tells the waiting runs why the run they need failed' <<\EOF
    cd "$DEP"
    grep "^  main-a-seed-0 waits: .*lr_select-a-lr-1e-3-seed-7 of stage lr_select failed" \
        run.out >waits
    cat waits
    grep -q "exit status 1" waits
    refute grep -q "no reason recorded" waits
EOF

test_body 'the summary explains every main run that did not run' <<\EOF
    cd "$DEP"
    for r in main-a-seed-0 main-a-seed-1 main-b-seed-0 main-b-seed-1; do
        [ "$(col $r state)" != done ] || continue
        grep -q "^  $r .*[a-z]" run.out || {
            echo "$r is $(col $r state), and the summary does not say why"
            false
        }
    done
EOF

test_body 'run again: a failed run stays failed; --retry-failed runs it, then the rest' <<\EOF
    cd "$DEP"
    rm fail-lr_select-a-lr-1e-3-seed-7
    mainline run -j 3 dep >again.out 2>&1 || :
    cat again.out
    test "$(col lr_select-a-lr-1e-3-seed-7 "state, attempt")" = "failed|1"
    test "$(sql "SELECT count(*) FROM runs WHERE condition = 'a' AND state = 'waiting'")" -eq 2
    mainline run -j 3 --retry-failed dep >retry.out 2>&1 || { cat retry.out; false; }
    cat retry.out
    test "$(col lr_select-a-lr-1e-3-seed-7 "state, attempt, fail_reason IS NULL")" = "done|2|1"
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'done'")" -eq 10
    test "$(sql "SELECT count(*) FROM runs WHERE stage = 'main' AND lr = 0.0003")" -eq 4
    test "$(sql "SELECT count(*) FROM selections WHERE kind = 'pick'")" -eq 2
    grep -q "^dep: 10 done, 0 failed, 0 cancelled, 0 planned, 0 waiting" retry.out
EOF

test_done
