/* jinja_lib.c - the filters, tests, methods and global functions of the Jinja
 * subset (jinja.h), with Jinja2's and Python's meaning. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jinja.h"
#include "jinja_int.h"

static const char *const filters[] = {
    "trim", "length", "count", "tojson", "string", "upper", "lower", "first", "last", "join",
    "default", "d", "selectattr", "rejectattr", "map", "list", "capitalize", "replace", "int",
    "float", "items", "title", "abs", "reverse", "safe", "unique", "wordcount", NULL,
};

static const char *const tests[] = {
    "defined", "undefined", "none", "string", "number", "integer", "float", "mapping",
    "iterable", "sequence", "boolean", "true", "false", "odd", "even", "divisibleby", "eq",
    "equalto", "==", "ne", "!=", "sameas", "lower", "upper", "in", NULL,
};

static int in_table(const char *const *t, const char *name)
{
    for (size_t i = 0; t[i]; i++)
        if (!strcmp(t[i], name))
            return 1;
    return 0;
}

int jinja_has_filter(const char *name)
{
    return in_table(filters, name);
}

int jinja_has_test(const char *name)
{
    return in_table(tests, name);
}

static json_t *str_of(const json_t *v)
{
    struct strbuf sb = STRBUF_INIT;
    jv_str(v, &sb);
    json_t *r = json_stringn(sb_str(&sb), sb.len);
    sb_free(&sb);
    return r;
}

/* ---- strings ---- */

static int char_in(const char *chars, const char *s, size_t n)
{
    for (const char *p = chars; *p;) {
        size_t k = 1;
        while (p[k] && ((unsigned char)p[k] & 0xc0) == 0x80)
            k++;
        if (k == n && !memcmp(p, s, n))
            return 1;
        p += k;
    }
    return 0;
}

static size_t cp_len(const char *s, size_t left)
{
    size_t k = 1;
    while (k < left && ((unsigned char)s[k] & 0xc0) == 0x80)
        k++;
    return k;
}

/* Is the code point at s a space (or in chars)? Its length, or 0. */
static size_t strip_at(const char *s, size_t left, const char *chars)
{
    if (!chars)
        return utf8_space(s, left);
    size_t k = cp_len(s, left);
    return char_in(chars, s, k) ? k : 0;
}

json_t *jv_strip(const char *s, size_t len, const char *chars, int which)
{
    size_t b = 0, e = len, k;
    if (which & 1)
        while (b < e && (k = strip_at(s + b, e - b, chars)))
            b += k;
    if (which & 2)
        while (e > b) {
            size_t p = e - 1;
            while (p > b && ((unsigned char)s[p] & 0xc0) == 0x80)
                p--;
            if (!strip_at(s + p, e - p, chars))
                break;
            e = p;
        }
    return json_stringn(s + b, e - b);
}

static json_t *map_ascii(const json_t *v, int mode)
{
    /* mode 0 lower, 1 upper, 2 capitalize, 3 title */
    struct strbuf sb = STRBUF_INIT;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    int word_start = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int up = mode == 1 || (mode == 2 && i == 0) || (mode == 3 && word_start);
        sb_addc(&sb, (char)(up ? toupper(c) : tolower(c)));
        word_start = !isalpha(c);
    }
    json_t *r = json_stringn(sb_str(&sb), sb.len);
    sb_free(&sb);
    return r;
}

