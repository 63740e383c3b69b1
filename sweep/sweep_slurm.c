/*
 * sweep_slurm.c - the Slurm resources of a sweep file (see sweep_slurm.h and
 * sweep.h): checking a `slurm:` mapping into normalized JSON, and laying a stage's
 * or evaluation's mapping over the top-level one.
 *
 * Values reach sbatch as separate argv entries, never through a shell. They are
 * still held to what Slurm accepts (names of letters, digits, '_', '-' and '.', no
 * control characters, nothing that starts with '-'), so that a typo fails at plan
 * time rather than at submission, and `extra` may not pass the options mainline
 * sets itself. This file does not submit anything.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "suggest.h"
#include "sweep.h"
#include "sweep_slurm.h"

#define AT(n) file, (n)->line, (n)->col
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define MAX_TIME_S (365L * 86400)

static const char *const slurm_keys[] = { "partition", "account", "qos", "time",
                                          "cpus_per_task", "mem", "gres", "extra",
                                          "max_array", "signal_before_end" };

/* sbatch options `extra` may not pass, and why. */
enum refusal {
    OWNED,    /* mainline sets it on every submission */
    KEYED,    /* a key of `slurm:` sets it */
    BREAKS,   /* sbatch would not submit and return the way mainline needs */
};

static const struct refused_option {
    const char *option;
    enum refusal why;
    const char *key;          /* KEYED: the key to use instead */
} refused[] = {
    { "--hold", OWNED, NULL },
    { "--parsable", OWNED, NULL },
    { "--job-name", OWNED, NULL },
    { "--comment", OWNED, NULL },
    { "--output", OWNED, NULL },
    { "--error", OWNED, NULL },
    { "--chdir", OWNED, NULL },
    { "--requeue", OWNED, NULL },
    { "--no-requeue", OWNED, NULL },
    { "--array", OWNED, NULL },
    { "--signal", OWNED, NULL },
    { "--wrap", OWNED, NULL },
    { "--export", OWNED, NULL },
    { "--open-mode", OWNED, NULL },
    { "--dependency", OWNED, NULL },
    { "--partition", KEYED, "partition" },
    { "--account", KEYED, "account" },
    { "--qos", KEYED, "qos" },
    { "--time", KEYED, "time" },
    { "--cpus-per-task", KEYED, "cpus_per_task" },
    { "--mem", KEYED, "mem" },
    { "--gres", KEYED, "gres" },
    { "--wait", BREAKS, NULL },
    { "--test-only", BREAKS, NULL },
    { "--help", BREAKS, NULL },
    { "--usage", BREAKS, NULL },
    { "--version", BREAKS, NULL },
};

/* ---- messages ---- */

