#!/bin/sh
# t2001: `mainline run` executes a sweep: jobs run in parallel up to -j, every run
# ends done, the registry holds exactly the metrics the trainer wrote, a stage pick
# releases the runs waiting for it, the baseline and every benchmarked run are
# evaluated, and the job protocol (config.json, argv placeholders, environment) is
# honoured. Also --stage, --only, an unknown sweep and usage errors.
#
# The jobs are tests/fakes/fake_trainer and fake_evaluator (`make unit-tests`).
# The first test runs the two-stage example sweep once in $FULL; the tests after it
# read what that run left behind.
. "$(dirname "$0")/lib.sh"

FAKES="$TOP/${BUILD:-build}/tests/fakes"
FULL="$SCRATCH/full"

# The datasets and the base model the example sweeps use, copied here.
fake_inputs() {
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" .
}

# two_stage_sweep NAME DEFAULTS: write NAME.yaml (LR selection per condition, then
# a main stage taking the picked lr, a baseline evaluation) and plan it.
two_stage_sweep() {
    fake_inputs
    cat >"$1.yaml" <<EOF
sweep: $1
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
  valid: data/arith-valid.jsonl
  bench: data/arith-test.jsonl
trainer: {command: [$FAKES/fake_trainer], resume: true}
evaluator: {command: [$FAKES/fake_evaluator]}
conditions:
  a: {adapter: lora, targets: [q_proj]}
  b: {adapter: lora, targets: all-linear}
defaults: {$2}
stages:
  lr_select:
    grid: {condition: [a, b], lr: [1.0e-4, 3.0e-4, 1.0e-3], seed: [7]}
    pick: {per: condition, param: lr, by: min(val_nll)}
  main:
    grid: {condition: [a, b], seed: [0, 1]}
    lr: {from: lr_select}
evaluation: {dataset: bench, baseline: true}
selection: {checkpoint: min(val_nll)}
EOF
    mainline plan "$1.yaml" >plan.out
}

# one_stage_sweep NAME COMMAND DEFAULTS: a single run (main-seed-0) whose trainer
# command is the YAML list COMMAND; written to NAME.yaml and planned.
one_stage_sweep() {
    fake_inputs
    cat >"$1.yaml" <<EOF
sweep: $1
base_model: models/tiny-base/model.safetensors
datasets: {train: data/arith-train.jsonl, valid: data/arith-valid.jsonl}
trainer: {command: $2, resume: true}
defaults: {$3}
grid: {seed: [0]}
EOF
    mainline plan "$1.yaml" >plan.out
}

# record.sh: a trainer wrapper that writes its argv and working directory into
# the run directory, then becomes the fake trainer.
write_recorder() {
    cat >record.sh <<EOF
#!/bin/sh
printf '%s\n' "\$@" >"\$MAINLINE_RUN_DIR/argv.txt"
pwd -P >"\$MAINLINE_RUN_DIR/cwd.txt"
exec "$FAKES/fake_trainer"
EOF
}

# env_sweep NAME [ARG]: a one-run sweep whose fake trainer (given ARG) writes the
# environment it got, byte for byte, to runs/NAME/main-seed-0/env.txt (x_record).
# Not through a shell script: the shell would add PWD.
env_sweep() {
    one_stage_sweep "$1" "[$FAKES/fake_trainer${2:+, \"$2\"}]" "x_steps: 2, x_record: true"
}

# check_job_env NAME GIVEN THREADS: the job of sweep NAME got exactly the environment
# in GIVEN (`env -0` of what mainline was started with) but for the variables mainline
# sets (README, "Running a sweep"): the MAINLINE_* protocol, the thread budget in
# MAINLINE_THREADS, OPENBLAS_NUM_THREADS and OMP_NUM_THREADS, and OPENBLAS_CORETYPE
# when GIVEN has none (what the CPU's features call for, as `mainline doctor` says).
check_job_env() {
    cpu=$(env -u OPENBLAS_CORETYPE "$MAINLINE" doctor | sed -n 's/^cpu features call  //p')
    test -n "$cpu"
    python3 - "$2" "$(pwd -P)/runs/$1/main-seed-0" "$3" "$cpu" <<\PY
import sys
given_path, run_dir, threads, cpu = sys.argv[1:]
def entries(path):
    return [e for e in open(path, "rb").read().decode().split("\0") if e]
given = dict(e.split("=", 1) for e in entries(given_path))
want = dict(given, MAINLINE_RUN_DIR=run_dir, MAINLINE_CONFIG=run_dir + "/config.json",
            MAINLINE_METRICS=run_dir + "/metrics.jsonl", MAINLINE_ATTEMPT="1",
            MAINLINE_RESUME="0", MAINLINE_THREADS=threads, OPENBLAS_NUM_THREADS=threads,
            OMP_NUM_THREADS=threads)
if not given.get("OPENBLAS_CORETYPE") and cpu != "no particular core":
    want["OPENBLAS_CORETYPE"] = cpu
want = sorted("%s=%s" % kv for kv in want.items())
got = sorted(entries(run_dir + "/env.txt"))
for e in sorted(set(want) - set(got)):
    print("the job lacks  " + e)
for e in sorted(set(got) - set(want)):
    print("the job has    " + e)
if len(got) != len(set(got)):
    print("the job has a variable twice")
sys.exit(want != got)
PY
}

