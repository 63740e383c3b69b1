/*
 * reg_read.c - reading sweeps, runs, stage summaries and run artifacts.
 *
 * Queries are built only from the fixed fragments in this file; every value a user
 * typed is bound as a parameter. Rows go to callbacks and live until they return.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reg_internal.h"
#include "strbuf.h"

/* Restricts `s` (sweeps) to the highest version of each name. */
#define LATEST_VERSION \
    "s.version = (SELECT max(s2.version) FROM sweeps s2 WHERE s2.name = s.name)"

/* ---- shared ---- */

static const char *col_text(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
}

static int col_is_null(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL;
}

/* ---- sweeps ---- */

static const char sql_sweep_latest[] =
    "SELECT s.id, s.name, s.version, s.spec_path, s.canon_json, s.canon_sha256,"
    " s.contract_sha256, s.created_at, s.git_status, s.git_commit, s.git_branch, s.git_dirty,"
    " (SELECT count(*) FROM runs r WHERE r.sweep_id = s.id), s.spec_sha256"
    " FROM sweeps s WHERE s.name = :name ORDER BY s.version DESC LIMIT 1";

static void fill_sweep_info(sqlite3_stmt *st, struct reg_sweep_info *out)
{
    out->rowid = sqlite3_column_int64(st, 0);
    out->name = reg_column_dup(st, 1);
    out->version = sqlite3_column_int(st, 2);
    out->spec_path = reg_column_dup(st, 3);
    out->canon_json = reg_column_dup(st, 4);
    out->canon_sha256 = reg_column_dup(st, 5);
    out->contract_sha256 = reg_column_dup(st, 6);
    out->created_at = reg_column_dup(st, 7);
    out->git_status = reg_column_dup(st, 8);
    out->git_commit = reg_column_dup(st, 9);
    out->git_branch = reg_column_dup(st, 10);
    out->git_dirty = sqlite3_column_int(st, 11);
    out->n_runs = sqlite3_column_int(st, 12);
    out->spec_sha256 = reg_column_dup(st, 13);
}

enum reg_status reg_sweep_latest(struct registry *reg, const char *name,
                                 struct reg_sweep_info *out)
{
    if (!reg || !out)
        return REG_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (!name)
        return reg_fail(reg, REG_ERR_INVALID, "reg_sweep_latest: no sweep name");
    struct reg_stmt s;
    if (reg_sweep_row(reg, sql_sweep_latest, name, &s) != REG_OK)
        return s.status;
    fill_sweep_info(s.st, out);
    return reg_stmt_end(&s);
}

void reg_sweep_info_free(struct reg_sweep_info *info)
{
    if (!info)
        return;
    free(info->name);
    free(info->spec_path);
    free(info->canon_json);
    free(info->canon_sha256);
    free(info->spec_sha256);
    free(info->contract_sha256);
    free(info->created_at);
    free(info->git_status);
    free(info->git_commit);
    free(info->git_branch);
    memset(info, 0, sizeof(*info));
}

/* ---- swept parameters ---- */

static const char sql_swept[] =
    "SELECT DISTINCT name FROM run_params WHERE sweep_id = :sweep AND swept"
    " ORDER BY name = 'seed', name <> 'condition', name";

struct names_ctx {
    char **names;
    size_t n;
};

static int swept_row(sqlite3_stmt *st, void *ud)
{
    struct names_ctx *c = ud;
    c->names = xrealloc(c->names, (c->n + 2) * sizeof(*c->names));
    c->names[c->n++] = reg_column_dup(st, 0);
    c->names[c->n] = NULL;
    return 0;
}

enum reg_status reg_swept_params(struct registry *reg, int64_t sweep_rowid, char ***names)
{
    struct names_ctx c = { xcalloc(1, sizeof(char *)), 0 };
    enum reg_status st = reg_walk_sweep(reg, sql_swept, sweep_rowid, "reading parameters",
                                        swept_row, &c);
    if (st != REG_OK) {
        reg_names_free(c.names);
        c.names = NULL;
    }
    *names = c.names;
    return st;
}

void reg_names_free(char **names)
{
    for (size_t i = 0; names && names[i]; i++)
        free(names[i]);
    free(names);
}

