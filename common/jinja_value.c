/* jinja_value.c - Jinja values on jansson: truth, Python's str(), equality,
 * UTF-8 code points, and Python's json.dumps for tojson. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jinja.h"
#include "jinja_int.h"

int jv_truthy(const json_t *v)
{
    if (!v)
        return 0;
    switch (json_typeof(v)) {
    case JSON_NULL: case JSON_FALSE: return 0;
    case JSON_TRUE: return 1;
    case JSON_INTEGER: return json_integer_value(v) != 0;
    case JSON_REAL: return json_real_value(v) != 0;
    case JSON_STRING: return json_string_length(v) != 0;
    case JSON_ARRAY: return json_array_size(v) != 0;
    case JSON_OBJECT: return json_object_size(v) != 0;
    }
    return 0;
}

const char *jv_type(const json_t *v)
{
    if (!v)
        return "undefined";
    switch (json_typeof(v)) {
    case JSON_NULL: return "none";
    case JSON_TRUE: case JSON_FALSE: return "boolean";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "float";
    case JSON_STRING: return "string";
    case JSON_ARRAY: return "list";
    case JSON_OBJECT: return "mapping";
    }
    return "?";
}

/* Python's repr() of a float: the shortest text that reads back the same. */
static void add_float(struct strbuf *out, double d)
{
    if (isnan(d)) {
        sb_adds(out, "nan");
        return;
    }
    if (isinf(d)) {
        sb_adds(out, d < 0 ? "-inf" : "inf");
        return;
    }
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    char *e = strchr(buf, 'e');
    if (e) {
        /* Python: 1e-05, 1e+16 (two exponent digits at least, as C) */
        sb_adds(out, buf);
        return;
    }
    if (!strchr(buf, '.')) {
        /* %g may have dropped digits of a large integral value: Python writes
         * 1e+16 from 16 digits on, else the digits with ".0" */
        if (fabs(d) >= 1e16) {
            snprintf(buf, sizeof(buf), "%.16e", d);
            sb_adds(out, buf);
            return;
        }
        snprintf(buf, sizeof(buf), "%.0f", d);
        sb_adds(out, buf);
        sb_adds(out, ".0");
        return;
    }
    sb_adds(out, buf);
}

static void add_repr_str(struct strbuf *out, const char *s, size_t n)
{
    char q = memchr(s, '\'', n) && !memchr(s, '"', n) ? '"' : '\'';
    sb_addc(out, q);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == (unsigned char)q)
            sb_addf(out, "\\%c", c);
        else if (c == '\n')
            sb_adds(out, "\\n");
        else if (c == '\t')
            sb_adds(out, "\\t");
        else if (c == '\r')
            sb_adds(out, "\\r");
        else if (c < 0x20 || c == 0x7f)
            sb_addf(out, "\\x%02x", c);
        else
            sb_addc(out, (char)c);
    }
    sb_addc(out, q);
}

static void add_repr(struct strbuf *out, const json_t *v)
{
    if (json_is_string(v))
        add_repr_str(out, json_string_value(v), json_string_length(v));
    else
        jv_str(v, out);
}

void jv_str(const json_t *v, struct strbuf *out)
{
    if (!v)
        return;
    switch (json_typeof(v)) {
    case JSON_NULL: sb_adds(out, "None"); break;
    case JSON_TRUE: sb_adds(out, "True"); break;
    case JSON_FALSE: sb_adds(out, "False"); break;
    case JSON_INTEGER: sb_addf(out, "%lld", (long long)json_integer_value(v)); break;
    case JSON_REAL: add_float(out, json_real_value(v)); break;
    case JSON_STRING: sb_add(out, json_string_value(v), json_string_length(v)); break;
    case JSON_ARRAY: {
        sb_addc(out, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                sb_adds(out, ", ");
            add_repr(out, json_array_get(v, i));
        }
        sb_addc(out, ']');
        break;
    }
    case JSON_OBJECT: {
        const char *k;
        json_t *x;
        int first = 1;
        sb_addc(out, '{');
        json_object_foreach((json_t *)v, k, x) {
            if (!first)
                sb_adds(out, ", ");
            first = 0;
            add_repr_str(out, k, strlen(k));
            sb_adds(out, ": ");
            add_repr(out, x);
        }
        sb_addc(out, '}');
        break;
    }
    }
}

static int is_num(const json_t *v)
{
    return json_is_number(v) || json_is_boolean(v);
}

