/*
 * cmd_plan.c - `mainline plan SWEEP.yaml [--dry-run] [--new-version]`.
 *
 * Validates and expands the sweep (plan.c), prints the runs and a summary, and
 * records a new sweep version unless the registry already holds this exact plan.
 * Nothing is written when the file has any error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli_audit_print.h"
#include "canon_json.h"
#include "cmd_data.h"
#include "cli.h"
#include "fetch_bar.h"
#include "json_diff.h"
#include "plan.h"
#include "plan_estimate.h"
#include "reg_exec.h"
#include "strbuf.h"
#include "table.h"

static const char plan_usage[] =
    "usage: mainline plan SWEEP.yaml [--dry-run [--json]] [--new-version] [--verbose]\n";

/* ---- the run table ---- */

static char *cell(const struct plan_run *r, const char *param)
{
    const char *from = json_string_value(json_object_get(r->pending, param));
    if (from) {
        struct strbuf sb = STRBUF_INIT;
        sb_addf(&sb, "from %s", from);
        return sb_detach(&sb);
    }
    const json_t *v = json_object_get(r->params, param);
    return v ? param_value_text(v) : xstrdup("-");
}

/* Grid axes other than the columns, then pending parameters other than lr/seed. */
static char *other_cell(const struct plan_run *r)
{
    struct strbuf sb = STRBUF_INIT;
    const char *key;
    json_t *v;
    json_object_foreach(r->varying, key, v) {
        if (!strcmp(key, "condition") || !strcmp(key, "lr") || !strcmp(key, "seed"))
            continue;
        char *t = param_value_text(v);
        sb_addf(&sb, "%s%s=%s", sb.len ? " " : "", key, t);
        free(t);
    }
    json_object_foreach(r->pending, key, v) {
        if (strcmp(key, "lr") && strcmp(key, "seed"))
            sb_addf(&sb, "%s%s=from %s", sb.len ? " " : "", key, json_string_value(v));
    }
    return sb_detach(&sb);
}

static void print_runs(const struct plan_runs *pr)
{
    static const char *const head[] = { "RUN", "STAGE", "CONDITION", "LR", "SEED", "OTHER",
                                        NULL };
    struct table t;
    table_init(&t, head);
    for (size_t i = 0; i < pr->n; i++) {
        const struct plan_run *r = &pr->runs[i];
        char *row[] = { r->id, r->stage->name, cell(r, "condition"), cell(r, "lr"),
                        cell(r, "seed"), other_cell(r) };
        table_add(&t, (const char *const *)row);
        for (int c = 2; c < 6; c++)
            free(row[c]);
    }
    table_print(&t, stdout, "");
    table_free(&t);
}

static void print_summary(const struct plan *p)
{
    const struct sweep *s = &p->sweep;
    static const char *const head[] = { "STAGE", "RUNS", "STATE", NULL };
    struct table t;
    table_init(&t, head);
    t.right_align = 1u << 1;
    char num[32];
    for (size_t i = 0; i < s->n_stages; i++) {
        const struct sweep_stage *st = &s->stages[i];
        size_t n = 0;
        for (size_t r = 0; r < p->runs.n; r++)
            n += p->runs.runs[r].stage == st;
        struct strbuf state = STRBUF_INIT;
        for (size_t f = 0; f < st->n_froms; f++)
            sb_addf(&state, "%s%s from %s", f ? ", " : "waiting: ", st->froms[f].param,
                    st->froms[f].stage);
        snprintf(num, sizeof(num), "%zu", n);
        const char *row[] = { st->name, num, st->n_froms ? state.buf : "planned" };
        table_add(&t, row);
        sb_free(&state);
    }
    snprintf(num, sizeof(num), "%zu", p->runs.n);
    const char *total[] = { "total", num, "" };
    table_add(&t, total);
    printf("\n");
    table_print(&t, stdout, "");
    table_free(&t);
}

