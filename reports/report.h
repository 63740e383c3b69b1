/*
 * report.h - `mainline report`: the selection (select.h) and everything else a
 * reader needs from the registry (validation NLL and train-loss curves, the LR selection, the
 * variants, throughput, provenance) as one JSON model, rendered as Markdown, a
 * self-contained HTML page (inline CSS and SVG, no script, no network), CSV
 * (one row per run) or the JSON model itself. Every run table carries the swept
 * parameters (reg_results.swept) as columns.
 *
 * Every number comes from the registry; nothing is estimated or filled in. Every
 * function appends to a strbuf the caller owns; report_model() returns a new
 * reference the caller releases with json_decref().
 */
#ifndef MAINLINE_REPORT_H
#define MAINLINE_REPORT_H

#include <jansson.h>

#include "reg_results.h"
#include "strbuf.h"

/* The selection document `sel` (borrowed) plus runs, lr_selection, provenance. */
json_t *report_model(const struct reg_results *res, json_t *sel);

/* The decision: verdict, mainline, checkpoints, conditions, disagreement, what the
 * result can say. What `mainline select` prints; the head of the Markdown report. */
void report_md_decision(const json_t *model, struct strbuf *out);
void report_md(const json_t *model, struct strbuf *out);
void report_html(const json_t *model, struct strbuf *out);
void report_csv(const json_t *model, struct strbuf *out);

/* Some run's last attempt ran on Slurm: the runs carry slurm_job and slurm_state, and
 * the run tables get those columns. */
int report_has_slurm(const json_t *model);

/* Shared by the renderers: a number as text ("-" for a missing one). */
void report_num(struct strbuf *out, const json_t *v, const char *fmt);
/* Shared by the renderers: swept parameter `name` of a run of the model as short
 * text (3e-4, q_proj+v_proj), or `missing` when the run has no value for it. */
void report_param(struct strbuf *out, const json_t *run, const char *name,
                  const char *missing);
/* For each swept parameter of the model, emit(out, text) with the run's value as
 * report_param gives it ("-" when missing); for every one "-" when run is NULL
 * (the base model's row). */
void report_param_cells(const json_t *model, const json_t *run,
                        void (*emit)(struct strbuf *out, const char *text), struct strbuf *out);
/* The header cells: `before` (NULL-terminated), the model's swept parameters, then
 * `after` (NULL-terminated), as a new NULL-terminated array of borrowed strings;
 * the caller frees the array. */
const char **report_heads(const json_t *model, const char *const *before,
                          const char *const *after);
/* The sentence saying how many evaluator outputs held a NUL, or nothing when none
 * did. Plain text (no markup). */
void report_nul_note(const json_t *model, struct strbuf *out);

/* The one sign convention for gaps: the higher mean minus the lower (the verdict's
 * leader first). A pair stored as (a, b) with b ahead is turned round: first = b,
 * delta and the bootstrap's observed gap and interval negated (lo and hi swapped).
 * The names are borrowed from the pair. */
struct report_gap {
    const char *first, *second;
    long long delta;                 /* examples only `first` got right minus only `second` */
    int has_bootstrap;
    double observed, lo, hi;
};
int report_pair_reversed(const json_t *model, const json_t *pair);
void report_gap(const json_t *model, const json_t *pair, struct report_gap *g);

#endif
