#!/bin/sh
# t5006: `mainline plan` estimates, per stage and in total, training tokens and
# optimizer steps (exact on a small fixed file), money when the sweep has a
# price, and time from the trainer's measured tok/s of earlier runs on the same
# base model -- "unknown" before there are any.
. "$(dirname "$0")/lib.sh"

case "${BINDIR:-bin}" in
/*) TRAINER=${TRAINER:-${BINDIR}/mainline-train} ;;
*) TRAINER=${TRAINER:-$TOP/${BINDIR:-bin}/mainline-train} ;;
esac
export TRAINER

# Rows of 10, 20, 30 and 40 tokens (BOS + "aaaa\n" + completion + EOS, byte
# tokenizer); max_seq_len 25 keeps 10, 20, 25 and 25.
setup() {
    cp -r "$TOP/sweeps/models" .
    cat >fixed.jsonl <<\EOF
{"q": "aaaa", "s": "abc"}
{"q": "aaaa", "s": "abcdefghijklm"}
{"q": "aaaa", "s": "abcdefghijklmnopqrstuvw"}
{"q": "aaaa", "s": "abcdefghijklmnopqrstuvwxyz0123456"}
EOF
    cat >"$1.yaml" <<EOF
sweep: $1
base_model: models/tiny-base/model.safetensors
datasets:
  train: {path: fixed.jsonl, fields: {prompt: q, completion: s}}
defaults: {max_seq_len: 25, adapter: lora, rank: 2, lr: 0.001}
stages:
  s1:
    grid: {seed: [0, 1]}
    overrides: {train_rows: 2, batch_size: 1, epochs: 2}
  s2:
    grid: {seed: [0]}
    overrides: {batch_size: 2, max_steps: 3}
audit: {waive: [answers]}
$2
EOF
}

test_body 'tokens and steps per stage, exact; money with a price; time unknown' <<\EOF
setup est "cost: {train_per_mtok: 10000}"
mainline plan --dry-run est.yaml >out
# s1: 2 runs x 2 epochs x (10 + 20); s2: 3 steps of 2 per epoch = 1.5 epochs x 80
cat >want <<\EOW
estimate: the 'train' dataset (4 rows), rendered and tokenized as each run's trainer will see it
STAGE  RUNS  TRAIN TOKENS  STEPS     TIME  COST
s1        2           120      8  unknown  1.20
s2        1           120      3  unknown  1.20
total     3           240     11  unknown  2.40
time: unknown (no measured throughput for models/tiny-base/model.safetensors in the registry)
cost: 10000.00 per million training tokens (cost: train_per_mtok)
EOW
sed -n '/^estimate:/,/^cost:/p' out >got
test_cmp want got
EOF

test_body 'time from the measured throughput of earlier runs on the same base model' <<\EOF
setup first
mainline plan first.yaml >/dev/null
run_rc 0 mainline run first
test "$(sql "SELECT count(*) FROM metrics WHERE name = 'tok_per_s' AND value > 0")" -gt 0
setup second
mainline plan --dry-run second.yaml >out
median=$(sql "SELECT value FROM metrics WHERE name = 'tok_per_s' AND value > 0 ORDER BY value" |
    python3 -c 'import sys; v = [float(x) for x in sys.stdin]; n = len(v)
print(v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2)')
reports=$(sql "SELECT count(*) FROM metrics WHERE name = 'tok_per_s' AND value > 0")
python3 - "$median" "$reports" <<\PY
import sys
median, reports = float(sys.argv[1]), int(sys.argv[2])
def fmt(s):
    t = int(s + 0.5)
    return "<1s" if s < 0.5 else "%dh%02dm" % (t // 3600, t % 3600 // 60) if t >= 3600 else \
           "%dm%02ds" % (t // 60, t % 60) if t >= 60 else "%ds" % t
# positions (tokens minus one per example trained): s1 2 x 2 x (9 + 19), s2 1.5 x 76
s1, s2 = 2 * 2 * (9 + 19) / median, 1.5 * 76 / median
out = open("out").read()
rows = {l.split()[0]: l.split() for l in out.splitlines() if l.split()[:1] in (["s1"], ["total"])}
assert rows["s1"] == ["s1", "2", "120", "8", fmt(s1)], rows
assert rows["total"] == ["total", "3", "240", "11", fmt(s1 + s2)], rows
assert ("time: models/tiny-base/model.safetensors trains at %.0f tok/s (the median of %d "
        "tok_per_s reports from 3 earlier runs), one run at a time" % (median, reports)) in out, out
PY
EOF

test_body 'no train dataset: no estimate, and planning goes on' <<\EOF
cp -r "$TOP/sweeps/models" .
printf 'sweep: nt\nbase_model: models/tiny-base/model.safetensors\ngrid: {seed: [0]}\n' >nt.yaml
run_rc 0 mainline plan --dry-run nt.yaml
grep -q "^estimate: none (no dataset named 'train' to count tokens of)$" out
EOF

test_done
