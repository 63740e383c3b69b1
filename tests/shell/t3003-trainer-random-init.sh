#!/bin/sh
# t3003: mainline-train from scratch (params init: random, model: {...}) and
# --export: a tiny byte-level model trained on a generated corpus lowers its loss;
# two runs with one seed export identical bytes; the exported directory loads as a
# base model with exactly the weights the run ended with (a further run with a
# vanishing learning rate measures the same validation NLL, to the bit); a LoRA
# run's export has its adapter merged; contradictory configs and an existing
# export directory are refused before anything is written. A run given a llama2.c
# tokenizer file (scripts/make-tokenizer.py: whole numbers as tokens) trains with it,
# and its export carries it as tokenizer.bin, loads back, and a misfit is refused.
. "$(dirname "$0")/lib.sh"

case "${BINDIR:-bin}" in
/*) TRAINER=${TRAINER:-${BINDIR}/mainline-train} ;;
*) TRAINER=${TRAINER:-$TOP/${BINDIR:-bin}/mainline-train} ;;
esac
CORPUS_PY="$TOP/scripts/make-pretrain-corpus.py"
TINY="$TOP/sweeps/models/tiny-base"
export TRAINER CORPUS_PY TINY

ARCH='"dim": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "hidden_dim": 64,
      "max_seq_len": 320'

# random_config EXTRA_PARAMS: ./config.json training a new tiny model on ./corpus.jsonl
random_config() {
    cat >config.json <<EOF
{"params": {"init": "random", "model": {$ARCH}, "lr": 0.004, "warmup_steps": 4,
            "batch_size": 16, "max_steps": 40, "report_every": 10, "eval_at": ["end"],
            "keep": "last", "seed": 3 $1},
 "datasets": {"train": {"path": "corpus.jsonl"}, "valid": {"path": "valid.jsonl"}}}
EOF
}

corpus() {
    python3 "$CORPUS_PY" corpus.jsonl --rows 640 --seed 5 &&
    python3 "$CORPUS_PY" valid.jsonl --rows 32 --seed 6
}

# events KIND FIELD: FIELD of every KIND event in ./metrics.jsonl, one a line.
events() {
    grep "^{\"event\":\"$1\"" metrics.jsonl | sed -n "s/.*[{,]\"$2\":\([^,}]*\).*/\1/p"
}

less() {
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'
}

# rescore DIR MODEL BATCH: DIR/metrics.jsonl gets MODEL's validation NLL on ./valid.jsonl.
# Full fine-tuning at lr 1e-30 changes no float, so its one validation sees MODEL as it is.
rescore() {
    mkdir -p "$1"
    cat >"$1/config.json" <<X
{"params": {"full": true, "lr": 1e-30, "max_steps": 1, "batch_size": $3, "eval_at": ["end"]},
 "base_model": {"path": "$2"},
 "datasets": {"train": {"path": "$PWD/corpus.jsonl"}, "valid": {"path": "$PWD/valid.jsonl"}}}
X
    "$TRAINER" --config "$1/config.json" --run-dir "$1" --threads 1 >/dev/null
}

test_body 'a random-init run lowers the loss and exports a complete model directory' <<\EOF
    corpus
    random_config
    run_rc 0 "$TRAINER" --config config.json --run-dir . --threads 1 --export model
    cat out
    grep -q "trainable parameters: 100.000%" out
    first=$(events train loss | sed -n 1p)
    last=$(events train loss | sed -n '$p')
    echo "train loss $first -> $last (ln 260 = 5.56)"
    less "$last" "$(awk -v a="$first" 'BEGIN { print a * 0.75 }')"
    less "$(events val nll)" 3.5
    ls model >files
    printf 'config.json\nmodel.safetensors\n' >expect
    test_cmp expect files
    python3 - <<'PY'
import hashlib, json
c = json.load(open("model/config.json"))
want = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "intermediate_size": 64, "vocab_size": 260,
        "max_position_embeddings": 320, "tie_word_embeddings": True, "bos_token_id": 256,
        "eos_token_id": 257, "pad_token_id": 258, "tokenizer": "bytes"}
for k, v in want.items():
    assert c[k] == v, (k, c[k], v)
ev = [json.loads(l) for l in open("metrics.jsonl")]
ex = [e for e in ev if e["event"] == "export"]
assert len(ex) == 1 and ex[0]["path"] == "model" and ex[0]["step"] == 40, ex
assert ex[0]["sha256"] == hashlib.sha256(open("model/model.safetensors", "rb").read()).hexdigest()
PY
EOF

test_body 'the same seed exports the same bytes; another seed other bytes' <<\EOF
    corpus
    random_config
    mkdir a b c
    "$TRAINER" --config config.json --run-dir a --threads 1 --export a/model >/dev/null
    "$TRAINER" --config config.json --run-dir b --threads 1 --export b/model >/dev/null
    cmp a/model/model.safetensors b/model/model.safetensors
    cmp a/model/config.json b/model/config.json
    sed -e 's/"seed": 3/"seed": 4/' -e 's|"corpus.jsonl"|"../corpus.jsonl"|' \
        -e 's|"valid.jsonl"|"../valid.jsonl"|' config.json >c/config.json
    "$TRAINER" --config c/config.json --run-dir c --threads 1 --export c/model >/dev/null
    refute cmp -s a/model/model.safetensors c/model/model.safetensors
