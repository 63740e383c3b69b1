#!/bin/sh
# run.sh - run every benchmark and print its table (what `make bench` does).
#   BUILD=build BINDIR=bin sh bench/run.sh
# The numbers in README.md ("Benchmarks") come from this script; rerun it after a
# change to the paths it measures and update them.
BUILD=${BUILD:-build}
BINDIR=${BINDIR:-bin}
set -e
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "machine: ${cpu:-unknown CPU}, $(nproc) cores, $(uname -sr)"
echo
"$BUILD/bench/bench_ingest"
echo
"$BUILD/bench/bench_overhead" "$BINDIR/mainline" "$BUILD/bench/instant_trainer"
echo
"$BUILD/bench/bench_decode"
echo
# Sets OPENBLAS_CORETYPE for itself when the CPU calls for one (see bench_train.c).
"$BUILD/bench/bench_train"
echo
# Needs node and the npm registry (says so and goes on without them).
BUILD=$BUILD sh bench/bench_tokenize.sh
echo
# GGUF decoding against llama.cpp (node-llama-cpp; says so and goes on without it).
BUILD=$BUILD sh bench/bench_decode_gguf.sh
