/*
 * cmd_show.c - `mainline show [--json] RUN`: one run with its parameters, the
 * files it uses (with sha256) and the provenance of its sweep.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "strbuf.h"

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

static void print_text(const json_t *run)
{
    printf("run        %s/%s (version %lld)\n", str(run, "sweep"), str(run, "run"),
           (long long)json_integer_value(json_object_get(run, "version")));
    printf("stage      %s\n", str(run, "stage"));
    printf("condition  %s\n", str(run, "condition"));
    printf("state      %s (attempt %lld)\n", str(run, "state"),
           (long long)json_integer_value(json_object_get(run, "attempt")));
    printf("planned    %s\n", str(run, "created_at"));
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
    const json_t *git = json_object_get(run, "git");
    if (git && strcmp(str(git, "status"), "ok") != 0)
        printf("code       %s\n", str(git, "status"));
    else if (git)
        printf("code       ok %s on %s%s\n", str(git, "commit"), str(git, "branch"),
               json_is_true(json_object_get(git, "dirty")) ? " (dirty)" : "");
    printf("contract   sha256:%s\n", str(run, "contract_sha256"));
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
    int as_json = argc == 3 && !strcmp(argv[1], "--json");
    if (argc != 2 + as_json || argv[argc - 1][0] == '-')
        return cli_usage(show_usage);
    if (!cli_registry(cli))
        return cli->open_failed_exit;
    struct reg_run_query q = { 0 };
    split_ref(argv[argc - 1], &q);
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
        add_provenance(cli, f.json);
        if (st != REG_OK) {
            rc = cli_reg_error(cli, st, "cannot read the run's artifacts");
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
