/*
 * sweep_expand.c - stages x grids -> runs with resolved parameters (see sweep.h).
 *
 * Precedence, weakest first: defaults < condition < stage overrides < grid value.
 * A parameter bound with `{from: STAGE}` is left out of params and listed in
 * `pending` until that stage's pick resolves it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "sweep.h"

#define MAX_RUNS 10000
/* JSON values in all runs' parameters together: the YAML tree is capped at
 * YTREE_MAX_NODES plus YTREE_MAX_ALIAS_NODES, but a big x_* value copied into every
 * run is not. */
#define MAX_RUN_VALUES 2000000

/* Run ids become directory names: anything but [A-Za-z0-9._+-] turns into '_'. */
static void add_id_part(struct strbuf *id, const char *s)
{
    if (id->len)
        sb_addc(id, '-');
    for (; *s; s++) {
        char c = *s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '+' || c == '-';
        sb_addc(id, ok ? c : '_');
    }
}

/* ---- resolution ---- */

static void merge_into(json_t *dst, const json_t *src)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)src, key, v)
        json_object_set(dst, key, v);
}

static const json_t *axis_value(const struct sweep_stage *st, const size_t *idx,
                                const char *param)
{
    for (size_t a = 0; a < st->n_axes; a++)
        if (!strcmp(st->axes[a].param, param))
            return json_array_get(st->axes[a].values, idx[a]);
    return NULL;
}

/* The condition of a run: grid beats overrides beats defaults. */
static const char *run_condition(const struct sweep *s, const struct sweep_stage *st,
                                 const size_t *idx)
{
    const json_t *c = axis_value(st, idx, "condition");
    if (!c)
        c = json_object_get(st->overrides, "condition");
    if (!c)
        c = json_object_get(s->defaults, "condition");
    return json_string_value(c);
}

static void resolve_run(const struct sweep *s, const struct sweep_stage *st,
                        const size_t *idx, struct plan_run *r)
{
    const char *cond = run_condition(s, st, idx);
    const struct sweep_condition *c = cond ? sweep_find_condition(s, cond) : NULL;
    r->stage = st;
    r->params = json_deep_copy(s->defaults);
    if (c)
        merge_into(r->params, c->params);
    merge_into(r->params, st->overrides);
    r->varying = json_object();
    for (size_t a = 0; a < st->n_axes; a++) {
        json_t *v = json_array_get(st->axes[a].values, idx[a]);
        json_object_set(r->params, st->axes[a].param, v);
        json_object_set(r->varying, st->axes[a].param, v);
    }
    if (cond)
        json_object_set_new(r->params, "condition", json_string(cond));
    if (st->n_froms)
        r->pending = json_object();
    for (size_t f = 0; f < st->n_froms; f++) {
        json_object_del(r->params, st->froms[f].param);
        json_object_set_new(r->pending, st->froms[f].param, json_string(st->froms[f].stage));
    }
    struct strbuf id = STRBUF_INIT;
    add_id_part(&id, st->name);
    if (cond)
        add_id_part(&id, cond);
    for (size_t a = 0; a < st->n_axes; a++) {
        if (!strcmp(st->axes[a].param, "condition"))
            continue;
        char *text = param_value_text(json_array_get(st->axes[a].values, idx[a]));
        add_id_part(&id, st->axes[a].param);
        add_id_part(&id, text);
        free(text);
    }
    r->id = sb_detach(&id);
}

/* Advance a mixed-radix counter over the axes, last axis fastest. 0 when done. */
static int next_combo(const struct sweep_stage *st, size_t *idx)
{
    for (size_t a = st->n_axes; a-- > 0;) {
        if (++idx[a] < json_array_size(st->axes[a].values))
            return 1;
        idx[a] = 0;
    }
    return 0;
}

static size_t stage_run_count(const struct sweep_stage *st)
{
    size_t n = 1;
    for (size_t a = 0; a < st->n_axes; a++) {
        size_t k = json_array_size(st->axes[a].values);
        if (k == 0)
            return 0;
        n = n > MAX_RUNS / k ? MAX_RUNS + 1 : n * k;
    }
    return n;
}

/* JSON values in v, v included. */
static size_t json_values(const json_t *v)
{
    size_t n = 1, i;
    const char *key;
    json_t *item;
    if (json_is_array(v)) {
        json_array_foreach(v, i, item)
            n += json_values(item);
    } else if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, item)
            n += json_values(item);
    }
    return n;
}

/* At most how many JSON values one run of `st` holds; `base` covers the defaults
 * and the biggest condition. */