/* ---- runs: building the query ---- */

/*
 * Filter keys that name a column; any other key is looked up in the params JSON.
 * Text columns take the value as typed: "007" must not become 7, nor "1e5" 100000.0.
 */
static const struct column_key {
    const char *key;
    const char *expr;
    int numeric;
} column_keys[] = {
    { "run", "r.run_id", 0 },
    { "stage", "r.stage", 0 },
    { "condition", "r.condition", 0 },
    { "lr", "r.lr", 1 },
    { "seed", "r.seed", 1 },
    { "state", "r.state", 0 },
    { "attempt", "r.attempt", 1 },
    { "sweep", "s.name", 0 },
};

/*
 * `!=` uses IS NOT so that a run whose column is NULL (no condition, an lr still
 * waiting on a pick, a params key it lacks) counts as different from the value,
 * as a user reading `condition!=x` expects. No value is ever bound as NULL, so
 * `=` needs no such care; ordering operators leave NULLs out, as they should.
 */
static const char *const op_sql[] = {
    [FILTER_EQ] = " = ",
    [FILTER_NE] = " IS NOT ",
    [FILTER_LT] = " < ",
    [FILTER_LE] = " <= ",
    [FILTER_GT] = " > ",
    [FILTER_GE] = " >= ",
};

static const char sql_runs_select[] =
    "SELECT r.id, s.id, s.name, s.version, r.run_id, r.stage, r.condition, r.lr, r.seed,"
    " r.params, r.pending, r.state, r.attempt, r.created_at, r.started_at, r.finished_at,"
    " r.exit_status, r.run_dir, r.fail_reason,"
    /* the headline numbers, as the view v_runs has them (docs/registry.md) */
    " (SELECT min(m.value) FROM metrics m WHERE m.run = r.id AND m.attempt >= r.base_attempt"
    "  AND m.name = 'val_nll'),"
    " (SELECT m.step FROM metrics m WHERE m.run = r.id AND m.attempt >= r.base_attempt"
    "  AND m.name = 'val_nll' AND m.value IS NOT NULL ORDER BY m.value, m.step LIMIT 1),"
    " (SELECT e.accuracy FROM evals e WHERE e.run = r.id ORDER BY e.id DESC LIMIT 1)"
    " FROM runs r JOIN sweeps s ON s.id = r.sweep_id WHERE 1";

/* Column positions in sql_runs_select. */
enum run_col {
    RC_ID, RC_SWEEP_ID, RC_SWEEP, RC_VERSION, RC_RUN_ID, RC_STAGE, RC_CONDITION, RC_LR,
    RC_SEED, RC_PARAMS, RC_PENDING, RC_STATE, RC_ATTEMPT, RC_CREATED, RC_STARTED,
    RC_FINISHED, RC_EXIT, RC_RUN_DIR, RC_FAIL_REASON, RC_BEST_VAL_NLL, RC_BEST_VAL_STEP,
    RC_EVAL_ACCURACY
};

static const struct column_key *column_key(const char *key)
{
    for (size_t i = 0; i < sizeof(column_keys) / sizeof(column_keys[0]); i++) {
        if (strcmp(key, column_keys[i].key) == 0)
            return &column_keys[i];
    }
    return NULL;
}

/* [A-Za-z_][A-Za-z0-9_]*: safe inside a JSON path, and what a params key looks like. */
static int is_identifier(const char *s)
{
    if (!isalpha((unsigned char)*s) && *s != '_')
        return 0;
    for (s++; *s; s++) {
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    }
    return 1;
}

static enum reg_status check_term(struct registry *reg, const struct reg_filter_term *t)
{
    if (!t->key || !t->value)
        return reg_fail(reg, REG_ERR_INVALID, "filter term without a key or a value");
    if ((int)t->op < 0 || (size_t)t->op >= sizeof(op_sql) / sizeof(op_sql[0]))
        return reg_fail(reg, REG_ERR_INVALID, "filter on '%s': unknown operator %d", t->key,
                        (int)t->op);
    if (!column_key(t->key) && !is_identifier(t->key))
        return reg_fail(reg, REG_ERR_INVALID,
                        "invalid filter key '%s': not a column nor a parameter name", t->key);
    return REG_OK;
}

