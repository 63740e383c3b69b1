#!/usr/bin/env python3
"""make-base-model.py - train the demo base model from scratch (`make base-model`).

    scripts/make-base-model.py [--check] [--out BUILD_DIR] [--trainer BIN]

Steps, all deterministic:
  1. scripts/make-pretrain-corpus.py writes the corpus (train and validation rows,
     two seeds) into BUILD_DIR (default build/base-model);
  2. bin/mainline-train trains scripts/demo-base.json (init: random) on it with
     --threads 2 and OPENBLAS_NUM_THREADS=2, and --export writes the model;
  3. README.md is written beside the model, with the config, the corpus recipe,
     the training settings, the losses of this run and the sha256 of every file;
  4. without --check, the model replaces sweeps/models/demo-base/ (built as
     demo-base.new, fsynced, swapped in by renames).

--check stops after step 2 and compares the new model.safetensors and config.json
with the committed ones byte for byte: exit 0 when equal, 1 otherwise. The bits
depend on the thread count (pinned here) and on OpenBLAS's kernels
(OPENBLAS_CORETYPE, which the README records): a machine whose OpenBLAS picks other
kernels trains a slightly different model.
"""
import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(TOP, "scripts", "demo-base.json")
CORPUS_PY = os.path.join(TOP, "scripts", "make-pretrain-corpus.py")
TOKENIZER_PY = os.path.join(TOP, "scripts", "make-tokenizer.py")
PROBES_PY = os.path.join(TOP, "scripts", "make-probes.py")
# (file stem, what it asks): scripts/make-probes.py writes them
PROBES = [("arith", "a sum: `12 * 7 =` -> ` 84`"),
          ("boxes", "copy two numbers from the lines above and multiply them"),
          ("ages", "copy two numbers from the lines above and add them"),
          ("roster", "find a number by the name before it, three people back")]
TARGET = os.path.join(TOP, "sweeps", "models", "demo-base")
THREADS = 2
MODEL_FILES = ("config.json", "model.safetensors")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def make_corpus(recipe, out):
    c = recipe["corpus"]
    for name, rows, seed in (("corpus.jsonl", c["rows"], c["seed"]),
                             ("valid.jsonl", c["valid_rows"], c["valid_seed"])):
        run([sys.executable, CORPUS_PY, os.path.join(out, name), "--rows", str(rows),
             "--seed", str(seed), "--min-chars", str(c["min_chars"])])


def coretype(trainer):
    """What mainline run gives jobs (mainline doctor's line), so the kernels match."""
    if os.environ.get("OPENBLAS_CORETYPE"):
        return os.environ["OPENBLAS_CORETYPE"]
    cli = os.path.join(os.path.dirname(trainer), "mainline")
    try:
        out = subprocess.run([cli, "doctor"], capture_output=True, text=True).stdout
    except OSError:
        return None
    for line in out.splitlines():
        if line.startswith("jobs get") and "OPENBLAS_CORETYPE=" in line:
            value = line.split("OPENBLAS_CORETYPE=", 1)[1].split()[0]
            return None if value.startswith("(") else value
    return None


def train(recipe, out, trainer):
    run_dir, model = os.path.join(out, "run"), os.path.join(out, "model")
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.rmtree(model, ignore_errors=True)
    os.makedirs(run_dir)
    config = {"params": recipe["params"],
              "datasets": {"train": {"path": "../corpus.jsonl"},
                           "valid": {"path": "../valid.jsonl"}}}
    if recipe.get("tokenizer"):   # scripts/make-tokenizer.py's vocabulary, not bytes
        run([sys.executable, TOKENIZER_PY, os.path.join(out, "tokenizer.bin")])
        config["tokenizer"] = {"path": "../tokenizer.bin"}
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
        f.write("\n")
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(THREADS), OMP_NUM_THREADS=str(THREADS))
    core = coretype(trainer)
    if core:
        env["OPENBLAS_CORETYPE"] = core
    t0 = time.time()
    run([trainer, "--config", os.path.join(run_dir, "config.json"), "--run-dir", run_dir,
         "--threads", str(THREADS), "--export", model], env=env)
    return model, time.time() - t0, core


