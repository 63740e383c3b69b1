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
    struct reg_stmt s;
    reg_stmt_start(&s, reg, sql_insert_sweep);
    reg_bind_text(&s, ":name", in->name);
    reg_bind_int64(&s, ":version", in->version);
    reg_bind_text(&s, ":spec_path", in->spec_path);
    reg_bind_text(&s, ":spec_text", in->spec_text);
    reg_bind_text(&s, ":spec_sha256", in->spec_sha256);
    reg_bind_text(&s, ":canon_json", in->canon_json);
    reg_bind_text(&s, ":canon_sha256", in->canon_sha256);
    reg_bind_text(&s, ":contract_json", in->contract_json);
    reg_bind_text(&s, ":contract_sha256", in->contract_sha256);
    reg_bind_text(&s, ":git_status", in->git.status);
    reg_bind_text(&s, ":git_root", in->git.root);
    reg_bind_text(&s, ":git_commit", in->git.commit);
    reg_bind_text(&s, ":git_branch", in->git.branch);
    reg_bind_int64(&s, ":git_dirty", in->git.dirty ? 1 : 0);
    reg_bind_text(&s, ":git_diff", in->git.diff);
    reg_bind_text(&s, ":audit_json", in->audit_json);
    reg_stmt_run(&s, "recording the sweep");
    enum reg_status status = reg_stmt_end(&s);
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
    struct reg_stmt s;
    reg_stmt_start(&s, reg, sql_insert_artifact);
    for (size_t i = 0; s.status == REG_OK && i < in->n_artifacts; i++) {
        const struct reg_artifact_in *a = &in->artifacts[i];
        reg_bind_int64(&s, ":sweep", sweep);
        reg_bind_text(&s, ":role", a->role);
        reg_bind_text(&s, ":name", a->name);
        reg_bind_text(&s, ":path", a->path);
        reg_bind_int64(&s, ":bytes", a->bytes);
        if (a->rows < 0)
            reg_bind_null(&s, ":rows");   /* not a JSONL file: rows mean nothing */
        else
            reg_bind_int64(&s, ":rows", a->rows);
        reg_bind_text(&s, ":sha256", a->sha256);
        if (a->source)
            reg_bind_text(&s, ":source", a->source);
        else
            reg_bind_null(&s, ":source");
        if (reg_stmt_run(&s, "recording an artifact") == REG_ERR_CONFLICT)
            s.status = reg_fail(reg, s.status, "artifact %s '%s' is listed twice", a->role,
                                a->name);
        ids[i] = sqlite3_last_insert_rowid(reg->db);
    }
    return reg_stmt_end(&s);
}

static const char sql_insert_run[] =
    "INSERT INTO runs (sweep_id, run_id, ord, stage, condition, lr, seed, params, pending,"
    " state)"
    " VALUES (:sweep, :run_id, :ord, :stage, :condition, :lr, :seed, :params, :pending,"
    " :state)";

static enum reg_status insert_run(struct reg_stmt *s, int64_t sweep, const struct reg_run_in *r,
                                  size_t ord)
{
    reg_bind_int64(s, ":sweep", sweep);
    reg_bind_text(s, ":run_id", r->run_id);
    reg_bind_int64(s, ":ord", (int64_t)ord);
    reg_bind_text(s, ":stage", r->stage);
    reg_bind_text(s, ":condition", r->condition);
    if (r->has_lr)
        reg_bind_double(s, ":lr", r->lr);
    else
        reg_bind_null(s, ":lr");
    if (r->has_seed)
        reg_bind_int64(s, ":seed", r->seed);
    else
        reg_bind_null(s, ":seed");
    reg_bind_text(s, ":params", r->params_json);
    reg_bind_text(s, ":pending", r->pending_json);
    reg_bind_text(s, ":state", reg_state_name(r->state));
    char what[160];
    snprintf(what, sizeof(what), "recording run '%s'", r->run_id);
    if (reg_stmt_run(s, what) == REG_ERR_CONFLICT)
        s->status = reg_fail(s->reg, s->status, "run '%s' is listed twice", r->run_id);
    return s->status;
}

/* OR IGNORE: an artifact listed twice for one run is still one link. */
static const char sql_insert_link[] =
    "INSERT OR IGNORE INTO run_artifacts (run, artifact) VALUES (:run, :artifact)";

static enum reg_status insert_links(struct reg_stmt *s, int64_t run, const struct reg_run_in *r,
                                    const int64_t *artifact_ids)
{
    for (size_t k = 0; s->status == REG_OK && k < r->n_artifacts; k++) {
        reg_bind_int64(s, ":run", run);
        reg_bind_int64(s, ":artifact", artifact_ids[r->artifacts[k]]);
        reg_stmt_run(s, "linking a run to an artifact");
    }
    return s->status;
}

static enum reg_status insert_runs(struct registry *reg, const struct reg_sweep_in *in,
                                   int64_t sweep, const int64_t *artifact_ids)
{
    struct reg_stmt run_st, link_st;
    enum reg_status status = reg_stmt_start(&run_st, reg, sql_insert_run);
    if (status != REG_OK)
        return status;
    status = reg_stmt_start(&link_st, reg, sql_insert_link);
    for (size_t i = 0; status == REG_OK && i < in->n_runs; i++) {
        status = insert_run(&run_st, sweep, &in->runs[i], i);
        if (status == REG_OK)
            status = insert_links(&link_st, sqlite3_last_insert_rowid(reg->db), &in->runs[i],
                                  artifact_ids);
    }
    reg_stmt_end(&run_st);
    reg_stmt_end(&link_st);
    return status;
}

static const char sql_plan_event[] =
    "INSERT INTO events (sweep_id, kind, message, data)"
    " VALUES (:sweep, 'plan', :message, json_object('version', :version, 'runs', :runs,"
    " 'artifacts', :artifacts, 'canon_sha256', :canon_sha256, 'git_commit', :git_commit))";

static enum reg_status insert_plan_event(struct registry *reg, const struct reg_sweep_in *in,
                                         int64_t sweep)
{
    struct strbuf msg = STRBUF_INIT;
    sb_addf(&msg, "planned sweep '%s' version %d: %zu runs", in->name, in->version,
            in->n_runs);
    struct reg_stmt s;
    reg_stmt_start(&s, reg, sql_plan_event);
    reg_bind_int64(&s, ":sweep", sweep);
    reg_bind_text(&s, ":message", sb_str(&msg));
    reg_bind_int64(&s, ":version", in->version);
    reg_bind_int64(&s, ":runs", (int64_t)in->n_runs);
    reg_bind_int64(&s, ":artifacts", (int64_t)in->n_artifacts);
    reg_bind_text(&s, ":canon_sha256", in->canon_sha256);
    reg_bind_text(&s, ":git_commit", in->git.commit);
    reg_stmt_run(&s, "recording the plan event");
    sb_free(&msg);
    return reg_stmt_end(&s);
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
    struct reg_stmt s;
    reg_stmt_start(&s, reg, sql_event);
    reg_bind_rowid(&s, ":sweep", sweep_rowid);
    reg_bind_rowid(&s, ":run", run_rowid);
    reg_bind_text(&s, ":kind", kind);
    reg_bind_text(&s, ":message", message);
    reg_bind_text(&s, ":data", data_json);
    reg_stmt_run(&s, "logging an event");
    enum reg_status status = reg_stmt_end(&s);
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
