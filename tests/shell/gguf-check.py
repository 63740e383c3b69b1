#!/usr/bin/env python3
"""gguf-check.py: the checks t6010 makes of `mainline export --format gguf` files.

  meta META.json MODEL_DIR QUANT [TOKENIZER]
      META.json is what tests/js/gguf-meta.mjs (Hugging Face's @huggingface/gguf parser)
      read from the file; MODEL_DIR the Hugging Face export of the same model (its
      config.json says what every key must hold). Checks every key and every tensor's
      name, shape and type.
  agree A.jsonl B.jsonl N MIN_PCT LABEL
      A and B: one line per prompt with prompt_ids and ids (tests/js/gguf-greedy.mjs,
      mainline-eval --greedy). The prompt ids must be equal; prints, per prompt, how many
      of the first N generated ids are equal position by position and where the two first
      differ; fails when all prompts together agree on less than MIN_PCT percent.
"""
import json
import sys

TYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 8}
FILE_TYPE = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 7}


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check_meta(meta_path, model_dir, quant):
    doc = json.load(open(meta_path))
    md, tensors = doc["metadata"], doc["tensors"]
    c = json.load(open(model_dir + "/config.json"))
    C, L, H = c["hidden_size"], c["num_hidden_layers"], c["intermediate_size"]
    NH, NKV, V = c["num_attention_heads"], c["num_key_value_heads"], c["vocab_size"]
    HS = C // NH
    want = {
        "version": 3, "general.architecture": "llama", "general.alignment": 32,
        "general.file_type": FILE_TYPE[quant], "general.quantization_version": 2,
        "llama.context_length": c["max_position_embeddings"], "llama.embedding_length": C,
        "llama.block_count": L, "llama.feed_forward_length": H,
        "llama.attention.head_count": NH, "llama.attention.head_count_kv": NKV,
        "llama.rope.dimension_count": HS, "llama.vocab_size": V,
        "tokenizer.ggml.model": "llama", "tokenizer.ggml.add_bos_token": True,
        "tokenizer.ggml.add_eos_token": False,
        "tokenizer.ggml.bos_token_id": c["bos_token_id"],
        "tokenizer.ggml.eos_token_id": c["eos_token_id"],
    }
    floats = {"llama.attention.layer_norm_rms_epsilon": c["rms_norm_eps"],
              "llama.rope.freq_base": c["rope_theta"]}
    byte_level = c.get("tokenizer") == "bytes"
    want["tokenizer.ggml.add_space_prefix"] = not byte_level
    if byte_level:
        want["tokenizer.ggml.padding_token_id"] = c["pad_token_id"]
    else:
        want["tokenizer.ggml.unknown_token_id"] = 0
    for k, v in want.items():
        if md.get(k) != v:
            fail(f"{meta_path}: {k} = {md.get(k)!r}, expected {v!r}")
    for k, v in floats.items():
        if abs(md[k] - v) > 1e-6 * max(1.0, abs(v)):
            fail(f"{meta_path}: {k} = {md[k]}, expected {v}")
    toks, scores, types = (md["tokenizer.ggml.tokens"], md["tokenizer.ggml.scores"],
                           md["tokenizer.ggml.token_type"])
    if not len(toks) == len(scores) == len(types) == V:
        fail(f"{meta_path}: {len(toks)} tokens, {len(scores)} scores, {len(types)} types, V {V}")
    if len(set(toks)) != V:
        fail(f"{meta_path}: token texts are not unique")
    bos, eos = c["bos_token_id"], c["eos_token_id"]
    if (toks[bos], types[bos], toks[eos], types[eos]) != ("<s>", 3, "</s>", 3):
        fail(f"{meta_path}: BOS/EOS are {toks[bos]!r}/{types[bos]}, {toks[eos]!r}/{types[eos]}")
    if byte_level:
        for b in range(256):
            t = ("\u2581", 1) if b == 32 else (f"<0x{b:02X}>", 6)
            if (toks[b], types[b]) != t:
                fail(f"{meta_path}: byte {b} is {toks[b]!r}/{types[b]}, expected {t}")
    else:
        if (toks[0], types[0]) != ("<unk>", 2):
            fail(f"{meta_path}: token 0 is {toks[0]!r}/{types[0]}, expected <unk>/UNKNOWN")
        for b in range(256):
            if (toks[3 + b], types[3 + b]) != (f"<0x{b:02X}>", 6):
                fail(f"{meta_path}: token {3 + b} is {toks[3 + b]!r}/{types[3 + b]}")
        if any(" " in t for t in toks):
            fail(f"{meta_path}: a piece holds a space (SentencePiece writes U+2581)")
    expect = [("token_embd.weight", [C, V])]
    per = [("attn_norm", [C]), ("attn_q", [C, C]), ("attn_k", [C, HS * NKV]),
           ("attn_v", [C, HS * NKV]), ("attn_output", [C, C]), ("ffn_norm", [C]),
           ("ffn_gate", [C, H]), ("ffn_up", [C, H]), ("ffn_down", [H, C])]
    for layer in range(L):
        expect += [(f"blk.{layer}.{n}.weight", s) for n, s in per]
    expect.append(("output_norm.weight", [C]))
    if not c["tie_word_embeddings"]:
        expect.append(("output.weight", [C, V]))
    got = [(t["name"], t["shape"]) for t in tensors]
    if got != expect:
        fail(f"{meta_path}: tensors {got[:4]}..., expected {expect[:4]}...")
    if md["tensor_count"] != len(expect):
        fail(f"{meta_path}: tensor_count {md['tensor_count']}")
    kept = 0
    for t in tensors:
        if len(t["shape"]) == 1:
            want_type = 0
        elif quant in ("q8_0", "q4_0") and t["shape"][0] % 32:
            want_type, kept = 1, kept + 1
        else:
            want_type = TYPES[quant]
        if t["dtype"] != want_type:
            fail(f"{meta_path}: {t['name']} has type {t['dtype']}, expected {want_type}")
    print(f"{meta_path}: {len(md)} keys, {len(tensors)} tensors as expected"
          f"{f' ({kept} kept f16)' if kept else ''}")


def agree(a_path, b_path, n, min_pct, label):
    a = [json.loads(x) for x in open(a_path) if x.strip()]
    b = [json.loads(x) for x in open(b_path) if x.strip()]
    if len(a) != len(b) or not a:
        fail(f"{label}: {len(a)} and {len(b)} prompts")
    same = total = 0
    parts = []
    for x, y in zip(a, b):
        if x["prompt_ids"] != y["prompt_ids"]:
            fail(f"{label}: the prompt {x['prompt']!r} is {x['prompt_ids']} in one, "
                 f"{y['prompt_ids']} in the other")
        k = min(n, max(len(x["ids"]), len(y["ids"])))
        eq = sum(1 for p, q in zip(x["ids"][:k], y["ids"][:k]) if p == q)
        split = next((i for i, (p, q) in enumerate(zip(x["ids"], y["ids"])) if p != q), None)
        if split is None and len(x["ids"]) != len(y["ids"]):
            split = min(len(x["ids"]), len(y["ids"]))
        same, total = same + eq, total + k
        parts.append(f"{eq}/{k}" + (f" (split at {split})" if split is not None else ""))
    pct = 100.0 * same / total
    print(f"{label}: {pct:.1f}% of the first {n} tokens agree: " + ", ".join(parts))
    if pct < min_pct:
        fail(f"{label}: {pct:.1f}% < {min_pct}%")


if __name__ == "__main__":
    if sys.argv[1] == "meta":
        check_meta(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "agree":
        agree(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
    else:
        fail("usage: gguf-check.py meta|agree ...")