static json_t *split(struct jctx *c, const struct jnode *at, const json_t *v, const json_t *sep,
                     const json_t *maxsplit)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v), i = 0;
    long long max = json_is_integer(maxsplit) ? json_integer_value(maxsplit) : -1;
    json_t *r = json_array();
    if (sep && !json_is_null(sep)) {
        if (!json_is_string(sep) || !json_string_length(sep)) {
            json_decref(r);
            return jerr(c, at, "split(): the separator must be a non-empty string");
        }
        const char *d = json_string_value(sep);
        size_t dl = json_string_length(sep);
        for (;;) {
            const char *hit = max != 0 ? memmem(s + i, n - i, d, dl) : NULL;
            if (!hit) {
                json_array_append_new(r, json_stringn(s + i, n - i));
                return r;
            }
            json_array_append_new(r, json_stringn(s + i, (size_t)(hit - (s + i))));
            i = (size_t)(hit - s) + dl;
            max--;
        }
    }
    for (;;) {
        size_t k;
        while (i < n && (k = utf8_space(s + i, n - i)))
            i += k;
        if (i >= n)
            return r;
        if (max == 0) {
            json_t *rest = jv_strip(s + i, n - i, NULL, 2);
            json_array_append_new(r, rest);
            return r;
        }
        size_t b = i;
        while (i < n && !utf8_space(s + i, n - i))
            i += cp_len(s + i, n - i);
        json_array_append_new(r, json_stringn(s + b, i - b));
        max--;
    }
}

static int affix(const json_t *v, const json_t *p, int end)
{
    size_t n = json_string_length(v), k = json_string_length(p);
    return k <= n && !memcmp(json_string_value(v) + (end ? n - k : 0), json_string_value(p), k);
}

static json_t *starts_ends(struct jctx *c, const struct jnode *at, const json_t *v,
                           const json_t *p, int end)
{
    if (json_is_string(p))
        return json_boolean(affix(v, p, end));
    if (json_is_array(p)) {
        for (size_t i = 0; i < json_array_size(p); i++)
            if (json_is_string(json_array_get(p, i)) && affix(v, json_array_get(p, i), end))
                return json_true();
        return json_false();
    }
    return jerr(c, at, "%s() needs a string or a tuple of strings", end ? "endswith"
                                                                         : "startswith");
}

static json_t *replace(const json_t *v, const json_t *old, const json_t *new_,
                       long long count)
{
    const char *s = json_string_value(v), *o = json_string_value(old);
    size_t n = json_string_length(v), ol = json_string_length(old), i = 0;
    struct strbuf sb = STRBUF_INIT;
    if (!ol) {
        /* Python: "" matches between every code point */
        for (;;) {
            if (count-- != 0)
                sb_add(&sb, json_string_value(new_), json_string_length(new_));
            if (i >= n)
                break;
            size_t k = cp_len(s + i, n - i);
            sb_add(&sb, s + i, k);
            i += k;
        }
    } else {
        while (i <= n) {
            const char *hit = count != 0 ? memmem(s + i, n - i, o, ol) : NULL;
            if (!hit) {
                sb_add(&sb, s + i, n - i);
                break;
            }
            sb_add(&sb, s + i, (size_t)(hit - (s + i)));
            sb_add(&sb, json_string_value(new_), json_string_length(new_));
            i = (size_t)(hit - s) + ol;
            count--;
        }
    }
    json_t *r = json_stringn(sb_str(&sb), sb.len);
    sb_free(&sb);
    return r;
}

