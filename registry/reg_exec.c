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

/* What exec_alone requires of the rows its statement changed. */
enum changes { ANY_CHANGES, ONE_CHANGE };

/* Run s (bound by the caller) in its own transaction, and end it. ONE_CHANGE: a
 * statement that changed no row, or several, is REG_ERR_CONFLICT and rolled back. */
static enum reg_status exec_alone(struct reg_stmt *s, const char *what, enum changes want)
{
    struct registry *reg = s->reg;
    if (s->status == REG_OK)
        s->status = reg_begin(reg);
    reg_stmt_run(s, what);
    if (want == ONE_CHANGE && s->status == REG_OK && sqlite3_changes(reg->db) != 1)
        s->status = reg_fail(reg, REG_ERR_CONFLICT, "%s: the row is not in the expected state",
                             what);
    if (reg_stmt_end(s) != REG_OK) {
        reg_rollback(reg);
        return s->status;
    }
    return reg_commit(reg);
}

/* Bind a row id, a step or a size that may be absent: values below `least` are NULL. */
static void bind_at_least(struct reg_stmt *s, const char *param, int64_t value, int64_t least)
{
    if (value >= least)
        reg_bind_int64(s, param, value);
    else
        reg_bind_null(s, param);
}

/* ---- sweeps and runs ---- */

enum reg_status reg_exec_sweep_latest(struct registry *reg, const char *name,
                                      struct reg_exec_sweep *out)
{
    memset(out, 0, sizeof(*out));
    struct reg_stmt s;
    if (reg_sweep_row(reg, "SELECT id, name, version, spec_path, spec_text, contract_sha256,"
                      " contract_json FROM sweeps WHERE name = :name ORDER BY version DESC LIMIT 1", name,
                      &s) != REG_OK)
        return s.status;
    out->rowid = sqlite3_column_int64(s.st, 0);
    out->name = reg_column_dup(s.st, 1);
    out->version = sqlite3_column_int(s.st, 2);
    out->spec_path = reg_column_dup(s.st, 3);
    out->spec_text = reg_column_dup(s.st, 4);
    out->contract_sha256 = reg_column_dup(s.st, 5);
    out->contract_json = reg_column_dup(s.st, 6);
    return reg_stmt_end(&s);
}

void reg_exec_sweep_free(struct reg_exec_sweep *s)
{
    free(s->name);
    free(s->spec_path);
    free(s->spec_text);
    free(s->contract_sha256);
    free(s->contract_json);
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
    r->job_id = sqlite3_column_int64(st, 15);
}

enum reg_status reg_exec_load_runs(struct registry *reg, int64_t sweep_rowid,
                                   struct reg_exec_run **runs, size_t *n)
{
    *runs = NULL;
    *n = 0;
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "SELECT id, run_id, stage, condition, params, pending, state, attempt, base_attempt,"
        " pid, proc_start, host, run_dir, fail_reason, exit_status, coalesce(job_id, 0)"
        " FROM runs"
        " WHERE sweep_id = :sweep ORDER BY ord");
    reg_bind_rowid(&s, ":sweep", sweep_rowid);
    size_t alloc = 0;
    while (reg_stmt_row(&s, "reading runs")) {
        *runs = xgrow(*runs, *n + 1, &alloc, sizeof(**runs));
        memset(&(*runs)[*n], 0, sizeof(**runs));
        read_exec_run(s.st, &(*runs)[(*n)++]);
    }
    return reg_stmt_end(&s);
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
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "UPDATE runs SET state = 'running', attempt = :attempt, pid = :pid,"
        " proc_start = :start, host = :host, run_dir = :dir, started_at = " NOW ","
        " finished_at = NULL, exit_status = NULL, fail_reason = NULL,"
        " base_attempt = CASE WHEN :scratch THEN :attempt ELSE base_attempt END"
        " WHERE id = :run AND state IN ('planned', 'failed', 'cancelled')");
    reg_bind_int64(&s, ":attempt", attempt);
    reg_bind_int64(&s, ":pid", pid);
    reg_bind_int64(&s, ":start", proc_start);
    reg_bind_text(&s, ":host", host);
    reg_bind_text(&s, ":dir", run_dir);
    reg_bind_int64(&s, ":scratch", from_scratch);
    reg_bind_rowid(&s, ":run", run);
    return exec_alone(&s, "starting a run", ONE_CHANGE);
}

/* Record where a job already marked running runs, inside the caller's transaction:
 * `sql` updates the row :id with :pid, :start and :job. */
