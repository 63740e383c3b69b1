#!/bin/sh
# run.sh - golden tests for the sweep parser, and the one place sweep-file errors
# are tested: each NAME.expect here is the exact output (stdout and stderr) and
# exit status of
#   mainline plan --dry-run NAME.yaml
# run in this directory. NAME.yaml is the sweep file beside it (or, to check what
# plan says of them, a directory or nothing). A first line "# args: ..." adds plan
# options. When the status is not 0, plan without --dry-run (into a scratch
# registry) must exit the same with the same lines on stderr, nothing on stdout and
# no registry written. A sweep file too big to commit is NAME.make instead: a sh
# script that writes NAME.yaml on stdout, run here first; the file is removed at the
# end. GOLDEN_UPDATE=1 rewrites the .expect files (then read the diff before
# committing it).
here=$(cd "$(dirname "$0")" && pwd)
MAINLINE=${MAINLINE:-$here/../../bin/mainline}
cd "$here" || exit 1
unset OPENBLAS_VERBOSE   # it makes OpenBLAS print its core on stderr (shell/lib.sh)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mainline-golden.XXXXXX") || exit 1
made=
trap 'rm -rf "$tmp" $made' EXIT
passed=0
failed=0

for m in *.make; do
    [ -e "$m" ] || continue
    made="$made ${m%.make}.yaml"
    sh "$m" >"${m%.make}.yaml" || { failed=$((failed + 1)); echo "FAIL $m: exit $?"; }
done

# refused NAME ARGS...: plan (not a dry run) of NAME.yaml refuses it as NAME.expect
# says, writing nothing; else prints what differs and fails.
refused() {
    name=$1
    shift
    rc=0
    "$MAINLINE" --registry "$tmp/reg.db" plan "$@" "$name.yaml" >"$tmp/out" 2>"$tmp/err" ||
        rc=$?
    sed '$d' "$name.expect" >"$tmp/want"
    bad=0
    diff -u "$tmp/want" "$tmp/err" || bad=1
    [ ! -s "$tmp/out" ] || { echo "stdout of a refused plan:"; cat "$tmp/out"; bad=1; }
    [ "exit $rc" = "$(tail -n 1 "$name.expect")" ] || { echo "plan: exit $rc"; bad=1; }
    for f in "$tmp"/reg.db* mainline.db*; do
        [ ! -e "$f" ] || { echo "a refused plan wrote $f"; rm -f "$f"; bad=1; }
    done
    return $bad
}

for y in *.yaml; do
    [ -e "${y%.yaml}.expect" ] || { failed=$((failed + 1)); echo "FAIL $y: no .expect"; }
done
for e in *.expect; do
    name=${e%.expect}
    args=
    [ ! -f "$name.yaml" ] || args=$(sed -n '1s/^# args: //p' "$name.yaml")
    actual=$("$MAINLINE" plan --dry-run $args "$name.yaml" 2>&1; echo "exit $?")
    if [ -n "$GOLDEN_UPDATE" ]; then
        printf '%s\n' "$actual" >"$e"
    fi
    ok=0
    printf '%s\n' "$actual" | diff -u "$e" - >"$tmp/diff" 2>&1 || ok=1
    if [ "$ok" -eq 0 ] && [ "${actual##*
}" != "exit 0" ]; then
        refused "$name" $args >"$tmp/diff" 2>&1 || ok=1
    fi
    if [ "$ok" -eq 0 ]; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        cat "$tmp/diff"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