/* Only fixed text and term indexes go into the SQL; keys and values become :kN and :vN. */
static enum reg_status build_runs_sql(struct registry *reg, const struct reg_run_query *q,
                                      struct strbuf *sql)
{
    sb_adds(sql, sql_runs_select);
    if (!q->all_versions)
        sb_adds(sql, " AND " LATEST_VERSION);
    if (q->sweep)
        sb_adds(sql, " AND s.name = :sweep");
    if (q->run_id)
        sb_adds(sql, " AND r.run_id = :run_id");
    for (size_t i = 0; i < q->n_terms; i++) {
        const struct reg_filter_term *t = &q->terms[i];
        enum reg_status st = check_term(reg, t);
        if (st != REG_OK)
            return st;
        const struct column_key *col = column_key(t->key);
        if (col)
            sb_addf(sql, " AND %s%s:v%zu", col->expr, op_sql[t->op], i);
        else
            sb_addf(sql, " AND json_extract(r.params, '$.' || :k%zu)%s:v%zu", i,
                    op_sql[t->op], i);
    }
    sb_adds(sql, " ORDER BY s.name, s.version, r.ord");
    return REG_OK;
}

/* ---- runs: binding and reading ---- */

/* An integer if all of it is one, else a finite double if all of it is one, else text. */
static void bind_value(struct reg_stmt *s, const char *param, const char *value)
{
    char *end;
    if (*value && !isspace((unsigned char)*value)) {
        errno = 0;
        long long i = strtoll(value, &end, 10);
        if (!*end && !errno) {
            reg_bind_int64(s, param, i);
            return;
        }
        errno = 0;
        double d = strtod(value, &end);
        if (!*end && !errno && isfinite(d)) {
            reg_bind_double(s, param, d);
            return;
        }
    }
    reg_bind_text(s, param, value);
}

static void bind_runs_query(struct reg_stmt *s, const struct reg_run_query *q)
{
    if (q->sweep)
        reg_bind_text(s, ":sweep", q->sweep);
    if (q->run_id)
        reg_bind_text(s, ":run_id", q->run_id);
    for (size_t i = 0; i < q->n_terms; i++) {
        const struct column_key *col = column_key(q->terms[i].key);
        char name[32];
        if (!col) {
            snprintf(name, sizeof(name), ":k%zu", i);
            reg_bind_text(s, name, q->terms[i].key);
        }
        snprintf(name, sizeof(name), ":v%zu", i);
        if (col && !col->numeric)
            reg_bind_text(s, name, q->terms[i].value);
        else
            bind_value(s, name, q->terms[i].value);
    }
}

struct run_walk {
    reg_run_cb cb;
    void *ud;
};

static int run_row(sqlite3_stmt *st, void *ctx)
{
    struct run_walk *w = ctx;
    struct reg_run_row row = {
        .rowid = sqlite3_column_int64(st, RC_ID),
        .sweep_rowid = sqlite3_column_int64(st, RC_SWEEP_ID),
        .sweep = col_text(st, RC_SWEEP),
        .version = sqlite3_column_int(st, RC_VERSION),
        .run_id = col_text(st, RC_RUN_ID),
        .stage = col_text(st, RC_STAGE),
        .condition = col_text(st, RC_CONDITION),
        .has_lr = !col_is_null(st, RC_LR),
        .lr = sqlite3_column_double(st, RC_LR),
        .has_seed = !col_is_null(st, RC_SEED),
        .seed = sqlite3_column_int64(st, RC_SEED),
        .params_json = col_text(st, RC_PARAMS),
        .pending_json = col_text(st, RC_PENDING),
        .state = col_text(st, RC_STATE),
        .attempt = sqlite3_column_int(st, RC_ATTEMPT),
        .created_at = col_text(st, RC_CREATED),
        .started_at = col_text(st, RC_STARTED),
        .finished_at = col_text(st, RC_FINISHED),
        .has_exit_status = !col_is_null(st, RC_EXIT),
        .exit_status = sqlite3_column_int(st, RC_EXIT),
        .run_dir = col_text(st, RC_RUN_DIR),
        .fail_reason = col_text(st, RC_FAIL_REASON),
        .has_best_val_nll = !col_is_null(st, RC_BEST_VAL_NLL),
        .best_val_nll = sqlite3_column_double(st, RC_BEST_VAL_NLL),
        .best_val_step = col_is_null(st, RC_BEST_VAL_STEP) ? -1
                                                            : sqlite3_column_int64(st, RC_BEST_VAL_STEP),
        .has_eval_accuracy = !col_is_null(st, RC_EVAL_ACCURACY),
        .eval_accuracy = sqlite3_column_double(st, RC_EVAL_ACCURACY),
    };
    return w->cb(&row, w->ud);
}

