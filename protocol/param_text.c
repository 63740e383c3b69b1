/*
 * param_text.c - a parameter value as short, stable text (see params.h):
 * 0.0003 -> "3e-4", [q_proj, v_proj] -> "q_proj+v_proj", a model source -> its
 * name. Run ids, tables and reports all print values this way.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "strbuf.h"

/* Shortest text that reads back as the same double, in e-notation for very small
 * or large magnitudes: 0.0003 -> "3e-4", 1e-3 -> "1e-3", 0.5 -> "0.5". */
static void real_text(double v, struct strbuf *sb)
{
    char buf[64];
    double mag = fabs(v);
    int sci = v != 0 && (mag < 1e-2 || mag >= 1e6);
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof(buf), sci ? "%.*e" : "%.*g", sci ? p - 1 : p, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (!sci && v == floor(v) && mag < 1e15) {
        sb_addf(sb, "%.0f", v);   /* 10.0 -> "10", not %g's "1e+01" */
        return;
    }
    if (!sci) {
        sb_adds(sb, buf);
        return;
    }
    char *e = strchr(buf, 'e');
    char *mant_end = e;
    if (memchr(buf, '.', (size_t)(e - buf))) {
        while (mant_end[-1] == '0')
            mant_end--;
        if (mant_end[-1] == '.')
            mant_end--;
    }
    sb_add(sb, buf, (size_t)(mant_end - buf));
    int exp = atoi(e + 1);
    sb_addf(sb, "e%d", exp);
}

/*
 * A file's short name: its stem ("base" for models/base.safetensors), or its
 * directory's name when the stem says nothing ("tiny-base" for
 * models/tiny-base/model.safetensors, the Hugging Face layout).
 */
static void source_slug(const char *path, struct strbuf *sb)
{
    const char *base = strrchr(path, '/');
    const char *start = base ? base + 1 : path;
    const char *dot = strrchr(start, '.');
    size_t n = dot && dot != start ? (size_t)(dot - start) : strlen(start);
    int generic = (n == 5 && !strncmp(start, "model", 5)) ||
                  (n == 13 && !strncmp(start, "pytorch_model", 13));
    if (generic && base && base != path) {
        const char *dir = base;
        while (dir > path && dir[-1] != '/')
            dir--;
        sb_add(sb, dir, (size_t)(base - dir));
        return;
    }
    sb_add(sb, start, n);
}

/* A source object's slug: its member's (a file in an archive), else its path's or
 * URL's; a generic member at the archive's top takes the archive's name. */
static void source_json_slug(const json_t *v, struct strbuf *sb)
{
    const char *where = json_string_value(json_object_get(v, "path"));
    const char *member = json_string_value(json_object_get(v, "member"));
    if (!where)
        where = json_string_value(json_object_get(v, "url"));
    if (!member) {
        source_slug(where, sb);
        return;
    }
    size_t before = sb->len;
    source_slug(member, sb);
    const char *added = sb->buf + before;
    if (strchr(member, '/') || (strcmp(added, "model") && strcmp(added, "pytorch_model")))
        return;
    sb->len = before;
    sb->buf[before] = '\0';
    const char *slash = strrchr(where, '/');
    const char *base = slash ? slash + 1 : where;
    sb_add(sb, base, strcspn(base, "."));
}

static void value_text(const json_t *v, struct strbuf *sb)
{
    size_t i;
    json_t *item;
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        sb_addf(sb, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        real_text(json_real_value(v), sb);
        break;
    case JSON_STRING:
        sb_add(sb, json_string_value(v), json_string_length(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        sb_adds(sb, json_is_true(v) ? "true" : "false");
        break;
    case JSON_ARRAY:
        json_array_foreach(v, i, item) {
            if (i)
                sb_addc(sb, '+');
            value_text(item, sb);
        }
        break;
    case JSON_OBJECT:
        if (json_is_string(json_object_get(v, "path")) ||   /* x_* maps may have any path */
            json_is_string(json_object_get(v, "url"))) {
            source_json_slug(v, sb);
        } else {
            const char *key;
            json_t *val;
            int first = 1;
            json_object_foreach((json_t *)v, key, val) {
                sb_addf(sb, "%s%s", first ? "" : "-", key);
                value_text(val, sb);
                first = 0;
            }
        }
        break;
    default:
        sb_adds(sb, "null");
    }
}

char *param_value_text(const json_t *v)
{
    struct strbuf sb = STRBUF_INIT;
    value_text(v, &sb);
    return sb_detach(&sb);
}
