#!/usr/bin/env python3
"""make_hf_model.py - a small Hugging Face model directory with random weights, as
transformers saves one (config.json, model.safetensors in BF16), standard library only.

    make_hf_model.py OUT_DIR ARCH VOCAB [SEED]

ARCH is qwen3 (per-head q/k RMSNorm, head_dim 16 != 32/4, tied head) or llama (a
Llama 3 style model: llama3 rope scaling, untied head). The weights are N(0, 0.02)
(norms 1), so the model is untrained but well-conditioned; VOCAB is the real tokenizer's
size. Tokenizer files are the caller's to copy beside it.
"""
import json
import os
import random
import struct
import sys


def bf16_bytes(values):
    """The BF16 bytes of floats (round to nearest even of the float32 bits)."""
    f32 = struct.pack("<%df" % len(values), *values)
    words = struct.unpack("<%dI" % len(values), f32)
    out = bytearray(2 * len(values))
    for i, w in enumerate(words):
        w = (w + 0x7FFF + ((w >> 16) & 1)) >> 16
        out[2 * i] = w & 0xFF
        out[2 * i + 1] = w >> 8
    return bytes(out)


def main():
    out, arch, vocab = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    dim, hidden, layers, heads, kv = 32, 64, 2, 4, 2
    head_dim = 16 if arch == "qwen3" else dim // heads
    cfg = {"hidden_size": dim, "intermediate_size": hidden, "num_hidden_layers": layers,
           "num_attention_heads": heads, "num_key_value_heads": kv, "vocab_size": vocab,
           "max_position_embeddings": 512, "hidden_act": "silu", "torch_dtype": "bfloat16"}
    if arch == "qwen3":
        cfg.update({"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3",
                    "head_dim": head_dim, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
                    "tie_word_embeddings": True, "attention_bias": False,
                    "bos_token_id": None, "eos_token_id": 151645})
    else:
        cfg.update({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                    "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": False,
                    "rope_scaling": {"rope_type": "llama3", "factor": 32.0,
                                     "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                     "original_max_position_embeddings": 128},
                    "bos_token_id": 128000, "eos_token_id": 128009})
    shapes = {"model.embed_tokens.weight": (vocab, dim), "model.norm.weight": (dim,)}
    if arch != "qwen3":
        shapes["lm_head.weight"] = (vocab, dim)
    for l in range(layers):
        p = "model.layers.%d." % l
        shapes[p + "input_layernorm.weight"] = (dim,)
        shapes[p + "post_attention_layernorm.weight"] = (dim,)
        shapes[p + "self_attn.q_proj.weight"] = (heads * head_dim, dim)
        shapes[p + "self_attn.k_proj.weight"] = (kv * head_dim, dim)
        shapes[p + "self_attn.v_proj.weight"] = (kv * head_dim, dim)
        shapes[p + "self_attn.o_proj.weight"] = (dim, heads * head_dim)
        shapes[p + "mlp.gate_proj.weight"] = (hidden, dim)
        shapes[p + "mlp.up_proj.weight"] = (hidden, dim)
        shapes[p + "mlp.down_proj.weight"] = (dim, hidden)
        if arch == "qwen3":
            shapes[p + "self_attn.q_norm.weight"] = (head_dim,)
            shapes[p + "self_attn.k_norm.weight"] = (head_dim,)
    header, blobs, offset = {}, [], 0
    for name in sorted(shapes):
        shape = shapes[name]
        n = 1
        for d in shape:
            n *= d
        if len(shape) == 1:
            vals = [1.0] * n
        else:
            vals = [rng.gauss(0.0, 0.02) for _ in range(n)]
        b = bf16_bytes(vals)
        header[name] = {"dtype": "BF16", "shape": list(shape),
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


if __name__ == "__main__":
    main()
