/*
 * test_ops.c - unit tests for model/ops.c: the BLAS matmul against the naive
 * reference on odd shapes, the blocked attention against the naive one, and every
 * backward against central finite differences of the scalar sum(out * R), with R
 * random (so dout = R). Each check prints the max difference it saw. Every test
 * runs twice: on the caller alone, then split over 3 threads (parallel.h), whose
 * uneven splits must give the same answers within rounding.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ops.h"
#include "parallel.h"
#include "testhelp.h"

/* ---- helpers ---- */

static uint64_t rng_state = 42;

static float frand(void)   /* U(-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (2.0 / 16777216.0) - 1.0);
}

static float *rand_buf(size_t n, float scale)
{
    float *p = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        p[i] = frand() * scale;
    return p;
}

static float *zeros(size_t n)
{
    return xcalloc(n, sizeof(float));
}

static double dot_out(const float *out, const float *r, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)out[i] * r[i];
    return s;
}

/* The objective under test: runs the forward, returns sum(out * R). */
typedef double (*objective_fn)(void *ctx);

/*
 * Central differences of f over every entry of param (or `stride`-spaced ones)
 * against the analytic gradient. The error of an entry is |a - n| divided by
 * max(|a|, |n|, 1e-2 * the largest |a|), so tiny entries are judged on the
 * tensor's scale. Prints and returns the max.
 */
static double fd_check(const char *name, float *param, const float *grad, size_t n,
                       size_t stride, objective_fn f, void *ctx, float eps)
{
    double gmax = 0, worst = 0;
    for (size_t i = 0; i < n; i++)
        gmax = fabs(grad[i]) > gmax ? fabs(grad[i]) : gmax;
    for (size_t i = 0; i < n; i += stride) {
        float keep = param[i];
        param[i] = keep + eps;
        double lp = f(ctx);
        param[i] = keep - eps;
        double lm = f(ctx);
        param[i] = keep;
        double num = (lp - lm) / (2.0 * (double)eps), ana = grad[i];
        double den = fmax(fmax(fabs(ana), fabs(num)), 1e-2 * gmax);
        double err = den > 0 ? fabs(ana - num) / den : 0;
        worst = err > worst ? err : worst;
    }
    fprintf(stderr, "    %-28s max rel err %.2e\n", name, worst);
    return worst;
}

/* float forwards: a step this large keeps rounding noise well under the tolerance,
 * and truncation error (eps^2 terms) is smaller still for these smooth ops */
#define FD_EPS 3e-2f
#define FD_TOL 5e-3

/* ---- matmul ---- */

static void matmul_vs_naive(int split)
{
    /* the last two (test_matmul_split) are big enough to be split: by rows, then by
     * columns */
    static const int shapes[][3] = { { 1, 1, 1 }, { 7, 13, 5 }, { 33, 17, 65 }, { 129, 31, 3 },
                                     { 5, 288, 97 }, { 64, 3, 256 }, { 301, 67, 41 },
                                     { 37, 67, 303 } };
    size_t n_shapes = sizeof(shapes) / sizeof(shapes[0]);
    for (size_t s = split ? n_shapes - 2 : 0; s < (split ? n_shapes : n_shapes - 2); s++) {
        int N = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
        float *x = rand_buf((size_t)N * in, 1), *w = rand_buf((size_t)out * in, 1);
        float *y = zeros((size_t)N * out), *yr = zeros((size_t)N * out);
        matmul_forward(y, x, w, N, in, out);
        matmul_forward_naive(yr, x, w, N, in, out);
        double diff = 0, mag = 0;
        for (size_t i = 0; i < (size_t)N * out; i++) {
            diff = fmax(diff, fabs(y[i] - yr[i]));
            mag = fmax(mag, fabs(yr[i]));
        }
        fprintf(stderr, "    matmul %3dx%3d -> %3d      max abs diff %.2e (max |y| %.2f)\n",
                N, in, out, diff, mag);
        CHECK(diff <= 1e-4 * fmax(mag, 1.0));
        free(x);
        free(w);
        free(y);
        free(yr);
    }
}

static void test_matmul_vs_naive(void)
{
    matmul_vs_naive(0);
}

