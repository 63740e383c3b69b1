/*
 * plan_estimate.c - the cost of a plan before it runs, printed by `mainline plan`:
 * per stage and in total, training tokens, optimizer steps, run time and money.
 *
 * Tokens come from the `train` dataset rendered by the sweep's contract and
 * counted by each run's base model tokenizer (data/token_stats.h, data/estimate.h).
 * Time comes from the trainer's own tok_per_s reports of earlier runs on the same
 * base model (by sha256) in the registry; without any, time is "unknown" rather
 * than a guess. Money needs `cost: {train_per_mtok: PRICE}` in the sweep.
 * Estimation problems (no train dataset, no tokenizer) are printed as notes: they
 * never block planning.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basetok.h"
#include "estimate.h"
#include "fsutil.h"
#include "plan_estimate.h"
#include "table.h"

/* What one base model gives the estimates. */
struct base {
    char *path;
    const char *sha256;
    struct tokenizer tok;
    long max_seq_len;
    struct data_stats st;
    struct reg_throughput speed;
    int ok;
};

struct stage_sum {
    size_t runs;
    double tokens, seconds, money;
    long steps;
    int time_known;
};

static struct base *find_base(struct base *bases, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(bases[i].path, path))
            return &bases[i];
    return NULL;
}

static void load_base(struct base *b, const struct sweep *s, const struct data_file *train,
                      struct registry *reg)
{
    struct strbuf err = STRBUF_INIT;
    const struct sweep_dataset *d = sweep_find_dataset(s, "train");
    struct render_contract rc;
    struct render_chat chat = { 0 };
    if (base_tokenizer(b->path, &b->tok, &b->max_seq_len, &err) < 0 ||
        sweep_render_contract_for(s, d, b->path, &chat, &rc, &err) < 0)
        printf("estimate: %s\n", err.buf);
    else if (data_stats_compute(train, &rc, &b->tok, 0, &b->st, &err) < 0)
        printf("estimate: %s\n", err.buf);
    else
        b->ok = 1;
    render_chat_free(&chat);
    if (reg && b->sha256)
        reg_measured_throughput(reg, b->sha256, &b->speed);
    sb_free(&err);
}

static void add_cell(char cells[][32], int i, const char *fmt, double v)
{
    snprintf(cells[i], 32, fmt, v);
}

/* A table row; the COST cell is ignored by a table without that column. */
static void sum_row(struct table *t, const char *name, const struct stage_sum *s)
{
    char c[5][32];
    snprintf(c[0], 32, "%zu", s->runs);
    add_cell(c, 1, "%.0f", s->tokens);
    snprintf(c[2], 32, "%ld", s->steps);
    if (!s->runs)
        snprintf(c[3], 32, "-");
    else if (s->time_known)
        format_seconds(s->seconds, c[3], 32);
    else
        snprintf(c[3], 32, "unknown");
    add_cell(c, 4, "%.2f", s->money);
    const char *row[] = { name, c[0], c[1], c[2], c[3], c[4] };
    table_add(t, row);
}

static void add_run(struct stage_sum *sum, const struct run_estimate *e, const struct base *b,
                    double price)
{
    sum->runs++;
    sum->tokens += e->tokens;
    sum->steps += e->steps;
    if (b->speed.tok_per_s > 0)
        sum->seconds += e->positions / b->speed.tok_per_s;
    else
        sum->time_known = 0;
    if (price >= 0)
        sum->money += e->tokens / 1e6 * price;
}

