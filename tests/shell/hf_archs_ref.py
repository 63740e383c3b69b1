#!/usr/bin/env python3
"""hf_archs_ref.py OUTDIR - small Hugging Face models and an independent PyTorch
reference of their logits and gradients, for t3012-hf-archs.sh.

The model here is written from the Hugging Face definitions of LlamaForCausalLM
(with rope_scaling "llama3"), Qwen2ForCausalLM (q/k/v biases), Qwen3ForCausalLM
(per-head q_norm/k_norm, head_dim != hidden_size / heads) and MistralForCausalLM;
it does not import transformers. Weights are random, saved in the Hugging Face
layout (config.json and safetensors in F32, BF16 or F16, some sharded with
model.safetensors.index.json). The reference computes in float64 from the
weights exactly as stored (bf16/f16 values rounded first), so the differences the
C side sees are its own float32 rounding.

Each OUTDIR/CASE/ gets the model and reference.safetensors (F32) holding:
  tokens (B, T)                       token ids (as floats)
  targets (B, T)                      next-token targets of the loss
  logits (B*T, V)                     the reference logits
  lora.<PEFT name>                    the LoRA A and B the gradients were taken at
  grad.<HF name>                      d loss / d every base tensor (full fine-tuning)
  grad.<PEFT name>                    d loss / d every LoRA A and B
and __metadata__ lora_rank, lora_alpha. The loss is the mean cross-entropy over
every position.

hf_archs_ref.py --byte-model DIR writes one more model: a Qwen3 with every option
over mainline's byte tokenizer, for the trainer and evaluator runs of t3012.
"""
import json
import math
import os
import struct
import sys

import torch

B, T = 2, 9
RANK, ALPHA = 2, 4.0
PROJS = [("self_attn", "q_proj"), ("self_attn", "k_proj"), ("self_attn", "v_proj"),
         ("self_attn", "o_proj"), ("mlp", "gate_proj"), ("mlp", "up_proj"),
         ("mlp", "down_proj")]

CASES = {
    # name: (config overrides, dtype, shards)
    "llama3": ({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                "tie_word_embeddings": False, "rope_theta": 10000.0,
                "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                 "high_freq_factor": 4.0,
                                 "original_max_position_embeddings": 64}},
               "F32", 2),
    "qwen2": ({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
               "tie_word_embeddings": True, "rope_theta": 1000000.0,
               "use_sliding_window": False, "sliding_window": 4096},
              "BF16", 1),
    "qwen3": ({"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3",
               "tie_word_embeddings": False, "rope_theta": 1000000.0, "head_dim": 12,
               "attention_bias": False},
              "BF16", 3),
    "mistral": ({"architectures": ["MistralForCausalLM"], "model_type": "mistral",
                 "tie_word_embeddings": False, "rope_theta": 10000.0, "sliding_window": 32},
                "F16", 1),
}

BASE_CONFIG = {"hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
               "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 97,
               "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "hidden_act": "silu",
               "bos_token_id": 1, "eos_token_id": 2}


def head_dim(cfg):
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


def qkv_bias(cfg):
    return cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)


def tensor_shapes(cfg):
    """Every tensor of the model in HF names, with its shape."""
    C, H, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    HS = head_dim(cfg)
    QD, KV = HS * cfg["num_attention_heads"], HS * cfg["num_key_value_heads"]
    out = {"model.embed_tokens.weight": (V, C), "model.norm.weight": (C,)}
    if not cfg["tie_word_embeddings"]:
        out["lm_head.weight"] = (V, C)
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        out[p + "input_layernorm.weight"] = (C,)
        out[p + "post_attention_layernorm.weight"] = (C,)
        out[p + "self_attn.q_proj.weight"] = (QD, C)
        out[p + "self_attn.k_proj.weight"] = (KV, C)
        out[p + "self_attn.v_proj.weight"] = (KV, C)
        out[p + "self_attn.o_proj.weight"] = (C, QD)
        out[p + "mlp.gate_proj.weight"] = (H, C)
        out[p + "mlp.up_proj.weight"] = (H, C)
        out[p + "mlp.down_proj.weight"] = (C, H)
        if qkv_bias(cfg):
            out[p + "self_attn.q_proj.bias"] = (QD,)
            out[p + "self_attn.k_proj.bias"] = (KV,)
            out[p + "self_attn.v_proj.bias"] = (KV,)
        if cfg.get("attention_bias", False):
            out[p + "self_attn.o_proj.bias"] = (C,)
        if cfg["model_type"] == "qwen3":
            out[p + "self_attn.q_norm.weight"] = (HS,)
            out[p + "self_attn.k_norm.weight"] = (HS,)
    return out


