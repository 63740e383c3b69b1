/*
 * reg_exec.c - the registry side of executing a sweep (see reg_exec.h): state
 * transitions, idempotent ingestion, the sweep lock, picks and evaluations.
 *
 * State transitions are compare-and-set (`WHERE state IN (...)`): a transition
 * from an unexpected state changes nothing and returns REG_ERR_CONFLICT, so two
 * orchestrators can never both start the same run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "reg_exec.h"
#include "reg_internal.h"

#define NOW "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"

/* Run one statement with bound values inside its own transaction and require
 * that it changed exactly one row. */
static enum reg_status exec_one(struct registry *reg, sqlite3_stmt *st, const char *what)
{
    enum reg_status status = reg_begin(reg);
    if (status == REG_OK)
        status = reg_step_done(reg, st, what);
    if (status == REG_OK && sqlite3_changes(reg->db) != 1)
        status = reg_fail(reg, REG_ERR_CONFLICT, "%s: the row is not in the expected state",
                          what);
    sqlite3_finalize(st);
    if (status != REG_OK) {
        reg_rollback(reg);
        return status;
    }
    return reg_commit(reg);
}

/* ---- sweeps and runs ---- */

enum reg_status reg_exec_sweep_latest(struct registry *reg, const char *name,
                                      struct reg_exec_sweep *out)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st;
    enum reg_status status = reg_sweep_row(reg,
        "SELECT id, name, version, spec_path, spec_text, contract_sha256 FROM sweeps"
        " WHERE name = :name ORDER BY version DESC LIMIT 1", name, &st);
    if (status != REG_OK)
        return status;
    out->rowid = sqlite3_column_int64(st, 0);
    out->name = reg_column_dup(st, 1);
    out->version = sqlite3_column_int(st, 2);
    out->spec_path = reg_column_dup(st, 3);
    out->spec_text = reg_column_dup(st, 4);
    out->contract_sha256 = reg_column_dup(st, 5);
    sqlite3_finalize(st);
    return REG_OK;
}

void reg_exec_sweep_free(struct reg_exec_sweep *s)
{
    free(s->name);
    free(s->spec_path);
    free(s->spec_text);
    free(s->contract_sha256);
    memset(s, 0, sizeof(*s));
}

static void read_exec_run(sqlite3_stmt *st, struct reg_exec_run *r)
{
    r->rowid = sqlite3_column_int64(st, 0);
    r->run_id = reg_column_dup(st, 1);
    r->stage = reg_column_dup(st, 2);
    r->condition = reg_column_dup(st, 3);
    r->params_json = reg_column_dup(st, 4);
    r->pending_json = reg_column_dup(st, 5);
    r->state = (enum reg_run_state)reg_state_parse((const char *)sqlite3_column_text(st, 6));
    r->attempt = sqlite3_column_int(st, 7);
    r->base_attempt = sqlite3_column_int(st, 8);
    r->pid = sqlite3_column_int64(st, 9);
    r->proc_start = sqlite3_column_int64(st, 10);
    r->host = reg_column_dup(st, 11);
    r->run_dir = reg_column_dup(st, 12);
    r->fail_reason = reg_column_dup(st, 13);
    r->has_exit_status = sqlite3_column_type(st, 14) != SQLITE_NULL;
    r->exit_status = sqlite3_column_int(st, 14);
}

enum reg_status reg_exec_load_runs(struct registry *reg, int64_t sweep_rowid,
                                   struct reg_exec_run **runs, size_t *n)
{
    *runs = NULL;
    *n = 0;
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg,
        "SELECT id, run_id, stage, condition, params, pending, state, attempt, base_attempt,"
        " pid, proc_start, host, run_dir, fail_reason, exit_status FROM runs"
        " WHERE sweep_id = :sweep ORDER BY ord", &st);
    if (status != REG_OK)
        return status;
    struct reg_bind b;
    reg_bind_start(&b, reg, st);
    reg_bind_rowid(&b, ":sweep", sweep_rowid);
    size_t alloc = 0;
    int rc;
    while (b.status == REG_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *runs = xgrow(*runs, *n + 1, &alloc, sizeof(**runs));
        memset(&(*runs)[*n], 0, sizeof(**runs));
        read_exec_run(st, &(*runs)[(*n)++]);
    }
    if (b.status != REG_OK)
        status = b.status;
    else if (rc != SQLITE_DONE)
        status = reg_sql_fail(reg, "reading runs");
    sqlite3_finalize(st);
    return status;
}

