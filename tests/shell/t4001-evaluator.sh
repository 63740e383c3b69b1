#!/bin/sh
# t4001: bin/mainline-eval run directly with an eval.json written by hand as
# docs/protocol.md describes: the base model (the baseline) and checkpoints that
# bin/mainline-train writes in the test (a LoRA adapter, changed tensors);
# byte-identical predictions twice and whatever the batch size and threads; the
# retention NLL equals the trainer's val_nll of the same weights; probes; the
# standalone --nll and --complete forms; bad inputs (missing checkpoint, an adapter for another
# model, a benchmark row without an answer, a bad config) with their exit
# statuses; and on llama2.c's stories260K (skipped where absent: lib.sh)
# greedy text from "Once upon a time" made of English words.
. "$(dirname "$0")/lib.sh"

case "${BINDIR:-bin}" in
/*) BIN=$BINDIR ;;
*) BIN=$TOP/${BINDIR:-bin} ;;
esac
EVAL=$BIN/mainline-eval
TRAINER=$BIN/mainline-train
TINY="$TOP/sweeps/models/tiny-base/model.safetensors"
DATA="$TOP/sweeps/data"
export EVAL TRAINER TINY DATA STORIES

# eval_config FILE EVALUATION [CHECKPOINT [MODEL [BENCH]]]: an eval.json.
eval_config() {
    cat >"$1" <<EOF
{"protocol": 1, "sweep": "t4001", "run": null, "attempt": 1,
 "step": null, "checkpoint": ${3:-null},
 "base_model": {"path": "${4:-$TINY}"},
 "datasets": {"bench": {"path": "${5:-$DATA/arith-test.jsonl}"},
              "valid": {"path": "$DATA/arith-valid.jsonl"}},
 "evaluation": {$2}}
EOF
}

ARITH='"dataset": "bench", "max_new_tokens": 24, "extract": "regex",
       "pattern": "#### (-?[0-9.,]+)", "limit": 20'
export ARITH

# train DIR PARAMS: a checkpoint of tiny-base at DIR/checkpoints/step-12.
train() {
    mkdir -p "$1"
    cat >"$1/config.json" <<EOF
{"protocol": 1, "sweep": "t4001", "run": "r", "attempt": 1, "resume": false,
 "params": {"lr": 0.01, "batch_size": 8, "max_steps": 12, "eval_at": ["end"], $2},
 "base_model": {"path": "$TINY"},
 "datasets": {"train": {"path": "$DATA/arith-train.jsonl"},
              "valid": {"path": "$DATA/arith-valid.jsonl"}}}
EOF
    "$TRAINER" --config "$1/config.json" --run-dir "$1" --threads 1 >/dev/null
    test -d "$1/checkpoints/step-12"
}

# field FILE KEY: KEY of the last eval event in FILE (compact JSON).
field() {
    grep '^{"event":"eval"' "$1" | sed -n '$p' | sed -n "s/.*[{,]\"$2\":\([^,}]*\).*/\1/p"
}

test_body 'the baseline: predictions, a summary event, the same bytes twice' <<\EOF
    eval_config eval.json "$ARITH"
    run_rc 0 "$EVAL" --config eval.json --out a --threads 1
    grep -q '^eval: bench: [0-9]*/20 correct' out
    test "$(wc -l <a/predictions.jsonl)" -eq 20
    test "$(field a/metrics.jsonl n)" -eq 20
    test "$(field a/metrics.jsonl dataset)" = '"bench"'
    test "$(field a/metrics.jsonl step)" = null
    python3 - a/predictions.jsonl "$DATA/arith-test.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = ["id", "prompt_sha256", "output", "extracted", "gold", "correct",
        "extraction_failed", "tokens", "finish"]
for i, r in enumerate(rows):
    assert list(r) == keys, list(r)
    assert r["id"] == str(i)
    assert len(r["prompt_sha256"]) == 64
    assert r["extraction_failed"] == (r["extracted"] is None)
    assert 1 <= r["tokens"] <= 24
