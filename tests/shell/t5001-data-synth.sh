#!/bin/sh
# t5001: `mainline data synth-math` writes the demo task deterministically: the
# same seed gives byte-identical files, another seed different ones; counts;
# every solution ends in \boxed{expected_answer}; benchmark numbers are all
# = 3 mod 5 and training numbers never; the contaminated file is train plus
# benchmark problems; bad options are usage errors.
. "$(dirname "$0")/lib.sh"

test_body 'the same seed writes byte-identical files; another seed does not' <<\EOF
mainline data synth-math --out a --seed 5 --train 300 --valid 40 --bench 60 >out
mainline data synth-math --out b --seed 5 --train 300 --valid 40 --bench 60 >/dev/null
mainline data synth-math --out c --seed 6 --train 300 --valid 40 --bench 60 >/dev/null
for f in train valid bench contaminated-train; do
    check_eq "$f same seed" "$(sha a/$f.jsonl)" "$(sha b/$f.jsonl)"
    refute test "$(sha a/$f.jsonl)" = "$(sha c/$f.jsonl)"
done
check_eq train "300" "$(wc -l <a/train.jsonl | tr -d ' ')"
check_eq valid "40" "$(wc -l <a/valid.jsonl | tr -d ' ')"
check_eq bench "60" "$(wc -l <a/bench.jsonl | tr -d ' ')"
check_eq contaminated "308" "$(wc -l <a/contaminated-train.jsonl | tr -d ' ')"
grep -q "a/contaminated-train.jsonl  308 rows (train + 8 benchmark problems)" out
ls a >files
printf 'bench.jsonl\ncontaminated-train.jsonl\ntrain.jsonl\nvalid.jsonl\n' >want
test_cmp want files
EOF

test_body 'rows: field names, boxed answers, numbers on their side of the split' <<\EOF
mainline data synth-math --out d --seed 1 --train 400 --valid 50 --bench 100 >/dev/null
python3 - <<\PY
import json, re
def rows(name):
    return [json.loads(l) for l in open("d/%s.jsonl" % name)]
sides = {"train": False, "valid": False, "bench": True}
seen = set()
for name, held in sides.items():
    for r in rows(name):
        assert list(r) == ["problem", "generated_solution", "expected_answer", "problem_source"], r
        assert r["generated_solution"].endswith("The answer is \\boxed{%s}." % r["expected_answer"])
        assert r["problem_source"] in ("shopping", "rates", "ages", "fractions"), r
        steps = r["generated_solution"].count(" = ")
        assert 2 <= steps <= 4, r
        for n in re.findall(r"\d+", r["problem"]):
            assert (int(n) % 5 == 3) == held, (name, n, r["problem"])
        key = " ".join(re.findall(r"\w+", r["problem"].lower()))
        assert key not in seen, r
        seen.add(key)
train = rows("train")
dirty = rows("contaminated-train")
bench = {r["problem"] for r in rows("bench")}
assert [r for r in dirty if r in train] == train
extra = [r for r in dirty if r not in train]
assert len(extra) == 8
assert sum(r["problem"] in bench for r in extra) == 2   # verbatim; the rest disguised
PY
EOF

test_body 'bad options are usage errors and write nothing' <<\EOF
run_rc 129 mainline data synth-math --seed 1
run_rc 129 mainline data synth-math --out x --train 0
grep -q -- "--train must be an integer >= 1, not '0'" err
run_rc 129 mainline data synth-math --out x --seed -3
run_rc 129 mainline data synth-maths --out x
grep -q "unknown data subcommand 'synth-maths' (did you mean 'synth-math'?)" err
refute test -e x
EOF

test_done
