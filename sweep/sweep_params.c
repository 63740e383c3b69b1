/*
 * sweep_params.c - a parameter's value in a sweep file checked and normalized (see
 * sweep_params.h; the table of parameters is protocol/params.c).
 *
 * Values are normalized as they are checked so that two spellings of the same
 * setting (`targets: q_proj` and `targets: [q_proj]`) resolve to the same JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "suggest.h"
#include "sweep.h"
#include "sweep_params.h"

/* ---- value checking ---- */

/* "'rank' must be an integer >= 1, not 'eight'": show a scalar, name anything else. */
static json_t *bad(const char *file, const struct ynode *n, struct diag_list *dl,
                   const char *key, const char *want)
{
    if (n->kind == YNODE_SEQ && n->n == 0) {
        diag_add(dl, file, n->line, n->col, "'%s' must be %s, not an empty list", key, want);
        return NULL;
    }
    if (n->kind == YNODE_SCALAR && n->len <= 40 && strlen(n->str) == n->len)
        diag_add(dl, file, n->line, n->col, "'%s' must be %s, not '%s'", key, want, n->str);
    else
        diag_add(dl, file, n->line, n->col, "'%s' must be %s, not %s", key, want,
                 ynode_type_name(n));
    return NULL;
}

static json_t *check_number(const char *file, const struct param_def *def, const char *key,
                            const struct ynode *n, struct diag_list *dl)
{
    long long i;
    double d;
    int is_int = ynode_int(n, &i);
    switch (def->type) {
    case PT_INT:
        return is_int ? json_integer(i) : bad(file, n, dl, key, "an integer");
    case PT_COUNT:
        return is_int && i >= 1 ? json_integer(i) : bad(file, n, dl, key, "an integer >= 1");
    case PT_NONNEG_INT:
        return is_int && i >= 0 ? json_integer(i) : bad(file, n, dl, key, "an integer >= 0");
    default:
        break;
    }
    if (!ynode_float(n, &d))
        return bad(file, n, dl, key, "a number");
    if (def->type == PT_POS_NUM && !(d > 0))
        return bad(file, n, dl, key, "a number > 0");
    if (def->type == PT_NONNEG_NUM && !(d >= 0))
        return bad(file, n, dl, key, "a number >= 0");
    if (def->type == PT_FRACTION && !(d >= 0 && d < 1))
        return bad(file, n, dl, key, "a number in [0, 1)");
    return json_real(d);
}

static int in_choices(const char *s, const char *const *choices)
{
    for (size_t i = 0; choices[i]; i++)
        if (strcmp(s, choices[i]) == 0)
            return 1;
    return 0;
}

static void choices_text(struct strbuf *sb, const char *const *choices)
{
    for (size_t i = 0; choices[i]; i++)
        sb_addf(sb, "%s%s", i ? ", " : "", choices[i]);
}

static json_t *check_choice(const char *file, const struct param_def *def, const char *key,
                            const struct ynode *n, struct diag_list *dl)
{
    if (!ynode_is_string(n))
        return bad(file, n, dl, key, "a string");
    if (in_choices(n->str, def->choices))
        return json_string(n->str);
    struct strbuf sb = STRBUF_INIT;
    choices_text(&sb, def->choices);
    size_t count = 0;
    while (def->choices[count])
        count++;
    const char *near = closest_word(n->str, def->choices, count);
    if (near)
        diag_add(dl, file, n->line, n->col, "'%s' cannot be '%s' (did you mean '%s'?)", key,
                 n->str, near);
    else
        diag_add(dl, file, n->line, n->col, "'%s' cannot be '%s' (one of: %s)", key, n->str,
                 sb.buf);
    sb_free(&sb);
    return NULL;
}

