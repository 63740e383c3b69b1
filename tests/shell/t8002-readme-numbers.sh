#!/bin/sh
# t8002: the README's demo figures come from the file `make demo` writes. From a
# given `mainline select` output (two variants and a gentle one, none the mainline),
# scripts/demo-numbers.sh writes the table (accuracy in %, per seed, retention NLL,
# diagnosis) and the verdict, bootstrap and mainline lines; scripts/readme-numbers.sh
# puts that file between the README's markers, keeps everything else, is idempotent,
# and refuses (changing nothing) a missing file or missing markers.
. "$(dirname "$0")/lib.sh"

write_select() {
    cat >select.txt <<\EOS
sweep demo version 1: 13 selections recorded under rules 0123456789ab

**Verdict:** winner: all_layer (mean accuracy 0.4183 vs 0.2383 for attention_only: gap 0.1800 >= threshold 0.02)

**Mainline:** no mainline: none of 3 candidates passes every layer: attention_only, quality problem: base_survived (retention NLL +2.0487 (worst seed) > 0.1)

### Mainline layers

| candidate | base survived | landed | usable | diagnosis |
|---|---|---|---|---|
| attention_only | fail: retention NLL +2.0487 (worst seed) > 0.1 | pass: gain over the base model +0.2383 >= 0.01 | pass: adapter 0.529 MB <= 5 | quality problem |
| all_layer | fail: retention NLL +3.0570 (worst seed) > 0.1 | pass: gain over the base model +0.4183 >= 0.01 | pass: adapter 1.32 MB <= 5 | quality problem |
| gentle | pass: retention NLL +0.0512 (worst seed) <= 0.1 | fail: gain over the base model +0.0050 < 0.01 | pass: adapter 0.02 MB <= 5 | did not land |

### accuracy by condition over seed

| condition | seeds | mean | min | max | range | per seed |
|---|---|---|---|---|---|---|
| attention_only | 3 | 0.2383 | 0.0250 | 0.4900 | 0.4650 | 0=0.2000, 1=0.4900, 2=0.0250 |
| all_layer | 3 | 0.4183 | 0.2950 | 0.5700 | 0.2750 | 0=0.2950, 1=0.5700, 2=0.3900 |
| gentle | 3 | 0.0050 | 0.0000 | 0.0100 | 0.0100 | 0=0.0050, 1=0.0100, 2=0.0000 |

Base model (untouched): accuracy 0.0000 (0 / 200)

### Disagreement: all_layer vs attention_only

| seed | all_layer only | attention_only only | both correct | both wrong | delta | McNemar p |
|---|---|---|---|---|---|---|
| all | 150 | 42 | 101 | 307 | +108 | 1.944e-15 |

Paired bootstrap of the mean gap (all_layer - attention_only) over seeds and examples: 0.1800, 95% interval [0.0583, 0.3533] (10000 resamples, seed 20240501)

### This result can say

- all_layer had the higher 3-seed mean accuracy in this run set (0.4183 vs 0.2383)
EOS
}

write_readme() {
    cat >README.md <<\EOS
# title

Before the figures.

<!-- demo-numbers:begin (scripts/readme-numbers.sh fills this from demo/numbers.md) -->
old figures
that go
<!-- demo-numbers:end -->

After the figures.
EOS
}

test_body 'demo-numbers.sh: the select output as the README block, accuracy in %' <<\EOF
    write_select
    sh "$TOP/scripts/demo-numbers.sh" select.txt 412 >numbers.md
    cat numbers.md
    grep -q '^Measured by `make demo` on [0-9-]*, .* ([0-9]* cores seen), 412 s wall\.$' numbers.md
    grep -qx '| untouched base model | 0.0% (0 / 200) | - | - | - |' numbers.md
    grep -qx '| attention_only | 23.8% | 20.0%, 49.0%, 2.5% | +2.0487 | quality problem |' numbers.md
    grep -qx '| all_layer | 41.8% | 29.5%, 57.0%, 39.0% | +3.0570 | quality problem |' numbers.md
    grep -qx '| gentle | 0.5% | 0.5%, 1.0%, 0.0% | +0.0512 | did not land |' numbers.md
    grep -qx -- '- Verdict: winner: all_layer (mean accuracy 0.4183 vs 0.2383 for attention_only: gap 0.1800 >= threshold 0.02)' numbers.md
    grep -qxF -- '- Paired bootstrap of the mean gap (all_layer - attention_only) over seeds and examples: 0.1800, 95% interval [0.0583, 0.3533] (10000 resamples, seed 20240501)' numbers.md
    grep -q '^- Mainline: no mainline: none of 3 candidates' numbers.md
    # the CPU model is the machine's own
    cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
    test -z "$cpu" || grep -qF "$cpu" numbers.md
    echo 'no tables here' >empty.txt
    run_rc 1 sh "$TOP/scripts/demo-numbers.sh" empty.txt
    run_rc 1 sh "$TOP/scripts/demo-numbers.sh" missing.txt
