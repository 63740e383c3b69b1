/* jinja_eval.c - rendering the syntax tree (jinja_int.h): scopes, statements,
 * expressions, operators. The filters, tests and methods are in jinja_lib.c. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "jinja.h"
#include "jinja_int.h"

json_t *jerr(struct jctx *c, const struct jnode *at, const char *fmt, ...)
{
    if (!c->failed) {
        va_list ap;
        if (at)
            sb_addf(c->err, "%d:%d: ", at->line, at->col);
        va_start(ap, fmt);
        sb_vaddf(c->err, fmt, ap);
        va_end(ap);
    }
    c->failed = 1;
    return NULL;
}

json_t *jarg(const struct jargs *a, size_t i, const char *name)
{
    for (size_t k = 0; name && k < a->n_kw; k++)
        if (!strcmp(a->kwnames[k], name))
            return a->kw[k];
    return i < a->n ? a->pos[i] : NULL;
}

static void push_scope(struct jctx *c)
{
    if (c->n_scopes == c->alloc_scopes) {
        c->alloc_scopes = c->alloc_scopes ? 2 * c->alloc_scopes : 8;
        c->scopes = xrealloc(c->scopes, c->alloc_scopes * sizeof(*c->scopes));
    }
    c->scopes[c->n_scopes++] = json_object();
}

static void pop_scope(struct jctx *c)
{
    json_decref(c->scopes[--c->n_scopes]);
}

static void set_var(struct jctx *c, const char *name, json_t *v)
{
    /* v: a new reference or NULL (undefined) */
    if (v)
        json_object_set_new(c->scopes[c->n_scopes - 1], name, v);
    else
        json_object_del(c->scopes[c->n_scopes - 1], name);
}

static json_t *lookup(struct jctx *c, const char *name)
{
    for (size_t i = c->n_scopes; i-- > 0;) {
        json_t *v = json_object_get(c->scopes[i], name);
        if (v)
            return json_incref(v);
    }
    return json_incref(json_object_get(c->vars, name));
}

static json_t *eval(struct jctx *c, const struct jnode *n);
static int exec_body(struct jctx *c, const struct jlist *body, struct strbuf *out);

static void free_args(struct jargs *a)
{
    for (size_t i = 0; i < a->n; i++)
        json_decref(a->pos[i]);
    for (size_t i = 0; i < a->n_kw; i++)
        json_decref(a->kw[i]);
    free(a->pos);
    free(a->kw);
}

static int eval_args(struct jctx *c, const struct jnode *n, struct jargs *a)
{
    memset(a, 0, sizeof(*a));
    a->pos = xcalloc(n->args.n + 1, sizeof(*a->pos));
    a->kw = xcalloc(n->kwargs.n + 1, sizeof(*a->kw));
    a->kwnames = n->kwnames;
    for (size_t i = 0; i < n->args.n && !c->failed; i++)
        a->pos[a->n++] = eval(c, n->args.v[i]);
    for (size_t i = 0; i < n->kwargs.n && !c->failed; i++)
        a->kw[a->n_kw++] = eval(c, n->kwargs.v[i]);
    return c->failed ? -1 : 0;
}

/* ---- subscripts ---- */

static json_t *item(struct jctx *c, const struct jnode *at, json_t *obj, const json_t *key)
{
    if (!obj)
        return jerr(c, at, "cannot index an undefined value");
    if (json_is_object(obj)) {
        if (!json_is_string(key))
            return NULL;
        return json_incref(json_object_get(obj, json_string_value(key)));
    }
    if (json_is_array(obj) || json_is_string(obj)) {
        if (!json_is_integer(key))
            return json_is_array(obj) ? jerr(c, at, "list indices must be integers, not %s",
                                              jv_type(key))
                                      : NULL;
        long long i = json_integer_value(key);
        size_t n = json_is_array(obj) ? json_array_size(obj)
                                      : utf8_count(json_string_value(obj),
                                                   json_string_length(obj));
        if (i < 0)
            i += (long long)n;
        if (i < 0 || (size_t)i >= n)
            return NULL;
        if (json_is_array(obj))
            return json_incref(json_array_get(obj, (size_t)i));
        const char *s = json_string_value(obj);
        size_t len = json_string_length(obj), b = utf8_offset(s, len, (size_t)i);
        return json_stringn(s + b, utf8_offset(s, len, (size_t)i + 1) - b);
    }
    return NULL;   /* None and numbers have no items: undefined */
}

