/*
 * sweep_load.c - from a YAML tree to a validated struct sweep (see sweep.h).
 *
 * Every key of every section is checked; unknown keys get a "did you mean"
 * suggestion. All problems are collected so a user fixes a file in one pass.
 * Expansion into runs lives in sweep_expand.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "fsutil.h"
#include "source_url.h"
#include "strbuf.h"
#include "suggest.h"
#include "sweep_stdout.h"
#include "sweep.h"
#include "sweep_audit.h"
#include "sweep_params.h"
#include "sweep_slurm.h"

struct loader {
    const char *file;
    struct diag_list *dl;
    struct sweep *s;
};

#define AT(n) L->file, (n)->line, (n)->col

static void check_condition_ref(struct loader *L, const json_t *v, const struct ynode *at);

static const char *const top_keys[] = { "sweep", "description", "base_model", "datasets",
                                        "conditions", "defaults", "grid", "stages",
                                        "evaluation", "selection", "mainline", "trainer",
                                        "evaluator", "timeout", "retries", "render", "audit",
                                        "cost", "executor", "slurm", "code" };
static const char *const render_keys[] = { "system", "template", "vars" };
static const char *const trainer_keys[] = { "command", "resume", "parse_stdout" };
static const char *const evaluator_keys[] = { "command" };
static const char *const stage_keys[] = { "needs", "grid", "overrides", "pick", "description",
                                          "slurm" };
static const char *const eval_keys[] = { "dataset", "max_new_tokens", "extract", "pattern",
                                         "match", "baseline", "stop", "temperature", "limit",
                                         "retention", "probes", "slurm" };
static const char *const selection_keys[] = { "checkpoint", "compare" };
static const char *const compare_keys[] = { "metric", "over", "by", "winner_threshold",
                                            "test" };
static const char *const pick_keys[] = { "per", "param", "by" };
static const char *const mainline_keys[] = { "base_survived", "landed", "usable", "prefer" };
static const char *const survived_keys[] = { "probe", "max_nll_increase" };
static const char *const landed_keys[] = { "min_gain" };
static const char *const usable_keys[] = { "max_adapter_mb", "min_eval_tok_per_s", "quantized" };
static const char *const quantized_keys[] = { "quant", "max_accuracy_drop" };

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void unknown_key(struct loader *L, const struct ynode *k, const char *where,
                        const char *const *known, size_t n_known)
{
    const char *near = closest_word(k->str, known, n_known);
    if (near)
        diag_add(L->dl, AT(k), "unknown key '%s' (did you mean '%s'?)", k->str, near);
    else
        diag_add(L->dl, AT(k), "unknown key '%s' in %s", k->str, where);
}

static int is_known(const char *key, const char *const *known, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(key, known[i]) == 0)
            return 1;
    return 0;
}

/* Top-level keys starting with "x-" hold YAML anchors for reuse; they are ignored. */
static int is_extension_key(const char *key)
{
    return !strncmp(key, "x-", 2);
}

/* Report keys of `map` that are not in `known`; returns 0 when all are known. */
static int check_keys(struct loader *L, const struct ynode *map, const char *where,
                      const char *const *known, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < map->n; i++) {
        const char *key = map->pairs[i].key->str;
        if (map == L->s->doc->root && is_extension_key(key))
            continue;
        if (!is_known(key, known, n)) {
            unknown_key(L, map->pairs[i].key, where, known, n);
            rc = -1;
        }
    }
    return rc;
}

static int want_kind(struct loader *L, const struct ynode *n, enum ynode_kind kind,
                     const char *what)
{
    if (n->kind == kind && !(kind == YNODE_SCALAR && !ynode_is_string(n)))
        return 0;
    const char *want = kind == YNODE_MAP ? "a mapping" : kind == YNODE_SEQ ? "a list"
                                                                           : "a string";
    diag_add(L->dl, AT(n), "'%s' must be %s, not %s", what, want, ynode_type_name(n));
    return -1;
}

