/*
 * reg_bundle.c - a bundle's registry rows: dumped from one registry as JSON, checked
 * against and recorded into another (reg_bundle.h).
 *
 * Rows travel column by column. Reading, every column but the ids and foreign keys
 * goes into the JSON; writing, a row's keys must be columns of the table here
 * (PRAGMA table_info), so the SQL built from them names only real columns and every
 * value is bound.
 */
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "reg_bundle.h"
#include "reg_internal.h"
#include "strbuf.h"

/* ---- reading rows as JSON ---- */

static int skipped(const char *col, const char *const *skip)
{
    for (; *skip; skip++)
        if (!strcmp(col, *skip))
            return 1;
    return 0;
}

static json_t *row_json(sqlite3_stmt *st, const char *const *skip)
{
    json_t *o = json_object();
    for (int i = 0; i < sqlite3_column_count(st); i++) {
        const char *col = sqlite3_column_name(st, i);
        if (skipped(col, skip))
            continue;
        json_t *v;
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_INTEGER: v = json_integer(sqlite3_column_int64(st, i)); break;
        case SQLITE_FLOAT: v = json_real(sqlite3_column_double(st, i)); break;
        case SQLITE_NULL: v = json_null(); break;
        default:
            v = json_stringn((const char *)sqlite3_column_text(st, i),
                             (size_t)sqlite3_column_bytes(st, i));
            break;
        }
        json_object_set_new(o, col, v ? v : json_null());
    }
    return o;
}

/* Every row of sql (one :id parameter) into an array. */
static enum reg_status rows_json(struct registry *reg, const char *sql, int64_t id,
                                 const char *const *skip, json_t **out)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg, sql);
    reg_bind_int64(&s, ":id", id);
    *out = json_array();
    while (reg_stmt_row(&s, "reading a bundle's rows"))
        json_array_append_new(*out, row_json(s.st, skip));
    enum reg_status st = reg_stmt_end(&s);
    if (st != REG_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return st;
}

static const char *const skip_ids[] = { "id", "sweep_id", "run", "eval", "artifact", NULL };
static const char *const skip_run[] = { "id", "sweep_id", "pid", "proc_start", "job_id", NULL };

/* An evals array's rows, each with its predictions and probe answers. */
static enum reg_status evals_json(struct registry *reg, const char *sql, int64_t id,
                                  json_t **out)
{
    static const char *const keep_id[] = { "sweep_id", "run", NULL };
    enum reg_status st = rows_json(reg, sql, id, keep_id, out);
    size_t i;
    json_t *e;
    json_array_foreach(*out, i, e) {
        int64_t eval = json_integer_value(json_object_get(e, "id"));
        json_t *p = NULL, *q = NULL;
        if (st == REG_OK)
            st = rows_json(reg, "SELECT * FROM predictions WHERE eval = :id ORDER BY example_id",
                           eval, skip_ids, &p);
        if (st == REG_OK)
            st = rows_json(reg, "SELECT * FROM probe_answers WHERE eval = :id ORDER BY idx",
                           eval, skip_ids, &q);
        json_object_set_new(e, "predictions", p ? p : json_array());
        json_object_set_new(e, "probe_answers", q ? q : json_array());
        json_object_del(e, "id");
    }
    return st;
}

static enum reg_status run_json(struct registry *reg, int64_t run, json_t **out)
{
    json_t *rows = NULL, *arts = NULL, *metrics = NULL, *ckpts = NULL, *evals = NULL;
    enum reg_status st = rows_json(reg, "SELECT * FROM runs WHERE id = :id", run, skip_run,
                                   &rows);
    if (st == REG_OK && json_array_size(rows) != 1)
        st = reg_fail(reg, REG_ERR_NOT_FOUND, "no run of row id %lld", (long long)run);
    if (st == REG_OK)
        st = rows_json(reg, "SELECT a.role, a.name FROM run_artifacts ra JOIN artifacts a "
                            "ON a.id = ra.artifact WHERE ra.run = :id ORDER BY a.role, a.name",
                       run, skip_ids, &arts);
    if (st == REG_OK)
        st = rows_json(reg, "SELECT * FROM metrics WHERE run = :id "
                            "ORDER BY attempt, src_offset, name", run, skip_ids, &metrics);
    if (st == REG_OK)
        st = rows_json(reg, "SELECT * FROM checkpoints WHERE run = :id ORDER BY step", run,
                       skip_ids, &ckpts);
    if (st == REG_OK)
        st = evals_json(reg, "SELECT * FROM evals WHERE run = :id ORDER BY id", run, &evals);
    if (st == REG_OK) {
        *out = json_pack("{s:O, s:o, s:o, s:o, s:o}", "run", json_array_get(rows, 0),
                         "artifacts", arts, "metrics", metrics, "checkpoints", ckpts,
                         "evals", evals);
        arts = metrics = ckpts = evals = NULL;
    }
    json_decref(rows);
    json_decref(arts);
    json_decref(metrics);
    json_decref(ckpts);
    json_decref(evals);
    return st;
}