void reg_exec_runs_free(struct reg_exec_run *runs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct reg_exec_run *r = &runs[i];
        free(r->run_id);
        free(r->stage);
        free(r->condition);
        free(r->params_json);
        free(r->pending_json);
        free(r->host);
        free(r->run_dir);
        free(r->fail_reason);
    }
    free(runs);
}

enum reg_status reg_run_start(struct registry *reg, int64_t run, int attempt, int from_scratch,
                              int64_t pid, int64_t proc_start, const char *host,
                              const char *run_dir)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg,
        "UPDATE runs SET state = 'running', attempt = :attempt, pid = :pid,"
        " proc_start = :start, host = :host, run_dir = :dir, started_at = " NOW ","
        " finished_at = NULL, exit_status = NULL, fail_reason = NULL,"
        " base_attempt = CASE WHEN :scratch THEN :attempt ELSE base_attempt END"
        " WHERE id = :run AND state IN ('planned', 'failed', 'cancelled')", &st);
    if (status != REG_OK)
        return status;
    struct reg_bind b;
    reg_bind_start(&b, reg, st);
    reg_bind_int64(&b, ":attempt", attempt);
    reg_bind_int64(&b, ":pid", pid);
    reg_bind_int64(&b, ":start", proc_start);
    reg_bind_text(&b, ":host", host);
    reg_bind_text(&b, ":dir", run_dir);
    reg_bind_int64(&b, ":scratch", from_scratch);
    reg_bind_rowid(&b, ":run", run);
    if (b.status != REG_OK) {
        sqlite3_finalize(st);
        return b.status;
    }
    return exec_one(reg, st, "starting a run");
}

static enum reg_status set_pid(struct registry *reg, const char *sql, int64_t row,
                              int64_t pid, int64_t proc_start)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg, sql, &st);
    if (status != REG_OK)
        return status;
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_int64(st, 2, pid);
    sqlite3_bind_int64(st, 3, proc_start);
    return exec_one(reg, st, "recording a pid");
}

enum reg_status reg_eval_job_set_pid(struct registry *reg, int64_t job, int64_t pid,
                                     int64_t proc_start)
{
    return set_pid(reg, "UPDATE eval_jobs SET pid = ?2, proc_start = ?3"
                   " WHERE id = ?1 AND state = 'running'", job, pid, proc_start);
}

enum reg_status reg_run_finish(struct registry *reg, int64_t run, enum reg_run_state state,
                               int has_exit_status, int exit_status, const char *reason)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg,
        "UPDATE runs SET state = :state, exit_status = :exit, fail_reason = :reason,"
        " finished_at = CASE WHEN :state = 'planned' THEN NULL ELSE " NOW " END"
        " WHERE id = :run AND state = 'running'", &st);
    if (status != REG_OK)
        return status;
    struct reg_bind b;
    reg_bind_start(&b, reg, st);
    reg_bind_text(&b, ":state", reg_state_name(state));
    if (has_exit_status)
        reg_bind_int64(&b, ":exit", exit_status);
    else
        reg_bind_null(&b, ":exit");
    reg_bind_text(&b, ":reason", reason);
    reg_bind_rowid(&b, ":run", run);
    if (b.status != REG_OK) {
        sqlite3_finalize(st);
        return b.status;
    }
    return exec_one(reg, st, "finishing a run");
}

enum reg_status reg_run_free(struct registry *reg, int64_t run, const char *params_json)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg,
        "UPDATE runs SET state = 'planned', params = :params, pending = NULL,"
        " lr = json_extract(:params, '$.lr'), seed = json_extract(:params, '$.seed')"
        " WHERE id = :run AND state = 'waiting'", &st);
    if (status != REG_OK)
        return status;
    struct reg_bind b;
    reg_bind_start(&b, reg, st);
    reg_bind_text(&b, ":params", params_json);
    reg_bind_rowid(&b, ":run", run);
    if (b.status != REG_OK) {
        sqlite3_finalize(st);
        return b.status;
    }
    return exec_one(reg, st, "releasing a waiting run");
}