/* Names end up in run ids and directory names: keep them tame. */
static int check_name(struct loader *L, const struct ynode *n, const char *what)
{
    if (want_kind(L, n, YNODE_SCALAR, what) < 0)
        return -1;
    const char *s = n->str;
    int ok = n->len > 0 && n->len <= 64 && strlen(s) == n->len && s[0] != '.' && s[0] != '-';
    for (const char *p = s; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             *p == '_' || *p == '-' || *p == '.';
    if (!ok)
        diag_add(L->dl, AT(n), "%s '%s' must be 1-64 letters, digits, '_', '-' or '.'", what,
                 s);
    return ok ? 0 : -1;
}

/* ---- parameters ---- */

static int is_from(const struct ynode *v)
{
    return v->kind == YNODE_MAP && v->n == 1 && ymap_get(v, "from");
}

static void add_from(struct loader *L, struct sweep_stage *st, const char *param,
                     const struct ynode *v)
{
    const struct ynode *stage = ymap_get(v, "from");
    if (check_name(L, stage, "from: stage") < 0)
        return;
    st->froms = xrealloc(st->froms, (st->n_froms + 1) * sizeof(*st->froms));
    struct sweep_from *f = &st->froms[st->n_froms++];
    f->param = xstrdup(param);
    f->stage = xstrdup(stage->str);
    f->node = stage;
}

static const struct sweep_from *stage_from(const struct sweep_stage *st, const char *param)
{
    for (size_t i = 0; i < st->n_froms; i++)
        if (!strcmp(st->froms[i].param, param))
            return &st->froms[i];
    return NULL;
}

/*
 * One `key: value` parameter into obj. `st` non-NULL allows `{from: STAGE}` values
 * (stage level and overrides). Returns 0 when the key was a parameter (valid or not
 * -- errors are in the diag list), -1 when the key is not a parameter at all.
 */
static int load_param(struct loader *L, json_t *obj, const struct ynode *k,
                      const struct ynode *v, struct sweep_stage *st)
{
    const struct param_def *def = param_find(k->str);
    if (!def)
        return -1;
    const char *name = param_canonical_name(k->str);
    int taken = json_object_get(obj, name) || (st && stage_from(st, name));
    if (is_from(v)) {
        if (!st)
            diag_add(L->dl, AT(v), "'%s: {from: ...}' is only allowed in a stage", k->str);
        else if (taken)
            diag_add(L->dl, AT(k), "'%s' sets '%s' twice", k->str, name);
        else
            add_from(L, st, name, v);
        return 0;
    }
    json_t *value = param_value(L->file, def, k->str, v, L->dl);
    if (value && taken) {
        diag_add(L->dl, AT(k), "'%s' sets '%s' twice", k->str, name);
        json_decref(value);
    } else if (value) {
        json_object_set_new(obj, name, value);
    }
    return 0;
}

/* A mapping of parameters (defaults, a condition, overrides). Caller owns the result. */
static json_t *load_params(struct loader *L, const struct ynode *map, const char *where,
                           struct sweep_stage *st)
{
    json_t *obj = json_object();
    if (want_kind(L, map, YNODE_MAP, where) < 0)
        return obj;
    for (size_t i = 0; i < map->n; i++) {
        const struct ynode *k = map->pairs[i].key, *v = map->pairs[i].value;
        if (load_param(L, obj, k, v, st) < 0) {
            const char *const *names = param_names();
            size_t n = 0;
            while (names[n])
                n++;
            unknown_key(L, k, where, names, n);
        }
    }
    return obj;
}

/* ---- sources ---- */

static int load_source(struct loader *L, const struct ynode *n, const char *what,
                       struct sweep_source *src)
{
    json_t *v = sweep_source_value(L->file, what, n, L->dl);
    if (!v)
        return -1;
    const char *url = json_string_value(json_object_get(v, "url"));
    if (url && surl_is_hf_model_dir(url)) {
        diag_add(L->dl, L->file, n->line, n->col, "'%s': '%s' is a model's directory; a dataset "
                 "names a file (hf://datasets/ORG/NAME/FILE or hf://ORG/REPO/FILE)", what, url);
        json_decref(v);
        return -1;
    }
    sweep_source_from_json(v, L->s->dir, src);
    src->node = n;
    json_decref(v);
    return 0;
}

static void load_fields(struct loader *L, const struct ynode *v, const char *dataset,
                        struct render_fields *f)
{
    static const char *const keys[] = RENDER_FIELD_KEYS;
    if (want_kind(L, v, YNODE_MAP, "fields") < 0)
        return;
    check_keys(L, v, "fields", keys, RENDER_N_FIELDS);
    for (int i = 0; i < RENDER_N_FIELDS; i++) {
        const struct ynode *name = ymap_get(v, keys[i]);
        if (name && want_kind(L, name, YNODE_SCALAR, keys[i]) == 0)
            *render_field_slot(f, i) = xstrdup(name->str);
    }
    if (f->completion && !f->prompt)
        diag_add(L->dl, AT(v), "dataset '%s' maps fields.completion but not fields.prompt",
                 dataset);
}

/*
 * A dataset is a source plus an optional `fields:` mapping. The source checks see
 * the node without its `fields` pair (a view sharing the other pairs).
 */
static int load_dataset(struct loader *L, const struct ynode *n, struct sweep_dataset *d,
                        const char *name)
{
    const struct ynode *fields = ymap_get(n, "fields");
    if (!fields)
        return load_source(L, n, name, &d->src);
    struct ynode view = *n;
    view.pairs = xcalloc(n->n, sizeof(*view.pairs));
    view.n = 0;
    for (size_t i = 0; i < n->n; i++)
        if (strcmp(n->pairs[i].key->str, "fields"))
            view.pairs[view.n++] = n->pairs[i];
    int rc = load_source(L, &view, name, &d->src);
    d->src.node = n;
    free(view.pairs);
    load_fields(L, fields, name, &d->fields);
    return rc;
}

static void load_datasets(struct loader *L, const struct ynode *map)
{
    if (want_kind(L, map, YNODE_MAP, "datasets") < 0)
        return;
    struct sweep *s = L->s;
    s->datasets = xcalloc(map->n, sizeof(*s->datasets));
    for (size_t i = 0; i < map->n; i++) {
        const struct ynode *k = map->pairs[i].key;
        if (check_name(L, k, "dataset name") < 0)
            continue;
        struct sweep_dataset *d = &s->datasets[s->n_datasets];
        if (load_dataset(L, map->pairs[i].value, d, k->str) < 0) {
            render_fields_free(&d->fields);
            memset(d, 0, sizeof(*d));
            continue;
        }
        d->name = xstrdup(k->str);
        s->n_datasets++;
    }
}

static void load_conditions(struct loader *L, const struct ynode *map)
{
    if (want_kind(L, map, YNODE_MAP, "conditions") < 0)
        return;
    struct sweep *s = L->s;
    s->conditions = xcalloc(map->n, sizeof(*s->conditions));
    for (size_t i = 0; i < map->n; i++) {
        const struct ynode *k = map->pairs[i].key, *v = map->pairs[i].value;
        if (check_name(L, k, "condition name") < 0)
            continue;
        struct sweep_condition *c = &s->conditions[s->n_conditions++];
        c->name = xstrdup(k->str);
        c->node = v;
        struct strbuf where = STRBUF_INIT;
        sb_addf(&where, "condition '%s'", k->str);
        c->params = load_params(L, v, where.buf, NULL);
        sb_free(&where);
        if (json_object_get(c->params, "condition")) {
            diag_add(L->dl, AT(v), "condition '%s' cannot set 'condition'", c->name);
            json_object_del(c->params, "condition");
        }
    }
}

/* ---- stages ---- */

static void load_grid(struct loader *L, struct sweep_stage *st, const struct ynode *grid)
{
    if (want_kind(L, grid, YNODE_MAP, "grid") < 0)
        return;
    if (grid->n == 0)
        diag_add(L->dl, AT(grid), "stage '%s' has an empty grid", st->name);
    st->axes = xcalloc(grid->n ? grid->n : 1, sizeof(*st->axes));
    for (size_t i = 0; i < grid->n; i++) {
        const struct ynode *k = grid->pairs[i].key, *v = grid->pairs[i].value;
        const struct param_def *def = param_find(k->str);
        if (!def) {
            const char *const *names = param_names();
            size_t n = 0;
            while (names[n])
                n++;
            unknown_key(L, k, "grid", names, n);
            continue;
        }
        if (v->kind == YNODE_SEQ && v->n == 0) {
            diag_add(L->dl, AT(v), "grid axis '%s' has no values", k->str);
            continue;
        }
        json_t *values = json_array();
        size_t n_items = v->kind == YNODE_SEQ ? v->n : 1;
        for (size_t j = 0; j < n_items; j++) {
            const struct ynode *item = v->kind == YNODE_SEQ ? v->items[j] : v;
            json_t *val = param_value(L->file, def, k->str, item, L->dl);
            if (val && def->type == PT_NAME)
                check_condition_ref(L, val, item);
            if (val)
                json_array_append_new(values, val);
        }
        struct sweep_axis *ax = &st->axes[st->n_axes++];
        ax->param = xstrdup(param_canonical_name(k->str));
        ax->values = values;
        ax->node = v;
        for (size_t j = 0; j + 1 < st->n_axes; j++)
            if (strcmp(st->axes[j].param, ax->param) == 0)
                diag_add(L->dl, AT(k), "grid sets '%s' twice", ax->param);
    }
}

static void add_need(struct sweep_stage *st, const char *name)
{
    for (size_t i = 0; i < st->n_needs; i++)
        if (strcmp(st->needs[i], name) == 0)
            return;
    st->needs = xrealloc(st->needs, (st->n_needs + 1) * sizeof(*st->needs));
    st->needs[st->n_needs++] = xstrdup(name);
}

static void load_needs(struct loader *L, struct sweep_stage *st, const struct ynode *v)
{
    size_t n = v->kind == YNODE_SEQ ? v->n : 1;
    for (size_t i = 0; i < n; i++) {
        const struct ynode *item = v->kind == YNODE_SEQ ? v->items[i] : v;
        if (check_name(L, item, "needs") == 0)
            add_need(st, item->str);
    }
}

static int check_rule(struct loader *L, const struct ynode *n, const char *what, int allow_last)
{
    if (want_kind(L, n, YNODE_SCALAR, what) < 0)
        return -1;
    const char *s = n->str;
    if (allow_last && strcmp(s, "last") == 0)
        return 0;
    size_t len = strlen(s);
    int ok = (!strncmp(s, "min(", 4) || !strncmp(s, "max(", 4)) && len > 5 && s[len - 1] == ')';
    for (size_t i = 4; ok && i + 1 < len; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_';
    if (!ok)
        diag_add(L->dl, AT(n), "'%s' must be %smin(METRIC) or max(METRIC), not '%s'", what,
                 allow_last ? "last, " : "", s);
    return ok ? 0 : -1;
}

static void load_pick(struct loader *L, struct sweep_stage *st, const struct ynode *v)
{
    if (want_kind(L, v, YNODE_MAP, "pick") < 0 ||
        check_keys(L, v, "pick", pick_keys, COUNT(pick_keys)) < 0)
        return;
    const struct ynode *per = ymap_get(v, "per"), *param = ymap_get(v, "param");
    const struct ynode *by = ymap_get(v, "by");
    if (!param || !by) {
        diag_add(L->dl, AT(v), "pick needs 'param' and 'by'");
        return;
    }
    if (want_kind(L, param, YNODE_SCALAR, "param") < 0 || check_rule(L, by, "by", 0) < 0)
        return;
    struct sweep_pick *p = xcalloc(1, sizeof(*p));
    p->param = xstrdup(param_canonical_name(param->str));
    p->by = xstrdup(by->str);
    p->node = v;
    st->pick = p;
    size_t n = !per ? 0 : per->kind == YNODE_SEQ ? per->n : 1;
    p->per = xcalloc(n ? n : 1, sizeof(*p->per));
    for (size_t i = 0; i < n; i++) {
        const struct ynode *item = per->kind == YNODE_SEQ ? per->items[i] : per;
        if (want_kind(L, item, YNODE_SCALAR, "per") < 0)
            continue;
        if (!param_find(item->str))
            diag_add(L->dl, AT(item), "pick per '%s' is not a parameter", item->str);
        p->per[p->n_per++] = xstrdup(param_canonical_name(item->str));
    }
}

/* A stage holds its own keys and parameters: suggest from both. */
static void unknown_stage_key(struct loader *L, const struct ynode *k)
{
    const char *const *params = param_names();
    size_t n = 0;
    while (params[n])
        n++;
    const char **all = xcalloc(n + COUNT(stage_keys), sizeof(*all));
    memcpy(all, stage_keys, sizeof(stage_keys));
    memcpy(all + COUNT(stage_keys), params, n * sizeof(*all));
    unknown_key(L, k, "stage", all, n + COUNT(stage_keys));
    free(all);
}

static void load_stage(struct loader *L, struct sweep_stage *st, const struct ynode *map)
{
    st->node = map;
    st->overrides = json_object();
    if (want_kind(L, map, YNODE_MAP, "stage") < 0)
        return;
    for (size_t i = 0; i < map->n; i++) {
        const struct ynode *k = map->pairs[i].key, *v = map->pairs[i].value;
        if (!strcmp(k->str, "grid"))
            load_grid(L, st, v);
        else if (!strcmp(k->str, "needs"))
            load_needs(L, st, v);
        else if (!strcmp(k->str, "pick"))
            load_pick(L, st, v);
        else if (!strcmp(k->str, "overrides")) {
            json_t *o = load_params(L, v, "overrides", st);
            const char *key;
            json_t *val;
            json_object_foreach(o, key, val) {
                if (json_object_get(st->overrides, key))
                    diag_add(L->dl, AT(v), "'%s' is set both in overrides and on the stage", key);
                else
                    json_object_set(st->overrides, key, val);
            }
            json_decref(o);
        } else if (!strcmp(k->str, "description"))
            want_kind(L, v, YNODE_SCALAR, "description");
        else if (!strcmp(k->str, "slurm"))
            st->slurm = sweep_slurm_value(L->file, v, L->dl);
        else if (load_param(L, st->overrides, k, v, st) < 0)
            unknown_stage_key(L, k);
    }
}

static void load_stages(struct loader *L, const struct ynode *map)
{
    if (want_kind(L, map, YNODE_MAP, "stages") < 0)
        return;
    if (map->n == 0)
        diag_add(L->dl, AT(map), "'stages' is empty");
    struct sweep *s = L->s;
    s->stages = xcalloc(map->n ? map->n : 1, sizeof(*s->stages));
    for (size_t i = 0; i < map->n; i++) {
        const struct ynode *k = map->pairs[i].key;
        if (check_name(L, k, "stage name") < 0)
            continue;
        struct sweep_stage *st = &s->stages[s->n_stages++];
        st->name = xstrdup(k->str);
        load_stage(L, st, map->pairs[i].value);
    }
}

/* A sweep without `stages:` but with a top-level `grid:` has one stage, "main". */
static void load_implicit_stage(struct loader *L, const struct ynode *grid)
{
    struct sweep *s = L->s;
    s->stages = xcalloc(1, sizeof(*s->stages));
    struct sweep_stage *st = &s->stages[s->n_stages++];
    st->name = xstrdup("main");
    st->node = grid;
    st->overrides = json_object();
    load_grid(L, st, grid);
}

/* ---- the frozen contract: evaluation and selection ---- */


static void check_choice_key(struct loader *L, const struct ynode *map, const char *key,
                             const char *const *choices)
{
    const struct ynode *v = ymap_get(map, key);
    if (!v)
        return;
    struct param_def def = { key, PT_CHOICE, choices, "" };
    json_decref(param_value(L->file, &def, key, v, L->dl));
}

static void check_typed_key(struct loader *L, const struct ynode *map, const char *key,
                            enum param_type type)
{
    const struct ynode *v = ymap_get(map, key);
    if (!v)
        return;
    struct param_def def = { key, type, NULL, "" };
    json_decref(param_value(L->file, &def, key, v, L->dl));
}

/* A list of scalars (stop strings, probe prompts). */
static void want_strings(struct loader *L, const struct ynode *v, const char *what)
{
    for (size_t i = 0; v && v->kind == YNODE_SEQ && i < v->n; i++)
        want_kind(L, v->items[i], YNODE_SCALAR, what);
    if (v && v->kind != YNODE_SEQ)
        want_kind(L, v, YNODE_SEQ, what);
}

static void load_evaluation(struct loader *L, const struct ynode *map)
{
    static const char *const extracts[] = { "boxed", "regex", "last_number", NULL };
    static const char *const matches[] = { "exact", NULL };
    if (want_kind(L, map, YNODE_MAP, "evaluation") < 0)
        return;
    check_keys(L, map, "evaluation", eval_keys, COUNT(eval_keys));
    const struct ynode *ds = ymap_get(map, "dataset");
    if (!ds)
        diag_add(L->dl, AT(map), "evaluation needs 'dataset' (the name of a dataset)");
    else if (want_kind(L, ds, YNODE_SCALAR, "dataset") == 0 && !sweep_find_dataset(L->s, ds->str))
        diag_add(L->dl, AT(ds), "evaluation dataset '%s' is not under datasets", ds->str);
    const struct ynode *ret = ymap_get(map, "retention");
    if (ret && want_kind(L, ret, YNODE_SCALAR, "retention") == 0 &&
        !sweep_find_dataset(L->s, ret->str))
        diag_add(L->dl, AT(ret), "evaluation retention dataset '%s' is not under datasets",
                 ret->str);
    check_typed_key(L, map, "max_new_tokens", PT_COUNT);
    check_typed_key(L, map, "limit", PT_COUNT);
    check_typed_key(L, map, "baseline", PT_BOOL);
    check_choice_key(L, map, "extract", extracts);
    check_choice_key(L, map, "match", matches);
    const struct ynode *t = ymap_get(map, "temperature");
    double temp;
    if (t && !(ynode_float(t, &temp) && temp == 0))
        diag_add(L->dl, AT(t), "'temperature' must be 0: evaluation decodes greedily");
    const struct ynode *pattern = ymap_get(map, "pattern"), *ex = ymap_get(map, "extract");
    int is_regex = ex && ynode_is_string(ex) && !strcmp(ex->str, "regex");
    if (is_regex && !pattern)
        diag_add(L->dl, AT(ex), "extract: regex needs a 'pattern'");
    if (pattern)
        want_kind(L, pattern, YNODE_SCALAR, "pattern");
    want_strings(L, ymap_get(map, "stop"), "stop");
    want_strings(L, ymap_get(map, "probes"), "probes");
    const struct ynode *slurm = ymap_get(map, "slurm");
    if (slurm)
        L->s->eval_slurm = sweep_slurm_value(L->file, slurm, L->dl);
}

static void load_selection(struct loader *L, const struct ynode *map)
{
    static const char *const tests[] = { "mcnemar", "bootstrap", "none", NULL };
    if (want_kind(L, map, YNODE_MAP, "selection") < 0)
        return;
    check_keys(L, map, "selection", selection_keys, COUNT(selection_keys));
    const struct ynode *cp = ymap_get(map, "checkpoint");
    if (cp)
        check_rule(L, cp, "checkpoint", 1);
    const struct ynode *cmp = ymap_get(map, "compare");
    if (!cmp || want_kind(L, cmp, YNODE_MAP, "compare") < 0)
        return;
    check_keys(L, cmp, "compare", compare_keys, COUNT(compare_keys));
    const struct ynode *metric = ymap_get(cmp, "metric"), *over = ymap_get(cmp, "over");
    if (metric)
        want_kind(L, metric, YNODE_SCALAR, "metric");
    if (over && want_kind(L, over, YNODE_SCALAR, "over") == 0 && !param_find(over->str))
        diag_add(L->dl, AT(over), "compare over '%s' is not a parameter", over->str);
    check_typed_key(L, cmp, "winner_threshold", PT_NONNEG_NUM);
    check_choice_key(L, cmp, "test", tests);
}

/* ---- what compare compares: `by` cells and the metric ---- */

/* The parameters swept in stages that do not pick (the compared runs), in file
 * order, and "condition" when conditions are declared. Caller frees the array. */
static const char **compared_params(const struct sweep *s, size_t *n)
{
    size_t cap = 1;
    for (size_t i = 0; i < s->n_stages; i++)
        cap += s->stages[i].n_axes;
    const char **names = xcalloc(cap, sizeof(*names));
    *n = 0;
    if (s->n_conditions)
        names[(*n)++] = "condition";
    for (size_t i = 0; i < s->n_stages; i++)
        for (size_t j = 0; !s->stages[i].pick && j < s->stages[i].n_axes; j++) {
            const char *p = s->stages[i].axes[j].param;
            if (!is_known(p, names, *n))
                names[(*n)++] = p;
        }
    return names;
}

/* Only the replicate may vary within a cell of an explicit `by`: an axis of a
 * compared stage with more than one value must be in `by` (or be `over`). */
static void check_cells(struct loader *L, const struct ynode *at, const char **by, size_t n_by,
                        const char *over)
{
    const struct sweep *s = L->s;
    for (size_t i = 0; i < s->n_stages; i++)
        for (size_t j = 0; !s->stages[i].pick && j < s->stages[i].n_axes; j++) {
            const struct sweep_axis *ax = &s->stages[i].axes[j];
            if (json_array_size(ax->values) > 1 && strcmp(ax->param, over) != 0 &&
                !is_known(ax->param, by, n_by))
                diag_add(L->dl, AT(at), "'%s' also varies in stage '%s' (%zu values): add it "
                         "to compare by, so that only %s varies within a compared cell",
                         ax->param, s->stages[i].name, json_array_size(ax->values), over);
        }
}

static void check_by(struct loader *L, const struct ynode *v, const char *over)
{
    size_t n = v->kind == YNODE_SEQ ? v->n : 1, n_known, n_by = 0;
    if (v->kind == YNODE_SEQ && n == 0) {
        diag_add(L->dl, AT(v), "compare by is empty: name a parameter, or leave 'by' out");
        return;
    }
    const char **known = compared_params(L->s, &n_known);
    const char **by = xcalloc(n, sizeof(*by));
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        const struct ynode *item = v->kind == YNODE_SEQ ? v->items[i] : v;
        if (want_kind(L, item, YNODE_SCALAR, "by") < 0) {
            ok = 0;
            continue;
        }
        const char *name = param_find(item->str) ? param_canonical_name(item->str) : item->str;
        const char *near = closest_word(item->str, known, n_known);
        if (!strcmp(name, over))
            diag_add(L->dl, AT(item), "compare by '%s': %s is what each cell is replicated "
                     "over (compare over)", item->str, over);
        else if (!strcmp(name, "condition") && !L->s->n_conditions)
            diag_add(L->dl, AT(item), "compare by 'condition': the sweep declares no "
                     "conditions");
        else if (is_known(name, by, n_by))
            diag_add(L->dl, AT(item), "compare by lists '%s' twice", item->str);
        else if (is_known(name, known, n_known)) {
            by[n_by++] = name;
            continue;
        } else if (near)
            diag_add(L->dl, AT(item), "compare by '%s' is not swept in a compared stage (did "
                     "you mean '%s'?)", item->str, near);
        else
            diag_add(L->dl, AT(item), "compare by '%s' is not swept in a compared stage "
                     "(stages that pick are not compared)", item->str);
        ok = 0;
    }
    if (ok)
        check_cells(L, v, by, n_by, over);
    free(by);
    free(known);
}

/* What the built-in trainer reports per validation (its `val` event: nll, tokens). */
static const char *const builtin_val_metrics[] = { "val_nll", "val_tokens" };

/* `accuracy`, or min(METRIC)/max(METRIC) of a metric of the trainer's val events. */
static void check_compare_metric(struct loader *L, const struct ynode *m)
{
    const char *s = m->str;
    if (!strcmp(s, "accuracy") || !strcmp(s, "eval_accuracy") || !strcmp(s, "max(accuracy)") ||
        !strcmp(s, "max(eval_accuracy)"))
        return;
    size_t len = strlen(s);
    int wrapped = (!strncmp(s, "min(", 4) || !strncmp(s, "max(", 4)) && len > 5 &&
                  s[len - 1] == ')';
    if (!wrapped) {
        diag_add(L->dl, AT(m), "compare metric '%s' needs a direction: accuracy, or "
                 "min(METRIC) or max(METRIC) of a metric the trainer reports", s);
        return;
    }
    char name[64];
    snprintf(name, sizeof(name), "%.*s", (int)(len - 5 < 63 ? len - 5 : 63), s + 4);
    if (!strcmp(name, "accuracy") || !strcmp(name, "eval_accuracy")) {
        diag_add(L->dl, AT(m), "compare metric '%s': higher accuracy is better: write "
                 "accuracy or max(%s)", s, name);
    } else if (strncmp(name, "val_", 4) != 0) {
        diag_add(L->dl, AT(m), "compare metric '%s': verdicts read the trainer's validation "
                 "metrics (val_<field> of its val events) at the selected checkpoint", s);
    } else if (!L->s->trainer_cmd &&
               !is_known(name, builtin_val_metrics, COUNT(builtin_val_metrics))) {
        const char *near = closest_word(name, builtin_val_metrics,
                                        COUNT(builtin_val_metrics));
        diag_add(L->dl, AT(m), "compare metric '%s': the built-in trainer reports no '%s' "
                 "(%s%s%s)", s, name, near ? "did you mean '" : "it reports val_nll and "
                 "val_tokens", near ? near : "", near ? "'?" : "");
    }
}

/* The built-in trainer's other metrics: its train events' numeric fields (docs/protocol.md),
 * which a pick's `by` reads and a checkpoint rule does not. */
static const char *const builtin_train_metrics[] = { "loss", "lr", "tokens", "tok_per_s",
                                                     "elapsed", "peak_rss_mb", "grad_norm",
                                                     "epoch" };
/* The built-in evaluator's numbers, as a checkpoint rule names them (eval_ optional). */
static const char *const builtin_eval_metrics[] = {
    "accuracy", "n", "correct", "extraction_failures", "gen_tokens", "seconds", "tok_per_s",
    "retention_nll", "retention_tokens", "probes"
};

static void list_words(struct strbuf *sb, const char *prefix, const char *const *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sb_addf(sb, "%s%s%s", i ? ", " : "", prefix, w[i]);
}

/*
 * A rule min(METRIC)/max(METRIC) of `what` (the checkpoint rule, or a pick's `by`) names a
 * metric the built-in trainer or evaluator reports, when they are the ones the sweep runs;
 * an external trainer's names are checked by select, against what its runs reported.
 */
static void check_rule_metric(struct loader *L, const struct ynode *n, const char *what,
                              int with_train)
{
    if (!n || !ynode_is_string(n))
        return;
    const char *s = n->str;
    size_t len = strlen(s);
    if (len <= 5 || (strncmp(s, "min(", 4) && strncmp(s, "max(", 4)) || s[len - 1] != ')')
        return;   /* `last`, or a shape check_rule refused */
    char name[64];
    snprintf(name, sizeof(name), "%.*s", (int)(len - 5 < 63 ? len - 5 : 63), s + 4);
    int eval = !strncmp(name, "eval_", 5) || !strcmp(name, "accuracy");
    if (eval && !with_train) {
        const char *bare = !strncmp(name, "eval_", 5) ? name + 5 : name;
        if (L->s->evaluator_cmd ||
            is_known(bare, builtin_eval_metrics, COUNT(builtin_eval_metrics)))
            return;
        struct strbuf known = STRBUF_INIT;
        list_words(&known, "eval_", builtin_eval_metrics, COUNT(builtin_eval_metrics));
        const char *near = closest_word(bare, builtin_eval_metrics,
                                        COUNT(builtin_eval_metrics));
        diag_add(L->dl, AT(n), "%s '%s': the built-in evaluator reports no '%s'; it reports "
                 "%s%s%s%s", what, s, name, known.buf, near ? " (did you mean 'eval_" : "",
                 near ? near : "", near ? "'?)" : "");
        sb_free(&known);
        return;
    }
    if (L->s->trainer_cmd || is_known(name, builtin_val_metrics, COUNT(builtin_val_metrics)) ||
        (with_train && is_known(name, builtin_train_metrics, COUNT(builtin_train_metrics))))
        return;
    struct strbuf known = STRBUF_INIT;
    list_words(&known, "", builtin_val_metrics, COUNT(builtin_val_metrics));
    sb_adds(&known, with_train ? ", " : " at each validation; its train events' ");
    list_words(&known, "", builtin_train_metrics, COUNT(builtin_train_metrics));
    if (!with_train)
        sb_adds(&known, " are not read at a checkpoint");
    const char *near = closest_word(name, builtin_val_metrics, COUNT(builtin_val_metrics));
    if (!near && with_train)
        near = closest_word(name, builtin_train_metrics, COUNT(builtin_train_metrics));
    diag_add(L->dl, AT(n), "%s '%s': the built-in trainer reports no '%s'; it reports %s%s%s%s",
             what, s, name, known.buf, near ? " (did you mean '" : "", near ? near : "",
             near ? "'?)" : "");
    sb_free(&known);
}

/* After the stages, conditions and trainer are known. */
static void check_compare_refs(struct loader *L, const struct ynode *root)
{
    const struct ynode *sel = ymap_get(root, "selection");
    if (sel && sel->kind == YNODE_MAP)
        check_rule_metric(L, ymap_get(sel, "checkpoint"), "selection checkpoint", 0);
    for (size_t i = 0; i < L->s->n_stages; i++)
        if (L->s->stages[i].pick && L->s->stages[i].pick->node)
            check_rule_metric(L, ymap_get(L->s->stages[i].pick->node, "by"), "pick by", 1);
    const struct ynode *cmp = sel && sel->kind == YNODE_MAP ? ymap_get(sel, "compare") : NULL;
    if (!cmp || cmp->kind != YNODE_MAP)
        return;
    const struct ynode *m = ymap_get(cmp, "metric"), *by = ymap_get(cmp, "by");
    const struct ynode *over = ymap_get(cmp, "over");
    if (m && ynode_is_string(m))
        check_compare_metric(L, m);
    const char *over_name = "seed";
    if (over && ynode_is_string(over) && param_find(over->str))
        over_name = param_canonical_name(over->str);
    if (by)
        check_by(L, by, over_name);
}

/* ---- the mainline rules: seed 000's three layers ---- */

/* A mapping of `layer` with its keys checked; NULL when absent or not a mapping. */
static const struct ynode *mainline_layer(struct loader *L, const struct ynode *map,
                                          const char *layer, const char *const *known,
                                          size_t n_known)
{
    const struct ynode *v = ymap_get(map, layer);
    if (!v || want_kind(L, v, YNODE_MAP, layer) < 0)
        return NULL;
    check_keys(L, v, layer, known, n_known);
    return v;
}

/* `key` of a layer must be there, a number of `type`. */
static void need_number(struct loader *L, const struct ynode *layer, const char *name,
                        const char *key, enum param_type type)
{
    if (!ymap_get(layer, key))
        diag_add(L->dl, AT(layer), "mainline %s needs '%s'", name, key);
    check_typed_key(L, layer, key, type);
}

static void load_prefer(struct loader *L, const struct ynode *v)
{
    static const char *const prefs[] = { "smaller_adapter", "smaller_seed_range",
                                         "higher_metric", "faster_eval",
                                         "smaller_nll_increase", NULL };
    struct param_def def = { "prefer", PT_CHOICE_LIST, prefs, "" };
    json_t *list = param_value(L->file, &def, "prefer", v, L->dl);
    for (size_t i = 0; list && i < json_array_size(list); i++)
        for (size_t j = 0; j < i; j++)
            if (json_equal(json_array_get(list, i), json_array_get(list, j)))
                diag_add(L->dl, AT(v), "prefer lists '%s' twice",
                         json_string_value(json_array_get(list, i)));
    json_decref(list);
}

/* usable.quantized: the format the evaluator quantises each evaluated checkpoint to
 * and the accuracy it may cost. */
static void load_quantized(struct loader *L, const struct ynode *q)
{
    static const char *const quants[] = { "f16", "q8_0", "q4_0", NULL };
    if (!ymap_get(q, "quant"))
        diag_add(L->dl, AT(q), "mainline usable quantized needs 'quant' (f16, q8_0 or q4_0)");
    check_choice_key(L, q, "quant", quants);
    need_number(L, q, "usable quantized", "max_accuracy_drop", PT_NONNEG_NUM);
    const struct ynode *drop = ymap_get(q, "max_accuracy_drop");
    double v;
    if (drop && ynode_float(drop, &v) && v > 1)
        diag_add(L->dl, AT(drop), "'max_accuracy_drop' must be a number in [0, 1] (a "
                 "difference of accuracies), not '%s'", drop->str);
}

static void load_mainline(struct loader *L, const struct ynode *map, const struct ynode *root)
{
    if (want_kind(L, map, YNODE_MAP, "mainline") < 0)
        return;
    check_keys(L, map, "mainline", mainline_keys, COUNT(mainline_keys));
    const struct ynode *eval = ymap_get(root, "evaluation");
    const struct ynode *bs = mainline_layer(L, map, "base_survived", survived_keys,
                                            COUNT(survived_keys));
    const struct ynode *landed = mainline_layer(L, map, "landed", landed_keys,
                                                COUNT(landed_keys));
    const struct ynode *usable = mainline_layer(L, map, "usable", usable_keys,
                                                COUNT(usable_keys));
    if (!ymap_get(map, "base_survived") && !ymap_get(map, "landed") && !ymap_get(map, "usable"))
        diag_add(L->dl, AT(map), "mainline declares no layer (base_survived, landed, usable)");
    if ((bs || landed || usable) && !eval)
        diag_add(L->dl, AT(map), "mainline needs an 'evaluation' section to judge candidates");
    if (bs) {
        static const char *const probes[] = { "retention", NULL };
        if (!ymap_get(bs, "probe"))
            diag_add(L->dl, AT(bs), "mainline base_survived needs 'probe' (retention)");
        check_choice_key(L, bs, "probe", probes);
        need_number(L, bs, "base_survived", "max_nll_increase", PT_NONNEG_NUM);
        if (eval && eval->kind == YNODE_MAP && !ymap_get(eval, "retention"))
            diag_add(L->dl, AT(bs), "base_survived with probe: retention needs "
                     "'retention: DATASET' in evaluation");
    }
    if (landed) {
        need_number(L, landed, "landed", "min_gain", PT_NONNEG_NUM);
        const struct ynode *base = eval && eval->kind == YNODE_MAP ?
                                   ymap_get(eval, "baseline") : NULL;
        int on = 0;
        if (eval && eval->kind == YNODE_MAP && !(base && ynode_bool(base, &on) && on))
            diag_add(L->dl, AT(landed), "landed measures the gain over the base model: it "
                     "needs 'baseline: true' in evaluation");
    }
    if (usable) {
        if (!ymap_get(usable, "max_adapter_mb") && !ymap_get(usable, "min_eval_tok_per_s") &&
            !ymap_get(usable, "quantized"))
            diag_add(L->dl, AT(usable), "mainline usable needs 'max_adapter_mb', "
                     "'min_eval_tok_per_s' or 'quantized'");
        check_typed_key(L, usable, "max_adapter_mb", PT_POS_NUM);
        check_typed_key(L, usable, "min_eval_tok_per_s", PT_NONNEG_NUM);
        const struct ynode *q = mainline_layer(L, usable, "quantized", quantized_keys,
                                               COUNT(quantized_keys));
        if (q)
            load_quantized(L, q);
    }
    const struct ynode *prefer = ymap_get(map, "prefer");
    if (prefer)
        load_prefer(L, prefer);
}

/* ---- cross-references ---- */

static void check_condition_ref(struct loader *L, const json_t *v, const struct ynode *at)
{
    const char *name = json_string_value(v);
    struct sweep *s = L->s;
    if (!name || sweep_find_condition(s, name))
        return;
    const char **names = xcalloc(s->n_conditions + 1, sizeof(*names));
    for (size_t i = 0; i < s->n_conditions; i++)
        names[i] = s->conditions[i].name;
    const char *near = closest_word(name, names, s->n_conditions);
    if (near)
        diag_add(L->dl, AT(at), "unknown condition '%s' (did you mean '%s'?)", name, near);
    else
        diag_add(L->dl, AT(at), "unknown condition '%s' (not under conditions)", name);
    free(names);
}

/* Where a stage's `needs` names `name` (the stage itself when it came from `from`). */
static const struct ynode *need_node(const struct sweep_stage *st, const char *name)
{
    const struct ynode *needs = ymap_get(st->node, "needs");
    size_t n = !needs ? 0 : needs->kind == YNODE_SEQ ? needs->n : 1;
    for (size_t i = 0; i < n; i++) {
        const struct ynode *item = needs->kind == YNODE_SEQ ? needs->items[i] : needs;
        if (item->kind == YNODE_SCALAR && !strcmp(item->str, name))
            return item;
    }
    return st->node;
}

/* Where `condition:` was written in a stage or defaults mapping (its overrides
 * included), for error positions; the mapping itself when not found. */
static const struct ynode *condition_node(const struct ynode *map)
{
    const struct ynode *v = ymap_get(map, "condition");
    if (!v)
        v = ymap_get(ymap_get(map, "overrides"), "condition");
    return v ? v : map;
}

static void check_stage_refs(struct loader *L, struct sweep_stage *st)
{
    struct sweep *s = L->s;
    check_condition_ref(L, json_object_get(st->overrides, "condition"),
                        condition_node(st->node));
    for (size_t k = 0; k < st->n_froms; k++)
        if (json_object_get(st->overrides, st->froms[k].param))
            diag_add(L->dl, AT(st->froms[k].node), "'%s' is both set and taken from stage "
                     "'%s'", st->froms[k].param, st->froms[k].stage);
    for (size_t i = 0; i < st->n_axes; i++) {
        const struct sweep_axis *ax = &st->axes[i];
        for (size_t k = 0; k < st->n_froms; k++)
            if (!strcmp(st->froms[k].param, ax->param))
                diag_add(L->dl, AT(ax->node), "'%s' is both a grid axis and from stage '%s'",
                         ax->param, st->froms[k].stage);
    }
    for (size_t i = 0; i < st->n_needs; i++)
        if (!sweep_find_stage(s, st->needs[i]))
            diag_add(L->dl, AT(need_node(st, st->needs[i])),
                     "stage '%s' needs '%s', which is not a stage", st->name, st->needs[i]);
    for (size_t i = 0; i < st->n_froms; i++) {
        const struct sweep_from *f = &st->froms[i];
        const struct sweep_stage *src = sweep_find_stage(s, f->stage);
        if (!src) {
            diag_add(L->dl, AT(f->node), "'%s: {from: %s}' names a stage that does not exist",
                     f->param, f->stage);
            continue;
        }
        if (!src->pick || strcmp(src->pick->param, f->param) != 0)
            diag_add(L->dl, AT(f->node), "stage '%s' does not pick '%s' (add pick: {param: %s, "
                     "by: ...} to it)", f->stage, f->param, f->param);
        add_need(st, f->stage);
    }
    if (st->pick) {
        int is_axis = 0;
        for (size_t i = 0; i < st->n_axes; i++)
            is_axis = is_axis || !strcmp(st->axes[i].param, st->pick->param);
        if (!is_axis)
            diag_add(L->dl, AT(st->pick->node), "stage '%s' picks '%s', which is not one of "
                     "its grid axes", st->name, st->pick->param);
    }
}

/*
 * Order stages so every stage comes after the ones it needs, keeping file order
 * among stages that are free to go (Kahn's algorithm, smallest index first).
 * A cycle is reported with its path.
 */
static size_t stage_index(const struct sweep *s, const char *name)
{
    for (size_t i = 0; i < s->n_stages; i++)
        if (!strcmp(s->stages[i].name, name))
            return i;
    return (size_t)-1;
}

static void report_cycle(struct loader *L, const size_t *state)
{
    struct sweep *s = L->s;
    size_t start = 0;
    while (state[start])
        start++;
    /* Every unplaced stage has an unplaced need; walk until a stage repeats. */
    size_t *seen = xcalloc(s->n_stages, sizeof(*seen));
    size_t cur = start, step = 1;
    while (!seen[cur]) {
        seen[cur] = step++;
        const struct sweep_stage *st = &s->stages[cur];
        for (size_t i = 0; i < st->n_needs; i++) {
            size_t j = stage_index(s, st->needs[i]);
            if (j != (size_t)-1 && !state[j]) {
                cur = j;
                break;
            }
        }
    }
    struct strbuf path = STRBUF_INIT;
    size_t first = cur;
    do {
        sb_addf(&path, "%s -> ", s->stages[cur].name);
        const struct sweep_stage *st = &s->stages[cur];
        for (size_t i = 0; i < st->n_needs; i++) {
            size_t j = stage_index(s, st->needs[i]);
            if (j != (size_t)-1 && !state[j] && seen[j]) {
                cur = j;
                break;
            }
        }
    } while (cur != first);
    sb_adds(&path, s->stages[first].name);
    diag_add(L->dl, AT(s->stages[first].node), "stages need each other in a cycle: %s",
             path.buf);
    sb_free(&path);
    free(seen);
}

static void order_stages(struct loader *L)
{
    struct sweep *s = L->s;
    size_t n = s->n_stages;
    size_t *placed = xcalloc(n ? n : 1, sizeof(*placed));   /* 1-based position or 0 */
    struct sweep_stage *ordered = xcalloc(n ? n : 1, sizeof(*ordered));
    size_t done = 0;
    while (done < n) {
        size_t pick = (size_t)-1;
        for (size_t i = 0; i < n && pick == (size_t)-1; i++) {
            if (placed[i])
                continue;
            int ready = 1;
            for (size_t k = 0; k < s->stages[i].n_needs; k++) {
                size_t j = stage_index(s, s->stages[i].needs[k]);
                ready = ready && (j == (size_t)-1 || placed[j]);
            }
            if (ready)
                pick = i;
        }
        if (pick == (size_t)-1) {
            report_cycle(L, placed);
            break;
        }
        placed[pick] = ++done;
    }
    if (n && done == n) {   /* n == 0: s->stages may be NULL, not for memcpy */
        for (size_t i = 0; i < n; i++)
            ordered[placed[i] - 1] = s->stages[i];
        memcpy(s->stages, ordered, n * sizeof(*ordered));
    }
    free(ordered);
    free(placed);
}

/* ---- execution: trainer, evaluator, timeout, retries, executor, slurm ---- */

static const char *const builtin_placeholders[] = {
    "run_dir", "config", "run_id", "stage", "sweep", "threads", "attempt", "metrics",
    "checkpoint", "out_dir", "resume",
};

int is_builtin_placeholder(const char *name)
{
    return is_known(name, builtin_placeholders, COUNT(builtin_placeholders));
}

double parse_duration(const char *s)
{
    double total = 0;
    int parts = 0;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || !(v >= 0) || !isfinite(v) || !strchr("0123456789.", *s))
            return -1;
        double unit = 1;
        switch (*end) {
        case 's': unit = 1; end++; break;
        case 'm': unit = 60; end++; break;
        case 'h': unit = 3600; end++; break;
        case 'd': unit = 86400; end++; break;
        case '\0': if (parts) return -1; break;
        default: return -1;
        }
        total += v * unit;
        parts++;
        s = end;
    }
    return parts ? total : -1;
}

