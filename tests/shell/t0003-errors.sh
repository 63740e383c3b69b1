#!/bin/sh
# t0003: errors. A bad sweep gets exact `error: FILE:LINE:COL: message` lines,
# exit status 1, nothing on stdout and no registry written; usage errors exit 129,
# a missing registry is fatal (128) and says to plan first; every command has
# --help.
#
# Bodies are && chains (the harness evaluates them inside an `if`, where `set -e`
# has no effect), so every command's failure fails the test. Each bad sweep and
# the exact stderr it must produce is written by a case_* function below.
. "$(dirname "$0")/lib.sh"

no_registry() {
    for f in reg.db reg.db-wal reg.db-shm mainline.db mainline.db-wal; do
        if [ -e "$f" ]; then
            echo "$f was created"
            return 1
        fi
    done
}

# The example data and model, so that only the error under test is reported.
link_inputs() {
    ln -s "$TOP/sweeps/data" data &&
    ln -s "$TOP/sweeps/models" models
}

# plan_fails FILE: exit 1, stderr exactly ./expect, nothing on stdout, no registry.
plan_fails() {
    link_inputs &&
    run_rc 1 mainline --registry reg.db plan "$1" &&
    test_cmp expect err &&
    must_be_empty out &&
    no_registry
}

# ---- the bad sweeps ----

case_unknown_top_key() {
    cat >bad.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datsets:
  train: data/arith-train.jsonl
grid:
  seed: [0, 1]
EOF
    cat >expect <<\EOF
error: bad.yaml:3:1: unknown key 'datsets' (did you mean 'datasets'?)
EOF
}

case_learnig_rate() {
    cat >bad.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
defaults:
  learnig_rate: 3.0e-4
grid:
  seed: [0, 1]
EOF
    cat >expect <<\EOF
error: bad.yaml:6:3: unknown key 'learnig_rate' (did you mean 'learning_rate'?)
EOF
}

case_stage_key_typo() {
    cat >bad.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
stages:
  a:
    grid: {seed: [0]}
    overides: {epochs: 1}
EOF
    cat >expect <<\EOF
error: bad.yaml:8:5: unknown key 'overides' (did you mean 'overrides'?)
EOF
}

case_unknown_keys_no_suggestion() {
    cat >bad.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
zzzzzzzz: 1
grid:
  seed: [0]
  qqqqqqq: [1]
EOF
    cat >expect <<\EOF
error: bad.yaml:5:1: unknown key 'zzzzzzzz' in the sweep
error: bad.yaml:8:3: unknown key 'qqqqqqq' in grid
EOF
}

case_wrong_type_scalar() {
    cat >bad.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
defaults: {epochs: two}
grid:
  seed: [0, 1]
EOF
    cat >expect <<\EOF
error: bad.yaml:5:20: 'epochs' must be an integer >= 1, not 'two'
EOF
}

case_wrong_type_grid_value() {
    cat >bad.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
grid:
  seed: [0]
  lr: [1.0e-4, fast]
EOF
    cat >expect <<\EOF
error: bad.yaml:7:16: 'lr' must be a number, not 'fast'
EOF
}

case_wrong_type_section() {
    cat >bad.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
grid: [1, 2]
EOF
    cat >expect <<\EOF
error: bad.yaml:5:7: 'grid' must be a mapping, not a list
EOF
}

case_empty_axis() {
    cat >bad.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
grid:
  seed: []
EOF
    cat >expect <<\EOF
error: bad.yaml:6:9: grid axis 'seed' has no values
EOF
}

case_empty_stage_grid() {
    cat >bad.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
stages:
  a:
    grid: {}
EOF
    cat >expect <<\EOF
error: bad.yaml:7:11: stage 'a' has an empty grid
EOF
}

case_unknown_condition() {
    cat >bad.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
conditions:
  all_layer: {adapter: lora}
grid:
  condition: [all_layer, al_layer, xyz]
EOF
    cat >expect <<\EOF
error: bad.yaml:8:26: unknown condition 'al_layer' (did you mean 'all_layer'?)
error: bad.yaml:8:36: unknown condition 'xyz' (not under conditions)
EOF
}

