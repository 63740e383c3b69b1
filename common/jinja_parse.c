/* jinja_parse.c - tokens into the syntax tree (jinja_int.h), with Jinja2's
 * precedence: a if c else b < or < and < not < comparisons < + - < ~ < * / // %
 * < ** < unary - + < postfix (. [] ()) and filters/tests. */
#include <stdlib.h>
#include <string.h>

#include "jinja.h"
#include "jinja_int.h"

struct parser {
    struct jtokens toks;
    size_t i;
    struct strbuf *err;
    int failed;
};

void jlist_push(struct jlist *l, struct jnode *n)
{
    if (l->n == l->alloc) {
        l->alloc = l->alloc ? 2 * l->alloc : 4;
        l->v = xrealloc(l->v, l->alloc * sizeof(*l->v));
    }
    l->v[l->n++] = n;
}

void jlist_free(struct jlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        jnode_free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void jnode_free(struct jnode *n)
{
    if (!n)
        return;
    free(n->s);
    free(n->attr);
    json_decref(n->lit);
    jnode_free(n->a);
    jnode_free(n->b);
    jnode_free(n->c);
    jnode_free(n->d);
    jlist_free(&n->args);
    jlist_free(&n->kwargs);
    jlist_free(&n->body);
    jlist_free(&n->orelse);
    free_names(n->names, n->n_names);
    free_names(n->kwnames, n->n_kwnames);
    free(n);
}

static void add_name(char ***v, size_t *n, const char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = xstrdup(s);
}

static const struct jtoken *peek(const struct parser *p)
{
    return &p->toks.v[p->i];
}

static const struct jtoken *peek2(const struct parser *p)
{
    return p->i + 1 < p->toks.n ? &p->toks.v[p->i + 1] : &p->toks.v[p->i];
}

static const struct jtoken *next(struct parser *p)
{
    const struct jtoken *t = &p->toks.v[p->i];
    if (t->kind != JT_EOF)
        p->i++;
    return t;
}

static void *perr(struct parser *p, const struct jtoken *t, const char *fmt, const char *arg)
{
    if (!p->failed) {
        sb_addf(p->err, "%d:%d: ", t->line, t->col);
        sb_addf(p->err, fmt, arg);
    }
    p->failed = 1;
    return NULL;
}

static int is_op(const struct jtoken *t, const char *op)
{
    return t->kind == JT_OP && !strcmp(t->s, op);
}

static int is_name(const struct jtoken *t, const char *name)
{
    return t->kind == JT_NAME && !strcmp(t->s, name);
}

static int accept_op(struct parser *p, const char *op)
{
    if (!is_op(peek(p), op))
        return 0;
    next(p);
    return 1;
}

static int accept_name(struct parser *p, const char *name)
{
    if (!is_name(peek(p), name))
        return 0;
    next(p);
    return 1;
}

static const char *tok_text(const struct jtoken *t)
{
    switch (t->kind) {
    case JT_EOF: return "end of template";
    case JT_TEXT: return "template text";
    case JT_VAR_BEGIN: return "'{{'";
    case JT_VAR_END: return "'}}'";
    case JT_BLOCK_BEGIN: return "'{%'";
    case JT_BLOCK_END: return "'%}'";
    case JT_STRING: return "a string";
    case JT_INT: case JT_FLOAT: return "a number";
    default: return t->s;
    }
}

static int expect_op(struct parser *p, const char *op)
{
    if (accept_op(p, op))
        return 0;
    struct strbuf m = STRBUF_INIT;
    sb_addf(&m, "expected '%s', got %%s", op);
    perr(p, peek(p), m.buf, tok_text(peek(p)));
    sb_free(&m);
    return -1;
}

static struct jnode *node(enum jnode_kind kind, const struct jtoken *at)
{
    struct jnode *n = xcalloc(1, sizeof(*n));
    n->kind = kind;
    n->line = at->line;
    n->col = at->col;
    return n;
}

static struct jnode *parse_expr(struct parser *p);
static struct jnode *parse_or(struct parser *p);
static struct jnode *parse_unary(struct parser *p, int with_filter);

/* ( args, name=kwargs ) after the "(" was consumed. */
static int parse_call_args(struct parser *p, struct jnode *n)
{
    while (!accept_op(p, ")")) {
        if (n->args.n + n->kwargs.n && expect_op(p, ",") < 0)
            return -1;
        if (accept_op(p, ")"))
            break;
        if (peek(p)->kind == JT_NAME && is_op(peek2(p), "=")) {
            add_name(&n->kwnames, &n->n_kwnames, next(p)->s);
            next(p);
            struct jnode *v = parse_expr(p);
            if (!v)
                return -1;
            jlist_push(&n->kwargs, v);
        } else {
            if (n->kwargs.n) {
                perr(p, peek(p), "%s", "positional argument after keyword argument");
                return -1;
            }
            struct jnode *v = parse_expr(p);
            if (!v)
                return -1;
            jlist_push(&n->args, v);
        }
    }
    return 0;
}

static struct jnode *parse_primary(struct parser *p)
{
    const struct jtoken *t = next(p);
    struct jnode *n;
    switch (t->kind) {
    case JT_STRING: {
        struct strbuf sb = STRBUF_INIT;
        sb_add(&sb, t->s, t->len);
        /* adjacent strings concatenate */
        while (peek(p)->kind == JT_STRING) {
            const struct jtoken *u = next(p);
            sb_add(&sb, u->s, u->len);
        }
        n = node(JE_LIT, t);
        n->lit = json_stringn(sb_str(&sb), sb.len);
        sb_free(&sb);
        return n;
    }
    case JT_INT:
        n = node(JE_LIT, t);
        n->lit = json_integer(t->i);
        return n;
    case JT_FLOAT:
        n = node(JE_LIT, t);
        n->lit = json_real(t->f);
        return n;
    case JT_NAME:
        if (!strcmp(t->s, "true") || !strcmp(t->s, "True") || !strcmp(t->s, "false") ||
            !strcmp(t->s, "False")) {
            n = node(JE_LIT, t);
            n->lit = json_boolean(t->s[0] == 't' || t->s[0] == 'T');
            return n;
        }
        if (!strcmp(t->s, "none") || !strcmp(t->s, "None")) {
            n = node(JE_LIT, t);
            n->lit = json_null();
            return n;
        }
        n = node(JE_NAME, t);
        n->s = xstrdup(t->s);
        return n;
    case JT_OP:
        if (!strcmp(t->s, "(")) {
            struct jnode *first = NULL;
            if (accept_op(p, ")"))
                return node(JE_TUPLE, t);
            first = parse_expr(p);
            if (!first)
                return NULL;
            if (accept_op(p, ")"))
                return first;
            n = node(JE_TUPLE, t);
            jlist_push(&n->args, first);
            while (accept_op(p, ",")) {
                if (is_op(peek(p), ")"))
                    break;
                struct jnode *e = parse_expr(p);
                if (!e) {
                    jnode_free(n);
                    return NULL;
                }
                jlist_push(&n->args, e);
            }
            if (expect_op(p, ")") < 0) {
                jnode_free(n);
                return NULL;
            }
            return n;
        }
        if (!strcmp(t->s, "[")) {
            n = node(JE_LIST, t);
            while (!accept_op(p, "]")) {
                if (n->args.n && expect_op(p, ",") < 0)
                    goto bad;
                if (accept_op(p, "]"))
                    break;
                struct jnode *e = parse_expr(p);
                if (!e)
                    goto bad;
                jlist_push(&n->args, e);
            }
            return n;
        }
        if (!strcmp(t->s, "{")) {
            n = node(JE_DICT, t);
            while (!accept_op(p, "}")) {
                if (n->args.n && expect_op(p, ",") < 0)
                    goto bad;
                if (accept_op(p, "}"))
                    break;
                struct jnode *k = parse_expr(p);
                if (!k)
                    goto bad;
                jlist_push(&n->args, k);
                if (expect_op(p, ":") < 0)
                    goto bad;
                struct jnode *v = parse_expr(p);
                if (!v)
                    goto bad;
                jlist_push(&n->kwargs, v);
            }
            return n;
        }
        break;
    default:
        break;
    }
    return perr(p, t, "unexpected %s in an expression", tok_text(t));
bad:
    jnode_free(n);
    return NULL;
}

/* Either an index or a slice inside [ ], the "[" consumed. */
static struct jnode *parse_subscript(struct parser *p, struct jnode *obj, const struct jtoken *at)
{
    struct jnode *parts[3] = { NULL, NULL, NULL };
    int k = 0, is_slice = 0;
    for (;;) {
        if (!is_op(peek(p), ":") && !is_op(peek(p), "]")) {
            parts[k] = parse_expr(p);
            if (!parts[k])
                goto bad;
        }
        if (accept_op(p, ":")) {
            is_slice = 1;
            if (++k == 3) {
                perr(p, peek(p), "%s", "too many ':' in a slice");
                goto bad;
            }
            continue;
        }
        if (expect_op(p, "]") < 0)
            goto bad;
        break;
    }
    struct jnode *n = node(is_slice ? JE_SLICE : JE_ITEM, at);
    n->a = obj;
    n->b = parts[0];
    n->c = parts[1];
    n->d = parts[2];
    if (!is_slice && !n->b) {
        jnode_free(n);
        return perr(p, at, "%s", "empty subscript");
    }
    return n;
bad:
    for (int i = 0; i < 3; i++)
        jnode_free(parts[i]);
    jnode_free(obj);
    return NULL;
}

static struct jnode *parse_postfix(struct parser *p, struct jnode *n)
{
    for (;;) {
        const struct jtoken *t = peek(p);
        if (is_op(t, ".")) {
            next(p);
            const struct jtoken *name = next(p);
            if (name->kind != JT_NAME && name->kind != JT_INT) {
                jnode_free(n);
                return perr(p, name, "expected an attribute name after '.', got %s",
                            tok_text(name));
            }
            struct jnode *a = node(JE_ATTR, t);
            a->a = n;
            if (name->kind == JT_NAME) {
                a->s = xstrdup(name->s);
            } else {
                a->kind = JE_ITEM;
                a->b = node(JE_LIT, name);
                a->b->lit = json_integer(name->i);
            }
            n = a;
        } else if (is_op(t, "[")) {
            next(p);
            n = parse_subscript(p, n, t);
            if (!n)
                return NULL;
        } else if (is_op(t, "(")) {
            next(p);
            struct jnode *c = node(JE_CALL, t);
            c->a = n;
            if (parse_call_args(p, c) < 0) {
                jnode_free(c);
                return NULL;
            }
            n = c;
        } else {
            return n;
        }
    }
}

static struct jnode *parse_filters(struct parser *p, struct jnode *n)
{
    for (;;) {
        const struct jtoken *t = peek(p);
        if (is_op(t, "|")) {
            next(p);
            const struct jtoken *name = next(p);
            if (name->kind != JT_NAME) {
                jnode_free(n);
                return perr(p, name, "expected a filter name after '|', got %s",
                            tok_text(name));
            }
            if (!jinja_has_filter(name->s)) {
                jnode_free(n);
                return perr(p, name, "unsupported filter '%s'", name->s);
            }
            struct jnode *f = node(JE_FILTER, name);
            f->s = xstrdup(name->s);
            f->a = n;
            n = f;
            if (accept_op(p, "(") && parse_call_args(p, f) < 0) {
                jnode_free(f);
                return NULL;
            }
        } else if (is_name(t, "is")) {
            next(p);
            int neg = accept_name(p, "not");
            const struct jtoken *name = next(p);
            const char *tn = name->kind == JT_NAME ? name->s : NULL;
            if (!tn) {
                jnode_free(n);
                return perr(p, name, "expected a test name after 'is', got %s", tok_text(name));
            }
            if (!jinja_has_test(tn)) {
                jnode_free(n);
                return perr(p, name, "unsupported test '%s'", tn);
            }
            struct jnode *f = node(JE_TEST, name);
            f->s = xstrdup(tn);
            f->neg = neg;
            f->a = n;
            n = f;
            if (accept_op(p, "(")) {
                if (parse_call_args(p, f) < 0) {
                    jnode_free(f);
                    return NULL;
                }
            } else {
                /* one argument without parentheses: `is sameas false`, `is divisibleby 3` */
                const struct jtoken *u = peek(p);
                if (u->kind == JT_STRING || u->kind == JT_INT || u->kind == JT_FLOAT ||
                    (u->kind == JT_NAME && strcmp(u->s, "and") && strcmp(u->s, "or") &&
                     strcmp(u->s, "if") && strcmp(u->s, "else") && strcmp(u->s, "is") &&
                     strcmp(u->s, "in") && strcmp(u->s, "not"))) {
                    struct jnode *arg = parse_unary(p, 0);
                    if (!arg) {
                        jnode_free(f);
                        return NULL;
                    }
                    jlist_push(&f->args, arg);
                }
            }
        } else {
            return n;
        }
    }
}

static struct jnode *parse_unary(struct parser *p, int with_filter)
{
    const struct jtoken *t = peek(p);
    struct jnode *n;
    if (is_op(t, "-") || is_op(t, "+")) {
        next(p);
        struct jnode *a = parse_unary(p, 0);
        if (!a)
            return NULL;
        n = node(t->s[0] == '-' ? JE_NEG : JE_POS, t);
        n->a = a;
    } else {
        n = parse_primary(p);
        if (!n)
            return NULL;
        n = parse_postfix(p, n);
        if (!n)
            return NULL;
    }
    return with_filter ? parse_filters(p, n) : n;
}

static struct jnode *binary(const struct jtoken *at, const char *op, struct jnode *a,
                            struct jnode *b)
{
    struct jnode *n = node(JE_BIN, at);
    n->s = xstrdup(op);
    n->a = a;
    n->b = b;
    return n;
}

/* One level of left-associative binary operators. */
static struct jnode *parse_level(struct parser *p, int level);

static const char *const levels[][5] = {
    { "+", "-", NULL },
    { "~", NULL },
    { "*", "/", "//", "%", NULL },
    { "**", NULL },
};

static struct jnode *parse_level(struct parser *p, int level)
{
    if (level == 4)
        return parse_unary(p, 1);
    struct jnode *a = parse_level(p, level + 1);
    while (a) {
        const struct jtoken *t = peek(p);
        int k = 0;
        while (levels[level][k] && !is_op(t, levels[level][k]))
            k++;
        if (!levels[level][k])
            break;
        next(p);
        struct jnode *b = parse_level(p, level + 1);
        if (!b) {
            jnode_free(a);
            return NULL;
        }
        a = binary(t, levels[level][k], a, b);
    }
    return a;
}

static struct jnode *parse_compare(struct parser *p)
{
    static const char *const cmp[] = { "==", "!=", "<", "<=", ">", ">=", NULL };
    struct jnode *a = parse_level(p, 0);
    while (a) {
        const struct jtoken *t = peek(p);
        const char *op = NULL;
        int k = 0;
        while (cmp[k] && !is_op(t, cmp[k]))
            k++;
        if (cmp[k]) {
            op = cmp[k];
            next(p);
        } else if (is_name(t, "in")) {
            op = "in";
            next(p);
        } else if (is_name(t, "not") && is_name(peek2(p), "in")) {
            op = "notin";
            next(p);
            next(p);
        } else {
            break;
        }
        struct jnode *b = parse_level(p, 0);
        if (!b) {
            jnode_free(a);
            return NULL;
        }
        a = binary(t, op, a, b);
    }
    return a;
}

static struct jnode *parse_not(struct parser *p)
{
    const struct jtoken *t = peek(p);
    if (is_name(t, "not")) {
        next(p);
        struct jnode *a = parse_not(p);
        if (!a)
            return NULL;
        struct jnode *n = node(JE_NOT, t);
        n->a = a;
        return n;
    }
    return parse_compare(p);
}

/* `and` (over `not`) and `or` (over `and`): left-associative, short-circuit. */
static struct jnode *parse_logic(struct parser *p, int is_or)
{
    const char *word = is_or ? "or" : "and";
    struct jnode *a = is_or ? parse_logic(p, 0) : parse_not(p);
    while (a && is_name(peek(p), word)) {
        const struct jtoken *t = next(p);
        struct jnode *b = is_or ? parse_logic(p, 0) : parse_not(p);
        if (!b) {
            jnode_free(a);
            return NULL;
        }
        struct jnode *n = node(is_or ? JE_OR : JE_AND, t);
        n->a = a;
        n->b = b;
        a = n;
    }
    return a;
}

static struct jnode *parse_or(struct parser *p)
{
    return parse_logic(p, 1);
}

static struct jnode *parse_expr(struct parser *p)
{
    struct jnode *a = parse_or(p);
    while (a && is_name(peek(p), "if")) {
        const struct jtoken *t = next(p);
        struct jnode *n = node(JE_COND, t);
        n->b = a;
        n->a = parse_or(p);
        if (n->a && accept_name(p, "else"))
            n->c = parse_expr(p);
        if (!n->a || (p->failed)) {
            jnode_free(n);
            return NULL;
        }
        a = n;
    }
    return a;
}

/* ---- statements ---- */

static int parse_body(struct parser *p, struct jlist *body, const char *const *ends,
                      const char **found, const struct jtoken *opener);

static int expect_block_end(struct parser *p)
{
    if (peek(p)->kind == JT_BLOCK_END) {
        next(p);
        return 0;
    }
    perr(p, peek(p), "expected '%%}', got %s", tok_text(peek(p)));
    return -1;
}

/* The next token as a name, else an error "expected WHAT, got ..." and NULL. */
static const struct jtoken *expect_name(struct parser *p, const char *what)
{
    const struct jtoken *t = next(p);
    if (t->kind == JT_NAME)
        return t;
    struct strbuf m = STRBUF_INIT;
    sb_addf(&m, "expected %s, got %%s", what);
    perr(p, t, m.buf, tok_text(t));
    sb_free(&m);
    return NULL;
}

/* "%}", then the body of n up to {% END %} and its "%}". */
static int parse_closed_body(struct parser *p, struct jnode *n, const char *end,
                             const struct jtoken *at)
{
    const char *const ends[] = { end, NULL };
    const char *found;
    if (expect_block_end(p) < 0 || parse_body(p, &n->body, ends, &found, at) < 0)
        return -1;
    return expect_block_end(p);
}

/* After a body that ended at `found`: an {% else %} body up to `end`, then "%}". */
static int parse_else(struct parser *p, struct jnode *n, const char *found, const char *end,
                      const struct jtoken *at)
{
    if (!strcmp(found, "else")) {
        const char *const ends[] = { end, NULL };
        if (expect_block_end(p) < 0 || parse_body(p, &n->orelse, ends, &found, at) < 0)
            return -1;
    }
    return expect_block_end(p);
}

static struct jnode *parse_if(struct parser *p, const struct jtoken *at)
{
    static const char *const ends[] = { "elif", "else", "endif", NULL };
    struct jnode *n = node(JN_IF, at);
    const char *found;
    n->a = parse_expr(p);
    if (!n->a || expect_block_end(p) < 0 || parse_body(p, &n->body, ends, &found, at) < 0)
        goto bad;
    if (!strcmp(found, "elif")) {
        struct jnode *e = parse_if(p, &p->toks.v[p->i - 1]);
        if (!e)
            goto bad;
        jlist_push(&n->orelse, e);
        return n;
    }
    if (parse_else(p, n, found, "endif", at) < 0)
        goto bad;
    return n;
bad:
    jnode_free(n);
    return NULL;
}

static struct jnode *parse_for(struct parser *p, const struct jtoken *at)
{
    struct jnode *n = node(JN_FOR, at);
    const char *found;
    do {
        const struct jtoken *t = expect_name(p, "a loop variable");
        if (!t)
            goto bad;
        add_name(&n->names, &n->n_names, t->s);
    } while (accept_op(p, ","));
    if (!accept_name(p, "in")) {
        perr(p, peek(p), "expected 'in', got %s", tok_text(peek(p)));
        goto bad;
    }
    n->a = parse_or(p);   /* not a full expression: `if` filters the loop */
    if (!n->a)
        goto bad;
    if (accept_name(p, "if") && !(n->b = parse_or(p)))
        goto bad;
    if (is_name(peek(p), "recursive")) {
        perr(p, peek(p), "%s", "unsupported: recursive loops");
        goto bad;
    }
    static const char *const ends[] = { "else", "endfor", NULL };
    if (expect_block_end(p) < 0 || parse_body(p, &n->body, ends, &found, at) < 0)
        goto bad;
    if (parse_else(p, n, found, "endfor", at) < 0)
        goto bad;
    return n;
bad:
    jnode_free(n);
    return NULL;
}

static struct jnode *parse_set(struct parser *p, const struct jtoken *at)
{
    struct jnode *n = node(JN_SET, at);
    const struct jtoken *t = expect_name(p, "a variable name after 'set'");
    if (!t)
        goto bad;
    n->s = xstrdup(t->s);
    if (accept_op(p, ".")) {
        const struct jtoken *a = expect_name(p, "an attribute name");
        if (!a)
            goto bad;
        n->attr = xstrdup(a->s);
    }
    if (is_op(peek(p), ",")) {
        perr(p, peek(p), "%s", "unsupported: assigning to several names in one 'set'");
        goto bad;
    }
    if (accept_op(p, "=")) {
        n->a = parse_expr(p);
        if (!n->a || expect_block_end(p) < 0)
            goto bad;
        return n;
    }
    if (n->attr) {
        perr(p, peek(p), "expected '=', got %s", tok_text(peek(p)));
        goto bad;
    }
    if (parse_closed_body(p, n, "endset", at) < 0)
        goto bad;
    return n;
bad:
    jnode_free(n);
    return NULL;
}

static struct jnode *parse_macro(struct parser *p, const struct jtoken *at)
{
    struct jnode *n = node(JN_MACRO, at);
    const struct jtoken *t = expect_name(p, "a macro name");
    if (!t)
        goto bad;
    n->s = xstrdup(t->s);
    if (expect_op(p, "(") < 0)
        goto bad;
    while (!accept_op(p, ")")) {
        if (n->n_names && expect_op(p, ",") < 0)
            goto bad;
        const struct jtoken *a = expect_name(p, "a parameter name");
        if (!a)
            goto bad;
        add_name(&n->names, &n->n_names, a->s);
        struct jnode *def = NULL;
        if (accept_op(p, "=") && !(def = parse_expr(p)))
            goto bad;
        jlist_push(&n->args, def);
    }
    if (parse_closed_body(p, n, "endmacro", at) < 0)
        goto bad;
    return n;
bad:
    jnode_free(n);
    return NULL;
}

/* A block tag's statement, "{%" consumed; *end set when it is one of `ends`. */
static struct jnode *parse_block(struct parser *p, const char *const *ends, const char **end)
{
    const struct jtoken *t = next(p);
    if (t->kind != JT_NAME)
        return perr(p, t, "expected a statement after '{%%', got %s", tok_text(t));
    for (size_t k = 0; ends && ends[k]; k++)
        if (!strcmp(t->s, ends[k])) {
            *end = ends[k];
            return NULL;
        }
    if (!strcmp(t->s, "if"))
        return parse_if(p, t);
    if (!strcmp(t->s, "for"))
        return parse_for(p, t);
    if (!strcmp(t->s, "set"))
        return parse_set(p, t);
    if (!strcmp(t->s, "macro"))
        return parse_macro(p, t);
    if (!strcmp(t->s, "break") || !strcmp(t->s, "continue")) {
        struct jnode *n = node(t->s[0] == 'b' ? JN_BREAK : JN_CONTINUE, t);
        if (expect_block_end(p) < 0) {
            jnode_free(n);
            return NULL;
        }
        return n;
    }
    if (!strcmp(t->s, "generation") || !strcmp(t->s, "endgeneration")) {
        /* transformers' AssistantTracker marks: no output of their own */
        if (expect_block_end(p) < 0)
            return NULL;
        return node(JN_TEXT, t);
    }
    static const char *const known[] = { "elif", "else", "endif", "endfor", "endset",
                                         "endmacro", NULL };
    for (size_t k = 0; known[k]; k++)
        if (!strcmp(t->s, known[k]))
            return perr(p, t, "unexpected '%s'", t->s);
    return perr(p, t, "unsupported tag '%s'", t->s);
}

static int parse_body(struct parser *p, struct jlist *body, const char *const *ends,
                      const char **found, const struct jtoken *opener)
{
    for (;;) {
        const struct jtoken *t = next(p);
        switch (t->kind) {
        case JT_EOF:
            if (ends) {
                struct strbuf m = STRBUF_INIT;
                sb_addf(&m, "'%s' at %d:%d is never closed (expected '%s')", opener->s,
                        opener->line, opener->col, ends[0]);
                perr(p, t, "%s", m.buf);
                sb_free(&m);
                return -1;
            }
            return 0;
        case JT_TEXT: {
            struct jnode *n = node(JN_TEXT, t);
            n->s = xstrdup(t->s);
            jlist_push(body, n);
            break;
        }
        case JT_VAR_BEGIN: {
            struct jnode *n = node(JN_OUTPUT, t);
            n->a = parse_expr(p);
            if (!n->a) {
                jnode_free(n);
                return -1;
            }
            if (peek(p)->kind != JT_VAR_END) {
                perr(p, peek(p), "expected '}}', got %s", tok_text(peek(p)));
                jnode_free(n);
                return -1;
            }
            next(p);
            jlist_push(body, n);
            break;
        }
        case JT_BLOCK_BEGIN: {
            const char *end = NULL;
            struct jnode *n = parse_block(p, ends, &end);
            if (end) {
                *found = end;
                return 0;
            }
            if (!n)
                return -1;
            jlist_push(body, n);
            break;
        }
        default:
            perr(p, t, "unexpected %s", tok_text(t));
            return -1;
        }
    }
}

struct jinja_template *jinja_parse(const char *text, struct strbuf *err)
{
    struct parser p = { .err = err };
    if (jinja_lex(text, &p.toks, err) < 0) {
        jtokens_free(&p.toks);
        return NULL;
    }
    struct jinja_template *t = xcalloc(1, sizeof(*t));
    const char *found;
    int rc = parse_body(&p, &t->body, NULL, &found, NULL);
    jtokens_free(&p.toks);
    if (rc < 0 || p.failed) {
        jinja_free(t);
        return NULL;
    }
    return t;
}

void jinja_free(struct jinja_template *t)
{
    if (!t)
        return;
    jlist_free(&t->body);
    free(t);
}
