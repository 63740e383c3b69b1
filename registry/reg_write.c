/*
 * reg_write.c - recording a planned sweep, and appending audit events.
 *
 * Each public function is one transaction: it lands whole or not at all. Values
 * are always bound, never formatted into SQL.
 */
#include <stdio.h>
#include <stdlib.h>

#include "reg_internal.h"
#include "strbuf.h"

/* ---- checking the input before touching the database ---- */

static int missing(const char *s)
{
    return !s || !*s;
}

static enum reg_status check_artifact(struct registry *reg, const struct reg_artifact_in *a,
                                      size_t i)
{
    if (missing(a->role) || missing(a->name) || missing(a->path) || missing(a->sha256))
        return reg_fail(reg, REG_ERR_INVALID,
                        "artifact %zu: role, name, path and sha256 are required", i);
    if (a->bytes < 0)
        return reg_fail(reg, REG_ERR_INVALID, "artifact '%s': negative size", a->name);
    return REG_OK;
}

static enum reg_status check_run(struct registry *reg, const struct reg_run_in *r, size_t i,
                                 size_t n_artifacts)
{
    if (missing(r->run_id) || missing(r->stage) || missing(r->params_json))
        return reg_fail(reg, REG_ERR_INVALID, "run %zu: run_id, stage and params are required",
                        i);
    if ((int)r->state < 0 || r->state >= RUN_STATE_COUNT)
        return reg_fail(reg, REG_ERR_INVALID, "run '%s': invalid state %d", r->run_id,
                        (int)r->state);
    if (r->n_artifacts && !r->artifacts)
        return reg_fail(reg, REG_ERR_INVALID, "run '%s': artifact list missing", r->run_id);
    for (size_t k = 0; k < r->n_artifacts; k++) {
        if (r->artifacts[k] >= n_artifacts)
            return reg_fail(reg, REG_ERR_INVALID,
                            "run '%s': artifact index %zu out of range (%zu artifacts)",
                            r->run_id, r->artifacts[k], n_artifacts);
    }
    return REG_OK;
}

static enum reg_status check_sweep(struct registry *reg, const struct reg_sweep_in *in)
{
    if (missing(in->name) || in->version < 1)
        return reg_fail(reg, REG_ERR_INVALID, "sweep: a name and a version >= 1 are required");
    if (missing(in->spec_path) || !in->spec_text || missing(in->spec_sha256) ||
        missing(in->canon_json) || missing(in->canon_sha256))
        return reg_fail(reg, REG_ERR_INVALID,
                        "sweep '%s': spec path, text, digest and canonical form are required",
                        in->name);
    if ((in->n_artifacts && !in->artifacts) || (in->n_runs && !in->runs))
        return reg_fail(reg, REG_ERR_INVALID, "sweep '%s': artifact or run list missing",
                        in->name);
    enum reg_status st = REG_OK;
    for (size_t i = 0; st == REG_OK && i < in->n_artifacts; i++)
        st = check_artifact(reg, &in->artifacts[i], i);
    for (size_t i = 0; st == REG_OK && i < in->n_runs; i++)
        st = check_run(reg, &in->runs[i], i, in->n_artifacts);
    return st;
}

/* ---- the rows of one sweep ---- */

static const char sql_insert_sweep[] =
    "INSERT INTO sweeps (name, version, spec_path, spec_text, spec_sha256, canon_json,"
    " canon_sha256, contract_json, contract_sha256, git_status, git_root, git_commit,"
    " git_branch, git_dirty, git_diff, audit_json)"
    " VALUES (:name, :version, :spec_path, :spec_text, :spec_sha256, :canon_json,"
    " :canon_sha256, :contract_json, :contract_sha256, :git_status, :git_root, :git_commit,"
    " :git_branch, :git_dirty, :git_diff, :audit_json)";