enum reg_status reg_bundle_dump(struct registry *reg, int64_t sweep, const int64_t *runs,
                                size_t n_runs, json_t **out)
{
    json_t *sw = NULL, *arts = NULL, *picks = NULL, *base = NULL, *rs = json_array();
    *out = NULL;
    enum reg_status st = rows_json(reg, "SELECT * FROM sweeps WHERE id = :id", sweep,
                                   skip_ids, &sw);
    if (st == REG_OK && json_array_size(sw) != 1)
        st = reg_fail(reg, REG_ERR_NOT_FOUND, "no sweep of row id %lld", (long long)sweep);
    if (st == REG_OK)
        st = rows_json(reg, "SELECT * FROM artifacts WHERE sweep_id = :id ORDER BY id", sweep,
                       skip_ids, &arts);
    if (st == REG_OK)
        st = rows_json(reg, "SELECT * FROM selections WHERE sweep_id = :id AND kind = 'pick' "
                            "ORDER BY id", sweep, skip_ids, &picks);
    if (st == REG_OK)
        st = evals_json(reg, "SELECT * FROM evals WHERE sweep_id = :id AND run IS NULL "
                             "ORDER BY id", sweep, &base);
    for (size_t i = 0; st == REG_OK && i < n_runs; i++) {
        json_t *r = NULL;
        st = run_json(reg, runs[i], &r);
        if (r)
            json_array_append_new(rs, r);
    }
    if (st == REG_OK)
        *out = json_pack("{s:O, s:O, s:O, s:O, s:O}", "sweep", json_array_get(sw, 0),
                         "artifacts", arts, "picks", picks, "baseline", base, "runs", rs);
    json_decref(sw);
    json_decref(arts);
    json_decref(picks);
    json_decref(base);
    json_decref(rs);
    return st;
}

/* ---- the results digest ---- */

/* What differs between two registries holding the same results. */
static const char *const volatile_cols[] = {
    "created_at", "started_at", "finished_at", "run_dir", "host", "path", "kept",
    "checked_at", "pid", "proc_start", "job_id", NULL
};

static json_t *strip_volatile(const json_t *v)
{
    if (json_is_object(v)) {
        json_t *o = json_object(), *x;
        const char *k;
        json_object_foreach((json_t *)v, k, x)
            if (!skipped(k, volatile_cols))
                json_object_set_new(o, k, strip_volatile(x));
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array(), *x;
        size_t i;
        json_array_foreach(v, i, x)
            json_array_append_new(a, strip_volatile(x));
        return a;
    }
    return json_deep_copy(v);
}

