#!/usr/bin/env python3
"""make-example-data.py - the small, real inputs the example sweeps in sweeps/ use.

Writes (deterministically, seed 0):
  sweeps/data/arith-train.jsonl  OpenMathInstruct-2-shaped rows: problem,
                                 generated_solution (ends in \\boxed{}),
                                 expected_answer, problem_source
  sweeps/data/arith-valid.jsonl  same shape, problems disjoint from train
  sweeps/data/arith-test.jsonl   GSM8K-shaped rows: question, answer ("... #### N"),
                                 disjoint from both, also with the names taken
                                 out (the same numbers under another name would
                                 share a 13-word n-gram: contamination)
  sweeps/models/tiny-base/       a randomly initialized (untrained) llama-style
                                 model in safetensors + config.json with Hugging
                                 Face tensor names and a byte-level vocabulary

The model is untrained on purpose: it is a real file in the real format, for
planning and provenance tests. The trained demo base model arrives with the data
issue. Only the Python standard library is used.
"""
import json
import os
import random
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sweeps")

NAMES = ["Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goro", "Hana", "Ivan", "Jo"]
THINGS = ["apples", "marbles", "stickers", "books", "coins", "pencils", "shells", "cards"]


def problem(rng):
    name, thing = rng.choice(NAMES), rng.choice(THINGS)
    a, b = rng.randint(2, 60), rng.randint(2, 40)
    kind = rng.choice(["add", "sub", "mul"])
    if kind == "add":
        q = f"{name} has {a} {thing} and gets {b} more. How many {thing} does {name} have now?"
        steps, ans = f"{name} starts with {a} {thing} and gets {b} more, so {a} + {b} = {a + b}.", a + b
    elif kind == "sub":
        a += b
        q = f"{name} has {a} {thing} and gives away {b}. How many {thing} are left?"
        steps, ans = f"{name} gives away {b} of {a} {thing}, so {a} - {b} = {a - b}.", a - b
    else:
        a, b = rng.randint(2, 12), rng.randint(2, 12)
        q = f"{name} fills {a} boxes with {b} {thing} each. How many {thing} is that in all?"
        steps, ans = f"There are {a} boxes of {b} {thing}, so {a} * {b} = {a * b}.", a * b
    return q, steps, str(ans)


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def nameless(q):
    for name in NAMES:
        q = q.replace(name, "")
    return q


def make_data(rng):
    seen, splits = set(), {"train": [], "valid": [], "test": []}
    seen_nameless = set()
    sizes = {"train": 240, "valid": 48, "test": 48}
    for split, n in sizes.items():
        while len(splits[split]) < n:
            q, steps, ans = problem(rng)
            if q in seen or (split == "test" and nameless(q) in seen_nameless):
                continue
            seen.add(q)
            if split != "test":
                seen_nameless.add(nameless(q))
            splits[split].append((q, steps, ans))
    data = os.path.join(ROOT, "data")
    for split in ("train", "valid"):
        write_jsonl(os.path.join(data, f"arith-{split}.jsonl"), [
            {"problem": q, "generated_solution": f"{s} The answer is \\boxed{{{a}}}.",
             "expected_answer": a, "problem_source": "arith"} for q, s, a in splits[split]])
    write_jsonl(os.path.join(data, "arith-test.jsonl"), [
        {"question": q, "answer": f"{s}\n#### {a}"} for q, s, a in splits["test"]])


def make_model(rng):
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 32,
           "intermediate_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
           "num_hidden_layers": 2, "vocab_size": 260, "max_position_embeddings": 256,
           "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": True,
           "bos_token_id": 256, "eos_token_id": 257, "pad_token_id": 258,
           "tokenizer": "bytes", "torch_dtype": "float32"}
    d, h, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    kv = d // cfg["num_attention_heads"] * cfg["num_key_value_heads"]
    shapes = [("model.embed_tokens.weight", (v, d))]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes += [(p + "input_layernorm.weight", (d,)),
                   (p + "self_attn.q_proj.weight", (d, d)),
                   (p + "self_attn.k_proj.weight", (kv, d)),
                   (p + "self_attn.v_proj.weight", (kv, d)),
                   (p + "self_attn.o_proj.weight", (d, d)),
                   (p + "post_attention_layernorm.weight", (d,)),
                   (p + "mlp.gate_proj.weight", (h, d)),
                   (p + "mlp.up_proj.weight", (h, d)),
                   (p + "mlp.down_proj.weight", (d, h))]
    shapes.append(("model.norm.weight", (d,)))
    header, blobs, off = {"__metadata__": {"format": "pt", "made_by": "mainline"}}, [], 0
    for name, shape in shapes:
        n = 1
        for s in shape:
            n *= s
        vals = [1.0] * n if len(shape) == 1 else [rng.gauss(0.0, 0.02) for _ in range(n)]
        blob = struct.pack(f"<{n}f", *vals)
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * (-len(hjson) % 8)
    out = os.path.join(ROOT, "models", "tiny-base")
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hjson)) + hjson + b"".join(blobs))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    make_data(random.Random(0))
    make_model(random.Random(1))