enum reg_status reg_query_runs(struct registry *reg, const struct reg_run_query *q,
                               reg_run_cb cb, void *ud)
{
    static const struct reg_run_query everything = { 0 };
    if (!reg)
        return REG_ERR_INVALID;
    if (!cb || (q && q->n_terms && !q->terms))
        return reg_fail(reg, REG_ERR_INVALID, "reg_query_runs: no callback or no terms");
    if (!q)
        q = &everything;
    struct strbuf sql = STRBUF_INIT;
    enum reg_status status = build_runs_sql(reg, q, &sql);
    struct reg_stmt s;
    if (status == REG_OK)
        status = reg_stmt_start_once(&s, reg, sb_str(&sql));   /* built per query */
    sb_free(&sql);
    if (status != REG_OK)
        return status;
    bind_runs_query(&s, q);
    struct run_walk w = { cb, ud };
    reg_stmt_each(&s, "reading runs", run_row, &w);
    return reg_stmt_end(&s);
}

/* ---- stage summary ---- */

/* The sum() columns are in enum reg_run_state order; stage_row relies on it. */
_Static_assert(RUN_STATE_COUNT == 6, "sql_stage_summary lists six states");
static const char sql_stage_summary[] =
    "SELECT s.name, s.version, r.stage,"
    " sum(r.state = 'waiting'), sum(r.state = 'planned'), sum(r.state = 'running'),"
    " sum(r.state = 'done'), sum(r.state = 'failed'), sum(r.state = 'cancelled'),"
    " count(*)"
    " FROM runs r JOIN sweeps s ON s.id = r.sweep_id"
    " WHERE " LATEST_VERSION " AND (:sweep IS NULL OR s.name = :sweep)"
    " GROUP BY s.id, s.name, s.version, r.stage"
    " ORDER BY s.name, min(r.ord)";

struct stage_walk {
    reg_stage_cb cb;
    void *ud;
};

static int stage_row(sqlite3_stmt *st, void *ctx)
{
    struct stage_walk *w = ctx;
    struct reg_stage_row row = {
        .sweep = col_text(st, 0),
        .version = sqlite3_column_int(st, 1),
        .stage = col_text(st, 2),
        .total = sqlite3_column_int(st, 3 + RUN_STATE_COUNT),
    };
    for (int i = 0; i < RUN_STATE_COUNT; i++)
        row.counts[i] = sqlite3_column_int(st, 3 + i);
    return w->cb(&row, w->ud);
}

enum reg_status reg_stage_summary(struct registry *reg, const char *sweep,
                                  reg_stage_cb cb, void *ud)
{
    if (!reg)
        return REG_ERR_INVALID;
    if (!cb)
        return reg_fail(reg, REG_ERR_INVALID, "reg_stage_summary: no callback");
    struct reg_stmt s;
    reg_stmt_start(&s, reg, sql_stage_summary);
    reg_bind_text(&s, ":sweep", sweep);
    struct stage_walk w = { cb, ud };
    reg_stmt_each(&s, "summarising stages", stage_row, &w);
    return reg_stmt_end(&s);
}

/* ---- run artifacts ---- */

static const char sql_run_artifacts[] =
    "SELECT a.role, a.name, a.path, a.sha256, a.bytes, a.rows, a.source"
    " FROM run_artifacts ra JOIN artifacts a ON a.id = ra.artifact"
    " WHERE ra.run = :run ORDER BY a.id";

struct artifact_walk {
    reg_artifact_cb cb;
    void *ud;
};