void reg_bundle_run_digest(const json_t *run_entry, char out[65])
{
    json_t *s = strip_volatile(run_entry);
    char *text = json_dumps(s, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    sha256_hex(text ? text : "", text ? strlen(text) : 0, out);
    free(text);
    json_decref(s);
}

/* ---- checking ---- */

void reg_import_plan_free(struct reg_import_plan *p)
{
    free(p->what);
    memset(p, 0, sizeof(*p));
}

static const char *str_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/*
 * The sweep version the rows go to: the latest planned from the same canonical spec;
 * else the bundle's version number, created, when it is above every version here.
 */
static enum reg_status find_sweep(struct registry *reg, const json_t *sweep,
                                  struct reg_import_plan *plan)
{
    const char *name = str_of(sweep, "name"), *canon = str_of(sweep, "canon_sha256");
    json_int_t version = json_integer_value(json_object_get(sweep, "version"));
    if (!name || !canon || version < 1)
        return reg_fail(reg, REG_ERR_INVALID, "the bundle's sweep row has no name, version "
                        "or canon_sha256");
    struct reg_stmt s;
    reg_stmt_start(&s, reg, "SELECT id, version, canon_sha256 FROM sweeps WHERE name = :name "
                            "ORDER BY (canon_sha256 = :canon) DESC, version DESC LIMIT 1");
    reg_bind_text(&s, ":name", name);
    reg_bind_text(&s, ":canon", canon);
    plan->sweep_rowid = 0;
    plan->version = (int)version;
    plan->sweep_name = name;
    if (reg_stmt_row(&s, "finding the bundle's sweep")) {
        const char *c = (const char *)sqlite3_column_text(s.st, 2);
        int v = sqlite3_column_int(s.st, 1);
        if (c && !strcmp(c, canon)) {
            plan->sweep_rowid = sqlite3_column_int64(s.st, 0);
            plan->version = v;
        } else if (v >= version) {
            s.status = reg_fail(reg, REG_ERR_CONFLICT,
                                "sweep '%s' here is at v%d, planned from another spec (canon "
                                "sha256 %.12s, the bundle's v%d %.12s): plan the bundle's "
                                "sweep.yaml with --new-version, then import again", name, v,
                                c ? c : "-", (int)version, canon);
        }
    }
    return reg_stmt_end(&s);
}

/* What becomes of one run entry in the sweep version plan->sweep_rowid. */
static enum reg_status check_run(struct registry *reg, const json_t *entry,
                                 const struct reg_import_plan *plan, enum reg_import_what *what)
{
    const char *run_id = str_of(json_object_get(entry, "run"), "run_id");
    if (!run_id)
        return reg_fail(reg, REG_ERR_INVALID, "a run of the bundle has no run_id");
    *what = IMPORT_NEW;
    if (!plan->sweep_rowid)
        return REG_OK;
    struct reg_stmt s;
    int64_t run = 0;
    int fresh = 0;
    reg_stmt_start(&s, reg, "SELECT r.id, r.attempt = 0 AND r.state IN ('planned', 'waiting') "
                            "AND NOT EXISTS (SELECT 1 FROM metrics m WHERE m.run = r.id) "
                            "AND NOT EXISTS (SELECT 1 FROM evals e WHERE e.run = r.id) "
                            "FROM runs r WHERE r.sweep_id = :sweep AND r.run_id = :run");
    reg_bind_int64(&s, ":sweep", plan->sweep_rowid);
    reg_bind_text(&s, ":run", run_id);
    if (reg_stmt_row(&s, "finding the bundle's run")) {
        run = sqlite3_column_int64(s.st, 0);
        fresh = sqlite3_column_int(s.st, 1);
    }
    enum reg_status st = reg_stmt_end(&s);
    if (st != REG_OK || !run)
        return st;
    if (fresh) {
        *what = IMPORT_FILL;
        return REG_OK;
    }
    json_t *here = NULL;
    st = run_json(reg, run, &here);
    if (st != REG_OK)
        return st;
    char a[65], b[65];
    reg_bundle_run_digest(entry, a);
    reg_bundle_run_digest(here, b);
    json_decref(here);
    if (strcmp(a, b))
        return reg_fail(reg, REG_ERR_CONFLICT,
                        "run '%s' of sweep '%s' v%d is here already with other results "
                        "(results digest %.12s here, %.12s in the bundle): a different run of "
                        "the same identity is never replaced", run_id, plan->sweep_name,
                        plan->version, b, a);
    *what = IMPORT_SAME;
    return REG_OK;
}

enum reg_status reg_bundle_check(struct registry *reg, const json_t *rows,
                                 struct reg_import_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    const json_t *runs = json_object_get(rows, "runs");
    if (!json_is_object(json_object_get(rows, "sweep")) || !json_is_array(runs))
        return reg_fail(reg, REG_ERR_INVALID, "the bundle's registry rows have no sweep or "
                        "runs");
    enum reg_status st = find_sweep(reg, json_object_get(rows, "sweep"), plan);
    plan->n_runs = json_array_size(runs);
    plan->what = calloc(plan->n_runs + 1, sizeof(*plan->what));
    for (size_t i = 0; st == REG_OK && i < plan->n_runs; i++)
        st = check_run(reg, json_array_get(runs, i), plan, &plan->what[i]);
    return st;
}

/* ---- writing rows ---- */

/* 1 when `col` is a column of `table` (a name of ours, never the bundle's). */
static int has_column(struct registry *reg, const char *table, const char *col)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT 1 FROM pragma_table_info('%s') WHERE name = :c", table);
    struct reg_stmt s;
    reg_stmt_start(&s, reg, sql);
    reg_bind_text(&s, ":c", col);
    int found = reg_stmt_row(&s, "reading the schema");
    reg_stmt_end(&s);
    return found;
}

