#!/bin/sh
# bench_decode_gguf.sh - decoding tokens/s from GGUF files: mainline's evaluator
# (bench_decode_gguf.c: model_load() of the file, generate_greedy(), q8_0/q4_0 products in
# their blocks) against llama.cpp (node-llama-cpp 3.22.1's prebuilt CPU binaries, pinned by
# scripts/npm-llama.sh) on the same files, the same prompts and thread count, in the same
# run: f32, q8_0 and q4_0 of one random llama-shaped model (76M parameters, 300 MB as f32),
# at batch 1 and the evaluator's batch (EVAL_DEFAULT_BATCH, 32). Generated tokens per
# second of CPU time (user + system of the process, all its threads: on a shared machine,
# what the cores it got did) and of wall time, and mainline / llama.cpp. Also the
# projection kernel alone, both ways qmatmul.h knows.
#   BUILD=build sh bench/bench_decode_gguf.sh [NEW [THREADS]]     (64 and 1)
BUILD=${BUILD:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
NEW=${1:-64}
THREADS=${2:-1}
BATCH=$(sed -n 's/^#define EVAL_DEFAULT_BATCH \([0-9]*\).*/\1/p' "$TOP/evaluator/eval.h")
set -e
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-gguf.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "GGUF decoding: $NEW new tokens a sequence after 9 prompt tokens, $THREADS thread(s), batch 1 and $BATCH"
echo "machine: ${cpu:-unknown CPU}, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/bench/bench_decode_gguf" write "$tmp" | sed 's|'"$tmp"'/||'
"$BUILD/bench/bench_decode_gguf" kernel "$tmp"
"$BUILD/bench/bench_decode_gguf" run "$tmp" "$NEW" "$THREADS" 1 "$BATCH" >"$tmp/results"
if npm_dir=$(sh "$TOP/scripts/npm-llama.sh" 2>"$tmp/npm.err"); then
    for q in f32 q8_0 q4_0; do
        NODE_PATH="$npm_dir/node_modules" node "$TOP/bench/gguf_bench.mjs" "$tmp/$q.gguf" \
            "$tmp/prompts.jsonl" "$NEW" "$THREADS" 1 "$BATCH" </dev/null >>"$tmp/results"
    done
else
    echo "llama.cpp (node-llama-cpp) is not available: $(tail -n 1 "$tmp/npm.err")"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp/results" <<\EOF_PY
import sys
rows = {}
for line in open(sys.argv[1]):
    w = line.split()   # RUNTIME FILE batch B threads T tokens N wall S cpu S
    rows[(w[0], w[1], int(w[3]))] = (int(w[7]), float(w[9]), float(w[11]))
print("%-5s %5s %14s %14s %14s %14s %9s %9s" % ("file", "batch", "mainline tok/s",
      "(per CPU-s)", "llama.cpp tok/s", "(per CPU-s)", "ratio", "(CPU)"))
for f in ("f32", "q8_0", "q4_0"):
    for b in sorted({k[2] for k in rows if k[1] == f}):
        m, l = rows.get(("mainline", f, b)), rows.get(("llama.cpp", f, b))
        mw, mc = (m[0] / m[1], m[0] / m[2]) if m else (0, 0)
        lw, lc = (l[0] / l[1], l[0] / l[2]) if l else (0, 0)
        print("%-5s %5d %14.1f %14.1f %14s %14s %9s %9s" % (
            f, b, mw, mc, "%.1f" % lw if l else "-", "%.1f" % lc if l else "-",
            "%.2fx" % (mw / lw) if l else "-", "%.2fx" % (mc / lc) if l else "-"))
EOF_PY
