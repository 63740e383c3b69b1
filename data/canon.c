/* canon.c - canonical problem text and its word n-grams (see canon.h). */
#include <ctype.h>
#include <string.h>

#include "canon.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A word character: ASCII letter or digit, or any byte of a UTF-8 sequence. */
static int is_word(unsigned char c)
{
    return isalnum(c) || c >= 0x80;
}

static void space(struct strbuf *out)
{
    if (out->len && out->buf[out->len - 1] != ' ')
        sb_addc(out, ' ');
}

/*
 * Append the canonical form of the number starting at s (a digit) and return the
 * first character after it. Commas count as thousands separators only when
 * exactly three digits follow ("1,250", not "1,2" or "3, 4").
 */
static const char *add_number(const char *s, struct strbuf *out)
{
    struct strbuf digits = STRBUF_INIT;
    for (;;) {
        while (is_digit(*s))
            sb_addc(&digits, *s++);
        if (*s == ',' && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) && !is_digit(s[4]))
            s++;
        else
            break;
    }
    const char *int_part = digits.buf;
    while (int_part[0] == '0' && int_part[1])
        int_part++;
    sb_adds(out, int_part);
    if (*s == '.' && is_digit(s[1])) {
        const char *frac = ++s;
        while (is_digit(*s))
            s++;
        size_t n = (size_t)(s - frac);
        while (n && frac[n - 1] == '0')
            n--;
        if (n) {
            sb_addc(out, '.');
            sb_add(out, frac, n);
        }
    }
    sb_free(&digits);
    return s;
}

void text_canon(const char *text, struct strbuf *out)
{
    sb_reset(out);
    const char *s = text;
    while (*s) {
        unsigned char c = (unsigned char)*s;
        if (is_digit(*s) && !(out->len && is_word((unsigned char)out->buf[out->len - 1]) &&
                              !is_digit(out->buf[out->len - 1]))) {
            /* a number starts a word ("3rd" stays "3rd" below; "x2" is a word) */
            s = add_number(s, out);
        } else if (is_word(c)) {
            sb_addc(out, (char)tolower(c));
            s++;
        } else {
            space(out);
            s++;
        }
    }
    if (out->len && out->buf[out->len - 1] == ' ')
        out->buf[--out->len] = '\0';
    if (!out->buf)
        sb_adds(out, "");
}

size_t canon_word_count(const char *canon)
{
    if (!*canon)
        return 0;
    size_t n = 1;
    for (const char *p = canon; *p; p++)
        n += *p == ' ';
    return n;
}

int canon_ngrams(const char *canon, size_t n, int (*fn)(size_t off, size_t len, void *ud),
                 void *ud)
{
    size_t words = canon_word_count(canon);
    if (n == 0 || words < n)
        return 0;
    size_t total = strlen(canon);
    /* start: first byte of the window's first word; end: one past its last word */
    size_t start = 0, end = 0;
    for (size_t k = 0; k < n; k++) {
        const char *sp = strchr(canon + end + (k ? 1 : 0), ' ');
        end = sp ? (size_t)(sp - canon) : total;
    }
    for (;;) {
        if (fn(start, end - start, ud))
            return 1;
        if (end == total)
            return 0;
        const char *sp = strchr(canon + start, ' ');
        start = (size_t)(sp - canon) + 1;
        sp = strchr(canon + end + 1, ' ');
        end = sp ? (size_t)(sp - canon) : total;
    }
}