/* Every {name} in a command string must be a parameter or a built-in. */
static void check_placeholders(struct loader *L, const struct ynode *n)
{
    for (const char *p = n->str; (p = strchr(p, '{')); p++) {
        if (p[1] == '{') {
            p++;
            continue;
        }
        const char *end = strchr(p, '}');
        if (!end) {
            diag_add(L->dl, AT(n), "'%s' has an unclosed '{'", n->str);
            return;
        }
        char *name = xstrndup(p + 1, (size_t)(end - p - 1));
        if (!is_builtin_placeholder(name) && !param_find(name))
            diag_add(L->dl, AT(n), "unknown placeholder '{%s}' in a command (a parameter, "
                     "or one of run_dir, config, run_id, threads, attempt, metrics...)", name);
        free(name);
        p = end;
    }
}

static json_t *load_command(struct loader *L, const struct ynode *v)
{
    if (v->kind != YNODE_SEQ || v->n == 0) {
        diag_add(L->dl, AT(v), "'command' must be a non-empty list of strings");
        return NULL;
    }
    json_t *cmd = json_array();
    for (size_t i = 0; i < v->n; i++) {
        const struct ynode *item = v->items[i];
        if (item->kind != YNODE_SCALAR || ynode_is_null(item)) {
            diag_add(L->dl, AT(item), "'command' items must be strings, not %s",
                     ynode_type_name(item));
            continue;
        }
        check_placeholders(L, item);
        json_array_append_new(cmd, json_string(item->str));
    }
    return cmd;
}