enum reg_status reg_run_requeue(struct registry *reg, int64_t run)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg,
        "UPDATE runs SET state = 'planned' WHERE id = :run"
        " AND state IN ('failed', 'cancelled')", &st);
    if (status != REG_OK)
        return status;
    struct reg_bind b;
    reg_bind_start(&b, reg, st);
    reg_bind_rowid(&b, ":run", run);
    if (b.status != REG_OK) {
        sqlite3_finalize(st);
        return b.status;
    }
    return exec_one(reg, st, "requeueing a run");
}

/* ---- ingestion ---- */

/* Statements prepared once per batch: ingestion must go at hundreds of thousands
 * of rows a second, so nothing is prepared per row. */
struct ingest_stmts {
    sqlite3_stmt *metric, *checkpoint, *event, *offset;
};

static void ingest_stmts_free(struct ingest_stmts *s)
{
    sqlite3_finalize(s->metric);
    sqlite3_finalize(s->checkpoint);
    sqlite3_finalize(s->event);
    sqlite3_finalize(s->offset);
}

static enum reg_status ingest_prepare(struct registry *reg, struct ingest_stmts *s)
{
    memset(s, 0, sizeof(*s));
    enum reg_status status = reg_prepare(reg,
        "INSERT OR IGNORE INTO metrics (run, attempt, step, name, value, src_offset)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)", &s->metric);
    if (status == REG_OK)
        status = reg_prepare(reg,
            "INSERT INTO checkpoints (run, attempt, step, path, bytes, sha256)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (run, step) DO UPDATE SET"
            " attempt = excluded.attempt, path = excluded.path, bytes = excluded.bytes,"
            " sha256 = excluded.sha256", &s->checkpoint);
    if (status == REG_OK)
        status = reg_prepare(reg,
            "INSERT INTO events (sweep_id, run, kind, message, data)"
            " VALUES ((SELECT sweep_id FROM runs WHERE id = ?1), ?1, ?2, ?3, ?4)", &s->event);
    if (status == REG_OK)
        status = reg_prepare(reg,
            "INSERT INTO ingest_offsets (run, file, offset, line) VALUES (?1, ?2, ?3, ?4)"
            " ON CONFLICT (run, file) DO UPDATE SET offset = excluded.offset,"
            " line = excluded.line", &s->offset);
    return status;
}

static int step_reset(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int ingest_rows(const struct reg_ingest_in *in, struct ingest_stmts *s)
{
    for (size_t i = 0; i < in->n_metrics; i++) {
        const struct reg_metric_in *m = &in->metrics[i];
        sqlite3_bind_int64(s->metric, 1, in->run);
        sqlite3_bind_int(s->metric, 2, in->attempt);
        sqlite3_bind_int64(s->metric, 3, m->step);
        sqlite3_bind_text(s->metric, 4, m->name, -1, SQLITE_STATIC);
        sqlite3_bind_double(s->metric, 5, m->value);
        sqlite3_bind_int64(s->metric, 6, m->src_offset);
        if (step_reset(s->metric) < 0)
            return -1;
    }
    for (size_t i = 0; i < in->n_checkpoints; i++) {
        const struct reg_checkpoint_in *c = &in->checkpoints[i];
        sqlite3_bind_int64(s->checkpoint, 1, in->run);
        sqlite3_bind_int(s->checkpoint, 2, in->attempt);
        sqlite3_bind_int64(s->checkpoint, 3, c->step);
        sqlite3_bind_text(s->checkpoint, 4, c->path, -1, SQLITE_STATIC);
        if (c->bytes >= 0)
            sqlite3_bind_int64(s->checkpoint, 5, c->bytes);
        sqlite3_bind_text(s->checkpoint, 6, c->sha256, -1, SQLITE_STATIC);
        if (step_reset(s->checkpoint) < 0)
            return -1;
    }
    for (size_t i = 0; i < in->n_events; i++) {
        const struct reg_event_in *e = &in->events[i];
        sqlite3_bind_int64(s->event, 1, in->run);
        sqlite3_bind_text(s->event, 2, e->kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->event, 3, e->message, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->event, 4, e->data_json, -1, SQLITE_STATIC);
        if (step_reset(s->event) < 0)
            return -1;
    }
    sqlite3_bind_int64(s->offset, 1, in->run);
    sqlite3_bind_text(s->offset, 2, in->file, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->offset, 3, in->offset);
    sqlite3_bind_int64(s->offset, 4, in->line);
    return step_reset(s->offset);
}

enum reg_status reg_ingest(struct registry *reg, const struct reg_ingest_in *in)
{
    struct ingest_stmts s;
    enum reg_status status = ingest_prepare(reg, &s);
    if (status == REG_OK)
        status = reg_begin(reg);
    if (status == REG_OK && ingest_rows(in, &s) < 0) {
        status = reg_sql_fail(reg, "ingesting metrics");
        reg_rollback(reg);
    } else if (status == REG_OK) {
        status = reg_commit(reg);
    }
    ingest_stmts_free(&s);
    return status;
}

enum reg_status reg_ingest_offset(struct registry *reg, int64_t run, const char *file,
                                  int64_t *offset, int64_t *line)
{
    *offset = *line = 0;
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg,
        "SELECT offset, line FROM ingest_offsets WHERE run = ?1 AND file = ?2", &st);
    if (status != REG_OK)
        return status;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, file, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *offset = sqlite3_column_int64(st, 0);
        *line = sqlite3_column_int64(st, 1);
    } else if (rc != SQLITE_DONE) {
        status = reg_sql_fail(reg, "reading an ingest offset");
    }
    sqlite3_finalize(st);
    return status;
}