static void test_matmul_split(void)
{
    matmul_vs_naive(1);
}

struct mm_ctx { float *y, *x, *w, *r; int N, in, out; };

static double mm_obj(void *p)
{
    struct mm_ctx *c = p;
    matmul_forward(c->y, c->x, c->w, c->N, c->in, c->out);
    return dot_out(c->y, c->r, (size_t)c->N * c->out);
}

static void test_matmul_backward(void)
{
    struct mm_ctx c = { .N = 5, .in = 7, .out = 3 };
    c.x = rand_buf(35, 1);
    c.w = rand_buf(21, 1);
    c.r = rand_buf(15, 1);
    c.y = zeros(15);
    float *dx = zeros(35), *dw = zeros(21);
    mm_obj(&c);
    matmul_backward(dx, dw, c.r, c.x, c.w, c.N, c.in, c.out);
    CHECK(fd_check("matmul dx", c.x, dx, 35, 1, mm_obj, &c, FD_EPS) < FD_TOL);
    CHECK(fd_check("matmul dw", c.w, dw, 21, 1, mm_obj, &c, FD_EPS) < FD_TOL);
    /* backward adds, and NULL skips */
    float *dx2 = zeros(35);
    memcpy(dx2, dx, 35 * sizeof(float));
    matmul_backward(dx2, NULL, c.r, c.x, c.w, c.N, c.in, c.out);
    double d = 0;
    for (int i = 0; i < 35; i++)
        d = fmax(d, fabs(dx2[i] - 2 * dx[i]));
    CHECK(d < 1e-5);
    /* y += alpha x W^T */
    float *y2 = zeros(15);
    mm_obj(&c);   /* the finite differences left y of a perturbed w */
    memcpy(y2, c.y, 15 * sizeof(float));
    matmul_forward_acc(y2, c.x, c.w, c.N, c.in, c.out, 0.5f);
    d = 0;
    for (int i = 0; i < 15; i++)
        d = fmax(d, fabs(y2[i] - 1.5 * c.y[i]));
    CHECK(d < 1e-5);
    free(c.x);
    free(c.w);
    free(c.r);
    free(c.y);
    free(dx);
    free(dw);
    free(dx2);
    free(y2);
}

/* ---- rmsnorm ---- */

struct rn_ctx { float *out, *rstd, *x, *w, *r; int N, C; };

static double rn_obj(void *p)
{
    struct rn_ctx *c = p;
    rmsnorm_forward(c->out, c->rstd, c->x, c->w, c->N, c->C, 1e-5f);
    return dot_out(c->out, c->r, (size_t)c->N * c->C);
}

static void test_rmsnorm(void)
{
    struct rn_ctx c = { .N = 4, .C = 9 };
    c.x = rand_buf(36, 1);
    c.w = rand_buf(9, 1);
    c.r = rand_buf(36, 1);
    c.out = zeros(36);
    c.rstd = zeros(4);
    float *dx = zeros(36), *dw = zeros(9);
    rn_obj(&c);
    /* out = w * x / sqrt(mean(x^2) + eps) */
    double ss = 0;
    for (int i = 0; i < 9; i++)
        ss += (double)c.x[i] * c.x[i];
    CHECK_NEAR(c.out[3], c.w[3] * c.x[3] / sqrt(ss / 9 + 1e-5), 1e-6);
    rmsnorm_backward(dx, dw, c.r, c.x, c.w, c.rstd, c.N, c.C);
    CHECK(fd_check("rmsnorm dx", c.x, dx, 36, 1, rn_obj, &c, FD_EPS) < FD_TOL);
    CHECK(fd_check("rmsnorm dw", c.w, dw, 9, 1, rn_obj, &c, FD_EPS) < FD_TOL);
    free(c.x);
    free(c.w);
    free(c.r);
    free(c.out);
    free(c.rstd);
    free(dx);
    free(dw);
}

/* ---- rope ---- */

struct rope_ctx { float *out, *x, *r, *cs, *sn; int N, T, NHx, HS; };

static double rope_obj(void *p)
{
    struct rope_ctx *c = p;
    rope_forward(c->out, c->x, c->cs, c->sn, c->N, c->T, c->NHx, c->HS);
    return dot_out(c->out, c->r, (size_t)c->N * c->NHx * c->HS);
}

