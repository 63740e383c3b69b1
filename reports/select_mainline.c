/*
 * select_mainline.c - seed 000's mainline (select_internal.h): per candidate
 * condition, did the base survive (retention NLL against the base model's), did
 * the change land (gain over the base model on the compared metric), is it usable
 * (adapter size, evaluation speed, the quantised model's accuracy drop); the
 * diagnosis; the best candidate passing all declared layers by the declared
 * preference (then sweep order). And seed 001's
 * "this result can say / cannot say", generated from the verdict.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "select_internal.h"

/* ---- the numbers of one candidate ---- */

static void retention(const struct sel_ctx *c, const struct sel_cond *k,
                      struct mainline_numbers *n)
{
    double base;
    if (!c->baseline || !sel_eval_number(c->baseline, "retention_nll", &base) || !k->n)
        return;
    for (size_t i = 0; i < k->n; i++) {
        double v;
        const struct reg_res_eval *e = c->runs[k->members[i]].eval;
        if (!e || !sel_eval_number(e, "retention_nll", &v)) {
            n->has_nll_increase = 0;
            return;
        }
        if (!n->has_nll_increase || v - base > n->nll_increase)
            n->nll_increase = v - base;
        n->has_nll_increase = 1;
    }
}

static void usability(const struct sel_ctx *c, const struct sel_cond *k,
                      struct mainline_numbers *n)
{
    n->has_adapter_mb = n->has_eval_tps = k->n > 0;
    for (size_t i = 0; i < k->n; i++) {
        const struct sel_run *sr = &c->runs[k->members[i]];
        int64_t bytes = sr->ckpt >= 0 ? sr->run->ckpts[sr->ckpt].bytes : -1;
        double mb = (double)bytes / 1e6, tps = sr->eval ? sr->eval->tok_per_s : 0;
        if (bytes < 0)
            n->has_adapter_mb = 0;
        else if (i == 0 || mb > n->adapter_mb)
            n->adapter_mb = mb;
        if (!(tps > 0))
            n->has_eval_tps = 0;
        else if (i == 0 || tps < n->eval_tok_per_s)
            n->eval_tok_per_s = tps;
    }
}

/* usable.quantized: each seed's selected checkpoint scored as the declared GGUF
 * type; the worst seed's drop (f32 accuracy - quantised). Missing for any seed:
 * not measured. */
static void quantized(const struct sel_ctx *c, const struct sel_cond *k,
                      struct mainline_numbers *n)
{
    if (!c->ml.has_quant || !k->n)
        return;
    double f32 = 0, q = 0;
    for (size_t i = 0; i < k->n; i++) {
        const struct reg_res_eval *e = c->runs[k->members[i]].eval;
        if (!e || !e->quant || strcmp(e->quant, c->ml.quant) != 0)
            return;
        double drop = e->accuracy - e->quant_accuracy;
        if (i == 0 || drop > n->quant_drop)
            n->quant_drop = drop;
        f32 += e->accuracy;
        q += e->quant_accuracy;
    }
    n->has_quant = 1;
    n->f32_accuracy = f32 / (double)k->n;
    n->quant_accuracy = q / (double)k->n;
}

/* Per seed (member run): f32 and quantised accuracy, for the report's tables. */
static json_t *quant_seeds_json(const struct sel_ctx *c, const struct sel_cond *k)
{
    json_t *list = json_array();
    for (size_t i = 0; i < k->n; i++) {
        const struct sel_run *sr = &c->runs[k->members[i]];
        const struct reg_res_eval *e = sr->eval;
        if (!e || !e->quant)
            continue;
        json_array_append_new(list, json_pack("{s:s,s:s,s:f,s:f,s:f,s:f}", "run",
                                              sr->run->run_id, c->over, sr->rep ? sr->rep : "",
                                              "accuracy", e->accuracy, "quant_accuracy",
                                              e->quant_accuracy, "drop",
                                              e->accuracy - e->quant_accuracy,
                                              "quant_tok_per_s", e->quant_tok_per_s));
    }
    return list;
}

static void measure(const struct sel_ctx *c, struct sel_cond *k)
{
    struct mainline_numbers *n = &k->num;
    memset(n, 0, sizeof(*n));
    n->mean = k->sum.mean;
    n->range = k->sum.range;
    if (c->baseline && c->cmp_kind == CMP_ACCURACY) {
        n->has_gain = 1;
        n->gain = k->sum.mean - c->baseline->accuracy;
    }
    retention(c, k, n);
    usability(c, k, n);
    quantized(c, k, n);
}