static enum reg_status insert_sweep(struct registry *reg, const struct reg_sweep_in *in,
                                    int64_t *rowid)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg, sql_insert_sweep, &st);
    if (status != REG_OK)
        return status;
    struct reg_bind b;
    reg_bind_start(&b, reg, st);
    reg_bind_text(&b, ":name", in->name);
    reg_bind_int64(&b, ":version", in->version);
    reg_bind_text(&b, ":spec_path", in->spec_path);
    reg_bind_text(&b, ":spec_text", in->spec_text);
    reg_bind_text(&b, ":spec_sha256", in->spec_sha256);
    reg_bind_text(&b, ":canon_json", in->canon_json);
    reg_bind_text(&b, ":canon_sha256", in->canon_sha256);
    reg_bind_text(&b, ":contract_json", in->contract_json);
    reg_bind_text(&b, ":contract_sha256", in->contract_sha256);
    reg_bind_text(&b, ":git_status", in->git.status);
    reg_bind_text(&b, ":git_root", in->git.root);
    reg_bind_text(&b, ":git_commit", in->git.commit);
    reg_bind_text(&b, ":git_branch", in->git.branch);
    reg_bind_int64(&b, ":git_dirty", in->git.dirty ? 1 : 0);
    reg_bind_text(&b, ":git_diff", in->git.diff);
    reg_bind_text(&b, ":audit_json", in->audit_json);
    status = b.status;
    if (status == REG_OK)
        status = reg_step_done(reg, st, "recording the sweep");
    sqlite3_finalize(st);
    if (status == REG_ERR_CONFLICT)
        return reg_fail(reg, status, "sweep '%s' version %d is already recorded",
                        in->name, in->version);
    *rowid = sqlite3_last_insert_rowid(reg->db);
    return status;
}

static const char sql_insert_artifact[] =
    "INSERT INTO artifacts (sweep_id, role, name, path, bytes, rows, sha256, source)"
    " VALUES (:sweep, :role, :name, :path, :bytes, :rows, :sha256, :source)";

/* ids[i] receives the row id of in->artifacts[i], for the run links. */
static enum reg_status insert_artifacts(struct registry *reg, const struct reg_sweep_in *in,
                                        int64_t sweep, int64_t *ids)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg, sql_insert_artifact, &st);
    for (size_t i = 0; status == REG_OK && i < in->n_artifacts; i++) {
        const struct reg_artifact_in *a = &in->artifacts[i];
        struct reg_bind b;
        reg_bind_start(&b, reg, st);
        reg_bind_int64(&b, ":sweep", sweep);
        reg_bind_text(&b, ":role", a->role);
        reg_bind_text(&b, ":name", a->name);
        reg_bind_text(&b, ":path", a->path);
        reg_bind_int64(&b, ":bytes", a->bytes);
        if (a->rows < 0)
            reg_bind_null(&b, ":rows");   /* not a JSONL file: rows mean nothing */
        else
            reg_bind_int64(&b, ":rows", a->rows);
        reg_bind_text(&b, ":sha256", a->sha256);
        if (a->source)
            reg_bind_text(&b, ":source", a->source);
        else
            reg_bind_null(&b, ":source");
        status = b.status;
        if (status == REG_OK)
            status = reg_step_done(reg, st, "recording an artifact");
        if (status == REG_ERR_CONFLICT)
            status = reg_fail(reg, status, "artifact %s '%s' is listed twice", a->role, a->name);
        ids[i] = sqlite3_last_insert_rowid(reg->db);
    }
    sqlite3_finalize(st);
    return status;
}

static const char sql_insert_run[] =
    "INSERT INTO runs (sweep_id, run_id, ord, stage, condition, lr, seed, params, pending,"
    " state)"
    " VALUES (:sweep, :run_id, :ord, :stage, :condition, :lr, :seed, :params, :pending,"
    " :state)";

