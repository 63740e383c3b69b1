/*
 * select.h - `mainline select`: the frozen rules applied to what the registry
 * holds for one sweep version. Per run, the checkpoint its rule points at; per
 * condition, the metric over seeds; per pair of conditions, the per-seed paired
 * disagreement tables, the exact McNemar test and a seeded paired bootstrap; the
 * verdict (`winner` only at or beyond winner_threshold, else `inconclusive`);
 * the mainline layers per candidate and the mainline by the declared preference;
 * what the result can and cannot say.
 *
 * The result is one JSON document (the `json` report format, and what reports
 * render) plus the `selections` rows that record it. Same registry content, same
 * rules: byte-identical document and rows.
 *
 * Ownership: select_compute() fills a struct selection the caller releases with
 * selection_free(); the document and rows are owned by it.
 */
#ifndef MAINLINE_SELECT_H
#define MAINLINE_SELECT_H

#include <jansson.h>

#include "reg_results.h"
#include "strbuf.h"

/* Bootstrap settings, recorded with every compare row. */
#define SELECT_BOOTSTRAP_SAMPLES 10000
#define SELECT_BOOTSTRAP_SEED 20240501u
#define SELECT_BOOTSTRAP_ALPHA 0.05

struct selection {
    json_t *doc;
    struct reg_res_selection *rows;   /* kinds checkpoint, compare, mainline */
    size_t n_rows;
};

/* Returns 0, or -1 with a message in err (rules the registry's data cannot be
 * judged by, e.g. a compare metric other than accuracy). */
int select_compute(const struct reg_results *res, struct selection *out, struct strbuf *err);
void selection_free(struct selection *s);   /* accepts a zeroed struct */

#endif
