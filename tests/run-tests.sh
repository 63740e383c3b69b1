#!/bin/sh
# run-tests.sh - run every test: unit test binaries, golden sweep files, shell
# tests. Each prints "N passed, N failed" last; this adds them up and ends with
# the total in the same form. Exit status 1 when anything failed. A test's
# "skip: WHAT: WHY" lines (what it could not run on this machine) are shown under
# its result and counted before the total, passed or not.
#   BUILD=build BINDIR=bin sh tests/run-tests.sh [-v]
BUILD=${BUILD:-build}
BINDIR=${BINDIR:-bin}
export BUILD BINDIR
MAINLINE=$(cd "$BINDIR" && pwd)/mainline
export MAINLINE
top=$(pwd)
passed=0
failed=0
broken=""
skipped=0
skippers=""

run_one() {   # name, command...
    name=$1
    shift
    out=$("$@" 2>&1)
    status=$?
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -z "$line" ]; then
        printf '%s\n' "$out" | tail -n 20
        echo "FAIL $name (no result line, exit $status)"
        failed=$((failed + 1))
        broken="$broken $name"
        return
    fi
    p=${line%% passed*}
    f=${line#*passed, }
    f=${f%% failed}
    if [ "$f" -ne 0 ] || [ "$status" -ne 0 ]; then
        printf '%s\n' "$out" | grep -v '^ok ' | tail -n 40
        broken="$broken $name"
        [ "$f" -eq 0 ] && f=1
    fi
    [ -n "$VERBOSE" ] && printf '%s\n' "$out"
    printf '%-36s %s\n' "$name" "$line"
    skips=$(printf '%s\n' "$out" | grep '^skip: ')
    if [ -n "$skips" ]; then
        printf '%s\n' "$skips" | sed 's/^/    /'
        skipped=$((skipped + $(printf '%s\n' "$skips" | wc -l)))
        skippers="$skippers $name"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
}

[ "$1" = "-v" ] && VERBOSE=1

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "unit/$(basename "$t")" "$t"
done
run_one "golden" sh tests/golden/run.sh
for t in tests/shell/t[0-9]*.sh; do
    [ -f "$t" ] || continue
    cd "$top" || exit 1
    run_one "shell/$(basename "$t")" sh "$t"
done

[ -n "$broken" ] && echo "failing:$broken"
[ "$skipped" -eq 0 ] || echo "skipped: $skipped, in$skippers (see their skip: lines)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
