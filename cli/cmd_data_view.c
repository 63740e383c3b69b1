/*
 * cmd_data_view.c - `mainline data render` and `mainline data stats`: a data file
 * seen through a sweep's rendering contract (its template, system prompt and the
 * field mapping of the dataset the file is) and its base model's tokenizer.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basetok.h"
#include "cmd_data.h"
#include "fetch_bar.h"
#include "fsutil.h"
#include "rows.h"
#include "source.h"
#include "token_stats.h"
#include "table.h"

const char cmd_data_render_usage[] =
    "usage: mainline data render FILE --sweep S [--row N] [--dataset NAME]\n";
const char cmd_data_stats_usage[] =
    "usage: mainline data stats FILE --sweep S [--dataset NAME] [--max-seq-len N]\n";

/* ---- the sweep a file is seen through ---- */

/* A dataset named by URL has no resolved path: it never matches a FILE argument
 * (use --dataset). */
static int same_file(const char *a, const char *b)
{
    if (!b)
        return 0;
    char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
    int same = ra && rb && !strcmp(ra, rb);
    free(ra);
    free(rb);
    return same;
}

int cmd_data_sweep_open(const char *sweep_path, const char *file, const char *dataset,
                        struct cmd_data_sweep *d)
{
    memset(d, 0, sizeof(*d));
    struct diag_list dl = { 0 };
    if (sweep_load(sweep_path, &d->s, &dl) < 0) {
        for (size_t i = 0; i < dl.n; i++)
            error("%s", dl.msgs[i]);
        diag_free(&dl);
        return -1;
    }
    diag_free(&dl);
    if (dataset) {
        d->ds = sweep_find_dataset(&d->s, dataset);
        if (!d->ds) {
            error("%s: no dataset '%s'", sweep_path, dataset);
            sweep_free(&d->s);
            return -1;
        }
    }
    for (size_t i = 0; !d->ds && file && i < d->s.n_datasets; i++)
        if (same_file(file, d->s.datasets[i].src.resolved))
            d->ds = &d->s.datasets[i];
    d->rc = sweep_render_contract(&d->s, d->ds);
    return 0;
}

/* The base model of the sweep's defaults as a local path: a URL (hf://ORG/MODEL...)
 * through the cache, fetched when not there yet, as `plan` does. NULL after
 * printing why, or with *none set when the sweep has no base model. */
static char *base_model_path(const struct sweep *s, int *none)
{
    const json_t *bm = json_object_get(s->defaults, "base_model");
    *none = !bm;
    if (!bm)
        return NULL;
    struct sweep_source src;
    struct source_ctx ctx;
    struct source_file f = { 0 };
    struct strbuf err = STRBUF_INIT;
    sweep_source_from_json(bm, s->dir, &src);
    int rc = source_ctx_init(&ctx, fetch_bar_observer(), &err);
    if (rc == 0)
        rc = source_resolve(&ctx, &src, &f, &err);
    if (rc < 0)
        error("%s: base_model: %s", s->file, err.buf);
    char *path = rc < 0 ? NULL : f.path;
    f.path = NULL;
    source_file_free(&f);
    source_ctx_free(&ctx);
    sweep_source_free(&src);
    sb_free(&err);
    return path;
}

int cmd_data_sweep_tokenizer(struct cmd_data_sweep *d)
{
    int none;
    char *path = base_model_path(&d->s, &none);
    if (!path)
        return none ? error("%s: no base_model to take the tokenizer from", d->s.file) : -1;
    struct strbuf err = STRBUF_INIT;
    int rc = base_tokenizer(path, &d->tok, &d->model_max_seq_len, &err);
    /* template: chat renders with the model's own template, as the trainer does */
    if (rc == 0)
        rc = sweep_render_contract_for(&d->s, d->ds, path, &d->chat, &d->rc, &err);
    if (rc < 0)
        error("%s", err.buf);
    else
        d->model_path = path, path = NULL;
    free(path);
    sb_free(&err);
    return rc;
}