static json_t *str_method(struct jctx *c, const struct jnode *at, json_t *v, const char *name,
                          const struct jargs *a, int *handled)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    json_t *a0 = jarg(a, 0, NULL), *a1 = jarg(a, 1, NULL);
    *handled = 1;
    if (!strcmp(name, "strip") || !strcmp(name, "lstrip") || !strcmp(name, "rstrip")) {
        if (a0 && !json_is_null(a0) && !json_is_string(a0))
            return jerr(c, at, "%s() takes a string of characters", name);
        return jv_strip(s, n, json_string_value(a0), name[0] == 's' ? 3 : name[0] == 'l' ? 1 : 2);
    }
    if (!strcmp(name, "split"))
        return split(c, at, v, jarg(a, 0, "sep"), jarg(a, 1, "maxsplit"));
    if (!strcmp(name, "startswith") || !strcmp(name, "endswith"))
        return starts_ends(c, at, v, a0, name[0] == 'e');
    if (!strcmp(name, "upper") || !strcmp(name, "lower") || !strcmp(name, "capitalize") ||
        !strcmp(name, "title"))
        return map_ascii(v, name[0] == 'l' ? 0 : name[0] == 'u' ? 1 : name[0] == 'c' ? 2 : 3);
    if (!strcmp(name, "replace")) {
        if (!json_is_string(a0) || !json_is_string(a1))
            return jerr(c, at, "replace() takes two strings");
        json_t *cnt = jarg(a, 2, "count");
        return replace(v, a0, a1, json_is_integer(cnt) ? json_integer_value(cnt) : -1);
    }
    if (!strcmp(name, "join")) {
        if (!json_is_array(a0))
            return jerr(c, at, "join() takes a list");
        struct strbuf sb = STRBUF_INIT;
        for (size_t i = 0; i < json_array_size(a0); i++) {
            if (i)
                sb_add(&sb, s, n);
            jv_str(json_array_get(a0, i), &sb);
        }
        json_t *r = json_stringn(sb_str(&sb), sb.len);
        sb_free(&sb);
        return r;
    }
    if (!strcmp(name, "find") || !strcmp(name, "count")) {
        if (!json_is_string(a0))
            return jerr(c, at, "%s() takes a string", name);
        const char *hit = memmem(s, n, json_string_value(a0), json_string_length(a0));
        if (name[0] == 'f')
            return json_integer(hit ? (json_int_t)utf8_count(s, (size_t)(hit - s)) : -1);
        long long k = 0;
        size_t sl = json_string_length(a0);
        for (size_t i = 0; sl && i + sl <= n; ) {
            const char *h = memmem(s + i, n - i, json_string_value(a0), sl);
            if (!h)
                break;
            k++;
            i = (size_t)(h - s) + sl;
        }
        return json_integer(k);
    }
    *handled = 0;
    return NULL;
}

static json_t *items_of(const json_t *v)
{
    json_t *r = json_array();
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x)
        json_array_append_new(r, json_pack("[sO]", k, x));
    return r;
}

json_t *jinja_method(struct jctx *c, const struct jnode *at, json_t *obj, const char *name,
                     const struct jargs *a, int *handled)
{
    *handled = 0;
    if (json_is_string(obj))
        return str_method(c, at, obj, name, a, handled);
    if (json_is_object(obj)) {
        *handled = 1;
        if (!strcmp(name, "items"))
            return items_of(obj);
        if (!strcmp(name, "keys") || !strcmp(name, "values")) {
            json_t *r = json_array();
            const char *k;
            json_t *x;
            json_object_foreach(obj, k, x)
                json_array_append_new(r, name[0] == 'k' ? json_string(k) : json_incref(x));
            return r;
        }
        if (!strcmp(name, "get")) {
            json_t *k = jarg(a, 0, NULL), *d = jarg(a, 1, NULL);
            json_t *v = json_is_string(k) ? json_object_get(obj, json_string_value(k)) : NULL;
            return json_incref(v ? v : d ? d : json_null());
        }
        *handled = 0;
    }
    return NULL;
}

/* ---- filters ---- */

static json_t *attr_of(const json_t *x, const json_t *attr)
{
    if (!json_is_string(attr))
        return NULL;
    /* "a.b" reaches into nested mappings, as Jinja2's attribute= does */
    char *path = xstrdup(json_string_value(attr)), *save = NULL;
    const json_t *v = x;
    for (char *p = strtok_r(path, ".", &save); p && v; p = strtok_r(NULL, ".", &save))
        v = json_is_object(v) ? json_object_get(v, p) : NULL;
    free(path);
    return (json_t *)v;
}

