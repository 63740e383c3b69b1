#!/bin/sh
# npm-cache.sh NAME PINS: install the npm packages PINS (one string, "name@version ...",
# spaces or newlines between them) into a cache directory, once, and print that directory
# (its node_modules holds them). What scripts/npm-refs.sh and scripts/npm-llama.sh share;
# NAME goes into the package.json and the messages. $NPM_CACHE_FLAGS are extra npm install
# flags (not part of the directory's name).
#
# The directory is $MAINLINE_TEST_CACHE/npm-<hash of PINS> (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/mainline-test). Exit 1 with a reason on stderr when
# node or npm is missing or the registry cannot be reached; a partial install is never
# used (it is made under a temporary name and renamed when complete).
set -e
name=$1
PINS=$2
for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$name: $tool is not installed" >&2; exit 1; }
done
root=${MAINLINE_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mainline-test}
hash=$(echo "$PINS" | sha256sum | cut -c1-12)
dir="$root/npm-$hash"
if [ -f "$dir/.complete" ]; then
    echo "$dir"
    exit 0
fi
mkdir -p "$root"
# one installer at a time: tests running side by side wait for the first
exec 9>"$root/npm.lock"
flock 9
if [ ! -f "$dir/.complete" ]; then
    tmp="$dir.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    echo "{\"name\": \"mainline-test-$name\", \"private\": true}" >"$tmp/package.json"
    # shellcheck disable=SC2086
    if ! timeout 900 npm install --prefix "$tmp" --no-audit --no-fund --loglevel=error \
            ${NPM_CACHE_FLAGS:-} $PINS >"$tmp.log" 2>&1; then
        echo "$name: npm install failed (see $tmp.log)" >&2
        rm -rf "$tmp"
        exit 1
    fi
    rm -f "$tmp.log"
    touch "$tmp/.complete"
    rm -rf "$dir"
    mv "$tmp" "$dir"
fi
echo "$dir"