EOF

test_body 'demo-numbers.sh: with usable.quantized, the quantised accuracy and worst drop' <<\EOF
    write_select
    cat >>select.txt <<\EOS

### Quantised (q4_0) vs f32

| candidate | runs | f32 accuracy | q4_0 accuracy | drop (bound 0.02) |
|---|---|---|---|---|
| untouched base model | baseline | 0.0000 | 0.0050 | -0.0050 |
| attention_only | mean (worst drop) | 0.2383 | 0.2200 | +0.0300 |
|  | main-attention_only-seed-0 | 0.2000 | 0.1700 | +0.0300 |
| all_layer | mean (worst drop) | 0.4183 | 0.4100 | +0.0150 |
| gentle | mean (worst drop) | 0.0050 | 0.0050 | +0.0000 |
EOS
    sh "$TOP/scripts/demo-numbers.sh" select.txt >numbers.md
    cat numbers.md
    grep -qx '| variant | accuracy, mean of 3 seeds | per seed | q4_0 accuracy, mean (worst drop of a seed) | retention NLL increase, worst seed (nats/token) | mainline layers |' numbers.md
    grep -qx '| untouched base model | 0.0% (0 / 200) | - | 0.5% | - | - |' numbers.md
    grep -qx '| attention_only | 23.8% | 20.0%, 49.0%, 2.5% | 22.0% (+0.0300) | +2.0487 | quality problem |' numbers.md
    grep -qx '| all_layer | 41.8% | 29.5%, 57.0%, 39.0% | 41.0% (+0.0150) | +3.0570 | quality problem |' numbers.md
EOF

test_body 'readme-numbers.sh fills the table between the markers from the given file' <<\EOF
    write_readme
    printf '%s\n' '| variant | accuracy |' '|---|---|' '| gentle | 0.5% |' >numbers.md
    sh "$TOP/scripts/readme-numbers.sh" numbers.md README.md
    cat >want <<\EOS
# title

Before the figures.

<!-- demo-numbers:begin (scripts/readme-numbers.sh fills this from demo/numbers.md) -->
| variant | accuracy |
|---|---|
| gentle | 0.5% |
<!-- demo-numbers:end -->

After the figures.
EOS
    test_cmp want README.md
    # again: the same bytes
    sh "$TOP/scripts/readme-numbers.sh" numbers.md README.md
    test_cmp want README.md
EOF

test_body 'readme-numbers.sh refuses a missing file or missing markers, changing nothing' <<\EOF
    write_readme
    cp README.md before
    run_rc 1 sh "$TOP/scripts/readme-numbers.sh" nothing.md README.md
    grep -q 'run make demo first' err
    test_cmp before README.md
    : >empty.md
    run_rc 1 sh "$TOP/scripts/readme-numbers.sh" empty.md README.md
    echo '| x |' >numbers.md
    grep -v 'demo-numbers:end' before >README.md
    cp README.md nomarker
    run_rc 1 sh "$TOP/scripts/readme-numbers.sh" numbers.md README.md
    grep -q 'needs one' err
    test_cmp nomarker README.md
EOF

test_body 'the repository README has the markers and says the figures depend on the CPU' <<\EOF
    test "$(grep -c '^<!-- demo-numbers:begin' "$TOP/README.md")" -eq 1
    test "$(grep -c '^<!-- demo-numbers:end' "$TOP/README.md")" -eq 1
    grep -q 'bit-reproducible on one machine' "$TOP/README.md"
    cp "$TOP/README.md" README.md
    printf '%s\n' '| variant | accuracy |' >numbers.md
    sh "$TOP/scripts/readme-numbers.sh" numbers.md README.md
    grep -qx '| variant | accuracy |' README.md
EOF

test_done
