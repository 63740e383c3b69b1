/*
 * answer_norm.c - the canonical form of an answer for exact match, and the match
 * itself (see extract.h). docs/evaluation.md lists every rule with examples; keep
 * the two in step.
 *
 * Normalization is a fixed sequence of passes, each a plain text -> text function,
 * run until the text stops changing.
 * The order matters: thousands separators are joined before `\,` turns into a space
 * and before whitespace is dropped (so "1, 234" stays a list), the trailing period
 * goes before the unit test (so "5\text{ cm}." loses its unit).
 *
 * Errors: none; any input has a normal form. Results go into caller-owned strbufs.
 */
#include <ctype.h>
#include <string.h>

#include "extract.h"

/* ---- helpers ---- */

static int is_digit(char c)
{
    return isdigit((unsigned char)c);
}

/* The length of lit when s starts with it, else 0. A literal ending in a letter
 * (a control word such as \left) must not be followed by another letter:
 * "\rightarrow" is not "\right". */
static size_t starts_with(const char *s, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(s, lit, n))
        return 0;
    if (isalpha((unsigned char)lit[n - 1]) && isalpha((unsigned char)s[n]))
        return 0;
    return n;
}

/* 1 when s[0..n) ends in a control word (a backslash and letters, as "\pi"), whose
 * name a following letter would lengthen: "\pi r" is not "\pir". */
static int ends_in_control_word(const char *s, size_t n)
{
    size_t j = n, slashes = 0;
    while (j > 0 && isalpha((unsigned char)s[j - 1]))
        j--;
    while (j > slashes && s[j - 1 - slashes] == '\\')
        slashes++;
    return j < n && slashes % 2 == 1;
}

/* ---- pass: token replacement tables ---- */

struct replacement {
    const char *from, *to;
};

/* Math delimiters and the negative thin space \! (as in "10,\!000"). */
static const struct replacement delimiters[] = {
    { "\\$", "" }, { "$", "" }, { "\\(", "" }, { "\\)", "" }, { "\\[", "" }, { "\\]", "" },
    { "\\!", "" }, { NULL, NULL }
};

/* Spacing, sizing and display commands, degrees and percent. */
static const struct replacement markup[] = {
    { "\\,", " " }, { "\\;", " " }, { "\\:", " " }, { "\\ ", " " }, { "~", " " },
    { "\\quad", " " }, { "\\qquad", " " }, { "\\left", "" }, { "\\right", "" },
    { "\\displaystyle", "" }, { "\\dfrac", "\\frac" }, { "\\tfrac", "\\frac" },
    { "^{\\circ}", "" }, { "^\\circ", "" }, { "\xc2\xb0", "" }, { "\\degree", "" },
    { "\\%", "" }, { "%", "" }, { NULL, NULL }
};

/* One left-to-right scan: the first table entry that starts at a position is
 * replaced; any other backslash pair is copied whole, so "\$" keeps its "\". */
static void replace_all(const char *in, const struct replacement *table, struct strbuf *out)
{
    for (size_t i = 0; in[i];) {
        const struct replacement *r;
        size_t n = 0;
        for (r = table; r->from && !n; r++)
            n = starts_with(in + i, r->from);
        if (n) {
            sb_adds(out, r[-1].to);
            i += n;
        } else if (in[i] == '\\' && in[i + 1]) {
            sb_add(out, in + i, 2);
            i += 2;
        } else {
            sb_addc(out, in[i++]);
        }
    }
}

static void pass_delimiters(const char *in, struct strbuf *out)
{
    replace_all(in, delimiters, out);
}

static void pass_markup(const char *in, struct strbuf *out)
{
    replace_all(in, markup, out);
}

/* ---- pass: thousands separators ---- */

enum sep_kind { SEP_NONE, SEP_COMMA, SEP_BRACED, SEP_THIN };

static const struct separator {
    const char *text;
    enum sep_kind kind;
} separators[] = { { ",", SEP_COMMA }, { "{,}", SEP_BRACED }, { "\\,", SEP_THIN } };

