/*
 * select_compare.c - cells against each other (select_internal.h): a cell is a
 * value of compare.by (the condition by default), its runs replicates over seeds.
 * The metric over seeds per cell; per pair of cells, the per-seed paired
 * disagreement tables with the exact McNemar test and a paired bootstrap over
 * seeds and examples (accuracy), or per-seed values and a bootstrap over seeds
 * (a trainer metric); the verdict of the frozen threshold rule for the two best.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "select_internal.h"

#define SLACK 1e-12   /* a gap of 0.91 - 0.90 meets a threshold of 0.01 */

static struct sel_cond *cond_of(struct sel_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->n_conds; i++)
        if (!strcmp(c->conds[i].name, name))
            return &c->conds[i];
    c->conds = xrealloc(c->conds, (c->n_conds + 1) * sizeof(*c->conds));
    struct sel_cond *k = &c->conds[c->n_conds++];
    memset(k, 0, sizeof(*k));
    k->name = name;
    return k;
}

static void build_conditions(struct sel_ctx *c)
{
    for (size_t i = 0; i < c->n_runs; i++) {
        struct sel_run *sr = &c->runs[i];
        if (!sr->has_cmp)
            continue;
        struct sel_cond *k = cond_of(c, sr->cell);
        k->params = sr->cell_params;
        k->members = xrealloc(k->members, (k->n + 1) * sizeof(*k->members));
        k->values = xrealloc(k->values, (k->n + 1) * sizeof(*k->values));
        k->members[k->n] = i;
        k->values[k->n++] = sr->cmp;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < c->n_conds; i++) {
        struct sel_cond *k = &c->conds[i];
        stats_summarize(k->values, k->n, &k->sum);
        json_t *seeds = json_array();
        for (size_t j = 0; j < k->n; j++) {
            const struct sel_run *sr = &c->runs[k->members[j]];
            json_array_append_new(seeds, json_pack("{s:s,s:s,s:f}", c->over, sr->rep, "run",
                                                   sr->run->run_id, c->metric, k->values[j]));
        }
        json_t *o = json_pack("{s:s,s:I,s:f,s:f,s:f,s:f,s:o}", "condition", k->name, "n",
                              (json_int_t)k->n, "mean", k->sum.mean, "min", k->sum.min, "max",
                              k->sum.max, "range", k->sum.range, "seeds", seeds);
        if (!c->by_condition)
            json_object_set(o, "params", (json_t *)k->params);
        json_array_append_new(list, o);
    }
    json_object_set_new(c->doc, "conditions", list);
}

/* ---- one pair ---- */

struct table2 {
    int64_t a_only, b_only, both, neither, unpaired;
};

/* Walk two evaluations' predictions (both sorted by example id) in step. */
static void disagreement(const struct reg_res_eval *a, const struct reg_res_eval *b,
                         struct table2 *t, int8_t **diff, size_t *n_diff)
{
    memset(t, 0, sizeof(*t));
    *diff = xcalloc(a->n_preds + 1, sizeof(**diff));
    *n_diff = 0;
    size_t i = 0, j = 0;
    while (i < a->n_preds && j < b->n_preds) {
        int cmp = strcmp(a->preds[i].example_id, b->preds[j].example_id);
        if (cmp) {
            t->unpaired++;
            cmp < 0 ? i++ : j++;
            continue;
        }
        int ra = a->preds[i].correct, rb = b->preds[j].correct;
        t->a_only += ra && !rb;
        t->b_only += !ra && rb;
        t->both += ra && rb;
        t->neither += !ra && !rb;
        (*diff)[(*n_diff)++] = (int8_t)(ra - rb);
        i++;
        j++;
    }
    t->unpaired += (int64_t)(a->n_preds - i) + (int64_t)(b->n_preds - j);
}

static json_t *table_json(const struct table2 *t)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:f}", "a_only", (json_int_t)t->a_only, "b_only",
                     (json_int_t)t->b_only, "both", (json_int_t)t->both, "neither",
                     (json_int_t)t->neither, "delta", (json_int_t)(t->a_only - t->b_only),
                     "mcnemar_p", stats_mcnemar_exact(t->a_only, t->b_only));
}