static json_t *check_choice_list(const char *file, const struct param_def *def,
                                 const char *key, const struct ynode *n, struct diag_list *dl)
{
    json_t *arr = json_array();
    if (n->kind == YNODE_SCALAR) {
        json_t *one = check_choice(file, def, key, n, dl);
        if (!one) {
            json_decref(arr);
            return NULL;
        }
        json_array_append_new(arr, one);
        return arr;
    }
    if (n->kind != YNODE_SEQ || n->n == 0) {
        json_decref(arr);
        return bad(file, n, dl, key, "a non-empty list");
    }
    int ok = 1;
    for (size_t i = 0; i < n->n; i++) {
        json_t *v = check_choice(file, def, key, n->items[i], dl);
        if (v)
            json_array_append_new(arr, v);
        ok = ok && v;
    }
    if (!ok) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

/* "last 4" -> 4; 0 when s is not of that form. */
static long long parse_last_n(const char *s)
{
    if (strncmp(s, "last", 4) != 0 || (s[4] != ' ' && s[4] != '_' && s[4] != '-'))
        return 0;
    char *end;
    long long v = strtoll(s + 5, &end, 10);
    return *end || end == s + 5 || v < 1 ? 0 : v;
}

static json_t *last_n(long long v)
{
    return json_pack("{s:I}", "last", (json_int_t)v);
}

static json_t *check_layers(const char *file, const char *key, const struct ynode *n,
                            struct diag_list *dl)
{
    static const char want[] = "all, {last: N}, \"last N\" or a list of layer indices";
    long long v;
    if (ynode_is_string(n) && strcmp(n->str, "all") == 0)
        return json_string("all");
    if (ynode_is_string(n) && parse_last_n(n->str))
        return last_n(parse_last_n(n->str));
    if (n->kind == YNODE_MAP) {
        const struct ynode *last = ymap_get(n, "last");
        if (n->n == 1 && last && ynode_int(last, &v) && v >= 1)
            return last_n(v);
        return bad(file, n, dl, key, want);
    }
    if (n->kind != YNODE_SEQ || n->n == 0)
        return bad(file, n, dl, key, want);
    json_t *arr = json_array();
    for (size_t i = 0; i < n->n; i++) {
        if (!ynode_int(n->items[i], &v) || v < 0) {
            json_decref(arr);
            return bad(file, n->items[i], dl, key, "a list of layer indices >= 0");
        }
        json_array_append_new(arr, json_integer(v));
    }
    return arr;
}

static json_t *check_train_part(const char *file, const char *key, const struct ynode *n,
                                struct diag_list *dl)
{
    static const char *const parts[] = { "norm", "lm_head", "embeddings", NULL };
    if (ynode_is_string(n) && in_choices(n->str, parts))
        return json_string(n->str);
    const struct ynode *blocks = ymap_get(n, "blocks");
    if (n->kind == YNODE_MAP && n->n == 1 && blocks) {
        json_t *layers = check_layers(file, "blocks", blocks, dl);
        return layers ? json_pack("{s:o}", "blocks", layers) : NULL;
    }
    return bad(file, n, dl, key, "norm, lm_head, embeddings or {blocks: LAYERS}");
}

static json_t *check_eval_point(const char *file, const char *key, const struct ynode *n,
                                struct diag_list *dl)
{
    long long v;
    if (ynode_int(n, &v) && v >= 1)
        return json_integer(v);
    if (ynode_is_string(n) && (!strcmp(n->str, "epoch") || !strcmp(n->str, "end")))
        return json_string(n->str);
    const struct ynode *every = ymap_get(n, "every");
    if (n->kind == YNODE_MAP && n->n == 1 && every && ynode_int(every, &v) && v >= 1)
        return json_pack("{s:I}", "every", (json_int_t)v);
    return bad(file, n, dl, key, "a step >= 1, epoch, end or {every: K}");
}

typedef json_t *(*item_checker)(const char *, const char *, const struct ynode *,
                                struct diag_list *);

static json_t *check_list(const char *file, const char *key, const struct ynode *n,
                          struct diag_list *dl, item_checker check)
{
    if (n->kind != YNODE_SEQ) {
        /* A single item stands for a list of one. */
        json_t *one = check(file, key, n, dl);
        return one ? json_pack("[o]", one) : NULL;
    }
    if (n->n == 0)
        return bad(file, n, dl, key, "a non-empty list");
    json_t *arr = json_array();
    int ok = 1;
    for (size_t i = 0; i < n->n; i++) {
        json_t *v = check(file, key, n->items[i], dl);
        if (v)
            json_array_append_new(arr, v);
        ok = ok && v;
    }
    if (!ok) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

/* {dim: 128, tied: true, ...}: numbers and booleans only. The trainer checks
 * the keys and their combination (trainer/train_config.h); here only the shape. */
static json_t *check_model_spec(const char *file, const char *key, const struct ynode *n,
                                struct diag_list *dl)
{
    if (n->kind != YNODE_MAP || n->n == 0)
        return bad(file, n, dl, key, "a mapping such as {dim: 128, n_layers: 4, ...}");
    json_t *obj = json_object();
    for (size_t i = 0; i < n->n; i++) {
        const struct ynode *k = n->pairs[i].key, *v = n->pairs[i].value;
        double d;
        int b;
        if (!ynode_bool(v, &b) && !ynode_float(v, &d)) {
            bad(file, v, dl, k->str, "a number or a boolean");
            json_decref(obj);
            return NULL;
        }
        json_object_set_new(obj, k->str, ynode_to_json(v));
    }
    return obj;
}

json_t *param_value(const char *file, const struct param_def *def, const char *key,
                    const struct ynode *n, struct diag_list *dl)
{
    int b;
    switch (def->type) {
    case PT_NAME:
        return ynode_is_string(n) ? json_string(n->str) : bad(file, n, dl, key, "a name");
    case PT_BOOL:
        return ynode_bool(n, &b) ? json_boolean(b) : bad(file, n, dl, key, "true or false");
    case PT_CHOICE:
        return check_choice(file, def, key, n, dl);
    case PT_CHOICE_LIST:
        return check_choice_list(file, def, key, n, dl);
    case PT_LAYERS:
        return check_layers(file, key, n, dl);
    case PT_TRAIN_PARTS:
        return check_list(file, key, n, dl, check_train_part);
    case PT_EVAL_AT:
        return check_list(file, key, n, dl, check_eval_point);
    case PT_SOURCE:
        return sweep_source_value(file, key, n, dl);
    case PT_MODEL_SPEC:
        return check_model_spec(file, key, n, dl);
    case PT_ANY:
        return ynode_to_json(n);
    default:
        return check_number(file, def, key, n, dl);
    }
}
