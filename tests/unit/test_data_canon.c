/* test_data_canon.c - canonical problem text, n-grams and the hash multimap. */
#include <stdlib.h>

#include "canon.h"
#include "testhelp.h"
#include "u64map.h"

static const char *canon(const char *s)
{
    static struct strbuf sb;
    text_canon(s, &sb);
    return sb.buf;
}

static void test_canon_text(void)
{
    CHECK_STR(canon("Ava buys 1,200 pens at $3.50 each."), "ava buys 1200 pens at 3.5 each");
    CHECK_STR(canon("  HELLO\tWorld!!  "), "hello world");
    CHECK_STR(canon("007 and 4.0 and 4.10 and 0.5"), "7 and 4 and 4.1 and 0.5");
    CHECK_STR(canon("3, 4 and 1,2 and 12,345,678"), "3 4 and 1 2 and 12345678");
    CHECK_STR(canon("x2 3rd Ava's"), "x2 3rd ava s");
    CHECK_STR(canon("caf\xc3\xa9 au lait"), "caf\xc3\xa9 au lait");
    CHECK_STR(canon(""), "");
    CHECK_STR(canon("?!."), "");
    CHECK_STR(canon("Ends with 5."), "ends with 5");
    CHECK_STR(canon("0"), "0");
    /* the same problem written differently canonicalizes alike */
    CHECK_STR(canon("NORA HAS 12 CARDS ; SHE GIVES 4.00 AWAY ."),
              canon("Nora has 12 cards. She gives 4 away."));
}

struct grams {
    const char *text;
    char out[10][64];
    int n;
};

static int collect(size_t off, size_t len, void *ud)
{
    struct grams *g = ud;
    snprintf(g->out[g->n++], 64, "%.*s", (int)len, g->text + off);
    return g->n == 10;
}

static void test_ngrams(void)
{
    struct grams g = { "a b c d e", { { 0 } }, 0 };
    CHECK_INT(canon_word_count(g.text), 5);
    CHECK_INT(canon_ngrams(g.text, 3, collect, &g), 0);
    CHECK_INT(g.n, 3);
    CHECK_STR(g.out[0], "a b c");
    CHECK_STR(g.out[1], "b c d");
    CHECK_STR(g.out[2], "c d e");
    g.n = 0;
    CHECK_INT(canon_ngrams(g.text, 5, collect, &g), 0);
    CHECK_INT(g.n, 1);
    CHECK_STR(g.out[0], "a b c d e");
    g.n = 0;
    CHECK_INT(canon_ngrams(g.text, 6, collect, &g), 0);
    CHECK_INT(g.n, 0);
    struct grams w = { "one twenty three four", { { 0 } }, 0 };
    canon_ngrams(w.text, 2, collect, &w);
    CHECK_INT(w.n, 3);
    CHECK_STR(w.out[1], "twenty three");
    CHECK_INT(canon_word_count(""), 0);
}

static void test_u64map(void)
{
    struct u64map m = { 0 };
    for (size_t i = 0; i < 1000; i++)
        u64map_add(&m, i % 100, i);
    size_t pos = 0, v, n = 0, sum = 0;
    while (u64map_next(&m, 42, &pos, &v)) {
        n++;
        sum += v;
    }
    CHECK_INT(n, 10);
    CHECK_INT(sum, 42 * 10 + 100 * 45);
    pos = 0;
    CHECK_INT(u64map_next(&m, 5000, &pos, &v), 0);
    u64map_free(&m);
    pos = 0;
    CHECK_INT(u64map_next(&m, 1, &pos, &v), 0);
    /* FNV-1a test vectors */
    CHECK(hash64("", 0) == 0xcbf29ce484222325ull);
    CHECK(hash64("a", 1) == 0xaf63dc4c8601ec8cull);
}

int main(void)
{
    TEST(test_canon_text);
    TEST(test_ngrams);
    TEST(test_u64map);
    return test_report();
}
