#!/bin/sh
# bench_slurm.sh - a sweep of N runs of an instant trainer on a one-node Slurm cluster
# on this machine (scripts/slurm-local.sh), against the limit Slurm itself sets here:
# the same N trivial jobs submitted as one raw `sbatch --array` and waited for. Also
# mainline's own CPU per run (its children included: sbatch, scontrol, squeue) on
# Slurm and with the local executor. `make bench-slurm`; N is BENCH_SLURM_RUNS (1000).
#   BUILD=build BINDIR=bin sh bench/bench_slurm.sh
# On 2 CPUs Slurm starts about 2 jobs a second here, so 1000 runs take about 8 minutes
# each way. Needs root (the cluster).
BUILD=${BUILD:-build}
BINDIR=${BINDIR:-bin}
N=${BENCH_SLURM_RUNS:-1000}
TOP=$(pwd)
MAINLINE="$TOP/$BINDIR/mainline"
TRAINER="$TOP/$BUILD/bench/instant_trainer"
set -e
dir=$(mktemp -d "${TMPDIR:-/tmp}/mainline-bench-slurm.XXXXXX")
trap 'sh "$TOP/scripts/slurm-local.sh" stop "$dir/cluster" >/dev/null 2>&1; rm -rf "$dir"' EXIT
sh scripts/slurm-local.sh start "$dir/cluster" >"$dir/env" 2>"$dir/start.err" || {
    cat "$dir/start.err"
    echo "bench_slurm: no Slurm cluster here"
    exit 1
}
. "$dir/env"
export SLURM_CONF

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { print b - a }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { print a / b }'; }

# The reference: one raw array of N jobs that do nothing, until squeue lets go of it.
printf '#!/bin/sh\nexit 0\n' >"$dir/nothing.sh"
t0=$(now)
id=$(sbatch --parsable --array=0-$((N - 1)) -o /dev/null "$dir/nothing.sh")
while [ -n "$(squeue -h -j "$id" -o %i 2>/dev/null)" ]; do sleep 0.2; done
raw=$(elapsed "$t0" "$(now)")

# sweep EXECUTOR: N runs of the instant trainer; prints "WALL CPU" of `mainline run`.
sweep() {
    mkdir -p "$dir/$1"
    cd "$dir/$1"
    cat >s.yaml <<EOF_YAML
sweep: b
base_model: $TOP/sweeps/models/tiny-base/model.safetensors
datasets: {train: $TOP/sweeps/data/arith-train.jsonl}
trainer: {command: [$TRAINER]}
executor: $1
grid: {seed: [$(seq -s, 0 $((N - 1)))]}
EOF_YAML
    "$MAINLINE" plan s.yaml >/dev/null
    MAINLINE_SLURM_POLL=0.5 /usr/bin/time -f "%e %U %S" -o time.txt "$MAINLINE" run b -q \
        >run.out 2>&1 || { cat run.out; exit 1; }
    grep -q "^b: $N done" run.out || { cat run.out; exit 1; }
    awk '{ print $1, $2 + $3 }' time.txt
    cd "$TOP"
}
set -- $(sweep slurm)
wall=$1 cpu_slurm=$2
set -- $(sweep local)
cpu_local=$2

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "bench_slurm: $N runs of an instant trainer, one-node Slurm 22.05 on ${cpu:-?}, $(nproc) CPUs"
printf '  raw sbatch --array of %d jobs     %8.1f s\n' "$N" "$raw"
printf '  mainline run --executor slurm      %8.1f s   %.2fx the raw array (goal 1.25x)\n' \
    "$wall" "$(div "$wall" "$raw")"
printf '  mainline CPU per run, Slurm        %8.1f ms  (with sbatch, scontrol, squeue)\n' \
    "$(div "$cpu_slurm" "$N" | awk '{ print $1 * 1000 }')"
printf '  mainline CPU per run, local        %8.1f ms  (with the supervisor and trainer)\n' \
    "$(div "$cpu_local" "$N" | awk '{ print $1 * 1000 }')"