static enum reg_status set_proc(struct registry *reg, const char *sql, int64_t id,
                                const struct reg_job_proc *p)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg, sql);
    reg_bind_int64(&s, ":id", id);
    reg_bind_int64(&s, ":pid", p->pid);
    reg_bind_int64(&s, ":start", p->proc_start);
    if (p->job_id > 0)
        reg_bind_int64(&s, ":job", p->job_id);
    else
        reg_bind_null(&s, ":job");
    reg_stmt_run(&s, "recording a job");
    if (s.status == REG_OK && sqlite3_changes(reg->db) != 1)
        s.status = reg_fail(reg, REG_ERR_CONFLICT, "recording a job: the row is not running");
    return reg_stmt_end(&s);
}

static enum reg_status add_batch_job(struct registry *reg, int64_t run, int64_t eval_job,
                                     const struct reg_job_proc *p)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "INSERT OR IGNORE INTO batch_jobs (job_id, executor, run, eval_job, attempt, name,"
        " submitted_at) VALUES (:job, :executor, :run, :eval, :attempt, :name, " NOW ")");
    reg_bind_int64(&s, ":job", p->job_id);
    reg_bind_text(&s, ":executor", p->executor);
    bind_at_least(&s, ":run", run, 1);
    bind_at_least(&s, ":eval", eval_job, 1);
    reg_bind_int64(&s, ":attempt", p->attempt);
    reg_bind_text(&s, ":name", p->name);
    reg_stmt_run(&s, "recording a batch job");
    return reg_stmt_end(&s);
}

static enum reg_status record_proc(struct registry *reg, const char *sql, int64_t id,
                                   int64_t run, int64_t eval_job, const struct reg_job_proc *p)
{
    enum reg_status st = reg_begin(reg);
    if (st == REG_OK)
        st = set_proc(reg, sql, id, p);
    if (st == REG_OK && p->job_id > 0)
        st = add_batch_job(reg, run, eval_job, p);
    if (st != REG_OK) {
        reg_rollback(reg);
        return st;
    }
    return reg_commit(reg);
}

enum reg_status reg_run_set_proc(struct registry *reg, int64_t run, const struct reg_job_proc *p)
{
    return record_proc(reg, "UPDATE runs SET pid = :pid, proc_start = :start, job_id = :job"
                       " WHERE id = :id AND state = 'running'", run, run, 0, p);
}

enum reg_status reg_eval_job_set_proc(struct registry *reg, int64_t job,
                                      const struct reg_job_proc *p)
{
    return record_proc(reg, "UPDATE eval_jobs SET pid = :pid, proc_start = :start,"
                       " job_id = :job WHERE id = :id AND state = 'running'", job, 0, job, p);
}

static void bind_known_text(struct reg_stmt *s, const char *param, const char *text)
{
    reg_bind_text(s, param, text && *text ? text : NULL);
}

enum reg_status reg_batch_job_end(struct registry *reg, int64_t job_id, const char *name,
                                  const struct reg_batch_end *end)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg, "UPDATE batch_jobs SET state = :state, reason = :reason,"
                   " partition = :partition, nodes = :nodes, elapsed_s = :elapsed,"
                   " max_rss_bytes = :rss, acct_confirmed = :confirmed,"
                   " ended_at = " NOW " WHERE job_id = :job AND name = :name");
    reg_bind_int64(&s, ":job", job_id);
    reg_bind_text(&s, ":name", name);
    reg_bind_text(&s, ":state", end->state);
    bind_known_text(&s, ":reason", end->reason);
    bind_known_text(&s, ":partition", end->partition);
    bind_known_text(&s, ":nodes", end->nodes);
    bind_at_least(&s, ":elapsed", end->elapsed_s, 0);
    bind_at_least(&s, ":rss", end->max_rss_bytes, 0);
    reg_bind_int64(&s, ":confirmed", end->acct_confirmed ? 1 : 0);
    return exec_alone(&s, "recording how a batch job ended", ANY_CHANGES);
}

enum reg_status reg_run_finish(struct registry *reg, int64_t run, enum reg_run_state state,
                               int has_exit_status, int exit_status, const char *reason,
                               const char *stderr_line)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "UPDATE runs SET state = :state, exit_status = :exit, fail_reason = :reason,"
        " fail_stderr = :stderr,"
        " finished_at = CASE WHEN :state = 'planned' THEN NULL ELSE " NOW " END"
        " WHERE id = :run AND state = 'running'");
    reg_bind_text(&s, ":state", reg_state_name(state));
    if (has_exit_status)
        reg_bind_int64(&s, ":exit", exit_status);
    else
        reg_bind_null(&s, ":exit");
    reg_bind_text(&s, ":reason", reason);
    reg_bind_text(&s, ":stderr", stderr_line && *stderr_line ? stderr_line : NULL);
    reg_bind_rowid(&s, ":run", run);
    return exec_alone(&s, "finishing a run", ONE_CHANGE);
}

