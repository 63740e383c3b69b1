/*
 * ingest.h - turn what a child wrote (metrics.jsonl, or stdout lines matched by a
 * sweep's regexes) into registry rows.
 *
 * Reading resumes at the offset committed with the previous rows, only complete
 * lines are read (a half-written last line waits for its newline, unless the job
 * has ended), and rows plus the new offset land in one transaction: a crash at any
 * moment neither loses nor duplicates a line. A malformed line becomes an event
 * naming its line number and does not stop anything; so does a checkpoint whose
 * path leaves the run directory (the directory of the file read), which is not
 * recorded.
 */
#ifndef MAINLINE_INGEST_H
#define MAINLINE_INGEST_H

#include <stdint.h>

#include <jansson.h>

#include "reg_exec.h"
#include "stdout_rules.h"
#include "strbuf.h"


struct ingest_stats {
    int64_t lines, metrics, checkpoints, events, malformed;
    int done_seen;        /* a {"event":"done"} line was read */
    /* For progress: the latest train event and the start event's total_steps. */
    int64_t last_step, total_steps;
    double last_loss, last_tok_s;
};

/*
 * Ingest new complete lines of `path` for `run` (attempt `attempt`). `file` names
 * the offset slot ("metrics" or "stdout"); rules != NULL means the file is plain
 * stdout to match against them. `ended`: the job has ended, so a last line without
 * its newline is read too. A missing file is not an error (nothing yet).
 * Returns 0, or -1 with a message in *err (registry or read failure).
 */
int ingest_file(struct registry *reg, int64_t run, int attempt, const char *path,
                const char *file, const struct stdout_rules *rules, int ended,
                struct ingest_stats *stats, struct strbuf *err);

/* The same, skipped without touching the registry when the file's size is still
 * *seen_size (the caller's memory of the last look) and the job runs; updates
 * *seen_size. */
int ingest_file_if_grown(struct registry *reg, int64_t run, int attempt, const char *path,
                         const char *file, const struct stdout_rules *rules, int ended,
                         struct ingest_stats *stats, int64_t *seen_size, struct strbuf *err);


#endif