static void test_rope(void)
{
    /* Hugging Face rotate_half by hand: HS 4, position 2, theta 100:
     * pair (0, 2) turns by 2 rad, pair (1, 3) by 2 * 100^(-1/2) = 0.2 rad */
    float cs[3 * 2], sn[3 * 2];
    rope_table(cs, sn, 3, 4, 100.0f);
    float x[3 * 4] = { 0 }, out[3 * 4];
    x[8] = 1.0f;   /* position 2: x = (1, 0, 0, 1) */
    x[11] = 1.0f;
    rope_forward(out, x, cs, sn, 3, 3, 1, 4);
    CHECK_NEAR(out[8], cos(2.0), 1e-6);
    CHECK_NEAR(out[10], sin(2.0), 1e-6);
    CHECK_NEAR(out[9], -sin(0.2), 1e-6);
    CHECK_NEAR(out[11], cos(0.2), 1e-6);

    struct rope_ctx c = { .N = 6, .T = 3, .NHx = 2, .HS = 8 };
    size_t n = (size_t)c.N * c.NHx * c.HS;
    c.cs = zeros(3 * 4);
    c.sn = zeros(3 * 4);
    rope_table(c.cs, c.sn, 3, 8, 10000.0f);
    c.x = rand_buf(n, 1);
    c.r = rand_buf(n, 1);
    c.out = zeros(n);
    float *dx = zeros(n);
    rope_obj(&c);
    rope_backward(dx, c.r, c.cs, c.sn, c.N, c.T, c.NHx, c.HS);
    CHECK(fd_check("rope dx", c.x, dx, n, 1, rope_obj, &c, FD_EPS) < FD_TOL);
    /* in place gives the same */
    float *y = zeros(n);
    rope_obj(&c);
    memcpy(y, c.x, n * sizeof(float));
    rope_forward(y, y, c.cs, c.sn, c.N, c.T, c.NHx, c.HS);
    CHECK(memcmp(y, c.out, n * sizeof(float)) == 0);
    free(c.cs);
    free(c.sn);
    free(c.x);
    free(c.r);
    free(c.out);
    free(dx);
    free(y);
}

/* ---- attention ---- */

struct att_ctx { float *out, *probs, *q, *k, *v, *r; int B, T, NH, NKV, HS; };

static double att_obj(void *p)
{
    struct att_ctx *c = p;
    attention_forward(c->out, c->probs, c->q, c->k, c->v, c->B, c->T, c->NH, c->NKV, c->HS);
    return dot_out(c->out, c->r, (size_t)c->B * c->T * c->NH * c->HS);
}

/* Every instruction set this CPU has against the one chosen (whose out, probs and
 * gradients are given): AVX2 + FMA and AVX-512 the same bits, portable C within float
 * rounding. */
static void att_isas_agree(struct att_ctx *c, const float *dq, const float *dk, const float *dv)
{
    size_t nq = (size_t)c->B * c->T * c->NH * c->HS, nk = (size_t)c->B * c->T * c->NKV * c->HS;
    size_t np = (size_t)c->B * c->NH * c->T * c->T;
    enum attention_isa was = attention_isa();
    float *out = zeros(nq), *probs = zeros(np), *dq2 = zeros(nq), *dk2 = zeros(nk),
          *dv2 = zeros(nk);
    memcpy(out, c->out, nq * sizeof(float));
    memcpy(probs, c->probs, np * sizeof(float));
    for (int isa = ATT_PORTABLE; isa <= ATT_AVX512; isa++) {
        if (isa == (int)was || attention_use_isa((enum attention_isa)isa) < 0)
            continue;
        memset(dq2, 0, nq * sizeof(float));
        memset(dk2, 0, nk * sizeof(float));
        memset(dv2, 0, nk * sizeof(float));
        att_obj(c);
        attention_backward(dq2, dk2, dv2, NULL, c->r, c->q, c->k, c->v, c->probs, c->B, c->T,
                           c->NH, c->NKV, c->HS);
        double diff = 0;
        for (size_t i = 0; i < nq; i++)
            diff = fmax(diff, fmax(fabs(c->out[i] - out[i]), fabs(dq2[i] - dq[i])));
        for (size_t i = 0; i < nk; i++)
            diff = fmax(diff, fmax(fabs(dk2[i] - dk[i]), fabs(dv2[i] - dv[i])));
        fprintf(stderr, "    attention isa %d vs %d: max abs diff %.2e\n", isa, (int)was, diff);
        if (isa != ATT_PORTABLE && was != ATT_PORTABLE)
            CHECK(diff == 0);
        else
            CHECK(diff < 1e-5);
    }
    CHECK(attention_use_isa(was) == 0);
    memcpy(c->out, out, nq * sizeof(float));
    memcpy(c->probs, probs, np * sizeof(float));
    free(out);
    free(probs);
    free(dq2);
    free(dk2);
    free(dv2);
}