/* Fetched or unpacked files: where the cache keeps what runs will read. */
static void print_sources(const struct plan *p)
{
    int first = 1;
    for (size_t i = 0; i < p->n_artifacts; i++) {
        const struct plan_artifact *a = &p->artifacts[i];
        if (!a->origin)
            continue;
        printf("%s%s %s: %s\n", first ? "\n" : "", a->role, a->name, a->abs_path);
        if (a->fetched)
            printf("  fetched now: %lld bytes\n", (long long)a->fetched_bytes);
        first = 0;
    }
    if (!first)
        printf("\n");
}

static void print_artifacts(const struct plan *p)
{
    static const char *const head[] = { "ARTIFACT", "NAME", "PATH", "BYTES", "ROWS",
                                        "SHA256", NULL };
    struct table t;
    table_init(&t, head);
    t.right_align = (1u << 3) | (1u << 4);
    for (size_t i = 0; i < p->n_artifacts; i++) {
        const struct plan_artifact *a = &p->artifacts[i];
        char bytes[32], rows[32] = "-";
        snprintf(bytes, sizeof(bytes), "%lld", (long long)a->digest.bytes);
        if (a->digest.rows >= 0)
            snprintf(rows, sizeof(rows), "%lld", (long long)a->digest.rows);
        const char *shown = a->origin ? a->origin : a->path;
        const char *row[] = { a->role, a->name, shown, bytes, rows, a->digest.sha256 };
        table_add(&t, row);
    }
    printf("\n");
    table_print(&t, stdout, "");
    table_free(&t);
    print_sources(p);
    printf("contract sha256:%s\n", p->contract_sha256);
}

/* --verbose: what each run gets, exactly as recorded. */
static void print_params(const struct plan_runs *pr)
{
    for (size_t i = 0; i < pr->n; i++) {
        char *params = json_canon(pr->runs[i].params);
        printf("\n%s\n  params  %s\n", pr->runs[i].id, params);
        free(params);
        if (pr->runs[i].pending) {
            char *pending = json_canon(pr->runs[i].pending);
            printf("  pending %s\n", pending);
            free(pending);
        }
    }
}

static void print_plan(const struct plan *p, int verbose)
{
    print_runs(&p->runs);
    if (verbose)
        print_params(&p->runs);
    print_summary(p);
    print_artifacts(p);
}

/* ---- --dry-run --json: the plan as one document (docs/cli.md) ---- */

static json_t *plan_json(const struct plan *p)
{
    json_t *runs = json_array();
    for (size_t i = 0; i < p->runs.n; i++) {
        const struct plan_run *r = &p->runs.runs[i];
        json_array_append_new(runs, json_pack("{s:s,s:s,s:O,s:o}", "run", r->id, "stage",
                                              r->stage->name, "params", r->params, "pending",
                                              r->pending ? json_incref(r->pending)
                                                         : json_object()));
    }
    json_t *stages = json_array();
    for (size_t i = 0; i < p->sweep.n_stages; i++) {
        const struct sweep_stage *st = &p->sweep.stages[i];
        size_t n = 0;
        for (size_t r = 0; r < p->runs.n; r++)
            n += p->runs.runs[r].stage == st;
        json_t *froms = json_object();
        for (size_t f = 0; f < st->n_froms; f++)
            json_object_set_new(froms, st->froms[f].param, json_string(st->froms[f].stage));
        json_array_append_new(stages, json_pack("{s:s,s:I,s:s,s:o}", "stage", st->name, "runs",
                                                (json_int_t)n, "state",
                                                st->n_froms ? "waiting" : "planned", "waits_for",
                                                froms));
    }
    json_t *arts = json_array();
    for (size_t i = 0; i < p->n_artifacts; i++) {
        const struct plan_artifact *a = &p->artifacts[i];
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "role", a->role, "name", a->name,
                              "path", a->path, "abs_path", a->abs_path, "bytes",
                              (json_int_t)a->digest.bytes, "sha256", a->digest.sha256);
        json_object_set_new(o, "rows", a->digest.rows >= 0 ? json_integer(a->digest.rows)
                                                           : json_null());
        json_object_set_new(o, "origin", a->origin ? json_string(a->origin) : json_null());
        json_array_append_new(arts, o);
    }
    return json_pack("{s:s,s:o,s:o,s:o,s:s,s:s,s:O,s:b,s:b}", "sweep", p->sweep.name,
                     "runs", runs, "stages",
                     stages, "artifacts", arts, "canon_sha256", p->canon_sha256,
                     "contract_sha256", p->contract_sha256, "audit",
                     p->audit ? p->audit : json_null(), "audit_passed",
                     audit_passed(p->audit), "dry_run", 1);
}