def probe(out, model, trainer):
    """[(name, what, correct, n)]: scripts/make-probes.py's rows, scored by
    `mainline-eval --complete` on the model."""
    pdir = os.path.join(out, "probes")
    run([sys.executable, PROBES_PY, pdir])
    evaluator = os.path.join(os.path.dirname(trainer), "mainline-eval")
    results = []
    for name, what in PROBES:
        got = subprocess.run([evaluator, "--complete", os.path.join(pdir, f"probe-{name}.jsonl"),
                              "--base-model", model, "--threads", str(THREADS)],
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(got)
        results.append((name, what, r["correct"], r["n"]))
    return results


def events(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


def readme(recipe, out, model, seconds, core, probes):
    ev = events(os.path.join(out, "run"))
    start = next(e for e in ev if e["event"] == "start")
    trains = [e for e in ev if e["event"] == "train"]
    vals = [e for e in ev if e["event"] == "val"]
    cfg = json.load(open(os.path.join(model, "config.json")))
    arch = recipe["params"]["model"]
    n_params = start["total_params"]
    size = os.path.getsize(os.path.join(model, "model.safetensors"))
    corpus_sha = sha256(os.path.join(out, "corpus.jsonl"))
    valid_sha = sha256(os.path.join(out, "valid.jsonl"))
    losses = "\n".join(f"| {e['step']} | {e['loss']:.4f} |" for e in trains[:: max(1, len(trains) // 8)]
                       if e is not trains[-1])
    losses += f"\n| {trains[-1]['step']} | {trains[-1]['loss']:.4f} |"
    val_rows = "\n".join(f"| {e['step']} | {e['nll']:.4f} |" for e in vals)
    c = recipe["corpus"]
    notes = "\n".join(recipe["notes"])
    probe_rows = "\n".join(f"| {n} | {w} | {c}/{k} |" for n, w, c, k in probes)
    text = f"""# demo-base

A small llama-style model trained from random initialization by mainline's own
trainer (`bin/mainline-train`, `init: random`) on a synthetic corpus of arithmetic,
worked calculations about quantities and copying. It is the base model of the demo
sweep (`make demo`): it copies numbers from earlier in its text and does sums in the
notation of `mainline data synth-math` solutions (the probes below say how well),
but it has never seen a question, a step-by-step solution of one, or `\\boxed{{}}`,
so its benchmark accuracy starts at zero and LoRA SFT on the synth-math training set
has the format to teach.

Made by `make base-model` (scripts/make-base-model.py); `make base-model-check`
retrains it and compares the bytes.

## Files

| file | sha256 |
|---|---|
| config.json | {sha256(os.path.join(model, "config.json"))} |
| model.safetensors | {sha256(os.path.join(model, "model.safetensors"))} |

sha256 (model.safetensors): {sha256(os.path.join(model, "model.safetensors"))}

The tokenizer is byte-level and declared in config.json (`"tokenizer": "bytes"`, ids
0..255 are bytes, BOS {cfg["bos_token_id"]}, EOS {cfg["eos_token_id"]}, PAD
{cfg["pad_token_id"]}, vocabulary {cfg["vocab_size"]}): there is no tokenizer file.

## Model

| | |
|---|---|
| architecture | Llama (RMSNorm, RoPE theta {cfg["rope_theta"]}, SwiGLU, tied embeddings: {str(cfg["tie_word_embeddings"]).lower()}) |
| dim / hidden_dim | {arch["dim"]} / {arch["hidden_dim"]} |
| layers / heads / kv heads | {arch["n_layers"]} / {arch["n_heads"]} / {arch.get("n_kv_heads", arch["n_heads"])} |
| max_seq_len | {arch["max_seq_len"]} |
| parameters | {n_params:,} ({size / 1e6:.1f} MB in float32) |
| init | normal(0, {arch.get("init_std", 0.02)}); o_proj and down_proj normal(0, {arch.get("init_std", 0.02)} / sqrt(2 * {arch["n_layers"]})); norms 1; seed {recipe["params"]["seed"]} |

## Corpus

`scripts/make-pretrain-corpus.py` (Python standard library only):
{c["rows"]} training rows (seed {c["seed"]}) and {c["valid_rows"]} validation rows (seed
{c["valid_seed"]}), each packing snippets up to at least {c["min_chars"]} characters:
runs of arithmetic facts (`7 * 8 = 56`, `132 - 47 = 85`, `36 / 4 = 9`), short worked
calculations about quantities, one step per line, in the notation of the synth-math
solutions (`The boxes hold 4 * 6 = 24 crayons.`, `A third of 27 is 27 / 3 = 9.`),
plain sentences about quantities, and rows that ask for copying: a list of numbers
followed by the same list (`Read: 35 357 304.` / `Copy: 35 357 304.`) and who-has-what
followed by the same facts in another order. No questions, no "The answer is", no
`\\boxed{{}}`, none of synth-math's problem templates.

| file | rows | tokens | sha256 |
|---|---|---|---|
| corpus.jsonl | {c["rows"]} | {start["tokens"]:,} | {corpus_sha} |
| valid.jsonl | {c["valid_rows"]} | {start["valid_tokens"]:,} (scored) | {valid_sha} |

## Training

`bin/mainline-train --threads {THREADS} --export ...` with OPENBLAS_NUM_THREADS={THREADS}
(OPENBLAS_CORETYPE={core or "unset"}) and these parameters (scripts/demo-base.json):

```json
{json.dumps(recipe["params"], indent=1)}
```

{start["total_steps"]} optimizer steps ({start["steps_per_epoch"]} per epoch), {seconds:.0f} s of wall
time on this machine ({platform.machine()}, {os.cpu_count()} cores, shared).

| step | train loss (nats/byte) |
|---|---|
{losses}

| step | validation NLL (nats/byte) |
|---|---|
{val_rows}

final validation NLL: {vals[-1]['nll']:.6f}

## Probes

What the model does with its own formats: `scripts/make-probes.py` ({probes[0][3]} rows
each, seed 12345), scored by `mainline-eval --complete` (the greedy continuation of
the prompt up to the end of the line must be exactly the expected one).
tests/shell/t3004 checks that the committed model still scores these counts.

| probe | what it asks | correct |
|---|---|---|
{probe_rows}

## Measured with the demo task

{notes}
"""
    with open(os.path.join(model, "README.md"), "w") as f:
        f.write(text)


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_files(path):
    """fsync every file of a flat directory, then the directory."""
    for name in os.listdir(path):
        with open(os.path.join(path, name), "rb") as f:
            os.fsync(f.fileno())
    fsync_dir(path)


def install(model):
    new, old = TARGET + ".new", TARGET + ".old"
    shutil.rmtree(new, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    shutil.copytree(model, new)
    fsync_files(new)
    if os.path.exists(TARGET):
        os.rename(TARGET, old)
    os.rename(new, TARGET)
    fsync_dir(os.path.dirname(TARGET))
    shutil.rmtree(old, ignore_errors=True)
    print(f"wrote {os.path.relpath(TARGET, TOP)}/")


def check(model):
    same = True
    for name in MODEL_FILES:
        a, b = sha256(os.path.join(model, name)), sha256(os.path.join(TARGET, name))
        print(f"{name}: {'same' if a == b else 'DIFFERENT'} ({a})")
        same = same and a == b
    print("base-model-check: " + ("reproduced bit for bit" if same else
                                  "the retrained model differs from sweeps/models/demo-base"))
    return 0 if same else 1


def main():
    ap = argparse.ArgumentParser(description="train the demo base model")
    ap.add_argument("--check", action="store_true", help="retrain and compare, do not install")
    ap.add_argument("--out", default=os.path.join(TOP, "build", "base-model"))
    ap.add_argument("--trainer", default=os.path.join(TOP, "bin", "mainline-train"))
    ap.add_argument("--readme-only", action="store_true",
                    help="rewrite README.md from the last run in --out (after editing the "
                         "recipe's notes) and install, without training again")
    a = ap.parse_args()
    with open(RECIPE) as f:
        recipe = json.load(f)
    if a.readme_only:
        model = os.path.join(a.out, "model")
        with open(os.path.join(a.out, "seconds")) as f:
            seconds, core = f.read().split()
        readme(recipe, a.out, model, float(seconds), None if core == "-" else core,
               probe(a.out, model, a.trainer))
        install(model)
        return 0
    os.makedirs(a.out, exist_ok=True)
    make_corpus(recipe, a.out)
    model, seconds, core = train(recipe, a.out, a.trainer)
    with open(os.path.join(a.out, "seconds"), "w") as f:
        f.write(f"{seconds:.1f} {core or '-'}\n")
    if a.check:
        return check(model)
    readme(recipe, a.out, model, seconds, core, probe(a.out, model, a.trainer))
    install(model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
