/*
 * cmd_runs.c - `mainline runs`: list runs, filtered with --where terms that the
 * registry binds as parameters (never pasted into SQL); the table has a column per
 * swept parameter (the registry's view run_params).
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "canon_json.h"
#include "cli.h"
#include "reg_bundle.h"
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

/* A listed run, kept until every row is in: the table's columns depend on all. */
struct kept_run {
    int64_t sweep_rowid;
    char *sweep, *run_id, *stage, *state;
    char nll[32], acc[16];      /* best val NLL and accuracy as shown, "-" when none */
    json_t *params, *pending;   /* pending NULL unless waiting */
};

struct runs_ctx {
    struct registry *reg;       /* for where an imported run came from */
    int json;
    json_t *array;
    struct kept_run *runs;
    size_t n;
};

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
    json_object_set_new(o, "best_val_nll", r->has_best_val_nll ? json_real(r->best_val_nll)
                                                               : json_null());
    json_object_set_new(o, "accuracy", r->has_eval_accuracy ? json_real(r->eval_accuracy)
                                                            : json_null());
    return o;
}

static int keep_run(const struct reg_run_row *r, void *ud)
{
    struct runs_ctx *ctx = ud;
    char *origin = NULL;
    reg_run_origin(ctx->reg, r->rowid, &origin);   /* a failure reads as not imported */
    json_t *imported = origin ? json_loads(origin, 0, NULL) : NULL;
    free(origin);
    if (ctx->json) {
        json_t *o = run_json(r);
        json_object_set_new(o, "imported", imported ? imported : json_null());
        json_array_append_new(ctx->array, o);
        ctx->n++;
        return 0;
    }
    ctx->runs = xrealloc(ctx->runs, (ctx->n + 1) * sizeof(*ctx->runs));
    struct kept_run *k = &ctx->runs[ctx->n++];
    k->sweep_rowid = r->sweep_rowid;
    k->sweep = xstrdup(r->sweep);
    k->run_id = xstrdup(r->run_id);
    k->stage = xstrdup(r->stage);
    struct strbuf state = STRBUF_INIT;
    sb_addf(&state, "%s%s", r->state, imported ? " (imported)" : "");
    k->state = sb_detach(&state);
    json_decref(imported);
    snprintf(k->nll, sizeof(k->nll), r->has_best_val_nll ? "%.4f" : "-", r->best_val_nll);
    snprintf(k->acc, sizeof(k->acc), r->has_eval_accuracy ? "%.1f%%" : "-",
             100 * r->eval_accuracy);
    k->params = json_loads(r->params_json, 0, NULL);
    k->pending = r->pending_json ? json_loads(r->pending_json, 0, NULL) : NULL;
    return 0;
}

static void kept_runs_free(struct runs_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n && ctx->runs; i++) {
        struct kept_run *k = &ctx->runs[i];
        free(k->sweep);
        free(k->run_id);
        free(k->stage);
        free(k->state);
        json_decref(k->params);
        json_decref(k->pending);
    }
    free(ctx->runs);
}

/* A run's value of parameter `name`: as in run ids, "from STAGE" while a pick has
 * not released it, "-" when the run has none. */
static char *param_cell(const struct kept_run *k, const char *name)
{
    const char *from = json_string_value(json_object_get(k->pending, name));
    const json_t *v = json_object_get(k->params, name);
    if (from) {
        struct strbuf sb = STRBUF_INIT;
        sb_addf(&sb, "from %s", from);
        return sb_detach(&sb);
    }
    return v ? param_value_text(v) : xstrdup("-");
}

static int has_name(char *const *names, const char *name)
{
    for (; names && *names; names++)
        if (!strcmp(*names, name))
            return 1;
    return 0;
}

/* The swept parameters of each listed sweep version, in listing order. */
struct swept_set {
    int64_t sweep_rowid;
    char **names;
};

static char **swept_of(const struct swept_set *sets, size_t n, int64_t sweep_rowid)
{
    for (size_t i = 0; i < n; i++)
        if (sets[i].sweep_rowid == sweep_rowid)
            return sets[i].names;
    return NULL;
}

/*
 * The table: SWEEP RUN STAGE, a column per swept parameter, STATE, the best validation
 * NLL (nats per token) and the latest evaluation's accuracy. When the listed
 * sweeps sweep different parameters, the columns are those every one sweeps and
 * OTHER lists each run's other swept parameters as k=v.
 */