# What a machine of this project may export, and values of the variables mainline
# sets that it must replace.
POLLUTED="OPENBLAS_L2_SIZE=512 OPENBLAS_CORETYPE=Haswell OMP_NUM_THREADS=7 LANG=C.UTF-8 TZ=UTC
FOO=bar OPENBLAS_NUM_THREADS=3 MAINLINE_THREADS=4 MAINLINE_RUN_DIR=/elsewhere MAINLINE_RESUME=1"

test_body 'run -j 3: three runs at once (never more), every run done, exit 0' <<\EOF
    mkdir "$FULL" && cd "$FULL"
    two_stage_sweep fake "x_steps: 6, x_sleep_ms: 100"
    trap kill_leftovers EXIT
    "$MAINLINE" run -j 3 fake >run.out 2>&1 &
    pid=$!
    max=0 polls=0
    while kill -0 "$pid" 2>/dev/null && [ "$polls" -lt 600 ]; do
        n=$(mainline status fake |
            awk '$1 == "lr_select" || $1 == "main" { n += $5 } END { print n + 0 }')
        if [ "$n" -gt 3 ]; then
            echo "$n runs running at once with -j 3"
            false
        fi
        [ "$n" -le "$max" ] || max=$n
        polls=$((polls + 1))
        sleep 0.05
    done
    rc=0
    wait "$pid" || rc=$?
    pid=
    cat run.out
    test "$rc" -eq 0
    echo "most runs running at once: $max"
    test "$max" -eq 3
    test "$(sql "SELECT count(*) FROM runs")" -eq 10
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'done' AND attempt = 1
                 AND exit_status = 0 AND fail_reason IS NULL")" -eq 10
    grep -q "^fake: 10 done, 0 failed, 0 cancelled, 0 planned, 0 waiting" run.out
    test "$(sql "SELECT count(*) FROM locks")" -eq 0
EOF