/* The separator at s ("," "{,}" "\,") when a digit follows it; its length in *n. */
static enum sep_kind separator_at(const char *s, size_t *n)
{
    for (size_t i = 0; i < sizeof(separators) / sizeof(separators[0]); i++) {
        *n = strlen(separators[i].text);
        if (!strncmp(s, separators[i].text, *n) && is_digit(s[*n]))
            return separators[i].kind;
    }
    *n = 0;
    return SEP_NONE;
}

/* s points at the first digit of a run of digit groups joined by separators. The
 * run's length; *is_thousands when it reads as one number: 1-3 digits, then at
 * least one group of exactly 3, one kind of separator throughout. */
static size_t digit_run(const char *s, int *is_thousands)
{
    size_t i = 0, n, first, groups = 0;
    enum sep_kind kind = SEP_NONE, k;
    int ok = 1;
    while (is_digit(s[i]))
        i++;
    first = i;
    while ((k = separator_at(s + i, &n)) != SEP_NONE) {
        if (kind != SEP_NONE && k != kind)
            ok = 0;
        kind = k;
        size_t g = i + n;
        while (is_digit(s[g]))
            g++;
        ok = ok && g - (i + n) == 3;
        groups++;
        i = g;
    }
    *is_thousands = ok && groups > 0 && first <= 3;
    return i;
}

/* "1,234" -> "1234", "10{,}000" -> "10000", "1\,000" -> "1000"; left alone: "1,2",
 * "1,234,5", "1234,567", decimals ("0.123,456") and a bracketed pair "(1,000)". */
static void pass_thousands(const char *in, struct strbuf *out)
{
    for (size_t i = 0; in[i];) {
        if (!is_digit(in[i])) {
            sb_addc(out, in[i++]);
            continue;
        }
        int thousands;
        size_t n = digit_run(in + i, &thousands);
        char before = i ? in[i - 1] : 0, after = in[i + n];
        if (before == '.' || ((before == '(' || before == '[') && (after == ')' || after == ']')))
            thousands = 0;
        for (size_t j = i; j < i + n; j++)
            if (!thousands || is_digit(in[j]))
                sb_addc(out, in[j]);
        i += n;
    }
}

/* ---- pass: whitespace ---- */

/* Whitespace goes, except that a run between two digits becomes one space, so
 * "1 2" stays apart from "12", as does a run that ends a control word before a
 * letter ("\pi r", "\circ g"), and a comma (thousands are joined by now) is followed
 * by exactly one space: the list "1, 234" becomes "1, 234" whatever its spacing,
 * never the number "1,234", and normalizing twice changes nothing. */
static size_t skip_space(const char *s, size_t i)
{
    while (isspace((unsigned char)s[i]))
        i++;
    return i;
}

static void pass_whitespace(const char *in, struct strbuf *out)
{
    for (size_t i = 0; in[i];) {
        char c = in[i];
        if (!isspace((unsigned char)c)) {
            sb_addc(out, c);
            i++;
            if (c == ',') {
                i = skip_space(in, i);
                if (in[i])
                    sb_addc(out, ' ');
            }
            continue;
        }
        size_t j = skip_space(in, i);
        if ((i > 0 && is_digit(in[i - 1]) && is_digit(in[j])) ||
            (isalpha((unsigned char)in[j]) && ends_in_control_word(in, i)))
            sb_addc(out, ' ');
        i = j;
    }
}

/* ---- pass: ends ---- */

/* Leading '+' signs and one trailing '.' (not the last of "..."), and the space that
 * ends up last. */
static void pass_ends(const char *in, struct strbuf *out)
{
    size_t n = strlen(in);
    while (in[0] == '+') {
        in++;
        n--;
    }
    if (n >= 1 && in[n - 1] == '.' && !(n >= 2 && in[n - 2] == '.'))
        n--;
    while (n && in[n - 1] == ' ')   /* "1, ." leaves "1, " */
        n--;
    sb_add(out, in, n);
}

/* ---- pass: \frac and \sqrt arguments ---- */

static void add_braced_args(const char *in, size_t n, struct strbuf *out, int depth);

/* One argument at in[*i]: a {group} (its inside normalized too) or a single letter
 * or digit, which gets braces. 0 when there is no such argument. */