enum reg_status reg_run_free(struct registry *reg, int64_t run, const char *params_json)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "UPDATE runs SET state = 'planned', params = :params, pending = NULL,"
        " lr = json_extract(:params, '$.lr'), seed = json_extract(:params, '$.seed')"
        " WHERE id = :run AND state = 'waiting'");
    reg_bind_text(&s, ":params", params_json);
    reg_bind_rowid(&s, ":run", run);
    return exec_alone(&s, "releasing a waiting run", ONE_CHANGE);
}

enum reg_status reg_run_requeue(struct registry *reg, int64_t run)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg, "UPDATE runs SET state = 'planned' WHERE id = :run"
                   " AND state IN ('failed', 'cancelled')");
    reg_bind_rowid(&s, ":run", run);
    return exec_alone(&s, "requeueing a run", ONE_CHANGE);
}

/* ---- ingestion ---- */

/*
 * Ingestion must go at hundreds of thousands of rows a second. Metric rows, the
 * bulk of it, are bound by position (a parameter looked up by name costs per
 * value) and inserted METRIC_ROWS to a statement, the remainder one by one: one
 * statement for many rows skips the per-statement work (start, halt, opening
 * cursors), a fifth of the instructions per row. Checkpoints, events and the
 * offset are a few per batch.
 */
enum { METRIC_COLS = 6, METRIC_ROWS = 64 };

#define SQL_INSERT_METRICS \
    "INSERT OR IGNORE INTO metrics (run, attempt, step, name, value, src_offset) VALUES "
#define METRIC_ROW "(?, ?, ?, ?, ?, ?)"
#define METRIC_ROWS_4 METRIC_ROW ", " METRIC_ROW ", " METRIC_ROW ", " METRIC_ROW
#define METRIC_ROWS_16 METRIC_ROWS_4 ", " METRIC_ROWS_4 ", " METRIC_ROWS_4 ", " METRIC_ROWS_4
#define METRIC_ROWS_64 METRIC_ROWS_16 ", " METRIC_ROWS_16 ", " METRIC_ROWS_16 ", " METRIC_ROWS_16

static const char sql_metric_row[] = SQL_INSERT_METRICS METRIC_ROW;
static const char sql_metric_rows[] = SQL_INSERT_METRICS METRIC_ROWS_64;

/* Bind metric m to the six parameters after `at`. */
static void bind_metric(struct reg_stmt *s, int at, const struct reg_ingest_in *in,
                        const struct reg_metric_in *m)
{
    sqlite3_stmt *st = s->st;
    if (sqlite3_bind_int64(st, at + 1, in->run) != SQLITE_OK ||
        sqlite3_bind_int(st, at + 2, in->attempt) != SQLITE_OK ||
        sqlite3_bind_int64(st, at + 3, m->step) != SQLITE_OK ||
        sqlite3_bind_text(st, at + 4, m->name, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_double(st, at + 5, m->value) != SQLITE_OK ||
        sqlite3_bind_int64(st, at + 6, m->src_offset) != SQLITE_OK)
        s->status = reg_sql_fail(s->reg, "binding a metric");
}

/* Insert in->metrics from *i on, `rows` to a statement, while that many are left. */
static enum reg_status insert_metric_rows(struct registry *reg, const char *sql, int rows,
                                          const struct reg_ingest_in *in, size_t *i)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg, sql);
    if (s.status == REG_OK && sqlite3_bind_parameter_count(s.st) != rows * METRIC_COLS)
        s.status = reg_fail(reg, REG_ERR_SQL, "internal error: not %d metric rows", rows);
    for (; s.status == REG_OK && in->n_metrics - *i >= (size_t)rows; *i += (size_t)rows) {
        for (int r = 0; r < rows && s.status == REG_OK; r++)
            bind_metric(&s, r * METRIC_COLS, in, &in->metrics[*i + (size_t)r]);
        reg_stmt_run(&s, "ingesting metrics");
    }
    return reg_stmt_end(&s);
}

