#!/bin/sh
# t6011: `mainline export` of a finished sweep (the built-in trainer and evaluator on
# tiny-base, LoRA, a chatml rendering contract with a system prompt and stop strings):
# without RUN the mainline's best run, as an Ollama directory whose Modelfile, read by
# Ollama's documented grammar (tests/shell/modelfile-check.py; Ollama is not run),
# prompts exactly as `mainline data render` shows the sweep prompting, with the
# declared stops; with RUN that run's selected checkpoint as a Hugging Face directory
# that mainline-eval decodes exactly as the base model with the checkpoint applied; a
# sweep without a mainline refused with the reason, nothing written; the plain and
# llama2 templates through --model; the GGUF's chat template (tokenizer.chat_template, run
# by @huggingface/jinja) renders chats, with and without their own system message, as
# mainline renders a "messages" row.
. "$(dirname "$0")/lib.sh"

case "${BINDIR:-bin}" in
/*) EVAL=${EVAL:-${BINDIR}/mainline-eval} ;;
*) EVAL=${EVAL:-$TOP/${BINDIR:-bin}/mainline-eval} ;;
esac
MFCHECK="$TOP/tests/shell/modelfile-check.py"
export EVAL MFCHECK

# sweep NAME MAINLINE: NAME.yaml (2 conditions x 2 seeds, 6 steps), planned and run.
sweep() {
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" .
    cat >"$1.yaml" <<YAML
sweep: $1
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
grid: {condition: [attn, mlp], seed: [0, 1]}
render: {template: chatml, system: "You are a careful \"calculator\"."}
evaluation: {dataset: bench, max_new_tokens: 16, extract: regex, pattern: "#### (-?[0-9.,]+)",
             baseline: true, limit: 8, stop: ["\n\n", "####"]}
selection: {checkpoint: min(val_nll)}
$2
YAML
    mainline plan "$1.yaml" >plan.out
    mainline run -q -j 2 "$1" >run.out 2>&1 || { cat run.out; return 1; }
}

printf '{"prompt": "Fatima has 32 marbles"}\n{"prompt": "<|im_start|>user\\n2 + 2 =<|im_end|>"}\n' \
    >"$SCRATCH/prompts.jsonl"

test_body 'the mainline as an Ollama directory prompting as the sweep did' <<\EOF
    sweep sx "mainline: {usable: {max_adapter_mb: 100}}"
    mainline select sx | grep -q '^\*\*Mainline:\*\* mainline: attn'
    run_rc 0 mainline export sx --format ollama --quant q8_0 -o deploy
    cat out
    # every selected accuracy ties (an untrained tiny model): the first attn run
    grep -q "^exported sweep sx v1, run main-attn-seed-0, step [0-9]*, rules [0-9a-f]* as ollama q8_0: deploy, [0-9]* bytes" out
    ls -A deploy >files
    printf 'Modelfile\nmodel.gguf\n' >expect
    test_cmp expect files
    test "$(head -c 4 deploy/model.gguf)" = GGUF
    cat deploy/Modelfile
    mainline data render data/arith-test.jsonl --sweep sx.yaml --row 1 >rendered
    python3 "$MFCHECK" deploy/Modelfile rendered 'You are a careful "calculator".' \
        '["<|im_end|>", "\n\n", "####"]' 16 data/arith-test.jsonl
    grep -q "^# written by mainline export: sweep sx v1, run main-attn-seed-0" deploy/Modelfile
    # the same again is refused: an export never replaces
    run_rc 1 mainline export sx --format ollama -o deploy
    grep -q "error: 'deploy' already exists" err
EOF

test_body 'a run as a Hugging Face directory decodes as base + checkpoint does' <<\EOF
    sweep sx "mainline: {usable: {max_adapter_mb: 100}}"
    run_rc 0 mainline export sx main-mlp-seed-1 --format hf -o hf
    cat out
    step=$(sed -n 's/.*run main-mlp-seed-1, step \([0-9]*\),.*/\1/p' out)
    best=$(sql "SELECT m.step FROM metrics m JOIN runs r ON r.id = m.run
                WHERE r.run_id = 'main-mlp-seed-1' AND m.name = 'val_nll'
                ORDER BY m.value, m.step LIMIT 1")
    check_eq "the checkpoint min(val_nll) selects" "$best" "$step"
    ls hf >files
    printf 'config.json\nmodel.safetensors\n' >expect
    test_cmp expect files
    grep -q '"tokenizer": "bytes"' hf/config.json
    "$EVAL" --greedy "$SCRATCH/prompts.jsonl" --base-model hf --max-new-tokens 40 >exported.jsonl
    "$EVAL" --greedy "$SCRATCH/prompts.jsonl" --base-model models/tiny-base/model.safetensors \
        --checkpoint runs/sx/main-mlp-seed-1/checkpoints/step-$step --max-new-tokens 40 >merged.jsonl
    test_cmp merged.jsonl exported.jsonl
    refute cmp -s hf/model.safetensors models/tiny-base/model.safetensors
    # a quantised hf export: other weights, the same layout
    run_rc 0 mainline export sx main-mlp-seed-1 --format hf --quant q4_0 -o hf-q4
    refute cmp -s hf/model.safetensors hf-q4/model.safetensors
    test "$(wc -c <hf/model.safetensors)" -eq "$(wc -c <hf-q4/model.safetensors)"
    run_rc 1 mainline export sx main-nope-seed-9 --format hf -o x
    grep -q "sweep 'sx' has no run 'main-nope-seed-9'" err
    test ! -e x
EOF

test_body 'no mainline: refused with the reason, nothing written' <<\EOF
    sweep sy ""
    run_rc 1 mainline export sy --format gguf -o m.gguf
    cat err
    grep -q "error: sweep 'sy' has no mainline to export (no mainline rules declared); export one run with 'mainline export sy RUN" err
    sweep sz "mainline: {usable: {min_eval_tok_per_s: 1.0e12}}"
    run_rc 1 mainline export sz --format gguf -o m.gguf
    cat err
    grep -q "error: sweep 'sz' has no mainline to export (no mainline: none of 2 candidates passes every layer" err
    ls -A | grep -v '^\(data\|models\|runs\|mainline.db.*\|s[yz].yaml\|plan.out\|run.out\|out\|err\)$' \
        >"$SCRATCH/left" || :
    must_be_empty "$SCRATCH/left"
    run_rc 1 mainline export nosuch --format gguf -o m.gguf
    grep -q "no sweep named 'nosuch'" err
    run_rc 129 mainline export sy main-attn-seed-0 --format hf --template chatml -o x
EOF

test_body 'plain and llama2 contracts: the Modelfile prompts as mainline renders' <<\EOF
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" .
    for t in plain llama2; do
        cat >$t.yaml <<YAML
sweep: $t
base_model: models/tiny-base/model.safetensors
datasets: {train: data/arith-train.jsonl, bench: data/arith-test.jsonl}
render: {template: $t, system: "Think step by step.\n  Then answer."}
evaluation: {dataset: bench, stop: ["Question:"]}
grid: {seed: [0]}
YAML
        mainline export --model models/tiny-base --format ollama --quant f16 --template $t \
            --system "$(printf 'Think step by step.\n  Then answer.')" -o $t >/dev/null
        mainline data render data/arith-test.jsonl --sweep $t.yaml --row 2 >rendered
        sed -n 2p data/arith-test.jsonl >row
        python3 "$MFCHECK" $t/Modelfile rendered "$(printf 'Think step by step.\n  Then answer.')" \
            '[]' "" row
    done
    # what a Modelfile cannot carry is refused, and nothing is left
    run_rc 1 mainline export --model models/tiny-base --format ollama --system 'a """ b' -o bad
    grep -q 'holds """' err
    test ! -e bad
EOF

if npm_dir=$(sh "$TOP/scripts/npm-llama.sh" 2>"$SCRATCH/npm.err"); then
    NODE_PATH="$npm_dir/node_modules"
    export NODE_PATH
    test_body 'the GGUF chat template renders chats as the rendering contract does' <<\EOF
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" .
    cat >chats.jsonl <<'X'
{"messages": [{"role": "user", "content": "What is 2 + 2?"}, {"role": "assistant", "content": "4"}, {"role": "user", "content": "And  3 + 3?\n"}, {"role": "assistant", "content": "6"}]}
{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
X
    for t in chatml plain llama2; do
        for sys in "" "Think step by step.
  Then \"answer\"."; do
            cat >$t.yaml <<YAML
sweep: $t
base_model: models/tiny-base/model.safetensors
datasets: {train: chats.jsonl}
grid: {seed: [0]}
YAML
            if [ -n "$sys" ]; then
                printf 'render: {template: %s, system: "Think step by step.\\n  Then \\"answer\\"."}\n' \
                    $t >>$t.yaml
                mainline export --model models/tiny-base --format gguf --template $t \
                    --system "$sys" -o $t.gguf >/dev/null
            else
                printf 'render: {template: %s}\n' $t >>$t.yaml
                mainline export --model models/tiny-base --format gguf --template $t \
                    -o $t.gguf >/dev/null
            fi
            for row in 1 2; do
                mainline data render chats.jsonl --sweep $t.yaml --row $row >rendered
                python3 - $row >msgs.json <<'PY'
import json, sys
row = [json.loads(l) for l in open("chats.jsonl")][int(sys.argv[1]) - 1]["messages"]
last = max(i for i, m in enumerate(row) if m["role"] == "assistant")
print(json.dumps(row[:last]))
PY
                node "$TOP/tests/js/chat-template.mjs" $t.gguf msgs.json </dev/null >jinja
                python3 - <<'PY'
import importlib.util, os
spec = importlib.util.spec_from_file_location("m", os.environ["MFCHECK"])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
want, got = m.rendered_prompt("rendered"), open("jinja").read()
assert got == want, (got, want)
PY
            done
            rm $t.gguf
        done
    done
    # a system prompt in Jinja's own syntax is refused
    run_rc 1 mainline export --model models/tiny-base --format gguf --system 'a {{ b }}' -o x.gguf
    grep -q "Jinja" err
    test ! -e x.gguf
EOF
else
    skip t6011-chat-template "no @huggingface/jinja from npm here: $(tail -n 1 "$SCRATCH/npm.err")"
fi

test_done
