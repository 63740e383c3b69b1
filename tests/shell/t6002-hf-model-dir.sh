#!/bin/sh
# t6002: `base_model: hf://ORG/MODEL` names a model's whole directory on the hub.
# A local server (fetch_server.py, 127.0.0.1) serves a Hugging Face layout
# (ORG/MODEL/resolve/REV/...) through HF_ENDPOINT: a small Qwen3-shaped model
# (make_hf_model.py, a 258-token byte-level tokenizer from make_tiny_tokenizer.py)
# in two shards with model.safetensors.index.json. The tests check that every file
# is fetched once (the optional one the hub lacks asked once: a 404), that a second
# plan fetches nothing, that the plan records the sha256 of every file and the
# manifest's digest as the model's (sha256sum's listing of the directory), that a
# pin of that digest is checked, that a missing required file is an error naming
# its URL, that a changed shard of a local directory is a changed plan, and that a
# short LoRA run trains on the assembled directory. Nothing touches the real
# network or ~/.cache.
. "$(dirname "$0")/lib.sh"

WWW="$SCRATCH/www"
LOG="$SCRATCH/server.log"
export MAINLINE_CACHE="$SCRATCH/cache"
export MAINLINE_FETCH_BACKOFF=0.05 MAINLINE_FETCH_RETRIES=1
unset HF_TOKEN