static enum reg_status insert_metrics(struct registry *reg, const struct reg_ingest_in *in)
{
    size_t i = 0;
    enum reg_status status = REG_OK;
    if (in->n_metrics >= METRIC_ROWS)
        status = insert_metric_rows(reg, sql_metric_rows, METRIC_ROWS, in, &i);
    if (status == REG_OK && i < in->n_metrics)
        status = insert_metric_rows(reg, sql_metric_row, 1, in, &i);
    return status;
}

struct ingest_stmts {
    struct reg_stmt checkpoint, event, offset;
};

static const char sql_ingest_checkpoint[] =
    "INSERT INTO checkpoints (run, attempt, step, path, bytes, sha256)"
    " VALUES (:run, :attempt, :step, :path, :bytes, :sha256) ON CONFLICT (run, step) DO UPDATE"
    " SET attempt = excluded.attempt, path = excluded.path, bytes = excluded.bytes,"
    " sha256 = excluded.sha256";

static const char sql_ingest_event[] =
    "INSERT INTO events (sweep_id, run, kind, message, data)"
    " VALUES ((SELECT sweep_id FROM runs WHERE id = :run), :run, :kind, :message, :data)";

static const char sql_ingest_offset[] =
    "INSERT INTO ingest_offsets (run, file, offset, line) VALUES (:run, :file, :offset, :line)"
    " ON CONFLICT (run, file) DO UPDATE SET offset = excluded.offset, line = excluded.line";

static void ingest_stmts_end(struct ingest_stmts *s)
{
    reg_stmt_end(&s->checkpoint);
    reg_stmt_end(&s->event);
    reg_stmt_end(&s->offset);
}

/* All three are started (and must be ended) even when one fails: the status says. */
static enum reg_status ingest_start(struct registry *reg, struct ingest_stmts *s)
{
    reg_stmt_start(&s->checkpoint, reg, sql_ingest_checkpoint);
    reg_stmt_start(&s->event, reg, sql_ingest_event);
    reg_stmt_start(&s->offset, reg, sql_ingest_offset);
    enum reg_status status = s->checkpoint.status;
    if (status == REG_OK)
        status = s->event.status;
    if (status == REG_OK)
        status = s->offset.status;
    return status;
}

static enum reg_status ingest_rows(struct registry *reg, const struct reg_ingest_in *in,
                                   struct ingest_stmts *s)
{
    enum reg_status status = insert_metrics(reg, in);
    for (size_t i = 0; i < in->n_checkpoints && status == REG_OK; i++) {
        const struct reg_checkpoint_in *c = &in->checkpoints[i];
        reg_bind_int64(&s->checkpoint, ":run", in->run);
        reg_bind_int64(&s->checkpoint, ":attempt", in->attempt);
        reg_bind_int64(&s->checkpoint, ":step", c->step);
        reg_bind_text(&s->checkpoint, ":path", c->path);
        bind_at_least(&s->checkpoint, ":bytes", c->bytes, 0);
        reg_bind_text(&s->checkpoint, ":sha256", c->sha256);
        status = reg_stmt_run(&s->checkpoint, "ingesting metrics");
    }
    for (size_t i = 0; i < in->n_events && status == REG_OK; i++) {
        const struct reg_event_in *e = &in->events[i];
        reg_bind_int64(&s->event, ":run", in->run);
        reg_bind_text(&s->event, ":kind", e->kind);
        reg_bind_text(&s->event, ":message", e->message);
        reg_bind_text(&s->event, ":data", e->data_json);
        status = reg_stmt_run(&s->event, "ingesting metrics");
    }
    if (status != REG_OK)
        return status;
    reg_bind_int64(&s->offset, ":run", in->run);
    reg_bind_text(&s->offset, ":file", in->file);
    reg_bind_int64(&s->offset, ":offset", in->offset);
    reg_bind_int64(&s->offset, ":line", in->line);
    return reg_stmt_run(&s->offset, "ingesting metrics");
}

enum reg_status reg_ingest(struct registry *reg, const struct reg_ingest_in *in)
{
    struct ingest_stmts s;
    enum reg_status status = ingest_start(reg, &s);
    if (status == REG_OK)
        status = reg_begin(reg);
    if (status == REG_OK) {
        status = ingest_rows(reg, in, &s);
        if (status == REG_OK)
            status = reg_commit(reg);
        else
            reg_rollback(reg);
    }
    ingest_stmts_end(&s);
    return status;
}