/* ---- recording ---- */

static void print_provenance(const struct provenance *g, const json_t *canon)
{
    const char *name;
    json_t *sha;
    json_object_foreach(json_object_get(canon, "code"), name, sha)
        printf("code file: %s sha256:%.12s\n", name, json_string_value(sha));
    if (strcmp(g->status, "ok") != 0) {
        printf("code: %s\n", g->status);
        return;
    }
    printf("code: %s at %.12s on %s\n", g->root, g->commit ? g->commit : "(no commit)",
           g->branch ? g->branch : "(no branch)");
    if (g->dirty)
        printf("code: uncommitted changes recorded with the sweep (%zu bytes of diff)\n",
               g->diff ? strlen(g->diff) : (size_t)0);
}

static int refuse_changed(const struct plan *p, const struct reg_sweep_info *old)
{
    json_error_t jerr;
    json_t *prev = json_loads(old->canon_json, 0, &jerr);
    struct strbuf diff = STRBUF_INIT;
    if (prev)
        json_diff(prev, p->canon, &diff);
    error("sweep '%s' version %d was planned from a different spec; what changed:\n%s"
          "plan it as version %d with --new-version, or give it another name",
          p->sweep.name, old->version, prev ? diff.buf : "  (the stored spec is unreadable)\n",
          old->version + 1);
    json_decref(prev);
    sb_free(&diff);
    return EXIT_FAILURES;
}

/* The recorded sweep's settings that differ from the file's, among those left out of
 * the canonical spec because they do not change what a run is: "timeout and retries",
 * "executor", ... into *what (empty when none differ). */
static void operational_change(struct cli *cli, const struct plan *p, struct strbuf *what)
{
    struct reg_exec_sweep old;
    if (reg_exec_sweep_latest(cli->reg, p->sweep.name, &old) != REG_OK)
        return;
    struct sweep s;
    struct diag_list dl = { 0 };
    if (sweep_load_text(old.spec_path, old.spec_text, strlen(old.spec_text), &s, &dl) == 0) {
        const struct sweep *now = &p->sweep;
        const char *changed[4];
        size_t n = 0;
        if (s.timeout_s != now->timeout_s)
            changed[n++] = "timeout";
        if (s.retries != now->retries)
            changed[n++] = "retries";
        if (strcmp(s.executor ? s.executor : "local", now->executor ? now->executor : "local"))
            changed[n++] = "executor";
        if (!sweep_slurm_equal(&s, now))
            changed[n++] = "slurm resources";
        for (size_t i = 0; i < n; i++)
            sb_addf(what, "%s%s", i == 0 ? "" : i + 1 < n ? ", " : " and ", changed[i]);
        sweep_free(&s);
    }
    diag_free(&dl);
    reg_exec_sweep_free(&old);
}

/* "timeout" is updated, "retries" and "slurm resources" are. */
static int one_setting(const char *list)
{
    return !strcmp(list, "timeout") || !strcmp(list, "executor");
}