static void att_case(int B, int T, int NH, int NKV, int HS, size_t stride)
{
    struct att_ctx c = { .B = B, .T = T, .NH = NH, .NKV = NKV, .HS = HS };
    size_t nq = (size_t)B * T * NH * HS, nk = (size_t)B * T * NKV * HS;
    c.q = rand_buf(nq, 1);
    c.k = rand_buf(nk, 1);
    c.v = rand_buf(nk, 1);
    c.r = rand_buf(nq, 1);
    c.out = zeros(nq);
    c.probs = zeros((size_t)B * NH * T * T);
    float *ref = zeros(nq), *dq = zeros(nq), *dk = zeros(nk), *dv = zeros(nk);
    float *scratch = zeros((size_t)T * T);
    att_obj(&c);
    attention_forward_naive(ref, c.q, c.k, c.v, B, T, NH, NKV, HS);
    double diff = 0;
    for (size_t i = 0; i < nq; i++)
        diff = fmax(diff, fabs(c.out[i] - ref[i]));
    fprintf(stderr, "    attention B%d T%d NH%d NKV%d HS%d vs naive: max abs diff %.2e\n",
            B, T, NH, NKV, HS, diff);
    CHECK(diff < 1e-5);
    /* determinism: the same call gives the same bits */
    float *again = zeros(nq);
    memcpy(again, c.out, nq * sizeof(float));
    att_obj(&c);
    CHECK(memcmp(again, c.out, nq * sizeof(float)) == 0);

    attention_backward(dq, dk, dv, scratch, c.r, c.q, c.k, c.v, c.probs, B, T, NH, NKV, HS);
    att_isas_agree(&c, dq, dk, dv);
    char name[64];
    snprintf(name, sizeof(name), "attention T%d dq", T);
    CHECK(fd_check(name, c.q, dq, nq, stride, att_obj, &c, FD_EPS) < FD_TOL);
    snprintf(name, sizeof(name), "attention T%d dk", T);
    CHECK(fd_check(name, c.k, dk, nk, stride, att_obj, &c, FD_EPS) < FD_TOL);
    snprintf(name, sizeof(name), "attention T%d dv", T);
    CHECK(fd_check(name, c.v, dv, nk, stride, att_obj, &c, FD_EPS) < FD_TOL);
    free(c.q);
    free(c.k);
    free(c.v);
    free(c.r);
    free(c.out);
    free(c.probs);
    free(ref);
    free(again);
    free(dq);
    free(dk);
    free(dv);
    free(scratch);
}

static void test_attention(void)
{
    att_case(2, 7, 4, 2, 4, 1);         /* GQA, one row block */
    att_case(1, 5, 2, 2, 8, 1);         /* plain multi-head */
    att_case(1, 150, 2, 1, 8, 37);      /* three row blocks, multi-query */
    att_case(1, 70, 2, 1, 48, 53);      /* head vectors of three 16-blocks */
    att_case(1, 21, 2, 1, 80, 31);      /* of five: a 64-column block and one more */
}

/* ---- swiglu, residual, embedding ---- */

struct sw_ctx { float *out, *g, *u, *r; size_t n; };

static double sw_obj(void *p)
{
    struct sw_ctx *c = p;
    swiglu_forward(c->out, c->g, c->u, c->n);
    return dot_out(c->out, c->r, c->n);
}