static size_t stage_run_values(const struct sweep_stage *st, size_t base)
{
    size_t n = base + json_values(st->overrides) + 1;   /* + the condition name */
    for (size_t a = 0; a < st->n_axes; a++) {
        size_t i, most = 0;
        json_t *v;
        json_array_foreach(st->axes[a].values, i, v) {
            size_t k = json_values(v);
            most = k > most ? k : most;
        }
        n += most;
    }
    return n;
}

static void expand_stage(const struct sweep *s, const struct sweep_stage *st,
                         struct plan_runs *out, size_t *alloc)
{
    size_t *idx = xcalloc(st->n_axes + 1, sizeof(*idx));
    do {
        out->runs = xgrow(out->runs, out->n + 1, alloc, sizeof(*out->runs));
        struct plan_run *r = &out->runs[out->n++];
        memset(r, 0, sizeof(*r));
        resolve_run(s, st, idx, r);
    } while (next_combo(st, idx));
    free(idx);
}

/* ---- checks across runs ---- */

static int id_cmp(const void *a, const void *b)
{
    const struct plan_run *ra = *(const struct plan_run *const *)a;
    const struct plan_run *rb = *(const struct plan_run *const *)b;
    int c = strcmp(ra->id, rb->id);
    return c ? c : (ra < rb ? -1 : ra > rb);
}

static void check_duplicate_ids(const struct sweep *s, const struct plan_runs *pr,
                                struct diag_list *dl)
{
    if (pr->n < 2)
        return;
    const struct plan_run **sorted = xmalloc(pr->n * sizeof(*sorted));
    for (size_t i = 0; i < pr->n; i++)
        sorted[i] = &pr->runs[i];
    qsort(sorted, pr->n, sizeof(*sorted), id_cmp);
    for (size_t i = 1; i < pr->n; i++) {
        if (strcmp(sorted[i - 1]->id, sorted[i]->id) != 0)
            continue;
        const struct ynode *at = sorted[i]->stage->node;
        const char *a = sorted[i - 1]->stage->name, *b = sorted[i]->stage->name;
        if (strcmp(a, b) != 0)
            diag_add(dl, s->file, at->line, at->col, "duplicate run id '%s': a run of stage "
                     "'%s' and one of stage '%s' get it (rename a stage)", sorted[i]->id,
                     a, b);
        else
            diag_add(dl, s->file, at->line, at->col, "duplicate run id '%s': two runs of "
                     "stage '%s' get it (a repeated grid value, or values that read the "
                     "same in an id)", sorted[i]->id, b);
    }
    free(sorted);
}

/*
 * A run's `per` values as one canonical JSON text: runs are in the same group when
 * their keys are equal. NULL when the run lacks one of them (it is in no group).
 */