enum reg_status reg_ingest_reset(struct registry *reg, int64_t run)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg, "DELETE FROM ingest_offsets WHERE run = ?1", &st);
    if (status != REG_OK)
        return status;
    sqlite3_bind_int64(st, 1, run);
    status = reg_begin(reg);
    if (status == REG_OK)
        status = reg_step_done(reg, st, "resetting ingest offsets");
    sqlite3_finalize(st);
    if (status != REG_OK) {
        reg_rollback(reg);
        return status;
    }
    return reg_commit(reg);
}

enum reg_status reg_run_best_metric(struct registry *reg, int64_t run, const char *name,
                                    int maximize, double *value, int64_t *step, int *found)
{
    *found = 0;
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg, maximize
        ? "SELECT m.value, m.step FROM metrics m JOIN runs r ON r.id = m.run"
          " WHERE m.run = ?1 AND m.name = ?2 AND m.attempt >= r.base_attempt"
          " AND m.value IS NOT NULL ORDER BY m.value DESC, m.step ASC LIMIT 1"
        : "SELECT m.value, m.step FROM metrics m JOIN runs r ON r.id = m.run"
          " WHERE m.run = ?1 AND m.name = ?2 AND m.attempt >= r.base_attempt"
          " AND m.value IS NOT NULL ORDER BY m.value ASC, m.step ASC LIMIT 1", &st);
    if (status != REG_OK)
        return status;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *value = sqlite3_column_double(st, 0);
        *step = sqlite3_column_int64(st, 1);
        *found = 1;
    } else if (rc != SQLITE_DONE) {
        status = reg_sql_fail(reg, "reading a metric");
    }
    sqlite3_finalize(st);
    return status;
}

enum reg_status reg_run_checkpoint(struct registry *reg, int64_t run, int64_t step,
                                   int64_t *found_step, char **path)
{
    *path = NULL;
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg,
        "SELECT c.step, c.path FROM checkpoints c JOIN runs r ON r.id = c.run"
        " WHERE c.run = ?1 AND (?2 < 0 OR c.step = ?2) AND c.attempt >= r.base_attempt"
        " ORDER BY c.step DESC LIMIT 1", &st);
    if (status != REG_OK)
        return status;
    sqlite3_bind_int64(st, 1, run);
    sqlite3_bind_int64(st, 2, step);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *found_step = sqlite3_column_int64(st, 0);
        *path = reg_column_dup(st, 1);
    } else if (rc != SQLITE_DONE) {
        status = reg_sql_fail(reg, "reading a checkpoint");
    }
    sqlite3_finalize(st);
    return status;
}

/* ---- the per-sweep lock ---- */