static void test_swiglu(void)
{
    struct sw_ctx c = { .n = 40 };
    c.g = rand_buf(40, 3);
    c.u = rand_buf(40, 1);
    c.r = rand_buf(40, 1);
    c.out = zeros(40);
    float *dg = zeros(40), *du = zeros(40);
    sw_obj(&c);
    CHECK_NEAR(c.out[5], c.g[5] / (1 + exp(-c.g[5])) * c.u[5], 1e-6);
    swiglu_backward(dg, du, c.r, c.g, c.u, c.n);
    CHECK(fd_check("swiglu dg", c.g, dg, 40, 1, sw_obj, &c, FD_EPS) < FD_TOL);
    CHECK(fd_check("swiglu du", c.u, du, 40, 1, sw_obj, &c, FD_EPS) < FD_TOL);
    free(c.g);
    free(c.u);
    free(c.r);
    free(c.out);
    free(dg);
    free(du);
}

struct res_ctx { float *out, *a, *b, *r; size_t n; };

static double res_obj(void *p)
{
    struct res_ctx *c = p;
    residual_forward(c->out, c->a, c->b, c->n);
    return dot_out(c->out, c->r, c->n);
}

static void test_residual(void)
{
    struct res_ctx c = { .n = 10 };
    c.a = rand_buf(10, 1);
    c.b = rand_buf(10, 1);
    c.r = rand_buf(10, 1);
    c.out = zeros(10);
    float *da = zeros(10), *db = zeros(10);
    res_obj(&c);
    residual_backward(da, db, c.r, c.n);
    CHECK(fd_check("residual da", c.a, da, 10, 1, res_obj, &c, FD_EPS) < FD_TOL);
    CHECK(fd_check("residual db", c.b, db, 10, 1, res_obj, &c, FD_EPS) < FD_TOL);
    free(c.a);
    free(c.b);
    free(c.r);
    free(c.out);
    free(da);
    free(db);
}

struct emb_ctx { float *out, *wte, *r; const int *tok; int N, C; };

static double emb_obj(void *p)
{
    struct emb_ctx *c = p;
    embedding_forward(c->out, c->tok, c->wte, c->N, c->C);
    return dot_out(c->out, c->r, (size_t)c->N * c->C);
}

static void test_embedding(void)
{
    static const int tok[5] = { 3, 0, 3, 5, 1 };   /* token 3 twice: the scatter adds */
    struct emb_ctx c = { .tok = tok, .N = 5, .C = 4 };
    c.wte = rand_buf(6 * 4, 1);
    c.r = rand_buf(5 * 4, 1);
    c.out = zeros(5 * 4);
    float *dwte = zeros(6 * 4);
    emb_obj(&c);
    CHECK(memcmp(c.out + 8, c.wte + 12, 4 * sizeof(float)) == 0);
    embedding_backward(dwte, c.r, tok, c.N, c.C);
    CHECK_NEAR(dwte[12], c.r[0] + c.r[8], 1e-6);
    CHECK(dwte[4 * 4] == 0.0f);   /* token 4 never seen */
    CHECK(fd_check("embedding dwte", c.wte, dwte, 24, 1, emb_obj, &c, FD_EPS) < FD_TOL);
    free(c.wte);
    free(c.r);
    free(c.out);
    free(dwte);
}

/* ---- cross-entropy ---- */

struct ce_ctx { float *logits, *losses, *r; const int *targets; const unsigned char *mask;
                int N, V; };

static double ce_obj(void *p)
{
    struct ce_ctx *c = p;
    crossentropy_forward(c->losses, c->logits, c->targets, c->mask, c->N, c->V);
    return dot_out(c->losses, c->r, (size_t)c->N);
}

