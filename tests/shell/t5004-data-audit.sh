#!/bin/sh
# t5004: the integrity gates block a sweep. synth-math's clean files pass;
# its contaminated train file makes `mainline data audit` and `mainline plan`
# fail with a report naming the rows, and plan writes nothing; a waiver lets the
# sweep through, marked "waived"; the JSON report is written atomically and the
# registry keeps it with the sweep version.
. "$(dirname "$0")/lib.sh"

# sweep NAME TRAIN [AUDIT]: NAME.yaml on synth-math data.
sweep() {
    [ -d data ] || mainline data synth-math --out data --seed 3 --train 120 --valid 20 \
        --bench 40 --contaminate 6 >/dev/null
    cp -r "$TOP/sweeps/models" . 2>/dev/null || :
    cat >"$1.yaml" <<EOF
sweep: $1
base_model: models/tiny-base/model.safetensors
datasets:
  train: {path: data/$2, fields: {prompt: problem, completion: generated_solution}}
  valid: data/valid.jsonl
  bench: data/bench.jsonl
grid: {seed: [0]}
evaluation: {dataset: bench, extract: boxed}
${3:-}
EOF
}

test_body 'clean synth-math data passes every gate; plan records the report' <<\EOF
sweep clean train.jsonl
run_rc 0 mainline data audit --sweep clean.yaml --json audit.json
grep -q "^audit passed$" out
grep -q "^contamination  pass        0      0" out
python3 -c '
import json; r = json.load(open("audit.json"))
assert r["passed"] is True
assert [d["rows"] for d in r["datasets"]] == [120, 20, 40]
assert r["gates"]["answers"]["boxed"] == 120
'
run_rc 0 mainline plan clean.yaml
grep -q "^audit passed$" out
test "$(sql "SELECT json_extract(audit_json, '$.passed') FROM sweeps")" = 1
test "$(sql "SELECT json_extract(audit_json, '$.gates.contamination.status') FROM sweeps")" = pass
EOF

test_body 'the contaminated train file fails the audit, naming the rows' <<\EOF
sweep dirty contaminated-train.jsonl
run_rc 1 mainline data audit --sweep dirty.yaml --json audit.json
grep -q "^contamination  fail        6      0" out
test "$(grep -c "data/contaminated-train.jsonl:[0-9]* (train): same problem as bench line" out)" = 6
grep -q "^audit failed: contamination (fix the data, or waive in the sweep: audit: {waive: \[contamination\]})$" out
python3 - <<\PY
import json
r = json.load(open("audit.json"))
g = r["gates"]["contamination"]
assert r["passed"] is False and g["status"] == "fail" and g["count"] == 6
bench = [json.loads(l)["problem"] for l in open("data/bench.jsonl")]
dirty = open("data/contaminated-train.jsonl").read().splitlines()
for row in g["rows"]:
    # the named line really holds a benchmark problem (recased, respaced or renumbered)
    p = json.loads(dirty[row["line"] - 1])["problem"]
    b = bench[row["benchmark"]["line"] - 1]
    norm = lambda s: " ".join("".join(c if c.isalnum() else " " for c in s.lower().replace(".00", "")).split())
    assert norm(p) == norm(b), (p, b)
PY
EOF

test_body 'plan refuses a failing sweep and writes nothing, dry run or not' <<\EOF
sweep dirty contaminated-train.jsonl
run_rc 1 mainline plan dirty.yaml
grep -q "^contamination  fail        6      0" out
grep -q "^error: sweep 'dirty' not recorded: a data integrity gate failed" err
refute test -e mainline.db
run_rc 1 mainline plan --dry-run dirty.yaml
grep -q "^error: sweep 'dirty' not plannable" err
refute test -e mainline.db
EOF

test_body 'a waiver lets the sweep through, and the registry says what was waived' <<\EOF
sweep waived contaminated-train.jsonl "audit: {waive: [contamination]}"
run_rc 0 mainline data audit --sweep waived.yaml
grep -q "^contamination  waived      6      0" out
grep -q "^audit passed (waived: contamination)$" out
run_rc 0 mainline plan waived.yaml
test "$(sql "SELECT json_extract(audit_json, '$.gates.contamination.status') FROM sweeps")" = waived
test "$(sql "SELECT json_extract(audit_json, '$.gates.contamination.count') FROM sweeps")" = 6
EOF

test_body 'suspicious rows, a mismatched answer and a leaked problem are each named' <<\EOF
sweep bad train.jsonl "audit: {suspicious: ['set the value to']}"
python3 - <<\PY
import json
rows = [json.loads(l) for l in open("data/train.jsonl")]
rows[4]["generated_solution"] += " We need to set the value to 100."
rows[9]["expected_answer"] = "12345"
valid = [json.loads(l) for l in open("data/valid.jsonl")]
valid[2]["problem"] = rows[0]["problem"].upper()
open("data/train.jsonl", "w").write("".join(json.dumps(r) + "\n" for r in rows))
open("data/valid.jsonl", "w").write("".join(json.dumps(r) + "\n" for r in valid))
PY
run_rc 1 mainline data audit --sweep bad.yaml
grep -q "^  data/train.jsonl:5 (train): completion matches \"set the value to\"$" out
grep -q "^  data/train.jsonl:10 (train): \\\\boxed{.*} but the stated answer is \"12345\"$" out
grep -q "^  data/valid.jsonl:3 (valid): same problem as train line 1$" out
grep -q "^audit failed: leakage, answers, suspicious " out
EOF

test_body 'usage and unreadable data' <<\EOF
run_rc 129 mainline data audit
sweep gone train.jsonl
rm data/bench.jsonl
run_rc 1 mainline data audit --sweep gone.yaml
grep -q "^error: gone.yaml:[0-9]*:[0-9]*: dataset bench: cannot open 'data/bench.jsonl'" err
EOF

test_done
