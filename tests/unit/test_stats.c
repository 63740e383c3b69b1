/*
 * test_stats.c - reports/stats.c against values computed independently:
 * McNemar p-values from exact binomial sums (python3: 2 * sum(comb(n, i) for i in
 * range(k + 1)) / 2**n, and by hand for the small ones), summaries, and the
 * bootstrap's determinism and its degenerate cases.
 */
#include <stdlib.h>

#include "stats.h"
#include "testhelp.h"

static void test_mcnemar_small_by_hand(void)
{
    CHECK_NEAR(stats_mcnemar_exact(0, 0), 1.0, 0);
    CHECK_NEAR(stats_mcnemar_exact(1, 0), 1.0, 0);          /* 2 * 1/2 */
    CHECK_NEAR(stats_mcnemar_exact(1, 1), 1.0, 0);          /* 2 * 3/4, capped */
    CHECK_NEAR(stats_mcnemar_exact(5, 0), 0.0625, 1e-15);   /* 2 / 32 */
    CHECK_NEAR(stats_mcnemar_exact(0, 5), 0.0625, 1e-15);   /* symmetric */
    CHECK_NEAR(stats_mcnemar_exact(3, 1), 0.625, 1e-15);    /* 2 * 5/16 */
    CHECK_NEAR(stats_mcnemar_exact(10, 2), 0.03857421875, 1e-14);   /* 2 * 79/4096 */
}

/* Seed 001's disagreement tables (attention-only only vs all-layer only). */
static void test_mcnemar_seed001(void)
{
    CHECK_NEAR(stats_mcnemar_exact(54, 47), 0.5507089135982718, 1e-12);
    CHECK_NEAR(stats_mcnemar_exact(49, 43), 0.6024122776961509, 1e-12);
    CHECK_NEAR(stats_mcnemar_exact(46, 41), 0.6682849967188074, 1e-12);
    CHECK_NEAR(stats_mcnemar_exact(149, 131), 0.3096519366844882, 1e-12);
    /* 2^-1350 underflows a double: the log-space sum must not. */
    CHECK_NEAR(stats_mcnemar_exact(700, 650), 0.18231034946700564, 1e-11);
}

static void test_summary(void)
{
    /* seed 001's attention_only accuracies */
    double v[] = { 0.9044730856709629, 0.9067475360121304, 0.9052312357846853 };
    struct stats_summary s;
    stats_summarize(v, 3, &s);
    CHECK_INT(s.n, 3);
    CHECK_NEAR(s.mean, 0.9054839524892596, 1e-15);
    CHECK_NEAR(s.min, 0.9044730856709629, 0);
    CHECK_NEAR(s.max, 0.9067475360121304, 0);
    CHECK_NEAR(s.range, 0.0022744503411676, 1e-15);
    stats_summarize(v, 0, &s);
    CHECK(s.n == 0 && s.mean == 0 && s.range == 0);
}

static void test_rng(void)
{
    /* splitmix64's published first output for seed 0. */
    uint64_t st = 0;
    CHECK(stats_rng_next(&st) == 0xe220a8397b1dcdafULL);
    st = 7;
    int seen[5] = { 0 };
    for (int i = 0; i < 1000; i++) {
        size_t k = stats_rng_below(&st, 5);
        CHECK(k < 5);
        seen[k < 5 ? k : 0]++;
    }
    for (int k = 0; k < 5; k++)
        CHECK(seen[k] > 150 && seen[k] < 250);
}