static void test_crossentropy(void)
{
    static const int targets[4] = { 2, 0, 6, 1 };
    static const unsigned char mask[4] = { 1, 0, 1, 1 };
    struct ce_ctx c = { .targets = targets, .mask = mask, .N = 4, .V = 7 };
    c.logits = rand_buf(28, 4);
    c.logits[7 * 2 + 3] = 80.0f;   /* a large logit: the max subtraction keeps it finite */
    c.losses = zeros(4);
    c.r = rand_buf(4, 1);
    float *dl = zeros(28);
    ce_obj(&c);
    double lse = 0;
    for (int j = 0; j < 7; j++)
        lse += exp(c.logits[j]);
    CHECK_NEAR(c.losses[0], log(lse) - c.logits[2], 1e-5);
    CHECK(c.losses[1] == 0.0f);
    CHECK(isfinite(c.losses[2]) && fabs(c.losses[2] - (80.0 - c.logits[7 * 2 + 6])) < 1e-3);
    crossentropy_backward(dl, c.r, c.logits, c.targets, c.mask, c.N, c.V);
    CHECK(fd_check("crossentropy dlogits", c.logits, dl, 28, 1, ce_obj, &c, FD_EPS) < FD_TOL);
    /* in place: dlogits aliasing logits gives the same values */
    float *inplace = zeros(28);
    memset(dl, 0, 28 * sizeof(float));
    crossentropy_backward(dl, c.r, c.logits, c.targets, c.mask, c.N, c.V);
    memcpy(inplace, c.logits, 28 * sizeof(float));
    crossentropy_backward(inplace, c.r, inplace, c.targets, c.mask, c.N, c.V);
    CHECK(memcmp(inplace, dl, 28 * sizeof(float)) == 0);
    free(c.logits);
    free(c.losses);
    free(c.r);
    free(dl);
    free(inplace);
}

/* ---- exp ---- */

/* ops_exp against libm's expf over [-87, 87.9]: a few ulp; NaN stays NaN. */
static void test_exp(void)
{
    double worst = 0;
    for (int i = 0; i <= 174900; i++) {   /* up to 87.9: 88 is the clamp */
        float x = -87.0f + (float)i * 1e-3f;
        double want = exp((double)x), got = ops_exp(x);
        worst = fmax(worst, fabs(got - want) / want);
    }
    fprintf(stderr, "    ops_exp vs exp over [-87, 87.9]: max rel err %.2e\n", worst);
    CHECK(worst < 4 * 1.2e-7);
    CHECK(isnan(ops_exp(NAN)));
    CHECK(ops_exp(0.0f) == 1.0f);
    CHECK(ops_exp(-1000.0f) >= 0.0f && ops_exp(-1000.0f) < 1e-37f);
}

/* ---- the thread split ---- */

static void test_par_split(void)
{
    static const long sizes[] = { 0, 1, 5, 16, 17, 100, 1000 };
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
        for (int parts = 1; parts <= 5; parts++)
            for (long align = 1; align <= 16; align *= 4) {
                long expect = 0, lo, hi;
                for (int p = 0; p < parts; p++) {
                    par_split(sizes[s], align, p, parts, &lo, &hi);
                    CHECK(lo == expect && hi >= lo && (lo % align == 0 || lo == sizes[s]));
                    expect = hi;
                }
                CHECK(expect == sizes[s]);
            }
}

struct count_ctx { long hits[1000]; };

static void count_body(void *p, long lo, long hi)
{
    struct count_ctx *c = p;
    for (long i = lo; i < hi; i++)
        c->hits[i]++;
}

static void test_par_for_covers_once(void)
{
    static struct count_ctx c;
    memset(&c, 0, sizeof(c));
    par_for(1000, 16, count_body, &c);
    int ok = 1;
    for (int i = 0; i < 1000; i++)
        ok &= c.hits[i] == 1;
    CHECK(ok);
}

static void run_all(void)
{
    rng_state = 42;   /* the same inputs on every run */
    TEST(test_matmul_vs_naive);
    TEST(test_matmul_backward);
    TEST(test_rmsnorm);
    TEST(test_rope);
    TEST(test_attention);
    TEST(test_swiglu);
    TEST(test_residual);
    TEST(test_embedding);
    TEST(test_crossentropy);
    TEST(test_par_for_covers_once);
    TEST(test_matmul_split);
}

int main(void)
{
    TEST(test_par_split);
    TEST(test_exp);
    run_all();
    fprintf(stderr, "-- the same split over 3 threads\n");
    par_set_threads(3);
    run_all();
    par_set_threads(1);
    return test_report();
}