static json_t *select_attr(struct jctx *c, const struct jnode *at, const json_t *v,
                           const struct jargs *a, int reject)
{
    if (!json_is_array(v))
        return jerr(c, at, "%s needs a list, not %s", reject ? "rejectattr" : "selectattr",
                    jv_type(v));
    json_t *r = json_array(), *test = jarg(a, 1, NULL);
    if (test && !json_is_string(test)) {
        json_decref(r);
        return jerr(c, at, "the test of selectattr/rejectattr must be a name");
    }
    if (test && !jinja_has_test(json_string_value(test))) {
        json_decref(r);
        return jerr(c, at, "unsupported test '%s'", json_string_value(test));
    }
    struct jargs targs = { a->pos + (a->n > 2 ? 2 : a->n), a->n > 2 ? a->n - 2 : 0, NULL,
                           NULL, 0 };
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *x = json_array_get(v, i), *val = attr_of(x, jarg(a, 0, NULL));
        int k = test ? jinja_test(c, at, json_string_value(test), val, &targs) : jv_truthy(val);
        if (k < 0) {
            json_decref(r);
            return NULL;
        }
        if (k != reject)
            json_array_append(r, x);
    }
    return r;
}

static json_t *to_list(struct jctx *c, const struct jnode *at, const json_t *v)
{
    if (json_is_array(v))
        return json_incref((json_t *)v);
    json_t *r = json_array();
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
            json_array_append_new(r, json_string(k));
        return r;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        for (size_t i = 0; i < n;) {
            size_t k = cp_len(s + i, n - i);
            json_array_append_new(r, json_stringn(s + i, k));
            i += k;
        }
        return r;
    }
    if (!v)
        return r;
    json_decref(r);
    return jerr(c, at, "a %s is not iterable", jv_type(v));
}

static json_t *length(struct jctx *c, const struct jnode *at, const json_t *v)
{
    if (json_is_string(v))
        return json_integer((json_int_t)utf8_count(json_string_value(v), json_string_length(v)));
    if (json_is_array(v))
        return json_integer((json_int_t)json_array_size(v));
    if (json_is_object(v))
        return json_integer((json_int_t)json_object_size(v));
    if (!v)
        return json_integer(0);
    return jerr(c, at, "a %s has no length", jv_type(v));
}

static json_t *filter_map(struct jctx *c, const struct jnode *at, const json_t *v,
                          const struct jargs *a)
{
    json_t *list = to_list(c, at, v);
    if (!list)
        return NULL;
    json_t *r = json_array(), *attr = jarg(a, SIZE_MAX, "attribute"),
           *def = jarg(a, SIZE_MAX, "default");
    const char *fname = json_string_value(jarg(a, 0, NULL));
    if (!attr && (!fname || !jinja_has_filter(fname))) {
        json_decref(list);
        json_decref(r);
        return jerr(c, at, "map(): unsupported filter '%s'", fname ? fname : "?");
    }
    struct jargs fargs = { a->pos + (a->n ? 1 : 0), a->n ? a->n - 1 : 0, NULL, NULL, 0 };
    for (size_t i = 0; i < json_array_size(list) && !c->failed; i++) {
        json_t *x = json_array_get(list, i), *y;
        if (attr) {
            y = json_incref(attr_of(x, attr));
            if (!y)
                y = json_incref(def ? def : NULL);
        } else {
            y = jinja_filter(c, at, fname, x, &fargs);
        }
        json_array_append_new(r, y ? y : json_null());
    }
    json_decref(list);
    if (c->failed) {
        json_decref(r);
        return NULL;
    }
    return r;
}

