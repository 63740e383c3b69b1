#!/bin/sh
# t5005: `mainline data split` keeps every variant of a problem on one side
# (grouped by canonical problem text), hits the fraction with whole groups, is
# deterministic per seed, keeps lines byte for byte, and its output passes the
# leakage gate that an ungrouped split of the same file fails.
. "$(dirname "$0")/lib.sh"

# rows.jsonl: 40 problems, every 4th with two more variants (recased, respaced,
# another solution): 60 rows in 40 groups.
make_rows() {
    mainline data synth-math --out d --seed 9 --train 40 --valid 1 --bench 1 >/dev/null
    python3 - <<\PY
import json
out = []
for i, line in enumerate(open("d/train.jsonl")):
    r = json.loads(line)
    out.append(json.dumps(r))
    if i % 4 == 0:
        for k, p in enumerate([r["problem"].upper(), "  " + r["problem"].replace(" ", "  ")]):
            v = dict(r, problem=p, generated_solution="Variant %d. " % k + r["generated_solution"])
            out.append(json.dumps(v))
open("rows.jsonl", "w").write("\n".join(out) + "\n")
PY
}

test_body 'grouped, deterministic, byte-exact lines, no leakage' <<\EOF
make_rows
mainline data split rows.jsonl --valid-frac 0.25 --seed 4 --out-train t.jsonl --out-valid v.jsonl >out
grep -q "^rows.jsonl: 60 rows in 40 groups (by canonical problem text)$" out
test "$(($(wc -l <t.jsonl) + $(wc -l <v.jsonl)))" -eq 60
test "$(wc -l <v.jsonl)" -ge 15
sort rows.jsonl >a && cat t.jsonl v.jsonl | sort >b && test_cmp a b
mainline data split rows.jsonl --valid-frac 0.25 --seed 4 --out-train t2.jsonl --out-valid v2.jsonl >/dev/null
check_eq "same seed" "$(sha t.jsonl)$(sha v.jsonl)" "$(sha t2.jsonl)$(sha v2.jsonl)"
mainline data split rows.jsonl --valid-frac 0.25 --seed 5 --out-train t3.jsonl --out-valid v3.jsonl >/dev/null
refute test "$(sha v.jsonl)" = "$(sha v3.jsonl)"
python3 - <<\PY
import json
key = lambda l: " ".join("".join(c if c.isalnum() else " " for c in json.loads(l)["problem"].lower()).split())
t = {key(l) for l in open("t.jsonl")}
v = {key(l) for l in open("v.jsonl")}
assert not t & v, t & v
PY
cp -r "$TOP/sweeps/models" .
cat >s.yaml <<\EOY
sweep: s
base_model: models/tiny-base/model.safetensors
datasets: {train: t.jsonl, valid: v.jsonl}
grid: {seed: [0]}
EOY
run_rc 0 mainline data audit --sweep s.yaml
grep -q "^leakage  *pass  *0  *0 " out
# an ungrouped split (every 4th line) leaks the variants
awk 'NR % 4 != 0' rows.jsonl >t.jsonl
awk 'NR % 4 == 0' rows.jsonl >v.jsonl
run_rc 1 mainline data audit --sweep s.yaml
grep -q "^leakage        fail " out
EOF

test_body 'errors: bad options, a row with no problem' <<\EOF
make_rows
run_rc 129 mainline data split rows.jsonl --valid-frac 1.5 --seed 1 --out-train a --out-valid b
grep -q -- "--valid-frac must be a number between 0 and 1, not '1.5'" err
run_rc 129 mainline data split rows.jsonl --seed 1 --out-train a --out-valid b
printf '{"problem": "p"}\n{"text": "no problem here"}\n' >bad.jsonl
run_rc 1 mainline data split bad.jsonl --valid-frac 0.5 --seed 1 --out-train a --out-valid b
grep -q "^error: split: bad.jsonl:2: the row has no problem to group by (use --field NAME)$" err
refute test -e a
printf '{"q": "p"}\n{"q": "r"}\n' >q.jsonl
run_rc 0 mainline data split q.jsonl --field q --valid-frac 0.5 --seed 1 --out-train a --out-valid b
EOF

test_done
