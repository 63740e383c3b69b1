# lib.sh - the shell-test harness (after git's t/test-lib.sh, much smaller).
#
#   . "$(dirname "$0")/lib.sh"
#   test_expect_success 'what it checks' '
#       mainline plan sweeps/x.yaml >out &&
#       grep -q "recorded" out
#   '
#   test_done
#
# Each test body runs in its own subshell inside a fresh scratch directory
# ($SCRATCH, removed at the end unless the test failed). `mainline` runs the
# binary under test ($MAINLINE, default bin/mainline). $TOP is the repository.
# -v shows every test's output; TEST_TRACE=1 also traces each body (set -x).
# $STORIES is llama2.c's stories260K from outside the repository; tests that need it
# run only `if have_stories WHAT`.

TOP=$(cd "$(dirname "$0")/../.." && pwd)
MAINLINE=${MAINLINE:-$TOP/bin/mainline}
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/mainline-test.XXXXXX")
export TOP MAINLINE SCRATCH
unset MAINLINE_REGISTRY
# OPENBLAS_VERBOSE=2 makes OpenBLAS print its core on every program's stderr, which
# tests compare byte for byte. Every other variable stays as the machine has it.
unset OPENBLAS_VERBOSE
# The directory holding models/: $MAINLINE_SHARED (relative to the repository, like
# the unit tests), else ../shared beside the repository.
SHARED=${MAINLINE_SHARED:-../shared}
case $SHARED in /*) ;; *) SHARED=$TOP/$SHARED ;; esac
STORIES=$SHARED/models/stories260K/stories260K.bin
test_passed=0
test_failed=0
test_verbose=
[ "$1" = "-v" ] && test_verbose=1

mainline() { "$MAINLINE" "$@"; }

test_expect_success() {
    desc=$1
    body=$2
    dir="$SCRATCH/t$((test_passed + test_failed + 1))"
    mkdir -p "$dir"
    # Not inside `if`: the shell ignores set -e in a tested command, and a body
    # whose middle command fails must fail.
    (cd "$dir" && eval "set -e${TEST_TRACE:+x}; $body") >"$dir.log" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        test_passed=$((test_passed + 1))
        echo "ok   $desc"
    else
        test_failed=$((test_failed + 1))
        echo "FAIL $desc"
        sed 's/^/    | /' "$dir.log" | tail -n 30
    fi
    [ -n "$test_verbose" ] && cat "$dir.log"
    return 0
}

# test_cmp EXPECTED ACTUAL: files equal, else show the diff.
test_cmp() {
    diff -u "$1" "$2"
}

# expect_exit CODE command...: the command exits with exactly CODE.
expect_exit() {
    want=$1
    shift
    set +e
    "$@"
    got=$?
    set -e
    if [ "$got" -ne "$want" ]; then
        echo "expected exit $want, got $got: $*"
        return 1
    fi
}

# ---- helpers the test families share ----

# TORCH_PY: a python3 that imports torch, the one in PATH, else Debian's
# (python3-torch); empty when there is none.
find_torch_python() {
    TORCH_PY=
    for py in python3 /usr/bin/python3; do
        if "$py" -c 'import torch' 2>/dev/null; then
            TORCH_PY=$(command -v "$py")
            break
        fi
    done
    export TORCH_PY
}

# skip WHAT WHY: say that WHAT does not run here, in the "skip:" line that
# tests/run-tests.sh repeats in its summary.
skip() {
    echo "skip: $1: $2"
}

# have_stories WHAT: true when $STORIES is readable, else skip WHAT saying so.
have_stories() {
    [ -r "$STORIES" ] && return 0
    skip "$1" "no $STORIES (set MAINLINE_SHARED to the directory holding models/)"
    return 1
}

# run_rc CODE CMD...: CMD's stdout goes to ./out, stderr to ./err; it must exit CODE.
run_rc() {
    want=$1
    shift
    if "$@" >out 2>err; then got=0; else got=$?; fi
    if [ "$got" -ne "$want" ]; then
        echo "expected exit $want, got $got: $*"
        echo "--- stdout:"; cat out
        echo "--- stderr:"; cat err
        return 1
    fi
}

# check_eq WHAT EXPECTED ACTUAL
check_eq() {
    if [ "$2" != "$3" ]; then
        printf '%s:\n  expected [%s]\n  got      [%s]\n' "$1" "$2" "$3"
        return 1
    fi
}

sha() {
    sha256sum "$1" | cut -d' ' -f1
}

must_be_empty() {
    if [ -s "$1" ]; then
        echo "$1 is not empty:"; cat "$1"
        return 1
    fi
}

# test_body DESC <<\EOF ... EOF: test_expect_success with the body on stdin, so
# SQL and Python in it can use both kinds of quotes.
test_body() {
    test_expect_success "$1" "$(cat)"
}

sql() {
    sqlite3 -cmd ".timeout 5000" mainline.db "$@"
}

# write_fake_sweep NAME: in this directory, s.yaml, a sweep NAME of three runs
# (main-seed-0, -1, -2) for the fake trainer, with its data and a 4 KiB base model.
write_fake_sweep() {
    cp -R "$TOP/sweeps/data" . && mkdir -p models &&
    head -c 4096 "$TOP/sweeps/models/tiny-base/model.safetensors" >models/base.bin &&
    cat >s.yaml <<EOF_YAML
sweep: $1
base_model: models/base.bin
datasets: {train: data/arith-train.jsonl}
trainer: {command: [$TOP/${BUILD:-build}/tests/fakes/fake_trainer], resume: true}
defaults: {lr: 1.0e-4, x_steps: 4}
grid: {seed: [0, 1, 2]}
EOF_YAML
}

# db_is_sound DB: PRAGMA integrity_check finds nothing wrong with DB. SQLite 3.40.1
# (Debian 12) says "NULL value in metrics.step" for every row of metrics, a WITHOUT
# ROWID table whose key lists its columns in another order, when nothing is wrong
# (registry/reg_check.c filters the same lines); those lines are left out here.
db_is_sound() {
    sqlite3 "$1" "PRAGMA integrity_check" >integrity.out 2>&1 || { cat integrity.out; return 1; }
    grep -v -e '^ok$' -e '^NULL value in metrics\.' integrity.out >integrity.bad || :
    must_be_empty integrity.bad
}

# refute CMD...: CMD must fail (a bare `! CMD` never stops a `set -e` body).
refute() {
    if "$@"; then
        echo "should have failed: $*"
        return 1
    fi
}

# fake_sweep NAME DEFAULTS SEEDS [EVALUATOR-ARGS]: NAME.yaml, runs main-seed-N for
# the seeds in SEEDS ("0, 1") trained by the fake trainer (with {run_dir} in its argv,
# so `pgrep -f $PWD/runs/` finds every job) and evaluated by the fake evaluator on
# bench with a baseline. EVALUATOR-ARGS go before its last argument, {out_dir}
# (", --sleep-ms, 100"). Copies the demo's data and models here.
fake_sweep() {
    cp -r "$TOP/sweeps/data" "$TOP/sweeps/models" .
    cat >"$1.yaml" <<EOF_YAML
sweep: $1
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
  valid: data/arith-valid.jsonl
  bench: data/arith-test.jsonl
trainer: {command: [$TOP/${BUILD:-build}/tests/fakes/fake_trainer, '{run_dir}'], resume: true}
evaluator: {command: [$TOP/${BUILD:-build}/tests/fakes/fake_evaluator $4, '{out_dir}']}
defaults: {$2}
grid: {seed: [$3]}
evaluation: {dataset: bench, baseline: true}
EOF_YAML
}

# wait_until SECONDS CMD...: poll CMD every 0.05 s until it succeeds.
wait_until() {
    tries=$(($1 * 20))
    shift
    until "$@"; do
        tries=$((tries - 1))
        if [ "$tries" -le 0 ]; then
            echo "gave up waiting for: $*"
            return 1
        fi
        sleep 0.05
    done
}

# jobs_of_this_test: pids of the supervisors and jobs under this test's runs/.
jobs_of_this_test() {
    pgrep -f "$PWD/runs/" || :
}

# kill_leftovers: `trap kill_leftovers EXIT` in a body that starts orchestrators in
# the background kills, by pid, the ones in $pid and $pid2 (empty them once waited
# for) and every job still running under this test's runs/.
kill_leftovers() {
    for p in $pid $pid2 $(jobs_of_this_test); do
        kill -9 "$p" 2>/dev/null || :
    done
}

# no_jobs_left: fails, listing them, while any job of this test still runs.
no_jobs_left() {
    if pgrep -af "$PWD/runs/"; then
        echo "jobs left running"
        return 1
    fi
}

# ---- Slurm tests (t9xxx): a one-node cluster from scripts/slurm-local.sh ----

# slurm_local start|stop|status [--accounting] DIR: the project's cluster script.
slurm_local() {
    sh "$TOP/scripts/slurm-local.sh" "$@"
}

# slurm_inactive ID: job or array ID has left squeue's active jobs (finished or cancelled).
slurm_inactive() {
    [ -z "$(squeue -h -j "$1" -o %i 2>/dev/null)" ]
}

# proc_gone PID: no such process, or a zombie: daemons that exit linger as zombies of PID 1
# here, and kill -0 succeeds on those.
proc_gone() {
    [ ! -r "/proc/$1/stat" ] || [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" = Z ]
}

# slurm_test_cluster [--accounting] [TEST [PORT]]: start this test's cluster in
# $SCRATCH/cluster ($CLUSTER), export its SLURM_CONF and stop it on exit (end the file
# with slurm_test_done, or call slurm_test_cluster_stop before test_done, which removes
# the pid files a stop needs). PORT (and PORT + 1): slurmctld's and slurmd's, else the
# first free from 6817. Where Slurm cannot be had, says `skip:` for TEST and exits 0.
slurm_test_cluster() {
    stc_acct=
    [ "${1:-}" = --accounting ] && stc_acct=--accounting && shift
    stc_test=${1:-$(basename "$0" .sh)}
    CLUSTER="$SCRATCH/cluster"
    export CLUSTER
    stc_rc=0
    SLURM_LOCAL_CTLD_PORT=${2:-} SLURM_LOCAL_SLURMD_PORT=${2:+$(($2 + 1))} \
        slurm_local start $stc_acct "$CLUSTER" >"$SCRATCH/cluster.env" \
        2>"$SCRATCH/cluster.err" || stc_rc=$?
    if [ "$stc_rc" -eq 3 ]; then
        skip "$stc_test" "no Slurm cluster here: $(tail -n 1 "$SCRATCH/cluster.err")"
        echo "0 passed, 0 failed"
        exit 0
    elif [ "$stc_rc" -ne 0 ]; then
        cat "$SCRATCH/cluster.err"
        echo "cannot start the test cluster"
        echo "0 passed, 1 failed"
        exit 1
    fi
    . "$SCRATCH/cluster.env"
    export SLURM_CONF
    trap 'slurm_local stop "$CLUSTER" >/dev/null 2>&1' EXIT
    trap 'exit 1' INT TERM
}

# slurm_test_cluster_stop: stop the cluster of slurm_test_cluster; a failure to is one.
slurm_test_cluster_stop() {
    if ! slurm_local stop "$CLUSTER" >"$SCRATCH/stop.err" 2>&1; then
        cat "$SCRATCH/stop.err"
        echo "FAIL stopping the test cluster"
        test_failed=$((test_failed + 1))
    fi
    trap - EXIT
}

# slurm_test_done: slurm_test_cluster_stop, then test_done.
slurm_test_done() {
    slurm_test_cluster_stop
    test_done
}

# slurm_sweep NAME DEFAULTS SEEDS [MORE-YAML]: fake_sweep's NAME.yaml on the Slurm
# executor, with MORE-YAML lines, planned.
slurm_sweep() {
    fake_sweep "$1" "$2" "$3"
    printf 'executor: slurm\n%s\n' "${4:-}" >>"$1.yaml"
    mainline plan "$1.yaml" >/dev/null
}

# no_double_submits: no job name was submitted twice (of the jobs Slurm still knows).
no_double_submits() {
    squeue -h -t all -o '%j' | grep '^mainline/' | sort | uniq -d >doubles
    must_be_empty doubles
}

# job_of RUN: the Slurm job id the registry records for RUN.
job_of() {
    sql "SELECT job_id FROM runs WHERE run_id = '$1'"
}

test_done() {
    [ "$test_failed" -eq 0 ] && rm -rf "$SCRATCH"
    echo "$test_passed passed, $test_failed failed"
    [ "$test_failed" -eq 0 ]
}
