#!/bin/sh
# t7002: verdicts for sweeps without conditions (issue 16). A rank x lr x seed sweep
# compares its rank x lr cells over seeds (the default compare.by: every swept
# parameter but seed); a user's trainer with no evaluator gets a verdict on its own
# validation metric (compare.metric: min(val_nll)), its bootstrap over seeds alone.
# The Markdown report's verdict, cell table and statements are checked byte for
# byte against t7002/*.md. Fakes: the evaluator's x_eval_per_rank and
# x_eval_lr_penalty make high rank at lr 3e-4 the known best cell; the trainer's
# validation NLL is lowest at lr 3e-4, x_val_seed_jitter makes seeds differ.
. "$(dirname "$0")/lib.sh"

FAKES="$TOP/${BUILD:-build}/tests/fakes"
EXPECT="$TOP/tests/shell/t7002"

# The verdict line, the table of cells and what the result can and cannot say.
decision() {
    awk '/^\*\*Verdict:\*\*/ { print; print ""; next }
         /^### / { keep = ($0 ~ / by .* over / || $0 ~ /^### This result/) }
         keep' "$1"
}

setup() {
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" . 2>/dev/null || :
}

# benchmarked NAME: the head of a sweep on the fake trainer and the fake evaluator.
benchmarked() {
    cat <<EOS
sweep: $1
base_model: models/tiny-base/model.safetensors
datasets: {train: data/arith-train.jsonl, valid: data/arith-valid.jsonl,
           bench: data/arith-test.jsonl}
trainer: {command: [$FAKES/fake_trainer], resume: true}
evaluator: {command: [$FAKES/fake_evaluator, --n, "100", --base-correct, "50"]}
EOS
}

test_body 'rank x lr x seed, no conditions: the best rank x lr cell wins over seeds' <<\EOF
    setup
    benchmarked grid >grid.yaml
    cat >>grid.yaml <<EOS
defaults: {x_steps: 4, x_eval_correct: 60, x_eval_per_rank: 2, x_eval_lr_penalty: 20}
grid: {rank: [4, 8], lr: [1.0e-4, 3.0e-4], seed: [0, 1]}
evaluation: {dataset: bench, baseline: true}
selection: {checkpoint: min(val_nll), compare: {metric: accuracy, winner_threshold: 0.05}}
EOS
    mainline plan grid.yaml >plan.out
    mainline run -q -j 2 grid >run.out 2>&1 || { cat run.out; exit 1; }
    mainline select grid >sel.out
    grep -qx '\*\*Verdict:\*\* winner: lr=3e-4 rank=8 (mean accuracy 0.7600 vs 0.6800 for lr=3e-4 rank=4: gap 0.0800 >= threshold 0.05)' sel.out
    mainline report grid -o report.md
    decision report.md >got
    test_cmp "$EXPECT/grid.md" got
    # one compare row, by both parameters; a seed is paired only within a cell
    test "$(sql "SELECT scope FROM selections WHERE kind = 'compare'")" = "lr, rank over seed"
    mainline report grid -f json -o r.json
    python3 - <<\PY
import json
m = json.load(open("r.json"))
assert m["compare"]["by"] == ["lr", "rank"], m["compare"]
cells = {c["condition"]: c for c in m["conditions"]}
assert len(cells) == 4 and all(c["n"] == 2 for c in cells.values())
assert cells["lr=3e-4 rank=8"]["params"] == {"lr": 0.0003, "rank": 8}
assert len(m["pairs"]) == 6 and all(len(p["seeds"]) == 2 for p in m["pairs"])
PY
EOF

test_body "a user's trainer, no evaluator: a verdict on min(val_nll) over seeds" <<\EOF
    setup
    cat >own.yaml <<EOS
sweep: own
base_model: models/tiny-base/model.safetensors
datasets: {train: data/arith-train.jsonl, valid: data/arith-valid.jsonl}
trainer: {command: [$FAKES/fake_trainer], resume: true}
defaults: {x_steps: 4, x_val_seed_jitter: 5}
grid: {lr: [1.0e-4, 3.0e-4, 1.0e-3], seed: [0, 1, 2]}
selection: {checkpoint: min(val_nll), compare: {metric: min(val_nll), winner_threshold: 0.05}}
EOS
    mainline plan own.yaml >plan.out
    mainline run -q -j 2 own >run.out 2>&1 || { cat run.out; exit 1; }
    mainline select own >sel.out
    grep -qx '\*\*Verdict:\*\* winner: lr=3e-4 (mean val_nll 1.2779 vs 1.7550 for lr=1e-4, lower is better: gap 0.4771 >= threshold 0.05)' sel.out
    grep -qx '| 0 | 1.7500 | 1.2729 | +0.4771 |' sel.out
    mainline report own -o report.md
    decision report.md >got
    test_cmp "$EXPECT/own.md" got
    sql "SELECT json_extract(choice, '$.verdict'), json_extract(choice, '$.winner'),
                json_extract(choice, '$.direction') FROM selections WHERE kind = 'compare'" >got
    echo 'winner|lr=3e-4|min' >want
    test_cmp want got
EOF

test_body 'an explicit by of one parameter, the other fixed: cells by rank' <<\EOF
    setup
    benchmarked one >one.yaml
    cat >>one.yaml <<EOS
defaults: {x_steps: 4, x_eval_correct: 60, x_eval_per_rank: 2, lr: 3.0e-4}
grid: {rank: [4, 8], seed: [0, 1]}
evaluation: {dataset: bench}
selection: {compare: {by: rank, winner_threshold: 0.1}}
EOS
    mainline plan one.yaml >plan.out
    mainline run -q -j 2 one >run.out 2>&1 || { cat run.out; exit 1; }
    mainline select one >sel.out
    grep -qx '\*\*Verdict:\*\* inconclusive (mean accuracy 0.7600 for rank=8 vs 0.6800 for rank=4: gap 0.0800 < threshold 0.1)' sel.out
EOF

test_done
