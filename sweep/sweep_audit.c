/*
 * sweep_audit.c - loading and checking the `audit:` section (see sweep_audit.h).
 *
 * Roles default to the dataset names the examples use: `train` and `valid` when
 * such datasets exist, and the evaluation dataset as the benchmark. Limits default
 * to zero tolerance and a boxed answer in every training completion.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "suggest.h"
#include "sweep_audit.h"
#include "sweep_params.h"

#define AT(n) file, (n)->line, (n)->col
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))


const char *const audit_default_suspicious[] = {
    "we need to set the value to",
    "cannot spend more than",
    "doesn't align with the logical outcome",
    "a new problem:",
    "the new problem is:",
    NULL,
};

static const char *const audit_keys[] = { "train", "valid", "benchmark", "max_overlap", "ngram",
                                          "max_leakage", "min_boxed", "max_answer_mismatch",
                                          "suspicious", "max_suspicious", "max_duplicates",
                                          "waive" };

static void add_name(char ***list, size_t *n, const char *name)
{
    *list = xrealloc(*list, (*n + 1) * sizeof(char *));
    (*list)[(*n)++] = xstrdup(name);
}

/* A scalar or a list of scalars, each checked by `check` (may be NULL). */
static void load_strings(const char *file, const struct ynode *v, const char *key,
                         char ***list, size_t *n, struct diag_list *dl,
                         int (*check)(const char *file, const struct ynode *item,
                                      const struct sweep *s, struct diag_list *dl),
                         const struct sweep *s)
{
    size_t count = v->kind == YNODE_SEQ ? v->n : 1;
    if (v->kind == YNODE_MAP) {
        diag_add(dl, AT(v), "audit '%s' must be a string or a list of strings, not a mapping",
                 key);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        const struct ynode *item = v->kind == YNODE_SEQ ? v->items[i] : v;
        if (item->kind != YNODE_SCALAR || ynode_is_null(item)) {
            diag_add(dl, AT(item), "audit '%s' items must be strings, not %s", key,
                     ynode_type_name(item));
            continue;
        }
        if (!check || check(file, item, s, dl) == 0)
            add_name(list, n, item->str);
    }
}

static int check_dataset(const char *file, const struct ynode *item, const struct sweep *s,
                         struct diag_list *dl)
{
    if (sweep_find_dataset(s, item->str))
        return 0;
    diag_add(dl, AT(item), "audit names dataset '%s', which is not under datasets", item->str);
    return -1;
}

static int check_regex(const char *file, const struct ynode *item, const struct sweep *s,
                       struct diag_list *dl)
{
    (void)s;
    regex_t re;
    int rc = regcomp(&re, item->str, REG_EXTENDED | REG_ICASE | REG_NOSUB);
    if (rc == 0) {
        regfree(&re);
        return 0;
    }
    char msg[200];
    regerror(rc, &re, msg, sizeof(msg));
    diag_add(dl, AT(item), "suspicious pattern '%s' is not a valid regex: %s", item->str, msg);
    return -1;
}

static int check_gate(const char *file, const struct ynode *item, const struct sweep *s,
                      struct diag_list *dl)
{
    (void)s;
    if (audit_gate_parse(item->str) >= 0)
        return 0;
    const char *near = closest_word(item->str, audit_gate_names, N_GATES);
    if (near)
        diag_add(dl, AT(item), "cannot waive '%s' (did you mean '%s'?)", item->str, near);
    else
        diag_add(dl, AT(item), "cannot waive '%s' (gates: contamination, leakage, answers, "
                 "suspicious, duplicates)", item->str);
    return -1;
}

static void load_limit(const char *file, const struct ynode *map, const char *key, long *out,
                       struct diag_list *dl)
{
    const struct ynode *v = ymap_get(map, key);
    struct param_def def = { key, PT_NONNEG_INT, NULL, "" };
    json_t *j = v ? param_value(file, &def, key, v, dl) : NULL;
    if (j)
        *out = (long)json_integer_value(j);
    json_decref(j);
}

static void load_numbers(const char *file, const struct ynode *map, struct audit_config *a,
                         struct diag_list *dl)
{
    long ngram = a->ngram;
    load_limit(file, map, "max_overlap", &a->max_overlap, dl);
    load_limit(file, map, "max_leakage", &a->max_leakage, dl);
    load_limit(file, map, "max_answer_mismatch", &a->max_answer_mismatch, dl);
    load_limit(file, map, "max_suspicious", &a->max_suspicious, dl);
    load_limit(file, map, "max_duplicates", &a->max_duplicates, dl);
    load_limit(file, map, "ngram", &ngram, dl);
    const struct ynode *v = ymap_get(map, "ngram");
    if (v && ngram < 1)
        diag_add(dl, AT(v), "'ngram' must be an integer >= 1, not '%s'", v->str);
    else
        a->ngram = (int)ngram;
    v = ymap_get(map, "min_boxed");
    double d;
    if (v && !(ynode_float(v, &d) && d >= 0 && d <= 1))
        diag_add(dl, AT(v), "'min_boxed' must be a number from 0 to 1 (a share of rows)");
    else if (v)
        a->min_boxed = d;
}

/* Roles the audit section does not give: the datasets named train and valid, and
 * the evaluation's dataset as the benchmark. */