static void test_bootstrap(void)
{
    int8_t all_a[4] = { 1, 1, 1, 1 }, same[3] = { 0, 0, 0 };
    int8_t mixed0[6] = { 1, 0, 0, -1, 1, 0 }, mixed1[5] = { 0, 1, 0, 0, -1 };
    const int8_t *g1[] = { all_a, all_a };
    size_t n1[] = { 4, 4 };
    struct stats_bootstrap b;
    CHECK(stats_paired_bootstrap(g1, n1, 2, 1000, 1, 0.05, &b) == 0);
    CHECK_NEAR(b.observed, 1, 0);
    CHECK_NEAR(b.lo, 1, 0);
    CHECK_NEAR(b.hi, 1, 0);
    const int8_t *g2[] = { same };
    size_t n2[] = { 3 };
    CHECK(stats_paired_bootstrap(g2, n2, 1, 500, 9, 0.05, &b) == 0);
    CHECK(b.observed == 0 && b.lo == 0 && b.hi == 0);
    /* mixed: observed = (1/6 + 0/5) / 2; same seed -> same interval, bit for bit */
    const int8_t *g3[] = { mixed0, mixed1 };
    size_t n3[] = { 6, 5 };
    struct stats_bootstrap c;
    CHECK(stats_paired_bootstrap(g3, n3, 2, 2000, 42, 0.05, &b) == 0);
    CHECK(stats_paired_bootstrap(g3, n3, 2, 2000, 42, 0.05, &c) == 0);
    CHECK_NEAR(b.observed, (1.0 / 6) / 2, 1e-15);
    CHECK(b.lo == c.lo && b.hi == c.hi);
    CHECK(b.lo < b.observed && b.observed < b.hi);
    CHECK(b.lo >= -1 && b.hi <= 1);
    /* three identical seeds of 1000 examples, 100 won by A and 50 by B: the gap is
     * 0.05 with a standard error of sqrt(0.1475 / 3000) = 0.00701, so the 95%
     * interval is close to 0.05 -+ 1.96 * 0.00701 = [0.0363, 0.0637]. */
    static int8_t big[1000];
    for (int i = 0; i < 1000; i++)
        big[i] = i < 100 ? 1 : i < 150 ? -1 : 0;
    const int8_t *g5[] = { big, big, big };
    size_t n5[] = { 1000, 1000, 1000 };
    CHECK(stats_paired_bootstrap(g5, n5, 3, 4000, 7, 0.05, &b) == 0);
    CHECK_NEAR(b.observed, 0.05, 1e-15);
    CHECK_NEAR(b.lo, 0.0363, 0.003);
    CHECK_NEAR(b.hi, 0.0637, 0.003);
    size_t n4[] = { 0 };
    CHECK(stats_paired_bootstrap(g2, n4, 1, 10, 1, 0.05, &b) < 0);
    CHECK(stats_paired_bootstrap(g2, n2, 0, 10, 1, 0.05, &b) < 0);
}

/* Over seeds alone: constant differences give a point interval; mixed ones an
 * interval inside [min, max] of the differences, the same on every run. */
static void test_seed_bootstrap(void)
{
    double flat[3] = { -0.25, -0.25, -0.25 }, mixed[4] = { -0.3, -0.1, 0.05, -0.2 };
    struct stats_bootstrap b, c;
    CHECK(stats_seed_bootstrap(flat, 3, 1000, 5, 0.05, &b) == 0);
    CHECK_NEAR(b.observed, -0.25, 1e-15);
    CHECK_NEAR(b.lo, -0.25, 1e-15);
    CHECK_NEAR(b.hi, -0.25, 1e-15);
    CHECK(stats_seed_bootstrap(mixed, 4, 2000, 42, 0.05, &b) == 0);
    CHECK(stats_seed_bootstrap(mixed, 4, 2000, 42, 0.05, &c) == 0);
    CHECK_NEAR(b.observed, -0.1375, 1e-15);
    CHECK(b.lo == c.lo && b.hi == c.hi);
    CHECK(b.lo >= -0.3 && b.lo < b.observed && b.observed < b.hi && b.hi <= 0.05);
    CHECK(stats_seed_bootstrap(mixed, 0, 10, 1, 0.05, &b) < 0);
}

int main(void)
{
    TEST(test_mcnemar_small_by_hand);
    TEST(test_mcnemar_seed001);
    TEST(test_summary);
    TEST(test_rng);
    TEST(test_bootstrap);
    TEST(test_seed_bootstrap);
    return test_report();
}