static void load_trainer(struct loader *L, const struct ynode *v)
{
    if (want_kind(L, v, YNODE_MAP, "trainer") < 0)
        return;
    check_keys(L, v, "trainer", trainer_keys, COUNT(trainer_keys));
    const struct ynode *cmd = ymap_get(v, "command"), *resume = ymap_get(v, "resume");
    const struct ynode *parse = ymap_get(v, "parse_stdout");
    if (cmd)
        L->s->trainer_cmd = load_command(L, cmd);
    L->s->trainer_resume = !cmd;   /* the built-in trainer resumes */
    if (resume && !ynode_bool(resume, &L->s->trainer_resume))
        diag_add(L->dl, AT(resume), "'resume' must be true or false");
    if (parse)
        L->s->parse_stdout = sweep_parse_stdout_value(L->file, parse, L->dl);
}

static void load_evaluator(struct loader *L, const struct ynode *v)
{
    if (want_kind(L, v, YNODE_MAP, "evaluator") < 0)
        return;
    check_keys(L, v, "evaluator", evaluator_keys, COUNT(evaluator_keys));
    const struct ynode *cmd = ymap_get(v, "command");
    if (cmd)
        L->s->evaluator_cmd = load_command(L, cmd);
}

/* `code:` the files and directories a run's code lives in, besides those its
 * commands name (code_files.h). */