# gold answers come from the answer field through the contract's regex
gold = [json.loads(l)["answer"].split("#### ")[1] for l in open(sys.argv[2])][:20]
assert [r["gold"] for r in rows] == gold, [r["gold"] for r in rows]
PY
    run_rc 0 "$EVAL" --config eval.json --out b --threads 1
    cmp a/predictions.jsonl b/predictions.jsonl
    test "$(field a/metrics.jsonl correct)" = "$(field b/metrics.jsonl correct)"
EOF

test_body 'a LoRA checkpoint: merged, deterministic, batch-invariant, its val_nll' <<\EOF
    train run '"rank": 4, "alpha": 8, "targets": ["q_proj", "v_proj", "gate_proj", "down_proj"]'
    ck=$PWD/run/checkpoints/step-12
    test -f "$ck/adapter_model.safetensors"
    eval_config base.json "$ARITH"
    eval_config eval.json "$ARITH, \"retention\": \"valid\", \"probes\": [\"Hello\", \"2 + 2 =\"]" "\"$ck\""
    run_rc 0 "$EVAL" --config base.json --out base --threads 1
    run_rc 0 "$EVAL" --config eval.json --out b32 --threads 1
    # the adapter changes what the model says
    refute cmp -s base/predictions.jsonl b32/predictions.jsonl
    for opt in "--batch 1" "--batch 3" "--batch 8 --threads 2" "--batch 64"; do
        run_rc 0 "$EVAL" --config eval.json --out other --threads 1 $opt
        cmp b32/predictions.jsonl other/predictions.jsonl
        cmp b32/probes.jsonl other/probes.jsonl
        rm -r other
    done
    # retention: the trainer's validation NLL of these weights (merged vs not: close)
    want=$(grep '"event":"val"' run/metrics.jsonl | sed -n 's/.*"nll":\([^,}]*\).*/\1/p')
    got=$(field b32/metrics.jsonl retention_nll)
    echo "val_nll $want, retention_nll $got"
    python3 -c "import sys; assert abs($want - $got) < 1e-4"
    test "$(field b32/metrics.jsonl retention_tokens)" -eq 3720
    test "$(field b32/metrics.jsonl probes)" -eq 2
    test "$(wc -l <b32/probes.jsonl)" -eq 2
    python3 - b32/probes.jsonl <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["idx"] for r in rows] == [0, 1] and rows[0]["prompt"] == "Hello", rows
assert all(r["tokens"] >= 1 for r in rows)
PY
    # the standalone form gives the same number
    "$EVAL" --nll "$DATA/arith-valid.jsonl" --base-model "$TINY" --checkpoint "$ck" >nll.out
    cat nll.out
    python3 -c "import json; d = json.load(open('nll.out'))
assert abs(d['nll'] - $got) < 1e-6 and d['tokens'] == 3720, d"
EOF

test_body 'changed tensors (partial fine-tuning) replace the base ones' <<\EOF
    train run '"train": [{"blocks": [1]}, "norm"]'
    ck=$PWD/run/checkpoints/step-12
    test -f "$ck/model.safetensors"
    eval_config base.json "$ARITH"
    eval_config eval.json "$ARITH, \"retention\": \"valid\"" "\"$ck\""
    run_rc 0 "$EVAL" --config base.json --out base --threads 1
    run_rc 0 "$EVAL" --config eval.json --out a --threads 1
    refute cmp -s base/predictions.jsonl a/predictions.jsonl
    want=$(grep '"event":"val"' run/metrics.jsonl | sed -n 's/.*"nll":\([^,}]*\).*/\1/p')
    python3 -c "assert abs($want - $(field a/metrics.jsonl retention_nll)) < 1e-5"
EOF

test_body 'scoring: exact match after extraction, failures counted apart' <<\EOF
    # a model that knows four answers by heart (full fine-tuning overfits them)
    cat >four.jsonl <<X
{"prompt": "2 + 3 =", "completion": " 5"}
{"prompt": "Name a red fruit:", "completion": " apple"}
{"prompt": "Capital of France?", "completion": " Paris"}
{"prompt": "Opposite of up:", "completion": " down"}
X
    mkdir -p run
    cat >run/config.json <<X
{"protocol": 1, "sweep": "t4001", "run": "r", "attempt": 1, "resume": false,
 "params": {"full": true, "lr": 0.01, "warmup_steps": 5, "batch_size": 4, "max_steps": 100,
            "eval_at": ["end"]},
 "base_model": {"path": "$TINY"},
 "datasets": {"train": {"path": "$PWD/four.jsonl"}, "valid": {"path": "$PWD/four.jsonl"}}}