enum reg_status reg_ingest_offset(struct registry *reg, int64_t run, const char *file,
                                  int64_t *offset, int64_t *line)
{
    *offset = *line = 0;
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "SELECT offset, line FROM ingest_offsets WHERE run = :run AND file = :file");
    reg_bind_int64(&s, ":run", run);
    reg_bind_text(&s, ":file", file);
    if (reg_stmt_row(&s, "reading an ingest offset")) {
        *offset = sqlite3_column_int64(s.st, 0);
        *line = sqlite3_column_int64(s.st, 1);
    }
    return reg_stmt_end(&s);
}

enum reg_status reg_ingest_reset(struct registry *reg, int64_t run)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg, "DELETE FROM ingest_offsets WHERE run = :run");
    reg_bind_int64(&s, ":run", run);
    return exec_alone(&s, "resetting ingest offsets", ANY_CHANGES);
}

/* The best value of a metric in a run's current lineage, `order` "ASC" or "DESC". */
#define SQL_BEST_METRIC(order) \
    "SELECT m.value, m.step FROM metrics m JOIN runs r ON r.id = m.run" \
    " WHERE m.run = :run AND m.name = :name AND m.attempt >= r.base_attempt" \
    " AND m.value IS NOT NULL ORDER BY m.value " order ", m.step ASC LIMIT 1"

enum reg_status reg_run_best_metric(struct registry *reg, int64_t run, const char *name,
                                    int maximize, double *value, int64_t *step, int *found)
{
    *found = 0;
    struct reg_stmt s;
    reg_stmt_start(&s, reg, maximize ? SQL_BEST_METRIC("DESC") : SQL_BEST_METRIC("ASC"));
    reg_bind_int64(&s, ":run", run);
    reg_bind_text(&s, ":name", name);
    if (reg_stmt_row(&s, "reading a metric")) {
        *value = sqlite3_column_double(s.st, 0);
        *step = sqlite3_column_int64(s.st, 1);
        *found = 1;
    }
    return reg_stmt_end(&s);
}

enum reg_status reg_run_checkpoint(struct registry *reg, int64_t run, int64_t step,
                                   int64_t *found_step, char **path)
{
    *path = NULL;
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "SELECT c.step, c.path FROM checkpoints c JOIN runs r ON r.id = c.run"
        " WHERE c.run = :run AND (:step < 0 OR c.step = :step) AND c.attempt >= r.base_attempt"
        " ORDER BY c.step DESC LIMIT 1");
    reg_bind_int64(&s, ":run", run);
    reg_bind_int64(&s, ":step", step);
    if (reg_stmt_row(&s, "reading a checkpoint")) {
        *found_step = sqlite3_column_int64(s.st, 0);
        *path = reg_column_dup(s.st, 1);
    }
    return reg_stmt_end(&s);
}

enum reg_status reg_run_unsettled_checkpoints(struct registry *reg, int64_t run,
                                              struct reg_ckpt_file **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t alloc = 0;
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "SELECT c.id, c.step, c.path, c.sha256 FROM checkpoints c JOIN runs r ON r.id = c.run"
        " WHERE c.run = :run AND c.attempt >= r.base_attempt AND c.kept IS NULL"
        " ORDER BY c.step");
    reg_bind_int64(&s, ":run", run);
    while (reg_stmt_row(&s, "reading checkpoints")) {
        *out = xgrow(*out, *n + 1, &alloc, sizeof(**out));
        struct reg_ckpt_file *f = &(*out)[(*n)++];
        f->id = sqlite3_column_int64(s.st, 0);
        f->step = sqlite3_column_int64(s.st, 1);
        f->path = reg_column_dup(s.st, 2);
        f->sha256 = reg_column_dup(s.st, 3);
    }
    return reg_stmt_end(&s);
}

void reg_ckpt_files_free(struct reg_ckpt_file *files, size_t n)
{
    for (size_t i = 0; files && i < n; i++) {
        free(files[i].path);
        free(files[i].sha256);
    }
    free(files);
}

enum reg_status reg_checkpoints_settle(struct registry *reg, const struct reg_ckpt_fate *f,
                                       size_t n)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "UPDATE checkpoints SET kept = :kept, checked_at = " NOW ","
        " sha256 = coalesce(:sha256, sha256), bytes = coalesce(bytes, :bytes)"
        " WHERE id = :id");
    enum reg_status status = s.status;
    if (status == REG_OK)
        status = reg_begin(reg);
    if (status == REG_OK) {
        for (size_t i = 0; i < n && status == REG_OK; i++) {
            reg_bind_int64(&s, ":kept", f[i].kept ? 1 : 0);
            reg_bind_text(&s, ":sha256", f[i].kept ? f[i].sha256 : NULL);
            bind_at_least(&s, ":bytes", f[i].kept ? f[i].bytes : -1, 0);
            reg_bind_rowid(&s, ":id", f[i].id);
            status = reg_stmt_run(&s, "recording which checkpoints were kept");
        }
        if (status == REG_OK)
            status = reg_commit(reg);
        else
            reg_rollback(reg);
    }
    enum reg_status end = reg_stmt_end(&s);
    return status == REG_OK ? end : status;
}