/*
 * INSERT a row of `table`: the JSON object's columns (those in `skip` left out), then
 * the NULL-terminated foreign keys fk_cols = fk_vals (0: NULL). *rowid gets the new row.
 */
static enum reg_status insert_row(struct registry *reg, const char *table, const json_t *row,
                                  const char *const *skip, const char *const *fk_cols,
                                  const int64_t *fk_vals, int64_t *rowid)
{
    struct strbuf sql = STRBUF_INIT, vals = STRBUF_INIT;
    const char *k;
    json_t *v;
    int n = 0;
    sb_addf(&sql, "INSERT INTO %s (", table);
    json_object_foreach((json_t *)row, k, v) {
        if (skipped(k, skip) || json_is_array(v))
            continue;
        if (skipped(k, skip_ids)) {   /* ids are this registry's: never the bundle's */
            sb_free(&sql);
            sb_free(&vals);
            return reg_fail(reg, REG_ERR_INVALID, "the bundle's %s row has a row id or "
                            "reference '%s'", table, k);
        }
        if (json_is_object(v) || !has_column(reg, table, k)) {
            sb_free(&sql);
            sb_free(&vals);
            return reg_fail(reg, REG_ERR_INVALID, "the bundle's %s row has a column '%s' "
                            "this registry does not have", table, k);
        }
        sb_addf(&sql, "%s\"%s\"", n ? ", " : "", k);
        sb_addf(&vals, "%s?", n++ ? ", " : "");
    }
    for (size_t i = 0; fk_cols && fk_cols[i]; i++) {
        sb_addf(&sql, "%s%s", n ? ", " : "", fk_cols[i]);
        sb_addf(&vals, "%s?", n++ ? ", " : "");
    }
    sb_addf(&sql, ") VALUES (%s)", vals.buf);
    sqlite3_stmt *st = NULL;
    enum reg_status status = REG_OK;
    if (sqlite3_prepare_v2(reg->db, sql.buf, -1, &st, NULL) != SQLITE_OK) {
        status = reg_sql_fail(reg, "recording a bundle's row");
        goto out;
    }
    int i = 1;
    json_object_foreach((json_t *)row, k, v) {
        if (skipped(k, skip) || json_is_array(v))
            continue;
        if (json_is_integer(v))
            sqlite3_bind_int64(st, i, json_integer_value(v));
        else if (json_is_real(v))
            sqlite3_bind_double(st, i, json_real_value(v));
        else if (json_is_string(v))
            sqlite3_bind_text(st, i, json_string_value(v), (int)json_string_length(v),
                              SQLITE_TRANSIENT);
        else if (json_is_boolean(v))
            sqlite3_bind_int(st, i, json_is_true(v));
        i++;
    }
    for (size_t j = 0; fk_cols && fk_cols[j]; j++, i++)
        if (fk_vals[j])
            sqlite3_bind_int64(st, i, fk_vals[j]);
    if (sqlite3_step(st) != SQLITE_DONE)
        status = reg_sql_fail(reg, table);
    else if (rowid)
        *rowid = sqlite3_last_insert_rowid(reg->db);
out:
    sqlite3_finalize(st);
    sb_free(&sql);
    sb_free(&vals);
    return status;
}

