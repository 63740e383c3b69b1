#!/bin/sh
# t0005: every command of the command table, run where there is no registry.
#
# The commands that read one (status, runs, show, select, report, run, cancel, export of
# a sweep, and rules of a sweep name) exit 128 with "error: no registry at 'PATH' (plan a sweep
# first: ...)", PATH being the default, $MAINLINE_REGISTRY or --registry, and
# create nothing; their usage errors are still usage errors (129). The others
# (data and its subcommands, doctor, export --model, help, plan, rules of a sweep file,
# template, tokenize,
# version, and import of a bundle that is not there)
# work without one, and only plan (and import of a good bundle: t6012) creates one. A registry path in a missing
# directory, a directory, or a file that is not a database is fatal (128) too, and
# is left as it was. No command crashes or hangs: each gets 60 s, and a signal
# would show as an exit status above 128 that no case expects.
. "$(dirname "$0")/lib.sh"

# The commands that need a registry, with arguments: one line each.
needs_registry() {
    cat <<\EOF
status
status s
runs
runs --sweep s --where seed=0 --all-versions --json
show r
show --json s/r
show s/r --json
select s
report s
report --format html -o report.html s
rules s
run s
run s -j 1 --stage main --only r --retry-failed --fail-fast --quiet
run s --executor slurm --detach
cancel s
cancel s r
export s --format gguf -o m.gguf
export s r --format ollama --quant q4_0 -o o
EOF
}

# Usage errors of those commands: 129 before the registry is looked for.
usage_errors() {
    cat <<\EOF
status a b
runs extra
show
select
report --format pdf s
rules
run
run s -j 0
run s --executor pbs
cancel
export s
export --format gguf -o x
export s --format onnx -o x
EOF
}

# The commands that need no registry: exit status, then arguments. Run beside the
# example data and model and a copy of rank-lr-grid.yaml.
without_registry() {
    cat <<\EOF
0 help
0 help status
0 version
0 doctor
0 rules rank-lr-grid.yaml
0 plan --dry-run rank-lr-grid.yaml
129 data
0 data synth-math --out d --train 10 --valid 5 --bench 5
0 data render data/arith-train.jsonl --sweep rank-lr-grid.yaml
0 data stats data/arith-train.jsonl --sweep rank-lr-grid.yaml
0 data audit --sweep rank-lr-grid.yaml
0 data split data/arith-train.jsonl --valid-frac 0.1 --seed 1 --out-train a --out-valid b
1 template models/tiny-base
129 template
0 export --model models/tiny-base --format gguf --quant q8_0 -o t.gguf
1 import no-such-bundle.tgz
129 import
0 tokenize models/tiny-base
129 tokenize
EOF
}

# try CODE ARGS...: `mainline ARGS` exits CODE within 60 s; ./out and ./err hold
# what it printed.
try() {
    want=$1
    shift
    # stdin is empty: tokenize and template read it, and the loops feed cases on theirs
    run_rc "$want" timeout -k 5 60 "$MAINLINE" "$@" </dev/null
}

# no_registry_here: no registry file (or its -wal, -shm, -journal) in this directory.
no_registry_here() {
    for f in mainline.db*; do
        if [ -e "$f" ]; then
            echo "$f was created"
            return 1
        fi
    done
}

plan_first() {
    echo "error: no registry at '$1' (plan a sweep first: mainline plan SWEEP.yaml)"
}

test_expect_success 'the cases below cover every command and every data subcommand' '
    run_rc 0 mainline help &&
    sed -n "/^commands:/,/^\$/p" out | sed -n "s/^  \\([a-z][a-z-]*\\) .*/\\1/p" >commands &&
    test -s commands &&
    { needs_registry; without_registry | cut -d" " -f2-; } |
        cut -d" " -f1 | sort -u >covered &&
    sort commands >listed &&
    test_cmp listed covered &&
    run_rc 129 mainline data &&
    sed -n "s/^usage: mainline data \\([a-z|-]*\\) .*/\\1/p" err | tr "|" "\\n" | sort >subs &&
    test -s subs &&
    without_registry | sed -n "s/^[0-9]* data \\([a-z-]*\\).*/\\1/p" | sort -u >covered &&
    test_cmp subs covered
'

