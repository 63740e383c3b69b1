/*
 * cmd_show.c - `mainline show [--json] RUN`: one run with its parameters, its best
 * validation NLL and accuracy, its checkpoints (kept or deleted by keep:), why it
 * failed with the tail of its stderr, the files it uses (with sha256), the provenance
 * of its sweep and the batch (Slurm) jobs of its attempts and evaluations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "job.h"
#include "reg_bundle.h"
#include "strbuf.h"
#include "table.h"

static const char show_usage[] = "usage: mainline show [--json] RUN|SWEEP/RUN\n";

struct found {
    struct reg_run_row row;   /* strings copied below */
    json_t *json;             /* the first match, as JSON */
    struct strbuf names;      /* every match as sweep/run, for the ambiguity message */
    int n;
};

static json_t *row_json(const struct reg_run_row *r)
{
    json_t *o = json_pack("{s:s,s:i,s:s,s:s,s:s,s:i,s:s}", "sweep", r->sweep, "version",
                          r->version, "run", r->run_id, "stage", r->stage, "state", r->state,
                          "attempt", r->attempt, "created_at", r->created_at);
    json_object_set_new(o, "condition", r->condition ? json_string(r->condition) : json_null());
    json_t *params = json_loads(r->params_json, 0, NULL);
    json_object_set_new(o, "params", params ? params : json_null());
    json_t *pending = r->pending_json ? json_loads(r->pending_json, 0, NULL) : NULL;
    json_object_set_new(o, "pending", pending ? pending : json_null());
    json_object_set_new(o, "started_at", r->started_at ? json_string(r->started_at)
                                                       : json_null());
    json_object_set_new(o, "finished_at", r->finished_at ? json_string(r->finished_at)
                                                         : json_null());
    json_object_set_new(o, "exit_status", r->has_exit_status ? json_integer(r->exit_status)
                                                             : json_null());
    json_object_set_new(o, "run_dir", r->run_dir ? json_string(r->run_dir) : json_null());
    json_object_set_new(o, "fail_reason", r->fail_reason ? json_string(r->fail_reason)
                                                         : json_null());
    json_object_set_new(o, "best_val_nll", r->has_best_val_nll ? json_real(r->best_val_nll)
                                                               : json_null());
    json_object_set_new(o, "best_val_step", r->best_val_step >= 0
                                            ? json_integer(r->best_val_step) : json_null());
    json_object_set_new(o, "accuracy", r->has_eval_accuracy ? json_real(r->eval_accuracy)
                                                            : json_null());
    json_object_set_new(o, "rowid", json_integer(r->rowid));
    json_object_set_new(o, "sweep_rowid", json_integer(r->sweep_rowid));
    return o;
}

static int collect(const struct reg_run_row *r, void *ud)
{
    struct found *f = ud;
    if (f->n++ == 0)
        f->json = row_json(r);
    sb_addf(&f->names, "  %s/%s (version %d)\n", r->sweep, r->run_id, r->version);
    return 0;
}

static int add_artifact(const struct reg_artifact_row *a, void *ud)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I}", "role", a->role, "name", a->name, "path",
                          a->path, "sha256", a->sha256, "bytes", (json_int_t)a->bytes);
    json_object_set_new(o, "rows", a->rows >= 0 ? json_integer(a->rows) : json_null());
    json_object_set_new(o, "source", a->source ? json_string(a->source) : json_null());
    json_array_append_new(ud, o);
    return 0;
}

static int add_checkpoint(const struct reg_checkpoint_row *c, void *ud)
{
    json_t *o = json_pack("{s:i,s:I,s:s,s:s,s:b}", "attempt", c->attempt, "step",
                          (json_int_t)c->step, "path", c->path, "state",
                          c->kept < 0 ? "unsettled" : c->kept ? "kept" : "deleted",
                          "current", c->current);
    json_object_set_new(o, "bytes", c->bytes >= 0 ? json_integer(c->bytes) : json_null());
    json_object_set_new(o, "sha256", c->sha256 ? json_string(c->sha256) : json_null());
    json_array_append_new(ud, o);
    return 0;
}

enum { TAIL_LINES = 10, TAIL_BYTES = 8192 };

/* The last TAIL_LINES non-empty lines of the run's stderr.log (of its last 8 KiB), or
 * NULL when it has none. */