/* ---- the per-sweep lock ---- */

static enum reg_status read_holder(struct registry *reg, int64_t sweep,
                                   struct reg_lock_holder *h, int *found)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "SELECT holder_pid, holder_start, host FROM locks WHERE sweep_id = :sweep");
    reg_bind_int64(&s, ":sweep", sweep);
    *found = reg_stmt_row(&s, "reading the sweep lock");
    if (*found) {
        h->pid = sqlite3_column_int64(s.st, 0);
        h->proc_start = sqlite3_column_int64(s.st, 1);
        const unsigned char *host = sqlite3_column_text(s.st, 2);
        snprintf(h->host, sizeof(h->host), "%s", host ? (const char *)host : "");
    }
    return reg_stmt_end(&s);
}

static enum reg_status write_lock(struct registry *reg, int64_t sweep,
                                  const struct reg_lock_holder *me)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "INSERT OR REPLACE INTO locks (sweep_id, holder_pid, holder_start, host)"
        " VALUES (:sweep, :pid, :start, :host)");
    reg_bind_int64(&s, ":sweep", sweep);
    reg_bind_int64(&s, ":pid", me->pid);
    reg_bind_int64(&s, ":start", me->proc_start);
    reg_bind_text(&s, ":host", me->host);
    reg_stmt_run(&s, "taking the sweep lock");
    return reg_stmt_end(&s);
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
    int found = 0;
    status = read_holder(reg, sweep, holder, &found);
    if (status == REG_OK && found &&
        !(holder->pid == me->pid && !strcmp(holder->host, me->host)) && alive(holder))
        status = reg_fail(reg, REG_ERR_CONFLICT, "sweep is being run by pid %lld on %s",
                          (long long)holder->pid, holder->host);
    else if (status == REG_OK)
        status = write_lock(reg, sweep, me);
    if (status != REG_OK) {
        reg_rollback(reg);
        return status;
    }
    return reg_commit(reg);
}

enum reg_status reg_lock_drop(struct registry *reg, int64_t sweep, int64_t pid)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg, "DELETE FROM locks WHERE sweep_id = :sweep AND holder_pid = :pid");
    reg_bind_int64(&s, ":sweep", sweep);
    reg_bind_int64(&s, ":pid", pid);
    return exec_alone(&s, "releasing the sweep lock", ANY_CHANGES);
}

enum reg_status reg_sweep_update_text(struct registry *reg, int64_t sweep, const char *spec_text,
                                      const char *spec_sha256)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "UPDATE sweeps SET spec_text = :text, spec_sha256 = :sha256 WHERE id = :sweep");
    reg_bind_int64(&s, ":sweep", sweep);
    reg_bind_text(&s, ":text", spec_text);
    reg_bind_text(&s, ":sha256", spec_sha256);
    enum reg_status status = exec_alone(&s, "updating the sweep text", ONE_CHANGE);
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
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "INSERT INTO selections (sweep_id, kind, scope, rule, rules_sha256, inputs, choice)"
        " VALUES (:sweep, :kind, :scope, :rule, :rules, :inputs, :choice)");
    reg_bind_int64(&s, ":sweep", sweep);
    reg_bind_text(&s, ":kind", kind);
    reg_bind_text(&s, ":scope", scope);
    reg_bind_text(&s, ":rule", rule);
    reg_bind_text(&s, ":rules", rules_sha256);
    reg_bind_text(&s, ":inputs", inputs_json);
    reg_bind_text(&s, ":choice", choice_json);
    return exec_alone(&s, "recording a selection", ONE_CHANGE);
}

int reg_selection_exists(struct registry *reg, int64_t sweep, const char *kind,
                         const char *scope)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg, "SELECT 1 FROM selections WHERE sweep_id = :sweep AND kind = :kind"
                   " AND scope = :scope LIMIT 1");
    reg_bind_int64(&s, ":sweep", sweep);
    reg_bind_text(&s, ":kind", kind);
    reg_bind_text(&s, ":scope", scope);
    int found = reg_stmt_row(&s, "looking up a selection");
    return reg_stmt_end(&s) == REG_OK ? found : -1;
}