static int artifact_row(sqlite3_stmt *st, void *ctx)
{
    struct artifact_walk *w = ctx;
    struct reg_artifact_row row = {
        .role = col_text(st, 0),
        .name = col_text(st, 1),
        .path = col_text(st, 2),
        .sha256 = col_text(st, 3),
        .bytes = sqlite3_column_int64(st, 4),
        .rows = col_is_null(st, 5) ? -1 : sqlite3_column_int64(st, 5),
        .source = col_is_null(st, 6) ? NULL : col_text(st, 6),
    };
    return w->cb(&row, w->ud);
}

static enum reg_status require_run(struct registry *reg, int64_t run_rowid)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg, "SELECT 1 FROM runs WHERE id = :run");
    reg_bind_int64(&s, ":run", run_rowid);
    if (!reg_stmt_row(&s, "looking up a run") && s.status == REG_OK)
        s.status = reg_fail(reg, REG_ERR_NOT_FOUND, "no run with row id %lld",
                            (long long)run_rowid);
    return reg_stmt_end(&s);
}

enum reg_status reg_run_artifacts(struct registry *reg, int64_t run_rowid,
                                  reg_artifact_cb cb, void *ud)
{
    if (!reg)
        return REG_ERR_INVALID;
    if (!cb)
        return reg_fail(reg, REG_ERR_INVALID, "reg_run_artifacts: no callback");
    enum reg_status status = require_run(reg, run_rowid);
    if (status != REG_OK)
        return status;
    struct reg_stmt s;
    reg_stmt_start(&s, reg, sql_run_artifacts);
    reg_bind_int64(&s, ":run", run_rowid);
    struct artifact_walk w = { cb, ud };
    reg_stmt_each(&s, "reading run artifacts", artifact_row, &w);
    return reg_stmt_end(&s);
}

/* ---- checkpoints ---- */

static const char sql_run_checkpoints[] =
    "SELECT c.attempt, c.step, c.path, c.bytes, c.sha256, c.kept, c.attempt >= r.base_attempt"
    " FROM checkpoints c JOIN runs r ON r.id = c.run WHERE c.run = :run"
    " ORDER BY c.attempt, c.step";

struct ckpt_walk {
    reg_checkpoint_cb cb;
    void *ud;
};

static int checkpoint_row(sqlite3_stmt *st, void *ctx)
{
    struct ckpt_walk *w = ctx;
    struct reg_checkpoint_row row = {
        .attempt = sqlite3_column_int(st, 0),
        .step = sqlite3_column_int64(st, 1),
        .path = col_text(st, 2),
        .bytes = col_is_null(st, 3) ? -1 : sqlite3_column_int64(st, 3),
        .sha256 = col_is_null(st, 4) ? NULL : col_text(st, 4),
        .kept = col_is_null(st, 5) ? -1 : sqlite3_column_int(st, 5),
        .current = sqlite3_column_int(st, 6),
    };
    return w->cb(&row, w->ud);
}

enum reg_status reg_run_checkpoints(struct registry *reg, int64_t run_rowid,
                                    reg_checkpoint_cb cb, void *ud)
{
    if (!reg)
        return REG_ERR_INVALID;
    if (!cb)
        return reg_fail(reg, REG_ERR_INVALID, "reg_run_checkpoints: no callback");
    struct reg_stmt s;
    reg_stmt_start(&s, reg, sql_run_checkpoints);
    reg_bind_int64(&s, ":run", run_rowid);
    struct ckpt_walk w = { cb, ud };
    reg_stmt_each(&s, "reading checkpoints", checkpoint_row, &w);
    return reg_stmt_end(&s);
}

/* ---- batch jobs ---- */

static const char sql_run_batch_jobs[] =
    "SELECT b.job_id, b.executor, b.name, b.attempt, b.eval_job IS NOT NULL,"
    " coalesce(e.step, -1), b.array_index, b.state, b.reason, b.partition, b.nodes,"
    " b.elapsed_s, b.max_rss_bytes, b.acct_confirmed, b.submitted_at, b.ended_at"
    " FROM batch_jobs b LEFT JOIN eval_jobs e ON e.id = b.eval_job"
    " WHERE b.run = :run OR e.run = :run ORDER BY b.submitted_at, b.job_id";

struct batch_job_walk {
    reg_batch_job_cb cb;
    void *ud;
};

