/* jinja_lex.c - a template's text into tokens (jinja_int.h), with Jinja2's
 * whitespace control as Hugging Face configures it: trim_blocks, lstrip_blocks,
 * `-` on either side of a tag, no trailing newline. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "jinja_int.h"

struct lexer {
    const char *src;
    size_t len, pos;
    struct jtokens *out;
    struct strbuf *err;
    size_t at;        /* pos_of()'s last position, its line and column */
    int line, col;
};

static void pos_of(struct lexer *lx, size_t at, int *line, int *col)
{
    /* positions only grow while lexing: continue from the last one */
    if (at < lx->at) {
        lx->at = 0;
        lx->line = lx->col = 1;
    }
    for (; lx->at < at && lx->at < lx->len; lx->at++) {
        if (lx->src[lx->at] == '\n') {
            lx->line++;
            lx->col = 1;
        } else if (((unsigned char)lx->src[lx->at] & 0xc0) != 0x80) {
            lx->col++;
        }
    }
    *line = lx->line;
    *col = lx->col;
}

static struct jtoken *push(struct lexer *lx, enum jtok kind, size_t at, const char *s, size_t n)
{
    struct jtokens *t = lx->out;
    if (t->n == t->alloc) {
        t->alloc = t->alloc ? 2 * t->alloc : 64;
        t->v = xrealloc(t->v, t->alloc * sizeof(*t->v));
    }
    struct jtoken *k = &t->v[t->n++];
    memset(k, 0, sizeof(*k));
    k->kind = kind;
    if (s) {
        k->s = xmalloc(n + 1);
        memcpy(k->s, s, n);
        k->s[n] = 0;
        k->len = n;
    }
    pos_of(lx, at, &k->line, &k->col);
    return k;
}

static int fail(struct lexer *lx, size_t at, const char *msg)
{
    int line, col;
    pos_of(lx, at, &line, &col);
    sb_addf(lx->err, "%d:%d: %s", line, col, msg);
    return -1;
}

/* The next "{{", "{%" or "{#" at or after pos, or len. */
static size_t next_tag(const struct lexer *lx, size_t pos)
{
    for (size_t i = pos; i + 1 < lx->len; i++)
        if (lx->src[i] == '{' && strchr("{%#", lx->src[i + 1]))
            return i;
    return lx->len;
}

/* After a closing tag at pos: `-` strips all whitespace; trim_blocks one newline. */
static size_t after_close(const struct lexer *lx, size_t pos, int dash, int block)
{
    if (dash) {
        while (pos < lx->len && isspace((unsigned char)lx->src[pos]))
            pos++;
    } else if (block) {
        if (pos < lx->len && lx->src[pos] == '\n')
            pos++;
        else if (pos + 1 < lx->len && lx->src[pos] == '\r' && lx->src[pos + 1] == '\n')
            pos += 2;
    }
    return pos;
}

static int lex_string(struct lexer *lx)
{
    size_t start = lx->pos;
    char q = lx->src[lx->pos++];
    struct strbuf sb = STRBUF_INIT;
    while (lx->pos < lx->len && lx->src[lx->pos] != q) {
        char c = lx->src[lx->pos++];
        if (c == '\\' && lx->pos < lx->len) {
            char e = lx->src[lx->pos++];
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '\\': case '\'': case '"': c = e; break;
            default:
                sb_addc(&sb, '\\');
                c = e;
            }
        }
        sb_addc(&sb, c);
    }
    if (lx->pos >= lx->len) {
        sb_free(&sb);
        return fail(lx, start, "unterminated string");
    }
    lx->pos++;
    push(lx, JT_STRING, start, sb.buf ? sb.buf : "", sb.len);
    sb_free(&sb);
    return 0;
}

static int lex_number(struct lexer *lx)
{
    size_t start = lx->pos;
    const char *s = lx->src;
    while (lx->pos < lx->len && (isdigit((unsigned char)s[lx->pos]) || s[lx->pos] == '_'))
        lx->pos++;
    int is_float = 0;
    if (lx->pos + 1 < lx->len && s[lx->pos] == '.' && isdigit((unsigned char)s[lx->pos + 1])) {
        is_float = 1;
        lx->pos++;
        while (lx->pos < lx->len && isdigit((unsigned char)s[lx->pos]))
            lx->pos++;
    }
    if (lx->pos < lx->len && (s[lx->pos] == 'e' || s[lx->pos] == 'E')) {
        size_t p = lx->pos + 1;
        if (p < lx->len && (s[p] == '+' || s[p] == '-'))
            p++;
        if (p < lx->len && isdigit((unsigned char)s[p])) {
            is_float = 1;
            while (p < lx->len && isdigit((unsigned char)s[p]))
                p++;
            lx->pos = p;
        }
    }
    char buf[64];
    size_t n = 0;
    for (size_t i = start; i < lx->pos && n + 1 < sizeof(buf); i++)
        if (s[i] != '_')
            buf[n++] = s[i];
    buf[n] = 0;
    struct jtoken *k = push(lx, is_float ? JT_FLOAT : JT_INT, start, NULL, 0);
    if (is_float)
        k->f = strtod(buf, NULL);
    else
        k->i = strtoll(buf, NULL, 10);
    return 0;
}

