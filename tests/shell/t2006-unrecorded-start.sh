#!/bin/sh
# t2006: an orchestrator that dies between forking a job and recording it leaves a
# run `planned` in the registry while its supervisor runs. The next `mainline run`
# must find the supervisor's pid file and adopt the job, not start the run twice.
. "$(dirname "$0")/lib.sh"

FAKES="$TOP/${BUILD:-build}/tests/fakes"

test_body 'a started but unrecorded job is adopted, not run twice' <<\EOF
    trap kill_leftovers EXIT
    cp -R "$TOP/sweeps/data" "$TOP/sweeps/models" .
    cat >s.yaml <<EOF_YAML
sweep: unrec
base_model: models/tiny-base/model.safetensors
datasets: {train: data/arith-train.jsonl}
trainer: {command: [$FAKES/fake_trainer], resume: true}
defaults: {lr: 1.0e-4, x_steps: 8, x_sleep_ms: 150}
grid: {seed: [0]}
EOF_YAML
    mainline plan s.yaml >/dev/null
    "$MAINLINE" run unrec -q >run1.out 2>&1 &
    pid=$!
    wait_until 10 test -f runs/unrec/main-seed-0/exit.json.pid
    kill -9 "$pid"
    wait "$pid" || :
    pid=
    sqlite3 mainline.db "UPDATE runs SET state = 'planned', attempt = 0, pid = NULL"
    mainline run unrec -q >run2.out 2>&1
    cat run2.out
    grep "adopted" run2.out
    grep "^unrec: 1 done, 0 failed" run2.out
    test "$(grep -c '"event":"start"' runs/unrec/main-seed-0/metrics.jsonl)" = 1
    test "$(sqlite3 mainline.db "SELECT state, attempt FROM runs")" = "done|1"
EOF

test_done
