#!/bin/sh
# t3002: `mainline run` with the built-in trainer (a sweep without a trainer:
# section, and without an evaluation, so no evaluator runs): every run done, its
# metrics and checkpoints in the registry, no selections; and after kill -9 of the
# orchestrator and its jobs mid-run, the next `mainline run` resumes them from
# their checkpoints and ends with the weights an uninterrupted run writes.
. "$(dirname "$0")/lib.sh"

case "${BINDIR:-bin}" in
/*) TRAINER=${TRAINER:-${BINDIR}/mainline-train} ;;
*) TRAINER=${TRAINER:-$TOP/${BINDIR:-bin}/mainline-train} ;;
esac
export TRAINER

# builtin_sweep NAME DEFAULTS GRID: NAME.yaml on tiny-base and the arithmetic data,
# trained by the built-in trainer, written and planned.
builtin_sweep() {
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" .
    cat >"$1.yaml" <<EOF
sweep: $1
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
  valid: data/arith-valid.jsonl
conditions:
  attn: {adapter: lora, targets: [q_proj, v_proj]}
  mlp:  {adapter: lora, targets: [gate_proj, up_proj, down_proj]}
defaults: {$2}
grid: {$3}
EOF
    mainline plan "$1.yaml" >plan.out
}

# Every run of SWEEP has written a checkpoint line.
all_checkpointed() {
    for m in runs/"$1"/*/metrics.jsonl; do
        grep -q '"event":"checkpoint"' "$m" 2>/dev/null || return 1
    done
}

test_body 'the built-in trainer runs a sweep: 2 conditions x 2 seeds, all done' <<\EOF
    builtin_sweep t3002 "rank: 4, alpha: 8, lr: 0.005, batch_size: 8, max_steps: 6,
        train_rows: 48, valid_rows: 16, eval_at: [3, end]" \
        "condition: [attn, mlp], seed: [0, 1]"
    run_rc 0 mainline run -j 2 t3002
    cat out err
    test "$(sql "SELECT count(*) FROM runs")" -eq 4
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'done' AND attempt = 1
                 AND exit_status = 0")" -eq 4
    # per run: val_nll at steps 3 and 6, a train report at 6, two checkpoints
    test "$(sql "SELECT count(*) FROM metrics WHERE name = 'val_nll'")" -eq 8
    test "$(sql "SELECT count(*) FROM metrics WHERE name = 'loss' AND step = 6")" -eq 4
    test "$(sql "SELECT count(*) FROM metrics WHERE name = 'tok_per_s'")" -eq 4
    test "$(sql "SELECT count(*) FROM checkpoints")" -eq 8
    test "$(sql "SELECT count(*) FROM events WHERE kind = 'start'
                 AND json_extract(data, '\$.total_steps') = 6")" -eq 4
    test "$(sql "SELECT count(*) FROM events WHERE kind = 'done'")" -eq 4
    test "$(sql "SELECT count(*) FROM selections")" -eq 0
    test "$(sql "SELECT count(*) FROM evals")" -eq 0
    for d in runs/t3002/*/; do
        test -f "$d/checkpoints/step-6/adapter_model.safetensors"
        grep -q '"event":"done","steps":6,' "$d/metrics.jsonl"
    done
    # the condition reached the trainer: attn adapts q_proj and v_proj only
    python3 -c 'import json, sys; c = json.load(open(sys.argv[1]))
assert c["target_modules"] == ["q_proj", "v_proj"], c["target_modules"]' \
        runs/t3002/main-attn-seed-0/checkpoints/step-6/adapter_config.json
    # different seeds, different weights
    refute cmp -s runs/t3002/main-attn-seed-0/checkpoints/step-6/adapter_model.safetensors \
        runs/t3002/main-attn-seed-1/checkpoints/step-6/adapter_model.safetensors
EOF

test_body 'kill -9 of the orchestrator and its jobs: the next run resumes them bitwise' <<\EOF
    trap kill_leftovers EXIT
    builtin_sweep t3002-kill "rank: 4, alpha: 8, lr: 0.005, batch_size: 8, epochs: 2,
        dropout: 0.1, valid_rows: 16, eval_at: [{every: 5}], report_every: 5" \
        "condition: [attn], seed: [0, 1]"
    "$MAINLINE" run -j 2 t3002-kill >run1.out 2>&1 &
    pid=$!
    wait_until 60 all_checkpointed t3002-kill
    kill -9 "$pid" $(jobs_of_this_test)    # as if the machine went down
    wait "$pid" || :
    pid=
    wait_until 10 no_jobs_left >/dev/null
    cut_short=
    for d in runs/t3002-kill/*/; do
        grep -q '"event":"done"' "$d/metrics.jsonl" || cut_short="$cut_short $d"
    done
    echo "cut short:$cut_short"
    test -n "$cut_short"
    mainline run t3002-kill >run2.out 2>&1 || { cat run2.out; false; }
    cat run2.out
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'done'")" -eq 2
    for d in $cut_short; do
        grep '"event":"start"' "$d/metrics.jsonl" | sed -n '$p' >last_start
        cat last_start
        from=$(sed -n 's/.*"resumed_from":\([0-9]*\).*/\1/p' last_start)
        test "$from" -gt 0
        grep -q '"event":"done","steps":60,' "$d/metrics.jsonl"
        # the same config, uninterrupted, writes the same bytes
        mkdir -p "direct/$d"
        core=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["blas_coretype"] or "")' "$d/config.json")
        OPENBLAS_CORETYPE=${core:-$OPENBLAS_CORETYPE} "$TRAINER" --config "$d/config.json" \
            --run-dir "direct/$d" --threads 1 >/dev/null
        diff -r "direct/$d/checkpoints" "$d/checkpoints"
    done
    test "$(sql "SELECT count(*) FROM events WHERE kind = 'start'
                 AND json_extract(data, '\$.resumed_from') > 0")" -ge 1
    test "$(sql "SELECT count(*) FROM selections")" -eq 0
    no_jobs_left