static char *group_key(const json_t *params, const struct sweep_pick *pick)
{
    json_t *vals = json_array();
    for (size_t i = 0; i < pick->n_per; i++) {
        json_t *v = json_object_get(params, pick->per[i]);
        if (!v) {
            json_decref(vals);
            return NULL;
        }
        if (json_is_real(v) && json_real_value(v) == 0)
            json_array_append_new(vals, json_real(0));   /* -0.0 groups with 0.0 */
        else
            json_array_append(vals, v);
    }
    char *key = json_dumps(vals, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(vals);
    return key;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted group keys of one picking stage's runs, built when first needed:
 * a binary search per run instead of a scan of every run (runs x runs). */
struct group_keys {
    char **keys;
    size_t n;
    int built;
};

static const struct group_keys *stage_keys(const struct sweep *s, const struct plan_runs *pr,
                                           const struct sweep_stage *src,
                                           struct group_keys *all)
{
    struct group_keys *gk = &all[src - s->stages];
    if (gk->built)
        return gk;
    gk->built = 1;
    gk->keys = xcalloc(pr->n + 1, sizeof(*gk->keys));
    for (size_t i = 0; i < pr->n; i++) {
        char *key = pr->runs[i].stage == src ? group_key(pr->runs[i].params, src->pick) : NULL;
        if (key)
            gk->keys[gk->n++] = key;
    }
    qsort(gk->keys, gk->n, sizeof(*gk->keys), key_cmp);
    return gk;
}

static void describe_group(const json_t *params, const struct sweep_pick *pick,
                           struct strbuf *sb)
{
    for (size_t i = 0; i < pick->n_per; i++) {
        char *t = param_value_text(json_object_get(params, pick->per[i]));
        sb_addf(sb, "%s%s=%s", i ? " " : "", pick->per[i], t);
        free(t);
    }
}

/* A run taking `param` from stage `src` needs runs in src with the same per values. */
static void check_from(const struct sweep *s, const struct plan_runs *pr,
                       const struct plan_run *r, const struct sweep_from *f,
                       struct group_keys *keys, struct diag_list *dl)
{
    const struct sweep_stage *src = sweep_find_stage(s, f->stage);
    const struct sweep_pick *pick = src ? src->pick : NULL;
    if (!pick)
        return;   /* already reported by the loader */
    for (size_t i = 0; i < pick->n_per; i++) {
        if (!json_object_get(r->params, pick->per[i])) {
            diag_add(dl, s->file, f->node->line, f->node->col, "stage '%s' picks '%s' per "
                     "'%s', but run '%s' has no '%s'", f->stage, f->param, pick->per[i],
                     r->id, pick->per[i]);
            return;
        }
    }
    const struct group_keys *gk = stage_keys(s, pr, src, keys);
    char *key = group_key(r->params, pick);
    int found = !key || bsearch(&key, gk->keys, gk->n, sizeof(*gk->keys), key_cmp);
    free(key);
    if (found)
        return;
    struct strbuf group = STRBUF_INIT;
    describe_group(r->params, pick, &group);
    diag_add(dl, s->file, f->node->line, f->node->col, "run '%s' takes '%s' from stage '%s', "
             "which has no runs with %s", r->id, f->param, f->stage, group.buf);
    sb_free(&group);
}

static void check_picks(const struct sweep *s, const struct plan_runs *pr,
                        struct diag_list *dl)
{
    struct group_keys *keys = xcalloc(s->n_stages + 1, sizeof(*keys));
    for (size_t i = 0; i < pr->n; i++) {
        const struct plan_run *r = &pr->runs[i];
        const struct sweep_stage *st = r->stage;
        for (size_t f = 0; f < st->n_froms; f++)
            check_from(s, pr, r, &st->froms[f], keys, dl);
        for (size_t k = 0; st->pick && k < st->pick->n_per; k++) {
            if (json_object_get(r->params, st->pick->per[k]))
                continue;
            const struct ynode *at = st->pick->node;
            diag_add(dl, s->file, at->line, at->col, "stage '%s' picks per '%s', but run '%s' "
                     "has no '%s'", st->name, st->pick->per[k], r->id, st->pick->per[k]);
            break;
        }
    }
    for (size_t i = 0; i < s->n_stages; i++) {
        for (size_t k = 0; k < keys[i].n; k++)
            free(keys[i].keys[k]);
        free(keys[i].keys);
    }
    free(keys);
}

int sweep_expand(const struct sweep *s, struct plan_runs *out, struct diag_list *diags)
{
    memset(out, 0, sizeof(*out));
    size_t before = diags->count, total = 0, values = 0;
    size_t base = 0;   /* the biggest condition, then the defaults */
    for (size_t i = 0; i < s->n_conditions; i++) {
        size_t k = json_values(s->conditions[i].params);
        base = k > base ? k : base;
    }
    base += json_values(s->defaults);
    for (size_t i = 0; i < s->n_stages; i++) {
        size_t runs = stage_run_count(&s->stages[i]);
        total += runs;
        if (total > MAX_RUNS) {
            const struct ynode *at = s->stages[i].node;
            diag_add(diags, s->file, at->line, at->col, "the grids expand to more than %d "
                     "runs", MAX_RUNS);
            return -1;
        }
        size_t per_run = stage_run_values(&s->stages[i], base);
        if (runs && per_run > (MAX_RUN_VALUES - values) / runs) {
            const struct ynode *at = s->stages[i].node;
            diag_add(diags, s->file, at->line, at->col, "the runs' parameters add up to more "
                     "than %d values (big x_* values in many runs)", MAX_RUN_VALUES);
            return -1;
        }
        values += runs * per_run;
    }
    size_t alloc = 0;   /* of out->runs: growing one run at a time was runs x runs */
    for (size_t i = 0; i < s->n_stages; i++)
        expand_stage(s, &s->stages[i], out, &alloc);
    check_duplicate_ids(s, out, diags);
    check_picks(s, out, diags);
    if (diags->count == before)
        return 0;
    plan_runs_free(out);
    return -1;
}

void plan_runs_free(struct plan_runs *pr)
{
    for (size_t i = 0; i < pr->n; i++) {
        free(pr->runs[i].id);
        json_decref(pr->runs[i].params);
        json_decref(pr->runs[i].pending);
        json_decref(pr->runs[i].varying);
    }
    free(pr->runs);
    pr->runs = NULL;
    pr->n = 0;
}
