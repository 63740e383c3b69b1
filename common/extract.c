/*
 * extract.c - the three answer extractors of the evaluation contract (see extract.h;
 * the rules with examples are in docs/evaluation.md). Normalization and matching
 * live in answer_norm.c.
 *
 * Errors: extractor_init() returns -1 with a message in *err; extraction itself
 * cannot fail, it only finds nothing. Nothing here prints or exits.
 */
#include <ctype.h>
#include <string.h>

#include "extract.h"

/* ---- setup ---- */

int extractor_init(struct extractor *x, const char *kind, const char *pattern,
                   struct strbuf *err)
{
    memset(x, 0, sizeof(*x));
    if (!kind || !strcmp(kind, "boxed")) {
        x->kind = EXTRACT_BOXED;
    } else if (!strcmp(kind, "last_number")) {
        x->kind = EXTRACT_LAST_NUMBER;
    } else if (!strcmp(kind, "regex")) {
        x->kind = EXTRACT_REGEX;
        if (!pattern || !*pattern) {
            sb_adds(err, "extract: regex needs a 'pattern'");
            return -1;
        }
        /* REG_NEWLINE: `.` stops at a line end and ^/$ match at line boundaries, so
         * "Answer: (.*)" takes the rest of one line, not of the whole output. */
        int rc = regcomp(&x->re, pattern, REG_EXTENDED | REG_NEWLINE);
        if (rc != 0) {
            char msg[256];
            regerror(rc, &x->re, msg, sizeof(msg));
            sb_addf(err, "bad regex pattern '%s': %s", pattern, msg);
            return -1;
        }
        x->has_re = 1;
    } else {
        sb_addf(err, "unknown extractor '%s' (boxed, regex or last_number)", kind);
        return -1;
    }
    return 0;
}

void extractor_free(struct extractor *x)
{
    if (x->has_re)
        regfree(&x->re);
    x->has_re = 0;
}

/* ---- helpers ---- */

/* Append s[0..n) without its leading and trailing whitespace; 1 when something is
 * left. */
static int add_trimmed(struct strbuf *out, const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    sb_add(out, s, n);
    return n > 0;
}

/* ---- boxed ---- */

#define BOXED "\\boxed"

/* The next "\boxed" at or after p that is the whole command name (not
 * "\boxedfoo"), or NULL. */
static const char *next_box(const char *p)
{
    while ((p = strstr(p, BOXED)) != NULL) {
        if (!isalpha((unsigned char)p[strlen(BOXED)]))
            return p;
        p += strlen(BOXED);
    }
    return NULL;
}

size_t latex_group_len(const char *open)
{
    int depth = 0;
    for (size_t i = 0; open[i]; i++) {
        if (open[i] == '\\' && open[i + 1])
            i++;
        else if (open[i] == '{')
            depth++;
        else if (open[i] == '}' && --depth == 0)
            return i + 1;
    }
    return 0;
}

/* The token of `\boxed 5`: up to whitespace or a '$' (the end of the math). */
static size_t token_len(const char *p)
{
    size_t n = 0;
    while (p[n] && !isspace((unsigned char)p[n]) && p[n] != '$')
        n++;
    return n;
}

/* "\boxed{\boxed{5}}" is "5": a box whose whole content is one box is unwrapped. */
static void unwrap_inner_boxes(struct strbuf *out)
{
    size_t n = strlen(BOXED);
    while (!strncmp(sb_str(out), BOXED "{", n + 1)) {
        if (latex_group_len(out->buf + n) != out->len - n)
            return;   /* more than one box: "\boxed{1}+\boxed{2}" */
        struct strbuf inner = STRBUF_INIT;
        add_trimmed(&inner, out->buf + n + 1, out->len - n - 2);
        sb_free(out);
        *out = inner;
    }
}

/* Only the last top-level box counts: a broken, empty or unclosed last box is a
 * failure even when an earlier box was fine (the model's final answer is unknown). */