static int slice_bound(struct jctx *c, const struct jnode *at, const json_t *v, long long def,
                       long long *out)
{
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v)) {
        jerr(c, at, "slice indices must be integers or none");
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

static json_t *slice(struct jctx *c, const struct jnode *n, json_t *obj)
{
    json_t *vb = n->b ? eval(c, n->b) : NULL, *vc = n->c ? eval(c, n->c) : NULL,
           *vd = n->d ? eval(c, n->d) : NULL, *res = NULL;
    long long len, start, stop, step;
    if (c->failed)
        goto out;
    if (!json_is_array(obj) && !json_is_string(obj)) {
        jerr(c, n, "cannot slice a %s", jv_type(obj));
        goto out;
    }
    len = json_is_array(obj) ? (long long)json_array_size(obj)
                             : (long long)utf8_count(json_string_value(obj),
                                                     json_string_length(obj));
    if (slice_bound(c, n, vd, 1, &step) < 0)
        goto out;
    if (step == 0) {
        jerr(c, n, "slice step cannot be zero");
        goto out;
    }
    if (slice_bound(c, n, vb, step > 0 ? 0 : len - 1, &start) < 0 ||
        slice_bound(c, n, vc, step > 0 ? len : -len - 1, &stop) < 0)
        goto out;
    /* Python's clamping */
    if (start < 0)
        start += len;
    if (stop < 0)
        stop += len;
    if (step > 0) {
        start = start < 0 ? 0 : start > len ? len : start;
        stop = stop < 0 ? 0 : stop > len ? len : stop;
    } else {
        start = start < -1 ? -1 : start > len - 1 ? len - 1 : start;
        stop = stop < -1 ? -1 : stop > len - 1 ? len - 1 : stop;
    }
    if (json_is_array(obj)) {
        res = json_array();
        for (long long i = start; step > 0 ? i < stop : i > stop; i += step)
            json_array_append(res, json_array_get(obj, (size_t)i));
    } else {
        const char *s = json_string_value(obj);
        size_t sl = json_string_length(obj);
        struct strbuf sb = STRBUF_INIT;
        for (long long i = start; step > 0 ? i < stop : i > stop; i += step) {
            size_t b = utf8_offset(s, sl, (size_t)i);
            sb_add(&sb, s + b, utf8_offset(s, sl, (size_t)i + 1) - b);
        }
        res = json_stringn(sb_str(&sb), sb.len);
        sb_free(&sb);
    }
out:
    json_decref(vb);
    json_decref(vc);
    json_decref(vd);
    return res;
}

/* ---- operators ---- */

static int num_like(const json_t *v)
{
    return json_is_number(v) || json_is_boolean(v);
}

static double dnum(const json_t *v)
{
    return json_is_boolean(v) ? json_is_true(v) : json_number_value(v);
}

static long long inum(const json_t *v)
{
    return json_is_boolean(v) ? json_is_true(v) : json_integer_value(v);
}

static json_t *concat(json_t *a, json_t *b)
{
    if (json_is_string(a)) {
        struct strbuf sb = STRBUF_INIT;
        sb_add(&sb, json_string_value(a), json_string_length(a));
        sb_add(&sb, json_string_value(b), json_string_length(b));
        json_t *r = json_stringn(sb_str(&sb), sb.len);
        sb_free(&sb);
        return r;
    }
    json_t *r = json_array();
    json_array_extend(r, a);
    json_array_extend(r, b);
    return r;
}

static json_t *contains(struct jctx *c, const struct jnode *at, json_t *needle, json_t *hay)
{
    if (!hay)
        return json_false();
    if (json_is_string(hay)) {
        if (!json_is_string(needle))
            return jerr(c, at, "'in <string>' requires a string on the left, not %s",
                        jv_type(needle));
        return json_boolean(memmem(json_string_value(hay), json_string_length(hay),
                                   json_string_value(needle), json_string_length(needle)) != NULL);
    }
    if (json_is_array(hay)) {
        for (size_t i = 0; i < json_array_size(hay); i++)
            if (jv_equal(needle, json_array_get(hay, i)))
                return json_true();
        return json_false();
    }
    if (json_is_object(hay))
        return json_boolean(json_is_string(needle) &&
                            json_object_get(hay, json_string_value(needle)));
    return jerr(c, at, "'in' needs a string, list or mapping on the right, not %s",
                jv_type(hay));
}

static json_t *arith(struct jctx *c, const struct jnode *n, json_t *a, json_t *b)
{
    const char *op = n->s;
    if (num_like(a) && num_like(b)) {
        int ints = !json_is_real(a) && !json_is_real(b);
        double x = dnum(a), y = dnum(b);
        long long i = inum(a), j = inum(b);
        switch (op[0]) {
        case '+': return ints ? json_integer(i + j) : json_real(x + y);
        case '-': return ints ? json_integer(i - j) : json_real(x - y);
        case '*':
            if (op[1] == '*') {
                if (ints && j >= 0) {
                    long long r = 1;
                    for (long long k = 0; k < j; k++)
                        r *= i;
                    return json_integer(r);
                }
                return json_real(pow(x, y));
            }
            return ints ? json_integer(i * j) : json_real(x * y);
        case '/':
            if (y == 0)
                return jerr(c, n, "division by zero");
            if (op[1] == '/') {
                if (ints) {
                    long long q = i / j;
                    if ((i % j != 0) && ((i < 0) != (j < 0)))
                        q--;
                    return json_integer(q);
                }
                return json_real(floor(x / y));
            }
            return json_real(x / y);
        case '%':
            if (y == 0)
                return jerr(c, n, "modulo by zero");
            if (ints) {
                long long r = i % j;
                if (r != 0 && ((r < 0) != (j < 0)))
                    r += j;
                return json_integer(r);
            }
            return json_real(x - y * floor(x / y));
        }
    }
    if (op[0] == '+' && ((json_is_string(a) && json_is_string(b)) ||
                         (json_is_array(a) && json_is_array(b))))
        return concat(a, b);
    if (op[0] == '*' && !op[1] && (json_is_string(a) || json_is_array(a)) && json_is_integer(b)) {
        json_t *r = json_is_string(a) ? json_string("") : json_array();
        for (long long k = 0; k < json_integer_value(b); k++) {
            json_t *t = concat(r, a);
            json_decref(r);
            r = t;
        }
        return r;
    }
    if (op[0] == '%' && json_is_string(a))
        return jerr(c, n, "unsupported: '%%' string formatting");
    return jerr(c, n, "unsupported operand types for %s: %s and %s", op, jv_type(a),
                jv_type(b));
}

static int compare(struct jctx *c, const struct jnode *n, json_t *a, json_t *b)
{
    const char *op = n->s;
    if (!strcmp(op, "=="))
        return jv_equal(a, b);
    if (!strcmp(op, "!="))
        return !jv_equal(a, b);
    int cmp;
    if (num_like(a) && num_like(b)) {
        double x = dnum(a), y = dnum(b);
        cmp = x < y ? -1 : x > y;
    } else if (json_is_string(a) && json_is_string(b)) {
        size_t la = json_string_length(a), lb = json_string_length(b);
        cmp = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
        if (!cmp)
            cmp = la < lb ? -1 : la > lb;
    } else {
        jerr(c, n, "'%s' not supported between %s and %s", op, jv_type(a), jv_type(b));
        return -1;
    }
    if (!strcmp(op, "<"))
        return cmp < 0;
    if (!strcmp(op, "<="))
        return cmp <= 0;
    if (!strcmp(op, ">"))
        return cmp > 0;
    return cmp >= 0;
}

static json_t *binop(struct jctx *c, const struct jnode *n)
{
    json_t *a = eval(c, n->a), *b = c->failed ? NULL : eval(c, n->b), *r = NULL;
    if (c->failed)
        goto out;
    const char *op = n->s;
    if (!strcmp(op, "~")) {
        struct strbuf sb = STRBUF_INIT;
        jv_str(a, &sb);
        jv_str(b, &sb);
        r = json_stringn(sb_str(&sb), sb.len);
        sb_free(&sb);
    } else if (!strcmp(op, "in") || !strcmp(op, "notin")) {
        r = contains(c, n, a, b);
        if (r && op[0] == 'n') {
            json_t *t = json_boolean(!json_is_true(r));
            json_decref(r);
            r = t;
        }
    } else if (strchr("=!<>", op[0])) {
        int k = compare(c, n, a, b);
        r = k < 0 ? NULL : json_boolean(k);
    } else {
        if (!a || !b)
            r = jerr(c, n, "unsupported operand types for %s: %s and %s", op, jv_type(a),
                     jv_type(b));
        else
            r = arith(c, n, a, b);
    }
out:
    json_decref(a);
    json_decref(b);
    return r;
}

/* ---- calls ---- */

static json_t *call_macro(struct jctx *c, const struct jnode *at, const struct jnode *def,
                          const struct jargs *a)
{
    if (a->n > def->n_names)
        return jerr(c, at, "macro '%s' takes %zu arguments, got %zu", def->s, def->n_names,
                    a->n);
    push_scope(c);
    for (size_t i = 0; i < a->n_kw; i++) {
        size_t k = 0;
        while (k < def->n_names && strcmp(def->names[k], a->kwnames[i]))
            k++;
        if (k == def->n_names) {
            pop_scope(c);
            return jerr(c, at, "macro '%s' has no parameter '%s'", def->s, a->kwnames[i]);
        }
    }
    for (size_t k = 0; k < def->n_names && !c->failed; k++) {
        json_t *v = jarg(a, k, def->names[k]);
        if (v)
            set_var(c, def->names[k], json_incref(v));
        else if (def->args.v[k])
            set_var(c, def->names[k], eval(c, def->args.v[k]));
    }
    struct strbuf out = STRBUF_INIT;
    if (!c->failed)
        exec_body(c, &def->body, &out);
    pop_scope(c);
    json_t *r = c->failed ? NULL : json_stringn(sb_str(&out), out.len);
    sb_free(&out);
    return r;
}

static json_t *call(struct jctx *c, const struct jnode *n)
{
    struct jargs a;
    json_t *r = NULL, *obj = NULL;
    if (eval_args(c, n, &a) < 0)
        goto out;
    const struct jnode *f = n->a;
    int handled = 0;
    if (f->kind == JE_ATTR) {
        obj = eval(c, f->a);
        if (c->failed)
            goto out;
        if (!obj) {
            r = jerr(c, f, "cannot call '%s' of an undefined value", f->s);
            goto out;
        }
        r = jinja_method(c, n, obj, f->s, &a, &handled);
        if (!handled && !c->failed)
            r = jerr(c, f, "unsupported method '%s' of a %s", f->s, jv_type(obj));
        goto out;
    }
    if (f->kind == JE_NAME) {
        for (size_t i = c->n_macros; i-- > 0;)
            if (!strcmp(c->macros[i].name, f->s)) {
                r = call_macro(c, n, c->macros[i].def, &a);
                goto out;
            }
        r = jinja_global(c, n, f->s, &a, &handled);
        if (!handled && !c->failed)
            r = jerr(c, f, "'%s' is not a function", f->s);
        goto out;
    }
    r = jerr(c, n, "unsupported: calling an expression");
out:
    json_decref(obj);
    free_args(&a);
    return r;
}

static json_t *eval(struct jctx *c, const struct jnode *n)
{
    if (c->failed)
        return NULL;
    switch (n->kind) {
    case JE_LIT:
        return json_incref(n->lit);
    case JE_NAME:
        return lookup(c, n->s);
    case JE_ATTR: {
        json_t *o = eval(c, n->a), *r = NULL;
        if (c->failed)
            return NULL;
        if (!o)
            return jerr(c, n, "cannot read attribute '%s' of an undefined value", n->s);
        if (json_is_object(o))
            r = json_incref(json_object_get(o, n->s));
        json_decref(o);
        return r;
    }
    case JE_ITEM: {
        json_t *o = eval(c, n->a), *k = eval(c, n->b), *r = NULL;
        if (!c->failed)
            r = item(c, n, o, k);
        json_decref(o);
        json_decref(k);
        return r;
    }
    case JE_SLICE: {
        json_t *o = eval(c, n->a), *r = c->failed ? NULL : slice(c, n, o);
        json_decref(o);
        return r;
    }
    case JE_CALL:
        return call(c, n);
    case JE_FILTER: {
        struct jargs a;
        json_t *v = eval(c, n->a), *r = NULL;
        if (eval_args(c, n, &a) == 0)
            r = jinja_filter(c, n, n->s, v, &a);
        free_args(&a);
        json_decref(v);
        return r;
    }
    case JE_TEST: {
        struct jargs a;
        json_t *v = eval(c, n->a);
        int k = -1;
        if (eval_args(c, n, &a) == 0)
            k = jinja_test(c, n, n->s, v, &a);
        free_args(&a);
        json_decref(v);
        return k < 0 ? NULL : json_boolean(n->neg ? !k : k);
    }
    case JE_NEG:
    case JE_POS: {
        json_t *v = eval(c, n->a), *r = NULL;
        if (c->failed)
            return NULL;
        if (json_is_integer(v))
            r = json_integer(n->kind == JE_NEG ? -json_integer_value(v) : json_integer_value(v));
        else if (json_is_real(v))
            r = json_real(n->kind == JE_NEG ? -json_real_value(v) : json_real_value(v));
        else
            r = jerr(c, n, "bad operand type for unary %c: %s", n->kind == JE_NEG ? '-' : '+',
                     jv_type(v));
        json_decref(v);
        return r;
    }
    case JE_NOT: {
        json_t *v = eval(c, n->a);
        int t = jv_truthy(v);
        json_decref(v);
        return c->failed ? NULL : json_boolean(!t);
    }
    case JE_AND:
    case JE_OR: {
        json_t *a = eval(c, n->a);
        if (c->failed || jv_truthy(a) == (n->kind == JE_OR))
            return a;
        json_decref(a);
        return eval(c, n->b);
    }
    case JE_COND: {
        json_t *t = eval(c, n->a);
        int k = jv_truthy(t);
        json_decref(t);
        if (c->failed)
            return NULL;
        return k ? eval(c, n->b) : n->c ? eval(c, n->c) : NULL;
    }
    case JE_BIN:
        return binop(c, n);
    case JE_LIST:
    case JE_TUPLE: {
        json_t *r = json_array();
        for (size_t i = 0; i < n->args.n && !c->failed; i++) {
            json_t *v = eval(c, n->args.v[i]);
            json_array_append_new(r, v ? v : json_null());
        }
        if (c->failed) {
            json_decref(r);
            return NULL;
        }
        return r;
    }
    case JE_DICT: {
        json_t *r = json_object();
        for (size_t i = 0; i < n->args.n && !c->failed; i++) {
            json_t *k = eval(c, n->args.v[i]), *v = eval(c, n->kwargs.v[i]);
            if (!c->failed && !json_is_string(k))
                jerr(c, n->args.v[i], "unsupported: a mapping key that is a %s", jv_type(k));
            else if (!c->failed)
                json_object_set(r, json_string_value(k), v ? v : json_null());
            json_decref(k);
            json_decref(v);
        }
        if (c->failed) {
            json_decref(r);
            return NULL;
        }
        return r;
    }
    default:
        return jerr(c, n, "BUG: not an expression");
    }
}

/* ---- statements ---- */

/* The items a for loop walks: a list (new reference), or NULL after an error. */
static json_t *iterable(struct jctx *c, const struct jnode *at, json_t *v)
{
    if (!v || json_is_null(v)) {
        if (v)
            return jerr(c, at, "'none' is not iterable");
        return json_array();
    }
    if (json_is_array(v))
        return json_incref(v);
    json_t *r = json_array();
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
            json_array_append_new(r, json_string(k));
        return r;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        for (size_t i = 0, n = utf8_count(s, len); i < n; i++) {
            size_t b = utf8_offset(s, len, i);
            json_array_append_new(r, json_stringn(s + b, utf8_offset(s, len, i + 1) - b));
        }
        return r;
    }
    json_decref(r);
    return jerr(c, at, "a %s is not iterable", jv_type(v));
}

