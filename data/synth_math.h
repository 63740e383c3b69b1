/*
 * synth_math.h - `mainline data synth-math`: deterministic GSM8K-like word
 * problems with step-by-step solutions ending in \boxed{ANSWER}.
 *
 * Four families (problem_source): shopping, rates, ages, fractions; nine
 * templates with 2 to 4 arithmetic steps and integer answers. Rows use the
 * OpenMathInstruct-2 field names: problem, generated_solution, expected_answer,
 * problem_source.
 *
 * The benchmark is held out by number: every number written in a benchmark
 * problem is = 3 (mod 5), every number in a train or validation problem is not,
 * and every template has a number in any 12 consecutive words. So no benchmark
 * problem equals a training one and no 13-word n-gram is shared (the audit's
 * contamination gate passes honestly), while the wording and the difficulty are
 * the same. Problems are unique across all files (by canonical text).
 *
 * Files written (each atomically) into DIR, created if missing:
 *   train.jsonl, valid.jsonl, bench.jsonl
 *   contaminated-train.jsonl  train.jsonl with benchmark problems slipped in
 *                             (some verbatim, some recased, respaced or with
 *                             numbers written "12.00"), for tests of the gate
 * The same seed and counts give byte-identical files.
 *
 * Errors: synth_math_write() returns -1 with a message in *err (cannot create
 * the directory or a file); nothing here prints or exits.
 */
#ifndef MAINLINE_DATA_SYNTH_MATH_H
#define MAINLINE_DATA_SYNTH_MATH_H

#include <stdint.h>

#include <jansson.h>

#include "strbuf.h"

struct synth_opts {
    uint64_t seed;
    long n_train, n_valid, n_bench;
    long n_contaminated;        /* benchmark rows copied into contaminated-train */
};

struct synth_counts {
    long train, valid, bench, contaminated_rows, contaminated_copies;
};

int synth_math_write(const char *dir, const struct synth_opts *o, struct synth_counts *out,
                     struct strbuf *err);

/* One problem (a new JSON object, caller decrefs) from the stream *rng; held_out
 * picks the benchmark's numbers. For tests. */
json_t *synth_math_problem(uint64_t *rng, int held_out);

#endif