static int read_holder(struct registry *reg, int64_t sweep, struct reg_lock_holder *h)
{
    sqlite3_stmt *st;
    if (reg_prepare(reg, "SELECT holder_pid, holder_start, host FROM locks WHERE sweep_id = ?1",
                    &st) != REG_OK)
        return -1;
    sqlite3_bind_int64(st, 1, sweep);
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW) {
        h->pid = sqlite3_column_int64(st, 0);
        h->proc_start = sqlite3_column_int64(st, 1);
        const unsigned char *host = sqlite3_column_text(st, 2);
        snprintf(h->host, sizeof(h->host), "%s", host ? (const char *)host : "");
        found = 1;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

static enum reg_status write_lock(struct registry *reg, int64_t sweep,
                                  const struct reg_lock_holder *me)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg,
        "INSERT OR REPLACE INTO locks (sweep_id, holder_pid, holder_start, host)"
        " VALUES (?1, ?2, ?3, ?4)", &st);
    if (status != REG_OK)
        return status;
    sqlite3_bind_int64(st, 1, sweep);
    sqlite3_bind_int64(st, 2, me->pid);
    sqlite3_bind_int64(st, 3, me->proc_start);
    sqlite3_bind_text(st, 4, me->host, -1, SQLITE_STATIC);
    status = reg_step_done(reg, st, "taking the sweep lock");
    sqlite3_finalize(st);
    return status;
}

enum reg_status reg_lock_take(struct registry *reg, int64_t sweep,
                              const struct reg_lock_holder *me, reg_alive_fn alive,
                              struct reg_lock_holder *holder)
{
    /* Read and write under one write transaction: two orchestrators racing for
     * the lock serialize on BEGIN IMMEDIATE, and the second sees the first. */
    enum reg_status status = reg_begin(reg);
    if (status != REG_OK)
        return status;
    memset(holder, 0, sizeof(*holder));
    int found = read_holder(reg, sweep, holder);
    if (found < 0)
        status = reg_sql_fail(reg, "reading the sweep lock");
    else if (found && !(holder->pid == me->pid && !strcmp(holder->host, me->host)) &&
             alive(holder))
        status = reg_fail(reg, REG_ERR_CONFLICT, "sweep is being run by pid %lld on %s",
                          (long long)holder->pid, holder->host);
    else
        status = write_lock(reg, sweep, me);
    if (status != REG_OK) {
        reg_rollback(reg);
        return status;
    }
    return reg_commit(reg);
}

enum reg_status reg_lock_drop(struct registry *reg, int64_t sweep, int64_t pid)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg,
        "DELETE FROM locks WHERE sweep_id = ?1 AND holder_pid = ?2", &st);
    if (status != REG_OK)
        return status;
    sqlite3_bind_int64(st, 1, sweep);
    sqlite3_bind_int64(st, 2, pid);
    status = reg_begin(reg);
    if (status == REG_OK)
        status = reg_step_done(reg, st, "releasing the sweep lock");
    sqlite3_finalize(st);
    if (status != REG_OK) {
        reg_rollback(reg);
        return status;
    }
    return reg_commit(reg);
}

enum reg_status reg_sweep_update_text(struct registry *reg, int64_t sweep, const char *spec_text,
                                      const char *spec_sha256)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg,
        "UPDATE sweeps SET spec_text = ?2, spec_sha256 = ?3 WHERE id = ?1", &st);
    if (status != REG_OK)
        return status;
    sqlite3_bind_int64(st, 1, sweep);
    sqlite3_bind_text(st, 2, spec_text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, spec_sha256, -1, SQLITE_STATIC);
    status = exec_one(reg, st, "updating the sweep text");
    if (status == REG_OK)
        status = reg_log_event(reg, sweep, 0, "spec_text", "operational settings updated",
                               NULL);
    return status;
}

/* ---- selections ---- */

enum reg_status reg_record_selection(struct registry *reg, int64_t sweep, const char *kind,
                                     const char *scope, const char *rule,
                                     const char *rules_sha256, const char *inputs_json,
                                     const char *choice_json)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg,
        "INSERT INTO selections (sweep_id, kind, scope, rule, rules_sha256, inputs, choice)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &st);
    if (status != REG_OK)
        return status;
    sqlite3_bind_int64(st, 1, sweep);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, scope, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, rules_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, inputs_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, choice_json, -1, SQLITE_STATIC);
    return exec_one(reg, st, "recording a selection");
}

