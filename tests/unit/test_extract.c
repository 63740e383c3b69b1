/*
 * test_extract.c - answer extraction and normalization: tables of tricky cases
 * with exact expected values (docs/evaluation.md shows many of the same ones).
 */
#include <stdlib.h>

#include "extract.h"
#include "testhelp.h"

/* ---- extraction ---- */

struct extract_case {
    const char *kind, *pattern, *text;
    const char *want;   /* NULL: an extraction failure */
};

static const struct extract_case extract_cases[] = {
    /* boxed: the last top-level box, nested braces balanced */
    { "boxed", NULL, "so the answer is \\boxed{5}.", "5" },
    { "boxed", NULL, "\\boxed{\\frac{1}{2}}", "\\frac{1}{2}" },
    { "boxed", NULL, "\\boxed{\\frac{\\sqrt{3}}{2}} done", "\\frac{\\sqrt{3}}{2}" },
    { "boxed", NULL, "\\boxed{\\{1,2\\}}", "\\{1,2\\}" },
    { "boxed", NULL, "\\boxed{x \\} y}", "x \\} y" },
    { "boxed", NULL, "first \\boxed{3}, then \\boxed{4}", "4" },
    { "boxed", NULL, "\\boxed{a}\\boxed{b}", "b" },
    { "boxed", NULL, "\\boxed{\\boxed{5}}", "5" },
    { "boxed", NULL, "\\boxed{ \\boxed{\\boxed{-1}} }", "-1" },
    { "boxed", NULL, "\\boxed{\\boxed{}}", NULL },
    { "boxed", NULL, "\\boxed{\\boxed{1}+\\boxed{2}}", "\\boxed{1}+\\boxed{2}" },
    { "boxed", NULL, "\\boxed{\\boxed{1}^2}", "\\boxed{1}^2" },
    { "boxed", NULL, "\\boxed{ 9 }", "9" },
    { "boxed", NULL, "\\boxed {7}", "7" },
    { "boxed", NULL, "\\boxed{\\text{(B)}}", "\\text{(B)}" },
    { "boxed", NULL, "\\boxed{-12}", "-12" },
    { "boxed", NULL, "\\boxed{$$}", "$$" },   /* found; it normalizes to nothing */
    { "boxed", NULL, "$\\boxed{1,234}$", "1,234" },
    /* boxed: `\boxed 5`, a single token after the space */
    { "boxed", NULL, "\\boxed 5", "5" },
    { "boxed", NULL, "$\\boxed 5$ and more", "5" },
    { "boxed", NULL, "\\boxed   42.", "42." },
    { "boxed", NULL, "\\boxed{1} then \\boxed 2", "2" },
    { NULL, NULL, "\\boxed{3}", "3" },   /* no kind: boxed */
    /* boxed failures: empty, unclosed, broken, absent */
    { "boxed", NULL, "\\boxed{}", NULL },
    { "boxed", NULL, "\\boxed{  }", NULL },
    { "boxed", NULL, "\\boxed{1} but \\boxed{}", NULL },
    { "boxed", NULL, "\\boxed{12", NULL },
    { "boxed", NULL, "\\boxed{1} and \\boxed{2", NULL },
    { "boxed", NULL, "\\boxed{1} and \\boxed{\\frac{2}{3}", NULL },
    { "boxed", NULL, "\\boxed{5} \\boxed", NULL },
    { "boxed", NULL, "\\boxed$", NULL },
    { "boxed", NULL, "\\fbox{3}", NULL },
    { "boxed", NULL, "\\boxedx{3}", NULL },
    { "boxed", NULL, "the answer is 5", NULL },
    { "boxed", NULL, "", NULL },
    /* regex: the first group of the last match; the whole match without groups */
    { "regex", "#### (-?[0-9.,]+)", "so 3 + 4 = 7\n#### 1,234", "1,234" },
    { "regex", "#### (-?[0-9.,]+)", "#### 1\n#### -2", "-2" },
    { "regex", "#### (-?[0-9.,]+)", "no marker 42", NULL },
    { "regex", "[0-9]+", "a 12 b 345 c", "345" },
    { "regex", "Answer: (.*)", "Answer: 5\nmore text", "5" },
    { "regex", "^([0-9]+)$", "1\n22\n333", "333" },
    { "regex", "^([0-9]+)$", "1\nx22", "1" },
    { "regex", "#### ( *[0-9]+ *)", "####   8  ", "8" },
    { "regex", "x(a)?y", "xay xy", NULL },   /* the group is not in the last match */
    { "regex", "x(a)?y", "xy xay", "a" },
    { "regex", "x*", "axxb", NULL },         /* the last match is empty */
    /* last_number: sign, thousands, decimals, fractions */
    { "last_number", NULL, "The answer is 42.", "42" },
    { "last_number", NULL, "-3", "-3" },
    { "last_number", NULL, "so x = -3.5", "-3.5" },
    { "last_number", NULL, "it is -7", "-7" },
    { "last_number", NULL, "(-4)", "-4" },
    { "last_number", NULL, "10 - 3", "3" },
    { "last_number", NULL, "3-5", "5" },
    { "last_number", NULL, "1,234,567 apples", "1,234,567" },
    { "last_number", NULL, "costs $1,000.50 total", "1,000.50" },
    { "last_number", NULL, "1,23", "23" },
    { "last_number", NULL, "1234,567", "567" },
    { "last_number", NULL, "1, 2, 3", "3" },
    { "last_number", NULL, "1/2 of 3/4", "3/4" },
    { "last_number", NULL, "-1/2", "-1/2" },
    { "last_number", NULL, "12/25/2023", "2023" },
    { "last_number", NULL, "v1.2.3", "3" },
    { "last_number", NULL, "x2", "2" },
    { "last_number", NULL, "0.50", "0.50" },
    { "last_number", NULL, "no digits here", NULL },
    { "last_number", NULL, "-", NULL },
    { "last_number", NULL, "", NULL },
};

