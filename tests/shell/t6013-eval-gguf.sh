#!/bin/sh
# t6013: the built-in evaluator reads GGUF (model/gguf_read.c) and decodes q8_0 and q4_0
# in their blocks (model/qmatmul.h). Without llama.cpp: mainline-eval --config runs
# with a .gguf as base_model.path, the trainer and export refuse one, tokenize reads its
# vocabulary. With llama.cpp
# (node-llama-cpp's prebuilt CPU binaries, pinned by scripts/npm-llama.sh; a `skip:`
# line where node, npm or the registry is missing): `mainline-eval --logits` and
# llama.cpp's logits at every position of the same ids (prompts and 24 tokens greedily
# continued), on the f32, q8_0 and q4_0 exports of the demo base model and, when
# ../shared has it, stories260K. Prints max |diff| and argmax agreement per file (and,
# for q8_0/q4_0, mainline on the float32 decoding of the same weights, for comparison);
# fails over the bounds below (docs/export.md has the measured values).
. "$(dirname "$0")/lib.sh"

case "${BINDIR:-bin}" in
/*) BIN=$BINDIR ;;
*) BIN=$TOP/${BINDIR:-bin} ;;
esac
EVAL=$BIN/mainline-eval
TRAINER=$BIN/mainline-train
JS="$TOP/tests/js"
CMP="$TOP/tests/shell/logits-compare.py"
DEMO="$TOP/sweeps/models/demo-base"
DATA="$TOP/sweeps/data"
export EVAL TRAINER JS CMP DEMO DATA

test_body 'mainline-eval --config with a GGUF base model; the trainer and export refuse one' <<\EOF
    mainline export --model "$DEMO" --format gguf --quant q4_0 -o demo.gguf >/dev/null
    cat >eval.json <<X
{"protocol": 1, "sweep": "t6013", "run": null, "attempt": 1, "step": null, "checkpoint": null,
 "base_model": {"path": "$PWD/demo.gguf"},
 "datasets": {"bench": {"path": "$DATA/arith-test.jsonl"}},
 "evaluation": {"dataset": "bench", "max_new_tokens": 8, "extract": "regex",
                "pattern": "#### (-?[0-9.,]+)", "limit": 4}}
X
    "$EVAL" --config eval.json --out a --threads 1 >out 2>err
    grep -q '^eval: bench: [0-9]*/4 correct' out
    test "$(wc -l <a/predictions.jsonl)" -eq 4
    cat >train.json <<X
{"protocol": 1, "sweep": "t6013", "run": "r", "attempt": 1, "resume": false,
 "params": {"lr": 0.01, "batch_size": 2, "max_steps": 1},
 "base_model": {"path": "$PWD/demo.gguf"},
 "datasets": {"train": {"path": "$DATA/arith-train.jsonl"}}}
X
    mkdir run
    expect_exit 2 "$TRAINER" --config train.json --run-dir run --threads 1 2>err
    grep -q "demo.gguf is a GGUF file: GGUF is read for evaluation only" err
    # nor does export read one; mainline tokenize uses the file's vocabulary
    expect_exit 1 "$MAINLINE" export --model demo.gguf --format hf -o back 2>err
    grep -q "is a GGUF file: mainline-eval reads GGUF, export does not" err
    test ! -e back
    printf 'Hi there' | "$MAINLINE" tokenize demo.gguf >ids
    test "$(cat ids)" = "[72,105,32,116,104,101,114,101]"
EOF

if ! npm_dir=$(sh "$TOP/scripts/npm-llama.sh" 2>"$SCRATCH/npm.err"); then
    skip t6013 "llama.cpp from npm is not available here: $(tail -n 1 "$SCRATCH/npm.err")"
    test_done
    exit $?
fi
NODE_PATH="$npm_dir/node_modules"
export NODE_PATH

