#!/usr/bin/env python3
"""make_head_model.py OUT_DIR [SEED]: a Hugging Face Llama directory (config.json and an
F32 model.safetensors, byte vocabulary of 260, standard library only) whose one layer adds
nothing to the residual stream (o_proj and down_proj are zero): its logits are the tied
head times the normed embedding of each token, a single product per logit. t6013 exports it
as q8_0 and q4_0 GGUF to compare mainline's block products with llama.cpp's with nothing
else in between. The other weights are N(0, 0.5), norms 1."""
import json
import math
import os
import random
import struct
import sys

out = sys.argv[1]
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 3)
C, H, V, NH = 64, 96, 260, 4
shapes = {"model.embed_tokens.weight": (V, C), "model.norm.weight": (C,)}
p = "model.layers.0."
shapes.update({p + "input_layernorm.weight": (C,), p + "post_attention_layernorm.weight": (C,),
               p + "self_attn.q_proj.weight": (C, C), p + "self_attn.k_proj.weight": (C, C),
               p + "self_attn.v_proj.weight": (C, C), p + "self_attn.o_proj.weight": (C, C),
               p + "mlp.gate_proj.weight": (H, C), p + "mlp.up_proj.weight": (H, C),
               p + "mlp.down_proj.weight": (C, H)})


def values(name, shape):
    """Norms 1, the two projections into the residual stream 0, the rest N(0, 0.5)."""
    n = math.prod(shape)
    if len(shape) == 1:
        return [1.0] * n
    if name.endswith(("o_proj.weight", "down_proj.weight")):
        return [0.0] * n
    return [rng.gauss(0.0, 0.5) for _ in range(n)]


blobs = [struct.pack("<%df" % math.prod(shapes[k]), *values(k, shapes[k])) for k in sorted(shapes)]
ends = [sum(len(b) for b in blobs[:i + 1]) for i in range(len(blobs))]
header = {k: {"dtype": "F32", "shape": list(shapes[k]),
              "data_offsets": [ends[i] - len(blobs[i]), ends[i]]}
          for i, k in enumerate(sorted(shapes))}
os.makedirs(out, exist_ok=True)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": C,
          "intermediate_size": H, "num_attention_heads": NH, "num_key_value_heads": NH,
          "num_hidden_layers": 1, "vocab_size": V, "max_position_embeddings": 64,
          "hidden_act": "silu", "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
          "tie_word_embeddings": True, "bos_token_id": 256, "eos_token_id": 257,
          "pad_token_id": 258, "tokenizer": "bytes", "torch_dtype": "float32"}
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump(config, f, indent=2)
