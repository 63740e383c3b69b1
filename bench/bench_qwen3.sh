#!/bin/sh
# bench_qwen3.sh - the issue 18 training benchmark: the built-in trainer and PyTorch on
# the same Qwen3-shaped model (2 layers of Qwen3-0.6B's shape, the 151,669-token
# vocabulary, tied; batch 2 x 256 of SFT rows, 114 prompt positions and 142 in the loss)
# in the same run, one after the other, per kind; PyTorch with its head on every
# position (as Hugging Face) and on the loss positions only (-H gather).
#   sh bench/bench_qwen3.sh [STEPS] [REPS] [KIND...]     (defaults 2 2 lora-all full)
# Needs build/bench/bench_train (make bench) and a python3 with torch.
set -e
cd "$(dirname "$0")/.."
steps=${1:-2}
reps=${2:-2}
shift 2 2>/dev/null || shift $#
kinds=${*:-lora-all full}
py=
for p in python3 /usr/bin/python3; do
    if "$p" -c 'import torch' 2>/dev/null; then py=$p; break; fi
done
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for k in $kinds; do
    build/bench/bench_train -m qwen3 -k "$k" -t 2 -s "$steps" -r "$reps" | grep -E '^qwen3|^sgemm'
    if [ -n "$py" ]; then
        "$py" bench/torch_qwen3.py -k "$k" -t 2 -s "$steps" -r "$reps" | grep '^torch qwen3'
    else
        echo "skip: PyTorch: no python3 with torch"
    fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
