#!/bin/sh
# t8001: the demo sweep of `make demo` stays runnable: synth-math with the demo's
# seed reproduces exactly the bytes sweeps/demo.yaml pins, the committed base
# model and retention set match their pins, every integrity gate passes, and the
# plan has the expected stages (4 LR-selection runs, 6 main runs waiting on them,
# 3 runs of the gentle variant at its fixed lr).
# The full demo (training, evaluation, the q4_0 pass and the exports; about 7 minutes on
# 2 cores: README.md, "What `make demo` shows") is `make demo`.
. "$(dirname "$0")/lib.sh"

test_body 'demo.yaml plans: its data, model and retention pins hold; the gates pass' <<\EOF
    mkdir -p sweeps
    cp "$TOP/sweeps/demo.yaml" sweeps/
    ln -s "$TOP/sweeps/models" sweeps/models
    mkdir -p sweeps/data
    cp "$TOP/sweeps/data/demo-retention.jsonl" sweeps/data/
    mainline data synth-math --out sweeps/demo-data --seed 1 >/dev/null
    run_rc 0 mainline plan sweeps/demo.yaml
    cat out
    grep -q "^audit passed" out
    grep -q "recorded sweep 'demo' version 1: 13 runs" out
    check_eq "stages" "lr_select|4|0;main|6|6;fixed_lr|3|0" \
        "$(sql "select stage, runs, waiting from v_stage_summary order by first_ord" | tr '\n' ';' | sed 's/;$//')"
EOF

test_body 'data made with another seed is refused by the pins' <<\EOF
    mkdir -p sweeps/data
    cp "$TOP/sweeps/demo.yaml" sweeps/
    ln -s "$TOP/sweeps/models" sweeps/models
    cp "$TOP/sweeps/data/demo-retention.jsonl" sweeps/data/
    mainline data synth-math --out sweeps/demo-data --seed 2 >/dev/null
    run_rc 1 mainline plan sweeps/demo.yaml
    cat err
    grep -q "sha256 mismatch for dataset .sweeps/demo-data/bench.jsonl." err
    test ! -e mainline.db
EOF

test_done