/* ---- evaluation jobs ---- */

enum reg_status reg_eval_job_add(struct registry *reg, int64_t sweep, int64_t run, int64_t step,
                                 const char *checkpoint)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg, "INSERT OR IGNORE INTO eval_jobs (sweep_id, run, step, checkpoint)"
                   " VALUES (:sweep, :run, :step, :checkpoint)");
    reg_bind_int64(&s, ":sweep", sweep);
    bind_at_least(&s, ":run", run, 1);
    bind_at_least(&s, ":step", step, 0);
    reg_bind_text(&s, ":checkpoint", checkpoint);
    return exec_alone(&s, "adding an evaluation", ANY_CHANGES);
}

enum reg_status reg_eval_jobs_load(struct registry *reg, int64_t sweep,
                                   struct reg_eval_job **jobs, size_t *n)
{
    *jobs = NULL;
    *n = 0;
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "SELECT id, coalesce(run, 0), coalesce(step, -1), checkpoint, dir, state, attempt,"
        " coalesce(pid, 0), coalesce(proc_start, 0), host, coalesce(job_id, 0) FROM eval_jobs"
        " WHERE sweep_id = :sweep ORDER BY id");
    reg_bind_int64(&s, ":sweep", sweep);
    size_t alloc = 0;
    while (reg_stmt_row(&s, "reading evaluation jobs")) {
        sqlite3_stmt *st = s.st;
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
        j->job_id = sqlite3_column_int64(st, 10);
    }
    return reg_stmt_end(&s);
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
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "UPDATE eval_jobs SET state = 'running', attempt = :attempt, pid = :pid,"
        " proc_start = :start, host = :host, dir = :dir, started_at = " NOW ","
        " finished_at = NULL, exit_status = NULL, fail_reason = NULL"
        " WHERE id = :job AND state IN ('planned', 'failed', 'cancelled')");
    reg_bind_int64(&s, ":job", job);
    reg_bind_int64(&s, ":attempt", attempt);
    reg_bind_int64(&s, ":pid", pid);
    reg_bind_int64(&s, ":start", proc_start);
    reg_bind_text(&s, ":host", host);
    reg_bind_text(&s, ":dir", dir);
    return exec_alone(&s, "starting an evaluation", ONE_CHANGE);
}

/* The UPDATE of an evaluation's end, inside the caller's transaction. */
static enum reg_status finish_eval_job(struct registry *reg, int64_t job,
                                       enum reg_run_state state, int has_exit_status,
                                       int exit_status, const char *reason)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "UPDATE eval_jobs SET state = :state, exit_status = :exit, fail_reason = :reason,"
        " finished_at = " NOW " WHERE id = :job AND state = 'running'");
    reg_bind_int64(&s, ":job", job);
    reg_bind_text(&s, ":state", reg_state_name(state));
    if (has_exit_status)
        reg_bind_int64(&s, ":exit", exit_status);
    else
        reg_bind_null(&s, ":exit");
    reg_bind_text(&s, ":reason", reason);
    reg_stmt_run(&s, "finishing an evaluation");
    if (s.status == REG_OK && sqlite3_changes(reg->db) != 1)
        s.status = reg_fail(reg, REG_ERR_CONFLICT, "finishing an evaluation: the row is not "
                            "in the expected state");
    return reg_stmt_end(&s);
}

enum reg_status reg_eval_job_finish(struct registry *reg, int64_t job, enum reg_run_state state,
                                    int has_exit_status, int exit_status, const char *reason)
{
    enum reg_status st = reg_begin(reg);
    if (st == REG_OK)
        st = finish_eval_job(reg, job, state, has_exit_status, exit_status, reason);
    if (st != REG_OK) {
        reg_rollback(reg);
        return st;
    }
    return reg_commit(reg);
}

static enum reg_status insert_predictions(struct registry *reg, int64_t eval,
                                          const struct reg_eval_in *in)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "INSERT OR REPLACE INTO predictions (eval, example_id, prompt_sha256, output, extracted,"
        " gold, correct, extraction_failed, tokens) VALUES (:eval, :example_id, :prompt_sha256,"
        " :output, :extracted, :gold, :correct, :extraction_failed, :tokens)");
    for (size_t i = 0; i < in->n_predictions && s.status == REG_OK; i++) {
        const struct reg_prediction_in *p = &in->predictions[i];
        reg_bind_int64(&s, ":eval", eval);
        reg_bind_text(&s, ":example_id", p->example_id);
        reg_bind_text(&s, ":prompt_sha256", p->prompt_sha256);
        reg_bind_text(&s, ":output", p->output);
        reg_bind_text(&s, ":extracted", p->extracted);
        reg_bind_text(&s, ":gold", p->gold);
        reg_bind_int64(&s, ":correct", p->correct);
        reg_bind_int64(&s, ":extraction_failed", p->extraction_failed);
        reg_bind_int64(&s, ":tokens", p->tokens);
        reg_stmt_run(&s, "recording predictions");
    }
    return reg_stmt_end(&s);
}