static enum reg_status insert_run(struct registry *reg, sqlite3_stmt *st, int64_t sweep,
                                  const struct reg_run_in *r, size_t ord)
{
    struct reg_bind b;
    reg_bind_start(&b, reg, st);
    reg_bind_int64(&b, ":sweep", sweep);
    reg_bind_text(&b, ":run_id", r->run_id);
    reg_bind_int64(&b, ":ord", (int64_t)ord);
    reg_bind_text(&b, ":stage", r->stage);
    reg_bind_text(&b, ":condition", r->condition);
    if (r->has_lr)
        reg_bind_double(&b, ":lr", r->lr);
    else
        reg_bind_null(&b, ":lr");
    if (r->has_seed)
        reg_bind_int64(&b, ":seed", r->seed);
    else
        reg_bind_null(&b, ":seed");
    reg_bind_text(&b, ":params", r->params_json);
    reg_bind_text(&b, ":pending", r->pending_json);
    reg_bind_text(&b, ":state", reg_state_name(r->state));
    if (b.status != REG_OK)
        return b.status;
    char what[160];
    snprintf(what, sizeof(what), "recording run '%s'", r->run_id);
    enum reg_status status = reg_step_done(reg, st, what);
    if (status == REG_ERR_CONFLICT)
        return reg_fail(reg, status, "run '%s' is listed twice", r->run_id);
    return status;
}

/* OR IGNORE: an artifact listed twice for one run is still one link. */
static const char sql_insert_link[] =
    "INSERT OR IGNORE INTO run_artifacts (run, artifact) VALUES (:run, :artifact)";

static enum reg_status insert_links(struct registry *reg, sqlite3_stmt *st, int64_t run,
                                    const struct reg_run_in *r, const int64_t *artifact_ids)
{
    enum reg_status status = REG_OK;
    for (size_t k = 0; status == REG_OK && k < r->n_artifacts; k++) {
        struct reg_bind b;
        reg_bind_start(&b, reg, st);
        reg_bind_int64(&b, ":run", run);
        reg_bind_int64(&b, ":artifact", artifact_ids[r->artifacts[k]]);
        status = b.status;
        if (status == REG_OK)
            status = reg_step_done(reg, st, "linking a run to an artifact");
    }
    return status;
}

static enum reg_status insert_runs(struct registry *reg, const struct reg_sweep_in *in,
                                   int64_t sweep, const int64_t *artifact_ids)
{
    sqlite3_stmt *run_st = NULL, *link_st = NULL;
    enum reg_status status = reg_prepare(reg, sql_insert_run, &run_st);
    if (status == REG_OK)
        status = reg_prepare(reg, sql_insert_link, &link_st);
    for (size_t i = 0; status == REG_OK && i < in->n_runs; i++) {
        status = insert_run(reg, run_st, sweep, &in->runs[i], i);
        if (status == REG_OK)
            status = insert_links(reg, link_st, sqlite3_last_insert_rowid(reg->db),
                                  &in->runs[i], artifact_ids);
    }
    sqlite3_finalize(run_st);
    sqlite3_finalize(link_st);
    return status;
}

static const char sql_plan_event[] =
    "INSERT INTO events (sweep_id, kind, message, data)"
    " VALUES (:sweep, 'plan', :message, json_object('version', :version, 'runs', :runs,"
    " 'artifacts', :artifacts, 'canon_sha256', :canon_sha256, 'git_commit', :git_commit))";

static enum reg_status insert_plan_event(struct registry *reg, const struct reg_sweep_in *in,
                                         int64_t sweep)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg, sql_plan_event, &st);
    if (status != REG_OK)
        return status;
    struct strbuf msg = STRBUF_INIT;
    sb_addf(&msg, "planned sweep '%s' version %d: %zu runs", in->name, in->version,
            in->n_runs);
    struct reg_bind b;
    reg_bind_start(&b, reg, st);
    reg_bind_int64(&b, ":sweep", sweep);
    reg_bind_text(&b, ":message", sb_str(&msg));
    reg_bind_int64(&b, ":version", in->version);
    reg_bind_int64(&b, ":runs", (int64_t)in->n_runs);
    reg_bind_int64(&b, ":artifacts", (int64_t)in->n_artifacts);
    reg_bind_text(&b, ":canon_sha256", in->canon_sha256);
    reg_bind_text(&b, ":git_commit", in->git.commit);
    status = b.status;
    if (status == REG_OK)
        status = reg_step_done(reg, st, "recording the plan event");
    sqlite3_finalize(st);
    sb_free(&msg);
    return status;
}