X
    "$TRAINER" --config run/config.json --run-dir run --threads 1 >/dev/null
    ck="\"$PWD/run/checkpoints/step-100\""
    {   echo '{"id": "right", "prompt": "2 + 3 =", "expected_answer": "5"}'
        echo '{"id": "wrong", "prompt": "2 + 3 =", "expected_answer": "6"}'
        echo '{"id": "nonum", "prompt": "Name a red fruit:", "expected_answer": "1"}'
    } >b1.jsonl
    eval_config eval.json '"dataset": "bench", "max_new_tokens": 8, "extract": "last_number"' \
        "$ck" "$TINY" "$PWD/b1.jsonl"
    run_rc 0 "$EVAL" --config eval.json --out a --threads 1
    cat a/predictions.jsonl
    test "$(field a/metrics.jsonl n)" -eq 3
    test "$(field a/metrics.jsonl correct)" -eq 1
    test "$(field a/metrics.jsonl extraction_failures)" -eq 1
    grep -q '"id":"right",.*"output":" 5","extracted":"5","gold":"5","correct":true,"extraction_failed":false' a/predictions.jsonl
    grep -q '"id":"wrong",.*"extracted":"5","gold":"6","correct":false,"extraction_failed":false' a/predictions.jsonl
    grep -q '"id":"nonum",.*"output":" apple","extracted":null,"gold":"1","correct":false,"extraction_failed":true' a/predictions.jsonl
    # a regex extractor on the same kind of output
    echo '{"id": "paris", "prompt": "Capital of France?", "expected_answer": "Paris"}' >b2.jsonl
    eval_config re.json '"dataset": "bench", "max_new_tokens": 8, "extract": "regex",
        "pattern": "(apple|Paris)"' "$ck" "$TINY" "$PWD/b2.jsonl"
    run_rc 0 "$EVAL" --config re.json --out r --threads 1
    test "$(field r/metrics.jsonl correct)" -eq 1
    # a benchmark with its own field names, mapped by the sweep's datasets.bench.fields
    echo '{"key": "k1", "q": "2 + 3 =", "ans": "5"}' >b3.jsonl
    cat >fields.json <<X
{"protocol": 1, "sweep": "t4001", "run": null, "attempt": 1, "step": null,
 "checkpoint": $ck, "base_model": {"path": "$TINY"},
 "datasets": {"bench": {"path": "$PWD/b3.jsonl",
                        "fields": {"prompt": "q", "answer": "ans", "id": "key"}}},
 "evaluation": {"dataset": "bench", "max_new_tokens": 8, "extract": "last_number"}}
X
    run_rc 0 "$EVAL" --config fields.json --out f --threads 1
    grep -q '"id":"k1",.*"extracted":"5","gold":"5","correct":true' f/predictions.jsonl
EOF

test_body 'bad inputs: clear errors, exit 2 or 4, nothing written' <<\EOF
    eval_config missing.json "$ARITH" "\"$PWD/no/such/step-3\""
    run_rc 4 "$EVAL" --config missing.json --out m --threads 1
    grep -q "checkpoint '$PWD/no/such/step-3': No such file or directory" err
    test ! -e m/predictions.jsonl
    # a benchmark row without an answer, named by file and line
    { sed -n 1,2p "$DATA/arith-test.jsonl"; echo '{"question": "What is 1 + 1?"}'; } >b.jsonl
    eval_config noanswer.json "$ARITH" null "$TINY" "$PWD/b.jsonl"
    run_rc 4 "$EVAL" --config noanswer.json --out m --threads 1
    grep -q "b.jsonl:3: no answer to score against" err
    test ! -e m/predictions.jsonl
    # an adapter whose tensors do not fit its config (r 4 declared as r 8)
    train run '"rank": 4, "alpha": 8'
    cp -r run/checkpoints/step-12 wrong
    sed -i 's/"r": 4/"r": 8/' wrong/adapter_config.json
    eval_config wrong.json "$ARITH" "\"$PWD/wrong\""
    run_rc 4 "$EVAL" --config wrong.json --out m --threads 1
    cat err
    grep -q "adapter_model.safetensors.*lora_A" err
    # config mistakes: exit 2
    eval_config bad.json '"dataset": "bench", "extract": "regex", "pattern": "(["'
    run_rc 2 "$EVAL" --config bad.json --out m --threads 1
    eval_config bad.json '"dataset": "nope"'
    run_rc 2 "$EVAL" --config bad.json --out m --threads 1
    grep -q "datasets.nope.path: missing" err
    run_rc 2 "$EVAL" --config eval.json --threads 0
    run_rc 2 "$EVAL" --bogus x
    test ! -e m/predictions.jsonl
