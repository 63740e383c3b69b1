#!/bin/sh
# t3012: Hugging Face architectures in the built-in model against an independent
# PyTorch implementation (tests/shell/hf_archs_ref.py, written from the Hugging Face
# definitions, float64): Llama 3 with llama3 RoPE scaling (F32, 2 shards with
# model.safetensors.index.json), Qwen2 with q/k/v biases and tied embeddings (BF16),
# Qwen3 with q/k norms and head_dim 12 != 32/4 (BF16, 3 shards), Mistral (F16).
# Logits within 1e-4 (alone, with LoRA on all seven projections, through the
# KV-cache decoder, merged LoRA through the decoder), the gradients of every base
# tensor and LoRA A/B within 1e-4 of the largest reference entry, a save/load round
# trip (build/tests/test_hf_archs does the C side). Then mainline-train on a BF16,
# sharded Qwen3 with every option (head_dim 12, q/k norms, attention_bias) over the
# byte tokenizer: a LoRA run writes PEFT adapters under the real module paths and
# exports a Qwen3 config.json; a full run's checkpoints hold the trained biases and
# q/k norms under their Hugging Face names; mainline-eval decodes the base model and
# both checkpoints. Skipped when no python3 has torch.
. "$(dirname "$0")/lib.sh"

# A python3 that imports torch: the one in PATH, else Debian's (python3-torch).
find_torch_python
HF_ARCHS="$TOP/${BUILD:-build}/tests/test_hf_archs"
case "${BINDIR:-bin}" in
/*) BIN=$BINDIR ;;
*) BIN=$TOP/${BINDIR:-bin} ;;
esac
TRAINER=$BIN/mainline-train
EVAL=$BIN/mainline-eval
export HF_ARCHS TRAINER EVAL

if [ -z "$TORCH_PY" ]; then
    skip "t3012 PyTorch comparison of Llama 3, Qwen2, Qwen3, Mistral" \
        "no python3 with torch (Debian python3-torch)"
else
    test_body 'Llama 3, Qwen2, Qwen3, Mistral: logits, LoRA and full gradients, decoder = PyTorch' <<\EOF
    "$TORCH_PY" "$TOP/tests/shell/hf_archs_ref.py" ref
    test -f ref/qwen3/model.safetensors.index.json
    test -f ref/llama3/model-00002-of-00002.safetensors
    MAINLINE_HF_REF=$PWD/ref "$HF_ARCHS" >out 2>&1 || { cat out; false; }
    cat out
    grep -q 'ok   test_mistral' out
    grep -E '^[0-9]+ passed, 0 failed$' out
EOF

    test_body 'a shard missing from the index, a tensor in the wrong shard: clear errors' <<\EOF
    "$TORCH_PY" "$TOP/tests/shell/hf_archs_ref.py" ref >/dev/null
    rm ref/qwen3/model-00002-of-00003.safetensors
    MAINLINE_HF_REF=$PWD/ref "$HF_ARCHS" >out 2>&1 && false
    grep "cannot open.*model-00002-of-00003.safetensors" out
    "$TORCH_PY" "$TOP/tests/shell/hf_archs_ref.py" ref >/dev/null
    "$TORCH_PY" - <<\PY
import json
p = "ref/llama3/model.safetensors.index.json"
index = json.load(open(p))
index["weight_map"]["model.norm.weight"] = "model-00001-of-00002.safetensors" \
    if index["weight_map"]["model.norm.weight"].startswith("model-00002") \
    else "model-00002-of-00002.safetensors"
json.dump(index, open(p, "w"))
PY
    MAINLINE_HF_REF=$PWD/ref "$HF_ARCHS" >out 2>&1 && false
    grep "index.json: tensor 'model.norm.weight' is not in model-0000" out
EOF

    test_body 'mainline-train and -eval on a Qwen3: PEFT names, export, full checkpoints with biases and norms' <<\EOF
    "$TORCH_PY" "$TOP/tests/shell/hf_archs_ref.py" --byte-model qwen3
    python3 "$TOP/scripts/make-pretrain-corpus.py" corpus.jsonl --rows 64 --seed 5
    python3 "$TOP/scripts/make-pretrain-corpus.py" valid.jsonl --rows 8 --seed 6
    mkdir lora full
    cat >lora/config.json <<X
{"params": {"adapter": "lora", "rank": 4, "alpha": 8, "targets": ["all-linear"], "lr": 0.01,
            "batch_size": 4, "max_steps": 4, "max_seq_len": 64, "eval_at": ["end"], "seed": 1},
 "base_model": {"path": "$PWD/qwen3"},
 "datasets": {"train": {"path": "$PWD/corpus.jsonl"}, "valid": {"path": "$PWD/valid.jsonl"}}}
X
    "$TRAINER" --config lora/config.json --run-dir lora --threads 2 --export exported >out
    # the full run names the sharded model by its index, as a sweep's base_model does
    sed 's/"adapter": "lora", "rank": 4, "alpha": 8, "targets": \["all-linear"\]/"full": true/;
         s/"eval_at": \["end"\]/"eval_at": [2, "end"], "keep": "all"/;
         s|qwen3"}|qwen3/model.safetensors.index.json"}|' lora/config.json >full/config.json
    grep -q 'index.json"}' full/config.json
    "$TRAINER" --config full/config.json --run-dir full --threads 1 >>out
    "$TORCH_PY" - <<\PY
import json, struct
def names(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
    h.pop("__metadata__", None)
    return h
ad = json.load(open("lora/checkpoints/step-4/adapter_config.json"))
assert ad["target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                "up_proj", "down_proj"], ad["target_modules"]
t = names("lora/checkpoints/step-4/adapter_model.safetensors")
p = "base_model.model.model.layers.1.self_attn."
assert t[p + "q_proj.lora_A.weight"]["shape"] == [4, 32]
assert t[p + "q_proj.lora_B.weight"]["shape"] == [48, 4]      # q is 4 heads x 12 wide
assert t[p + "o_proj.lora_A.weight"]["shape"] == [4, 48]
assert len(t) == 2 * 7 * 2
c = json.load(open("exported/config.json"))
assert c["architectures"] == ["Qwen3ForCausalLM"] and c["model_type"] == "qwen3"
assert c["head_dim"] == 12 and c["attention_bias"] is True and c["tokenizer"] == "bytes"
e = names("exported/model.safetensors")
for n, shape in [("q_norm.weight", [12]), ("k_norm.weight", [12]), ("q_proj.bias", [48]),
                 ("k_proj.bias", [24]), ("o_proj.bias", [32]), ("q_proj.weight", [48, 32]),
                 ("o_proj.weight", [32, 48])]:
    assert e["model.layers.0.self_attn." + n]["shape"] == shape, n
f = names("full/checkpoints/step-2/model.safetensors")
for n in ["q_norm.weight", "k_norm.weight", "q_proj.bias", "k_proj.bias", "v_proj.bias",
          "o_proj.bias"]:
    assert "model.layers.1.self_attn." + n in f, n
print("ok: %d adapter tensors, %d exported, %d in the full checkpoint" % (len(t), len(e), len(f)))
PY
    test "$(grep -c '"event":"val"' full/metrics.jsonl)" -eq 2
    # the evaluator decodes the base model, the LoRA checkpoint and the full one
    for ck in null "\"$PWD/lora/checkpoints/step-4\"" "\"$PWD/full/checkpoints/step-2\""; do
        cat >eval.json <<X
{"protocol": 1, "sweep": "t3012", "run": null, "attempt": 1, "step": null, "checkpoint": $ck,
 "base_model": {"path": "$PWD/qwen3"},
 "datasets": {"bench": {"path": "$TOP/sweeps/data/arith-test.jsonl"}},
 "evaluation": {"dataset": "bench", "max_new_tokens": 8, "extract": "regex",
                "pattern": "#### (-?[0-9.,]+)", "limit": 4}}
X
        rm -rf ev
        "$EVAL" --config eval.json --out ev --threads 1 >>out
        test "$(wc -l <ev/predictions.jsonl)" -eq 4
    done
EOF
fi
test_done