void cmd_data_sweep_free(struct cmd_data_sweep *d)
{
    tokenizer_free(&d->tok);
    render_chat_free(&d->chat);
    free(d->model_path);
    sweep_free(&d->s);
    memset(d, 0, sizeof(*d));
}

static void describe(const struct cmd_data_sweep *d, const char *file)
{
    printf("%s: dataset %s, template %s, system prompt %s\n", file,
           d->ds ? d->ds->name : "(none of the sweep's)", render_template_name(d->rc.tmpl),
           d->rc.system ? "set" : "none");
}

/* ---- render ---- */

/* Text line by line behind "| "; a final newline shows as a last bare "|". */
static void print_marked(const char *text)
{
    const char *p = text;
    for (;;) {
        const char *nl = strchr(p, '\n');
        if (!nl) {
            if (*p)
                printf("| %s\n", p);
            return;
        }
        printf(nl > p ? "| %.*s\n" : "|\n", (int)(nl - p), p);
        p = nl + 1;
        if (!*p) {
            printf("|\n");
            return;
        }
    }
}

static int show_row(struct cmd_data_sweep *d, const struct data_file *f, size_t i)
{
    const struct data_row *r = &f->rows[i];
    struct strbuf p = STRBUF_INIT, c = STRBUF_INIT, why = STRBUF_INIT;
    if (render_row(r->row, &d->rc, 0, &p, &c, &why) < 0) {
        error("%s:%ld: %s", f->path, r->line, why.buf);
        sb_free(&why);
        return EXIT_FAILURES;
    }
    const char *src = render_source(r->row, d->rc.fields);
    printf("row %zu of %zu (line %ld), source %s\n", i + 1, f->n, r->line, src ? src : "(none)");
    long prompt_tokens;
    long total = example_tokens(&d->tok, &d->rc, sb_str(&p), p.len, sb_str(&c), c.len,
                                &prompt_tokens);
    /* a model's own chat template writes its BOS and turn ends into the text */
    int own = render_writes_own_frame(&d->rc);
    printf("\n== prompt: not learned (%ld tokens%s) ==\n", prompt_tokens, own ? "" : " with BOS");
    print_marked(sb_str(&p));
    printf("== completion: learned (%ld tokens%s) ==\n", total - prompt_tokens,
           own ? "" : " with EOS");
    print_marked(sb_str(&c));
    printf("== end: %ld tokens ==\n", total);
    sb_free(&p);
    sb_free(&c);
    sb_free(&why);
    return EXIT_OK;
}

/* Parse FILE --sweep S [--dataset NAME] plus one numeric option (`num`, >= 1). */
static int view_args(int argc, char **argv, const char *num, const char **file,
                     const char **sweep, const char **dataset, long *value)
{
    const struct option opts[] = {
        { "sweep", required_argument, NULL, 's' },
        { "dataset", required_argument, NULL, 'd' },
        { num, required_argument, NULL, 'n' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 's')
            *sweep = optarg;
        else if (c == 'd')
            *dataset = optarg;
        else if (c == 'n') {
            char opt[32];
            snprintf(opt, sizeof(opt), "--%s", num);
            if ((*value = cmd_data_parse_count(opt, optarg, 1)) < 0)
                return -1;
        } else
            return -1;
    }
    if (argc - optind != 1 || !*sweep)
        return -1;
    *file = argv[optind];
    return 0;
}