static int add_arg(const char *in, size_t n, size_t *i, struct strbuf *out, int depth)
{
    if (*i < n && in[*i] == '{') {
        size_t g = latex_group_len(in + *i);
        if (g == 0 || *i + g > n)
            return 0;
        sb_addc(out, '{');
        add_braced_args(in + *i + 1, g - 2, out, depth + 1);
        sb_addc(out, '}');
        *i += g;
        return 1;
    }
    if (*i < n && isalnum((unsigned char)in[*i])) {
        sb_addf(out, "{%c}", in[*i]);
        (*i)++;
        return 1;
    }
    return 0;
}

/* Deeper than this, groups are copied as they are (bounded recursion). */
#define MAX_ARG_DEPTH 64

/* "\frac12" -> "\frac{1}{2}", "\frac1{2}" -> "\frac{1}{2}", "\sqrt2" -> "\sqrt{2}",
 * "\sqrt[3]8" -> "\sqrt[3]{8}". */
static void add_braced_args(const char *in, size_t n, struct strbuf *out, int depth)
{
    for (size_t i = 0; i < n;) {
        size_t cmd;
        if (depth < MAX_ARG_DEPTH && (cmd = starts_with(in + i, "\\frac")) != 0) {
            sb_add(out, in + i, cmd);
            i += cmd;
            if (add_arg(in, n, &i, out, depth))
                add_arg(in, n, &i, out, depth);
        } else if (depth < MAX_ARG_DEPTH && (cmd = starts_with(in + i, "\\sqrt")) != 0) {
            sb_add(out, in + i, cmd);
            i += cmd;
            const char *close = in[i] == '[' ? memchr(in + i, ']', n - i) : NULL;
            if (close) {
                sb_add(out, in + i, (size_t)(close - (in + i)) + 1);
                i = (size_t)(close - in) + 1;
            }
            add_arg(in, n, &i, out, depth);
        } else if (in[i] == '\\' && i + 1 < n) {
            sb_add(out, in + i, 2);
            i += 2;
        } else {
            sb_addc(out, in[i++]);
        }
    }
}

static void pass_braced_args(const char *in, struct strbuf *out)
{
    add_braced_args(in, strlen(in), out, 0);
}

/* ---- pass: \text ---- */

/* The length of an exponent at s ("^2", "^{3}"), or 0. */
static size_t exponent_len(const char *s)
{
    if (s[0] != '^' || !s[1])
        return 0;
    if (s[1] != '{')
        return 2;
    size_t g = latex_group_len(s + 1);
    return g ? g + 1 : 0;
}

/* A \text{...} (or \mbox{...}) at the very end, with an optional exponent, after a
 * number or a closing bracket is a unit and goes: "5\text{cm}" -> "5",
 * "\frac{1}{2}\text{m}^2" -> "\frac{1}{2}". Any other is unwrapped:
 * "\text{(A)}" -> "(A)". */
static void pass_text(const char *in, struct strbuf *out)
{
    for (size_t i = 0; in[i];) {
        size_t cmd = starts_with(in + i, "\\text");
        if (!cmd)
            cmd = starts_with(in + i, "\\mbox");
        size_t g = cmd && in[i + cmd] == '{' ? latex_group_len(in + i + cmd) : 0;
        if (!g) {
            size_t step = in[i] == '\\' && in[i + 1] ? 2 : 1;
            sb_add(out, in + i, step);
            i += step;
            continue;
        }
        size_t end = i + cmd + g;
        char last = out->len ? out->buf[out->len - 1] : 0;
        int unit = (is_digit(last) || last == '}' || last == ')' || last == ']') &&
                   in[end + exponent_len(in + end)] == '\0';
        if (unit)
            return;
        if (g > 2 && isalpha((unsigned char)in[i + cmd + 1]) &&
            ends_in_control_word(out->buf, out->len))
            sb_addc(out, ' ');   /* "\pi\text{r}" is "\pi r", not "\pir" */
        sb_add(out, in + i + cmd + 1, g - 2);
        i = end;
    }
}

/* ---- pass: numbers ---- */

/* Trailing zeros of every decimal go ("2.50" -> "2.5", "3.00" -> "3"), except in
 * dotted sequences like "1.10.2". */
