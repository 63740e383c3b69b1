#!/bin/sh
# readme-numbers.sh [NUMBERS] [README] - fill the README's demo figures from the file
# `make demo` wrote (default demo/numbers.md, made by scripts/demo-numbers.sh): the
# lines between the markers
#   <!-- demo-numbers:begin ... -->
#   <!-- demo-numbers:end -->
# are replaced by the file's content, the markers kept. Exits 1, changing nothing,
# when the file is missing or empty, or README lacks a begin marker followed by an
# end marker. `make readme-numbers` runs it.
set -e
numbers=${1:-demo/numbers.md}
readme=${2:-README.md}
die() { echo "readme-numbers.sh: $*" >&2; exit 1; }
test -s "$numbers" || die "no figures in '$numbers' (run make demo first)"
test -r "$readme" || die "cannot read '$readme'"
b=$(grep -c '^<!-- demo-numbers:begin' "$readme" || :)
e=$(grep -c '^<!-- demo-numbers:end' "$readme" || :)
test "$b" = 1 && test "$e" = 1 || die "'$readme' needs one '<!-- demo-numbers:begin' and one '<!-- demo-numbers:end' line"
bl=$(grep -n '^<!-- demo-numbers:begin' "$readme" | cut -d: -f1)
el=$(grep -n '^<!-- demo-numbers:end' "$readme" | cut -d: -f1)
test "$bl" -lt "$el" || die "'$readme': the end marker comes before the begin marker"
tmp="$readme.tmp.$$"
trap 'rm -f "$tmp"' EXIT
{ sed -n "1,${bl}p" "$readme"; cat "$numbers"; sed -n "${el},\$p" "$readme"; } >"$tmp"
cat "$tmp" >"$readme"
echo "filled $readme from $numbers"
