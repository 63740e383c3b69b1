/*
 * test_chart.c - reports/chart.c: round 1-2-5 ticks inside the range, the issue's
 * bad axes (an accuracy tick below 0, an NLL tick below 0) impossible, and the
 * axis range clamped to what the quantity can be.
 */
#include <math.h>
#include <stdio.h>

#include "chart.h"
#include "testhelp.h"

/* Every tick inside [lo, hi], ascending, a whole multiple of a 1-2-5 step. */
static void check_ticks(double lo, double hi, int target)
{
    struct chart_ticks t;
    int n = chart_ticks(lo, hi, target, &t);
    CHECK(n >= 2 && n <= target);
    double m = t.step / pow(10, floor(log10(t.step) + 1e-9));
    CHECK(fabs(m - 1) < 1e-9 || fabs(m - 2) < 1e-9 || fabs(m - 5) < 1e-9);
    for (int i = 0; i < n; i++) {
        CHECK(t.v[i] >= lo - 1e-12 && t.v[i] <= hi + 1e-12);
        double k = t.v[i] / t.step;
        CHECK(fabs(k - round(k)) < 1e-6);
        if (i)
            CHECK(fabs(t.v[i] - t.v[i - 1] - t.step) < 1e-9 * t.step);
    }
}

static void test_examples(void)
{
    struct chart_ticks t;
    CHECK_INT(chart_ticks(0, 1, 6, &t), 6);           /* 0, 0.2, ..., 1 */
    CHECK_NEAR(t.step, 0.2, 1e-12);
    CHECK_NEAR(t.v[0], 0, 0);
    CHECK_NEAR(t.v[5], 1, 1e-12);
    CHECK_INT(t.decimals, 1);
    CHECK_INT(chart_ticks(0.13, 0.97, 5, &t), 4);     /* 0.2, 0.4, 0.6, 0.8 */
    CHECK_NEAR(t.v[0], 0.2, 1e-12);
    CHECK_NEAR(t.v[3], 0.8, 1e-12);
    CHECK_INT(chart_ticks(20, 252, 6, &t), 5);        /* 50, 100, 150, 200, 250 */
    CHECK_NEAR(t.step, 50, 0);
    CHECK_NEAR(t.v[0], 50, 0);
    CHECK_INT(t.decimals, 0);
    CHECK_INT(chart_ticks(1.189, 2.0, 5, &t), 5);     /* 1.2, 1.4, 1.6, 1.8, 2.0 */
    CHECK_NEAR(t.v[0], 1.2, 1e-12);
    CHECK_INT(chart_ticks(-3, 3, 7, &t), 7);          /* 0 is 0, never -0 */
    CHECK(!signbit(t.v[3]) && t.v[3] == 0);
    CHECK_INT(chart_ticks(5, 1, 5, &t), 5);           /* swapped: 1..5 */
    CHECK_NEAR(t.v[0], 1, 0);
    CHECK_INT(chart_ticks(0.5, 0.5, 5, &t), 1);
    CHECK_INT(chart_ticks(NAN, 1, 5, &t), 0);
    /* between two round numbers: a smaller step rather than one tick (0.12 .. 0.18) */
    CHECK_INT(chart_ticks(0.101, 0.189, 3, &t), 4);
    CHECK_NEAR(t.step, 0.02, 1e-12);
}

static void test_properties(void)
{
    static const double ranges[][2] = { { 0, 1 }, { 0.079, 0.54 }, { 0.8, 0.9 },
                                        { 1.1, 5.9 }, { 0.036, 0.04 }, { 2, 252 },
                                        { 1e-5, 3e-5 }, { 7, 1e6 }, { -0.2, 0.35 },
                                        { 123.4, 123.5 } };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
        for (int target = 3; target <= 10; target++)
            check_ticks(ranges[i][0], ranges[i][1], target);
}

