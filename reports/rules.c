/*
 * rules.c - checkpoint rules and the mainline layers (rules.h).
 *
 * Comparisons against a declared bound allow 1e-12 of rounding: a gap computed
 * as 0.91 - 0.90 must meet a threshold of 0.01 written in the sweep.
 *
 * usable.quantized is judged on the worst seed, as base_survived is: a mainline is
 * kept whichever seed is deployed, and a mean would hide the one seed whose
 * quantised model fell apart.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "rules.h"

#define SLACK 1e-12

int ckpt_rule_parse(const char *text, struct ckpt_rule *out)
{
    memset(out, 0, sizeof(*out));
    if (!text || !strcmp(text, "last")) {
        out->kind = RULE_LAST;
        return 0;
    }
    size_t len = strlen(text);
    if (len < 6 || len - 5 >= sizeof(out->metric) || text[len - 1] != ')')
        return -1;
    if (!strncmp(text, "min(", 4))
        out->kind = RULE_MIN;
    else if (!strncmp(text, "max(", 4))
        out->kind = RULE_MAX;
    else
        return -1;
    memcpy(out->metric, text + 4, len - 5);
    out->metric[len - 5] = '\0';
    return 0;
}

int ckpt_rule_uses_eval(const struct ckpt_rule *r)
{
    return r->kind != RULE_LAST &&
           (!strncmp(r->metric, "eval_", 5) || !strcmp(r->metric, "accuracy"));
}

long ckpt_rule_pick(const struct ckpt_rule *r, const struct ckpt_candidate *c, size_t n)
{
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        if (r->kind == RULE_LAST) {
            if (best < 0 || c[i].step > c[best].step)
                best = (long)i;
            continue;
        }
        if (!c[i].has_value)
            continue;
        if (best < 0) {
            best = (long)i;
            continue;
        }
        double v = c[i].value, b = c[best].value;
        int better = r->kind == RULE_MIN ? v < b : v > b;
        if (better || (v == b && c[i].step < c[best].step))
            best = (long)i;
    }
    return best;
}

/* ---- parsing the mainline section ---- */

static const char *const prefer_names[] = {
    [PREFER_SMALLER_ADAPTER] = "smaller_adapter",
    [PREFER_SMALLER_SEED_RANGE] = "smaller_seed_range",
    [PREFER_HIGHER_METRIC] = "higher_metric",
    [PREFER_FASTER_EVAL] = "faster_eval",
    [PREFER_SMALLER_NLL_INCREASE] = "smaller_nll_increase",
};

const char *prefer_name(enum prefer_key k)
{
    return prefer_names[k];
}

static int get_number(const json_t *obj, const char *key, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_number(v))
        return 0;
    *out = json_number_value(v);
    return 1;
}

int mainline_rules_parse(const json_t *m, struct mainline_rules *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(m))
        return 0;
    out->declared = 1;
    json_t *bs = json_object_get(m, "base_survived"), *landed = json_object_get(m, "landed");
    json_t *usable = json_object_get(m, "usable"), *prefer = json_object_get(m, "prefer");
    out->has_survived = get_number(bs, "max_nll_increase", &out->max_nll_increase);
    out->has_landed = get_number(landed, "min_gain", &out->min_gain);
    out->has_max_mb = get_number(usable, "max_adapter_mb", &out->max_adapter_mb);
    out->has_min_tps = get_number(usable, "min_eval_tok_per_s", &out->min_eval_tok_per_s);
    json_t *q = json_object_get(usable, "quantized");
    const char *quant = json_string_value(json_object_get(q, "quant"));
    out->has_quant = quant && get_number(q, "max_accuracy_drop", &out->max_accuracy_drop);
    if (out->has_quant && strlen(quant) >= sizeof(out->quant)) {
        snprintf(err, errlen, "mainline usable quantized: unknown quant '%s'", quant);
        return -1;
    }
    if (out->has_quant)
        snprintf(out->quant, sizeof(out->quant), "%s", quant);
    out->has_usable = out->has_max_mb || out->has_min_tps || out->has_quant;
    /* `prefer: smaller_adapter` is a list of one */
    json_t *list = json_is_string(prefer) ? json_pack("[O]", prefer) : json_incref(prefer);
    size_t i;
    json_t *p;
    int rc = 0;
    json_array_foreach(list, i, p) {
        size_t k = 0, n = sizeof(prefer_names) / sizeof(prefer_names[0]);
        while (k < n && strcmp(prefer_names[k], json_string_value(p) ?: "") != 0)
            k++;
        if (k == n || out->n_prefer == MAINLINE_MAX_PREFER) {
            snprintf(err, errlen, "mainline prefer: unknown or too many keys at '%s'",
                     json_string_value(p) ?: "?");
            rc = -1;
            break;
        }
        out->prefer[out->n_prefer++] = (enum prefer_key)k;
    }
    json_decref(list);
    return rc;
}

/* ---- judging ---- */

const char *layer_status_name(enum layer_status s)
{
    return s == LAYER_PASS ? "pass" : s == LAYER_FAIL ? "fail" : "not declared";
}

const char *diagnosis_name(enum mainline_diagnosis d)
{
    switch (d) {
    case DIAG_PASSES: return "passes";
    case DIAG_SPEED: return "speed problem";
    case DIAG_QUALITY: return "quality problem";
    default: return "quality and speed problem";
    }
}