static int extract_boxed(const char *text, struct strbuf *out)
{
    const char *p = text, *box;
    int found = 0;
    sb_reset(out);
    while ((box = next_box(p)) != NULL) {
        const char *arg = box + strlen(BOXED), *q = arg;
        while (isspace((unsigned char)*q))
            q++;
        sb_reset(out);
        if (*q == '{') {
            size_t g = latex_group_len(q);
            if (g == 0)
                return 0;   /* unclosed: it swallows the rest of the text */
            found = add_trimmed(out, q + 1, g - 2);
            p = q + g;
        } else if (q > arg && token_len(q) > 0) {
            found = add_trimmed(out, q, token_len(q));
            p = q + token_len(q);
        } else {
            found = 0;   /* "\boxed" at the end of the text, or "\boxed$" */
            p = arg;
        }
    }
    if (!found)
        sb_reset(out);
    else
        unwrap_inner_boxes(out);
    return out->len > 0;
}

/* ---- regex ---- */

/* Every match, left to right and not overlapping (an empty match moves on by one
 * character); the last one counts. REG_STARTEND keeps the text before each
 * search start visible, so ^ after a newline and context still work. */
static int extract_regex(const regex_t *re, const char *text, struct strbuf *out)
{
    size_t len = strlen(text), from = 0;
    regoff_t so = -1, eo = -1;
    regmatch_t m[2];
    while (from <= len) {
        m[0].rm_so = (regoff_t)from;
        m[0].rm_eo = (regoff_t)len;
        if (regexec(re, text, 2, m, REG_STARTEND) != 0)
            break;
        int group = re->re_nsub >= 1;
        so = m[group].rm_so;
        eo = m[group].rm_eo;
        from = m[0].rm_eo > m[0].rm_so ? (size_t)m[0].rm_eo : (size_t)m[0].rm_so + 1;
    }
    sb_reset(out);
    if (so < 0)   /* no match, or the group took no part in the last match */
        return 0;
    if (add_trimmed(out, text + so, (size_t)(eo - so)))
        return 1;
    sb_reset(out);
    return 0;
}

/* ---- last number ---- */

static size_t digits_at(const char *p)
{
    size_t n = 0;
    while (isdigit((unsigned char)p[n]))
        n++;
    return n;
}

/* A thousands group: ',' then exactly three digits. */
static int thousands_group_at(const char *p)
{
    return p[0] == ',' && digits_at(p + 1) == 3;
}

/* The length of the number whose first digit is p[0]: digits, then either
 * thousands groups (when the first run has at most 3 digits) and decimals, or
 * a '/' and an integer denominator. */
static size_t number_len(const char *p)
{
    size_t n = digits_at(p);
    if (n <= 3)
        while (thousands_group_at(p + n))
            n += 4;
    if (p[n] == '.' && isdigit((unsigned char)p[n + 1]))
        n += 1 + digits_at(p + n + 1);
    else if (p[n] == '/' && isdigit((unsigned char)p[n + 1]) && !memchr(p, ',', n))
        n += 1 + digits_at(p + n + 1);
    return n;
}

/* A '-' just before the digit at p is a sign unless it follows a letter, a digit,
 * ')' or '.', or spaces after a digit or ')' ("10 - 3" is a subtraction). */
static int has_minus_sign(const char *text, const char *p)
{
    if (p == text || p[-1] != '-')
        return 0;
    const char *q = p - 1;
    if (q > text && (isalnum((unsigned char)q[-1]) || q[-1] == ')' || q[-1] == '.'))
        return 0;
    while (q > text && (q[-1] == ' ' || q[-1] == '\t'))
        q--;
    return !(q > text && (isdigit((unsigned char)q[-1]) || q[-1] == ')'));
}

static int extract_last_number(const char *text, struct strbuf *out)
{
    const char *start = NULL;
    size_t len = 0;
    for (const char *p = text; *p;) {
        if (!isdigit((unsigned char)*p)) {
            p++;
            continue;
        }
        size_t n = number_len(p);
        int neg = has_minus_sign(text, p);
        start = p - neg;
        len = n + (size_t)neg;
        p += n;
    }
    sb_reset(out);
    if (!start)
        return 0;
    sb_add(out, start, len);
    return 1;
}

/* ---- dispatch ---- */

int extract_answer(const struct extractor *x, const char *text, struct strbuf *out)
{
    if (!text)
        text = "";
    switch (x->kind) {
    case EXTRACT_REGEX:
        if (!x->has_re)
            break;
        return extract_regex(&x->re, text, out);
    case EXTRACT_LAST_NUMBER:
        return extract_last_number(text, out);
    case EXTRACT_BOXED:
        return extract_boxed(text, out);
    }
    sb_reset(out);
    return 0;
}