M="$WWW/org/tiny/resolve/main"
python3 "$TOP/tests/shell/make_hf_model.py" "$M" qwen3 258
python3 "$TOP/tests/shell/make_tiny_tokenizer.py" "$M"
# two shards and their index, as transformers saves a sharded model
python3 - "$M" <<\PY
import json, os, struct, sys
d = sys.argv[1]
cfg = json.load(open(os.path.join(d, "config.json")))
cfg["eos_token_id"] = 257
json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
raw = open(os.path.join(d, "model.safetensors"), "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n])
body = raw[8 + n:]
head.pop("__metadata__", None)
names = sorted(head)
weight_map = {}
for i, part in enumerate([names[:len(names) // 2], names[len(names) // 2:]]):
    shard = "model-%05d-of-00002.safetensors" % (i + 1)
    h, blobs, off = {}, [], 0
    for k in part:
        a, b = head[k]["data_offsets"]
        h[k] = dict(head[k], data_offsets=[off, off + b - a])
        blobs.append(body[a:b])
        off += b - a
        weight_map[k] = shard
    hb = json.dumps(h, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    with open(os.path.join(d, shard), "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))
json.dump({"metadata": {"total_size": len(body)}, "weight_map": weight_map},
          open(os.path.join(d, "model.safetensors.index.json"), "w"))
os.remove(os.path.join(d, "model.safetensors"))
PY
# generation_config.json is served, special_tokens_map.json is not (optional)
echo '{"eos_token_id": 257}' >"$M/generation_config.json"
# another model without its tokenizer_config.json (required)
mkdir -p "$WWW/org/broken/resolve/main"
cp "$M/config.json" "$M/tokenizer.json" "$WWW/org/broken/resolve/main/"

python3 "$TOP/tests/shell/fetch_server.py" "$WWW" "$SCRATCH/port" "$LOG" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
i=0
while [ ! -s "$SCRATCH/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
export HF_ENDPOINT="http://127.0.0.1:$(cat "$SCRATCH/port")"
export WWW LOG

# sweep NAME BASE_MODEL: a short LoRA sweep on 8 rows of the demo's arithmetic data
sweep() {
    head -8 data/arith-train.jsonl >data/train8.jsonl
    cat >"$1.yaml" <<EOF_YAML
sweep: $1
base_model: $2
datasets:
  train: data/train8.jsonl
  valid: data/arith-valid.jsonl
  bench: data/arith-test.jsonl
render: {template: chat}
defaults: {adapter: lora, rank: 2, lr: 0.005, batch_size: 4, max_steps: 4, train_rows: 8,
           valid_rows: 4, max_seq_len: 256, eval_at: [end]}
grid: {seed: [0]}
evaluation: {dataset: bench, limit: 2, max_new_tokens: 4, extract: regex, pattern: "([0-9]+)"}
EOF_YAML
}

test_body 'hf://ORG/MODEL fetches the directory once, records every file, and trains' <<\EOF
cp -r "$TOP/sweeps/data" .
sweep t6002 "hf://org/tiny"
: >"$LOG"
mainline plan t6002.yaml >plan1.out 2>plan1.err || { cat plan1.out plan1.err; false; }
sort "$LOG" >got
for f in config.json generation_config.json model-00001-of-00002.safetensors \
         model-00002-of-00002.safetensors model.safetensors.index.json \
         special_tokens_map.json tokenizer.json tokenizer_config.json; do
    echo "GET /org/tiny/resolve/main/$f range=- if-range=no"
done >want
test_cmp want got
# the model's digest: sha256sum's sorted listing of the hub's files, hashed
want_sha=$(cd "$WWW/org/tiny/resolve/main" && sha256sum * | LC_ALL=C sort -k2 | sha256sum |
           cut -c1-64)
test "$(sql "SELECT sha256 FROM artifacts WHERE role = 'base_model'")" = "$want_sha"
test "$(sql "SELECT source FROM artifacts WHERE role = 'base_model'")" = "hf://org/tiny"
dir=$(sql "SELECT path FROM artifacts WHERE role = 'base_model'")
test "$dir" = "$MAINLINE_CACHE/models/$want_sha"
(cd "$WWW/org/tiny/resolve/main" && ls) >hub.ls
(cd "$dir" && ls) >dir.ls
test_cmp hub.ls dir.ls
# every file's sha256 is in the run's params, as the hub serves it
sql "SELECT params FROM runs" >params.json
python3 - "$WWW/org/tiny/resolve/main" <<\PY
import hashlib, json, os, sys
files = json.load(open("params.json"))["base_model"]["files"]
d = sys.argv[1]
want = {n: hashlib.sha256(open(os.path.join(d, n), "rb").read()).hexdigest()
        for n in os.listdir(d)}
assert files == want, (files, want)
PY
mainline show main-seed-0 >show.out
grep -q '"model-00002-of-00002.safetensors": ' show.out
# a second plan: nothing fetched
: >"$LOG"
mainline plan t6002.yaml >plan2.out
grep -q "already planned" plan2.out
test ! -s "$LOG"
# a pin of the manifest's digest is checked; a wrong one is refused
sweep pinned "{url: \"hf://org/tiny\", sha256: $want_sha}"
mainline plan --dry-run pinned.yaml >/dev/null
sweep badpin "{url: \"hf://org/tiny\", sha256: $(printf '%064d' 0)}"
run_rc 1 mainline plan --dry-run badpin.yaml
grep -q "the sweep pins 0000.* but the directory's manifest has $want_sha" err
# a short LoRA run on the assembled directory
run_rc 0 mainline run t6002
test "$(sql "SELECT state FROM runs")" = done
# `data stats` counts the tokens the trainer trained on: the model's chat template
# (from the cached directory), nothing added around it; the trainer's start event
# counts each example's tokens but the last (the inputs)
: >"$LOG"
mainline data stats data/train8.jsonl --sweep t6002.yaml >stats.out
test ! -s "$LOG"
grep -q "^tokens of the model's chat template's rendering, tokenizer of $dir;" stats.out
stats=$(sed -n 's/^\([0-9]*\) tokens in all;.*/\1/p' stats.out)
grep '"event":"start"' runs/t6002/main-seed-0/metrics.jsonl >start.json
python3 - "$stats" <<\PY
import json, sys
start = json.load(open("start.json"))
assert start["examples"] == 8 and start["tokens"] == int(sys.argv[1]) - 8, (start, sys.argv[1])
PY
# and the plan's estimate counts the same: 4 steps of 4 rows are two passes over the 8
grep -q "^main  *1  *$((2 * stats))  *4 " plan1.out
EOF

test_body 'a missing required file names its URL; a changed shard is a changed plan' <<\EOF
cp -r "$TOP/sweeps/data" .
sweep broken "hf://org/broken"
run_rc 1 mainline plan broken.yaml
url="$HF_ENDPOINT/org/broken/resolve/main/tokenizer_config.json"
need="base_model: the model directory needs tokenizer_config.json"
grep -F "$need: cannot fetch '$url': HTTP 404 (not retried)" err
# a local directory: every file recorded, and a changed shard refused at re-plan
mkdir -p models && cp -r "$WWW/org/tiny/resolve/main" models/tiny
sweep local models/tiny
mainline plan local.yaml >plan.out
sql "SELECT params FROM runs" | grep -q '"model-00001-of-00002.safetensors"'
printf 'x' >>models/tiny/model-00002-of-00002.safetensors
run_rc 1 mainline plan local.yaml
grep -q "new-version" err
EOF

test_done