static enum reg_status record_evals(struct registry *reg, const json_t *evals, int64_t sweep,
                                    int64_t run, const char *dir)
{
    static const char *const fk_eval[] = { "sweep_id", "run", NULL };
    static const char *const fk_child[] = { "eval", NULL };
    static const char *const no_skip[] = { NULL };
    enum reg_status st = REG_OK;
    size_t i, j;
    json_t *e, *p;
    json_array_foreach(evals, i, e) {
        int64_t id = 0, fks[2] = { sweep, run };
        if (st == REG_OK)
            st = insert_row(reg, "evals", e, no_skip, fk_eval, fks, &id);
        json_array_foreach(json_object_get(e, "predictions"), j, p)
            if (st == REG_OK)
                st = insert_row(reg, "predictions", p, no_skip, fk_child, &id, NULL);
        json_array_foreach(json_object_get(e, "probe_answers"), j, p)
            if (st == REG_OK)
                st = insert_row(reg, "probe_answers", p, no_skip, fk_child, &id, NULL);
        if (st != REG_OK)
            break;
        /* a done eval job, so `mainline run` here does not evaluate it again */
        json_t *stepv = json_object_get(e, "checkpoint_step");
        struct reg_stmt s;
        reg_stmt_start(&s, reg, "INSERT OR IGNORE INTO eval_jobs (sweep_id, run, step, state, "
                                "attempt, dir) VALUES (:sweep, :run, :step, 'done', 1, :dir)");
        reg_bind_int64(&s, ":sweep", sweep);
        reg_bind_rowid(&s, ":run", run);
        if (json_is_integer(stepv))
            reg_bind_int64(&s, ":step", json_integer_value(stepv));
        reg_bind_text(&s, ":dir", dir);
        reg_stmt_run(&s, "recording an imported evaluation's job");
        st = reg_stmt_end(&s);
    }
    return st;
}

static enum reg_status record_sweep(struct registry *reg, const json_t *rows, int64_t *sweep)
{
    static const char *const none[] = { NULL };
    static const char *const fk[] = { "sweep_id", NULL };
    enum reg_status st = insert_row(reg, "sweeps", json_object_get(rows, "sweep"), none, NULL,
                                    NULL, sweep);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(rows, "artifacts"), i, r)
        if (st == REG_OK)
            st = insert_row(reg, "artifacts", r, none, fk, sweep, NULL);
    json_array_foreach(json_object_get(rows, "picks"), i, r)
        if (st == REG_OK)
            st = insert_row(reg, "selections", r, none, fk, sweep, NULL);
    return st;
}

static enum reg_status record_baseline(struct registry *reg, const json_t *rows, int64_t sweep)
{
    struct reg_stmt s;
    reg_stmt_start(&s, reg, "SELECT 1 FROM evals WHERE sweep_id = :sweep AND run IS NULL");
    reg_bind_int64(&s, ":sweep", sweep);
    int has = reg_stmt_row(&s, "finding the baseline evaluation");
    enum reg_status st = reg_stmt_end(&s);
    if (st != REG_OK || has)
        return st;
    return record_evals(reg, json_object_get(rows, "baseline"), sweep, 0, NULL);
}

/* The run row: inserted (IMPORT_NEW) or the planned one updated (IMPORT_FILL). */
static enum reg_status record_run_row(struct registry *reg, const json_t *entry, int64_t sweep,
                                      enum reg_import_what what, const char *dir, int64_t *run)
{
    static const char *const fk[] = { "sweep_id", NULL };
    const json_t *row = json_object_get(entry, "run");
    json_t *r = json_deep_copy(row);
    json_object_set_new(r, "run_dir", json_string(dir));
    enum reg_status st = REG_OK;
    if (what == IMPORT_FILL) {
        struct reg_stmt s;
        reg_stmt_start(&s, reg, "SELECT id, ord FROM runs WHERE sweep_id = :sweep "
                                "AND run_id = :run");
        reg_bind_int64(&s, ":sweep", sweep);
        reg_bind_text(&s, ":run", str_of(row, "run_id"));
        int64_t ord = 0;
        if (reg_stmt_row(&s, "finding the planned run")) {
            *run = sqlite3_column_int64(s.st, 0);
            ord = sqlite3_column_int64(s.st, 1);
        }
        st = reg_stmt_end(&s);
        /* the planned row goes, the bundle's takes its place and plan order */
        reg_stmt_start(&s, reg, "DELETE FROM runs WHERE id = :run");
        reg_bind_int64(&s, ":run", *run);
        reg_stmt_run(&s, "replacing the planned run");
        if (st == REG_OK)
            st = reg_stmt_end(&s);
        else
            reg_stmt_end(&s);
        json_object_set_new(r, "ord", json_integer(ord));
    }
    /* a filled run keeps its row id */
    static const char *const none[] = { NULL };
    static const char *const fk_fill[] = { "sweep_id", "id", NULL };
    int64_t fks[2] = { sweep, *run };
    if (st == REG_OK)
        st = insert_row(reg, "runs", r, none, what == IMPORT_FILL ? fk_fill : fk, fks, run);
    json_decref(r);
    return st;
}