static void bind_targets(struct jctx *c, const struct jnode *n, json_t *x)
{
    if (n->n_names == 1) {
        set_var(c, n->names[0], json_incref(x));
        return;
    }
    if (!json_is_array(x) || json_array_size(x) != n->n_names) {
        jerr(c, n, "cannot unpack a %s into %zu loop variables", jv_type(x), n->n_names);
        return;
    }
    for (size_t k = 0; k < n->n_names; k++)
        set_var(c, n->names[k], json_incref(json_array_get(x, k)));
}

static int exec_for(struct jctx *c, const struct jnode *n, struct strbuf *out)
{
    json_t *v = eval(c, n->a);
    if (c->failed)
        return -1;
    json_t *all = iterable(c, n->a, v), *items;
    json_decref(v);
    if (!all)
        return -1;
    push_scope(c);
    if (n->b) {
        items = json_array();
        for (size_t i = 0; i < json_array_size(all) && !c->failed; i++) {
            bind_targets(c, n, json_array_get(all, i));
            json_t *t = c->failed ? NULL : eval(c, n->b);
            if (jv_truthy(t))
                json_array_append(items, json_array_get(all, i));
            json_decref(t);
        }
        json_decref(all);
    } else {
        items = all;
    }
    size_t len = json_array_size(items);
    json_t *outer_loop = json_incref(json_object_get(c->scopes[c->n_scopes - 1], "loop"));
    for (size_t i = 0; i < len && !c->failed; i++) {
        json_t *x = json_array_get(items, i), *loop = json_object();
        json_object_set_new(loop, "index", json_integer((json_int_t)i + 1));
        json_object_set_new(loop, "index0", json_integer((json_int_t)i));
        json_object_set_new(loop, "revindex", json_integer((json_int_t)(len - i)));
        json_object_set_new(loop, "revindex0", json_integer((json_int_t)(len - i - 1)));
        json_object_set_new(loop, "first", json_boolean(i == 0));
        json_object_set_new(loop, "last", json_boolean(i + 1 == len));
        json_object_set_new(loop, "length", json_integer((json_int_t)len));
        if (i > 0)
            json_object_set(loop, "previtem", json_array_get(items, i - 1));
        if (i + 1 < len)
            json_object_set(loop, "nextitem", json_array_get(items, i + 1));
        set_var(c, "loop", loop);
        bind_targets(c, n, x);
        if (!c->failed)
            exec_body(c, &n->body, out);
        c->cont = 0;
        if (c->brk) {
            c->brk = 0;
            break;
        }
    }
    (void)outer_loop;
    json_decref(outer_loop);
    pop_scope(c);
    if (!len && !c->failed && n->orelse.n)
        exec_body(c, &n->orelse, out);
    json_decref(items);
    return c->failed ? -1 : 0;
}