static double num(const json_t *v)
{
    return json_is_boolean(v) ? json_is_true(v) : json_number_value(v);
}

int jv_equal(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return !a && !b;
    if (is_num(a) && is_num(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return num(a) == num(b);
    }
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!jv_equal(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    if (json_is_object(a)) {
        const char *k;
        json_t *x;
        if (json_object_size(a) != json_object_size(b))
            return 0;
        json_object_foreach((json_t *)a, k, x)
            if (!jv_equal(x, json_object_get(b, k)))
                return 0;
        return 1;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

size_t utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

size_t utf8_offset(const char *s, size_t len, size_t i)
{
    size_t off = 0;
    while (off < len && i > 0) {
        off++;
        while (off < len && ((unsigned char)s[off] & 0xc0) == 0x80)
            off++;
        i--;
    }
    return off;
}

size_t utf8_space(const char *s, size_t len)
{
    unsigned char c = (unsigned char)s[0];
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f))
        return 1;
    if (c < 0x80 || len < 2)
        return 0;
    unsigned u;
    size_t n;
    if ((c & 0xe0) == 0xc0) {
        u = ((c & 0x1fu) << 6) | ((unsigned char)s[1] & 0x3f);
        n = 2;
    } else if ((c & 0xf0) == 0xe0 && len >= 3) {
        u = ((c & 0x0fu) << 12) | (((unsigned char)s[1] & 0x3fu) << 6) |
            ((unsigned char)s[2] & 0x3f);
        n = 3;
    } else {
        return 0;
    }
    if (u == 0x85 || u == 0xa0 || u == 0x1680 || (u >= 0x2000 && u <= 0x200a) ||
        u == 0x2028 || u == 0x2029 || u == 0x202f || u == 0x205f || u == 0x3000)
        return n;
    return 0;
}

/* ---- tojson: Python's json.dumps(ensure_ascii=False) ---- */

static void json_str(struct strbuf *out, const char *s, size_t n)
{
    sb_addc(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': sb_adds(out, "\\\""); break;
        case '\\': sb_adds(out, "\\\\"); break;
        case '\n': sb_adds(out, "\\n"); break;
        case '\r': sb_adds(out, "\\r"); break;
        case '\t': sb_adds(out, "\\t"); break;
        case '\b': sb_adds(out, "\\b"); break;
        case '\f': sb_adds(out, "\\f"); break;
        default:
            if (c < 0x20)
                sb_addf(out, "\\u%04x", c);
            else
                sb_addc(out, (char)c);
        }
    }
    sb_addc(out, '"');
}

static void newline(struct strbuf *out, int indent, int depth)
{
    sb_addc(out, '\n');
    for (int i = 0; i < indent * depth; i++)
        sb_addc(out, ' ');
}

static void dumps(const json_t *v, int indent, int depth, struct strbuf *out)
{
    const char *item_sep = indent >= 0 ? "," : ", ";
    if (!v || json_is_null(v)) {
        sb_adds(out, "null");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_TRUE: sb_adds(out, "true"); return;
    case JSON_FALSE: sb_adds(out, "false"); return;
    case JSON_INTEGER: case JSON_REAL: jv_str(v, out); return;
    case JSON_STRING: json_str(out, json_string_value(v), json_string_length(v)); return;
    case JSON_ARRAY:
        if (!json_array_size(v)) {
            sb_adds(out, "[]");
            return;
        }
        sb_addc(out, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                sb_adds(out, item_sep);
            if (indent >= 0)
                newline(out, indent, depth + 1);
            dumps(json_array_get(v, i), indent, depth + 1, out);
        }
        if (indent >= 0)
            newline(out, indent, depth);
        sb_addc(out, ']');
        return;
    case JSON_OBJECT: {
        if (!json_object_size(v)) {
            sb_adds(out, "{}");
            return;
        }
        const char *k;
        json_t *x;
        int first = 1;
        sb_addc(out, '{');
        json_object_foreach((json_t *)v, k, x) {
            if (!first)
                sb_adds(out, item_sep);
            first = 0;
            if (indent >= 0)
                newline(out, indent, depth + 1);
            json_str(out, k, strlen(k));
            sb_adds(out, ": ");
            dumps(x, indent, depth + 1, out);
        }
        if (indent >= 0)
            newline(out, indent, depth);
        sb_addc(out, '}');
        return;
    }
    default:
        return;
    }
}

void jinja_tojson(const json_t *v, int indent, struct strbuf *out)
{
    dumps(v, indent, 0, out);
}