static void test_range(void)
{
    double lo, hi;
    /* the accuracy axis: data 0.079..0.540 padded never goes below 0 */
    chart_range(0.0, 0.54, 0.15, 0.01, 0, 1, &lo, &hi);
    CHECK_NEAR(lo, 0, 0);
    CHECK(hi <= 1 && hi > 0.54);
    chart_range(0.9, 0.99, 0.5, 0.01, 0, 1, &lo, &hi);
    CHECK_NEAR(hi, 1, 0);
    /* all seeds equal: a minimum span around the value */
    chart_range(0.9, 0.9, 0.15, 0.02, 0, 1, &lo, &hi);
    CHECK_NEAR(lo, 0.89, 1e-12);
    CHECK_NEAR(hi, 0.91, 1e-12);
    /* an NLL axis stays at or above 0 */
    chart_range(0.01, 2.0, 0.1, 0, 0, INFINITY, &lo, &hi);
    CHECK(lo >= 0);
    struct chart_ticks t;
    chart_ticks(lo, hi, 5, &t);
    CHECK(t.v[0] >= 0);
}

/* Log ticks: 1-2-5 in each decade while they fit, then 1-3, then the powers of ten; every
 * tick inside the range, ascending; the NLL spans (0.08 .. 3.4 nats). */
static void test_log(void)
{
    struct chart_ticks t;
    CHECK_INT(chart_log_ticks(0.08, 3.4, 8, &t), 5);   /* 0.1 0.2 0.5 1 2 */
    CHECK_INT(chart_log_ticks(0.08, 3.4, 5, &t), 5);
    CHECK_NEAR(t.v[0], 0.1, 1e-12);
    CHECK_NEAR(t.v[4], 2, 1e-12);
    CHECK_INT(t.decimals, 1);
    CHECK_INT(chart_log_ticks(0.08, 3.4, 4, &t), 4);   /* 0.1 0.3 1 3 */
    CHECK_NEAR(t.v[1], 0.3, 1e-12);
    CHECK_INT(chart_log_ticks(0.08, 3.4, 3, &t), 2);   /* 0.1, 1 */
    CHECK_NEAR(t.v[1], 1, 1e-12);
    CHECK_INT(chart_log_ticks(1e-6, 1e3, 5, &t), 5);   /* 1e-6, 1e-4, ..., 1e2 */
    for (int i = 1; i < t.n; i++)
        CHECK_NEAR(t.v[i] / t.v[i - 1], 100, 1e-6);
    CHECK_INT(chart_log_ticks(5, 0.3, 5, &t), 4);      /* swapped: 0.5 1 2 5 */
    CHECK_NEAR(t.v[0], 0.5, 1e-12);
    /* no two log ticks inside a narrow range: the linear ones */
    CHECK_INT(chart_log_ticks(1.1, 1.9, 5, &t), 4);
    CHECK(t.step > 0);
    CHECK_INT(chart_log_ticks(0, 1, 5, &t), 0);
    CHECK_INT(chart_log_ticks(-1, 1, 5, &t), 0);
    static const double ranges[][2] = { { 0.05, 4 }, { 0.3, 3.1 }, { 1e-4, 9 }, { 2, 250 },
                                        { 0.011, 0.9 }, { 1e-9, 1e9 } };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
        for (int target = 3; target <= 10; target++) {
            int n = chart_log_ticks(ranges[i][0], ranges[i][1], target, &t);
            if (!(n >= 2 && n <= target))
                fprintf(stderr, "  [%g, %g] target %d: %d ticks\n", ranges[i][0], ranges[i][1],
                        target, n);
            CHECK(n >= 2 && n <= target);
            for (int k = 0; k < n; k++)
                CHECK(t.v[k] >= ranges[i][0] * (1 - 1e-9) && t.v[k] <= ranges[i][1] * (1 + 1e-9));
            for (int k = 1; k < n; k++)
                CHECK(t.v[k] > t.v[k - 1]);
        }
    CHECK(chart_wants_log(0.1, 3.4));
    CHECK(!chart_wants_log(0.5, 3.4));
    CHECK(!chart_wants_log(0, 3.4));
    double lo, hi;
    chart_log_range(0.1, 10, 0.05, &lo, &hi);
    CHECK(lo > 0 && lo < 0.1 && hi > 10);
    CHECK_NEAR(log10(hi) - 1, -1 - log10(lo), 1e-12);
}

int main(void)
{
    TEST(test_log);
    TEST(test_examples);
    TEST(test_properties);
    TEST(test_range);
    return test_report();
}