test_body 'the registry holds one metric row per number each train/val line wrote' <<\EOF
    cd "$FULL"
    n=0
    for d in runs/fake/*/; do
        run=$(basename "$d")
        [ "$run" != baseline ] || continue
        n=$((n + 1))
        train=$(grep -c '"event":"train"' "$d/metrics.jsonl")
        val=$(grep -c '"event":"val"' "$d/metrics.jsonl")
        ckpt=$(grep -c '"event":"checkpoint"' "$d/metrics.jsonl")
        test "$train" -eq 6
        where="m.run = (SELECT id FROM runs WHERE run_id = '$run')"
        # loss, lr, tokens, tok_per_s per train line; val_nll per val line
        test "$(sql "SELECT count(*) FROM metrics m WHERE $where
                     AND name IN ('loss', 'lr', 'tokens', 'tok_per_s')")" -eq $((4 * train))
        test "$(sql "SELECT count(*) FROM metrics m WHERE $where AND name = 'val_nll'")" \
            -eq "$val"
        test "$(sql "SELECT count(*) FROM metrics m WHERE $where")" -eq $((4 * train + val))
        test "$(sql "SELECT count(*) FROM checkpoints m WHERE $where")" -eq "$ckpt"
        test "$(sql "SELECT count(*) FROM events m WHERE $where AND kind = 'start'")" -eq 1
        test "$(sql "SELECT count(*) FROM events m WHERE $where AND kind = 'done'")" -eq 1
    done
    test "$n" -eq 10
EOF

test_body 'metric rows carry the exact step, name, value and byte offset of their line' <<\EOF
    cd "$FULL"
    python3 - <<\PY
import json, os, sqlite3, sys
db = sqlite3.connect("mainline.db")
bad = 0
for rowid, run_id, run_dir in db.execute("SELECT id, run_id, run_dir FROM runs"):
    want = []
    with open(os.path.join(run_dir, "metrics.jsonl"), "rb") as f:
        offset = 0
        for raw in f:
            o = json.loads(raw)
            prefix = {"train": "", "val": "val_"}.get(o["event"])
            if prefix is not None:
                for k, v in o.items():
                    if k not in ("event", "step") and type(v) in (int, float):
                        want.append((offset, o["step"], prefix + k, float(v)))
            offset += len(raw)
    got = list(db.execute("SELECT src_offset, step, name, value FROM metrics WHERE run = ?"
                          " AND attempt = 1", (rowid,)))
    if sorted(want) != sorted(got):
        bad += 1
        print(run_id, "differs:", sorted(set(want) ^ set(got))[:5])
sys.exit(1 if bad else 0)
PY
EOF

test_body 'the pick chooses lr 3e-4 per condition and releases the main runs with it' <<\EOF
    cd "$FULL"
    test "$(sql "SELECT count(*) FROM selections WHERE kind = 'pick'")" -eq 2
    for c in a b; do
        sel="FROM selections WHERE kind = 'pick' AND scope = 'lr_select.lr per condition=$c'"
        test "$(sql "SELECT json_extract(choice, '\$.lr') $sel")" = 0.0003
        test "$(sql "SELECT json_extract(choice, '\$.run') $sel")" = "lr_select-$c-lr-3e-4-seed-7"
        test "$(sql "SELECT rule $sel")" = "min(val_nll)"
        test "$(sql "SELECT json_array_length(inputs) $sel")" -eq 3
    done
    test "$(sql "SELECT count(*) FROM runs WHERE stage = 'main' AND lr = 0.0003
                 AND json_extract(params, '\$.lr') = 0.0003 AND pending IS NULL")" -eq 4
    for r in main-a-seed-0 main-b-seed-1; do
        grep -q '"lr": 0.0003' "runs/fake/$r/config.json"
    done
    grep -q "^\[.*\] pick   lr_select.lr per condition=a = 3e-4" run.out
EOF

test_body 'one evaluation per main run and one of the baseline, 6 predictions each' <<\EOF
    cd "$FULL"
    test "$(sql "SELECT count(*) FROM evals")" -eq 5
    test "$(sql "SELECT count(*) FROM evals WHERE run IS NULL AND checkpoint_step IS NULL
                 AND dataset = 'bench' AND n = 6 AND correct = 3")" -eq 1
    # every main run once, at its lowest-val_nll checkpoint (the last, step 6)
    test "$(sql "SELECT count(*) FROM runs r WHERE r.stage = 'main' AND
                 (SELECT count(*) FROM evals e WHERE e.run = r.id AND e.checkpoint_step = 6
                  AND e.n = 6 AND e.correct = 4) = 1")" -eq 4
    test "$(sql "SELECT count(*) FROM evals e JOIN runs r ON r.id = e.run
                 WHERE r.stage = 'lr_select'")" -eq 0
    test "$(sql "SELECT count(*) FROM evals e WHERE
                 (SELECT count(*) FROM predictions p WHERE p.eval = e.id) = 6")" -eq 5
    test "$(sql "SELECT count(*) FROM predictions")" -eq 30
    test "$(sql "SELECT count(*) FROM eval_jobs WHERE state = 'done'")" -eq 5
    test "$(sql "SELECT count(*) FROM eval_jobs")" -eq 5
    mainline status fake >status.out
    grep -q "evaluations: 5 (5 done, 0 running, 0 planned, 0 failed, 0 cancelled)" status.out
EOF

test_body 'config.json holds the documented fields, resolved' <<\EOF
    cd "$FULL"
    contract=$(sql "SELECT contract_sha256 FROM sweeps WHERE name = 'fake'")
    test -n "$contract"
    for r in main-a-seed-0 lr_select-b-lr-1e-3-seed-7; do
        python3 - "runs/fake/$r/config.json" "$r" "$contract" <<\PY
import json, os, re, sys
path, run, contract = sys.argv[1:]
c = json.load(open(path))
keys = {"protocol", "sweep", "sweep_version", "stage", "run", "attempt", "resume", "params",
        "base_model", "datasets", "evaluation", "contract_sha256", "threads", "run_dir",
        "metrics"}
assert keys <= set(c), keys - set(c)
run_dir = os.path.realpath(os.path.dirname(path))
assert c["protocol"] == 1 and c["sweep"] == "fake" and c["sweep_version"] == 1, c
assert c["run"] == run and c["stage"] == run.split("-")[0], c
assert c["attempt"] == 1 and c["resume"] is False and c["threads"] == 1, c
assert c["run_dir"] == run_dir, (c["run_dir"], run_dir)
assert c["metrics"] == os.path.join(run_dir, "metrics.jsonl"), c["metrics"]
assert c["contract_sha256"] == contract, c["contract_sha256"]
assert c["evaluation"]["dataset"] == "bench", c["evaluation"]
p = c["params"]
assert p["condition"] == run.split("-")[1] and p["x_steps"] == 6, p
assert p["lr"] == (0.0003 if run.startswith("main") else 0.001), p
arts = [c["base_model"]] + [c["datasets"][d] for d in ("train", "valid", "bench")]
assert sorted(c["datasets"]) == ["bench", "train", "valid"], c["datasets"]
for a in arts:
    assert os.path.isabs(a["path"]) and os.path.isfile(a["path"]), a
    assert a["bytes"] == os.path.getsize(a["path"]), a
    assert re.fullmatch("[0-9a-f]{64}", a["sha256"]), a
for d in ("train", "valid", "bench"):
    n = sum(1 for _ in open(c["datasets"][d]["path"]))
    assert c["datasets"][d]["rows"] == n, (d, n)
PY
    done
EOF

test_body 'eval.json holds the fields of config.json plus step and checkpoint' <<\EOF
    cd "$FULL"
    python3 - runs/fake/main-a-seed-0 runs/fake/baseline <<\PY
import json, os, sys
run_dir, base_dir = sys.argv[1:]
cfg = json.load(open(os.path.join(run_dir, "config.json")))
ev = json.load(open(os.path.join(run_dir, "eval", "step-6", "eval.json")))
base = json.load(open(os.path.join(base_dir, "eval.json")))
assert ev["step"] == 6, ev["step"]
assert ev["checkpoint"] == os.path.join(os.path.realpath(run_dir), "checkpoints", "step-6")
assert os.path.isdir(ev["checkpoint"]), ev["checkpoint"]
assert base["step"] is None and base["checkpoint"] is None, base
missing = sorted(set(cfg) - set(ev))
assert not missing, "eval.json lacks %s (docs/protocol.md: same fields as config.json)" % missing
PY
EOF

test_body 'a second run of a finished sweep starts nothing and exits 0' <<\EOF
    cd "$FULL"
    before=$(sql "SELECT count(*) FROM metrics")
    mainline run fake >again.out 2>&1
    cat again.out
    refute grep -q "start " again.out
    grep -q "^fake: 10 done, 0 failed" again.out
    test "$(sql "SELECT sum(attempt) FROM runs")" -eq 10
    test "$(sql "SELECT count(*) FROM metrics")" -eq "$before"
    test "$(sql "SELECT count(*) FROM evals")" -eq 5
EOF

test_body 'an external command gets {lr}, {x_steps}, {run_dir}... expanded' <<\EOF
    write_recorder
    one_stage_sweep ph "[sh, $PWD/record.sh, '{lr}', '{x_steps}', '{run_dir}', '{run_id}',
        '{attempt}', '{resume}', '{threads}', 'x{{y}', '--lr={lr}']" \
        "x_steps: 3, lr: 3.0e-4"
    mainline run ph >run.out 2>&1 || { cat run.out; false; }
    dir="$(pwd -P)/runs/ph/main-seed-0"
    printf '%s\n' 0.0003 3 "$dir" main-seed-0 1 0 1 'x{y}' --lr=0.0003 >expect
    test_cmp expect "$dir/argv.txt"
    echo "$dir" >expect
    test_cmp expect "$dir/cwd.txt"
    test "$(sql "SELECT state FROM runs")" = done
EOF

test_body '{base_model} names a file the job can open from its working directory' <<\EOF
    write_recorder
    one_stage_sweep bm "[sh, $PWD/record.sh, '{base_model}']" "x_steps: 2"
    mainline run bm >run.out 2>&1 || { cat run.out; false; }
    dir=runs/bm/main-seed-0
    model=$(cat "$dir/argv.txt")
    echo "{base_model} -> $model"
    (cd "$dir" && test -f "$model")
EOF

test_body 'a job gets exactly the environment mainline had, plus what it sets' <<\EOF
    env_sweep amb
    env -0 >given
    mainline run amb >run.out 2>&1 || { cat run.out; false; }
    check_job_env amb given 1
EOF

test_body 'started with only PATH, a job gets PATH and what mainline sets' <<\EOF
    env_sweep bare
    env -i PATH="$PATH" env -0 >given
    env -i PATH="$PATH" "$MAINLINE" run bare >run.out 2>&1 || { cat run.out; false; }
    check_job_env bare given 1
EOF

test_body 'OPENBLAS_*, OMP_*, LANG, TZ, others: passed through, but for what mainline sets' <<\EOF
    env_sweep pol
    env -i PATH="$PATH" $POLLUTED env -0 >given
    env -i PATH="$PATH" $POLLUTED "$MAINLINE" run pol >run.out 2>&1 || { cat run.out; false; }
    check_job_env pol given 1
    # the same, spelt out
    tr '\0' '\n' <runs/pol/main-seed-0/env.txt >env.lines
    grep -x OPENBLAS_L2_SIZE=512 env.lines
    grep -x OPENBLAS_CORETYPE=Haswell env.lines
    grep -x OMP_NUM_THREADS=1 env.lines
    grep -x OPENBLAS_NUM_THREADS=1 env.lines
    grep -x MAINLINE_THREADS=1 env.lines
    grep -x MAINLINE_RESUME=0 env.lines
    grep -x "MAINLINE_RUN_DIR=$(pwd -P)/runs/pol/main-seed-0" env.lines
    grep -x TZ=UTC env.lines
    grep -x FOO=bar env.lines
EOF

test_body '--threads-per-run 2 reaches the environment, {threads} and config.json' <<\EOF
    env_sweep thr "{threads}"
    env -0 >given
    mainline run --threads-per-run 2 thr >run.out 2>&1 || { cat run.out; false; }
    check_job_env thr given 2
    test "$(tr '\0' '\n' <runs/thr/main-seed-0/argv.txt)" = 2
    python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["threads"] == 2' \
        runs/thr/main-seed-0/config.json
EOF

test_body '--stage lr_select runs that stage only' <<\EOF
    two_stage_sweep st "x_steps: 4"
    mainline run -j 3 --stage lr_select st >run.out 2>&1 || { cat run.out; false; }
    cat run.out
    test "$(sql "SELECT count(*) FROM runs WHERE stage = 'lr_select' AND state = 'done'")" -eq 6
    test "$(sql "SELECT count(*) FROM runs WHERE stage = 'main' AND attempt = 0
                 AND state IN ('waiting', 'planned')")" -eq 4
    refute ls -d runs/st/main-* 2>/dev/null
    refute grep -q "start  main" run.out
    test "$(sql "SELECT count(*) FROM evals WHERE run IS NOT NULL")" -eq 0
EOF

test_body '--only RUN (repeatable) runs only those runs' <<\EOF
    two_stage_sweep only "x_steps: 3"
    mainline run --only lr_select-a-lr-3e-4-seed-7 only >run.out 2>&1 || { cat run.out; false; }
    test "$(sql "SELECT run_id FROM runs WHERE attempt > 0")" = lr_select-a-lr-3e-4-seed-7
    test "$(sql "SELECT state FROM runs WHERE attempt > 0")" = done
    mainline run --only lr_select-b-lr-1e-4-seed-7 --only lr_select-b-lr-1e-3-seed-7 only \
        >run2.out 2>&1 || { cat run2.out; false; }
    sql "SELECT run_id FROM runs WHERE state = 'done' ORDER BY ord" >actual
    printf '%s\n' lr_select-a-lr-3e-4-seed-7 lr_select-b-lr-1e-4-seed-7 \
        lr_select-b-lr-1e-3-seed-7 >expect
    test_cmp expect actual
    test "$(sql "SELECT count(*) FROM runs WHERE attempt = 0")" -eq 7
EOF

# 0 ok, 1 failures, 128 fatal, 129 usage: no such sweep is exit 1, as for
# `mainline status NAME`, select, report and rules.
test_body 'run of an unknown sweep fails (exit 1) and says to plan it' <<\EOF
    two_stage_sweep known "x_steps: 2"
    rc=0
    mainline run nosuch >out 2>err || rc=$?
    cat err
    test "$rc" -eq 1
    grep -q "no sweep named 'nosuch'" err
    grep -q "mainline plan" err
    test "$(sql "SELECT count(*) FROM runs WHERE attempt > 0")" -eq 0
    refute test -d runs
EOF

test_body 'usage errors exit 129 and start nothing' <<\EOF
    two_stage_sweep us "x_steps: 2"
    expect_exit 129 mainline run 2>err1
    expect_exit 129 mainline run us other 2>err2
    expect_exit 129 mainline run -j 0 us 2>err3
    expect_exit 129 mainline run -j many us 2>err4
    expect_exit 129 mainline run --threads-per-run 0 us 2>err5
    expect_exit 129 mainline run --no-such-option us 2>err6
    expect_exit 129 mainline run --only 2>err7
    for f in err1 err2 err3 err4 err5 err6 err7; do
        grep -q "^usage: mainline run SWEEP" "$f"
    done
    test "$(sql "SELECT count(*) FROM runs WHERE attempt > 0")" -eq 0
    refute test -d runs
EOF

test_done