int cmd_data_render(int argc, char **argv, struct cli *cli)
{
    (void)cli;
    const char *file = NULL, *sweep = NULL, *dataset = NULL;
    long row = 1;
    if (view_args(argc, argv, "row", &file, &sweep, &dataset, &row) < 0)
        return cli_usage(cmd_data_render_usage);
    struct cmd_data_sweep d;
    if (cmd_data_sweep_open(sweep, file, dataset, &d) < 0)
        return EXIT_FAILURES;
    struct data_file f;
    struct strbuf err = STRBUF_INIT;
    int rc = EXIT_FAILURES;
    if (data_file_read(file, &f, &err) < 0)
        error("%s", err.buf);
    else if ((size_t)row > f.n)
        error("%s has %zu rows, not %ld", file, f.n, row);
    else if (cmd_data_sweep_tokenizer(&d) == 0) {
        describe(&d, file);
        rc = show_row(&d, &f, (size_t)row - 1);
    }
    sb_free(&err);
    data_file_free(&f);
    cmd_data_sweep_free(&d);
    return rc;
}

/* ---- stats ---- */

static void summary_row(struct table *t, const char *name, const struct token_summary *s)
{
    char cells[7][32];
    snprintf(cells[0], 32, "%zu", s->rows);
    snprintf(cells[1], 32, "%.1f", s->mean);
    snprintf(cells[2], 32, "%ld", s->p50);
    snprintf(cells[3], 32, "%ld", s->p90);
    snprintf(cells[4], 32, "%ld", s->p95);
    snprintf(cells[5], 32, "%ld", s->max);
    snprintf(cells[6], 32, "%zu", s->truncated);
    const char *row[] = { name, cells[0], cells[1], cells[2], cells[3], cells[4], cells[5],
                          cells[6] };
    table_add(t, row);
}

/* The max_seq_len examples are cut at: the option, else the sweep's defaults,
 * else the model's. */
long cmd_data_sweep_max_seq_len(const struct cmd_data_sweep *d, long option)
{
    json_t *v = json_object_get(d->s.defaults, "max_seq_len");
    return option > 0 ? option : v ? (long)json_integer_value(v) : d->model_max_seq_len;
}

int cmd_data_stats(int argc, char **argv, struct cli *cli)
{
    (void)cli;
    const char *file = NULL, *sweep = NULL, *dataset = NULL;
    long max_len = 0;
    if (view_args(argc, argv, "max-seq-len", &file, &sweep, &dataset, &max_len) < 0)
        return cli_usage(cmd_data_stats_usage);
    struct cmd_data_sweep d;
    if (cmd_data_sweep_open(sweep, file, dataset, &d) < 0)
        return EXIT_FAILURES;
    struct data_file f;
    struct data_stats st = { 0 };
    struct strbuf err = STRBUF_INIT;
    int rc = EXIT_FAILURES;
    if (data_file_read(file, &f, &err) < 0)
        error("%s", err.buf);
    else if (cmd_data_sweep_tokenizer(&d) < 0)
        ;
    else if (data_stats_compute(&f, &d.rc, &d.tok, cmd_data_sweep_max_seq_len(&d, max_len), &st,
                                &err) < 0)
        error("%s", err.buf);
    else {
        describe(&d, file);
        printf("tokens of %s, tokenizer of %s; max_seq_len %ld\n\n",
               render_writes_own_frame(&d.rc) ? "the model's chat template's rendering"
                                               : "BOS + prompt + completion + EOS",
               d.model_path, st.max_seq_len);
        static const char *const head[] = { "SOURCE", "ROWS", "MEAN", "P50", "P90", "P95",
                                            "MAX", "TRUNCATED", NULL };
        struct table t;
        table_init(&t, head);
        t.right_align = 0xfe;
        for (size_t i = 0; i < st.n_sources; i++)
            summary_row(&t, st.by_source[i].source, &st.by_source[i].s);
        summary_row(&t, "all", &st.all);
        table_print(&t, stdout, "");
        table_free(&t);
        printf("\n%ld tokens in all; %ld within max_seq_len (what one epoch trains on)\n",
               st.all.tokens, st.all.kept_tokens);
        rc = EXIT_OK;
    }
    data_stats_free(&st);
    sb_free(&err);
    data_file_free(&f);
    cmd_data_sweep_free(&d);
    return rc;
}