static const char *const ops[] = {
    "//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=",
    "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", NULL,
};

/* Tokens of one tag up to its end ("}}" or "%}"); leaves pos after the end. */
static int lex_tag(struct lexer *lx, int block, int *dash_end)
{
    const char *s = lx->src;
    int depth = 0;
    for (;;) {
        while (lx->pos < lx->len && isspace((unsigned char)s[lx->pos]))
            lx->pos++;
        if (lx->pos >= lx->len)
            return fail(lx, lx->pos, block ? "unclosed block tag: expected '%}'"
                                           : "unclosed expression: expected '}}'");
        size_t p = lx->pos;
        const char *end = block ? "%}" : "}}";
        int dash = s[p] == '-' && p + 2 < lx->len + 0 && !strncmp(s + p + 1, end, 2);
        if ((dash || !strncmp(s + p, end, 2)) && (block || depth == 0)) {
            *dash_end = dash;
            push(lx, block ? JT_BLOCK_END : JT_VAR_END, p, NULL, 0);
            lx->pos = p + 2 + (size_t)dash;
            return 0;
        }
        unsigned char c = (unsigned char)s[p];
        if (c == '\'' || c == '"') {
            if (lex_string(lx) < 0)
                return -1;
        } else if (isdigit(c)) {
            lex_number(lx);
        } else if (isalpha(c) || c == '_') {
            while (lx->pos < lx->len && (isalnum((unsigned char)s[lx->pos]) || s[lx->pos] == '_'))
                lx->pos++;
            push(lx, JT_NAME, p, s + p, lx->pos - p);
        } else {
            int k = 0;
            while (ops[k] && strncmp(s + p, ops[k], strlen(ops[k])))
                k++;
            if (!ops[k]) {
                char msg[64];
                snprintf(msg, sizeof(msg), "unexpected character '%c'", c);
                return fail(lx, p, msg);
            }
            if (strchr("([{", ops[k][0]) && !ops[k][1])
                depth++;
            else if (strchr(")]}", ops[k][0]) && !ops[k][1] && depth > 0)
                depth--;
            push(lx, JT_OP, p, ops[k], strlen(ops[k]));
            lx->pos = p + strlen(ops[k]);
        }
    }
}

int jinja_lex(const char *text, struct jtokens *out, struct strbuf *err)
{
    struct lexer lx = { text, strlen(text), 0, out, err, 0, 1, 1 };
    memset(out, 0, sizeof(*out));
    /* keep_trailing_newline=False: one trailing newline goes. */
    if (lx.len && text[lx.len - 1] == '\n')
        lx.len -= lx.len > 1 && text[lx.len - 2] == '\r' ? 2 : 1;
    else if (lx.len && text[lx.len - 1] == '\r')
        lx.len--;
    while (lx.pos < lx.len) {
        size_t t = next_tag(&lx, lx.pos), end = t;
        char kind = t < lx.len ? text[t + 1] : 0;
        char mod = t + 2 < lx.len ? text[t + 2] : 0;
        if (t < lx.len && mod == '-') {
            while (end > lx.pos && isspace((unsigned char)text[end - 1]))
                end--;
        } else if (t < lx.len && kind != '{' && mod != '+') {
            /* lstrip_blocks: spaces and tabs from the start of the line */
            size_t b = end;
            while (b > 0 && (text[b - 1] == ' ' || text[b - 1] == '\t'))
                b--;
            if ((b == 0 || text[b - 1] == '\n') && b >= lx.pos)
                end = b;
        }
        if (end > lx.pos)
            push(&lx, JT_TEXT, lx.pos, text + lx.pos, end - lx.pos);
        if (t >= lx.len)
            break;
        lx.pos = t + 2 + (mod == '-' || mod == '+');
        int dash = 0;
        if (kind == '#') {
            const char *e = strstr(text + lx.pos, "#}");
            if (!e || (size_t)(e - text) + 2 > lx.len)
                return fail(&lx, t, "unclosed comment: expected '#}'");
            dash = e > text + lx.pos && e[-1] == '-';
            lx.pos = after_close(&lx, (size_t)(e - text) + 2, dash, 1);
            continue;
        }
        int block = kind == '%';
        push(&lx, block ? JT_BLOCK_BEGIN : JT_VAR_BEGIN, t, NULL, 0);
        if (lex_tag(&lx, block, &dash) < 0)
            return -1;
        lx.pos = after_close(&lx, lx.pos, dash, block);
    }
    push(&lx, JT_EOF, lx.len, NULL, 0);
    return 0;
}

void jtokens_free(struct jtokens *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].s);
    free(t->v);
    memset(t, 0, sizeof(*t));
}