def random_weights(cfg, gen):
    w = {}
    for name, shape in tensor_shapes(cfg).items():
        if name.endswith("norm.weight"):
            w[name] = 1.0 + 0.3 * (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1)
        elif name.endswith(".bias"):
            w[name] = 0.2 * torch.randn(shape, generator=gen, dtype=torch.float64)
        else:
            w[name] = 0.15 * torch.randn(shape, generator=gen, dtype=torch.float64)
    return w


# ---- safetensors, written by hand ----

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}


def tensor_bytes(t, dtype):
    t = t.to(DTYPES[dtype]).contiguous()
    if dtype == "F32":
        return t.numpy().tobytes()
    return t.view(torch.int16).numpy().tobytes()


def write_safetensors(path, tensors, dtype, metadata=None):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = tensor_bytes(tensors[name], dtype)
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def save_model(outdir, cfg, weights, dtype, shards):
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump(dict(cfg, torch_dtype={"F32": "float32", "BF16": "bfloat16",
                                         "F16": "float16"}[dtype]), f, indent=2)
    names = sorted(weights)
    if shards == 1:
        write_safetensors(os.path.join(outdir, "model.safetensors"), weights, dtype,
                          {"format": "pt"})
        return
    weight_map = {}
    for s in range(shards):
        part = names[s::shards]
        fname = "model-%05d-of-%05d.safetensors" % (s + 1, shards)
        write_safetensors(os.path.join(outdir, fname), {n: weights[n] for n in part}, dtype,
                          {"format": "pt"})
        for n in part:
            weight_map[n] = fname
    with open(os.path.join(outdir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)


# ---- the model, from the Hugging Face definitions ----

def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def inv_freq(cfg):
    HS = head_dim(cfg)
    base = cfg["rope_theta"]
    freq = 1.0 / (base ** (torch.arange(0, HS, 2, dtype=torch.float64) / HS))
    rs = cfg.get("rope_scaling")
    if not rs:
        return freq
    # _compute_llama3_parameters
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old = rs["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / lo, old / hi
    wavelen = 2 * math.pi / freq
    scaled = torch.where(wavelen > low_wavelen, freq / factor, freq)
    smooth = (old / wavelen - lo) / (hi - lo)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
    return torch.where(medium, smoothed, scaled)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def linear(x, w, name, lora):
    """x W^T (+ b) (+ LoRA: scale * x A^T B^T) of the projection called name."""
    y = x @ w[name + ".weight"].T
    if name + ".bias" in w:
        y = y + w[name + ".bias"]
    key = "base_model.model." + name
    if lora is not None and key + ".lora_A.weight" in lora:
        a, b = lora[key + ".lora_A.weight"], lora[key + ".lora_B.weight"]
        y = y + (x @ a.T @ b.T) * (ALPHA / RANK)
    return y


def forward(cfg, w, tokens, lora=None):
    NH, NKV, HS = cfg["num_attention_heads"], cfg["num_key_value_heads"], head_dim(cfg)
    eps = cfg["rms_norm_eps"]
    Bn, Tn = tokens.shape
    x = w["model.embed_tokens.weight"][tokens]
    freqs = torch.outer(torch.arange(Tn, dtype=torch.float64), inv_freq(cfg))
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    causal = torch.full((Tn, Tn), float("-inf"), dtype=torch.float64).triu(1)
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = linear(h, w, p + "self_attn.q_proj", lora).view(Bn, Tn, NH, HS)
        k = linear(h, w, p + "self_attn.k_proj", lora).view(Bn, Tn, NKV, HS)
        v = linear(h, w, p + "self_attn.v_proj", lora).view(Bn, Tn, NKV, HS)
        if cfg["model_type"] == "qwen3":
            q = rms_norm(q, w[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, w[p + "self_attn.k_norm.weight"], eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(NH // NKV, dim=1)
        v = v.repeat_interleave(NH // NKV, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(HS) + causal
        att = torch.softmax(scores, dim=-1) @ v
        att = att.transpose(1, 2).reshape(Bn, Tn, NH * HS)
        x = x + linear(att, w, p + "self_attn.o_proj", lora)
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = linear(h, w, p + "mlp.gate_proj", lora)
        u = linear(h, w, p + "mlp.up_proj", lora)
        x = x + linear(torch.nn.functional.silu(g) * u, w, p + "mlp.down_proj", lora)
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return x @ head.T


def lora_init(cfg, gen):
    C, H = cfg["hidden_size"], cfg["intermediate_size"]
    HS = head_dim(cfg)
    QD, KV = HS * cfg["num_attention_heads"], HS * cfg["num_key_value_heads"]
    dims = {"q_proj": (C, QD), "k_proj": (C, KV), "v_proj": (C, KV), "o_proj": (QD, C),
            "gate_proj": (C, H), "up_proj": (C, H), "down_proj": (H, C)}
    out = {}
    for l in range(cfg["num_hidden_layers"]):
        for mod, proj in PROJS:
            i, o = dims[proj]
            key = "base_model.model.model.layers.%d.%s.%s" % (l, mod, proj)
            # B is random (not PEFT's zeros) so that A has a gradient too
            out[key + ".lora_A.weight"] = (torch.rand((RANK, i), generator=gen,
                                                      dtype=torch.float64) * 2 - 1) / math.sqrt(i)
            out[key + ".lora_B.weight"] = 0.3 * torch.randn((o, RANK), generator=gen,
                                                            dtype=torch.float64)
    return out


def byte_model(outdir):
    """A Qwen3 with every option (head_dim 12, q/k norms, attention_bias) over the
    byte tokenizer (vocabulary 260), in BF16: for the trainer and the evaluator."""
    cfg = dict(BASE_CONFIG, **CASES["qwen3"][0])
    cfg.update({"attention_bias": True, "vocab_size": 260, "max_position_embeddings": 320,
                "bos_token_id": 256, "eos_token_id": 257, "pad_token_id": 258,
                "tokenizer": "bytes", "tie_word_embeddings": True})
    gen = torch.Generator().manual_seed(99)
    save_model(outdir, cfg, random_weights(cfg, gen), "BF16", 2)


def main():
    if sys.argv[1] == "--byte-model":
        byte_model(sys.argv[2])
        return
    outdir = sys.argv[1]
    for name, (over, dtype, shards) in CASES.items():
        cfg = dict(BASE_CONFIG, **over)
        gen = torch.Generator().manual_seed(1234 + len(name))
        w = random_weights(cfg, gen)
        # what the file holds, exactly: the reference starts from the rounded values
        w = {n: t.to(DTYPES[dtype]).to(torch.float64) for n, t in w.items()}
        save_model(os.path.join(outdir, name), cfg, w, dtype, shards)
        lora = lora_init(cfg, gen)
        lora = {n: t.to(torch.float32).to(torch.float64) for n, t in lora.items()}
        tokens = torch.randint(0, cfg["vocab_size"], (B, T), generator=gen)
        targets = torch.randint(0, cfg["vocab_size"], (B, T), generator=gen)
        params = {n: t.clone().requires_grad_(True) for n, t in w.items()}
        lparams = {n: t.clone().requires_grad_(True) for n, t in lora.items()}
        logits = forward(cfg, params, tokens, lparams)
        loss = torch.nn.functional.cross_entropy(logits.view(B * T, -1), targets.view(-1))
        loss.backward()
        with torch.no_grad():
            plain = forward(cfg, w, tokens)   # without LoRA: what the model alone says
        ref = {"tokens": tokens.to(torch.float64), "targets": targets.to(torch.float64),
               "logits": plain.view(B * T, -1), "logits_lora": logits.detach().view(B * T, -1)}
        for n, t in lora.items():
            ref["lora." + n] = t
        for n, t in params.items():
            ref["grad." + n] = t.grad
        for n, t in lparams.items():
            ref["grad." + n] = t.grad
        write_safetensors(os.path.join(outdir, name, "reference.safetensors"), ref, "F32",
                          {"lora_rank": str(RANK), "lora_alpha": str(ALPHA),
                           "loss": repr(loss.item())})
        print("%s: %s, %d shard(s), loss %.6f" % (name, dtype, shards, loss.item()))


if __name__ == "__main__":
    main()