static enum reg_status insert_probes(struct registry *reg, int64_t eval,
                                     const struct reg_eval_in *in)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg, "INSERT OR REPLACE INTO probe_answers (eval, idx, prompt, output,"
                   " tokens) VALUES (:eval, :idx, :prompt, :output, :tokens)");
    for (size_t i = 0; i < in->n_probes && s.status == REG_OK; i++) {
        const struct reg_probe_in *p = &in->probes[i];
        reg_bind_int64(&s, ":eval", eval);
        reg_bind_int64(&s, ":idx", p->idx);
        reg_bind_text(&s, ":prompt", p->prompt);
        reg_bind_text(&s, ":output", p->output);
        reg_bind_int64(&s, ":tokens", p->tokens);
        reg_stmt_run(&s, "recording probe answers");
    }
    return reg_stmt_end(&s);
}

static enum reg_status insert_eval(struct registry *reg, const struct reg_eval_in *in)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg,
        "INSERT INTO evals (run, sweep_id, checkpoint_step, dataset, contract_sha256, n,"
        " correct, accuracy, extraction_failures, gen_tokens, seconds, tok_per_s, summary,"
        " quant, quant_n, quant_correct, quant_accuracy, quant_seconds, quant_tok_per_s,"
        " quant_gguf_bytes)"
        " VALUES (:run, :sweep, :step, :dataset, :contract_sha256, :n, :correct, :accuracy,"
        " :extraction_failures, :gen_tokens, :seconds, :tok_per_s, :summary, :quant,"
        " :quant_n, :quant_correct, :quant_accuracy, :quant_seconds, :quant_tok_per_s,"
        " :quant_gguf_bytes)");
    bind_at_least(&s, ":run", in->run, 1);
    reg_bind_int64(&s, ":sweep", in->sweep);
    bind_at_least(&s, ":step", in->step, 0);
    reg_bind_text(&s, ":dataset", in->dataset);
    reg_bind_text(&s, ":contract_sha256", in->contract_sha256);
    reg_bind_int64(&s, ":n", in->n);
    reg_bind_int64(&s, ":correct", in->correct);
    reg_bind_double(&s, ":accuracy", in->accuracy);
    reg_bind_int64(&s, ":extraction_failures", in->extraction_failures);
    reg_bind_int64(&s, ":gen_tokens", in->gen_tokens);
    reg_bind_double(&s, ":seconds", in->seconds);
    reg_bind_double(&s, ":tok_per_s", in->tok_per_s);
    reg_bind_text(&s, ":summary", in->summary_json);
    reg_bind_text(&s, ":quant", in->quant);
    if (in->quant) {
        reg_bind_int64(&s, ":quant_n", in->quant_n);
        reg_bind_int64(&s, ":quant_correct", in->quant_correct);
        reg_bind_double(&s, ":quant_accuracy", in->quant_accuracy);
        reg_bind_double(&s, ":quant_seconds", in->quant_seconds);
        reg_bind_double(&s, ":quant_tok_per_s", in->quant_tok_per_s);
        reg_bind_int64(&s, ":quant_gguf_bytes", in->quant_gguf_bytes);
    }
    reg_stmt_run(&s, "recording an evaluation");
    return reg_stmt_end(&s);
}

enum reg_status reg_record_eval(struct registry *reg, const struct reg_eval_in *in)
{
    enum reg_status status = reg_begin(reg);
    if (status == REG_OK)
        status = insert_eval(reg, in);
    int64_t eval = sqlite3_last_insert_rowid(reg->db);
    if (status == REG_OK)
        status = insert_predictions(reg, eval, in);
    if (status == REG_OK)
        status = insert_probes(reg, eval, in);
    if (status == REG_OK && in->job)
        status = finish_eval_job(reg, in->job, RUN_DONE, 1, 0, NULL);
    if (status != REG_OK) {
        reg_rollback(reg);
        return status;
    }
    return reg_commit(reg);
}
