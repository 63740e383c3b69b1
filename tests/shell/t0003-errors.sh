#!/bin/sh
# t0003: errors outside the sweep file. A bad sweep leaves an existing registry as
# it was; usage errors exit 129, a missing registry is fatal (128) and says to plan
# first; every command has --help. The messages of bad sweep files themselves are
# tested in one place: tests/golden.
#
# Bodies are && chains (the harness evaluates them inside an `if`, where `set -e`
# has no effect), so every command's failure fails the test.
. "$(dirname "$0")/lib.sh"

no_registry() {
    for f in reg.db reg.db-wal reg.db-shm mainline.db mainline.db-wal; do
        if [ -e "$f" ]; then
            echo "$f was created"
            return 1
        fi
    done
}

# The example data and model, for the sweeps here that must plan.
link_inputs() {
    ln -s "$TOP/sweeps/data" data &&
    ln -s "$TOP/sweeps/models" models
}

# ---- a bad sweep ----
# What plan says of each bad sweep file, and that it writes no registry, is in
# tests/golden (err-*.yaml beside err-*.expect).

test_expect_success 'a bad sweep leaves an existing registry alone' '
    cp "$TOP/sweeps/rank-lr-grid.yaml" . &&
    link_inputs &&
    run_rc 0 mainline --registry reg.db plan rank-lr-grid.yaml &&
    sqlite3 reg.db "SELECT name, version, canon_sha256 FROM sweeps; SELECT count(*) FROM runs" >before &&
    bad=err-key-in-defaults-with-data &&
    cp "$TOP/tests/golden/$bad.yaml" . &&
    run_rc 1 mainline --registry reg.db plan $bad.yaml &&
    sed "\$d" "$TOP/tests/golden/$bad.expect" >expect &&
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

test_body 'bad option values say what was wrong, then the usage (129)' <<\EOF
    expect_exit 129 mainline run X -j abc 2>err1
    grep -q "^error: --jobs: 'abc' is not a whole number from 1 to 4096$" err1
    expect_exit 129 mainline run X -j 0 2>err2
    grep -q "^error: --jobs: '0' is not" err2
    expect_exit 129 mainline run X --threads-per-run -3 2>err3
    grep -q "^error: --threads-per-run: '-3' is not" err3
    expect_exit 129 mainline run X --executor pbs 2>err4
    grep -q "^error: --executor: 'pbs' is not local or slurm$" err4
    expect_exit 129 mainline report X -f pdf 2>err5
    grep -q "^error: --format: 'pdf' is not md, html, csv or json$" err5
    grep -q "^usage: mainline report" err5
EOF

test_body 'help of an unknown command suggests; -C of a missing directory is an error, 128' <<\EOF
    expect_exit 129 mainline help sattus 2>err1
    grep -q "^error: no such command 'sattus' (did you mean 'status'?)$" err1
    expect_exit 128 "$MAINLINE" -C "$PWD/no/such/dir" status 2>err2
    grep -q "^error: -C: cannot change to '$PWD/no/such/dir': No such file or directory$" err2
EOF

test_body 'data SUB --help prints that subcommand'"'"'s usage, exit 0' <<\EOF
    for sub in audit render split stats synth-math; do
        mainline data $sub --help >out
        head -n 1 out | grep -q "^usage: mainline data $sub "
    done
    mainline data --help >out
    head -n 1 out | grep -q "^usage: mainline data <subcommand>"
EOF

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

test_expect_success '-C into a missing directory is an error, 128' '
    run_rc 128 mainline -C nowhere status &&
    echo "error: -C: cannot change to '\''nowhere'\'': No such file or directory" >expect &&
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
    check_eq "first line" "usage: mainline plan SWEEP.yaml [--dry-run [--json]] [--new-version] [--verbose]" \
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
