#!/bin/sh
# t4002: `mainline run` of a sweep with the built-in trainer AND the built-in
# evaluator (no trainer: or evaluator: section): every run trained, the checkpoint
# the selection rule points at evaluated, the base model once (the baseline), each
# evaluation's summary in `evals` and its examples in `predictions`; retention in
# the summary (evals.summary), probe answers in probes.jsonl and probe_answers.
. "$(dirname "$0")/lib.sh"

test_body 'built-in trainer and evaluator: evals and predictions recorded' <<\EOF
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" .
    cat >t4002.yaml <<'YAML'
sweep: t4002
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
  valid: data/arith-valid.jsonl
  bench: data/arith-test.jsonl
conditions:
  attn: {adapter: lora, targets: [q_proj, v_proj]}
  mlp:  {adapter: lora, targets: [gate_proj, up_proj, down_proj]}
defaults: {rank: 4, alpha: 8, lr: 0.01, batch_size: 8, max_steps: 6, train_rows: 48,
           valid_rows: 16, eval_at: [3, end]}
grid: {condition: [attn, mlp], seed: [0]}
evaluation: {dataset: bench, max_new_tokens: 16, extract: regex, pattern: "#### (-?[0-9.,]+)",
             baseline: true, limit: 12, retention: valid, probes: [Hello, "2 + 2 ="]}
selection: {checkpoint: min(val_nll)}
YAML
    mainline plan t4002.yaml >plan.out
    run_rc 0 mainline run -j 2 t4002
    cat out err
    test "$(sql "SELECT count(*) FROM runs WHERE state = 'done'")" -eq 2
    # two runs and the baseline, each 12 examples
    test "$(sql "SELECT count(*) FROM evals")" -eq 3
    test "$(sql "SELECT count(*) FROM evals WHERE run IS NULL")" -eq 1
    test "$(sql "SELECT count(*) FROM evals WHERE n = 12 AND gen_tokens > 0
                 AND tok_per_s > 0 AND dataset = 'bench'")" -eq 3
    test "$(sql "SELECT count(*) FROM predictions")" -eq 36
    test "$(sql "SELECT count(DISTINCT prompt_sha256) FROM predictions")" -eq 12
    test "$(sql "SELECT count(*) FROM predictions WHERE gold IS NULL OR output IS NULL")" -eq 0
    # the checkpoint evaluated is the one min(val_nll) picks
    for r in main-attn-seed-0 main-mlp-seed-0; do
        best=$(sql "SELECT step FROM metrics m JOIN runs r ON r.id = m.run
                    WHERE r.run_id = '$r' AND m.name = 'val_nll' ORDER BY m.value, m.step LIMIT 1")
        test "$(sql "SELECT e.checkpoint_step FROM evals e JOIN runs r ON r.id = e.run
                     WHERE r.run_id = '$r'")" -eq "$best"
        d=runs/t4002/$r/eval/step-$best
        test "$(wc -l <"$d/probes.jsonl")" -eq 2
        grep -q '"event":"eval".*"retention":"valid","retention_nll":[0-9.]*,"retention_tokens":' \
            "$d/metrics.jsonl"
    done
    test -f runs/t4002/baseline/predictions.jsonl
    # the whole summary and the probe answers are in the registry
    test "$(sql "SELECT count(*) FROM evals WHERE json_extract(summary, '\$.retention_nll') > 0
                 AND json_extract(summary, '\$.retention_tokens') > 0")" -eq 3
    test "$(sql "SELECT count(*) FROM probe_answers")" -eq 6
    test "$(sql "SELECT count(*) FROM probe_answers WHERE idx = 0 AND prompt = 'Hello'
                 AND tokens >= 1")" -eq 3
    no_jobs_left
EOF

test_done
