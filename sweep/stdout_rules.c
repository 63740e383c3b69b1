/*
 * stdout_rules.c - parse_stdout rules and presets (stdout_rules.h), on PCRE2.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "stdout_rules.h"

struct stdout_rule {
    pcre2_code *re;
    pcre2_match_data *md;
    char *event;
    char **fields;            /* capture group i+1 -> fields[i] */
    size_t n_fields;
};

struct stdout_rules {
    struct stdout_rule *rules;
    size_t n;
};

/* ---- presets ---- */

/*
 * mlx_lm.lora's lines (mlx-lm 0.19-0.26), e.g.
 *   Iter 10: Train loss 2.345, Learning Rate 1.000e-05, It/sec 1.234, Tokens/sec 567.8,
 *            Trained Tokens 12345, Peak mem 4.567 GB
 *   Iter 10: Val loss 2.101, Val took 1.234s
 *   Iter 100: Saved adapter weights to adapters/adapters.safetensors and
 *             adapters/0000100_adapters.safetensors.
 *   Saved final weights to adapters/adapters.safetensors.
 * Its "Val loss" is the mean token cross-entropy in nats: the protocol's val `nll`.
 * The checkpoint is the numbered file (the first one is overwritten at every save);
 * older versions print one path, which is then the checkpoint.
 */
static const char mlx_lm[] =
    "["
    "{\"pattern\": \"^Iter (\\\\d+): Train loss ([-+\\\\d.eE]+|nan|inf), Learning Rate "
    "([-+\\\\d.eE]+), It/sec ([-+\\\\d.eE]+), Tokens/sec ([-+\\\\d.eE]+), Trained Tokens "
    "(\\\\d+)(?:, Peak mem ([\\\\d.]+) GB)?\", \"event\": \"train\", \"fields\": [\"step\", "
    "\"loss\", \"lr\", \"it_per_s\", \"tok_per_s\", \"tokens\", \"peak_mem_gb\"]},"
    "{\"pattern\": \"^Iter (\\\\d+): Train loss .*, Peak mem ([\\\\d.]+) GB\", "
    "\"event\": \"memory\", \"fields\": [\"step\", \"peak_mem_gb\"]},"
    "{\"pattern\": \"^Iter (\\\\d+): Val loss ([-+\\\\d.eE]+|nan|inf), Val took "
    "([\\\\d.]+)s\", \"event\": \"val\", \"fields\": [\"step\", \"nll\", \"seconds\"]},"
    "{\"pattern\": \"^Iter (\\\\d+): Saved adapter weights to (?:\\\\S+ and )?(\\\\S+?)\\\\.?$\", "
    "\"event\": \"checkpoint\", \"fields\": [\"step\", \"path\"]},"
    "{\"pattern\": \"^Saved (?:final |adapter )?weights to (\\\\S+?)\\\\.?$\", "
    "\"event\": \"saved\", \"fields\": [\"path\"]}"
    "]";

const char *const stdout_preset_names[] = { "mlx-lm", NULL };

json_t *stdout_preset(const char *name)
{
    if (name && !strcmp(name, "mlx-lm"))
        return json_loads(mlx_lm, 0, NULL);
    return NULL;
}

/* ---- compiling ---- */

static pcre2_code *compile(const char *pattern, struct strbuf *err, size_t *offset)
{
    int code;
    PCRE2_SIZE at;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code,
                                   &at, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof(msg));
        sb_addf(err, "%s (at byte %zu of the pattern)", (const char *)msg, (size_t)at);
        if (offset)
            *offset = at;
    }
    return re;
}

/* The names of re's capture groups, in order (JSON null for an unnamed one). */
static json_t *group_names(const pcre2_code *re)
{
    uint32_t n = 0, n_names = 0, entry = 0;
    PCRE2_SPTR table;
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &n);
    pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &n_names);
    pcre2_pattern_info(re, PCRE2_INFO_NAMEENTRYSIZE, &entry);
    pcre2_pattern_info(re, PCRE2_INFO_NAMETABLE, &table);
    json_t *names = json_array();
    for (uint32_t i = 0; i < n; i++)
        json_array_append_new(names, json_null());
    for (uint32_t k = 0; k < n_names; k++) {
        const unsigned char *e = table + (size_t)k * entry;
        uint32_t group = ((uint32_t)e[0] << 8) | e[1];
        if (group >= 1 && group <= n)
            json_array_set_new(names, group - 1, json_string((const char *)e + 2));
    }
    return names;
}

