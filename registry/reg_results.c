/*
 * reg_results.c - reading one sweep version's results for selection and reports,
 * and replacing its selections (reg_results.h).
 *
 * Metrics, checkpoints and training numbers come from each run's current lineage
 * (attempts since it last started from scratch, runs.base_attempt), as in v_runs.
 * The evaluator's summary and probe answers arrived with a later schema version:
 * they are read when their column and table exist, so this file works on every
 * registry it can open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reg_internal.h"
#include "reg_results.h"

/* Grow *arr (of *n elements of `size`) by one zeroed element; returns it. */
static void *push(void *arr_ptr, size_t *n, size_t size)
{
    void **arr = arr_ptr;
    *arr = xrealloc(*arr, (*n + 1) * size);
    char *el = (char *)*arr + *n * size;
    memset(el, 0, size);
    (*n)++;
    return el;
}

static int has_schema_object(struct registry *reg, const char *sql)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg, sql);
    int yes = reg_stmt_row(&s, "reading the schema");
    reg_stmt_end(&s);
    return yes;
}

static struct reg_res_run *run_by_rowid(struct reg_results *r, int64_t rowid)
{
    for (size_t i = 0; i < r->n_runs; i++)
        if (r->runs[i].rowid == rowid)
            return &r->runs[i];
    return NULL;
}

static struct reg_res_eval *eval_by_rowid(struct reg_results *r, int64_t rowid)
{
    for (size_t i = 0; i < r->n_evals; i++)
        if (r->evals[i].rowid == rowid)
            return &r->evals[i];
    return NULL;
}

/* ---- rows ---- */

static int artifact_row(sqlite3_stmt *st, void *ctx)
{
    struct reg_results *r = ctx;
    struct reg_res_artifact *a = push(&r->artifacts, &r->n_artifacts, sizeof(*a));
    a->role = reg_column_dup(st, 0);
    a->name = reg_column_dup(st, 1);
    a->path = reg_column_dup(st, 2);
    a->sha256 = reg_column_dup(st, 3);
    a->bytes = sqlite3_column_int64(st, 4);
    a->rows = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 5);
    return 0;
}

static int run_row(sqlite3_stmt *st, void *ctx)
{
    struct reg_results *r = ctx;
    struct reg_res_run *run = push(&r->runs, &r->n_runs, sizeof(*run));
    run->rowid = sqlite3_column_int64(st, 0);
    run->run_id = reg_column_dup(st, 1);
    run->stage = reg_column_dup(st, 2);
    run->condition = reg_column_dup(st, 3);
    run->has_lr = sqlite3_column_type(st, 4) != SQLITE_NULL;
    run->lr = sqlite3_column_double(st, 4);
    run->has_seed = sqlite3_column_type(st, 5) != SQLITE_NULL;
    run->seed = sqlite3_column_int64(st, 5);
    run->state = reg_column_dup(st, 6);
    run->params_json = reg_column_dup(st, 7);
    run->has_train_loss = sqlite3_column_type(st, 8) != SQLITE_NULL;
    run->train_loss = sqlite3_column_double(st, 8);
    run->has_train_tok_s = sqlite3_column_type(st, 9) != SQLITE_NULL;
    run->train_tok_s = sqlite3_column_double(st, 9);
    run->has_peak_rss = sqlite3_column_type(st, 10) != SQLITE_NULL;
    run->peak_rss_mb = sqlite3_column_double(st, 10);
    run->has_trainable = sqlite3_column_type(st, 11) != SQLITE_NULL;
    run->trainable_pct = sqlite3_column_double(st, 11);
    run->trainable_params = sqlite3_column_int64(st, 12);
    run->slurm_job = sqlite3_column_int64(st, 13);
    run->slurm_state = reg_column_dup(st, 14);
    run->attempt = sqlite3_column_int(st, 15);
    run->fail_reason = reg_column_dup(st, 16);
    run->fail_stderr = reg_column_dup(st, 17);
    return 0;
}

/* A metric point of a run's series (*pts, *n), ordered by step: a resumed run may
 * log a step twice, and the later line (ordered last) wins. */
