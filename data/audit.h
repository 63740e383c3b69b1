/*
 * audit.h - the integrity gates of a sweep's data (seed 001's checks made part of
 * every plan). Each gate counts offending rows and compares the count with the
 * sweep's limit (struct audit_config); a gate fails when the count is over it,
 * unless the sweep waives the gate.
 *
 *   contamination  training-side rows (train and valid roles) whose canonical
 *                  problem (canon.h) equals a benchmark problem, or shares an
 *                  n-gram (13 words by default) with one
 *   leakage        validation rows whose canonical problem is also a training
 *                  problem (the groups a grouped split keeps on one side)
 *   answers        training completions without an extractable \boxed{} answer
 *                  (their share must be at least min_boxed) and rows whose stated
 *                  answer disagrees with the boxed one (answers_match of extract.h)
 *   suspicious     training-side rows whose problem or completion matches one of
 *                  the patterns (POSIX extended regex, ignoring case)
 *   duplicates     rows repeating an earlier row of the same role: same canonical
 *                  problem and same canonical completion
 *
 * A gate with no data of the roles it compares is "skipped". The report is JSON
 * (docs/data.md shows one): every gate's status, count, limit and the first
 * AUDIT_MAX_ROWS offending rows, each named by dataset, file and line.
 *
 * Errors: audit_run() returns -1 with "path:line: why" in *err when a row lacks a
 * mapped field; nothing here prints or exits.
 *
 * Ownership: the caller owns the inputs and the returned report (json_decref).
 */
#ifndef MAINLINE_DATA_AUDIT_H
#define MAINLINE_DATA_AUDIT_H

#include <jansson.h>

#include "render.h"
#include "rows.h"
#include "strbuf.h"

#define AUDIT_MAX_ROWS 20

/* The data integrity gates (docs/sweep-format.md, `audit:`), defaults filled in. */
enum audit_gate {
    GATE_CONTAMINATION,   /* training-side problems vs benchmark problems */
    GATE_LEAKAGE,         /* validation problems that are also training problems */
    GATE_ANSWERS,         /* \boxed{} answers present and agreeing with the stated one */
    GATE_SUSPICIOUS,      /* rows matching a suspicious pattern */
    GATE_DUPLICATES,      /* repeated rows (same problem and completion) */
    N_GATES
};

/* What the gates check and allow: a sweep's `audit:` section (sweep/sweep_audit.h
 * loads it; it owns its strings). */
struct audit_config {
    char **train, **valid, **benchmark;   /* dataset names per role */
    size_t n_train, n_valid, n_benchmark;
    long max_overlap, max_leakage, max_answer_mismatch, max_suspicious, max_duplicates;
    double min_boxed;                     /* share of training completions, in [0, 1] */
    int ngram;                            /* words per n-gram for contamination */
    char **suspicious;                    /* POSIX extended regexes, matched ignoring case */
    size_t n_suspicious;
    unsigned waived;                      /* bit (1 << gate) per waived gate */
};

/* "contamination", "leakage"... for a gate; audit_gate_parse() is the reverse
 * (-1 when unknown). */
const char *audit_gate_name(enum audit_gate g);
extern const char *const audit_gate_names[N_GATES];
int audit_gate_parse(const char *name);

enum audit_role { ROLE_TRAIN, ROLE_VALID, ROLE_BENCH };

struct audit_input {
    const char *dataset;
    enum audit_role role;
    const struct data_file *file;
    const struct render_fields *fields;   /* may be NULL */
};

int audit_run(const struct audit_input *in, size_t n, const struct audit_config *cfg,
              json_t **report, struct strbuf *err);

/* 1 when every gate of the report passed, was skipped or is waived. */
int audit_passed(const json_t *report);

#endif