json_t *jinja_filter(struct jctx *c, const struct jnode *at, const char *f, json_t *v,
                     const struct jargs *a)
{
    json_t *a0 = jarg(a, 0, NULL);
    if (!strcmp(f, "safe"))
        return json_incref(v);
    if (!strcmp(f, "default") || !strcmp(f, "d")) {
        int boolean = jv_truthy(jarg(a, 1, "boolean"));
        if (!v || (boolean && !jv_truthy(v)))
            return a0 ? json_incref(a0) : json_string("");
        return json_incref(v);
    }
    if (!strcmp(f, "length") || !strcmp(f, "count"))
        return length(c, at, v);
    if (!strcmp(f, "tojson")) {
        json_t *ind = jarg(a, 0, "indent");
        if (ind && !json_is_null(ind) && !json_is_integer(ind))
            return jerr(c, at, "tojson: indent must be an integer");
        struct strbuf sb = STRBUF_INIT;
        jinja_tojson(v, json_is_integer(ind) ? (int)json_integer_value(ind) : -1, &sb);
        json_t *r = json_stringn(sb_str(&sb), sb.len);
        sb_free(&sb);
        return r;
    }
    if (!strcmp(f, "string"))
        return json_is_string(v) ? json_incref(v) : str_of(v);
    if (!strcmp(f, "list"))
        return to_list(c, at, v);
    if (!strcmp(f, "items")) {
        if (!v)
            return json_array();
        if (!json_is_object(v))
            return jerr(c, at, "items needs a mapping, not %s", jv_type(v));
        return items_of(v);
    }
    if (!strcmp(f, "first") || !strcmp(f, "last") || !strcmp(f, "reverse") ||
        !strcmp(f, "unique")) {
        json_t *l = to_list(c, at, v), *r = NULL;
        if (!l)
            return NULL;
        size_t n = json_array_size(l);
        if (f[0] == 'f')
            r = json_incref(n ? json_array_get(l, 0) : NULL);
        else if (f[0] == 'l')
            r = json_incref(n ? json_array_get(l, n - 1) : NULL);
        else if (f[0] == 'u') {
            r = json_array();
            for (size_t i = 0; i < n; i++) {
                size_t k = 0;
                while (k < json_array_size(r) && !jv_equal(json_array_get(r, k),
                                                          json_array_get(l, i)))
                    k++;
                if (k == json_array_size(r))
                    json_array_append(r, json_array_get(l, i));
            }
        } else if (json_is_string(v)) {
            struct strbuf sb = STRBUF_INIT;
            for (size_t i = n; i-- > 0;)
                jv_str(json_array_get(l, i), &sb);
            r = json_stringn(sb_str(&sb), sb.len);
            sb_free(&sb);
        } else {
            r = json_array();
            for (size_t i = n; i-- > 0;)
                json_array_append(r, json_array_get(l, i));
        }
        json_decref(l);
        return r;
    }
    if (!strcmp(f, "join")) {
        json_t *l = to_list(c, at, v), *attr = jarg(a, 1, "attribute");
        if (!l)
            return NULL;
        struct strbuf sb = STRBUF_INIT;
        for (size_t i = 0; i < json_array_size(l); i++) {
            if (i)
                jv_str(jarg(a, 0, "d"), &sb);
            json_t *x = json_array_get(l, i);
            jv_str(attr ? attr_of(x, attr) : x, &sb);
        }
        json_decref(l);
        json_t *r = json_stringn(sb_str(&sb), sb.len);
        sb_free(&sb);
        return r;
    }
    if (!strcmp(f, "selectattr") || !strcmp(f, "rejectattr"))
        return select_attr(c, at, v, a, f[0] == 'r');
    if (!strcmp(f, "map"))
        return filter_map(c, at, v, a);
    if (!strcmp(f, "int") || !strcmp(f, "float")) {
        json_t *def = jarg(a, 0, "default");
        double d;
        char *end = NULL;
        if (json_is_number(v) || json_is_boolean(v)) {
            d = json_is_boolean(v) ? json_is_true(v) : json_number_value(v);
        } else if (json_is_string(v)) {
            d = strtod(json_string_value(v), &end);
            if (end == json_string_value(v) || *end)
                return f[0] == 'i' ? json_integer(json_integer_value(def)) : json_real(json_number_value(def));
        } else {
            return f[0] == 'i' ? json_integer(json_integer_value(def)) : json_real(json_number_value(def));
        }
        return f[0] == 'i' ? json_integer((json_int_t)d) : json_real(d);
    }
    if (!strcmp(f, "abs")) {
        if (json_is_integer(v))
            return json_integer(llabs(json_integer_value(v)));
        if (json_is_real(v))
            return json_real(json_real_value(v) < 0 ? -json_real_value(v) : json_real_value(v));
        return jerr(c, at, "abs needs a number, not %s", jv_type(v));
    }
    if (!strcmp(f, "wordcount")) {
        json_t *s = str_of(v), *w = split(c, at, s, NULL, NULL);
        json_t *r = json_integer((json_int_t)json_array_size(w));
        json_decref(s);
        json_decref(w);
        return r;
    }
    /* the string filters */
    json_t *s = json_is_string(v) ? json_incref(v) : str_of(v), *r = NULL;
    if (!strcmp(f, "trim")) {
        if (a0 && !json_is_null(a0) && !json_is_string(a0))
            r = jerr(c, at, "trim takes a string of characters");
        else
            r = jv_strip(json_string_value(s), json_string_length(s), json_string_value(a0), 3);
    } else if (!strcmp(f, "upper") || !strcmp(f, "lower") || !strcmp(f, "capitalize") ||
               !strcmp(f, "title")) {
        r = map_ascii(s, f[0] == 'l' ? 0 : f[0] == 'u' ? 1 : f[0] == 'c' ? 2 : 3);
    } else if (!strcmp(f, "replace")) {
        json_t *a1 = jarg(a, 1, NULL), *cnt = jarg(a, 2, "count");
        if (!json_is_string(a0) || !json_is_string(a1))
            r = jerr(c, at, "replace takes two strings");
        else
            r = replace(s, a0, a1, json_is_integer(cnt) ? json_integer_value(cnt) : -1);
    } else {
        r = jerr(c, at, "BUG: filter '%s' is listed but not implemented", f);
    }
    json_decref(s);
    return r;
}