int reg_selection_exists(struct registry *reg, int64_t sweep, const char *kind,
                         const char *scope)
{
    sqlite3_stmt *st;
    if (reg_prepare(reg, "SELECT 1 FROM selections WHERE sweep_id = ?1 AND kind = ?2"
                    " AND scope = ?3 LIMIT 1", &st) != REG_OK)
        return -1;
    sqlite3_bind_int64(st, 1, sweep);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, scope, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* ---- evaluation jobs ---- */

enum reg_status reg_eval_job_add(struct registry *reg, int64_t sweep, int64_t run, int64_t step,
                                 const char *checkpoint)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg,
        "INSERT OR IGNORE INTO eval_jobs (sweep_id, run, step, checkpoint)"
        " VALUES (?1, ?2, ?3, ?4)", &st);
    if (status != REG_OK)
        return status;
    sqlite3_bind_int64(st, 1, sweep);
    if (run > 0)
        sqlite3_bind_int64(st, 2, run);
    if (step >= 0)
        sqlite3_bind_int64(st, 3, step);
    sqlite3_bind_text(st, 4, checkpoint, -1, SQLITE_STATIC);
    status = reg_begin(reg);
    if (status == REG_OK)
        status = reg_step_done(reg, st, "adding an evaluation");
    sqlite3_finalize(st);
    if (status != REG_OK) {
        reg_rollback(reg);
        return status;
    }
    return reg_commit(reg);
}

enum reg_status reg_eval_jobs_load(struct registry *reg, int64_t sweep,
                                   struct reg_eval_job **jobs, size_t *n)
{
    *jobs = NULL;
    *n = 0;
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg,
        "SELECT id, coalesce(run, 0), coalesce(step, -1), checkpoint, dir, state, attempt,"
        " coalesce(pid, 0), coalesce(proc_start, 0), host FROM eval_jobs"
        " WHERE sweep_id = ?1 ORDER BY id", &st);
    if (status != REG_OK)
        return status;
    sqlite3_bind_int64(st, 1, sweep);
    size_t alloc = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        *jobs = xgrow(*jobs, *n + 1, &alloc, sizeof(**jobs));
        struct reg_eval_job *j = &(*jobs)[(*n)++];
        j->rowid = sqlite3_column_int64(st, 0);
        j->run = sqlite3_column_int64(st, 1);
        j->step = sqlite3_column_int64(st, 2);
        j->checkpoint = reg_column_dup(st, 3);
        j->dir = reg_column_dup(st, 4);
        j->state = (enum reg_run_state)reg_state_parse((const char *)sqlite3_column_text(st, 5));
        j->attempt = sqlite3_column_int(st, 6);
        j->pid = sqlite3_column_int64(st, 7);
        j->proc_start = sqlite3_column_int64(st, 8);
        j->host = reg_column_dup(st, 9);
    }
    if (rc != SQLITE_DONE)
        status = reg_sql_fail(reg, "reading evaluation jobs");
    sqlite3_finalize(st);
    return status;
}

void reg_eval_jobs_free(struct reg_eval_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(jobs[i].checkpoint);
        free(jobs[i].dir);
        free(jobs[i].host);
    }
    free(jobs);
}

enum reg_status reg_eval_job_start(struct registry *reg, int64_t job, int attempt, int64_t pid,
                                   int64_t proc_start, const char *host, const char *dir)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg,
        "UPDATE eval_jobs SET state = 'running', attempt = ?2, pid = ?3, proc_start = ?4,"
        " host = ?5, dir = ?6, started_at = " NOW ", finished_at = NULL, exit_status = NULL,"
        " fail_reason = NULL WHERE id = ?1 AND state IN ('planned', 'failed', 'cancelled')",
        &st);
    if (status != REG_OK)
        return status;
    sqlite3_bind_int64(st, 1, job);
    sqlite3_bind_int(st, 2, attempt);
    sqlite3_bind_int64(st, 3, pid);
    sqlite3_bind_int64(st, 4, proc_start);
    sqlite3_bind_text(st, 5, host, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, dir, -1, SQLITE_STATIC);
    return exec_one(reg, st, "starting an evaluation");
}