/* Per stage, then total. Returns how many runs had no estimate. */
static size_t print_table(const struct plan *p, struct base *bases, size_t n_bases)
{
    const struct sweep *s = &p->sweep;
    double price = s->train_per_mtok;
    static const char *const head[] = { "STAGE", "RUNS", "TRAIN TOKENS", "STEPS", "TIME",
                                        "COST", NULL };
    static const char *const head_no_cost[] = { "STAGE", "RUNS", "TRAIN TOKENS", "STEPS",
                                                "TIME", NULL };
    struct table t;
    table_init(&t, price >= 0 ? head : head_no_cost);
    t.right_align = 0x3e;
    struct stage_sum total = { .time_known = 1 };
    size_t missing = 0;
    for (size_t i = 0; i < s->n_stages; i++) {
        struct stage_sum sum = { .time_known = 1 };
        for (size_t r = 0; r < p->runs.n; r++) {
            const struct plan_run *run = &p->runs.runs[r];
            const char *path = plan_run_base_model(p, r);
            const struct base *b = path ? find_base(bases, n_bases, path) : NULL;
            if (run->stage != &s->stages[i])
                continue;
            if (!b || !b->ok) {
                missing++;
                continue;
            }
            struct run_estimate e;
            estimate_run(run->params, &b->st, b->max_seq_len, &e);
            add_run(&sum, &e, b, price);
            add_run(&total, &e, b, price);
        }
        sum_row(&t, s->stages[i].name, &sum);
    }
    sum_row(&t, "total", &total);
    table_print(&t, stdout, "");
    table_free(&t);
    return missing;
}

static void print_speed(const struct base *bases, size_t n, double price)
{
    for (size_t i = 0; i < n; i++) {
        const struct base *b = &bases[i];
        if (b->speed.reports)
            printf("time: %s trains at %.0f tok/s (the median of %ld tok_per_s reports from "
                   "%ld earlier run%s), one run at a time\n", b->path, b->speed.tok_per_s,
                   b->speed.reports, b->speed.runs, b->speed.runs == 1 ? "" : "s");
        else
            printf("time: unknown (no measured throughput for %s in the registry)\n",
                   b->path);
    }
    if (price >= 0)
        printf("cost: %.2f per million training tokens (cost: train_per_mtok)\n", price);
}

void plan_print_estimates(const struct plan *p, const char *registry_path)
{
    const struct sweep *s = &p->sweep;
    const struct sweep_dataset *d = sweep_find_dataset(s, "train");
    printf("\n");
    if (!d) {
        printf("estimate: none (no dataset named 'train' to count tokens of)\n");
        return;
    }
    struct data_file train;
    struct strbuf err = STRBUF_INIT;
    if (data_file_read(plan_dataset_path(p, d->name), &train, &err) < 0) {
        printf("estimate: none (%s)\n", err.buf);
        sb_free(&err);
        return;
    }
    struct registry *reg = NULL;
    if (access(registry_path, F_OK) == 0 &&
        reg_open(registry_path, REG_OPEN_EXISTING, &reg, NULL, 0) == REG_ERR_DAMAGED)
        printf("estimate: registry '%s' is damaged: its measured throughput is not used\n",
               registry_path);
    struct base *bases = xcalloc(p->runs.n + 1, sizeof(*bases));
    size_t n = 0;
    for (size_t r = 0; r < p->runs.n; r++) {
        const json_t *bm = json_object_get(p->runs.runs[r].params, "base_model");
        const char *path = plan_run_base_model(p, r);
        if (!path || find_base(bases, n, path))
            continue;
        bases[n].path = xstrdup(path);
        bases[n].sha256 = json_string_value(json_object_get(bm, "sha256"));
        load_base(&bases[n++], s, &train, reg);
    }
    printf("estimate: the '%s' dataset (%zu rows), rendered and tokenized as each run's "
           "trainer will see it\n", d->name, train.n);
    size_t missing = print_table(p, bases, n);
    if (missing)
        printf("(%zu run%s without a base model or tokenizer not counted)\n", missing,
               missing == 1 ? "" : "s");
    print_speed(bases, n, s->train_per_mtok);
    for (size_t i = 0; i < n; i++) {
        free(bases[i].path);
        tokenizer_free(&bases[i].tok);
        data_stats_free(&bases[i].st);
    }
    free(bases);
    reg_free(reg);
    data_file_free(&train);
    sb_free(&err);
}
