/*
 * testhelp.h - the whole unit-test harness: a few macros, no framework.
 *
 * A test file defines `static void test_xxx(void)` functions and a main that calls
 * TEST(test_xxx) for each, then `return test_report();`. Every CHECK counts once;
 * the last line printed is "N passed, N failed", which tests/run-tests parses.
 */
#ifndef MAINLINE_TESTHELP_H
#define MAINLINE_TESTHELP_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int th_passed, th_failed;

#define CHECK(cond) do { \
    if (cond) { th_passed++; } else { th_failed++; \
        fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_STR(got, want) do { \
    const char *g_ = (got), *w_ = (want); \
    if (g_ && w_ && strcmp(g_, w_) == 0) { th_passed++; } else { th_failed++; \
        fprintf(stderr, "  FAIL %s:%d: %s\n    got:  %s\n    want: %s\n", \
                __FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } \
} while (0)

#define CHECK_INT(got, want) do { \
    long long g_ = (long long)(got), w_ = (long long)(want); \
    if (g_ == w_) { th_passed++; } else { th_failed++; \
        fprintf(stderr, "  FAIL %s:%d: %s = %lld, want %lld\n", \
                __FILE__, __LINE__, #got, g_, w_); } \
} while (0)

#define CHECK_NEAR(got, want, tol) do { \
    double g_ = (got), w_ = (want); \
    if (fabs(g_ - w_) <= (tol)) { th_passed++; } else { th_failed++; \
        fprintf(stderr, "  FAIL %s:%d: %s = %.9g, want %.9g (tol %g)\n", \
                __FILE__, __LINE__, #got, g_, w_, (double)(tol)); } \
} while (0)

#define TEST(fn) do { int f0_ = th_failed; fn(); \
    fprintf(stderr, "%s %s\n", th_failed == f0_ ? "ok  " : "FAIL", #fn); } while (0)

static inline int test_report(void)
{
    printf("%d passed, %d failed\n", th_passed, th_failed);
    return th_failed ? 1 : 0;
}

#endif
