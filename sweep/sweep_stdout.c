/*
 * sweep_stdout.c - checking `parse_stdout:` (sweep_stdout.h).
 */
#include <string.h>

#include "error.h"
#include "stdout_rules.h"
#include "suggest.h"
#include "sweep_stdout.h"

#define AT(n) file, (n)->line, (n)->col

static int is_kind(const struct ynode *n, enum ynode_kind kind)
{
    return n->kind == kind && !(kind == YNODE_SCALAR && !ynode_is_string(n));
}

static void not_kind(const char *file, const struct ynode *n, const char *what,
                     const char *want, struct diag_list *dl)
{
    diag_add(dl, AT(n), "'%s' must be %s, not %s", what, want, ynode_type_name(n));
}

static int known_keys(const char *file, const struct ynode *map, const char *where,
                      const char *const *keys, size_t n_keys, struct diag_list *dl)
{
    int bad = 0;
    for (size_t i = 0; i < map->n; i++) {
        const struct ynode *k = map->pairs[i].key;
        int known = 0;
        for (size_t j = 0; j < n_keys && !known; j++)
            known = !strcmp(k->str, keys[j]);
        if (known)
            continue;
        const char *near = closest_word(k->str, keys, n_keys);
        if (near)
            diag_add(dl, AT(k), "unknown key '%s' in %s (did you mean '%s'?)", k->str, where,
                     near);
        else
            diag_add(dl, AT(k), "unknown key '%s' in %s", k->str, where);
        bad = 1;
    }
    return bad ? -1 : 0;
}

static void add_preset(const char *file, const struct ynode *v, json_t *out,
                       struct diag_list *dl)
{
    json_t *rules = is_kind(v, YNODE_SCALAR) ? stdout_preset(v->str) : NULL;
    if (!is_kind(v, YNODE_SCALAR)) {
        not_kind(file, v, "preset", "a string", dl);
        return;
    }
    if (!rules) {
        size_t n = 0;
        while (stdout_preset_names[n])
            n++;
        const char *near = closest_word(v->str, stdout_preset_names, n);
        diag_add(dl, AT(v), "no parse_stdout preset named '%s' (%s%s%s)", v->str,
                 near ? "did you mean '" : "presets: mlx-lm", near ? near : "", near ? "'?" : "");
        return;
    }
    json_array_extend(out, rules);
    json_decref(rules);
}

/* Where in the file byte `offset` of a pattern is: exact for a plain scalar, after
 * the opening quote for a quoted one (an escape before it shifts it a little). */
static int pattern_col(const struct ynode *pat, size_t offset)
{
    return pat->col + (pat->quoted ? 1 : 0) + (int)offset;
}

static void add_rule(const char *file, const struct ynode *r, json_t *out, struct diag_list *dl)
{
    static const char *const keys[] = { "pattern", "event", "fields" };
    if (!is_kind(r, YNODE_MAP)) {
        not_kind(file, r, "parse_stdout rule", "a mapping", dl);
        return;
    }
    if (known_keys(file, r, "a parse_stdout rule", keys, 3, dl) < 0)
        return;
    const struct ynode *pat = ymap_get(r, "pattern"), *ev = ymap_get(r, "event");
    const struct ynode *fields = ymap_get(r, "fields");
    if (!pat || !ev) {
        diag_add(dl, AT(r), "a parse_stdout rule needs a pattern and an event (and fields, "
                 "one per capture group, unless every group is named)");
        return;
    }
    if (!is_kind(pat, YNODE_SCALAR) || !is_kind(ev, YNODE_SCALAR)) {
        not_kind(file, is_kind(pat, YNODE_SCALAR) ? ev : pat,
                 is_kind(pat, YNODE_SCALAR) ? "event" : "pattern", "a string", dl);
        return;
    }
    json_t *names = json_array();
    if (fields && !is_kind(fields, YNODE_SEQ)) {
        not_kind(file, fields, "fields", "a list", dl);
        json_decref(names);
        return;
    }
    for (size_t k = 0; fields && k < fields->n; k++) {
        if (!is_kind(fields->items[k], YNODE_SCALAR)) {
            not_kind(file, fields->items[k], "fields", "a string", dl);
            json_decref(names);
            return;
        }
        json_array_append_new(names, json_string(fields->items[k]->str));
    }
    struct strbuf err = STRBUF_INIT;
    size_t offset = 0;
    json_t *groups = NULL;
    if (stdout_pattern_check(pat->str, json_array_size(names), &groups, &err, &offset) < 0) {
        diag_add(dl, file, pat->line, pattern_col(pat, offset), "parse_stdout pattern: %s",
                 err.buf);
        json_decref(names);
    } else {
        json_t *rule = json_pack("{s:s,s:s}", "pattern", pat->str, "event", ev->str);
        json_object_set_new(rule, "fields", json_array_size(names) ? names : json_incref(groups));
        if (!json_array_size(names))
            json_decref(names);
        json_array_append_new(out, rule);
    }
    json_decref(groups);
    sb_free(&err);
}

static void add_rules(const char *file, const struct ynode *v, json_t *out,
                      struct diag_list *dl)
{
    if (!is_kind(v, YNODE_SEQ)) {
        not_kind(file, v, "rules", "a list", dl);
        return;
    }
    for (size_t i = 0; i < v->n; i++)
        add_rule(file, v->items[i], out, dl);
}

/* Each example line must give at least one event through the rules. */
static void check_examples(const char *file, const struct ynode *v, const json_t *rules,
                           struct diag_list *dl)
{
    if (!is_kind(v, YNODE_SEQ)) {
        not_kind(file, v, "examples", "a list", dl);
        return;
    }
    struct strbuf err = STRBUF_INIT;
    struct stdout_rules *compiled = stdout_rules_compile(rules, &err);
    for (size_t i = 0; i < v->n; i++) {
        const struct ynode *ex = v->items[i];
        if (!is_kind(ex, YNODE_SCALAR)) {
            not_kind(file, ex, "examples", "a string", dl);
            continue;
        }
        json_t *events = stdout_rules_match(compiled, ex->str);
        if (!json_array_size(events))
            diag_add(dl, AT(ex), "this example line gives no event: no parse_stdout rule "
                     "matches it");
        json_decref(events);
    }
    stdout_rules_free(compiled);
    sb_free(&err);
}

json_t *sweep_parse_stdout_value(const char *file, const struct ynode *v, struct diag_list *dl)
{
    static const char *const keys[] = { "preset", "rules", "examples" };
    json_t *out = json_array();
    if (is_kind(v, YNODE_SCALAR)) {
        add_preset(file, v, out, dl);
    } else if (is_kind(v, YNODE_SEQ)) {
        add_rules(file, v, out, dl);
    } else if (is_kind(v, YNODE_MAP)) {
        known_keys(file, v, "parse_stdout", keys, 3, dl);
        const struct ynode *preset = ymap_get(v, "preset"), *rules = ymap_get(v, "rules");
        const struct ynode *examples = ymap_get(v, "examples");
        if (preset)
            add_preset(file, preset, out, dl);
        if (rules)
            add_rules(file, rules, out, dl);
        if (!preset && !rules)
            diag_add(dl, AT(v), "parse_stdout needs a preset or rules");
        else if (examples)
            check_examples(file, examples, out, dl);
    } else {
        not_kind(file, v, "parse_stdout", "a preset's name, a list of rules or a mapping", dl);
    }
    return out;
}