int stdout_pattern_check(const char *pattern, size_t n_fields, json_t **groups,
                         struct strbuf *err, size_t *offset)
{
    if (offset)
        *offset = 0;
    if (groups)
        *groups = NULL;
    pcre2_code *re = compile(pattern, err, offset);
    if (!re)
        return -1;
    json_t *names = group_names(re);
    size_t n = json_array_size(names);
    int rc = 0;
    if (n_fields == 0) {
        for (size_t i = 0; i < n && rc == 0; i++)
            if (json_is_null(json_array_get(names, i))) {
                sb_addf(err, "capture group %zu has no name: name every group "
                        "((?P<step>\\d+)) or list the fields", i + 1);
                rc = -1;
            }
        if (rc == 0 && n == 0) {
            sb_addf(err, "the pattern captures nothing: an event needs at least one field");
            rc = -1;
        }
    } else if (n != n_fields) {
        sb_addf(err, "the pattern has %zu capture group%s but %zu field%s listed (use "
                "(?:...) for a group that is not a field)", n, n == 1 ? "" : "s", n_fields,
                n_fields == 1 ? " is" : "s are");
        rc = -1;
    }
    pcre2_code_free(re);
    if (groups && rc == 0)
        *groups = names;
    else
        json_decref(names);
    return rc;
}

struct stdout_rules *stdout_rules_compile(const json_t *rules, struct strbuf *err)
{
    if (!json_array_size(rules))
        return NULL;
    struct stdout_rules *r = xcalloc(1, sizeof(*r));
    r->rules = xcalloc(json_array_size(rules), sizeof(*r->rules));
    size_t i;
    json_t *item;
    json_array_foreach(rules, i, item) {
        const char *pattern = json_string_value(json_object_get(item, "pattern"));
        json_t *fields = json_object_get(item, "fields");
        struct stdout_rule *rule = &r->rules[r->n];
        struct strbuf why = STRBUF_INIT;
        json_t *names = NULL;
        if (!pattern || stdout_pattern_check(pattern, json_array_size(fields), &names, &why,
                                             NULL) < 0 ||
            !(rule->re = compile(pattern, &why, NULL))) {
            sb_addf(err, "parse_stdout pattern '%s': %s", pattern ? pattern : "", why.buf);
            sb_free(&why);
            json_decref(names);
            stdout_rules_free(r);
            return NULL;
        }
        sb_free(&why);
        r->n++;
        rule->md = pcre2_match_data_create_from_pattern(rule->re, NULL);
        rule->event = xstrdup(json_string_value(json_object_get(item, "event")));
        json_t *src = json_array_size(fields) ? fields : names;
        rule->n_fields = json_array_size(src);
        rule->fields = xcalloc(rule->n_fields + 1, sizeof(char *));
        for (size_t k = 0; k < rule->n_fields; k++)
            rule->fields[k] = xstrdup(json_string_value(json_array_get(src, k)));
        json_decref(names);
    }
    return r;
}

void stdout_rules_free(struct stdout_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        pcre2_match_data_free(r->rules[i].md);
        pcre2_code_free(r->rules[i].re);
        free(r->rules[i].event);
        for (size_t k = 0; k < r->rules[i].n_fields; k++)
            free(r->rules[i].fields[k]);
        free(r->rules[i].fields);
    }
    free(r->rules);
    free(r);
}

/* ---- matching ---- */

/* A captured text: an integer when it reads as one (`step` always is, rounded), a
 * number when it reads as one, else the text. */
static json_t *field_value(const char *name, const char *text, size_t len)
{
    char *s = xstrndup(text, len), *end;
    json_t *out;
    long long i = strtoll(s, &end, 10);
    if (*end == '\0' && end != s) {
        out = json_integer(i);
    } else {
        double v = strtod(s, &end);
        if (*end == '\0' && end != s)
            out = !strcmp(name, "step") ? json_integer((json_int_t)v) : json_real(v);
        else
            out = json_string(s);
    }
    free(s);
    return out;
}

json_t *stdout_rules_match(const struct stdout_rules *r, const char *line)
{
    json_t *events = json_array();
    size_t len = strlen(line);
    for (size_t i = 0; r && i < r->n; i++) {
        const struct stdout_rule *rule = &r->rules[i];
        if (pcre2_match(rule->re, (PCRE2_SPTR)line, len, 0, 0, rule->md, NULL) < 0)
            continue;   /* no match, or a line that is not UTF-8 */
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rule->md);
        uint32_t pairs = pcre2_get_ovector_count(rule->md);
        json_t *obj = json_pack("{s:s}", "event", rule->event);
        for (size_t k = 0; k < rule->n_fields && k + 1 < pairs; k++) {
            PCRE2_SIZE so = ov[2 * (k + 1)], eo = ov[2 * (k + 1) + 1];
            if (so == PCRE2_UNSET)
                continue;   /* an optional group that took no part */
            json_object_set_new(obj, rule->fields[k], field_value(rule->fields[k], line + so,
                                                                  eo - so));
        }
        json_array_append_new(events, obj);
    }
    return events;
}