static const struct sel_run *member_with_rep(const struct sel_ctx *c, const struct sel_cond *k,
                                             const char *rep)
{
    for (size_t i = 0; i < k->n; i++)
        if (!strcmp(c->runs[k->members[i]].rep, rep))
            return &c->runs[k->members[i]];
    return NULL;
}

static json_t *bootstrap_json(const struct stats_bootstrap *bs)
{
    return json_pack("{s:f,s:f,s:f,s:I,s:I,s:f}", "observed", bs->observed, "lo", bs->lo,
                     "hi", bs->hi, "samples", (json_int_t)bs->samples, "seed",
                     (json_int_t)bs->seed, "level", 1 - bs->alpha);
}

/* A trainer metric has one value per run: per seed, A's and B's values and A - B;
 * the bootstrap resamples seeds only (there are no per-example results). */
static json_t *metric_pair_json(const struct sel_ctx *c, const struct sel_cond *a,
                                const struct sel_cond *b)
{
    json_t *seeds = json_array();
    double *diff = xcalloc(a->n + 1, sizeof(*diff));
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct sel_run *ra = &c->runs[a->members[i]];
        const struct sel_run *rb = member_with_rep(c, b, ra->rep);
        if (!rb)
            continue;
        diff[n++] = ra->cmp - rb->cmp;
        json_array_append_new(seeds, json_pack("{s:s,s:f,s:f,s:f}", c->over, ra->rep, "a",
                                               ra->cmp, "b", rb->cmp, "diff", ra->cmp - rb->cmp));
    }
    json_t *pair = json_pack("{s:s,s:s,s:s,s:I,s:o}", "a", a->name, "b", b->name, "metric",
                             c->metric, "paired", (json_int_t)n, "seeds", seeds);
    struct stats_bootstrap bs;
    if (stats_seed_bootstrap(diff, n, SELECT_BOOTSTRAP_SAMPLES, SELECT_BOOTSTRAP_SEED,
                             SELECT_BOOTSTRAP_ALPHA, &bs) == 0) {
        json_object_set_new(pair, "diff", json_real(bs.observed));
        json_object_set_new(pair, "bootstrap", bootstrap_json(&bs));
    } else {
        json_object_set_new(pair, "bootstrap", json_null());
    }
    free(diff);
    return pair;
}

static json_t *pair_json(const struct sel_ctx *c, const struct sel_cond *a,
                         const struct sel_cond *b)
{
    if (c->cmp_kind == CMP_TRAINER)
        return metric_pair_json(c, a, b);
    json_t *seeds = json_array();
    struct table2 total = { 0 };
    int8_t **groups = xcalloc(a->n + 1, sizeof(*groups));
    size_t *sizes = xcalloc(a->n + 1, sizeof(*sizes)), n_groups = 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct sel_run *ra = &c->runs[a->members[i]];
        const struct sel_run *rb = member_with_rep(c, b, ra->rep);
        if (!rb)
            continue;
        struct table2 t;
        disagreement(ra->eval, rb->eval, &t, &groups[n_groups], &sizes[n_groups]);
        n_groups++;
        json_t *row = table_json(&t);
        json_object_set_new(row, c->over, json_string(ra->rep));
        json_object_set_new(row, "unpaired", json_integer(t.unpaired));
        json_array_append_new(seeds, row);
        total.a_only += t.a_only;
        total.b_only += t.b_only;
        total.both += t.both;
        total.neither += t.neither;
        total.unpaired += t.unpaired;
    }
    json_t *pair = table_json(&total);
    json_object_set_new(pair, "a", json_string(a->name));
    json_object_set_new(pair, "b", json_string(b->name));
    json_object_set_new(pair, "unpaired", json_integer(total.unpaired));
    json_object_set_new(pair, "seeds", seeds);
    struct stats_bootstrap bs;
    if (stats_paired_bootstrap((const int8_t *const *)groups, sizes, n_groups,
                               SELECT_BOOTSTRAP_SAMPLES, SELECT_BOOTSTRAP_SEED,
                               SELECT_BOOTSTRAP_ALPHA, &bs) == 0)
        json_object_set_new(pair, "bootstrap", bootstrap_json(&bs));
    else
        json_object_set_new(pair, "bootstrap", json_null());
    for (size_t i = 0; i < n_groups; i++)
        free(groups[i]);
    free(groups);
    free(sizes);
    return pair;
}