case_needs_cycle() {
    cat >bad.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
stages:
  a:
    needs: b
    grid: {seed: [0]}
  b:
    needs: c
    grid: {seed: [0]}
  c:
    needs: a
    grid: {seed: [0]}
EOF
    cat >expect <<\EOF
error: bad.yaml:7:5: stages need each other in a cycle: a -> b -> c -> a
EOF
}

case_needs_itself() {
    cat >bad.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
stages:
  a:
    needs: a
    grid: {seed: [0]}
EOF
    cat >expect <<\EOF
error: bad.yaml:7:5: stages need each other in a cycle: a -> a
EOF
}

case_needs_missing_stage() {
    cat >bad.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
stages:
  a:
    needs: zzz
    grid: {seed: [0]}
EOF
    cat >expect <<\EOF
error: bad.yaml:7:12: stage 'a' needs 'zzz', which is not a stage
EOF
}

case_from_missing_stage() {
    cat >bad.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
stages:
  lr_select:
    grid: {lr: [1.0e-4, 3.0e-4]}
    pick: {param: lr, by: min(val_nll)}
  main:
    needs: lr_select
    grid: {seed: [0]}
    lr: {from: lr_selct}
EOF
    cat >expect <<\EOF
error: bad.yaml:12:16: 'lr: {from: lr_selct}' names a stage that does not exist
EOF
}

case_missing_dataset() {
    cat >bad.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
  valid: data/nope.jsonl
grid:
  seed: [0]
EOF
    cat >expect <<\EOF
error: bad.yaml:5:10: dataset valid: cannot open 'data/nope.jsonl': No such file or directory
EOF
}

