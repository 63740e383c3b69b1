/*
 * jinja_int.h - the pieces of the Jinja subset (jinja.h) its files share: the
 * tokens of the lexer and the syntax tree of the parser. Not for use outside
 * common/jinja_*.c.
 */
#ifndef MAINLINE_JINJA_INT_H
#define MAINLINE_JINJA_INT_H

#include <stddef.h>

#include <jansson.h>

#include "strbuf.h"

enum jtok {
    JT_EOF,
    JT_TEXT,          /* template text, whitespace control applied */
    JT_VAR_BEGIN,     /* {{ */
    JT_VAR_END,       /* }} */
    JT_BLOCK_BEGIN,   /* {% */
    JT_BLOCK_END,     /* %} */
    JT_NAME,
    JT_STRING,        /* s: the decoded string */
    JT_INT,
    JT_FLOAT,
    JT_OP,            /* s: the operator, "(" "==" "//" ... */
};

struct jtoken {
    enum jtok kind;
    char *s;          /* owned; text of TEXT/NAME/STRING/OP, NULL otherwise */
    size_t len;       /* length of s (strings may hold NUL) */
    long long i;
    double f;
    int line, col;
};

struct jtokens {
    struct jtoken *v;
    size_t n, alloc;
};

/* Tokenize a template (trim_blocks, lstrip_blocks, trailing newline dropped).
 * 0, or -1 with "LINE:COL: message" in err. The caller frees with jtokens_free. */
int jinja_lex(const char *text, struct jtokens *out, struct strbuf *err);
void jtokens_free(struct jtokens *t);

enum jnode_kind {
    /* statements */
    JN_TEXT,      /* s */
    JN_OUTPUT,    /* a */
    JN_IF,        /* a: test, body, orelse */
    JN_FOR,       /* names: targets, a: iterable, b: filter or NULL, body, orelse */
    JN_SET,       /* s: name, attr: NULL or attribute, a: value (NULL: body is block) */
    JN_MACRO,     /* s: name, names: params, args: defaults (NULL entries), body */
    JN_BREAK,
    JN_CONTINUE,
    /* expressions */
    JE_LIT,       /* lit */
    JE_NAME,      /* s */
    JE_ATTR,      /* a . s */
    JE_ITEM,      /* a [ b ] */
    JE_SLICE,     /* a [ b : c : d ], each may be NULL */
    JE_CALL,      /* a ( args, kwnames=kwargs ) */
    JE_FILTER,    /* a | s ( args, kwargs ) */
    JE_TEST,      /* a is [not: neg] s ( args ) */
    JE_NEG,       /* - a */
    JE_POS,       /* + a */
    JE_NOT,       /* not a */
    JE_BIN,       /* a s b: + - * / // % ** ~ == != < <= > >= in notin */
    JE_AND,
    JE_OR,
    JE_COND,      /* b if a else c (c may be NULL: undefined) */
    JE_LIST,      /* args */
    JE_TUPLE,     /* args */
    JE_DICT,      /* args: keys, kwargs: values */
};

struct jnode;
struct jlist {
    struct jnode **v;
    size_t n, alloc;
};

struct jnode {
    enum jnode_kind kind;
    int line, col;
    char *s, *attr;
    json_t *lit;
    int neg;
    struct jnode *a, *b, *c, *d;
    struct jlist args, kwargs, body, orelse;
    char **names;            /* targets, parameters, keyword names (kwnames) */
    size_t n_names;
    char **kwnames;
    size_t n_kwnames;
};

struct jinja_template {
    struct jlist body;
};

void jlist_push(struct jlist *l, struct jnode *n);
void jnode_free(struct jnode *n);
void jlist_free(struct jlist *l);

/* Known filters and tests (jinja_lib.c): the parser refuses others. */
int jinja_has_filter(const char *name);
int jinja_has_test(const char *name);

/* ---- evaluation (jinja_eval.c) ----
 * Values are jansson references; NULL is Jinja's Undefined. A function returning
 * json_t * returns a new reference (or NULL); after an error ctx->failed is set and
 * the message is in ctx->err. */
struct jmacro {
    const char *name;
    const struct jnode *def;
};

struct jctx {
    json_t **scopes;          /* objects, innermost last (owned references) */
    size_t n_scopes, alloc_scopes;
    const json_t *vars;       /* the render variables (borrowed) */
    struct jmacro *macros;
    size_t n_macros;
    struct strbuf *err;
    int failed;
    int brk, cont;            /* a {% break %} / {% continue %} is unwinding */
};

/* Evaluated call arguments (owned references; NULL entries are undefined). */
struct jargs {
    json_t **pos;
    size_t n;
    char *const *kwnames;     /* borrowed from the node */
    json_t **kw;
    size_t n_kw;
};

/* Set the error "LINE:COL: message" (the first one wins); returns NULL. */
json_t *jerr(struct jctx *c, const struct jnode *at, const char *fmt, ...)
    ATTR_PRINTF(3, 4);
/* The keyword argument `name`, else positional argument `i`, else NULL (borrowed). */
json_t *jarg(const struct jargs *a, size_t i, const char *name);

/* ---- values (jinja_value.c) ---- */
int jv_truthy(const json_t *v);
/* Python's str(): strings as they are, None, True, 1.5, ['a', 1]; undefined "". */
void jv_str(const json_t *v, struct strbuf *out);
int jv_equal(const json_t *a, const json_t *b);
const char *jv_type(const json_t *v);    /* "undefined", "string", "list"... */
/* Number of code points of a UTF-8 string; the byte offset of code point i. */
size_t utf8_count(const char *s, size_t len);
size_t utf8_offset(const char *s, size_t len, size_t i);
/* Python's str.isspace() for the code point at s (len bytes left): its length in
 * bytes, 0 when it is not a space. */
size_t utf8_space(const char *s, size_t len);

/* ---- the library (jinja_lib.c) ---- */
json_t *jinja_filter(struct jctx *c, const struct jnode *at, const char *name, json_t *v,
                     const struct jargs *a);
/* 1/0, or -1 after an error */
int jinja_test(struct jctx *c, const struct jnode *at, const char *name, const json_t *v,
               const struct jargs *a);
/* obj.name(args) for strings, mappings and lists; *handled 0 when there is none. */
json_t *jinja_method(struct jctx *c, const struct jnode *at, json_t *obj, const char *name,
                     const struct jargs *a, int *handled);
/* A global function (raise_exception, namespace, range, dict, strftime_now);
 * *handled 0 when `name` is none of them. */
json_t *jinja_global(struct jctx *c, const struct jnode *at, const char *name,
                     const struct jargs *a, int *handled);
int jinja_is_global(const char *name);
/* Python's str.strip/lstrip/rstrip (which: 3, 1, 2) of chars (NULL: whitespace). */
json_t *jv_strip(const char *s, size_t len, const char *chars, int which);

#endif