static const char *col_text_or_null(sqlite3_stmt *st, int col)
{
    return col_is_null(st, col) ? NULL : col_text(st, col);
}

static int batch_job_row(sqlite3_stmt *st, void *ctx)
{
    struct batch_job_walk *w = ctx;
    struct reg_batch_job_row row = {
        .job_id = sqlite3_column_int64(st, 0),
        .executor = col_text(st, 1),
        .name = col_text(st, 2),
        .attempt = sqlite3_column_int(st, 3),
        .is_eval = sqlite3_column_int(st, 4),
        .eval_step = sqlite3_column_int64(st, 5),
        .has_array_index = !col_is_null(st, 6),
        .array_index = sqlite3_column_int64(st, 6),
        .state = col_text_or_null(st, 7),
        .reason = col_text_or_null(st, 8),
        .partition = col_text_or_null(st, 9),
        .nodes = col_text_or_null(st, 10),
        .has_elapsed = !col_is_null(st, 11),
        .elapsed_s = sqlite3_column_int64(st, 11),
        .has_max_rss = !col_is_null(st, 12),
        .max_rss_bytes = sqlite3_column_int64(st, 12),
        .acct_confirmed = sqlite3_column_int(st, 13),
        .submitted_at = col_text(st, 14),
        .ended_at = col_text_or_null(st, 15),
    };
    return w->cb(&row, w->ud);
}

enum reg_status reg_run_batch_jobs(struct registry *reg, int64_t run_rowid,
                                   reg_batch_job_cb cb, void *ud)
{
    if (!reg)
        return REG_ERR_INVALID;
    if (!cb)
        return reg_fail(reg, REG_ERR_INVALID, "reg_run_batch_jobs: no callback");
    struct reg_stmt s;
    reg_stmt_start(&s, reg, sql_run_batch_jobs);
    reg_bind_int64(&s, ":run", run_rowid);
    struct batch_job_walk w = { cb, ud };
    reg_stmt_each(&s, "reading batch jobs", batch_job_row, &w);
    return reg_stmt_end(&s);
}

/* ---- measured throughput ---- */

static const char sql_throughput[] =
    "SELECT m.value, m.run FROM metrics m"
    " JOIN run_artifacts ra ON ra.run = m.run"
    " JOIN artifacts a ON a.id = ra.artifact"
    " WHERE m.name = 'tok_per_s' AND m.value > 0 AND a.role = 'base_model'"
    " AND a.sha256 = :sha ORDER BY m.value";

struct throughput_ctx {
    double *values;
    size_t n, alloc;
    int64_t last_run;
    long runs;
    int64_t *seen;
    size_t n_seen, alloc_seen;
};

static int throughput_row(sqlite3_stmt *st, void *ctx)
{
    struct throughput_ctx *c = ctx;
    c->values = xgrow(c->values, c->n + 1, &c->alloc, sizeof(double));
    c->values[c->n++] = sqlite3_column_double(st, 0);
    int64_t run = sqlite3_column_int64(st, 1);
    for (size_t i = 0; i < c->n_seen; i++)
        if (c->seen[i] == run)
            return 0;
    c->seen = xgrow(c->seen, c->n_seen + 1, &c->alloc_seen, sizeof(int64_t));
    c->seen[c->n_seen++] = run;
    return 0;
}

enum reg_status reg_measured_throughput(struct registry *reg, const char *base_sha256,
                                        struct reg_throughput *out)
{
    if (!reg || !out || !base_sha256)
        return REG_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    struct reg_stmt s;
    reg_stmt_start(&s, reg, sql_throughput);
    reg_bind_text(&s, ":sha", base_sha256);
    struct throughput_ctx c = { 0 };
    reg_stmt_each(&s, "reading throughput", throughput_row, &c);
    enum reg_status status = reg_stmt_end(&s);
    if (status == REG_OK && c.n) {
        /* sorted by the query: the median of n values */
        out->tok_per_s = c.n % 2 ? c.values[c.n / 2]
                                 : (c.values[c.n / 2 - 1] + c.values[c.n / 2]) / 2;
        out->reports = (long)c.n;
        out->runs = (long)c.n_seen;
    }
    free(c.values);
    free(c.seen);
    return status;
}