static int exec_set(struct jctx *c, const struct jnode *n)
{
    json_t *v;
    if (n->a) {
        v = eval(c, n->a);
    } else {
        struct strbuf sb = STRBUF_INIT;
        exec_body(c, &n->body, &sb);
        v = json_stringn(sb_str(&sb), sb.len);
        sb_free(&sb);
    }
    if (c->failed) {
        json_decref(v);
        return -1;
    }
    if (!n->attr) {
        set_var(c, n->s, v);
        return 0;
    }
    json_t *ns = lookup(c, n->s);
    if (!json_is_object(ns)) {
        json_decref(ns);
        json_decref(v);
        jerr(c, n, "cannot set attribute '%s' of %s '%s' (only of a namespace())", n->attr,
             jv_type(ns), n->s);
        return -1;
    }
    json_object_set_new(ns, n->attr, v ? v : json_null());
    json_decref(ns);
    return 0;
}

static int exec_body(struct jctx *c, const struct jlist *body, struct strbuf *out)
{
    for (size_t i = 0; i < body->n && !c->failed && !c->brk && !c->cont; i++) {
        const struct jnode *n = body->v[i];
        switch (n->kind) {
        case JN_TEXT:
            if (n->s)
                sb_adds(out, n->s);
            break;
        case JN_OUTPUT: {
            json_t *v = eval(c, n->a);
            jv_str(v, out);
            json_decref(v);
            break;
        }
        case JN_IF: {
            json_t *t = eval(c, n->a);
            int k = jv_truthy(t);
            json_decref(t);
            if (!c->failed)
                exec_body(c, k ? &n->body : &n->orelse, out);
            break;
        }
        case JN_FOR:
            exec_for(c, n, out);
            break;
        case JN_SET:
            exec_set(c, n);
            break;
        case JN_MACRO:
            c->macros = xrealloc(c->macros, (c->n_macros + 1) * sizeof(*c->macros));
            c->macros[c->n_macros].name = n->s;
            c->macros[c->n_macros++].def = n;
            break;
        case JN_BREAK:
            c->brk = 1;
            break;
        case JN_CONTINUE:
            c->cont = 1;
            break;
        default:
            jerr(c, n, "BUG: not a statement");
        }
    }
    return c->failed ? -1 : 0;
}

int jinja_render(const struct jinja_template *t, const json_t *vars, struct strbuf *out,
                 struct strbuf *err)
{
    struct jctx c = { .vars = vars, .err = err };
    push_scope(&c);
    exec_body(&c, &t->body, out);
    while (c.n_scopes)
        pop_scope(&c);
    free(c.scopes);
    free(c.macros);
    return c.failed ? -1 : 0;
}