static enum reg_status record_rows(struct registry *reg, const struct reg_sweep_in *in,
                                   int64_t *sweep)
{
    int64_t *artifact_ids = xcalloc(in->n_artifacts, sizeof(*artifact_ids));
    enum reg_status status = insert_sweep(reg, in, sweep);
    if (status == REG_OK)
        status = insert_artifacts(reg, in, *sweep, artifact_ids);
    if (status == REG_OK)
        status = insert_runs(reg, in, *sweep, artifact_ids);
    if (status == REG_OK)
        status = insert_plan_event(reg, in, *sweep);
    free(artifact_ids);
    return status;
}

enum reg_status reg_record_sweep(struct registry *reg, const struct reg_sweep_in *in,
                                 int64_t *sweep_rowid)
{
    if (!reg)
        return REG_ERR_INVALID;
    if (!in)
        return reg_fail(reg, REG_ERR_INVALID, "reg_record_sweep: no sweep");
    enum reg_status status = check_sweep(reg, in);
    if (status == REG_OK)
        status = reg_begin(reg);
    if (status != REG_OK)
        return status;
    int64_t rowid = 0;
    status = record_rows(reg, in, &rowid);
    if (status != REG_OK) {
        reg_rollback(reg);
        return status;
    }
    status = reg_commit(reg);
    if (status == REG_OK && sweep_rowid)
        *sweep_rowid = rowid;
    return status;
}

/* ---- the audit log ---- */

static const char sql_event[] =
    "INSERT INTO events (sweep_id, run, kind, message, data)"
    " VALUES (:sweep, :run, :kind, :message, :data)";

static enum reg_status insert_event(struct registry *reg, int64_t sweep_rowid,
                                    int64_t run_rowid, const char *kind, const char *message,
                                    const char *data_json)
{
    sqlite3_stmt *st;
    enum reg_status status = reg_prepare(reg, sql_event, &st);
    if (status != REG_OK)
        return status;
    struct reg_bind b;
    reg_bind_start(&b, reg, st);
    reg_bind_rowid(&b, ":sweep", sweep_rowid);
    reg_bind_rowid(&b, ":run", run_rowid);
    reg_bind_text(&b, ":kind", kind);
    reg_bind_text(&b, ":message", message);
    reg_bind_text(&b, ":data", data_json);
    status = b.status;
    if (status == REG_OK)
        status = reg_step_done(reg, st, "logging an event");
    sqlite3_finalize(st);
    if (status == REG_ERR_NOT_FOUND)
        return reg_fail(reg, status, "event '%s': no sweep %lld or no run %lld", kind,
                        (long long)sweep_rowid, (long long)run_rowid);
    if (status == REG_ERR_INVALID)
        return reg_fail(reg, status, "event '%s': data is not valid JSON", kind);
    return status;
}

enum reg_status reg_log_event(struct registry *reg, int64_t sweep_rowid, int64_t run_rowid,
                              const char *kind, const char *message, const char *data_json)
{
    if (!reg)
        return REG_ERR_INVALID;
    if (missing(kind) || sweep_rowid < 0 || run_rowid < 0)
        return reg_fail(reg, REG_ERR_INVALID, "event: a kind and row ids >= 0 are required");
    enum reg_status status = reg_begin(reg);
    if (status != REG_OK)
        return status;
    status = insert_event(reg, sweep_rowid, run_rowid, kind, message, data_json);
    if (status != REG_OK) {
        reg_rollback(reg);
        return status;
    }
    return reg_commit(reg);
}