enum reg_status reg_eval_job_finish(struct registry *reg, int64_t job, enum reg_run_state state,
                                    int has_exit_status, int exit_status, const char *reason)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg,
        "UPDATE eval_jobs SET state = ?2, exit_status = ?3, fail_reason = ?4,"
        " finished_at = " NOW " WHERE id = ?1 AND state = 'running'", &st);
    if (status != REG_OK)
        return status;
    sqlite3_bind_int64(st, 1, job);
    sqlite3_bind_text(st, 2, reg_state_name(state), -1, SQLITE_STATIC);
    if (has_exit_status)
        sqlite3_bind_int(st, 3, exit_status);
    sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
    return exec_one(reg, st, "finishing an evaluation");
}

static int insert_predictions(struct registry *reg, int64_t eval, const struct reg_eval_in *in)
{
    sqlite3_stmt *st;
    if (reg_prepare(reg,
        "INSERT OR REPLACE INTO predictions (eval, example_id, prompt_sha256, output, extracted,"
        " gold, correct, extraction_failed, tokens) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        &st) != REG_OK)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < in->n_predictions && rc == 0; i++) {
        const struct reg_prediction_in *p = &in->predictions[i];
        sqlite3_bind_int64(st, 1, eval);
        sqlite3_bind_text(st, 2, p->example_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, p->prompt_sha256, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, p->output, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, p->extracted, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, p->gold, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 7, p->correct);
        sqlite3_bind_int(st, 8, p->extraction_failed);
        sqlite3_bind_int64(st, 9, p->tokens);
        rc = step_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

static int insert_probes(struct registry *reg, int64_t eval, const struct reg_eval_in *in)
{
    sqlite3_stmt *st;
    if (reg_prepare(reg,
        "INSERT OR REPLACE INTO probe_answers (eval, idx, prompt, output, tokens)"
        " VALUES (?1, ?2, ?3, ?4, ?5)", &st) != REG_OK)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < in->n_probes && rc == 0; i++) {
        const struct reg_probe_in *p = &in->probes[i];
        sqlite3_bind_int64(st, 1, eval);
        sqlite3_bind_int64(st, 2, p->idx);
        sqlite3_bind_text(st, 3, p->prompt, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, p->output, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, p->tokens);
        rc = step_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

enum reg_status reg_record_eval(struct registry *reg, const struct reg_eval_in *in)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg,
        "INSERT INTO evals (run, sweep_id, checkpoint_step, dataset, contract_sha256, n,"
        " correct, accuracy, extraction_failures, gen_tokens, seconds, tok_per_s, summary)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)", &st);
    if (status != REG_OK)
        return status;
    if (in->run > 0)
        sqlite3_bind_int64(st, 1, in->run);
    sqlite3_bind_int64(st, 2, in->sweep);
    if (in->step >= 0)
        sqlite3_bind_int64(st, 3, in->step);
    sqlite3_bind_text(st, 4, in->dataset, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, in->contract_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, in->n);
    sqlite3_bind_int64(st, 7, in->correct);
    sqlite3_bind_double(st, 8, in->accuracy);
    sqlite3_bind_int64(st, 9, in->extraction_failures);
    sqlite3_bind_int64(st, 10, in->gen_tokens);
    sqlite3_bind_double(st, 11, in->seconds);
    sqlite3_bind_double(st, 12, in->tok_per_s);
    sqlite3_bind_text(st, 13, in->summary_json, -1, SQLITE_STATIC);
    status = reg_begin(reg);
    if (status == REG_OK)
        status = reg_step_done(reg, st, "recording an evaluation");
    sqlite3_finalize(st);
    int64_t eval = sqlite3_last_insert_rowid(reg->db);
    if (status == REG_OK && insert_predictions(reg, eval, in) < 0)
        status = reg_sql_fail(reg, "recording predictions");
    if (status == REG_OK && insert_probes(reg, eval, in) < 0)
        status = reg_sql_fail(reg, "recording probe answers");
    if (status != REG_OK) {
        reg_rollback(reg);
        return status;
    }
    return reg_commit(reg);
}