static void add_point(struct reg_res_point **pts, size_t *n, sqlite3_stmt *st)
{
    int64_t step = sqlite3_column_int64(st, 1);
    const char *name = (const char *)sqlite3_column_text(st, 2);
    struct reg_res_point *last = *n ? &(*pts)[*n - 1] : NULL;
    for (struct reg_res_point *p = last; p && p >= *pts && p->step == step; p--)
        if (!strcmp(p->name, name)) {
            p->value = sqlite3_column_double(st, 3);
            return;
        }
    struct reg_res_point *p = push(pts, n, sizeof(*p));
    p->step = step;
    p->name = xstrdup(name);
    p->value = sqlite3_column_double(st, 3);
}

/* A val_* metric joins the run's validation series, the train `loss` its train series. */
static int curve_row(sqlite3_stmt *st, void *ctx)
{
    struct reg_results *r = ctx;
    struct reg_res_run *run = run_by_rowid(r, sqlite3_column_int64(st, 0));
    const char *name = (const char *)sqlite3_column_text(st, 2);
    if (run && name && !strcmp(name, "loss"))
        add_point(&run->train, &run->n_train, st);
    else if (run)
        add_point(&run->val, &run->n_val, st);
    return 0;
}

static int ckpt_row(sqlite3_stmt *st, void *ctx)
{
    struct reg_results *r = ctx;
    struct reg_res_run *run = run_by_rowid(r, sqlite3_column_int64(st, 0));
    if (!run)
        return 0;
    struct reg_res_checkpoint *c = push(&run->ckpts, &run->n_ckpts, sizeof(*c));
    c->step = sqlite3_column_int64(st, 1);
    c->bytes = sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 2);
    return 0;
}

static int eval_row(sqlite3_stmt *st, void *ctx)
{
    struct reg_results *r = ctx;
    struct reg_res_eval *e = push(&r->evals, &r->n_evals, sizeof(*e));
    e->rowid = sqlite3_column_int64(st, 0);
    e->run = sqlite3_column_int64(st, 1);
    e->step = sqlite3_column_int64(st, 2);
    e->dataset = reg_column_dup(st, 3);
    e->contract_sha256 = reg_column_dup(st, 4);
    e->n = sqlite3_column_int64(st, 5);
    e->correct = sqlite3_column_int64(st, 6);
    e->accuracy = sqlite3_column_double(st, 7);
    e->extraction_failures = sqlite3_column_int64(st, 8);
    e->gen_tokens = sqlite3_column_int64(st, 9);
    e->seconds = sqlite3_column_double(st, 10);
    e->tok_per_s = sqlite3_column_double(st, 11);
    e->summary_json = reg_column_dup(st, 12);
    e->quant = reg_column_dup(st, 13);
    e->quant_n = sqlite3_column_int64(st, 14);
    e->quant_correct = sqlite3_column_int64(st, 15);
    e->quant_accuracy = sqlite3_column_double(st, 16);
    e->quant_tok_per_s = sqlite3_column_double(st, 17);
    return 0;
}

static int pred_row(sqlite3_stmt *st, void *ctx)
{
    struct reg_results *r = ctx;
    struct reg_res_eval *e = eval_by_rowid(r, sqlite3_column_int64(st, 0));
    if (!e)
        return 0;
    struct reg_res_pred *p = push(&e->preds, &e->n_preds, sizeof(*p));
    p->example_id = reg_column_dup(st, 1);
    p->correct = sqlite3_column_int(st, 2);
    return 0;
}

static int probe_row(sqlite3_stmt *st, void *ctx)
{
    struct reg_results *r = ctx;
    struct reg_res_eval *e = eval_by_rowid(r, sqlite3_column_int64(st, 0));
    if (!e)
        return 0;
    struct reg_res_probe *p = push(&e->probes, &e->n_probes, sizeof(*p));
    p->idx = sqlite3_column_int(st, 1);
    p->prompt = reg_column_dup(st, 2);
    p->output = reg_column_dup(st, 3);
    return 0;
}

static void selection_fill(sqlite3_stmt *st, struct reg_res_selection *s)
{
    s->kind = reg_column_dup(st, 0);
    s->scope = reg_column_dup(st, 1);
    s->rule = reg_column_dup(st, 2);
    s->rules_sha256 = reg_column_dup(st, 3);
    s->inputs_json = reg_column_dup(st, 4);
    s->choice_json = reg_column_dup(st, 5);
}

struct selection_list {
    struct reg_res_selection **rows;
    size_t *n;
};

static int selection_row(sqlite3_stmt *st, void *ctx)
{
    struct selection_list *l = ctx;
    selection_fill(st, push(l->rows, l->n, sizeof(**l->rows)));
    return 0;
}