EOF

test_body 'the export loads back as a base model with exactly the final weights' <<\EOF
    corpus
    random_config
    mkdir first
    "$TRAINER" --config config.json --run-dir first --threads 1 --export model >/dev/null
    # the run's own final validation saw the exported weights
    rescore again "$PWD/model" 16
    a=$(grep '"event":"val"' first/metrics.jsonl | sed 's/.*"nll":\([^,]*\),.*/\1/')
    b=$(grep '"event":"val"' again/metrics.jsonl | sed 's/.*"nll":\([^,]*\),.*/\1/')
    echo "final val NLL $a, reloaded $b"
    check_eq "val NLL of the reloaded export" "$a" "$b"
EOF

test_body 'a LoRA run exports its base with the adapter merged' <<\EOF
    corpus
    cat >config.json <<X
{"params": {"adapter": "lora", "rank": 4, "lr": 0.01, "max_steps": 6, "batch_size": 8,
            "eval_at": ["end"]},
 "base_model": {"path": "$TINY"},
 "datasets": {"train": {"path": "corpus.jsonl"}, "valid": {"path": "valid.jsonl"}}}
X
    run_rc 0 "$TRAINER" --config config.json --run-dir . --threads 1 --export merged
    grep -q '"tokenizer": "bytes"' merged/config.json
    grep -q '"pad_token_id": 258' merged/config.json
    refute cmp -s merged/model.safetensors "$TINY/model.safetensors"
    # the merged model computes what base + adapter computed
    rescore again "$PWD/merged" 8
    a=$(grep '"event":"val"' metrics.jsonl | sed 's/.*"nll":\([^,]*\),.*/\1/')
    b=$(grep '"event":"val"' again/metrics.jsonl | sed 's/.*"nll":\([^,]*\),.*/\1/')
    echo "LoRA val NLL $a, merged $b"
    awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; exit !(d < 1e-5 && d > -1e-5) }'
EOF

test_body 'a tokenizer file: numbers are tokens, the export carries it, misfits refused' <<\EOF
    corpus
    python3 "$TOP/scripts/make-tokenizer.py" tok.bin
    ARCH="$ARCH, \"vocab_size\": 1344"
    cat >config.json <<X
{"params": {"init": "random", "model": {$ARCH}, "lr": 0.004, "warmup_steps": 4,
            "batch_size": 16, "max_steps": 20, "eval_at": ["end"], "seed": 3},
 "tokenizer": {"path": "tok.bin"},
 "datasets": {"train": {"path": "corpus.jsonl"}, "valid": {"path": "valid.jsonl"}}}
X
    run_rc 0 "$TRAINER" --config config.json --run-dir . --threads 2 --export model
    ls model >files
    printf 'config.json\nmodel.safetensors\ntokenizer.bin\n' >expect
    test_cmp expect files
    cmp tok.bin model/tokenizer.bin
    refute grep -q '"tokenizer"' model/config.json
    grep -q '"bos_token_id": 1' model/config.json
    # fewer tokens than bytes: each number of 2 or 3 digits is one token
    python3 - <<'PY'
import json
ev = [json.loads(l) for l in open("metrics.jsonl")]
start = next(e for e in ev if e["event"] == "start")
rows = [json.loads(l)["text"] for l in open("corpus.jsonl")]
size = sum(len(t) for t in rows)
digits = sum(sum(c.isdigit() for c in t) for t in rows)
print(f"{start['tokens']} tokens for {size} bytes ({digits} digits)")
assert start["tokens"] < size - digits // 3, (start["tokens"], size, digits)
PY
    # the export loads back as a base model (its tokenizer found beside it)
    rescore again "$PWD/model" 16
    # a tokenizer of another size, and a tokenizer for a pretrained model
    sed 's/"vocab_size": 1344/"vocab_size": 1300/' config.json >bad.json
    mkdir bad
    run_rc 4 "$TRAINER" --config bad.json --run-dir bad --threads 1
    grep -q "tok.bin.*tokenizer.path, for params.model.vocab_size 1300" err
    cat >bad.json <<X
{"params": {}, "base_model": {"path": "$TINY"}, "tokenizer": {"path": "tok.bin"},
 "datasets": {"train": {"path": "corpus.jsonl"}}}
X
    run_rc 2 "$TRAINER" --config bad.json --run-dir bad --threads 1
    grep -q "tokenizer: only with params.init: random" err
EOF

test_body 'bad configs and an existing export directory: exit 2, nothing written' <<\EOF
    corpus
    random_config
    mkdir model
    run_rc 2 "$TRAINER" --config config.json --run-dir . --threads 1 --export model
    grep -q "error: --export: 'model' already exists" err
    test ! -e metrics.jsonl
    cat >config.json <<X
{"params": {"init": "random", "model": {$ARCH}},
 "base_model": {"path": "$TINY"}, "datasets": {"train": {"path": "corpus.jsonl"}}}
X
    run_rc 2 "$TRAINER" --config config.json --run-dir . --threads 1
    grep -q "base_model: not used with params.init: random" err
    cat >config.json <<X
{"params": {"init": "random", "model": {$ARCH, "layers": 2}},
 "datasets": {"train": {"path": "corpus.jsonl"}}}
X
    run_rc 2 "$TRAINER" --config config.json --run-dir . --threads 1
    grep -q "params.model.layers: unknown key" err
EOF

test_done