static void load_code(struct loader *L, const struct ynode *v)
{
    if (want_kind(L, v, YNODE_SEQ, "code") < 0)
        return;
    L->s->code = xcalloc(v->n + 1, sizeof(*L->s->code));
    for (size_t i = 0; i < v->n; i++) {
        const struct ynode *item = v->items[i];
        if (want_kind(L, item, YNODE_SCALAR, "code") == 0 && item->str[0])
            L->s->code[L->s->n_code++] = item;
        else if (item->kind == YNODE_SCALAR)
            diag_add(L->dl, AT(item), "'code' paths must not be empty");
    }
}

static void load_execution(struct loader *L, const struct ynode *root)
{
    const struct ynode *code = ymap_get(root, "code");
    if (code)
        load_code(L, code);
    const struct ynode *v = ymap_get(root, "trainer");
    L->s->trainer_resume = 1;
    if (v)
        load_trainer(L, v);
    v = ymap_get(root, "evaluator");
    if (v)
        load_evaluator(L, v);
    v = ymap_get(root, "timeout");
    if (v) {
        double t = v->kind == YNODE_SCALAR ? parse_duration(v->str) : -1;
        if (t <= 0)
            diag_add(L->dl, AT(v), "'timeout' must be a duration like 90s, 30m, 2h or 1h30m, "
                     "not %s", v->kind == YNODE_SCALAR ? v->str : ynode_type_name(v));
        else
            L->s->timeout_s = t;
    }
    v = ymap_get(root, "retries");
    long long r;
    if (v && !(ynode_int(v, &r) && r >= 0 && r <= 100))
        diag_add(L->dl, AT(v), "'retries' must be an integer from 0 to 100");
    else if (v)
        L->s->retries = (int)r;
}