static void test_extract_table(void)
{
    for (size_t i = 0; i < sizeof(extract_cases) / sizeof(extract_cases[0]); i++) {
        const struct extract_case *c = &extract_cases[i];
        struct extractor x;
        struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
        int failed_before = th_failed;
        CHECK_INT(extractor_init(&x, c->kind, c->pattern, &err), 0);
        int found = extract_answer(&x, c->text, &out);
        CHECK_INT(found, c->want != NULL);
        CHECK_STR(sb_str(&out), c->want ? c->want : "");
        if (th_failed != failed_before)
            fprintf(stderr, "    (case %zu: %s on \"%s\")\n", i, c->kind ? c->kind : "NULL",
                    c->text);
        extractor_free(&x);
        sb_free(&err);
        sb_free(&out);
    }
}

/* The output buffer is reset, also by a failure, and NULL text is no text. */
static void test_extract_resets_output(void)
{
    struct extractor x;
    struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
    CHECK_INT(extractor_init(&x, "boxed", NULL, &err), 0);
    sb_adds(&out, "stale");
    CHECK_INT(extract_answer(&x, "\\boxed{1}", &out), 1);
    CHECK_STR(sb_str(&out), "1");
    CHECK_INT(extract_answer(&x, "nothing", &out), 0);
    CHECK_INT(out.len, 0);
    CHECK_INT(extract_answer(&x, NULL, &out), 0);
    extractor_free(&x);
    extractor_free(&x);   /* twice is harmless */
    sb_free(&out);
    sb_free(&err);
}

static void expect_init_error(const char *kind, const char *pattern, const char *want)
{
    struct extractor x;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(extractor_init(&x, kind, pattern, &err), -1);
    CHECK_STR(sb_str(&err), want);
    extractor_free(&x);
    sb_free(&err);
}

static void test_extractor_init_errors(void)
{
    expect_init_error("regex", NULL, "extract: regex needs a 'pattern'");
    expect_init_error("regex", "", "extract: regex needs a 'pattern'");
    expect_init_error("fuzzy", NULL, "unknown extractor 'fuzzy' (boxed, regex or last_number)");
    struct extractor x;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(extractor_init(&x, "regex", "#### ([0-9]+", &err), -1);
    CHECK(strstr(sb_str(&err), "bad regex pattern '#### ([0-9]+': ") == sb_str(&err));
    extractor_free(&x);
    /* A pattern beside another extractor is ignored (the sweep may carry one). */
    sb_reset(&err);
    CHECK_INT(extractor_init(&x, "last_number", "(", &err), 0);
    CHECK_INT(x.has_re, 0);
    extractor_free(&x);
    sb_free(&err);
}

/* ---- normalization ---- */

struct norm_case {
    const char *in, *want;
};