static json_t *stderr_tail(const char *run_dir)
{
    if (!run_dir)
        return NULL;
    struct strbuf path = STRBUF_INIT;
    sb_addf(&path, "%s/" JOB_FILE_STDERR, run_dir);
    FILE *f = fopen(path.buf, "rb");
    sb_free(&path);
    if (!f)
        return NULL;
    char text[TAIL_BYTES + 1];
    if (fseek(f, -TAIL_BYTES, SEEK_END) < 0)
        rewind(f);
    size_t n = fread(text, 1, TAIL_BYTES, f);
    fclose(f);
    text[n] = '\0';
    json_t *lines = json_array();
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        size_t len = strlen(l);
        while (len && (l[len - 1] == '\r' || l[len - 1] == ' '))
            l[--len] = '\0';
        if (len)
            json_array_append_new(lines, json_stringn_nocheck(l, len));
    }
    while (json_array_size(lines) > TAIL_LINES)
        json_array_remove(lines, 0);
    if (!json_array_size(lines)) {
        json_decref(lines);
        return NULL;
    }
    return lines;
}

static json_t *opt_text(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int add_batch_job(const struct reg_batch_job_row *b, void *ud)
{
    json_t *o = json_pack("{s:I,s:s,s:s,s:i}", "job_id", (json_int_t)b->job_id, "executor",
                          b->executor, "name", b->name, "attempt", b->attempt);
    json_object_set_new(o, "eval_step", b->is_eval ? json_integer(b->eval_step) : json_null());
    json_object_set_new(o, "array_index", b->has_array_index ? json_integer(b->array_index)
                                                             : json_null());
    json_object_set_new(o, "state", opt_text(b->state));
    json_object_set_new(o, "reason", opt_text(b->reason));
    json_object_set_new(o, "partition", opt_text(b->partition));
    json_object_set_new(o, "nodes", opt_text(b->nodes));
    json_object_set_new(o, "elapsed_s", b->has_elapsed ? json_integer(b->elapsed_s)
                                                       : json_null());
    json_object_set_new(o, "max_rss_bytes", b->has_max_rss ? json_integer(b->max_rss_bytes)
                                                           : json_null());
    json_object_set_new(o, "acct_confirmed", json_boolean(b->acct_confirmed));
    json_object_set_new(o, "submitted_at", json_string(b->submitted_at));
    json_object_set_new(o, "ended_at", opt_text(b->ended_at));
    json_array_append_new(ud, o);
    return 0;
}

static void add_provenance(struct cli *cli, json_t *run)
{
    const char *sweep = json_string_value(json_object_get(run, "sweep"));
    struct reg_sweep_info info = { 0 };
    if (reg_sweep_latest(cli->reg, sweep, &info) != REG_OK)
        return;
    json_t *git = json_object();
    json_object_set_new(git, "status", json_string(info.git_status ? info.git_status : ""));
    json_object_set_new(git, "commit", info.git_commit ? json_string(info.git_commit)
                                                       : json_null());
    json_object_set_new(git, "branch", info.git_branch ? json_string(info.git_branch)
                                                       : json_null());
    json_object_set_new(git, "dirty", json_boolean(info.git_dirty));
    json_object_set_new(run, "git", git);
    json_object_set_new(run, "contract_sha256", json_string(info.contract_sha256));
    json_object_set_new(run, "spec_path", json_string(info.spec_path));
    reg_sweep_info_free(&info);
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

/* Seconds as Slurm writes a time: "M:SS", "H:MM:SS", "D-HH:MM:SS". */
static void elapsed_text(json_int_t s, char *buf, size_t len)
{
    if (s >= 86400)
        snprintf(buf, len, "%lld-%02lld:%02lld:%02lld", (long long)(s / 86400),
                 (long long)(s % 86400 / 3600), (long long)(s % 3600 / 60), (long long)(s % 60));
    else if (s >= 3600)
        snprintf(buf, len, "%lld:%02lld:%02lld", (long long)(s / 3600),
                 (long long)(s % 3600 / 60), (long long)(s % 60));
    else
        snprintf(buf, len, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
}

/* The batch jobs, one line each: which attempt or evaluation, and what Slurm said. */
static void print_batch_jobs(const json_t *jobs)
{
    if (!json_array_size(jobs))
        return;
    static const char *const head[] = { "job", "for", "state", "reason", "partition", "nodes",
                                        "elapsed", "MaxRSS", NULL };
    struct table t;
    table_init(&t, head);
    size_t i;
    json_t *b;
    json_array_foreach(jobs, i, b) {
        char id[32], what[48], elapsed[32] = "", rss[32] = "", state[40];
        snprintf(id, sizeof(id), "%lld",
                 (long long)json_integer_value(json_object_get(b, "job_id")));
        if (json_is_integer(json_object_get(b, "array_index")))
            snprintf(id + strlen(id), sizeof(id) - strlen(id), "_%lld",
                     (long long)json_integer_value(json_object_get(b, "array_index")));
        const json_t *step = json_object_get(b, "eval_step");
        if (json_is_integer(step) && json_integer_value(step) < 0)
            snprintf(what, sizeof(what), "eval (base model)");
        else if (json_is_integer(step))
            snprintf(what, sizeof(what), "eval@%lld", (long long)json_integer_value(step));
        else
            snprintf(what, sizeof(what), "attempt %lld",
                     (long long)json_integer_value(json_object_get(b, "attempt")));
        const json_t *el = json_object_get(b, "elapsed_s");
        if (json_is_integer(el))
            elapsed_text(json_integer_value(el), elapsed, sizeof(elapsed));
        const json_t *mr = json_object_get(b, "max_rss_bytes");
        if (json_is_integer(mr))
            snprintf(rss, sizeof(rss), "%.1f MiB", (double)json_integer_value(mr) / 1048576.0);
        const char *st = json_string_value(json_object_get(b, "state"));
        snprintf(state, sizeof(state), "%s%s", st ? st : "not ended",
                 json_is_true(json_object_get(b, "acct_confirmed")) ? " (sacct)" : "");
        const char *cells[] = { id, what, state,
                                json_string_value(json_object_get(b, "reason")),
                                json_string_value(json_object_get(b, "partition")),
                                json_string_value(json_object_get(b, "nodes")),
                                elapsed[0] ? elapsed : NULL, rss[0] ? rss : NULL };
        table_add(&t, cells);
    }
    printf("batch jobs\n");
    table_print(&t, stdout, "  ");
    table_free(&t);
}

/* One line a checkpoint: step, what became of it (keep:), size and sha256. */
static void print_checkpoints(const json_t *ckpts)
{
    if (!json_array_size(ckpts))
        return;
    static const char *const head[] = { "attempt", "step", "state", "bytes", "sha256", "path",
                                        NULL };
    struct table t;
    table_init(&t, head);
    t.right_align = (1u << 0) | (1u << 1) | (1u << 3);
    size_t i;
    json_t *c;
    json_array_foreach(ckpts, i, c) {
        char attempt[16], step[32], bytes[32] = "";
        snprintf(attempt, sizeof(attempt), "%lld",
                 (long long)json_integer_value(json_object_get(c, "attempt")));
        snprintf(step, sizeof(step), "%lld",
                 (long long)json_integer_value(json_object_get(c, "step")));
        if (json_is_integer(json_object_get(c, "bytes")))
            snprintf(bytes, sizeof(bytes), "%lld",
                     (long long)json_integer_value(json_object_get(c, "bytes")));
        const char *state = json_string_value(json_object_get(c, "state"));
        const char *cells[] = { attempt, step,
                                !strcmp(state, "deleted") ? "deleted (keep)" : state,
                                bytes[0] ? bytes : NULL,
                                json_string_value(json_object_get(c, "sha256")),
                                json_string_value(json_object_get(c, "path")) };
        table_add(&t, cells);
    }
    printf("checkpoints\n");
    table_print(&t, stdout, "  ");
    table_free(&t);
}

static void print_text(const json_t *run)
{
    printf("run        %s/%s (version %lld)\n", str(run, "sweep"), str(run, "run"),
           (long long)json_integer_value(json_object_get(run, "version")));
    printf("stage      %s\n", str(run, "stage"));
    printf("condition  %s\n", str(run, "condition"));
    printf("state      %s (attempt %lld)\n", str(run, "state"),
           (long long)json_integer_value(json_object_get(run, "attempt")));
    const json_t *reason = json_object_get(run, "fail_reason");
    if (json_is_string(reason))
        printf("why        %s\n", json_string_value(reason));
    printf("planned    %s\n", str(run, "created_at"));
    const json_t *nll = json_object_get(run, "best_val_nll");
    if (json_is_number(nll))
        printf("val NLL    %.4f nats/token (best, at step %lld)\n", json_number_value(nll),
               (long long)json_integer_value(json_object_get(run, "best_val_step")));
    else
        printf("val NLL    -\n");
    const json_t *acc = json_object_get(run, "accuracy");
    if (json_is_number(acc))
        printf("accuracy   %.1f%% (its latest evaluation)\n", 100 * json_number_value(acc));
    else
        printf("accuracy   -\n");
    printf("run dir    %s\n", str(run, "run_dir"));
    const json_t *pending = json_object_get(run, "pending");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)pending, key, v)
        printf("waiting    %s from stage %s\n", key, json_string_value(v));
    char *params = json_dumps(json_object_get(run, "params"),
                              JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    printf("params     %s\n", params ? params : "null");
    free(params);
    size_t i;
    json_array_foreach(json_object_get(run, "artifacts"), i, v) {
        printf("%-10s %s %s sha256:%s\n", i ? "" : "uses", str(v, "role"), str(v, "path"),
               str(v, "sha256"));
        if (json_is_string(json_object_get(v, "source")))
            printf("%-10s   from %s\n", "", str(v, "source"));
    }
    print_checkpoints(json_object_get(run, "checkpoints"));
    const json_t *tail = json_object_get(run, "stderr_tail");
    if (json_array_size(tail)) {
        size_t n = json_array_size(tail);
        if (n == 1)
            printf("stderr     the last line of %s/" JOB_FILE_STDERR ":\n", str(run, "run_dir"));
        else
            printf("stderr     the last %zu lines of %s/" JOB_FILE_STDERR ":\n", n,
                   str(run, "run_dir"));
        json_array_foreach((json_t *)tail, i, v)
            printf("  %s\n", json_string_value(v));
    }
    const json_t *git = json_object_get(run, "git");
    if (git && strcmp(str(git, "status"), "ok") != 0)
        printf("code       %s\n", str(git, "status"));
    else if (git)
        printf("code       ok %s on %s%s\n", str(git, "commit"), str(git, "branch"),
               json_is_true(json_object_get(git, "dirty")) ? " (dirty)" : "");
    printf("contract   sha256:%s\n", str(run, "contract_sha256"));
    const json_t *imp = json_object_get(run, "imported");
    if (json_is_object(imp)) {
        const json_t *ex = json_object_get(imp, "exported");
        printf("imported   %s from %s (sha256:%.12s), exported %s from %s:%s\n",
               str(imp, "imported_at"), str(imp, "bundle"), str(imp, "bundle_sha256"),
               str(ex, "at"), str(ex, "host"), str(ex, "registry"));
    }
    print_batch_jobs(json_object_get(run, "batch_jobs"));
}

/* "SWEEP/RUN" narrows to one sweep; a plain id searches every sweep. */
static void split_ref(char *ref, struct reg_run_query *q)
{
    char *slash = strchr(ref, '/');
    if (slash) {
        *slash = '\0';
        q->sweep = ref;
        q->run_id = slash + 1;
    } else {
        q->run_id = ref;
    }
}

int cmd_show(int argc, char **argv, struct cli *cli)
{
    /* --json before or after the run, as with every command's options */
    int as_json;
    char *ref;   /* argv's own string: split_ref cuts it at the slash */
    int urc = cli_operand_json(argc, argv, 1, show_usage, &ref, &as_json);
    if (urc)
        return urc;
    if (!cli_registry(cli))
        return cli->open_failed_exit;
    struct reg_run_query q = { 0 };
    split_ref(ref, &q);
    struct found f = { .names = STRBUF_INIT };
    enum reg_status st = reg_query_runs(cli->reg, &q, collect, &f);
    int rc = EXIT_OK;
    if (st != REG_OK)
        rc = cli_reg_error(cli, st, "cannot read runs");
    else if (f.n == 0) {
        error("no run '%s'%s%s", q.run_id, q.sweep ? " in sweep " : "", q.sweep ? q.sweep : "");
        rc = EXIT_FAILURES;
    } else if (f.n > 1) {
        if (f.names.len && f.names.buf[f.names.len - 1] == '\n')
            f.names.buf[--f.names.len] = '\0';
        error("run id '%s' is in several sweeps; say which:\n%s", q.run_id, f.names.buf);
        rc = EXIT_FAILURES;
    } else {
        json_t *arts = json_array();
        int64_t rowid = json_integer_value(json_object_get(f.json, "rowid"));
        st = reg_run_artifacts(cli->reg, rowid, add_artifact, arts);
        json_object_set_new(f.json, "artifacts", arts);
        json_t *jobs = json_array();
        if (st == REG_OK)
            st = reg_run_batch_jobs(cli->reg, rowid, add_batch_job, jobs);
        json_object_set_new(f.json, "batch_jobs", jobs);
        json_t *ckpts = json_array();
        if (st == REG_OK)
            st = reg_run_checkpoints(cli->reg, rowid, add_checkpoint, ckpts);
        json_object_set_new(f.json, "checkpoints", ckpts);
        const char *state = json_string_value(json_object_get(f.json, "state"));
        json_t *tail = state && !strcmp(state, "failed")
                       ? stderr_tail(json_string_value(json_object_get(f.json, "run_dir")))
                       : NULL;
        json_object_set_new(f.json, "stderr_tail", tail ? tail : json_null());
        add_provenance(cli, f.json);
        char *origin = NULL;
        if (st == REG_OK)
            st = reg_run_origin(cli->reg, rowid, &origin);
        json_object_set_new(f.json, "imported", origin ? json_loads(origin, 0, NULL) : NULL);
        if (!json_object_get(f.json, "imported"))
            json_object_set_new(f.json, "imported", json_null());
        free(origin);
        if (st != REG_OK) {
            rc = cli_reg_error(cli, st, "cannot read the run's artifacts and batch jobs");
        } else if (as_json) {
            char *s = json_dumps(f.json, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
            puts(s);
            free(s);
        } else {
            print_text(f.json);
        }
    }
    json_decref(f.json);
    sb_free(&f.names);
    return rc;
}
