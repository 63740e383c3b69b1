#!/bin/sh
# run.sh - golden tests for the sweep parser: each NAME.yaml here sits beside
# NAME.expect, the exact output (stdout and stderr) and exit status of
#   mainline plan --dry-run NAME.yaml
# run in this directory. GOLDEN_UPDATE=1 rewrites the .expect files (then read
# the diff before committing it). A first line "# args: ..." adds plan options.
here=$(cd "$(dirname "$0")" && pwd)
MAINLINE=${MAINLINE:-$here/../../bin/mainline}
cd "$here" || exit 1
passed=0
failed=0
for y in *.yaml; do
    name=${y%.yaml}
    args=$(sed -n '1s/^# args: //p' "$y")
    actual=$("$MAINLINE" plan --dry-run $args "$y" 2>&1; echo "exit $?")
    if [ -n "$GOLDEN_UPDATE" ]; then
        printf '%s\n' "$actual" >"$name.expect"
    fi
    if printf '%s\n' "$actual" | diff -u "$name.expect" - >"/tmp/golden-$$.diff" 2>&1; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        cat "/tmp/golden-$$.diff"
    fi
done
rm -f "/tmp/golden-$$.diff"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