/* No NUL, no control character, no DEL: safe to show and to pass. */
static int printable(const struct ynode *n)
{
    if (strlen(n->str) != n->len)
        return 0;
    for (const unsigned char *p = (const unsigned char *)n->str; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* "'mem' must be WANT, not '32 GB'": show a short printable scalar, name the rest. */
static void bad(const char *file, const struct ynode *n, struct diag_list *dl,
                const char *key, const char *want)
{
    if (n->kind == YNODE_SCALAR && !ynode_is_null(n) && !printable(n))
        diag_add(dl, AT(n), "'%s' must be %s, not a string with a control character", key,
                 want);
    else if (n->kind == YNODE_SCALAR && !ynode_is_null(n) && n->len <= 60)
        diag_add(dl, AT(n), "'%s' must be %s, not '%s'", key, want, n->str);
    else
        diag_add(dl, AT(n), "'%s' must be %s, not %s", key, want, ynode_type_name(n));
}

/* The text of a scalar that can stand for a string (numbers too: `account: 1234`,
 * `mem: 4096`); NULL for null, booleans, lists and mappings. */
static const char *scalar_text(const struct ynode *n)
{
    int b;
    if (n->kind != YNODE_SCALAR || ynode_is_null(n) || (!n->quoted && ynode_bool(n, &b)))
        return NULL;
    return n->str;
}

/* ---- names: partition, account, qos, gres ---- */

static int name_char(char c, const char *also)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.' || (c && strchr(also, c));
}

/* Non-empty runs of name characters (and `also`), none starting with '-', separated
 * by `sep` when sep is not 0. */
static int is_name_list(const char *s, const char *also, char sep)
{
    int at_start = 1;
    for (; *s; s++) {
        if (sep && *s == sep) {
            if (at_start)
                return 0;
            at_start = 1;
            continue;
        }
        if (!name_char(*s, also) || (at_start && *s == '-'))
            return 0;
        at_start = 0;
    }
    return !at_start;
}

static json_t *load_name(const char *file, const struct ynode *n, struct diag_list *dl,
                         const char *key)
{
    static const char name_rule[] = "letters, digits, '_', '-' and '.', not starting with '-'";
    const char *s = scalar_text(n);
    struct strbuf want = STRBUF_INIT;
    int ok;
    if (!strcmp(key, "partition")) {
        sb_addf(&want, "a Slurm partition, or several separated by ',' (%s)", name_rule);
        ok = s && printable(n) && is_name_list(s, "", ',');
    } else if (!strcmp(key, "gres")) {
        sb_adds(&want, "a Slurm gres list like gpu:1 or gpu:a100:2,shard:1 (letters, digits, "
                "'_', '-', '.', ':' and ',', not starting with '-')");
        ok = s && printable(n) && is_name_list(s, ":", ',');
    } else {
        sb_addf(&want, "a Slurm name (%s)", name_rule);
        ok = s && printable(n) && is_name_list(s, "", 0);
    }
    if (!ok)
        bad(file, n, dl, key, want.buf);
    sb_free(&want);
    return ok ? json_string(s) : NULL;
}

/* ---- time ---- */

/* A run of 1 to 7 digits from s to end; 0 when it is not one. */
static int read_number(const char *s, const char *end, long long *out)
{
    if (end == s || end - s > 7)
        return 0;
    long long v = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 1;
}

/*
 * Seconds in one of sbatch's time formats: "minutes", "minutes:seconds",
 * "hours:minutes:seconds", "days-hours", "days-hours:minutes",
 * "days-hours:minutes:seconds". -1 when s is none of them.
 */
static long long slurm_time_seconds(const char *s)
{
    const char *dash = strchr(s, '-');
    long long days = 0, f[3] = { 0, 0, 0 };
    int n = 0;
    if (dash && !read_number(s, dash, &days))
        return -1;
    for (const char *p = dash ? dash + 1 : s;; n++) {
        const char *end = p + strcspn(p, ":");
        if (n == 3 || !read_number(p, end, &f[n]))
            return -1;
        if (!*end) {
            n++;
            break;
        }
        p = end + 1;
    }
    if (dash)   /* hours[:minutes[:seconds]] */
        return days * 86400 + f[0] * 3600 + f[1] * 60 + f[2];
    if (n == 1)
        return f[0] * 60;
    if (n == 2)
        return f[0] * 60 + f[1];
    return f[0] * 3600 + f[1] * 60 + f[2];
}

/* "[D-]H:MM:SS" for sbatch --time. */
static void format_slurm_time(long long secs, char *buf, size_t len)
{
    long long d = secs / 86400, h = secs / 3600 % 24, m = secs / 60 % 60, sec = secs % 60;
    if (d)
        snprintf(buf, len, "%lld-%02lld:%02lld:%02lld", d, h, m, sec);
    else
        snprintf(buf, len, "%lld:%02lld:%02lld", h, m, sec);
}

/* The seconds of a time as written: a Slurm time (a bare number is minutes, as for
 * sbatch) or the sweep file's durations with a unit (90s, 30m, 2h, 1h30m, 1d). */
static long long time_seconds(const char *s)
{
    size_t len = strlen(s);
    if (len && strspn(s, "0123456789:-") == len)
        return slurm_time_seconds(s);
    if (!len || !strchr("smhd", s[len - 1]))
        return -1;
    double d = parse_duration(s);
    if (d < 0)
        return -1;
    return d > MAX_TIME_S ? MAX_TIME_S + 1 : (long long)ceil(d);
}

static json_t *load_time(const char *file, const struct ynode *n, struct diag_list *dl)
{
    const char *s = scalar_text(n);
    long long secs = s && printable(n) ? time_seconds(s) : -1;
    if (secs < 0) {
        bad(file, n, dl, "time", "a Slurm time (minutes, minutes:seconds, "
            "hours:minutes:seconds, days-hours, days-hours:minutes or "
            "days-hours:minutes:seconds) or a duration like 30m, 2h or 1h30m");
        return NULL;
    }
    if (secs == 0) {
        diag_add(dl, AT(n), "'time' must be more than 0 (Slurm reads 0 as no limit; leave "
                 "'time' out for the partition's default)");
        return NULL;
    }
    if (secs > MAX_TIME_S) {
        diag_add(dl, AT(n), "'time' must be at most 365 days, not '%s'", s);
        return NULL;
    }
    char buf[32];
    format_slurm_time(secs, buf, sizeof(buf));
    return json_string(buf);
}

/* Seconds in a normalized time ("[D-]H:MM:SS"); 0 for NULL. */
static long normalized_time_seconds(const char *s)
{
    return s ? (long)slurm_time_seconds(s) : 0;
}

/* ---- numbers: mem and the integers ---- */

/* Digits with an optional K, M, G or T suffix; the suffix in capitals. */
static json_t *load_mem(const char *file, const struct ynode *n, struct diag_list *dl)
{
    const char *s = scalar_text(n);
    size_t digits = s ? strspn(s, "0123456789") : 0;
    int ok = s && digits >= 1 && digits <= 15 &&
             (s[digits] == '\0' || (strchr("KMGTkmgt", s[digits]) && s[digits + 1] == '\0'));
    if (!ok) {
        bad(file, n, dl, "mem", "a Slurm size: an integer with an optional K, M, G or T "
            "suffix (no suffix: megabytes)");
        return NULL;
    }
    char *norm = xstrdup(s);
    if (norm[digits] >= 'a')
        norm[digits] = (char)(norm[digits] - 'a' + 'A');
    json_t *v = json_string(norm);
    free(norm);
    return v;
}

static json_t *load_int(const char *file, const struct ynode *n, struct diag_list *dl,
                        const char *key, long long min, long long max, const char *unit)
{
    long long v;
    if (ynode_int(n, &v) && v >= min && v <= max)
        return json_integer(v);
    char want[128];
    snprintf(want, sizeof(want), "an integer from %lld to %lld%s", min, max, unit);
    bad(file, n, dl, key, want);
    return NULL;
}

/* ---- extra ---- */

static void owned_list(struct strbuf *sb)
{
    int first = 1;
    for (size_t i = 0; i < COUNT(refused); i++) {
        if (refused[i].why != OWNED)
            continue;
        sb_addf(sb, "%s%s", first ? "" : ", ", refused[i].option);
        first = 0;
    }
}

/* The refused option `opt` ("--name", without "=value") is or may abbreviate
 * (sbatch takes unambiguous prefixes of long options); NULL when none. */
static const struct refused_option *refused_option(const char *opt)
{
    for (size_t i = 0; i < COUNT(refused); i++)
        if (!strcmp(opt, refused[i].option))
            return &refused[i];
    for (size_t i = 0; i < COUNT(refused); i++)
        if (!strncmp(opt, refused[i].option, strlen(opt)))
            return &refused[i];
    return NULL;
}

/* "--name" or "--name=value", the name in sbatch's spelling (lowercase letters,
 * digits and '-', starting with a letter). */
static int is_long_option(const char *s)
{
    if (strncmp(s, "--", 2) || !(s[2] >= 'a' && s[2] <= 'z'))
        return 0;
    size_t n = 2 + strspn(s + 2, "abcdefghijklmnopqrstuvwxyz0123456789-");
    return s[n] == '\0' || s[n] == '=';
}

static void refuse_option(const char *file, const struct ynode *item, struct diag_list *dl,
                          const char *opt, const struct refused_option *r)
{
    struct strbuf why = STRBUF_INIT;
    int exact = !strcmp(opt, r->option);
    if (!exact)
        sb_addf(&why, "it may abbreviate %s; ", r->option);
    if (r->why == OWNED) {
        sb_addf(&why, "mainline sets %s itself (it owns ", r->option);
        owned_list(&why);
        sb_adds(&why, ")");
    } else if (r->why == KEYED) {
        sb_addf(&why, "set slurm's '%s' key instead", r->key);
    } else {
        sb_addf(&why, "with %s sbatch does not just submit the job and print its id, "
                "which mainline relies on", r->option);
    }
    diag_add(dl, AT(item), "'extra' cannot pass %s: %s", opt, why.buf);
    sb_free(&why);
}

static json_t *load_extra(const char *file, const struct ynode *n, struct diag_list *dl)
{
    if (n->kind != YNODE_SEQ) {
        bad(file, n, dl, "extra", "a list of sbatch options like [\"--constraint=a100\"]");
        return NULL;
    }
    json_t *list = json_array();
    int ok = 1;
    for (size_t i = 0; i < n->n; i++) {
        const struct ynode *item = n->items[i];
        const char *s = scalar_text(item);
        if (!s || !printable(item) || !is_long_option(s)) {
            bad(file, item, dl, "extra", "sbatch long options, each '--name' or "
                "'--name=value' in one item");
            ok = 0;
            continue;
        }
        char *opt = xstrndup(s, strcspn(s, "="));
        const struct refused_option *r = refused_option(opt);
        if (r) {
            refuse_option(file, item, dl, opt, r);
            ok = 0;
        }
        free(opt);
        json_array_append_new(list, json_string(s));
    }
    if (!ok) {
        json_decref(list);
        return NULL;
    }
    return list;
}

/* ---- a `slurm:` mapping ---- */

static json_t *load_key(const char *file, const struct ynode *k, const struct ynode *v,
                        struct diag_list *dl)
{
    const char *key = k->str;
    if (!strcmp(key, "partition") || !strcmp(key, "account") || !strcmp(key, "qos") ||
        !strcmp(key, "gres"))
        return load_name(file, v, dl, key);
    if (!strcmp(key, "time"))
        return load_time(file, v, dl);
    if (!strcmp(key, "mem"))
        return load_mem(file, v, dl);
    if (!strcmp(key, "cpus_per_task"))
        return load_int(file, v, dl, key, 1, 4096, "");
    if (!strcmp(key, "max_array"))
        return load_int(file, v, dl, key, 1, 100000, "");
    if (!strcmp(key, "signal_before_end"))
        return load_int(file, v, dl, key, 0, 65535, " (seconds; 0: no signal)");
    if (!strcmp(key, "extra"))
        return load_extra(file, v, dl);
    const char *near = closest_word(key, slurm_keys, COUNT(slurm_keys));
    if (near)
        diag_add(dl, AT(k), "unknown key '%s' (did you mean '%s'?)", key, near);
    else
        diag_add(dl, AT(k), "unknown key '%s' in slurm", key);
    return NULL;
}

json_t *sweep_slurm_value(const char *file, const struct ynode *map, struct diag_list *dl)
{
    if (map->kind != YNODE_MAP) {
        diag_add(dl, AT(map), "'slurm' must be a mapping, not %s", ynode_type_name(map));
        return NULL;
    }
    json_t *obj = json_object();
    for (size_t i = 0; i < map->n; i++) {
        json_t *v = load_key(file, map->pairs[i].key, map->pairs[i].value, dl);
        if (v)
            json_object_set_new(obj, map->pairs[i].key->str, v);
    }
    return obj;
}

/* ---- effective resources ---- */

/* The top-level mapping with `scope` laid over it, key by key. New reference. */
static json_t *effective(const struct sweep *s, const json_t *scope)
{
    json_t *m = json_object();
    if (s->slurm)
        json_object_update(m, s->slurm);
    if (scope)
        json_object_update(m, (json_t *)scope);
    return m;
}

static char *dup_member(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? xstrdup(s) : NULL;
}

static int int_member(const json_t *obj, const char *key, int unset)
{
    const json_t *v = json_object_get(obj, key);
    return v ? (int)json_integer_value(v) : unset;
}

int sweep_slurm_resources(const struct sweep *s, const char *stage,
                          struct slurm_resources *out)
{
    memset(out, 0, sizeof(*out));
    const json_t *scope = s->eval_slurm;
    if (stage) {
        const struct sweep_stage *st = sweep_find_stage(s, stage);
        if (!st)
            return -1;
        scope = st->slurm;
    }
    json_t *m = effective(s, scope);
    out->partition = dup_member(m, "partition");
    out->account = dup_member(m, "account");
    out->qos = dup_member(m, "qos");
    out->time = dup_member(m, "time");
    out->time_s = normalized_time_seconds(out->time);
    out->mem = dup_member(m, "mem");
    out->gres = dup_member(m, "gres");
    out->cpus_per_task = int_member(m, "cpus_per_task", 0);
    out->max_array = int_member(m, "max_array", 0);
    out->signal_before_end = int_member(m, "signal_before_end", -1);
    const json_t *extra = json_object_get(m, "extra");
    if (extra) {
        out->n_extra = json_array_size(extra);
        out->extra = xcalloc(out->n_extra ? out->n_extra : 1, sizeof(*out->extra));
        for (size_t i = 0; i < out->n_extra; i++)
            out->extra[i] = xstrdup(json_string_value(json_array_get(extra, i)));
    }
    json_decref(m);
    return 0;
}

void slurm_resources_free(struct slurm_resources *r)
{
    free(r->partition);
    free(r->account);
    free(r->qos);
    free(r->time);
    free(r->mem);
    free(r->gres);
    for (size_t i = 0; i < r->n_extra; i++)
        free(r->extra[i]);
    free(r->extra);
    memset(r, 0, sizeof(*r));
}

static int same_effective(const struct sweep *a, const json_t *scope_a, const struct sweep *b,
                          const json_t *scope_b)
{
    json_t *ea = effective(a, scope_a), *eb = effective(b, scope_b);
    int same = json_equal(ea, eb);
    json_decref(ea);
    json_decref(eb);
    return same;
}

int sweep_slurm_equal(const struct sweep *a, const struct sweep *b)
{
    if (a->n_stages != b->n_stages || !same_effective(a, a->eval_slurm, b, b->eval_slurm))
        return 0;
    for (size_t i = 0; i < a->n_stages; i++) {
        const struct sweep_stage *sb = sweep_find_stage(b, a->stages[i].name);
        if (!sb || !same_effective(a, a->stages[i].slurm, b, sb->slurm))
            return 0;
    }
    return 1;
}