EOF

test_body 'keep: the checkpoints it deleted are marked, those kept carry their sha256' <<\EOF
    builtin_sweep keep "rank: 4, alpha: 8, lr: 0.005, batch_size: 8, max_steps: 6,
        train_rows: 48, valid_rows: 16, eval_at: [2, 4, end], keep: last" \
        "condition: [attn], seed: [0]"
    run_rc 0 mainline run keep
    # three checkpoints written (steps 2, 4, 6); keep: last deleted 2 and 4
    sql "SELECT step, kept, sha256 IS NULL, checked_at IS NOT NULL FROM checkpoints
         ORDER BY step" >got
    printf '%s\n' '2|0|1|1' '4|0|1|1' '6|1|0|1' >want
    test_cmp want got
    test ! -e runs/keep/main-attn-seed-0/checkpoints/step-2
    # the sha256 of a directory: that of its sha256sum listing, sorted by path
    dir=runs/keep/main-attn-seed-0/checkpoints/step-6
    want=$(cd "$dir" && find . -type f | sed 's|^\./||' | LC_ALL=C sort |
           xargs sha256sum | sha256sum | cut -d' ' -f1)
    test "$(sql "SELECT sha256 FROM checkpoints WHERE step = 6")" = "$want"
    test "$(sql "SELECT bytes FROM checkpoints WHERE step = 6")" -eq \
         "$(find "$dir" -type f -exec cat {} + | wc -c)"
    # show: the best val NLL with its unit, and each checkpoint's fate
    mainline show main-attn-seed-0 >show.out
    cat show.out
    best=$(sql "SELECT printf('%.4f', min(value)) FROM metrics WHERE name = 'val_nll'")
    grep -q "^val NLL    $best nats/token (best, at step [246])\$" show.out
    grep -q "^accuracy   -\$" show.out
    grep -q "^        1     2  deleted (keep) .* checkpoints/step-2\$" show.out
    grep -q "^        1     6  kept .* $want  checkpoints/step-6\$" show.out
    mainline show --json main-attn-seed-0 >show.json
    python3 -c '
import json
d = json.load(open("show.json"))
assert [(c["step"], c["state"]) for c in d["checkpoints"]] == [(2, "deleted"), (4, "deleted"), (6, "kept")], d["checkpoints"]
assert d["checkpoints"][2]["sha256"] == "'"$want"'"
assert abs(d["best_val_nll"] - '"$best"') < 1e-4 and d["accuracy"] is None, d
assert d["stderr_tail"] is None and d["fail_reason"] is None
'
    # runs: the same number in its VAL_NLL column
    mainline runs >runs.out
    test "$(tail -n 1 runs.out | awk '{ print $(NF - 1), $NF }')" = "$best -"
    # the job's supervisor hashed what was kept (checkpoints.sha256): the same digest
    run=runs/keep/main-attn-seed-0
    bytes=$(sql "SELECT bytes FROM checkpoints WHERE step = 6")
    printf '%s  %s  %s\n' "$want" "$bytes" checkpoints/step-6 >want.sha
    test_cmp want.sha $run/checkpoints.sha256
EOF

# The end of a run recorded again as a dead orchestrator's restart records it
# (reconcile.c): its checkpoints unsettled, the run `running` with its dead pid.
unsettle() {
    sql "UPDATE runs SET state = 'running';
         UPDATE checkpoints SET kept = NULL, checked_at = NULL, sha256 = NULL" &&
    run_rc 0 mainline run keep &&
    grep -q "main-attn-seed-0 finished while no orchestrator watched: done" out
}

test_body 'the orchestrator takes the job'"'"'s digests, and hashes itself without them' <<\EOF
    builtin_sweep keep "rank: 4, alpha: 8, lr: 0.005, batch_size: 8, max_steps: 4,
        train_rows: 48, valid_rows: 16, eval_at: [2, end], keep: last" \
        "condition: [attn], seed: [0]"
    run_rc 0 mainline run keep
    run=runs/keep/main-attn-seed-0
    real=$(sql "SELECT sha256 FROM checkpoints WHERE step = 4")
    bytes=$(sql "SELECT bytes FROM checkpoints WHERE step = 4")
    test "$(printf '%s' "$real" | grep -c '^[0-9a-f]\{64\}$')" -eq 1
    # a digest no checkpoint has, of the size on disk: taken as it is, nothing read
    fake=$(printf 'a%.0s' $(seq 64))
    printf '%s  %s  checkpoints/step-4\n' "$fake" "$bytes" >$run/checkpoints.sha256
    unsettle
    test "$(sql "SELECT kept, sha256 FROM checkpoints ORDER BY step")" = "0|
1|$fake"
    # the size changed since the job hashed it: hashed again here
    printf '%s  %s  checkpoints/step-4\n' "$fake" $((bytes + 1)) >$run/checkpoints.sha256
    unsettle
    test "$(sql "SELECT sha256 FROM checkpoints WHERE step = 4")" = "$real"
    # no checkpoints.sha256 (an older run directory, a supervisor that died): hashed here
    rm $run/checkpoints.sha256
    unsettle
    test "$(sql "SELECT kept, sha256 FROM checkpoints ORDER BY step")" = "0|
1|$real"
EOF

test_done