EOF

test_body '--complete: rows counted, one JSON line; bad rows named by line' <<\EOF
    printf '%s\n' '{"prompt": "12 + 7 =", "completion": " 19"}' \
        '{"prompt": "Tom has 3 pens.", "completion": " x"}' >c.jsonl
    run_rc 0 "$EVAL" --complete c.jsonl --base-model "$TINY" --threads 2
    cat out
    grep -q '^{"dataset":"c.jsonl","n":2,"correct":[0-2],"accuracy":[0-9.]*}$' out
    cp out first
    run_rc 0 "$EVAL" --complete c.jsonl --base-model "$TINY" --threads 1
    test_cmp first out
    printf '%s\n' '{"prompt": "a", "completion": "b"}' '{"prompt": "a", "completion": "b\nc"}' >bad.jsonl
    run_rc 4 "$EVAL" --complete bad.jsonl --base-model "$TINY"
    grep -q 'bad.jsonl:2: the completion must be one line' err
    printf '%s\n' '{"prompt": "a"}' >bad.jsonl
    run_rc 4 "$EVAL" --complete bad.jsonl --base-model "$TINY"
    grep -q 'bad.jsonl:1: needs string "prompt" and "completion"' err
    run_rc 2 "$EVAL" --complete c.jsonl
    grep -q -- '--complete needs --base-model' err
    run_rc 2 "$EVAL" --complete c.jsonl --nll c.jsonl --base-model "$TINY"
EOF

if have_stories "stories260K: an adapter for another model, greedy text"; then
test_body 'an adapter for another base model is refused, naming the file and tensor' <<\EOF
    train run '"rank": 4, "alpha": 8'
    eval_config other.json "$ARITH" "\"$PWD/run/checkpoints/step-12\"" "$STORIES"
    run_rc 4 "$EVAL" --config other.json --out m --threads 1
    cat err
    grep -q "adapter_model.safetensors.*q_proj.lora_A.weight" err
EOF

test_body 'stories260K: greedy text from "Once upon a time" is English' <<\EOF
    printf '%s\n' '{"text": "x", "prompt": "Once upon a time", "expected_answer": "x"}' >s.jsonl
    eval_config s.json '"dataset": "bench", "max_new_tokens": 120, "extract": "last_number",
        "probes": ["Once upon a time", "Tom and Lily"]' null "$STORIES" "$PWD/s.jsonl"
    run_rc 0 "$EVAL" --config s.json --out s --threads 1
    cat s/probes.jsonl
    python3 - s/probes.jsonl <<'PY'
import json, re, sys
common = set("""a an the and but so then he she it they them his her their was were is
are had has have to of in on at with for from up down out into one day little big girl boy
named lily tom ben sue mom mommy dad daddy friend friends park play played playing saw see
said says wanted want loved liked love like happy sad very time there once upon went go
going came come ran run look looked found find toy ball tree dog cat bird fun smiled
smile felt not no yes you i we me my your what can could would will did do all too together
sky sun car box house home new good nice red blue help helped asked back away""".split())
for r in map(json.loads, open(sys.argv[1])):
    words = re.findall(r"[a-z]+", r["output"].lower())
    known = sum(w in common for w in words)
    print(len(words), "words,", known, "common")
    assert len(words) >= 15, r
    assert known >= 0.4 * len(words), r
    assert len(set(words)) >= 8, r   # not one word repeated
PY
EOF
fi

test_done