/* `executor:` and the top-level `slurm:`, before the stages and evaluation that may
 * override the resources (so their problems are listed in that order too). */
static void load_executor(struct loader *L, const struct ynode *root)
{
    const struct ynode *v = ymap_get(root, "executor");
    if (v) {
        static const char *const executors[] = { "local", "slurm", NULL };
        struct param_def def = { "executor", PT_CHOICE, executors, "" };
        json_t *e = param_value(L->file, &def, "executor", v, L->dl);
        if (e)
            L->s->executor = strcmp(json_string_value(e), "slurm") ? "local" : "slurm";
        json_decref(e);
    }
    v = ymap_get(root, "slurm");
    if (v)
        L->s->slurm = sweep_slurm_value(L->file, v, L->dl);
}

/* ---- rendering ---- */

static void load_render(struct loader *L, const struct ynode *v)
{
    static const char *const templates[] = { "plain", "chatml", "llama2", "chat", NULL };
    if (want_kind(L, v, YNODE_MAP, "render") < 0)
        return;
    check_keys(L, v, "render", render_keys, COUNT(render_keys));
    const struct ynode *sys = ymap_get(v, "system"), *tmpl = ymap_get(v, "template");
    if (sys && !ynode_is_null(sys) && want_kind(L, sys, YNODE_SCALAR, "system") == 0)
        L->s->render_system = xstrdup(sys->str);
    struct param_def def = { "template", PT_CHOICE, templates, "" };
    json_t *t = tmpl ? param_value(L->file, &def, "template", tmpl, L->dl) : NULL;
    int bad_template = tmpl && !t;
    if (t)
        L->s->tmpl = (enum render_template)render_template_parse(json_string_value(t));
    json_decref(t);
    /* vars: the chat template's extra variables (enable_thinking: false) */
    const struct ynode *vars = ymap_get(v, "vars");
    if (vars && want_kind(L, vars, YNODE_MAP, "vars") == 0 && !bad_template &&
        L->s->tmpl != TEMPLATE_CHAT)
        diag_add(L->dl, AT(vars), "'vars' is for 'template: chat' only (the variables of the "
                 "model's chat template)");
}

