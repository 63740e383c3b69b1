#!/bin/sh
# detect-deps.sh - say which build dependencies pkg-config finds, and how to get
# the missing ones. Exits 1 when something the build needs is missing.
missing=""
while read -r pc pkg what; do
    case "$pc" in ''|'#'*) continue ;; esac
    if pkg-config --exists "$pc" 2>/dev/null; then
        [ -n "$V" ] && printf '  ok      %-12s %s\n' "$pc" "$(pkg-config --modversion "$pc")"
    else
        printf '  MISSING %-12s (%s) -- apt-get install %s\n' "$pc" "$what" "$pkg"
        missing="$missing $pkg"
    fi
done < "$(dirname "$0")/deps.list"
if ! command -v pkg-config >/dev/null 2>&1; then
    echo "  MISSING pkg-config -- apt-get install pkg-config"
    exit 1
fi
if [ -n "$missing" ]; then
    echo "missing build dependencies; install them with:"
    echo "  sudo apt-get install$missing    (or: make deps)"
    exit 1
fi
exit 0
