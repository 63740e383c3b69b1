/*
 * bench.h - a benchmark's rows as examples to generate from: each JSONL row is
 * rendered by the prompt contract the trainer uses (common/render.h), and its
 * prompt is tokenized as training tokenizes it (BOS + prompt, trainer/data.h).
 *
 *   id      the row's "id" (a string, or any JSON value as its text), else the
 *           row's 0-based index among non-blank lines
 *   gold    the row's "expected_answer" (a string or a number) when it has one,
 *           else the answer the contract's extractor finds in the row's reference
 *           completion ("answer", "solution", ... as render.h reads them): with
 *           GSM8K's "#### 36" and extract: regex, "36"
 *   prompt_sha256  of the rendered prompt text
 *
 * Rows: the first `limit` non-blank lines (0: all), never a sample.
 *
 * Errors: bench_load() returns an enum bench_status and appends one message naming
 * the file and line ("bench.jsonl:7: ...") to *err: a line that is not JSON or
 * does not render, or a row with no answer to score against. Nothing here prints
 * or exits.
 *
 * Ownership: bench_load() fills *b; bench_free() releases it and accepts a zeroed
 * struct.
 */
#ifndef MAINLINE_EVALUATOR_BENCH_H
#define MAINLINE_EVALUATOR_BENCH_H

#include <stddef.h>

#include "digest.h"
#include "extract.h"
#include "render.h"
#include "strbuf.h"
#include "tokenizer.h"

enum bench_status { BENCH_OK, BENCH_UNREADABLE, BENCH_BAD_ROW };

struct bench_example {
    char *id;
    char *prompt;                            /* rendered text */
    char prompt_sha256[SHA256_HEX_LEN + 1];
    char *gold;
    int *ids;                                /* (n_ids) BOS + prompt tokens */
    int n_ids;
    long line;                               /* in the file, for messages */
};

struct bench {
    struct bench_example *ex;
    size_t n, alloc;
};

/* Rows of path rendered with rc; gold answers through x; prompts tokenized by tok. */
enum bench_status bench_load(const char *path, const struct render_contract *rc,
                             const struct extractor *x, const struct tokenizer *tok, long limit,
                             struct bench *b, struct strbuf *err);
void bench_free(struct bench *b);

#endif
