/* json_diff.c - path-by-path differences between two JSON values (see json_diff.h). */
#include <stdlib.h>
#include <string.h>

#include "canon_json.h"
#include "json_diff.h"

enum { SHOW_MAX = 100 };

static void add_value(struct strbuf *out, const json_t *v)
{
    char *s = json_canon(v);
    size_t n = strlen(s);
    if (n > SHOW_MAX) {
        sb_add(out, s, SHOW_MAX - 3);
        sb_adds(out, "...");
    } else {
        sb_add(out, s, n);
    }
    free(s);
}

static void line(struct strbuf *out, char mark, const char *path, const json_t *a,
                 const json_t *b)
{
    sb_addf(out, "  %c %s: ", mark, *path ? path : "(whole document)");
    add_value(out, a ? a : b);
    if (a && b) {
        sb_adds(out, " -> ");
        add_value(out, b);
    }
    sb_addc(out, '\n');
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
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
