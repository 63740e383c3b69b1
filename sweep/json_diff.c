/* json_diff.c - path-by-path differences between two JSON values (see json_diff.h). */
#include <stdlib.h>
#include <string.h>

#include "canon_json.h"
#include "json_diff.h"

/* A list or mapping whose one-line form is longer than SHOW_MAX (old and new together)
 * is shown whole, pretty-printed below its path, at most SHOW_LINES lines of it (and
 * how many more there were); a scalar, however long, stays on one line. */
enum { SHOW_MAX = 100, SHOW_LINES = 30 };

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* v as lines into out: on one line when its canonical form fits WIDTH columns after
 * `indent`, else an array or object with one member a line, each laid out the same way. */
enum { WIDTH = 96 };

static void pretty(struct strbuf *out, const json_t *v, size_t indent, const char *key,
                   const char *comma)
{
    char *one = json_canon(v);
    struct strbuf head = STRBUF_INIT;
    if (key) {
        json_t *ks = json_string(key);
        char *kt = json_canon(ks);
        sb_addf(&head, "%s: ", kt);
        free(kt);
        json_decref(ks);
    }
    int compound = json_is_array(v) || json_is_object(v);
    if (!compound || indent + head.len + strlen(one) + strlen(comma) <= WIDTH ||
        (json_is_array(v) ? json_array_size(v) : json_object_size(v)) == 0) {
        sb_addf(out, "%*s%s%s%s\n", (int)indent, "", head.buf ? head.buf : "", one, comma);
    } else {
        sb_addf(out, "%*s%s%c\n", (int)indent, "", head.buf ? head.buf : "",
                json_is_array(v) ? '[' : '{');
        if (json_is_array(v)) {
            size_t i, n = json_array_size(v);
            json_t *item;
            json_array_foreach((json_t *)v, i, item)
                pretty(out, item, indent + 2, NULL, i + 1 < n ? "," : "");
        } else {
            size_t n = json_object_size(v), i = 0, k2 = 0;
            const char **keys = xmalloc(n * sizeof(*keys));
            const char *name;
            json_t *item;
            json_object_foreach((json_t *)v, name, item)
                keys[k2++] = name;
            qsort(keys, n, sizeof(*keys), cmp_str);
            for (i = 0; i < n; i++)
                pretty(out, json_object_get(v, keys[i]), indent + 2, keys[i],
                       i + 1 < n ? "," : "");
            free(keys);
        }
        sb_addf(out, "%*s%c%s\n", (int)indent, "", json_is_array(v) ? ']' : '}', comma);
    }
    sb_free(&head);
    free(one);
}

/* The index of the first line where a and b differ (their shorter length when one
 * begins the other). */
static size_t first_difference(const char *a, const char *b)
{
    size_t line = 0;
    for (; *a && *a == *b; a++, b++)
        line += *a == '\n';
    return line;
}

/* Lines [from, from + SHOW_LINES) of text under label, saying how many were left out
 * before and after. */
static void add_lines(struct strbuf *out, const char *label, const char *text, size_t from)
{
    sb_addf(out, "      %s\n", label);
    size_t lines = 0, shown = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (lines >= from && shown < SHOW_LINES) {
            if (!shown++ && from)
                sb_addf(out, "        ... (%zu line%s before)\n", from, from == 1 ? "" : "s");
            sb_add(out, p, n);
            sb_addc(out, '\n');
        }
        lines++;
        p += n + (nl != NULL);
    }
    if (from + shown < lines)
        sb_addf(out, "        ... (%zu more line%s, %zu in all)\n", lines - from - shown,
                lines - from - shown == 1 ? "" : "s", lines);
}

/* The whole old and new values, pretty-printed; of a long one the SHOW_LINES lines
 * from a little before where the two first differ. */
static void add_pretty(struct strbuf *out, const json_t *a, const json_t *b)
{
    struct strbuf ta = STRBUF_INIT, tb = STRBUF_INIT;
    if (a)
        pretty(&ta, a, 8, NULL, "");
    if (b)
        pretty(&tb, b, 8, NULL, "");
    size_t from = 0;
    if (a && b) {
        size_t d = first_difference(sb_str(&ta), sb_str(&tb));
        if (d + 1 > SHOW_LINES)
            from = d - SHOW_LINES / 2;
    }
    if (a)
        add_lines(out, "was:", sb_str(&ta), from);
    if (b)
        add_lines(out, "now:", sb_str(&tb), from);
    sb_free(&ta);
    sb_free(&tb);
}

static void line(struct strbuf *out, char mark, const char *path, const json_t *a,
                 const json_t *b)
{
    char *sa = json_canon(a ? a : b), *sb = a && b ? json_canon(b) : NULL;
    size_t n = strlen(sa) + (sb ? strlen(sb) : 0);
    sb_addf(out, "  %c %s:", mark, *path ? path : "(whole document)");
    int compound = json_is_array(a) || json_is_object(a) || json_is_array(b) ||
                   json_is_object(b);
    if (n <= SHOW_MAX || !compound) {
        sb_addf(out, " %s%s%s\n", sa, sb ? " -> " : "", sb ? sb : "");
    } else {
        /* long: the whole old and new value, each bounded */
        sb_addc(out, '\n');
        add_pretty(out, a, b);
    }
    free(sa);
    free(sb);
}


static int diff_at(const json_t *a, const json_t *b, struct strbuf *path, struct strbuf *out);

static int diff_objects(const json_t *a, const json_t *b, struct strbuf *path,
                        struct strbuf *out)
{
    size_t n = json_object_size(a) + json_object_size(b), k = 0;
    const char **keys = xmalloc((n ? n : 1) * sizeof(*keys));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)a, key, v)
        keys[k++] = key;
    json_object_foreach((json_t *)b, key, v)
        if (!json_object_get(a, key))
            keys[k++] = key;
    qsort(keys, k, sizeof(*keys), cmp_str);
    int lines = 0;
    size_t base = path->len;
    for (size_t i = 0; i < k; i++) {
        if (base)
            sb_addc(path, '.');
        sb_adds(path, keys[i]);
        const json_t *va = json_object_get(a, keys[i]), *vb = json_object_get(b, keys[i]);
        if (!va || !vb) {
            line(out, va ? '-' : '+', path->buf, va, vb);
            lines++;
        } else {
            lines += diff_at(va, vb, path, out);
        }
        path->len = base;
        path->buf[base] = '\0';
    }
    free(keys);
    return lines;
}

static int diff_at(const json_t *a, const json_t *b, struct strbuf *path, struct strbuf *out)
{
    if (json_equal(a, b))
        return 0;
    if (json_is_object(a) && json_is_object(b))
        return diff_objects(a, b, path, out);
    line(out, '~', sb_str(path), a, b);
    return 1;
}

int json_diff(const json_t *old_v, const json_t *new_v, struct strbuf *out)
{
    struct strbuf path = STRBUF_INIT;
    sb_grow(&path, 64);
    int n = diff_at(old_v, new_v, &path, out);
    sb_free(&path);
    return n;
}