/* `cost: {train_per_mtok: 0.40}`: a price for the plan's estimates. */
static void load_cost(struct loader *L, const struct ynode *v)
{
    static const char *const cost_keys[] = { "train_per_mtok" };
    if (want_kind(L, v, YNODE_MAP, "cost") < 0)
        return;
    check_keys(L, v, "cost", cost_keys, COUNT(cost_keys));
    const struct ynode *p = ymap_get(v, "train_per_mtok");
    double d;
    if (p && !(ynode_float(p, &d) && d >= 0))
        diag_add(L->dl, AT(p), "'train_per_mtok' must be a number >= 0 (money per million "
                 "training tokens)");
    else if (p)
        L->s->train_per_mtok = d;
}

/* ---- top level ---- */

static void load_top(struct loader *L, const struct ynode *root)
{
    struct sweep *s = L->s;
    const struct ynode *v;
    check_keys(L, root, "the sweep", top_keys, COUNT(top_keys));
    v = ymap_get(root, "sweep");
    if (!v)
        diag_add(L->dl, AT(root), "missing 'sweep: NAME'");
    else if (check_name(L, v, "sweep name") == 0)
        s->name = xstrdup(v->str);
    v = ymap_get(root, "description");
    if (v)
        want_kind(L, v, YNODE_SCALAR, "description");
    v = ymap_get(root, "datasets");
    if (v)
        load_datasets(L, v);
    v = ymap_get(root, "conditions");
    if (v)
        load_conditions(L, v);
    v = ymap_get(root, "defaults");
    s->defaults = v ? load_params(L, v, "defaults", NULL) : json_object();
    v = ymap_get(root, "base_model");
    if (v && json_object_get(s->defaults, "base_model"))
        diag_add(L->dl, AT(v), "base_model is set both at the top and in defaults");
    else if (v) {
        const struct param_def *def = param_find("base_model");
        json_t *bm = param_value(L->file, def, "base_model", v, L->dl);
        if (bm)
            json_object_set_new(s->defaults, "base_model", bm);
    }
    v = ymap_get(root, "defaults");
    check_condition_ref(L, json_object_get(s->defaults, "condition"),
                        v ? condition_node(v) : root);
    load_executor(L, root);
    const struct ynode *stages = ymap_get(root, "stages"), *grid = ymap_get(root, "grid");
    if (stages && grid)
        diag_add(L->dl, AT(grid), "a top-level 'grid' is for sweeps without 'stages'; "
                 "move it into a stage");
    else if (stages)
        load_stages(L, stages);
    else if (grid)
        load_implicit_stage(L, grid);
    else
        diag_add(L->dl, AT(root), "the sweep has no runs: add 'stages:' or a top-level 'grid:'");
    v = ymap_get(root, "evaluation");
    if (v)
        load_evaluation(L, v);
    v = ymap_get(root, "selection");
    if (v)
        load_selection(L, v);
    v = ymap_get(root, "mainline");
    if (v)
        load_mainline(L, v, root);
    v = ymap_get(root, "render");
    if (v)
        load_render(L, v);
    L->s->train_per_mtok = -1;
    v = ymap_get(root, "cost");
    if (v)
        load_cost(L, v);
    load_execution(L, root);
    check_compare_refs(L, root);
}