static int record(struct cli *cli, const struct plan *p, int new_version)
{
    char msg[4096];
    enum reg_status st = reg_open(cli->registry_path, REG_OPEN_CREATE, &cli->reg, msg,
                                  sizeof(msg));
    if (st != REG_OK) {
        error("%s", msg);
        return st == REG_ERR_DAMAGED ? EXIT_FAILURES : EXIT_FATAL;
    }
    struct reg_sweep_info old = { 0 };
    st = reg_sweep_latest(cli->reg, p->sweep.name, &old);
    if (st != REG_OK && st != REG_ERR_NOT_FOUND)
        return cli_reg_error(cli, st, "cannot read the registry");
    int version = st == REG_OK ? old.version + 1 : 1;
    int rc = EXIT_OK;
    struct strbuf changed = STRBUF_INIT;
    if (st == REG_OK && !strcmp(old.canon_sha256, p->canon_sha256))
        operational_change(cli, p, &changed);
    if (changed.len) {
        /* Same runs, same data, but a different timeout, retries, executor or Slurm
         * resources: `mainline run` reads the recorded text, so it must hold them. */
        st = reg_sweep_update_text(cli->reg, old.rowid, p->sweep.text, p->spec_sha256);
        if (st != REG_OK)
            rc = cli_reg_error(cli, st, "cannot update the sweep");
        else
            printf("\nsweep '%s' version %d is already planned with this exact spec and data: "
                   "nothing to do\n(its %s %s updated)\n", p->sweep.name, old.version,
                   changed.buf, one_setting(changed.buf) ? "is" : "are");
    } else if (st == REG_OK && !strcmp(old.canon_sha256, p->canon_sha256)) {
        printf("\nsweep '%s' version %d is already planned with this exact spec and data: "
               "nothing to do\n", p->sweep.name, old.version);
    } else if (st == REG_OK && !new_version) {
        rc = refuse_changed(p, &old);
    } else {
        int64_t rowid;
        st = plan_record(cli->reg, p, version, &rowid);
        if (st != REG_OK)
            rc = cli_reg_error(cli, st, "cannot record the sweep");
        else {
            printf("\nrecorded sweep '%s' version %d: %zu runs in %s\n", p->sweep.name,
                   version, p->runs.n, cli->registry_path);
            print_provenance(&p->prov, p->canon);
        }
    }
    sb_free(&changed);
    reg_sweep_info_free(&old);
    return rc;
}

static void print_diags(const struct diag_list *dl)
{
    for (size_t i = 0; i < dl->n; i++)
        error("%s", dl->msgs[i]);
    if (dl->count > dl->n)
        error("... and %zu more", dl->count - dl->n);
}

int cmd_plan(int argc, char **argv, struct cli *cli)
{
    static const struct option opts[] = {
        { "dry-run", no_argument, NULL, 'n' },
        { "new-version", no_argument, NULL, 'V' },
        { "verbose", no_argument, NULL, 'v' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    int dry_run = 0, new_version = 0, verbose = 0, as_json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "nv", opts, NULL)) != -1) {
        if (c == 'n')
            dry_run = 1;
        else if (c == 'v')
            verbose = 1;
        else if (c == 'V')
            new_version = 1;
        else if (c == 'j')
            as_json = 1;
        else
            return cli_usage(plan_usage);
    }
    if (argc - optind != 1)
        return cli_usage(plan_usage);
    if (as_json && !dry_run) {
        error("plan: --json goes with --dry-run (a plan that records prints its summary)");
        return cli_usage(plan_usage);
    }
    struct diag_list dl = { 0 };
    struct plan p;
    if (plan_build(argv[optind], as_json ? NULL : fetch_bar_observer(), &p, &dl) < 0) {
        print_diags(&dl);
        diag_free(&dl);
        return EXIT_FAILURES;
    }
    diag_free(&dl);
    if (as_json) {
        json_t *doc = plan_json(&p);
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        puts(text);
        free(text);
        json_decref(doc);
        int passed = audit_passed(p.audit);
        if (!passed)
            error("sweep '%s' not plannable: a data integrity gate failed (see \"audit\")",
                  p.sweep.name);
        plan_free(&p);
        return passed ? EXIT_OK : EXIT_FAILURES;
    }
    print_plan(&p, verbose);
    int rc = EXIT_OK;
    plan_print_estimates(&p, cli->registry_path);
    printf("\n");
    cli_audit_print(p.audit, stdout);
    cli_audit_print_verdict(p.audit, stdout);
    if (!audit_passed(p.audit)) {
        error("sweep '%s' not %s: a data integrity gate failed (see the audit above)",
              p.sweep.name, dry_run ? "plannable" : "recorded");
        plan_free(&p);
        return EXIT_FAILURES;
    }
    if (dry_run)
        printf("\ndry run: nothing written\n");
    else
        rc = record(cli, &p, new_version);
    plan_free(&p);
    return rc;
}