static enum reg_status record_run(struct registry *reg, const json_t *entry, int64_t sweep,
                                  enum reg_import_what what, const char *dir,
                                  const json_t *origin)
{
    static const char *const none[] = { NULL };
    static const char *const fk[] = { "run", NULL };
    int64_t run = 0;
    enum reg_status st = record_run_row(reg, entry, sweep, what, dir, &run);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(entry, "artifacts"), i, r) {
        struct reg_stmt s;
        reg_stmt_start(&s, reg, "INSERT INTO run_artifacts (run, artifact) SELECT :run, id "
                                "FROM artifacts WHERE sweep_id = :sweep AND role = :role "
                                "AND name = :name");
        reg_bind_int64(&s, ":run", run);
        reg_bind_int64(&s, ":sweep", sweep);
        reg_bind_text(&s, ":role", json_string_value(json_object_get(r, "role")));
        reg_bind_text(&s, ":name", json_string_value(json_object_get(r, "name")));
        if (st == REG_OK)
            reg_stmt_run(&s, "linking an imported run to its artifacts");
        enum reg_status st2 = reg_stmt_end(&s);
        st = st == REG_OK ? st2 : st;
    }
    json_array_foreach(json_object_get(entry, "metrics"), i, r)
        if (st == REG_OK)
            st = insert_row(reg, "metrics", r, none, fk, &run, NULL);
    json_array_foreach(json_object_get(entry, "checkpoints"), i, r)
        if (st == REG_OK)
            st = insert_row(reg, "checkpoints", r, none, fk, &run, NULL);
    if (st == REG_OK)
        st = record_evals(reg, json_object_get(entry, "evals"), sweep, run, NULL);
    if (st == REG_OK) {
        char *data = json_dumps(origin, JSON_COMPACT | JSON_SORT_KEYS);
        struct reg_stmt s;
        reg_stmt_start(&s, reg, "INSERT INTO events (sweep_id, run, kind, message, data) "
                                "VALUES (:sweep, :run, 'import', :msg, :data)");
        reg_bind_int64(&s, ":sweep", sweep);
        reg_bind_int64(&s, ":run", run);
        reg_bind_text(&s, ":msg", "imported from a bundle");
        reg_bind_text(&s, ":data", data);
        reg_stmt_run(&s, "recording the import");
        st = reg_stmt_end(&s);
        free(data);
    }
    return st;
}

enum reg_status reg_bundle_record(struct registry *reg, const json_t *rows,
                                  const char *const *run_dirs, const json_t *origin,
                                  struct reg_import_plan *plan)
{
    struct reg_import_plan again;
    enum reg_status st = reg_begin(reg);
    if (st != REG_OK)
        return st;
    st = reg_bundle_check(reg, rows, &again);
    if (st == REG_OK && (again.sweep_rowid != plan->sweep_rowid ||
                         memcmp(again.what, plan->what, plan->n_runs * sizeof(*plan->what))))
        st = reg_fail(reg, REG_ERR_CONFLICT, "the registry changed while importing; "
                      "import again");
    reg_import_plan_free(&again);
    int64_t sweep = plan->sweep_rowid;
    if (st == REG_OK && !sweep)
        st = record_sweep(reg, rows, &sweep);
    if (st == REG_OK)
        st = record_baseline(reg, rows, sweep);
    const json_t *runs = json_object_get(rows, "runs");
    for (size_t i = 0; st == REG_OK && i < plan->n_runs; i++)
        if (plan->what[i] != IMPORT_SAME)
            st = record_run(reg, json_array_get(runs, i), sweep, plan->what[i], run_dirs[i],
                            origin);
    if (st != REG_OK) {
        reg_rollback(reg);
        return st;
    }
    plan->sweep_rowid = sweep;
    return reg_commit(reg);
}

enum reg_status reg_run_origin(struct registry *reg, int64_t run, char **origin_json)
{
    struct reg_stmt s;
    *origin_json = NULL;
    reg_stmt_start(&s, reg, "SELECT data FROM events WHERE run = :run AND kind = 'import' "
                            "ORDER BY id DESC LIMIT 1");
    reg_bind_int64(&s, ":run", run);
    if (reg_stmt_row(&s, "reading a run's origin"))
        *origin_json = reg_column_dup(s.st, 0);
    return reg_stmt_end(&s);
}
