#!/bin/sh
# t2004: jobs are kept off OpenBLAS's slow path, and `mainline doctor` says what they get.
. "$(dirname "$0")/lib.sh"

FAKES="$TOP/${BUILD:-build}/tests/fakes"

# A one-run sweep whose trainer is a shell script recording its environment.
setup() {
    cp -R "$TOP/sweeps/data" "$TOP/sweeps/models" . &&
    cat >env-trainer.sh <<EOF_SH &&
#!/bin/sh
env >"\$MAINLINE_RUN_DIR/env.txt"
exec "$FAKES/fake_trainer"
EOF_SH
    chmod +x env-trainer.sh &&
    cat >s.yaml <<EOF_YAML
sweep: blas
base_model: models/tiny-base/model.safetensors
datasets: {train: data/arith-train.jsonl}
trainer: {command: [$PWD/env-trainer.sh]}
defaults: {lr: 1.0e-4, x_steps: 2}
grid: {seed: [0]}
EOF_YAML
    mainline plan s.yaml >/dev/null
}

test_expect_success 'doctor reports the BLAS core, what jobs get, and a measured rate' '
    mainline doctor >out &&
    grep "^blas core (here) " out &&
    grep "^jobs get " out &&
    grep -E "^sgemm 512x512x512  [0-9.]+ GFLOP/s at 1 thread" out
'

test_expect_success 'a user OPENBLAS_CORETYPE is passed to jobs and recorded in config.json' '
    setup &&
    OPENBLAS_CORETYPE=Haswell mainline run blas -q >out &&
    grep -x "OPENBLAS_CORETYPE=Haswell" runs/blas/main-seed-0/env.txt &&
    grep "\"blas_coretype\": \"Haswell\"" runs/blas/main-seed-0/config.json &&
    OPENBLAS_CORETYPE=Haswell mainline doctor | grep -x "jobs get           OPENBLAS_CORETYPE=Haswell"
'

test_expect_success 'otherwise jobs get what the CPU features call for (or nothing)' '
    setup &&
    env -u OPENBLAS_CORETYPE "$MAINLINE" run blas -q >out &&
    want=$(env -u OPENBLAS_CORETYPE "$MAINLINE" doctor | sed -n "s/^jobs get           //p") &&
    case "$want" in
    OPENBLAS_CORETYPE=*) grep -x "$want" runs/blas/main-seed-0/env.txt ;;
    *) ! grep "^OPENBLAS_CORETYPE=" runs/blas/main-seed-0/env.txt ;;
    esac
'

test_done