# compare_model NAME MODEL PROMPTS: export MODEL as f32, q8_0 and q4_0 GGUF, and compare
# mainline-eval's logits with llama.cpp's on each; the summary lines go to $SCRATCH/NAME.
compare_model() {
    name=$1 model=$2 prompts=$3
    for q in f32 q8_0 q4_0; do
        mainline export --model "$model" --format gguf --quant $q -o $q.gguf >/dev/null
    done
    "$EVAL" --greedy "$prompts" --base-model f32.gguf --max-new-tokens 24 |
        python3 -c 'import json, sys
for l in sys.stdin:
    r = json.loads(l)
    print(json.dumps({"ids": r["prompt_ids"] + r["ids"]}))' >ids.jsonl
    node "$JS/gguf-logits.mjs" ids.jsonl f32.gguf llama-f32.jsonl q8_0.gguf llama-q8_0.jsonl \
        q4_0.gguf llama-q4_0.jsonl </dev/null
    for q in f32 q8_0 q4_0; do
        "$EVAL" --logits ids.jsonl --base-model $q.gguf >ml-$q.jsonl
    done
    {
        # f32: only float rounding apart (llama.cpp's RoPE angles, its sum orders)
        python3 "$CMP" ml-f32.jsonl llama-f32.jsonl "$name f32" 0.1 95
        # q8_0/q4_0: both round the activations to 8 bits inside the products
        python3 "$CMP" ml-q8_0.jsonl llama-q8_0.jsonl "$name q8_0" 1.0 90
        python3 "$CMP" ml-q4_0.jsonl llama-q4_0.jsonl "$name q4_0" 1.0 90
        for q in q8_0 q4_0; do   # for comparison: the float32 decoding of the weights
            mainline export --model "$model" --format hf --quant $q -o hf-$q >/dev/null
            "$EVAL" --logits ids.jsonl --base-model hf-$q >mlf-$q.jsonl
            python3 "$CMP" mlf-$q.jsonl llama-$q.jsonl "$name $q weights as float32" 1.0 90
        done
    } >"$SCRATCH/$name.summary"
}

# One product alone: a model whose layer adds nothing (tests/shell/make_head_model.py), so
# each logit is the tied q8_0/q4_0 head times the normed embedding of its token.
test_body 'one product alone: the quantised head, mainline-eval against llama.cpp' <<\EOF
    python3 "$TOP/tests/shell/make_head_model.py" head
    mainline export --model head --format gguf --quant q8_0 -o q8_0.gguf >/dev/null
    mainline export --model head --format gguf --quant q4_0 -o q4_0.gguf >/dev/null
    cat >ids.jsonl <<'X'
{"ids": [256, 72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100]}
{"ids": [256, 49, 50, 51]}
X
    node "$JS/gguf-logits.mjs" ids.jsonl q8_0.gguf llama-q8_0.jsonl q4_0.gguf llama-q4_0.jsonl \
        </dev/null
    "$EVAL" --logits ids.jsonl --base-model q8_0.gguf >ml-q8_0.jsonl
    "$EVAL" --logits ids.jsonl --base-model q4_0.gguf >ml-q4_0.jsonl
    {
        # q8_0: the same activation blocks and integer dots as llama.cpp: equal to 1e-4
        python3 "$CMP" ml-q8_0.jsonl llama-q8_0.jsonl "head q8_0" 1e-4 100 100
        # q4_0: equal where llama.cpp's batched q4_0 path agrees with its own other rows
        python3 "$CMP" ml-q4_0.jsonl llama-q4_0.jsonl "head q4_0" 0.5 90 25
    } >"$SCRATCH/head.summary"
EOF
sed 's/^/    /' "$SCRATCH/head.summary" 2>/dev/null

test_body 'the demo base model: mainline-eval and llama.cpp logits on the same GGUF' <<\EOF
    cat >prompts.jsonl <<'X'
{"prompt": "Ana has 4 apples and buys 3 more."}
{"prompt": "The number 123 plus 456 is"}
{"prompt": "Mia reads 20 pages on Monday and 15 pages on Tuesday."}
X
    compare_model demo "$DEMO" prompts.jsonl
EOF
sed 's/^/    /' "$SCRATCH/demo.summary" 2>/dev/null

if have_stories t6013-stories; then
    export STORIES
    test_body 'stories260K: mainline-eval and llama.cpp logits on the same GGUF' <<\EOF
    cat >prompts.jsonl <<'X'
{"prompt": "Once upon a time"}
{"prompt": "Lily went to the park and"}
{"prompt": "Sara was sad because"}
X
    compare_model stories "$STORIES" prompts.jsonl
EOF
    sed 's/^/    /' "$SCRATCH/stories.summary" 2>/dev/null
fi

test_done