/* ---- tests ---- */

static int all_case(const json_t *v, int upper)
{
    const char *s = json_string_value(v);
    int cased = 0;
    for (size_t i = 0; i < json_string_length(v); i++) {
        unsigned char ch = (unsigned char)s[i];
        if (upper ? islower(ch) : isupper(ch))
            return 0;
        cased |= isalpha(ch) != 0;
    }
    return cased;
}

int jinja_test(struct jctx *c, const struct jnode *at, const char *t, const json_t *v,
               const struct jargs *a)
{
    const json_t *a0 = jarg(a, 0, NULL);
    if (!strcmp(t, "defined"))
        return v != NULL;
    if (!strcmp(t, "undefined"))
        return v == NULL;
    if (!strcmp(t, "none"))
        return json_is_null(v);
    if (!strcmp(t, "string"))
        return json_is_string(v);
    if (!strcmp(t, "number"))
        return json_is_number(v);
    if (!strcmp(t, "integer"))
        return json_is_integer(v);
    if (!strcmp(t, "float"))
        return json_is_real(v);
    if (!strcmp(t, "boolean"))
        return json_is_boolean(v);
    if (!strcmp(t, "true"))
        return json_is_true(v);
    if (!strcmp(t, "false"))
        return json_is_false(v);
    if (!strcmp(t, "mapping"))
        return json_is_object(v);
    if (!strcmp(t, "iterable"))
        return json_is_array(v) || json_is_object(v) || json_is_string(v);
    if (!strcmp(t, "sequence"))
        return json_is_array(v) || json_is_object(v) || json_is_string(v);
    if (!strcmp(t, "eq") || !strcmp(t, "equalto") || !strcmp(t, "=="))
        return jv_equal(v, a0);
    if (!strcmp(t, "ne") || !strcmp(t, "!="))
        return !jv_equal(v, a0);
    if (!strcmp(t, "sameas")) {
        if ((json_is_boolean(v) || json_is_null(v)) && a0)
            return json_typeof(v) == json_typeof(a0);
        return v == a0;
    }
    if (!strcmp(t, "lower") || !strcmp(t, "upper"))
        return json_is_string(v) && all_case(v, t[0] == 'u');
    if (!strcmp(t, "in")) {
        if (json_is_array(a0)) {
            for (size_t i = 0; i < json_array_size(a0); i++)
                if (jv_equal(v, json_array_get(a0, i)))
                    return 1;
            return 0;
        }
        if (json_is_object(a0))
            return json_is_string(v) && json_object_get(a0, json_string_value(v));
        if (json_is_string(a0) && json_is_string(v))
            return memmem(json_string_value(a0), json_string_length(a0), json_string_value(v),
                          json_string_length(v)) != NULL;
        jerr(c, at, "'in' test needs a container");
        return -1;
    }
    if (!json_is_integer(v)) {
        jerr(c, at, "test '%s' needs an integer, not %s", t, jv_type(v));
        return -1;
    }
    long long i = json_integer_value(v);
    if (!strcmp(t, "odd"))
        return i % 2 != 0;
    if (!strcmp(t, "even"))
        return i % 2 == 0;
    if (!strcmp(t, "divisibleby")) {
        if (!json_is_integer(a0) || !json_integer_value(a0)) {
            jerr(c, at, "divisibleby needs a non-zero integer");
            return -1;
        }
        return i % json_integer_value(a0) == 0;
    }
    jerr(c, at, "BUG: test '%s' is listed but not implemented", t);
    return -1;
}

