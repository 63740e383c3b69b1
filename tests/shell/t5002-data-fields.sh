#!/bin/sh
# t5002: a dataset's `fields:` mapping and the sweep's `render:` reach the
# built-in trainer through config.json: rows with field names no built-in shape
# knows train under the mapping (and fail without it), and the rendering
# contract is part of the frozen contract's digest.
. "$(dirname "$0")/lib.sh"

case "${BINDIR:-bin}" in
/*) TRAINER=${TRAINER:-${BINDIR}/mainline-train} ;;
*) TRAINER=${TRAINER:-$TOP/${BINDIR:-bin}/mainline-train} ;;
esac
export TRAINER

# mapped_sweep NAME FIELDS RENDER: q/a rows (renamed from the arithmetic data).
mapped_sweep() {
    cp -r "$TOP/sweeps/models" .
    mkdir -p data
    for f in train valid; do
        python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(json.dumps({"q": r["problem"], "a": r["generated_solution"], "gold": r["expected_answer"]}))
' "$TOP/sweeps/data/arith-$f.jsonl" >data/$f.jsonl
    done
    cat >"$1.yaml" <<EOF
sweep: $1
base_model: models/tiny-base/model.safetensors
datasets:
  train: {path: data/train.jsonl$2}
  valid: {path: data/valid.jsonl$2}
$3
defaults: {adapter: lora, rank: 2, lr: 0.005, batch_size: 4, max_steps: 2, train_rows: 8,
           valid_rows: 4, eval_at: [end]}
grid: {seed: [0]}
EOF
}

test_body 'mapped fields and the render contract reach the trainer' <<\EOF
mapped_sweep t5002 ", fields: {prompt: q, completion: a, answer: gold}" \
    'render: {system: "Solve it.", template: chatml}'
mainline plan t5002.yaml >plan.out
run_rc 0 mainline run t5002
test "$(sql "SELECT state FROM runs")" = done
python3 - <<\PY
import json
c = json.load(open("runs/t5002/main-seed-0/config.json"))
assert c["render"] == {"system": "Solve it.", "template": "chatml"}, c["render"]
assert c["datasets"]["train"]["fields"] == {"prompt": "q", "completion": "a", "answer": "gold"}
assert c["datasets"]["valid"]["fields"]["prompt"] == "q"
PY
EOF

test_body 'without the mapping the trainer refuses the rows, naming file and line' <<\EOF
mapped_sweep t5002b "" ""
mainline plan t5002b.yaml >plan.out
run_rc 1 mainline run t5002b
test "$(sql "SELECT state FROM runs")" = failed
grep -q "train.jsonl:1: the row has none of" runs/t5002b/main-seed-0/stderr.log
EOF

test_body 'the rendering contract changes the contract digest' <<\EOF
mapped_sweep a ", fields: {prompt: q, completion: a}" 'render: {template: chatml}'
mainline plan --dry-run a.yaml >a.out
sed 's/template: chatml/template: plain/' a.yaml >b.yaml
mainline plan --dry-run b.yaml >b.out
sed 's/completion: a}/completion: a, answer: gold}/' a.yaml >c.yaml
mainline plan --dry-run c.yaml >c.out
ca=$(grep "contract sha256" a.out) cb=$(grep "contract sha256" b.out) cc=$(grep "contract sha256" c.out)
refute test "$ca" = "$cb"
refute test "$ca" = "$cc"
mainline plan a.yaml >/dev/null
sql "SELECT contract_json FROM sweeps" | python3 -c '
import json, sys
c = json.load(sys.stdin)
assert c["render"] == {"template": "chatml"}, c
assert c["fields"] == {"train": {"prompt": "q", "completion": "a"},
                       "valid": {"prompt": "q", "completion": "a"}}, c
'
EOF

test_done
