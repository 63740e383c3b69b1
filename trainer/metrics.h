/*
 * metrics.h - the job's side of docs/protocol.md: one JSON object per line
 * appended to <run_dir>/metrics.jsonl, flushed as soon as it is written so the
 * orchestrator (and a person running tail -f) sees progress live.
 *
 * Non-finite numbers are written as null (JSON has no NaN). Keys keep the order
 * they were added in, "event" first. A file whose last line lacks its newline (a
 * run killed mid-write) gets one before the first new line.
 *
 * Errors: metrics_open() returns -1 with a message in *err; metrics_emit()
 * returns -1 when the line could not be written and flushed. Nothing here prints
 * or exits.
 *
 * Ownership: metrics_open() opens the file, metrics_close() closes it (and accepts
 * a zeroed struct). metrics_emit() consumes its event (json_decref).
 */
#ifndef MAINLINE_TRAINER_METRICS_H
#define MAINLINE_TRAINER_METRICS_H

#include <stdio.h>

#include <jansson.h>

#include "strbuf.h"

struct metrics {
    FILE *f;             /* NULL: events are dropped (tests) */
};

int metrics_open(struct metrics *mx, const char *path, struct strbuf *err);
int metrics_emit(struct metrics *mx, json_t *event);
/* 0, or -1 when an earlier write or the close failed. */
int metrics_close(struct metrics *mx);

/* A new {"event": kind} object to add fields to. */
json_t *metrics_event(const char *kind);
/* A JSON real, or null when x is NaN or infinite. */
json_t *metrics_real(double x);

#endif