static void default_roles(const struct ynode *map, struct sweep *s)
{
    struct audit_config *a = &s->audit;
    if (!ymap_get(map, "train") && sweep_find_dataset(s, "train"))
        add_name(&a->train, &a->n_train, "train");
    if (!ymap_get(map, "valid") && sweep_find_dataset(s, "valid"))
        add_name(&a->valid, &a->n_valid, "valid");
    const json_t *ev = json_object_get(s->contract, "evaluation");
    const char *bench = json_string_value(json_object_get(ev, "dataset"));
    if (!ymap_get(map, "benchmark") && bench && sweep_find_dataset(s, bench))
        add_name(&a->benchmark, &a->n_benchmark, bench);
}

void sweep_load_audit(const char *file, const struct ynode *root, struct sweep *s,
                      struct diag_list *dl)
{
    struct audit_config *a = &s->audit;
    a->ngram = 13;
    a->min_boxed = 1.0;
    const struct ynode *map = ymap_get(root, "audit");
    if (map && map->kind != YNODE_MAP) {
        diag_add(dl, AT(map), "'audit' must be a mapping, not %s", ynode_type_name(map));
        map = NULL;
    }
    for (size_t i = 0; map && i < map->n; i++) {
        const struct ynode *k = map->pairs[i].key;
        int known = 0;
        for (size_t j = 0; j < COUNT(audit_keys); j++)
            known = known || !strcmp(k->str, audit_keys[j]);
        const char *near = known ? NULL : closest_word(k->str, audit_keys, COUNT(audit_keys));
        if (!known && near)
            diag_add(dl, AT(k), "unknown key '%s' (did you mean '%s'?)", k->str, near);
        else if (!known)
            diag_add(dl, AT(k), "unknown key '%s' in audit", k->str);
    }
    const struct ynode *v;
    if (map && (v = ymap_get(map, "train")))
        load_strings(file, v, "train", &a->train, &a->n_train, dl, check_dataset, s);
    if (map && (v = ymap_get(map, "valid")))
        load_strings(file, v, "valid", &a->valid, &a->n_valid, dl, check_dataset, s);
    if (map && (v = ymap_get(map, "benchmark")))
        load_strings(file, v, "benchmark", &a->benchmark, &a->n_benchmark, dl, check_dataset, s);
    default_roles(map, s);
    if (map)
        load_numbers(file, map, a, dl);
    if (map && (v = ymap_get(map, "suspicious")))
        load_strings(file, v, "suspicious", &a->suspicious, &a->n_suspicious, dl, check_regex,
                     s);
    else
        for (size_t i = 0; audit_default_suspicious[i]; i++)
            add_name(&a->suspicious, &a->n_suspicious, audit_default_suspicious[i]);
    char **waived = NULL;
    size_t n_waived = 0;
    if (map && (v = ymap_get(map, "waive")))
        load_strings(file, v, "waive", &waived, &n_waived, dl, check_gate, s);
    for (size_t i = 0; i < n_waived; i++) {
        a->waived |= 1u << audit_gate_parse(waived[i]);
        free(waived[i]);
    }
    free(waived);
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void sweep_audit_free(struct audit_config *a)
{
    free_list(a->train, a->n_train);
    free_list(a->valid, a->n_valid);
    free_list(a->benchmark, a->n_benchmark);
    free_list(a->suspicious, a->n_suspicious);
    memset(a, 0, sizeof(*a));
}

/* ---- a sweep's datasets ---- */

static void add_inputs(const struct sweep *s, char *const *names, size_t n, enum audit_role role,
                       struct audit_input *in, size_t *n_in)
{
    for (size_t i = 0; i < n; i++) {
        const struct sweep_dataset *d = sweep_find_dataset(s, names[i]);
        if (d)
            in[(*n_in)++] = (struct audit_input){ d->name, role, NULL, &d->fields };
    }
}

int sweep_audit_run(const struct sweep *s,
                    const char *(*local_path)(const char *name, void *ud), void *ud,
                    json_t **report, struct strbuf *err)
{
    const struct audit_config *cfg = &s->audit;
    size_t max = cfg->n_train + cfg->n_valid + cfg->n_benchmark, n = 0;
    struct audit_input *in = xcalloc(max + 1, sizeof(*in));
    struct data_file *files = xcalloc(max + 1, sizeof(*files));
    add_inputs(s, cfg->train, cfg->n_train, ROLE_TRAIN, in, &n);
    add_inputs(s, cfg->valid, cfg->n_valid, ROLE_VALID, in, &n);
    add_inputs(s, cfg->benchmark, cfg->n_benchmark, ROLE_BENCH, in, &n);
    int rc = 0;
    *report = NULL;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct sweep_dataset *d = sweep_find_dataset(s, in[i].dataset);
        const char *path = local_path ? local_path(d->name, ud) : d->src.resolved;
        if (!path) {
            sb_addf(err, "dataset '%s' has no local file", d->name);
            rc = -1;
            break;
        }
        rc = data_file_read(path, &files[i], err);
        in[i].file = &files[i];
    }
    if (rc == 0)
        rc = audit_run(in, n, cfg, report, err);
    for (size_t i = 0; i < n; i++)
        data_file_free(&files[i]);
    free(files);
    free(in);
    return rc;
}
