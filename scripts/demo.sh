#!/bin/sh
# demo.sh - `make demo`: seed 001's experiment, end to end, on mainline's own task
# and base model. Generates the synthetic benchmark (deterministic: the sweep pins
# its sha256), plans sweeps/demo.yaml (the integrity gates run here), runs it with
# the built-in trainer and evaluator (an LR-selection stage, then attention-only vs
# all-layer LoRA x 3 seeds at the picked LR, a gentle variant x 3 seeds at a fixed
# low LR, plus the untouched base model), selects by the frozen rules and writes the
# report, and the figures the README quotes (demo/numbers.md: `make readme-numbers`
# puts them into README.md). Everything lives under demo/;
# running it again reuses what is done (plan is a no-op, finished runs are kept);
# after a change to the sweep (or the code its runs hash) it plans and runs a new
# version instead of stopping at the refusal.
set -e
cd "$(dirname "$0")/.."
bin=${BINDIR:-bin}
out=${DEMO_DIR:-demo}
db="$out/mainline.db"
ml() { "$bin/mainline" --registry "$db" "$@"; }
mkdir -p "$out"
start=$(date +%s)

echo "== mainline data synth-math (the demo task)"
"$bin/mainline" data synth-math --out sweeps/demo-data --seed 1

echo
echo "== mainline plan sweeps/demo.yaml"
ml plan --new-version sweeps/demo.yaml

echo
echo "== mainline run demo"
ml run demo -j "${DEMO_JOBS:-2}"

echo
echo "== mainline select demo"
ml select demo >"$out/select.txt"
sed -n '1,4p' "$out/select.txt"

ml report demo --format md -o "$out/report.md"
ml report demo --format html -o "$out/report.html"
echo
echo "== the verdict"
grep -m1 '^\*\*Verdict' "$out/report.md" || :
grep -m1 '^\*\*Mainline' "$out/report.md" || :
echo
echo "== mainline export (the deployable model, in the format usable.quantized checked)"
# The mainline's run when there is one; otherwise the best candidate's (the comparison's
# leader), the seed whose selected checkpoint scored highest: `export` itself refuses a
# sweep without a mainline, so the run is named.
ml select demo --json >"$out/select.json"
run=$(python3 scripts/demo-export-run.py "$out/select.json")
quant=$(sed -n 's/.*quantized: *{quant: *\([a-z0-9_]*\).*/\1/p' sweeps/demo.yaml | head -n 1)
quant=${quant:-q4_0}
rm -rf "$out/demo-$quant.gguf" "$out/ollama"
ml export demo $run --format gguf --quant "$quant" -o "$out/demo-$quant.gguf"
ml export demo $run --format ollama --quant "$quant" -o "$out/ollama"
echo "gguf:   $out/demo-$quant.gguf; ollama: $out/ollama (ollama create demo -f $out/ollama/Modelfile)"

echo
echo "report: $out/report.html (and $out/report.md); registry: $db"
echo "try:    sqlite3 -header -column $db 'select * from v_condition_summary'"
secs=$(( $(date +%s) - start ))
sh scripts/demo-numbers.sh "$out/select.txt" "$secs" >"$out/numbers.md"
echo "figures: $out/numbers.md (make readme-numbers puts them into README.md)"
echo "demo took $secs s"