static const struct norm_case norm_cases[] = {
    /* whitespace and math delimiters */
    { "  5 ", "5" },
    { "$5$", "5" },
    { "$$x^2$$", "x^2" },
    { "\\$5", "5" },
    { "\\(\\frac{1}{2}\\)", "\\frac{1}{2}" },
    { "\\[ 3 \\]", "3" },
    { "x + y", "x+y" },
    { "1 2", "1 2" },
    { "1   2", "1 2" },
    /* thousands separators: only 1-3 digits, then groups of exactly three */
    { "1,234", "1234" },
    { "1,234,567", "1234567" },
    { "-1,234.50", "-1234.5" },
    { "10{,}000", "10000" },
    { "10,\\!000", "10000" },
    { "1\\,000", "1000" },
    { "1,2", "1, 2" },
    { "1,234,5", "1, 234, 5" },
    { "5,1,234", "5, 1, 234" },
    { "1234,567", "1234, 567" },
    { "1,234{,}567", "1, 234{, }567" },
    { "0.123,456", "0.123, 456" },
    { "(1,000)", "(1, 000)" },
    { "[1,000]", "[1, 000]" },
    { "(1,000, 2)", "(1000, 2)" },
    { "1, 234", "1, 234" },   /* a list stays a list */
    { "1,  2", "1, 2" },
    { "5,", "5," },
    /* decimals */
    { "5.0", "5" },
    { "5.00", "5" },
    { "0.50", "0.5" },
    { "2.50", "2.5" },
    { "100", "100" },
    { "(2.50, 3.0)", "(2.5, 3)" },
    { "1.10.2", "1.10.2" },
    /* a whole-answer number */
    { "+5", "5" },
    { "+++5", "5" },
    { "-0", "0" },
    { "-0.0", "0" },
    { "007", "7" },
    { "0", "0" },
    { ".5", "0.5" },
    { "-.5", "-0.5" },
    { "1/2", "\\frac{1}{2}" },
    { "-3/4", "-\\frac{3}{4}" },
    { "1/2/3", "1/2/3" },
    /* fractions and roots */
    { "\\dfrac{1}{2}", "\\frac{1}{2}" },
    { "\\tfrac12", "\\frac{1}{2}" },
    { "\\frac12", "\\frac{1}{2}" },
    { "\\frac1{2}", "\\frac{1}{2}" },
    { "\\frac{1}2", "\\frac{1}{2}" },
    { "\\frac{\\sqrt3}{2}", "\\frac{\\sqrt{3}}{2}" },
    { "\\sqrt2", "\\sqrt{2}" },
    { "\\sqrt[3]8", "\\sqrt[3]{8}" },
    { "2\\sqrt{2}", "2\\sqrt{2}" },
    { "\\frac{1}{", "\\frac{1}{" },
    /* \left, \right and spacing */
    { "\\left( 1, 2 \\right)", "(1, 2)" },
    { "\\left\\{1,2\\right\\}", "\\{1, 2\\}" },
    { "x \\rightarrow y", "x\\rightarrow y" },
    { "\\pi r^2", "\\pi r^2" },
    { "\\pi\\text{r}", "\\pi r" },
    { "\\d\\,egree", "\\d egree" },
    { "2 \\cdot 3", "2\\cdot3" },
    { "a\\quad b", "ab" },
    { "\\displaystyle\\frac{1}{2}", "\\frac{1}{2}" },
    /* \text: a trailing unit goes, any other \text is unwrapped */
    { "5\\text{ cm}", "5" },
    { "5 \\text{cm}^2", "5" },
    { "5\\text{ m}^{3}", "5" },
    { "\\frac{1}{2}\\text{ inch}", "\\frac{1}{2}" },
    { "5\\text{ cm}.", "5" },
    { "5\\mbox{ m}", "5" },
    { "\\text{(A)}", "(A)" },
    { "\\text{Yes}", "Yes" },
    { "x\\text{ is even}", "xiseven" },
    { "5\\text{ and }6", "5and6" },
    { "\\textbf{5}", "\\textbf{5}" },
    /* degrees, percent, the ends */
    { "30^\\circ", "30" },
    { "30^{\\circ}", "30" },
    { "30\xc2\xb0", "30" },
    { "30^\\left\\circ", "30" },   /* \left goes, then the degree sign */
    { "30^\r\\circ", "30" },
    { "50\\%", "50" },
    { "50%", "50" },
    { "f \\circ g", "f\\circ g" },
    { "5.", "5" },
    { "1, 2, ...", "1, 2, ..." },
    { "", "" },
    { " \\! ", "" },
};

static void test_normalize_table(void)
{
    struct strbuf out = STRBUF_INIT;
    for (size_t i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
        int failed_before = th_failed;
        answer_normalize(norm_cases[i].in, &out);
        CHECK_STR(sb_str(&out), norm_cases[i].want);
        if (th_failed != failed_before)
            fprintf(stderr, "    (input \"%s\")\n", norm_cases[i].in);
    }
    answer_normalize(NULL, &out);
    CHECK_STR(sb_str(&out), "");
    sb_free(&out);
}

