/*
 * cmd_runs.c - `mainline runs`: list runs, filtered with --where terms that the
 * registry binds as parameters (never pasted into SQL).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "canon_json.h"
#include "cli.h"
#include "strbuf.h"
#include "sweep.h"
#include "table.h"

static const char runs_usage[] =
    "usage: mainline runs [--sweep NAME] [--where 'KEY=VALUE ...']... [--all-versions] "
    "[--json]\n";

/* ---- --where ---- */

static const struct {
    const char *text;
    enum reg_filter_op op;
} ops[] = {   /* two-character operators first */
    { "!=", FILTER_NE }, { "<=", FILTER_LE }, { ">=", FILTER_GE },
    { "=", FILTER_EQ },  { "<", FILTER_LT },  { ">", FILTER_GT },
};

static int parse_term(char *word, struct reg_filter_term *t)
{
    char *p = strpbrk(word, "!=<>");
    if (!p || p == word) {
        error("--where: '%s' is not KEY=VALUE (or != < <= > >=)", word);
        return -1;
    }
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        size_t n = strlen(ops[i].text);
        if (strncmp(p, ops[i].text, n) != 0)
            continue;
        if (strchr("=!<>", p[n]) && p[n]) {
            error("--where: '%s' has an operator this does not know (use = != < <= > >=)",
                  word);
            return -1;
        }
        *p = '\0';
        t->key = word;
        t->op = ops[i].op;
        t->value = p + n;
        return 0;
    }
    error("--where: '%s' has no operator", word);
    return -1;
}

int cli_parse_where(char *expr, struct reg_filter_term **terms, size_t *n)
{
    char *save = NULL;
    for (char *w = strtok_r(expr, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        *terms = xrealloc(*terms, (*n + 1) * sizeof(**terms));
        if (parse_term(w, &(*terms)[*n]) < 0)
            return -1;
        (*n)++;
    }
    return 0;
}

/* ---- output ---- */

struct runs_ctx {
    int json;
    json_t *array;
    struct table table;
    int rows;
};

static char *lr_text(const struct reg_run_row *r)
{
    if (r->has_lr) {
        json_t *v = json_real(r->lr);
        char *t = param_value_text(v);
        json_decref(v);
        return t;
    }
    json_t *pending = r->pending_json ? json_loads(r->pending_json, 0, NULL) : NULL;
    const char *from = json_string_value(json_object_get(pending, "lr"));
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, from ? "from " : "-");
    if (from)
        sb_adds(&sb, from);
    json_decref(pending);
    return sb_detach(&sb);
}

static json_t *run_json(const struct reg_run_row *r)
{
    json_t *o = json_pack("{s:s,s:i,s:s,s:s,s:s,s:i}", "sweep", r->sweep, "version",
                          r->version, "run", r->run_id, "stage", r->stage, "state", r->state,
                          "attempt", r->attempt);
    json_object_set_new(o, "condition", r->condition ? json_string(r->condition) : json_null());
    json_object_set_new(o, "lr", r->has_lr ? json_real(r->lr) : json_null());
    json_object_set_new(o, "seed", r->has_seed ? json_integer(r->seed) : json_null());
    json_t *params = json_loads(r->params_json, 0, NULL);
    json_object_set_new(o, "params", params ? params : json_null());
    json_t *pending = r->pending_json ? json_loads(r->pending_json, 0, NULL) : NULL;
    json_object_set_new(o, "pending", pending ? pending : json_null());
    json_object_set_new(o, "run_dir", r->run_dir ? json_string(r->run_dir) : json_null());
    return o;
}

static int print_run(const struct reg_run_row *r, void *ud)
{
    struct runs_ctx *ctx = ud;
    ctx->rows++;
    if (ctx->json) {
        json_array_append_new(ctx->array, run_json(r));
        return 0;
    }
    char *lr = lr_text(r);
    char seed[32] = "-";
    if (r->has_seed)
        snprintf(seed, sizeof(seed), "%lld", (long long)r->seed);
    const char *row[] = { r->sweep, r->run_id, r->stage, r->condition, lr, seed, r->state };
    table_add(&ctx->table, row);
    free(lr);
    return 0;
}

static int sweep_exists(struct cli *cli, const char *name)
{
    struct reg_sweep_info info = { 0 };
    enum reg_status st = reg_sweep_latest(cli->reg, name, &info);
    reg_sweep_info_free(&info);
    return st != REG_ERR_NOT_FOUND;
}

int cmd_runs(int argc, char **argv, struct cli *cli)
{
    static const struct option opts[] = {
        { "sweep", required_argument, NULL, 's' },
        { "where", required_argument, NULL, 'w' },
        { "all-versions", no_argument, NULL, 'a' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    struct reg_run_query q = { 0 };
    struct reg_filter_term *terms = NULL;
    struct runs_ctx ctx = { 0 };
    int c, rc = EXIT_OK;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:w:", opts, NULL)) != -1) {
        if (c == 's')
            q.sweep = optarg;
        else if (c == 'w' && cli_parse_where(optarg, &terms, &q.n_terms) < 0)
            rc = EXIT_USAGE;
        else if (c == 'a')
            q.all_versions = 1;
        else if (c == 'j')
            ctx.json = 1;
        else if (c == '?')
            rc = cli_usage(runs_usage);
    }
    if (rc == EXIT_OK && optind != argc)
        rc = cli_usage(runs_usage);
    if (rc != EXIT_OK) {
        free(terms);
        return rc;
    }
    q.terms = terms;
    if (!cli_registry(cli)) {
        free(terms);
        return cli->open_failed_exit;
    }
    static const char *const head[] = { "SWEEP", "RUN", "STAGE", "CONDITION", "LR", "SEED",
                                        "STATE", NULL };
    table_init(&ctx.table, head);
    ctx.array = json_array();
    enum reg_status st = reg_query_runs(cli->reg, &q, print_run, &ctx);
    if (st == REG_ERR_INVALID) {
        error("%s", reg_errmsg(cli->reg));
        rc = EXIT_USAGE;
    } else if (st != REG_OK) {
        rc = cli_reg_error(cli, st, "cannot list runs");
    } else if (ctx.json) {
        char *s = json_dumps(ctx.array, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        puts(s);
        free(s);
    } else if (!ctx.rows && q.sweep && !sweep_exists(cli, q.sweep)) {
        error("no sweep named '%s' in %s", q.sweep, cli->registry_path);
        rc = EXIT_FAILURES;
    } else if (!ctx.rows) {
        fprintf(stderr, "no runs match\n");
    } else {
        table_print(&ctx.table, stdout, "");
    }
    table_free(&ctx.table);
    json_decref(ctx.array);
    free(terms);
    return rc;
}