static int print_table(struct cli *cli, const struct runs_ctx *ctx)
{
    struct swept_set *sets = NULL;
    size_t n_sets = 0;
    enum reg_status st = REG_OK;
    for (size_t i = 0; i < ctx->n && st == REG_OK; i++) {
        if (n_sets && sets[n_sets - 1].sweep_rowid == ctx->runs[i].sweep_rowid)
            continue;   /* rows come sweep by sweep */
        sets = xrealloc(sets, (n_sets + 1) * sizeof(*sets));
        sets[n_sets].sweep_rowid = ctx->runs[i].sweep_rowid;
        st = reg_swept_params(cli->reg, ctx->runs[i].sweep_rowid, &sets[n_sets].names);
        n_sets += st == REG_OK;
    }
    int rc = st == REG_OK ? EXIT_OK : cli_reg_error(cli, st, "cannot list runs");
    int other = 0;
    size_t n_cols = 0;
    const char **cols = xcalloc(1, sizeof(*cols));   /* the swept names every set has */
    for (size_t j = 0; n_sets && sets[0].names[j]; j++) {
        const char *name = sets[0].names[j];
        int everywhere = 1;
        for (size_t i = 1; i < n_sets; i++)
            everywhere = everywhere && has_name(sets[i].names, name);
        if (everywhere) {
            cols = xrealloc(cols, (n_cols + 2) * sizeof(*cols));
            cols[n_cols++] = name;
            cols[n_cols] = NULL;
        }
    }
    for (size_t i = 0; i < n_sets; i++)
        for (size_t j = 0; sets[i].names[j]; j++)
            other = other || !has_name((char *const *)cols, sets[i].names[j]);
    size_t width = 3 + n_cols + other + 3;
    char **head = xcalloc(width + 1, sizeof(*head));
    head[0] = xstrdup("SWEEP");
    head[1] = xstrdup("RUN");
    head[2] = xstrdup("STAGE");
    for (size_t c = 0; c < n_cols; c++) {
        head[3 + c] = xstrdup(cols[c]);
        for (char *p = head[3 + c]; *p; p++)
            *p = (char)toupper((unsigned char)*p);
    }
    if (other)
        head[3 + n_cols] = xstrdup("OTHER");
    head[width - 3] = xstrdup("STATE");
    head[width - 2] = xstrdup("VAL_NLL");
    head[width - 1] = xstrdup("ACCURACY");
    struct table t;
    table_init(&t, (const char *const *)head);
    t.right_align = (1u << (width - 2)) | (1u << (width - 1));
    char **row = xcalloc(width, sizeof(*row));
    for (size_t i = 0; rc == EXIT_OK && i < ctx->n; i++) {
        const struct kept_run *k = &ctx->runs[i];
        row[0] = xstrdup(k->sweep);
        row[1] = xstrdup(k->run_id);
        row[2] = xstrdup(k->stage);
        for (size_t c = 0; c < n_cols; c++)
            row[3 + c] = param_cell(k, cols[c]);
        if (other) {
            struct strbuf sb = STRBUF_INIT;
            char **names = swept_of(sets, n_sets, k->sweep_rowid);
            for (size_t j = 0; names && names[j]; j++) {
                if (has_name((char *const *)cols, names[j]))
                    continue;
                char *v = param_cell(k, names[j]);
                sb_addf(&sb, "%s%s=%s", sb.len ? " " : "", names[j], v);
                free(v);
            }
            row[3 + n_cols] = sb_detach(&sb);
        }
        row[width - 3] = xstrdup(k->state);
        row[width - 2] = xstrdup(k->nll);
        row[width - 1] = xstrdup(k->acc);
        table_add(&t, (const char *const *)row);
        for (size_t c = 0; c < width; c++)
            free(row[c]);
    }
    if (rc == EXIT_OK)
        table_print(&t, stdout, "");
    table_free(&t);
    free(row);
    for (size_t c = 0; c <= width; c++)
        free(head[c]);
    free(head);
    free(cols);
    for (size_t i = 0; i < n_sets; i++)
        reg_names_free(sets[i].names);
    free(sets);
    return rc;
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
    ctx.array = json_array();
    ctx.reg = cli->reg;
    enum reg_status st = reg_query_runs(cli->reg, &q, keep_run, &ctx);
    if (st == REG_ERR_INVALID) {
        error("%s", reg_errmsg(cli->reg));
        rc = EXIT_USAGE;
    } else if (st != REG_OK) {
        rc = cli_reg_error(cli, st, "cannot list runs");
    } else if (ctx.json) {
        char *s = json_dumps(ctx.array, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        puts(s);
        free(s);
    } else if (!ctx.n && q.sweep && !sweep_exists(cli, q.sweep)) {
        error("no sweep named '%s' in %s", q.sweep, cli->registry_path);
        rc = EXIT_FAILURES;
    } else if (!ctx.n) {
        fprintf(stderr, "no runs match\n");
    } else {
        rc = print_table(cli, &ctx);
    }
    kept_runs_free(&ctx);
    json_decref(ctx.array);
    free(terms);
    return rc;
}