/* Normalizing twice changes nothing. */
static void test_normalize_is_idempotent(void)
{
    struct strbuf once = STRBUF_INIT, twice = STRBUF_INIT;
    for (size_t i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
        answer_normalize(norm_cases[i].in, &once);
        answer_normalize(sb_str(&once), &twice);
        CHECK_STR(sb_str(&twice), sb_str(&once));
    }
    sb_free(&once);
    sb_free(&twice);
}

/* ---- matching ---- */

struct pair {
    const char *a, *b;
};

static const struct pair same[] = {
    { "0.50", "0.5" }, { "5", "5.0" }, { "1,234", "1234" }, { "$18", "18" },
    { "\\frac12", "\\dfrac{1}{2}" }, { "1/2", "\\frac{1}{2}" }, { "5\\text{ cm}", "5" },
    { "+3", "3" }, { "30^\\circ", "30" }, { "10,\\!000", "10000" }, { "-.5", "-0.5" },
    { "\\left(1,2\\right)", "(1, 2)" }, { "1,000.00", "1000" }, { " 42. ", "42" },
    { "-1/2", "-\\frac{1}{2}" }, { "\\text{(C)}", "(C)" }, { "(1,2)", "( 1 , 2 )" },
};

static const struct pair different[] = {
    { "1,2", "12" }, { "1,2", "1.2" }, { "1 2", "12" }, { "(1,000)", "(1000)" },
    { "1,234,5", "12345" }, { "0.5", "5" }, { "-3", "3" }, { "1/2", "2/1" },
    { "\\frac{1}{2}", "\\frac{2}{1}" }, { "x", "X" }, { "100", "1" }, { "10", "1.0" },
    { "2.50", "25" }, { "1.10.2", "1.1.2" }, { "\\sqrt{2}", "2" }, { "0.5", "\\frac{1}{2}" },
    { "1,234", "1.234" }, { "1, 234", "1,234" }, { "50\\%", "0.5" }, { "\\frac{-1}{2}", "-\\frac{1}{2}" },
    { "x=5", "5" }, { "5", "" }, { "", "" }, { "$$", "" },
    { "1, 2", "2, 1" }, { "1 000", "1000" }, { "5 cm", "5" }, { "1,000", "1.000" },
};

static void test_match_pairs(void)
{
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        int failed_before = th_failed;
        CHECK_INT(answers_match(same[i].a, same[i].b), 1);
        CHECK_INT(answers_match(same[i].b, same[i].a), 1);
        if (th_failed != failed_before)
            fprintf(stderr, "    (\"%s\" vs \"%s\" should match)\n", same[i].a, same[i].b);
    }
    for (size_t i = 0; i < sizeof(different) / sizeof(different[0]); i++) {
        int failed_before = th_failed;
        CHECK_INT(answers_match(different[i].a, different[i].b), 0);
        CHECK_INT(answers_match(different[i].b, different[i].a), 0);
        if (th_failed != failed_before)
            fprintf(stderr, "    (\"%s\" vs \"%s\" must not match)\n", different[i].a,
                    different[i].b);
    }
}

/* End to end as the evaluator uses it: extract, then match against the gold. */
static void test_extract_then_match(void)
{
    struct extractor x;
    struct strbuf err = STRBUF_INIT, got = STRBUF_INIT;
    CHECK_INT(extractor_init(&x, "regex", "#### (-?[0-9.,]+)", &err), 0);
    CHECK_INT(extract_answer(&x, "48 / 2 = 24 clips.\n#### 1,072.", &got), 1);
    CHECK_INT(answers_match(sb_str(&got), "1072"), 1);
    extractor_free(&x);
    CHECK_INT(extractor_init(&x, "boxed", NULL, &err), 0);
    CHECK_INT(extract_answer(&x, "So $x = \\boxed{\\dfrac{3}{4}\\text{ m}}$.", &got), 1);
    CHECK_INT(answers_match(sb_str(&got), "\\frac34"), 1);
    extractor_free(&x);
    sb_free(&err);
    sb_free(&got);
}

int main(void)
{
    TEST(test_extract_table);
    TEST(test_extract_resets_output);
    TEST(test_extractor_init_errors);
    TEST(test_normalize_table);
    TEST(test_normalize_is_idempotent);
    TEST(test_match_pairs);
    TEST(test_extract_then_match);
    return test_report();
}