test_expect_success 'commands that read the registry: 128, plan first, nothing created' '
    needs_registry >cases &&
    plan_first mainline.db >expect &&
    while read -r args; do
        try 128 $args || exit 1
        test_cmp expect err || exit 1
        must_be_empty out || exit 1
        no_registry_here || exit 1
        test ! -e report.html || { echo "$args wrote report.html"; exit 1; }
        test ! -e runs || { echo "$args made runs/"; exit 1; }
    done <cases &&
    ls -A >left &&
    printf "%s\\n" cases err expect left out >want &&
    test_cmp want left
'

test_expect_success 'the path named is $MAINLINE_REGISTRY or --registry, whichever applies' '
    needs_registry >cases &&
    while read -r args; do
        MAINLINE_REGISTRY=env.db try 128 $args || exit 1
        plan_first env.db >expect && test_cmp expect err || exit 1
        MAINLINE_REGISTRY=env.db try 128 --registry flag.db $args || exit 1
        plan_first flag.db >expect && test_cmp expect err || exit 1
        test ! -e env.db && test ! -e flag.db || exit 1
    done <cases
'

test_expect_success 'a registry in a directory that does not exist: 128, plan first' '
    missing=$PWD/no/such/dir/x.db &&
    needs_registry >cases &&
    plan_first "$missing" >expect &&
    while read -r args; do
        try 128 --registry "$missing" $args || exit 1
        test_cmp expect err || exit 1
    done <cases &&
    test ! -e no
'

test_expect_success 'a registry path that is a directory: 128, says so, the directory stays empty' '
    mkdir adir &&
    needs_registry >cases &&
    while read -r args; do
        try 128 --registry adir $args || exit 1
        grep -x "error: registry '\''adir'\'': unable to open database file" err || exit 1
        must_be_empty out || exit 1
        test -z "$(ls -A adir)" || { echo "$args wrote into adir"; exit 1; }
    done <cases
'

test_expect_success 'a registry that is not a database: 128, says so, the file is untouched' '
    head -c 3000 /dev/urandom >garbage.db &&
    printf "not a registry\\n" >text.db &&
    sum_garbage=$(sha garbage.db) && sum_text=$(sha text.db) &&
    needs_registry >cases &&
    while read -r args; do
        for r in garbage.db text.db; do
            try 128 --registry $r $args || exit 1
            grep "^error: registry '\''$r'\'': .*file is not a database\$" err || exit 1
            test "$(wc -l <err)" -eq 1 || { cat err; exit 1; }
            must_be_empty out || exit 1
        done
    done <cases &&
    check_eq garbage.db "$sum_garbage" "$(sha garbage.db)" &&
    check_eq text.db "$sum_text" "$(sha text.db)" &&
    { ls -A | grep -e "-wal\$" -e "-shm\$" -e "-journal\$" >extra || :; } &&
    must_be_empty extra
'

test_expect_success 'their usage errors: 129 without a registry, usage on stderr' '
    usage_errors >cases &&
    while read -r cmd args; do
        try 129 $cmd $args || exit 1
        grep "^usage: mainline $cmd" err || exit 1
        must_be_empty out || exit 1
    done <cases &&
    no_registry_here
'

test_expect_success 'commands that need no registry work without one and create none' '
    ln -s "$TOP/sweeps/data" data &&
    ln -s "$TOP/sweeps/models" models &&
    cp "$TOP/sweeps/rank-lr-grid.yaml" . &&
    without_registry >cases &&
    while read -r code args; do
        try $code $args || exit 1
        no_registry_here || exit 1
        echo "$code $args"
    done <cases &&
    test -s d/train.jsonl && test -s a && test -s b
'

test_expect_success 'rules FILE with a registry that does not open: the rules, then 128' '
    cp "$TOP/sweeps/rank-lr-grid.yaml" . &&
    printf "not a registry\\n" >mainline.db &&
    try 128 rules rank-lr-grid.yaml &&
    grep "^rules sha256: " out &&
    grep "^error: registry '\''mainline.db'\'': .*file is not a database\$" err
'

test_expect_success 'plan is the command that creates the registry' '
    ln -s "$TOP/sweeps/data" data &&
    ln -s "$TOP/sweeps/models" models &&
    cp "$TOP/sweeps/rank-lr-grid.yaml" . &&
    try 0 plan rank-lr-grid.yaml &&
    test -s mainline.db &&
    try 0 status rank-lr-grid
'

test_done