static json_t *numbers_json(const struct sel_ctx *c, const struct sel_cond *k)
{
    const struct mainline_numbers *n = &k->num;
    json_t *o = json_pack("{s:f,s:f}", "mean", n->mean, "seed_range", n->range);
    if (n->has_nll_increase)
        json_object_set_new(o, "retention_nll_increase", json_real(n->nll_increase));
    if (n->has_gain)
        json_object_set_new(o, "gain", json_real(n->gain));
    if (n->has_adapter_mb)
        json_object_set_new(o, "adapter_mb", json_real(n->adapter_mb));
    if (n->has_eval_tps)
        json_object_set_new(o, "eval_tok_per_s", json_real(n->eval_tok_per_s));
    if (n->has_quant)
        json_object_set_new(o, "quantized", json_pack(
            "{s:s,s:f,s:f,s:f,s:o}", "quant", c->ml.quant, "accuracy", n->f32_accuracy,
            "quant_accuracy", n->quant_accuracy, "worst_drop", n->quant_drop, "seeds",
            quant_seeds_json(c, k)));
    return o;
}

static json_t *layer_json(const struct layer_verdict *v)
{
    return json_pack("{s:s,s:s}", "status", layer_status_name(v->status), "why", v->why);
}

/* ---- the choice ---- */

static long best_passing(const struct sel_ctx *c)
{
    long best = -1;
    for (size_t i = 0; i < c->n_conds; i++) {
        if (c->conds[i].verdict.diagnosis != DIAG_PASSES)
            continue;
        if (best < 0 || mainline_prefer_cmp(&c->ml, &c->conds[i].num,
                                            &c->conds[best].num) < 0)
            best = (long)i;
    }
    return best;
}

static void failing_layers(const struct mainline_verdict *v, struct strbuf *sb)
{
    const struct layer_verdict *layers[] = { &v->survived, &v->landed, &v->usable };
    static const char *const names[] = { "base_survived", "landed", "usable" };
    int first = 1;
    for (int i = 0; i < 3; i++)
        if (layers[i]->status == LAYER_FAIL) {
            sb_addf(sb, "%s%s (%s)", first ? "" : ", ", names[i], layers[i]->why);
            first = 0;
        }
}

static char *verdict_text(const struct sel_ctx *c)
{
    struct strbuf sb = STRBUF_INIT;
    if (c->mainline >= 0) {
        sb_addf(&sb, "mainline: %s (passes every declared layer", c->conds[c->mainline].name);
        size_t passing = 0;
        for (size_t i = 0; i < c->n_conds; i++)
            passing += c->conds[i].verdict.diagnosis == DIAG_PASSES;
        if (passing > 1) {
            sb_adds(&sb, "; preferred by");
            for (size_t i = 0; i < c->ml.n_prefer; i++)
                sb_addf(&sb, "%s %s", i ? "," : "", prefer_name(c->ml.prefer[i]));
            sb_addf(&sb, "%s over %zu other passing candidate%s", c->ml.n_prefer ? "" :
                    " sweep order", passing - 1, passing == 2 ? "" : "s");
        }
        sb_adds(&sb, ")");
        return sb_detach(&sb);
    }
    if (!c->n_conds) {
        sb_adds(&sb, "no mainline: no candidate has an evaluation");
        return sb_detach(&sb);
    }
    sb_addf(&sb, "no mainline: none of %zu candidate%s passes every layer: ", c->n_conds,
            c->n_conds == 1 ? "" : "s");
    for (size_t i = 0; i < c->n_conds; i++) {
        sb_addf(&sb, "%s%s, %s: ", i ? "; " : "", c->conds[i].name,
                diagnosis_name(c->conds[i].verdict.diagnosis));
        failing_layers(&c->conds[i].verdict, &sb);
    }
    return sb_detach(&sb);
}

void sel_mainline(struct sel_ctx *c)
{
    json_t *cands = json_array(), *prefer = json_array();
    for (size_t i = 0; i < c->ml.n_prefer; i++)
        json_array_append_new(prefer, json_string(prefer_name(c->ml.prefer[i])));
    for (size_t i = 0; i < c->n_conds; i++) {
        struct sel_cond *k = &c->conds[i];
        measure(c, k);
        mainline_judge(&c->ml, &k->num, &k->verdict);
        json_array_append_new(cands, json_pack(
            "{s:s,s:o,s:{s:o,s:o,s:o},s:s}", "candidate", k->name, "numbers",
            numbers_json(c, k), "layers", "base_survived", layer_json(&k->verdict.survived),
            "landed", layer_json(&k->verdict.landed), "usable", layer_json(&k->verdict.usable),
            "diagnosis", diagnosis_name(k->verdict.diagnosis)));
    }
    if (c->ml.declared)
        c->mainline = best_passing(c);
    char *text = c->ml.declared ? verdict_text(c) : xstrdup("no mainline rules declared");
    json_t *ml = json_pack(
        "{s:b,s:o,s:o,s:o,s:s}", "declared", c->ml.declared, "candidates", cands, "prefer",
        prefer, "mainline", c->mainline >= 0 ? json_string(c->conds[c->mainline].name)
                                             : json_null(), "verdict", text);
    const struct reg_res_eval *b = c->baseline;
    if (c->ml.has_quant)   /* the untouched base model, for reference: judged nowhere */
        json_object_set_new(ml, "quantized", json_pack(
            "{s:s,s:f,s:o}", "quant", c->ml.quant, "max_accuracy_drop",
            c->ml.max_accuracy_drop, "baseline", b && b->quant ? json_pack(
                "{s:f,s:f}", "accuracy", b->accuracy, "quant_accuracy", b->quant_accuracy)
                : json_null()));
    json_object_set_new(c->doc, "mainline", ml);
    free(text);
}