/* ---- the verdict ---- */

static void rank(struct sel_ctx *c)
{
    for (size_t i = 0; i < c->n_conds; i++) {
        double m = c->conds[i].sum.mean;
        if (c->leader < 0 || sel_better(c, m, c->conds[c->leader].sum.mean)) {
            c->runner_up = c->leader;
            c->leader = (long)i;
        } else if (c->runner_up < 0 || sel_better(c, m, c->conds[c->runner_up].sum.mean)) {
            c->runner_up = (long)i;
        }
    }
}

static json_t *find_pair(json_t *pairs, const char *a, const char *b)
{
    size_t i;
    json_t *p;
    json_array_foreach(pairs, i, p) {
        const char *pa = json_string_value(json_object_get(p, "a"));
        const char *pb = json_string_value(json_object_get(p, "b"));
        if ((!strcmp(pa, a) && !strcmp(pb, b)) || (!strcmp(pa, b) && !strcmp(pb, a)))
            return p;
    }
    return NULL;
}

static void verdict(struct sel_ctx *c, json_t *pairs)
{
    json_t *v = json_pack("{s:b,s:s,s:s,s:f,s:s}", "declared", c->compare_declared, "metric",
                          c->metric, "over", c->over, "winner_threshold", c->threshold,
                          "test", c->test);
    json_t *by = json_array();
    for (size_t i = 0; i < c->n_by; i++)
        json_array_append_new(by, json_string(c->by[i]));
    json_object_set_new(v, "by", by);
    json_object_set_new(v, "direction", json_string(c->lower_better ? "min" : "max"));
    const char *lower = c->lower_better ? ", lower is better" : "";
    char text[768];
    if (c->leader < 0 || c->runner_up < 0) {
        snprintf(text, sizeof(text), "inconclusive: %zu evaluated %s%s, nothing to "
                 "compare", c->n_conds, c->unit, c->n_conds == 1 ? "" : "s");
        json_object_set_new(v, "verdict", json_string("inconclusive"));
        json_object_set_new(v, "winner", json_null());
    } else {
        const struct sel_cond *L = &c->conds[c->leader], *R = &c->conds[c->runner_up];
        double gap = c->lower_better ? R->sum.mean - L->sum.mean : L->sum.mean - R->sum.mean;
        int win = gap > 0 && gap >= c->threshold - SLACK;
        json_object_set_new(v, "leader", json_string(L->name));
        json_object_set_new(v, "runner_up", json_string(R->name));
        json_object_set_new(v, "gap", json_real(gap));
        json_object_set_new(v, "verdict", json_string(win ? "winner" : "inconclusive"));
        json_object_set_new(v, "winner", win ? json_string(L->name) : json_null());
        json_t *p = find_pair(pairs, L->name, R->name);
        if (p) {
            json_object_set(v, "mcnemar_p", json_object_get(p, "mcnemar_p"));
            json_object_set(v, "bootstrap", json_object_get(p, "bootstrap"));
        }
        if (win)
            snprintf(text, sizeof(text), "winner: %s (mean %s %.4f vs %.4f for %s%s: gap %.4f "
                     ">= threshold %.4g)", L->name, c->metric, L->sum.mean, R->sum.mean,
                     R->name, lower, gap, c->threshold);
        else
            snprintf(text, sizeof(text), "inconclusive (mean %s %.4f for %s vs %.4f for %s%s: "
                     "gap %.4f < threshold %.4g)", c->metric, L->sum.mean, L->name,
                     R->sum.mean, R->name, lower, gap, c->threshold);
    }
    json_object_set_new(v, "text", json_string(text));
    json_object_set_new(c->doc, "compare", v);
    c->compare = v;
}

void sel_compare(struct sel_ctx *c)
{
    build_conditions(c);
    json_t *pairs = json_array();
    for (size_t i = 0; i < c->n_conds; i++)
        for (size_t j = i + 1; j < c->n_conds; j++)
            json_array_append_new(pairs, pair_json(c, &c->conds[i], &c->conds[j]));
    json_object_set_new(c->doc, "pairs", pairs);
    rank(c);
    verdict(c, pairs);
}
