/*
 * audit.h - the integrity gates of a sweep's data (seed 001's checks made part of
 * every plan). Each gate counts offending rows and compares the count with the
 * sweep's limit (struct sweep_audit); a gate fails when the count is over it,
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
#include "sweep.h"

#define AUDIT_MAX_ROWS 20

enum audit_role { ROLE_TRAIN, ROLE_VALID, ROLE_BENCH };

struct audit_input {
    const char *dataset;
    enum audit_role role;
    const struct data_file *file;
    const struct render_fields *fields;   /* may be NULL */
};

int audit_run(const struct audit_input *in, size_t n, const struct sweep_audit *cfg,
              json_t **report, struct strbuf *err);

/* Read the datasets of the sweep's audit roles and run the gates. local_path(name,
 * ud) says where a dataset's file is (a URL's place in the cache); NULL for the
 * source's resolved path. -1 with a message naming the file (and line) that
 * cannot be read. */
int audit_sweep(const struct sweep *s, const char *(*local_path)(const char *name, void *ud),
                void *ud, json_t **report, struct strbuf *err);

/* 1 when every gate of the report passed, was skipped or is waived. */
int audit_passed(const json_t *report);

#endif
