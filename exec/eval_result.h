/*
 * eval_result.h - what an evaluator job leaves in its directory (docs/protocol.md,
 * "Evaluators"), read back for the registry: the last {"event":"eval"} summary of
 * metrics.jsonl, every line of predictions.jsonl and, when present, probes.jsonl.
 *
 * A missing summary, a missing predictions.jsonl or a line that is not a JSON
 * object is an error naming the file and line: an evaluation the registry cannot
 * read completely is not recorded at all. A NUL (\u0000) in a string of a line is
 * no error: it becomes U+FFFD, and the summary recorded gets JOB_EVAL_NUL_OUTPUTS
 * (job.h), the number of lines that held one.
 *
 * Errors: eval_result_read() returns -1 and appends one message to *err.
 *
 * Ownership: eval_result_read() fills *er, whose `in` points into memory er owns;
 * eval_result_free() releases it (after a failure too; a zeroed struct is fine).
 */
#ifndef MAINLINE_EVAL_RESULT_H
#define MAINLINE_EVAL_RESULT_H

#include <jansson.h>

#include "reg_exec.h"
#include "strbuf.h"

struct eval_result {
    struct reg_eval_in in;          /* sweep, run, step, contract: the caller's to set */
    json_t *summary;                /* owned */
    char *summary_text;             /* owned: summary as compact JSON */
    json_t *lines;                  /* owned: every object the pointers of `in` reach */
    struct reg_prediction_in *preds;   /* owned: (in.n_predictions) */
    struct reg_probe_in *probes;       /* owned: (in.n_probes) */
    size_t nul_outputs;             /* lines whose NULs became U+FFFD */
};

/* Read the outputs of the evaluator whose metrics file is metrics_path and whose
 * directory is dir into *er. */
int eval_result_read(struct eval_result *er, const char *metrics_path, const char *dir,
                     struct strbuf *err);
void eval_result_free(struct eval_result *er);

#endif
