#!/bin/sh
# npm-llama.sh - install llama.cpp as the npm registry carries it prebuilt for linux-x64
# (node-llama-cpp and its @node-llama-cpp/linux-x64 binaries, which run on the CPU offline
# with build: "never"), @huggingface/gguf (a GGUF metadata parser) and @huggingface/jinja
# (the Jinja of Hugging Face chat templates) at pinned versions
# into a cache directory, once, and print that directory (its node_modules holds them).
# The tests load mainline's GGUF exports in it (tests/js/gguf-*.mjs): a runtime nobody
# here wrote. Nothing of theirs is copied into the repository.
#
#   dir=$(sh scripts/npm-llama.sh) || skip...
#
# The directory is $MAINLINE_TEST_CACHE/npm-<hash of the pins> (scripts/npm-cache.sh).
# Exit 1 with a reason on stderr when node or npm is missing, node is older than 20 (what
# node-llama-cpp 3 needs), or the registry cannot be reached. Optional dependencies (the
# CUDA and Vulkan builds, other platforms) are not installed; llama.cpp is never built or
# downloaded at install time (NODE_LLAMA_CPP_SKIP_DOWNLOAD).
set -e
PINS="node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1 @huggingface/gguf@0.4.6
@huggingface/jinja@0.5.13"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then
    echo "npm-llama: node-llama-cpp needs node 20 or later (this is $(node --version 2>&1))" >&2
    exit 1
fi
NODE_LLAMA_CPP_SKIP_DOWNLOAD=true NPM_CACHE_FLAGS=--omit=optional \
    exec sh "$(dirname "$0")/npm-cache.sh" llama "$PINS"