static int pick_row(sqlite3_stmt *st, void *ctx)
{
    struct reg_results *r = ctx;
    selection_fill(st, push(&r->picks, &r->n_picks, sizeof(*r->picks)));
    return 0;
}

/* ---- queries ---- */

#define LINEAGE(name_cond) \
    "FROM metrics m WHERE m.run = r.id AND m.attempt >= r.base_attempt AND " name_cond

/* The Slurm job of a run's last attempt (the latest, should it have been submitted
 * twice). */
#define LAST_SLURM_JOB \
    "FROM batch_jobs b WHERE b.run = r.id AND b.attempt = r.attempt" \
    " AND b.executor = 'slurm' ORDER BY b.job_id DESC LIMIT 1"

static const char sql_runs[] =
    "SELECT r.id, r.run_id, r.stage, r.condition, r.lr, r.seed, r.state, r.params,"
    " (SELECT m.value " LINEAGE("m.name = 'loss'") " ORDER BY m.step DESC, m.attempt DESC,"
    "  m.src_offset DESC LIMIT 1),"
    " (SELECT avg(m.value) " LINEAGE("m.name = 'tok_per_s'") "),"
    " (SELECT max(m.value) " LINEAGE("m.name = 'peak_rss_mb'") "),"
    " (SELECT json_extract(e.data, '$.trainable_pct') FROM events e WHERE e.run = r.id"
    "  AND e.kind = 'start' AND json_extract(e.data, '$.trainable_pct') IS NOT NULL"
    "  ORDER BY e.id DESC LIMIT 1),"
    " (SELECT json_extract(e.data, '$.trainable_params') FROM events e WHERE e.run = r.id"
    "  AND e.kind = 'start' AND json_extract(e.data, '$.trainable_pct') IS NOT NULL"
    "  ORDER BY e.id DESC LIMIT 1),"
    " (SELECT b.job_id " LAST_SLURM_JOB "), (SELECT b.state " LAST_SLURM_JOB "),"
    " r.attempt, r.fail_reason, r.fail_stderr"
    " FROM runs r WHERE r.sweep_id = :sweep ORDER BY r.ord";

static const char sql_val[] =
    "SELECT m.run, m.step, m.name, m.value FROM metrics m JOIN runs r ON r.id = m.run"
    " WHERE r.sweep_id = :sweep AND m.attempt >= r.base_attempt AND m.value IS NOT NULL"
    " AND (m.name LIKE 'val!_%' ESCAPE '!' OR m.name = 'loss')"
    " ORDER BY m.run, m.step, m.attempt, m.src_offset";

static const char sql_ckpts[] =
    "SELECT c.run, c.step, c.bytes FROM checkpoints c JOIN runs r ON r.id = c.run"
    " WHERE r.sweep_id = :sweep AND c.attempt >= r.base_attempt ORDER BY c.run, c.step";

static const char sql_artifacts[] =
    "SELECT role, name, path, sha256, bytes, rows FROM artifacts WHERE sweep_id = :sweep"
    " ORDER BY role, name";

static const char sql_picks[] =
    "SELECT kind, scope, rule, rules_sha256, inputs, choice FROM selections"
    " WHERE sweep_id = :sweep AND kind = 'pick' ORDER BY id";

static const char sql_preds[] =
    "SELECT p.eval, p.example_id, p.correct FROM predictions p JOIN evals e ON e.id = p.eval"
    " WHERE e.sweep_id = :sweep ORDER BY p.eval, p.example_id";

static const char sql_probes[] =
    "SELECT a.eval, a.idx, a.prompt, a.output FROM probe_answers a"
    " JOIN evals e ON e.id = a.eval WHERE e.sweep_id = :sweep ORDER BY a.eval, a.idx";

static enum reg_status load_sweep_row(struct registry *reg, const char *name,
                                      struct reg_results *out)
{
    struct reg_stmt s;
    if (reg_sweep_row(reg, "SELECT id, name, version, contract_json, contract_sha256,"
                      " created_at, git_status, git_commit, git_branch, git_dirty, canon_json"
                      " FROM sweeps WHERE name = :name ORDER BY version DESC LIMIT 1", name,
                      &s) != REG_OK)
        return s.status;
    sqlite3_stmt *st = s.st;
    out->sweep_rowid = sqlite3_column_int64(st, 0);
    out->name = reg_column_dup(st, 1);
    out->version = sqlite3_column_int(st, 2);
    out->contract_json = reg_column_dup(st, 3);
    out->contract_sha256 = reg_column_dup(st, 4);
    out->created_at = reg_column_dup(st, 5);
    out->git_status = reg_column_dup(st, 6);
    out->git_commit = reg_column_dup(st, 7);
    out->git_branch = reg_column_dup(st, 8);
    out->git_dirty = sqlite3_column_int(st, 9);
    out->canon_json = reg_column_dup(st, 10);
    return reg_stmt_end(&s);
}