static void pass_decimals(const char *in, struct strbuf *out)
{
    for (size_t i = 0; in[i];) {
        int starts = is_digit(in[i]) && !(i && (is_digit(in[i - 1]) || in[i - 1] == '.'));
        if (!starts) {
            sb_addc(out, in[i++]);
            continue;
        }
        size_t j = i;
        while (is_digit(in[j]))
            j++;
        if (in[j] != '.' || !is_digit(in[j + 1])) {
            sb_add(out, in + i, j - i);
            i = j;
            continue;
        }
        size_t k = j + 1, keep;
        while (is_digit(in[k]))
            k++;
        keep = k;
        if (!(in[k] == '.' && is_digit(in[k + 1]))) {
            while (keep > j + 1 && in[keep - 1] == '0')
                keep--;
            if (keep == j + 1)
                keep = j;
        }
        sb_add(out, in + i, keep - i);
        i = k;
    }
}

/* When the whole answer is one number: no leading zeros ("007" -> "7"), "-.5" ->
 * "-0.5", "-0" -> "0"; "a/b" -> "\frac{a}{b}" and "-a/b" -> "-\frac{a}{b}". */
static void pass_whole_number(const char *in, struct strbuf *out)
{
    const char *s = in + (in[0] == '-');
    size_t a = 0, b;
    while (is_digit(s[a]))
        a++;
    if (a > 0 && s[a] == '/' && is_digit(s[a + 1])) {
        for (b = a + 1; is_digit(s[b]); b++)
            ;
        if (s[b] == '\0') {
            sb_addf(out, "%s\\frac{%.*s}{%s}", s == in ? "" : "-", (int)a, s, s + a + 1);
            return;
        }
    }
    b = a;
    if (s[b] == '.' && is_digit(s[b + 1]))
        for (b++; is_digit(s[b]); b++)
            ;
    if (b == 0 || s[b] != '\0' || (a == 0 && s[0] != '.')) {
        sb_adds(out, in);
        return;
    }
    size_t z = 0;
    while (z + 1 < a && s[z] == '0')
        z++;
    int zero = strspn(s, "0.") == b;
    if (s != in && !zero)
        sb_addc(out, '-');
    if (a == 0)
        sb_addc(out, '0');
    sb_adds(out, s + z);
}

/* ---- the pipeline ---- */

typedef void (*norm_pass)(const char *in, struct strbuf *out);

static const norm_pass passes[] = {
    pass_delimiters, pass_thousands, pass_markup, pass_whitespace, pass_ends,
    pass_braced_args, pass_text, pass_decimals, pass_whole_number,
};

/* One run of every pass, in order, from *text into *text. */
static void normalize_once(struct strbuf *text, struct strbuf *tmp)
{
    for (size_t p = 0; p < sizeof(passes) / sizeof(passes[0]); p++) {
        sb_reset(tmp);
        passes[p](sb_str(text), tmp);
        sb_reset(text);
        sb_add(text, sb_str(tmp), tmp->len);
    }
}

/* A pass can make work for an earlier one ("^\left\circ" loses \left and
 * becomes "^\circ", a degree sign), so the pipeline runs until the text stops
 * changing; one or two rounds in practice, and never more than MAX_ROUNDS. */
#define MAX_ROUNDS 8

void answer_normalize(const char *answer, struct strbuf *out)
{
    struct strbuf prev = STRBUF_INIT, tmp = STRBUF_INIT;
    sb_reset(out);
    sb_adds(out, answer ? answer : "");
    for (int round = 0; round < MAX_ROUNDS; round++) {
        sb_reset(&prev);
        sb_add(&prev, sb_str(out), out->len);
        normalize_once(out, &tmp);
        if (out->len == prev.len && !memcmp(sb_str(out), sb_str(&prev), out->len))
            break;
    }
    sb_free(&prev);
    sb_free(&tmp);
}

int answers_match(const char *predicted, const char *gold)
{
    struct strbuf p = STRBUF_INIT, g = STRBUF_INIT;
    answer_normalize(predicted, &p);
    answer_normalize(gold, &g);
    int same = p.len > 0 && p.len == g.len && !memcmp(p.buf, g.buf, p.len);
    sb_free(&p);
    sb_free(&g);
    return same;
}