/* ---- what the result can say, and what it cannot ---- */

static void say(json_t *list, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void say(json_t *list, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    json_array_append_new(list, json_string(buf));
}

static void baseline_statements(const struct sel_ctx *c, json_t *can)
{
    if (!c->baseline || !c->n_conds || c->cmp_kind != CMP_ACCURACY)
        return;
    size_t above = 0;
    for (size_t i = 0; i < c->n_conds; i++)
        above += c->conds[i].sum.mean > c->baseline->accuracy;
    if (above == c->n_conds)
        say(can, "%s condition%s improved over the untouched base model (%s %.4f) on this "
            "benchmark", c->n_conds == 1 ? "the" : c->n_conds == 2 ? "both" : "all",
            c->n_conds == 1 ? "" : "s", c->metric, c->baseline->accuracy);
    for (size_t i = 0; i < c->n_conds; i++)
        if (c->conds[i].sum.mean <= c->baseline->accuracy)
            say(can, "%s did not improve over the untouched base model (mean %.4f vs %.4f)",
                c->conds[i].name, c->conds[i].sum.mean, c->baseline->accuracy);
}

static void compare_statements(const struct sel_ctx *c, json_t *can, json_t *cannot)
{
    const struct sel_cond *L = &c->conds[c->leader], *R = &c->conds[c->runner_up];
    double gap = c->lower_better ? R->sum.mean - L->sum.mean : L->sum.mean - R->sum.mean;
    int win = json_is_string(json_object_get(c->compare, "winner"));
    json_t *pair = json_object_get(c->compare, "bootstrap");
    double p = json_number_value(json_object_get(c->compare, "mcnemar_p"));
    if (gap == 0)   /* equal means: neither is "higher", whatever order they sort in */
        say(can, "%s and %s had the same %zu-%s mean %s in this run set (%.4f)", L->name,
            R->name, L->n, c->over, c->metric, L->sum.mean);
    else
        say(can, "%s had the %s %zu-%s mean %s in this run set (%.4f vs %.4f)", L->name,
            c->lower_better ? "lower" : "higher", L->n, c->over, c->metric, L->sum.mean,
            R->sum.mean);
    if (win) {
        say(can, "the gap (%.4f) is at or beyond the frozen %.4g threshold for a winner claim",
            gap, c->threshold);
        say(cannot, "%s wins beyond these %s values, this %s and this model", L->name,
            c->over, c->cmp_kind == CMP_ACCURACY ? "benchmark" : "validation set");
    } else {
        say(can, "the gap (%.4f) is below the frozen %.4g threshold for a winner claim", gap,
            c->threshold);
        say(cannot, "%s is generally better than %s", L->name, R->name);
        say(cannot, "%s is bad", R->name);
    }
    double lo = json_number_value(json_object_get(pair, "lo"));
    double hi = json_number_value(json_object_get(pair, "hi"));
    if (c->cmp_kind == CMP_TRAINER) {
        say(cannot, "the gap is more than noise between examples: with one %s per run and "
            "no per-example results, the bootstrap resamples only the %zu paired %s values, "
            "so its interval measures the spread between %ss alone (coarse with few of them)",
            c->metric, L->n < R->n ? L->n : R->n, c->over, c->over);
        if (json_is_object(pair) && lo <= 0 && hi >= 0)
            say(cannot, "the gap is more than seed noise (the bootstrap interval over %ss "
                "[%.4f, %.4f] includes 0)", c->over, lo, hi);
    } else if (json_is_object(pair) && lo <= 0 && hi >= 0) {
        say(cannot, "the gap is more than seed and example noise (the paired bootstrap "
            "interval [%.4f, %.4f] includes 0)", lo, hi);
    }
    if (json_is_number(json_object_get(c->compare, "mcnemar_p")) && p >= 0.05)
        say(cannot, "the examples the conditions disagree on lean one way beyond chance "
            "(exact McNemar p = %.3g)", p);
}

void sel_statements(struct sel_ctx *c)
{
    json_t *can = json_array(), *cannot = json_array();
    baseline_statements(c, can);
    if (c->leader >= 0 && c->runner_up >= 0)
        compare_statements(c, can, cannot);
    if (c->mainline >= 0)
        say(can, "%s passes every declared mainline layer", c->conds[c->mainline].name);
    else if (c->ml.declared)
        say(can, "no candidate passes every declared mainline layer");
    say(cannot, "the same result holds for other ranks, models, datasets or benchmarks");
    if (c->cmp_kind == CMP_ACCURACY)
        say(cannot, "validation NLL explains the benchmark gap as a mechanism");
    else
        say(cannot, "a better %s means better answers on a task: no benchmark was scored",
            c->metric);
    json_object_set_new(c->doc, "can_say", can);
    json_object_set_new(c->doc, "cannot_say", cannot);
}