static int metric_name_row(sqlite3_stmt *st, void *ctx)
{
    struct reg_results *r = ctx;
    r->metric_names = xrealloc(r->metric_names, (r->n_metric_names + 2) * sizeof(char *));
    r->metric_names[r->n_metric_names++] = reg_column_dup(st, 0);
    r->metric_names[r->n_metric_names] = NULL;
    return 0;
}

enum reg_status reg_results_load(struct registry *reg, const char *name,
                                 struct reg_results *out)
{
    memset(out, 0, sizeof(*out));
    enum reg_status st = load_sweep_row(reg, name, out);
    int has_summary = has_schema_object(reg,
        "SELECT 1 FROM pragma_table_info('evals') WHERE name = 'summary'");
    int has_probes = has_schema_object(reg,
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'probe_answers'");
    int has_quant = has_schema_object(reg,
        "SELECT 1 FROM pragma_table_info('evals') WHERE name = 'quant'");
    char sql_evals[640];
    snprintf(sql_evals, sizeof(sql_evals),
             "SELECT id, coalesce(run, 0), coalesce(checkpoint_step, -1), dataset,"
             " contract_sha256, n, correct, accuracy, extraction_failures, gen_tokens,"
             " seconds, tok_per_s, %s, %s FROM evals WHERE sweep_id = :sweep ORDER BY id",
             has_summary ? "summary" : "NULL",
             has_quant ? "quant, quant_n, quant_correct, quant_accuracy, quant_tok_per_s"
                       : "NULL, NULL, NULL, NULL, NULL");
    int64_t s = out->sweep_rowid;
    if (st == REG_OK)
        st = reg_walk_sweep(reg, sql_artifacts, s, "reading artifacts", artifact_row, out);
    if (st == REG_OK)
        st = reg_walk_sweep(reg, sql_runs, s, "reading runs", run_row, out);
    if (st == REG_OK)
        st = reg_walk_sweep(reg, sql_val, s, "reading validation metrics and train losses",
                            curve_row, out);
    if (st == REG_OK)
        st = reg_walk_sweep(reg, sql_ckpts, s, "reading checkpoints", ckpt_row, out);
    if (st == REG_OK)
        st = reg_walk_sweep(reg, sql_evals, s, "reading evaluations", eval_row, out);
    if (st == REG_OK)
        st = reg_walk_sweep(reg, sql_preds, s, "reading predictions", pred_row, out);
    if (st == REG_OK && has_probes)
        st = reg_walk_sweep(reg, sql_probes, s, "reading probe answers", probe_row, out);
    if (st == REG_OK)
        st = reg_walk_sweep(reg, sql_picks, s, "reading picks", pick_row, out);
    if (st == REG_OK)
        st = reg_swept_params(reg, s, &out->swept);
    if (st == REG_OK)
        st = reg_walk_sweep(reg, "SELECT DISTINCT m.name FROM metrics m JOIN runs r"
                            " ON r.id = m.run WHERE r.sweep_id = :sweep ORDER BY 1", s,
                            "reading metric names", metric_name_row, out);
    if (st != REG_OK)
        reg_results_free(out);
    return st;
}

/* ---- releasing ---- */

static void res_selection_free(struct reg_res_selection *s)
{
    free(s->kind);
    free(s->scope);
    free(s->rule);
    free(s->rules_sha256);
    free(s->inputs_json);
    free(s->choice_json);
}

void reg_res_selections_free(struct reg_res_selection *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        res_selection_free(&s[i]);
    free(s);
}

static void run_free(struct reg_res_run *run)
{
    free(run->run_id);
    free(run->stage);
    free(run->condition);
    free(run->state);
    free(run->params_json);
    free(run->slurm_state);
    free(run->fail_reason);
    free(run->fail_stderr);
    for (size_t i = 0; i < run->n_val; i++)
        free(run->val[i].name);
    free(run->val);
    for (size_t i = 0; i < run->n_train; i++)
        free(run->train[i].name);
    free(run->train);
    free(run->ckpts);
}

static void eval_free(struct reg_res_eval *e)
{
    free(e->dataset);
    free(e->contract_sha256);
    free(e->summary_json);
    free(e->quant);
    for (size_t i = 0; i < e->n_preds; i++)
        free(e->preds[i].example_id);
    free(e->preds);
    for (size_t i = 0; i < e->n_probes; i++) {
        free(e->probes[i].prompt);
        free(e->probes[i].output);
    }
    free(e->probes);
}

void reg_results_free(struct reg_results *r)
{
    free(r->name);
    free(r->contract_json);
    free(r->canon_json);
    for (size_t i = 0; i < r->n_metric_names; i++)
        free(r->metric_names[i]);
    free(r->metric_names);
    free(r->contract_sha256);
    free(r->created_at);
    free(r->git_status);
    free(r->git_commit);
    free(r->git_branch);
    for (size_t i = 0; i < r->n_artifacts; i++) {
        free(r->artifacts[i].role);
        free(r->artifacts[i].name);
        free(r->artifacts[i].path);
        free(r->artifacts[i].sha256);
    }
    free(r->artifacts);
    for (size_t i = 0; i < r->n_runs; i++)
        run_free(&r->runs[i]);
    free(r->runs);
    for (size_t i = 0; i < r->n_evals; i++)
        eval_free(&r->evals[i]);
    free(r->evals);
    reg_res_selections_free(r->picks, r->n_picks);
    reg_names_free(r->swept);
    memset(r, 0, sizeof(*r));
}

/* ---- selections ---- */

enum reg_status reg_selections_load(struct registry *reg, int64_t sweep,
                                    const char *rules_sha256, const char *kind,
                                    struct reg_res_selection **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    struct reg_stmt s;
    reg_stmt_start(&s, reg, "SELECT kind, scope, rule, rules_sha256, inputs, choice"
                   " FROM selections WHERE sweep_id = :sweep AND rules_sha256 = :rules"
                   " AND kind = :kind ORDER BY id");
    reg_bind_int64(&s, ":sweep", sweep);
    reg_bind_text(&s, ":rules", rules_sha256);
    reg_bind_text(&s, ":kind", kind);
    struct selection_list list = { out, n };
    reg_stmt_each(&s, "reading selections", selection_row, &list);
    enum reg_status status = reg_stmt_end(&s);
    if (status != REG_OK) {
        reg_res_selections_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return status;
}

static enum reg_status insert_selection(struct reg_stmt *ins, int64_t sweep, const char *rules,
                                        const struct reg_res_selection *s)
{
    reg_bind_int64(ins, ":sweep", sweep);
    reg_bind_text(ins, ":kind", s->kind);
    reg_bind_text(ins, ":scope", s->scope);
    reg_bind_text(ins, ":rule", s->rule);
    reg_bind_text(ins, ":rules", rules);
    reg_bind_text(ins, ":inputs", s->inputs_json);
    reg_bind_text(ins, ":choice", s->choice_json);
    return reg_stmt_run(ins, "recording a selection");
}

enum reg_status reg_selections_replace(struct registry *reg, int64_t sweep,
                                       const char *rules_sha256,
                                       const struct reg_res_selection *rows, size_t n)
{
    enum reg_status status = reg_begin(reg);
    if (status != REG_OK)
        return status;
    struct reg_stmt del;
    reg_stmt_start(&del, reg, "DELETE FROM selections WHERE sweep_id = :sweep"
                   " AND rules_sha256 = :rules AND kind IN ('checkpoint', 'compare', 'mainline')");
    reg_bind_int64(&del, ":sweep", sweep);
    reg_bind_text(&del, ":rules", rules_sha256);
    reg_stmt_run(&del, "replacing selections");
    status = reg_stmt_end(&del);
    if (status == REG_OK) {
        struct reg_stmt ins;
        reg_stmt_start(&ins, reg, "INSERT INTO selections (sweep_id, kind, scope, rule,"
                       " rules_sha256, inputs, choice) VALUES (:sweep, :kind, :scope, :rule,"
                       " :rules, :inputs, :choice)");
        for (size_t i = 0; ins.status == REG_OK && i < n; i++)
            insert_selection(&ins, sweep, rules_sha256, &rows[i]);
        status = reg_stmt_end(&ins);
    }
    if (status == REG_OK)
        return reg_commit(reg);
    reg_rollback(reg);
    return status;
}