case_yaml_syntax() {
    cat >bad.yaml <<\EOF
sweep: s
datasets:
  train: data/arith-train.jsonl
grid: {seed: [0]
EOF
    cat >expect <<\EOF
error: bad.yaml:5:1: did not find expected ',' or '}' (while parsing a flow mapping at line 4)
EOF
}

case_duplicate_key() {
    cat >bad.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
defaults: {rank: 8, rank: 16}
grid: {seed: [0]}
EOF
    cat >expect <<\EOF
error: bad.yaml:5:21: duplicate key 'rank' (first at line 5)
EOF
}

case_several_errors() {
    cat >bad.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
defaults:
  learnig_rate: 3.0e-4
  epochs: two
stages:
  a:
    grid: {rank: [8, eight]}
    overides: {epochs: 1}
EOF
    cat >expect <<\EOF
error: bad.yaml:6:3: unknown key 'learnig_rate' (did you mean 'learning_rate'?)
error: bad.yaml:7:11: 'epochs' must be an integer >= 1, not 'two'
error: bad.yaml:10:22: 'rank' must be an integer >= 1, not 'eight'
error: bad.yaml:11:5: unknown key 'overides' (did you mean 'overrides'?)
EOF
}

# ---- bad sweeps: exact messages, exit 1, nothing written ----

test_expect_success 'unknown top-level key: did you mean' '
    case_unknown_top_key && plan_fails bad.yaml
'
test_expect_success 'learnig_rate: did you mean learning_rate' '
    case_learnig_rate && plan_fails bad.yaml
'
test_expect_success 'unknown key in a stage: did you mean' '
    case_stage_key_typo && plan_fails bad.yaml
'
test_expect_success 'unknown keys with nothing close say where they are' '
    case_unknown_keys_no_suggestion && plan_fails bad.yaml
'
test_expect_success 'wrong type: a word for an integer' '
    case_wrong_type_scalar && plan_fails bad.yaml
'
test_expect_success 'wrong type: a word in a numeric grid axis' '
    case_wrong_type_grid_value && plan_fails bad.yaml
'
test_expect_success 'wrong type: a list for a mapping' '
    case_wrong_type_section && plan_fails bad.yaml
'
test_expect_success 'empty grid axis' '
    case_empty_axis && plan_fails bad.yaml
'
test_expect_success 'empty stage grid' '
    case_empty_stage_grid && plan_fails bad.yaml
'
test_expect_success 'unknown condition, with and without a suggestion' '
    case_unknown_condition && plan_fails bad.yaml
'
test_expect_success 'needs cycle through three stages' '
    case_needs_cycle && plan_fails bad.yaml
'
test_expect_success 'a stage that needs itself' '
    case_needs_itself && plan_fails bad.yaml
'
test_expect_success 'needs naming a missing stage' '
    case_needs_missing_stage && plan_fails bad.yaml
'
test_expect_success 'from naming a missing stage' '
    case_from_missing_stage && plan_fails bad.yaml
'
test_expect_success 'missing dataset file' '
    case_missing_dataset && plan_fails bad.yaml
'
test_expect_success 'YAML syntax error' '
    case_yaml_syntax && plan_fails bad.yaml
'
test_expect_success 'duplicate key' '
    case_duplicate_key && plan_fails bad.yaml
'
test_expect_success 'every error of a file is reported, in file order' '
    case_several_errors && plan_fails bad.yaml
'

test_expect_success 'a missing base model is reported once, not once per run' '
    link_inputs &&
    cat >bad.yaml <<\EOF &&
sweep: s
base_model: models/tiny-base/nope.safetensors
datasets:
  train: data/arith-train.jsonl
grid: {seed: [0, 1, 2]}
EOF
    run_rc 1 mainline --registry reg.db plan bad.yaml &&
    check_eq "error lines" 1 "$(wc -l <err | tr -d " ")" &&
    grep "^error: bad\\.yaml:2:13: base_model.*: cannot open .models/tiny-base/nope\\.safetensors.: No such file or directory\$" err &&
    must_be_empty out &&
    no_registry
'

test_expect_success 'a missing, empty or unreadable sweep file' '
    run_rc 1 mainline --registry reg.db plan nope.yaml &&
    echo "error: nope.yaml: cannot open '\''nope.yaml'\'': No such file or directory" >expect &&
    test_cmp expect err &&
    : >empty.yaml &&
    run_rc 1 mainline --registry reg.db plan empty.yaml &&
    echo "error: empty.yaml: the sweep file is empty" >expect &&
    test_cmp expect err &&
    mkdir dir.yaml &&
    run_rc 1 mainline --registry reg.db plan dir.yaml &&
    echo "error: dir.yaml: cannot read '\''dir.yaml'\'': Is a directory" >expect &&
    test_cmp expect err &&
    no_registry
'

test_expect_success 'a bad sweep leaves an existing registry alone' '
    cp "$TOP/sweeps/rank-lr-grid.yaml" . &&
    link_inputs &&
    run_rc 0 mainline --registry reg.db plan rank-lr-grid.yaml &&
    sqlite3 reg.db "SELECT name, version, canon_sha256 FROM sweeps; SELECT count(*) FROM runs" >before &&
    case_learnig_rate &&
    run_rc 1 mainline --registry reg.db plan bad.yaml &&
    test_cmp expect err &&
    sqlite3 reg.db "SELECT name, version, canon_sha256 FROM sweeps; SELECT count(*) FROM runs" >after &&
    test_cmp before after
'

# ---- usage errors: 129 ----

test_expect_success 'plan without a file, with two files, with a bad option: usage, 129' '
    run_rc 129 mainline plan &&
    grep "^usage: mainline plan SWEEP.yaml" err &&
    must_be_empty out &&
    run_rc 129 mainline plan a.yaml b.yaml &&
    grep "^usage: mainline plan SWEEP.yaml" err &&
    run_rc 129 mainline plan --bogus a.yaml &&
    grep "^usage: mainline plan SWEEP.yaml" err &&
    no_registry
'

test_expect_success 'runs --bogus is a usage error (129) even without a registry' '
    run_rc 129 mainline runs --bogus &&
    grep "^usage: mainline runs" err &&
    must_be_empty out &&
    no_registry
'

test_expect_success 'runs --bogus, runs with an argument, status with two: 129 with a registry' '
    cp "$TOP/sweeps/rank-lr-grid.yaml" . &&
    link_inputs &&
    run_rc 0 mainline plan rank-lr-grid.yaml &&
    run_rc 129 mainline runs --bogus &&
    grep "^usage: mainline runs" err &&
    must_be_empty out &&
    run_rc 129 mainline runs extra &&
    grep "^usage: mainline runs" err &&
    run_rc 129 mainline status a b &&
    grep "^usage: mainline status" err &&
    run_rc 129 mainline show &&
    grep "^usage: mainline show" err
'

test_expect_success 'unknown command plna: 129, did you mean plan (a transposition)' '
    run_rc 129 mainline plna &&
    echo "error: unknown command '\''plna'\'' (did you mean '\''plan'\''?)" >expect &&
    test_cmp expect err &&
    must_be_empty out &&
    no_registry
'

test_expect_success 'unknown command: 129, with a suggestion only when one is close' '
    run_rc 129 mainline statu &&
    echo "error: unknown command '\''statu'\'' (did you mean '\''status'\''?)" >expect &&
    test_cmp expect err &&
    run_rc 129 mainline xyzzyq &&
    echo "error: unknown command '\''xyzzyq'\''; see '\''mainline help'\''" >expect &&
    test_cmp expect err &&
    no_registry
'

test_expect_success 'no command, unknown global option, --registry without a path: 129' '
    run_rc 129 mainline &&
    grep "^usage: mainline \\[--registry PATH\\] \\[-C DIR\\] <command>" err &&
    must_be_empty out &&
    run_rc 129 mainline --bogus status &&
    grep "^error: unknown option '\''--bogus'\''\$" err &&
    run_rc 129 mainline --registry &&
    grep "^error: --registry needs an argument\$" err &&
    run_rc 129 mainline help nope &&
    grep "^error: no such command '\''nope'\''\$" err
'

# ---- no registry: 128 ----

test_expect_success 'status, runs and show without a registry: 128, plan first' '
    run_rc 128 mainline status &&
    echo "error: no registry at '\''mainline.db'\'' (plan a sweep first: mainline plan SWEEP.yaml)" >expect &&
    test_cmp expect err &&
    must_be_empty out &&
    run_rc 128 mainline runs &&
    test_cmp expect err &&
    run_rc 128 mainline show main-seed-0 &&
    test_cmp expect err &&
    run_rc 128 mainline --registry elsewhere.db status &&
    echo "error: no registry at '\''elsewhere.db'\'' (plan a sweep first: mainline plan SWEEP.yaml)" >expect &&
    test_cmp expect err &&
    test ! -e elsewhere.db &&
    no_registry
'

test_expect_success '-C into a missing directory is fatal' '
    run_rc 128 mainline -C nowhere status &&
    echo "fatal: cannot change to '\''nowhere'\'': No such file or directory" >expect &&
    test_cmp expect err
'

# ---- help ----

test_expect_success 'mainline help lists the commands' '
    run_rc 0 mainline help &&
    sed -n "/^commands:/,/^\$/p" out | sed -n "s/^  \\([a-z][a-z-]*\\) .*/\\1/p" >commands &&
    for c in help plan runs show status version; do
        grep -x "$c" commands || { echo "help does not list $c"; exit 1; }
    done &&
    run_rc 0 mainline --help &&
    grep "^usage: mainline \\[--registry PATH\\] \\[-C DIR\\] <command>" out
'

test_expect_success '--help and -h on every command: exit 0, usage on stdout, no registry needed' '
    run_rc 0 mainline help &&
    sed -n "/^commands:/,/^\$/p" out | sed -n "s/^  \\([a-z][a-z-]*\\) .*/\\1/p" >commands &&
    test -s commands &&
    while read c; do
        run_rc 0 mainline $c --help || exit 1
        grep "^usage: mainline $c\\( \\|\$\\)" out >/dev/null ||
            { echo "$c --help: no usage line"; cat out; exit 1; }
        must_be_empty err || exit 1
        cp out long
        run_rc 0 mainline $c -h || exit 1
        test_cmp long out || exit 1
        run_rc 0 mainline help $c || exit 1
        test_cmp long out || exit 1
        echo "$c: --help, -h and help $c agree"
    done <commands &&
    no_registry
'

test_expect_success 'mainline help plan' '
    run_rc 0 mainline help plan &&
    check_eq "first line" "usage: mainline plan SWEEP.yaml [--dry-run] [--new-version] [--verbose]" \
        "$(head -n 1 out)" &&
    grep "^  -n, --dry-run " out &&
    grep "^      --new-version " out &&
    must_be_empty err
'

test_expect_success 'version' '
    run_rc 0 mainline version &&
    grep -x "mainline [0-9][0-9]*\\.[0-9][0-9]*\\.[0-9][0-9]*" out &&
    cp out expect &&
    run_rc 0 mainline --version &&
    test_cmp expect out
'

test_done