/* ---- global functions ---- */

static const char *const globals[] = {
    "raise_exception", "namespace", "range", "dict", "strftime_now", NULL,
};

int jinja_is_global(const char *name)
{
    return in_table(globals, name);
}

json_t *jinja_global(struct jctx *c, const struct jnode *at, const char *name,
                     const struct jargs *a, int *handled)
{
    *handled = 1;
    if (!strcmp(name, "raise_exception")) {
        struct strbuf sb = STRBUF_INIT;
        jv_str(jarg(a, 0, NULL), &sb);
        /* the template's own message, as transformers reports it */
        json_t *r = jerr(c, NULL, "%s", sb_str(&sb));
        sb_free(&sb);
        return r;
    }
    if (!strcmp(name, "namespace") || !strcmp(name, "dict")) {
        json_t *r = json_object();
        if (a->n && json_is_object(a->pos[0]))
            json_object_update(r, a->pos[0]);
        for (size_t i = 0; i < a->n_kw; i++)
            json_object_set(r, a->kwnames[i], a->kw[i] ? a->kw[i] : json_null());
        return r;
    }
    if (!strcmp(name, "range")) {
        long long b = 0, e, s = 1;
        for (size_t i = 0; i < a->n; i++)
            if (!json_is_integer(a->pos[i]))
                return jerr(c, at, "range() takes integers");
        if (a->n == 1) {
            e = json_integer_value(a->pos[0]);
        } else if (a->n == 2 || a->n == 3) {
            b = json_integer_value(a->pos[0]);
            e = json_integer_value(a->pos[1]);
            if (a->n == 3)
                s = json_integer_value(a->pos[2]);
        } else {
            return jerr(c, at, "range() takes 1 to 3 arguments");
        }
        if (!s)
            return jerr(c, at, "range() step must not be zero");
        json_t *r = json_array();
        for (long long i = b; s > 0 ? i < e : i > e; i += s) {
            if (json_array_size(r) >= 1000000) {
                json_decref(r);
                return jerr(c, at, "range() of more than 1000000 items");
            }
            json_array_append_new(r, json_integer(i));
        }
        return r;
    }
    if (!strcmp(name, "strftime_now")) {
        const json_t *fixed = json_object_get(c->vars, "strftime_now");
        if (json_is_string(fixed))
            return json_incref((json_t *)fixed);
        const json_t *fmt = jarg(a, 0, NULL);
        if (!json_is_string(fmt))
            return jerr(c, at, "strftime_now() takes a format string");
        char buf[256];
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        size_t n = strftime(buf, sizeof(buf), json_string_value(fmt), &tm);
        return json_stringn(buf, n);
    }
    *handled = 0;
    return NULL;
}
