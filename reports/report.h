/*
 * report.h - `mainline report`: the selection (select.h) and everything else a
 * reader needs from the registry (validation curves, the LR selection, the
 * variants, throughput, provenance) as one JSON model, rendered as Markdown, a
 * self-contained HTML page (inline CSS and SVG, no script, no network), CSV
 * (one row per run) or the JSON model itself.
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
/* The sentence saying how many evaluator outputs held a NUL, or nothing when none
 * did. Plain text (no markup). */
void report_nul_note(const json_t *model, struct strbuf *out);

#endif