static void judge_survived(const struct mainline_rules *r, const struct mainline_numbers *n,
                           struct layer_verdict *v)
{
    if (!r->has_survived)
        return;
    if (!n->has_nll_increase) {
        v->status = LAYER_FAIL;
        snprintf(v->why, sizeof(v->why), "no retention NLL of the candidate and the base model "
                 "recorded");
        return;
    }
    int ok = n->nll_increase <= r->max_nll_increase + SLACK;
    v->status = ok ? LAYER_PASS : LAYER_FAIL;
    snprintf(v->why, sizeof(v->why), "retention NLL %+.4f (worst seed) %s %.4g",
             n->nll_increase, ok ? "<=" : ">", r->max_nll_increase);
}

static void judge_landed(const struct mainline_rules *r, const struct mainline_numbers *n,
                         struct layer_verdict *v)
{
    if (!r->has_landed)
        return;
    if (!n->has_gain) {
        v->status = LAYER_FAIL;
        snprintf(v->why, sizeof(v->why), "no baseline evaluation to measure a gain against");
        return;
    }
    int ok = n->gain >= r->min_gain - SLACK;
    v->status = ok ? LAYER_PASS : LAYER_FAIL;
    snprintf(v->why, sizeof(v->why), "gain over the base model %+.4f %s %.4g", n->gain,
             ok ? ">=" : "<", r->min_gain);
}

/* Append "; " (unless first) and a formatted clause to v->why, within its size. */
static void why_add(struct layer_verdict *v, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void why_add(struct layer_verdict *v, const char *fmt, ...)
{
    size_t len = strlen(v->why);
    if (len + 3 >= sizeof(v->why))
        return;
    if (len) {
        memcpy(v->why + len, "; ", 3);
        len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->why + len, sizeof(v->why) - len, fmt, ap);
    va_end(ap);
}

static void judge_usable(const struct mainline_rules *r, const struct mainline_numbers *n,
                         struct mainline_verdict *out)
{
    struct layer_verdict *v = &out->usable;
    if (!r->has_usable)
        return;
    if (r->has_max_mb) {
        int pass = n->has_adapter_mb && n->adapter_mb <= r->max_adapter_mb + SLACK;
        out->usable_speed_fail |= !pass;
        if (n->has_adapter_mb)
            why_add(v, "adapter %.3g MB %s %.4g", n->adapter_mb, pass ? "<=" : ">",
                    r->max_adapter_mb);
        else
            why_add(v, "adapter size not recorded");
    }
    if (r->has_min_tps) {
        int pass = n->has_eval_tps && n->eval_tok_per_s >= r->min_eval_tok_per_s - SLACK;
        out->usable_speed_fail |= !pass;
        if (n->has_eval_tps)
            why_add(v, "eval %.4g tok/s %s %.4g", n->eval_tok_per_s, pass ? ">=" : "<",
                    r->min_eval_tok_per_s);
        else
            why_add(v, "eval speed not recorded");
    }
    if (r->has_quant) {
        int pass = n->has_quant && n->quant_drop <= r->max_accuracy_drop + SLACK;
        out->usable_quant_fail = !pass;
        if (n->has_quant)
            why_add(v, "%s accuracy %.4f vs f32 %.4f (means), drop %+.4f (worst seed) %s %.4g",
                    r->quant, n->quant_accuracy, n->f32_accuracy, n->quant_drop,
                    pass ? "<=" : ">", r->max_accuracy_drop);
        else
            why_add(v, "no %s evaluation recorded", r->quant);
    }
    v->status = out->usable_speed_fail || out->usable_quant_fail ? LAYER_FAIL : LAYER_PASS;
}

void mainline_judge(const struct mainline_rules *r, const struct mainline_numbers *n,
                    struct mainline_verdict *out)
{
    memset(out, 0, sizeof(*out));
    judge_survived(r, n, &out->survived);
    judge_landed(r, n, &out->landed);
    judge_usable(r, n, out);
    int quality = out->survived.status == LAYER_FAIL || out->landed.status == LAYER_FAIL ||
                  out->usable_quant_fail;
    int speed = out->usable_speed_fail;
    out->diagnosis = quality && speed ? DIAG_QUALITY_AND_SPEED : quality ? DIAG_QUALITY
                     : speed ? DIAG_SPEED : DIAG_PASSES;
}

/* Compare one key; `lower` says smaller is better. A missing value loses. */
static int cmp_key(int has_a, double a, int has_b, double b, int lower)
{
    if (has_a != has_b)
        return has_a ? -1 : 1;
    if (!has_a || a == b)
        return 0;
    return (lower ? a < b : a > b) ? -1 : 1;
}

int mainline_prefer_cmp(const struct mainline_rules *r, const struct mainline_numbers *a,
                        const struct mainline_numbers *b)
{
    for (size_t i = 0; i < r->n_prefer; i++) {
        int c = 0;
        switch (r->prefer[i]) {
        case PREFER_SMALLER_ADAPTER:
            c = cmp_key(a->has_adapter_mb, a->adapter_mb, b->has_adapter_mb, b->adapter_mb, 1);
            break;
        case PREFER_SMALLER_SEED_RANGE:
            c = cmp_key(1, a->range, 1, b->range, 1);
            break;
        case PREFER_HIGHER_METRIC:
            c = cmp_key(1, a->mean, 1, b->mean, 0);
            break;
        case PREFER_FASTER_EVAL:
            c = cmp_key(a->has_eval_tps, a->eval_tok_per_s, b->has_eval_tps, b->eval_tok_per_s,
                        0);
            break;
        case PREFER_SMALLER_NLL_INCREASE:
            c = cmp_key(a->has_nll_increase, a->nll_increase, b->has_nll_increase,
                        b->nll_increase, 1);
            break;
        }
        if (c)
            return c;
    }
    return 0;
}
