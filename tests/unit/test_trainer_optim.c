/*
 * test_trainer_optim.c - the optimizer against numbers worked out by hand: the LR
 * schedule at known steps (warmup, cosine and linear midpoints, min_lr at the
 * end), two AdamW steps with weight decay across two segments, and global-norm
 * clipping; split over 3 threads, the same updates and norm as on one.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "optim.h"
#include "parallel.h"
#include "testhelp.h"

static void test_schedule(void)
{
    /* warmup 10, then 100 decay steps: step s (> 10) sits at (s - 11) / 100 of the way */
    struct lr_schedule s = { SCHED_COSINE, 1e-3, 1e-4, 10, 110 };
    CHECK_NEAR(lr_at(&s, 1), 1e-4, 1e-15);      /* warmup: lr * 1 / 10 */
    CHECK_NEAR(lr_at(&s, 5), 5e-4, 1e-15);
    CHECK_NEAR(lr_at(&s, 10), 1e-3, 1e-15);     /* the peak at the end of the warmup */
    CHECK(lr_at(&s, 11) == 1e-3);               /* and the first decay step */
    CHECK_NEAR(lr_at(&s, 61), 5.5e-4, 1e-15);   /* halfway down: (lr + min_lr) / 2 */
    CHECK_NEAR(lr_at(&s, 36), 1e-4 + 9e-4 * 0.5 * (1 + cos(M_PI / 4)), 1e-15);
    CHECK(lr_at(&s, 110) > 1e-4);               /* the last step still learns */
    CHECK(lr_at(&s, 111) == 1e-4);              /* the end of the schedule: min_lr exactly */
    CHECK(lr_at(&s, 30) > lr_at(&s, 31));
    s.kind = SCHED_LINEAR;
    CHECK_NEAR(lr_at(&s, 61), 5.5e-4, 1e-15);
    CHECK_NEAR(lr_at(&s, 36), 1e-3 - 9e-4 * 0.25, 1e-15);
    CHECK_NEAR(lr_at(&s, 110), 1e-4 + 9e-4 * 0.01, 1e-15);
    CHECK(lr_at(&s, 111) == 1e-4);
    s.kind = SCHED_CONSTANT;
    CHECK_NEAR(lr_at(&s, 3), 3e-4, 1e-15);      /* the warmup still applies */
    CHECK(lr_at(&s, 110) == 1e-3);
    struct lr_schedule nowarm = { SCHED_COSINE, 2e-3, 0, 0, 4 };
    CHECK(lr_at(&nowarm, 1) == 2e-3);
    CHECK_NEAR(lr_at(&nowarm, 3), 1e-3, 1e-15);
    CHECK(lr_at(&nowarm, 5) == 0);
    struct lr_schedule one = { SCHED_COSINE, 2e-3, 0, 0, 1 };
    CHECK(lr_at(&one, 1) == 2e-3);              /* a one-step run is not a no-op */
}

/*
 * lr 0.1, beta1 0.9, beta2 0.999, eps 1e-8, weight decay 0.01.
 * Element p = 1.0 with gradients 0.5 then -0.25:
 *   step 1: p = 1.0 * 0.999 = 0.999; m = 0.05; v = 0.00025; bias corrections 0.1, 0.001;
 *           p -= (0.1 / 0.1) * 0.05 / (sqrt(0.00025 / 0.001) + 1e-8) = 0.099999998
 *           -> 0.899000002
 *   step 2: p *= 0.999 -> 0.898101001998; m = 0.045 - 0.025 = 0.02;
 *           v = 0.00024975 + 0.0000625 = 0.00031225; corrections 0.19, 0.001999;
 *           p -= (0.1 / 0.19) * 0.02 / (sqrt(0.00031225 / 0.001999) + 1e-8) = 0.0266337033
 *           -> 0.8714672987
 * Element q = -2.0 with zero gradients only decays: -2 * 0.999^2 = -1.996002.
 */
