#!/bin/sh
# t3012: Hugging Face architectures in the built-in model against an independent
# PyTorch implementation (tests/shell/hf_archs_ref.py, written from the Hugging Face
# definitions, float64): Llama 3 with llama3 RoPE scaling (F32, 2 shards with
# model.safetensors.index.json), Qwen2 with q/k/v biases and tied embeddings (BF16),
# Qwen3 with q/k norms and head_dim 12 != 32/4 (BF16, 3 shards), Mistral (F16).
# Logits within 1e-4 (alone, with LoRA on all seven projections, through the
# KV-cache decoder, merged LoRA through the decoder), the gradients of every base
# tensor and LoRA A/B within 1e-4 of the largest reference entry, a save/load round
# trip (build/tests/test_hf_archs does the C side). Skipped when no python3 has torch.
. "$(dirname "$0")/lib.sh"

# A python3 that imports torch: the one in PATH, else Debian's (python3-torch).
find_torch_python
HF_ARCHS="$TOP/${BUILD:-build}/tests/test_hf_archs"
export HF_ARCHS

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
fi
test_done