/*
 * The frozen rules: what "better" means for this sweep. `evaluation` and
 * `selection` are always there (null when absent); `mainline`, the rendering
 * contract (`render`) and the datasets' field mappings only when declared, so
 * sweeps that declare none of them keep the hash they were planned with.
 */
static json_t *frozen_contract(const json_t *spec)
{
    json_t *ev = json_object_get(spec, "evaluation"), *sel = json_object_get(spec, "selection");
    json_t *c = json_pack("{s:O,s:O}", "evaluation", ev ? ev : json_null(),
                          "selection", sel ? sel : json_null());
    static const char *const optional[] = { "mainline", "render" };
    for (size_t i = 0; i < COUNT(optional); i++) {
        json_t *v = json_object_get(spec, optional[i]);
        if (v)
            json_object_set(c, optional[i], v);
    }
    json_t *fields = json_object(), *ds;
    const char *name;
    json_object_foreach(json_object_get(spec, "datasets"), name, ds) {
        json_t *f = json_object_get(ds, "fields");
        if (f)
            json_object_set(fields, name, f);
    }
    if (json_object_size(fields))
        json_object_set(c, "fields", fields);
    json_decref(fields);
    return c;
}

static void finish(struct loader *L, const struct ynode *root)
{
    struct sweep *s = L->s;
    for (size_t i = 0; i < s->n_stages; i++)
        check_stage_refs(L, &s->stages[i]);
    order_stages(L);
    s->spec = ynode_to_json(root);
    /* How long to wait, how often to retry and where runs execute do not change
     * what a run is. */
    json_object_del(s->spec, "timeout");
    json_object_del(s->spec, "retries");
    json_object_del(s->spec, "executor");
    json_object_del(s->spec, "slurm");
    json_object_del(json_object_get(s->spec, "evaluation"), "slurm");
    json_object_del(s->spec, "cost");   /* a price changes estimates, not runs */
    json_object_del(s->spec, "description");
    json_t *stage;
    const char *name;
    json_object_foreach(json_object_get(s->spec, "stages"), name, stage) {
        json_object_del(stage, "description");
        json_object_del(stage, "slurm");
    }
    s->contract = frozen_contract(s->spec);
    sweep_load_audit(L->file, root, s, L->dl);
}

int sweep_load_text(const char *file, const char *text, size_t len, struct sweep *out,
                    struct diag_list *diags)
{
    memset(out, 0, sizeof(*out));
    size_t before = diags->count;
    out->file = xstrdup(file);
    out->dir = path_dirname(file);
    out->text = xstrndup(text, len);
    out->text_len = len;
    if (ydoc_parse(file, text, len, &out->doc, diags) < 0)
        goto failed;
    const struct ynode *root = out->doc->root;
    if (!root) {
        diag_add(diags, file, 0, 0, "the sweep file is empty");
        goto failed;
    }
    struct loader L = { .file = file, .dl = diags, .s = out };
    if (root->kind != YNODE_MAP) {
        diag_add(diags, file, root->line, root->col, "a sweep file is a mapping (sweep: NAME, ...), not %s",
                 ynode_type_name(root));
        goto failed;
    }
    load_top(&L, root);
    finish(&L, root);   /* cross-references too, so one pass shows every problem */
    if (diags->count == before)
        return 0;
failed:
    sweep_free(out);
    return -1;
}

int sweep_load(const char *path, struct sweep *out, struct diag_list *diags)
{
    struct strbuf err = STRBUF_INIT;
    char *text;
    size_t len;
    if (read_file(path, &text, &len, &err) < 0) {
        memset(out, 0, sizeof(*out));
        diag_add(diags, path, 0, 0, "%s", err.buf);
        sb_free(&err);
        return -1;
    }
    int rc = sweep_load_text(path, text, len, out, diags);
    free(text);
    return rc;
}

static void stage_free(struct sweep_stage *st)
{
    free(st->name);
    for (size_t i = 0; i < st->n_needs; i++)
        free(st->needs[i]);
    free(st->needs);
    for (size_t i = 0; i < st->n_axes; i++) {
        free(st->axes[i].param);
        json_decref(st->axes[i].values);
    }
    free(st->axes);
    json_decref(st->overrides);
    for (size_t i = 0; i < st->n_froms; i++) {
        free(st->froms[i].param);
        free(st->froms[i].stage);
    }
    free(st->froms);
    if (st->pick) {
        for (size_t i = 0; i < st->pick->n_per; i++)
            free(st->pick->per[i]);
        free(st->pick->per);
        free(st->pick->param);
        free(st->pick->by);
        free(st->pick);
    }
    json_decref(st->slurm);
}

void sweep_free(struct sweep *s)
{
    free(s->file);
    free(s->dir);
    free(s->text);
    ydoc_free(s->doc);
    free(s->code);
    free(s->name);
    json_decref(s->spec);
    for (size_t i = 0; i < s->n_datasets; i++) {
        free(s->datasets[i].name);
        sweep_source_free(&s->datasets[i].src);
        render_fields_free(&s->datasets[i].fields);
    }
    free(s->datasets);
    for (size_t i = 0; i < s->n_conditions; i++) {
        free(s->conditions[i].name);
        json_decref(s->conditions[i].params);
    }
    free(s->conditions);
    json_decref(s->defaults);
    for (size_t i = 0; i < s->n_stages; i++)
        stage_free(&s->stages[i]);
    free(s->stages);
    json_decref(s->contract);
    free(s->render_system);
    sweep_audit_free(&s->audit);
    json_decref(s->trainer_cmd);
    json_decref(s->parse_stdout);
    json_decref(s->evaluator_cmd);
    json_decref(s->slurm);
    json_decref(s->eval_slurm);
    memset(s, 0, sizeof(*s));
}

struct render_contract sweep_render_contract(const struct sweep *s,
                                             const struct sweep_dataset *d)
{
    return (struct render_contract){ s->render_system, s->tmpl, d ? &d->fields : NULL, NULL };
}

int sweep_render_contract_for(const struct sweep *s, const struct sweep_dataset *d,
                              const char *model_path, struct render_chat *chat,
                              struct render_contract *out, struct strbuf *err)
{
    memset(chat, 0, sizeof(*chat));
    *out = sweep_render_contract(s, d);
    if (out->tmpl != TEMPLATE_CHAT)
        return 0;
    if (render_chat_load(json_object_get(s->contract, "render"), model_path, chat, err) < 0)
        return -1;
    out->chat = chat;
    return 0;
}

const struct sweep_dataset *sweep_find_dataset(const struct sweep *s, const char *name)
{
    for (size_t i = 0; i < s->n_datasets; i++)
        if (strcmp(s->datasets[i].name, name) == 0)
            return &s->datasets[i];
    return NULL;
}

const struct sweep_stage *sweep_find_stage(const struct sweep *s, const char *name)
{
    for (size_t i = 0; i < s->n_stages; i++)
        if (!strcmp(s->stages[i].name, name))
            return &s->stages[i];
    return NULL;
}

const struct sweep_condition *sweep_find_condition(const struct sweep *s, const char *name)
{
    for (size_t i = 0; i < s->n_conditions; i++)
        if (!strcmp(s->conditions[i].name, name))
            return &s->conditions[i];
    return NULL;
}