static void test_adamw(void)
{
    float p[1] = { 1.0f }, g[1] = { 0.5f }, q[1] = { -2.0f }, gq[1] = { 0.0f };
    struct param_seg segs[2] = { { p, g, 1 }, { q, gq, 1 } };
    struct adamw o;
    adamw_init(&o, 2, 0.9, 0.999, 1e-8, 0.01);
    adamw_step(&o, segs, 2, 0.1);
    CHECK_NEAR(p[0], 0.899000002, 1e-7);
    CHECK_NEAR(o.m[0], 0.05, 1e-8);   /* moments are stored as float */
    CHECK_NEAR(o.v[0], 0.00025, 1e-10);
    CHECK_NEAR(q[0], -1.998, 1e-7);
    g[0] = -0.25f;
    adamw_step(&o, segs, 2, 0.1);
    CHECK_INT(o.t, 2);
    CHECK_NEAR(p[0], 0.8714672987, 1e-7);
    CHECK_NEAR(o.m[0], 0.02, 1e-8);
    CHECK_NEAR(o.v[0], 0.00031225, 1e-10);
    CHECK_NEAR(q[0], -1.996002, 1e-7);
    CHECK(o.m[1] == 0 && o.v[1] == 0);
    adamw_free(&o);
    adamw_free(&o);   /* a freed (zeroed) optimizer frees again harmlessly */
}

static void test_clipping(void)
{
    float a[2] = { 3.0f, 0.0f }, ga[2] = { 3.0f, 0.0f }, b[1] = { 0 }, gb[1] = { 4.0f };
    struct param_seg segs[2] = { { a, ga, 2 }, { b, gb, 1 } };
    double norm = grad_norm(segs, 2);
    CHECK_NEAR(norm, 5.0, 1e-12);                      /* one norm over both segments */
    CHECK(grad_clip(segs, 2, norm, 10.0) == 1.0);      /* under the limit: untouched */
    CHECK(grad_clip(segs, 2, norm, 0.0) == 1.0);       /* 0 = off */
    CHECK(ga[0] == 3.0f && gb[0] == 4.0f);
    double f = grad_clip(segs, 2, norm, 1.0);
    CHECK_NEAR(f, 1.0 / (5.0 + 1e-6), 1e-12);
    CHECK_NEAR(ga[0], 0.6, 1e-6);
    CHECK_NEAR(gb[0], 0.8, 1e-6);
    CHECK_NEAR(grad_norm(segs, 2), 1.0, 1e-6);
    CHECK(a[0] == 3.0f);                               /* weights are not touched */
}

/* Segments of 1000, 37 and 5000 floats: an AdamW step, the norm, clipping and zeroing
 * over 3 threads (ranges that cut segments) against one thread. */
static void test_threads(void)
{
    static const size_t sizes[3] = { 1000, 37, 5000 };
    float *w[2][3], *g[2][3];
    double norm[2];
    struct param_seg segs[2][3];
    for (int run = 0; run < 2; run++) {
        struct adamw o;
        adamw_init(&o, 6037, 0.9, 0.999, 1e-8, 0.01);
        par_set_threads(run ? 3 : 1);
        for (int s = 0; s < 3; s++) {
            w[run][s] = xmalloc(sizes[s] * sizeof(float));
            g[run][s] = xmalloc(sizes[s] * sizeof(float));
            for (size_t i = 0; i < sizes[s]; i++) {
                w[run][s][i] = (float)((i * 7 + s) % 13) - 6.0f;
                g[run][s][i] = (float)((i * 5 + s) % 11) * 0.1f - 0.5f;
            }
            segs[run][s] = (struct param_seg){ w[run][s], g[run][s], sizes[s] };
        }
        norm[run] = grad_norm(segs[run], 3);
        grad_clip(segs[run], 3, norm[run], 1.0);
        adamw_step(&o, segs[run], 3, 0.1);
        adamw_free(&o);
    }
    CHECK_NEAR(norm[1], norm[0], 1e-12 * norm[0]);
    int same = 1;
    for (int s = 0; s < 3; s++)
        same &= !memcmp(w[0][s], w[1][s], sizes[s] * sizeof(float)) &&
                !memcmp(g[0][s], g[1][s], sizes[s] * sizeof(float));
    CHECK(same);
    grad_zero(segs[1], 3);
    int zero = 1;
    for (int s = 0; s < 3; s++)
        for (size_t i = 0; i < sizes[s]; i++)
            zero &= g[1][s][i] == 0.0f;
    CHECK(zero);
    par_set_threads(1);
    for (int run = 0; run < 2; run++)
        for (int s = 0; s < 3; s++) {
            free(w[run][s]);
            free(g[run][s]);
        }
}

int main(void)
{
    TEST(test_schedule);
    TEST(test_adamw);
    TEST(test_clipping);
    TEST(test_threads);
    return test_report();
}
