/*
 * ops.c - the model's kernels (see ops.h for the conventions).
 *
 * Products go through cblas_sgemm; every kernel splits its work over the threads
 * of parallel.h by a rule that depends only on its shape and the thread count
 * (rows for per-row work, columns for sums over rows), so results depend only on
 * the inputs and the thread count. Loops are written so the compiler can
 * vectorize them without reassociating a sum: reductions stay sequential or use
 * a fixed number of lanes (vecmath.h). The training attention lives in
 * attention.c. This file knows nothing about models, LoRA or batches of sequences
 * beyond what a kernel's shape says.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cblas.h>

#include "matmul_rows.h"
#include "ops.h"
#include "parallel.h"
#include "vecmath.h"

float ops_exp(float x)
{
    return exp_poly(x);
}

/* ---- the parallel sgemm ---- */

struct gemm_job {
    int ta, tb, M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int lda, ldb, ldc;
    int split_n;           /* split the columns of C, else its rows */
};

static void gemm_part(void *p, int part, int nparts)
{
    const struct gemm_job *g = p;
    long lo, hi;
    par_split(g->split_n ? g->N : g->M, g->split_n ? 16 : 4, part, nparts, &lo, &hi);
    if (lo >= hi)
        return;
    if (g->split_n) {   /* columns lo..hi of C and of op(B) */
        const float *B = g->B + (g->tb ? lo * g->ldb : lo);
        cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans,
                    g->tb ? CblasTrans : CblasNoTrans, g->M, (int)(hi - lo), g->K, g->alpha,
                    g->A, g->lda, B, g->ldb, g->beta, g->C + lo, g->ldc);
    } else {            /* rows lo..hi of C and of op(A) */
        const float *A = g->A + (g->ta ? lo : lo * g->lda);
        cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans,
                    g->tb ? CblasTrans : CblasNoTrans, (int)(hi - lo), g->N, g->K, g->alpha,
                    A, g->lda, g->B, g->ldb, g->beta, g->C + lo * g->ldc, g->ldc);
    }
}

void gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
          const float *B, int ldb, float beta, float *C, int ldc)
{
    struct gemm_job g = { ta, tb, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc, N > M };
    if ((double)M * N * K < 65536.0 || par_threads() == 1)
        gemm_part(&g, 0, 1);
    else
        par_run(gemm_part, &g);
}

/* ---- matmul ---- */

void matmul_forward(float *y, const float *x, const float *w, int N, int in, int out)
{
    /* y (N, out) = x (N, in) @ W (out, in)^T */
    gemm(0, 1, N, out, in, 1.0f, x, in, w, in, 0.0f, y, out);
}

void matmul_forward_acc(float *y, const float *x, const float *w, int N, int in, int out,
                        float alpha)
{
    gemm(0, 1, N, out, in, alpha, x, in, w, in, 1.0f, y, out);
}

void matmul_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                     int N, int in, int out)
{
    /* undoes: y (N, out) = x (N, in) @ W (out, in)^T */
    if (dx)   /* dx (N, in) += dy (N, out) @ W (out, in) */
        gemm(0, 0, N, in, out, 1.0f, dy, out, w, in, 1.0f, dx, in);
    if (dw)   /* dW (out, in) += dy^T (out, N) @ x (N, in) */
        gemm(1, 0, out, in, N, 1.0f, dy, out, x, in, 1.0f, dw, in);
}

void matmul_forward_naive(float *y, const float *x, const float *w, int N, int in, int out)
{
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * in;
        for (int o = 0; o < out; o++) {
            const float *wo = w + (size_t)o * in;
            double s = 0;
            for (int i = 0; i < in; i++)
                s += (double)xn[i] * wo[i];
            y[(size_t)n * out + o] = (float)s;
        }
    }
}

/* ---- zero ---- */

static void zero_range(void *p, long lo, long hi)
{
    memset((float *)p + lo, 0, (size_t)(hi - lo) * sizeof(float));
}

void zero_floats(float *p, size_t n)
{
    par_for((long)n, 16, zero_range, p);
}

/* ---- rmsnorm ---- */

struct rms_job {
    float *out, *rstd, *dx, *dw;
    const float *x, *w, *dout, *rstd_in;
    int N, C;
    float eps;
};

VECTOR_CLONES
static void rmsnorm_rows(void *p, long lo, long hi)
{
    const struct rms_job *j = p;
    int C = j->C;
    for (long n = lo; n < hi; n++) {
        const float *xn = j->x + (size_t)n * C;   /* (C) */
        float *on = j->out + (size_t)n * C;       /* (C) */
        double ss = dot_dlanes(xn, xn, C);
        float r = (float)(1.0 / sqrt(ss / C + j->eps));
        for (int i = 0; i < C; i++)
            on[i] = j->w[i] * (xn[i] * r);
        j->rstd[n] = r;
    }
}

void rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int N, int C,
                     float eps)
{
    struct rms_job j = { .out = out, .rstd = rstd, .x = x, .w = w, .C = C, .eps = eps };
    par_for(N, 1, rmsnorm_rows, &j);
}

/* dw[c] for columns lo..hi, summed over every row in order */
VECTOR_CLONES
static void rmsnorm_dw_cols(void *p, long lo, long hi)
{
    const struct rms_job *j = p;
    long N = j->N, C = j->C;
    for (long n = 0; n < N; n++) {
        const float *xn = j->x + n * C, *dn = j->dout + n * C;
        float r = j->rstd_in[n];
        for (long i = lo; i < hi; i++)
            j->dw[i] += dn[i] * (xn[i] * r);
    }
}

VECTOR_CLONES
static void rmsnorm_dx_rows(void *p, long lo, long hi)
{
    const struct rms_job *j = p;
    int C = j->C;
    for (long n = lo; n < hi; n++) {
        const float *xn = j->x + (size_t)n * C;
        const float *dn = j->dout + (size_t)n * C;
        float r = j->rstd_in[n];
        float *wd = par_scratch((size_t)C);   /* w * dout */
        for (int i = 0; i < C; i++)
            wd[i] = j->w[i] * dn[i];
        double dot = dot_dlanes(wd, xn, C);
        float c = (float)(dot / C) * r * r;
        float *dxn = j->dx + (size_t)n * C;
        for (int i = 0; i < C; i++)
            dxn[i] += r * (wd[i] - xn[i] * c);
    }
}

void rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                      const float *rstd, int N, int C)
{
    /* undoes: out[i] = w[i] * (x[i] * r), r = 1 / sqrt(mean(x^2) + eps)
     * dx[j] = r * (w[j] dout[j] - x[j] r^2 mean_i(w[i] dout[i] x[i])) */
    struct rms_job j = { .dx = dx, .dw = dw, .x = x, .w = w, .dout = dout, .rstd_in = rstd,
                         .N = N, .C = C };
    if (dw)
        par_for(C, 16, rmsnorm_dw_cols, &j);
    if (dx)
        par_for(N, 1, rmsnorm_dx_rows, &j);
}

/* ---- bias ---- */

void bias_forward(float *y, const float *b, int N, int n)
{
    for (int r = 0; r < N; r++) {
        float *row = y + (size_t)r * n;
        for (int i = 0; i < n; i++)
            row[i] += b[i];
    }
}

void bias_backward(float *db, const float *dy, int N, int n)
{
    for (int r = 0; r < N; r++) {
        const float *row = dy + (size_t)r * n;
        for (int i = 0; i < n; i++)
            db[i] += row[i];
    }
}

/* ---- rope ---- */

void rope_table(float *cos_t, float *sin_t, int T, int HS, float theta)
{
    int half = HS / 2;
    for (int t = 0; t < T; t++)
        for (int i = 0; i < half; i++) {
            double freq = pow((double)theta, -2.0 * i / HS);
            double a = t * freq;
            cos_t[(size_t)t * half + i] = (float)cos(a);
            sin_t[(size_t)t * half + i] = (float)sin(a);
        }
}

struct rope_job {
    float *out;
    const float *x, *cos_t, *sin_t;
    int T, NHx, HS;
};

VECTOR_CLONES
static void rope_rows(void *p, long lo, long hi)
{
    const struct rope_job *j = p;
    int half = j->HS / 2, NHx = j->NHx, HS = j->HS;
    for (long n = lo; n < hi; n++) {
        const float *c = j->cos_t + (size_t)(n % j->T) * half;   /* (HS/2) */
        const float *s = j->sin_t + (size_t)(n % j->T) * half;
        for (int h = 0; h < NHx; h++) {
            const float *xh = j->x + ((size_t)n * NHx + h) * HS;   /* (HS) */
            float *oh = j->out + ((size_t)n * NHx + h) * HS;
            for (int i = 0; i < half; i++) {
                float x1 = xh[i], x2 = xh[i + half];
                oh[i] = x1 * c[i] - x2 * s[i];
                oh[i + half] = x2 * c[i] + x1 * s[i];
            }
        }
    }
}

void rope_forward(float *out, const float *x, const float *cos_t, const float *sin_t, int N,
                  int T, int NHx, int HS)
{
    struct rope_job j = { out, x, cos_t, sin_t, T, NHx, HS };
    par_for(N, 1, rope_rows, &j);
}

VECTOR_CLONES
static void rope_back_rows(void *p, long lo, long hi)
{
    const struct rope_job *j = p;
    int half = j->HS / 2, NHx = j->NHx, HS = j->HS;
    for (long n = lo; n < hi; n++) {
        const float *c = j->cos_t + (size_t)(n % j->T) * half;
        const float *s = j->sin_t + (size_t)(n % j->T) * half;
        for (int h = 0; h < NHx; h++) {
            const float *dh = j->x + ((size_t)n * NHx + h) * HS;
            float *xh = j->out + ((size_t)n * NHx + h) * HS;
            for (int i = 0; i < half; i++) {
                float d1 = dh[i], d2 = dh[i + half];
                xh[i] += d1 * c[i] + d2 * s[i];
                xh[i + half] += d2 * c[i] - d1 * s[i];
            }
        }
    }
}

void rope_backward(float *dx, const float *dout, const float *cos_t, const float *sin_t, int N,
                   int T, int NHx, int HS)
{
    /* undoes: out1 = x1 cos - x2 sin; out2 = x2 cos + x1 sin (a rotation by theta),
     * so dx is dout rotated by -theta */
    struct rope_job j = { dx, dout, cos_t, sin_t, T, NHx, HS };
    par_for(N, 1, rope_back_rows, &j);
}

/* ---- attention: attention.c holds the training kernels ---- */

void attention_forward_naive(float *out, const float *q, const float *k, const float *v, int B,
                             int T, int NH, int NKV, int HS)
{
    int C = NH * HS, KV = NKV * HS, group = NH / NKV;
    double scale = 1.0 / sqrt((double)HS);
    double w[T > 0 ? T : 1];
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < NH; h++) {
                const float *qt = q + ((size_t)b * T + t) * C + (size_t)h * HS;
                int kvh = h / group;
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j <= t; j++) {
                    const float *kj = k + ((size_t)b * T + j) * KV + (size_t)kvh * HS;
                    double s = 0;
                    for (int i = 0; i < HS; i++)
                        s += (double)qt[i] * kj[i];
                    w[j] = s * scale;
                    mx = w[j] > mx ? w[j] : mx;
                }
                for (int j = 0; j <= t; j++) {
                    w[j] = exp(w[j] - mx);
                    sum += w[j];
                }
                float *ot = out + ((size_t)b * T + t) * C + (size_t)h * HS;
                for (int i = 0; i < HS; i++) {
                    double s = 0;
                    for (int j = 0; j <= t; j++)
                        s += w[j] * v[((size_t)b * T + j) * KV + (size_t)kvh * HS + i];
                    ot[i] = (float)(s / sum);
                }
            }
}

size_t attention_keys_len(int P, int NKV, int HS)
{
    return (size_t)NKV * matmul_rows_packed_len(HS, P);
}

void attention_key_store(float *kp, const float *k, int pos, int P, int NKV, int HS)
{
    size_t head = matmul_rows_packed_len(HS, P);
    size_t at = (size_t)(pos / MM_BLOCK) * HS * MM_BLOCK + pos % MM_BLOCK;
    for (int g = 0; g < NKV; g++)
        for (int i = 0; i < HS; i++)
            kp[g * head + at + (size_t)i * MM_BLOCK] = k[(size_t)g * HS + i];
}

/* 8 floats as one value (GCC/Clang vector extension): lane-wise IEEE arithmetic,
 * so a lane computes exactly what the scalar loop would. */
typedef float v8f __attribute__((vector_size(32)));

/* oh (HS) = sum over positions j of (scores[j] * inv) * v[j], each dim summed as
 * four interleaved partial sums (j mod 4, in order) added as (s0 + s1) + (s2 + s3):
 * four independent chains keep the adder busy. The scalar tail dims sum the same
 * way. Inlined into attention_row_forward's clones, so it is vectorized as they are. */
static inline __attribute__((always_inline)) void
attention_values(float *oh, const float *scores, float inv, const float *v, int npos, int ld,
                 int HS)
{
    int hs8 = HS & ~7;
    for (int i = 0; i < hs8; i += 8) {
        v8f a0 = { 0 }, a1 = { 0 }, a2 = { 0 }, a3 = { 0 }, vj[4];
        int j = 0;
        for (; j + 4 <= npos; j += 4) {
            for (int t = 0; t < 4; t++)
                memcpy(&vj[t], v + (size_t)(j + t) * ld + i, sizeof(v8f));
            a0 += (scores[j] * inv) * vj[0];
            a1 += (scores[j + 1] * inv) * vj[1];
            a2 += (scores[j + 2] * inv) * vj[2];
            a3 += (scores[j + 3] * inv) * vj[3];
        }
        v8f *tail[3] = { &a0, &a1, &a2 };   /* position j + t goes to partial sum t */
        for (int t = 0; j + t < npos; t++) {
            memcpy(&vj[0], v + (size_t)(j + t) * ld + i, sizeof(v8f));
            *tail[t] += (scores[j + t] * inv) * vj[0];
        }
        v8f sum = (a0 + a1) + (a2 + a3);
        memcpy(oh + i, &sum, sizeof(sum));
    }
    for (int i = hs8; i < HS; i++) {
        float acc[4] = { 0 };
        for (int j = 0; j < npos; j++)
            acc[j & 3] += (scores[j] * inv) * v[(size_t)j * ld + i];
        oh[i] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    }
}

__attribute__((target_clones("avx2", "default")))
void attention_row_forward(float *out, float *scores, const float *q, const float *kp,
                           const float *v, int npos, int P, int ld, int NH, int NKV, int HS)
{
    int group = NH / NKV;
    float scale = (float)(1.0 / sqrt((double)HS));
    size_t head = matmul_rows_packed_len(HS, P);
    for (int g = 0; g < NKV; g++) {
        /* scores (group, npos) = q of the group's heads (group, HS) K_g^T */
        matmul_rows_packed(scores, q + (size_t)g * group * HS, kp + g * head, group, HS, npos,
                           0, matmul_rows_blocks(npos));
        for (int t = 0; t < group; t++) {
            float *sh = scores + (size_t)t * npos;
            float mx = -INFINITY, sum = 0;
            for (int j = 0; j < npos; j++) {
                sh[j] *= scale;
                mx = sh[j] > mx ? sh[j] : mx;
            }
            for (int j = 0; j < npos; j++) {
                sh[j] = expf(sh[j] - mx);
                sum += sh[j];
            }
            attention_values(out + (size_t)(g * group + t) * HS, sh, 1.0f / sum,
                             v + (size_t)g * HS, npos, ld, HS);
        }
    }
}

/* ---- swiglu ---- */

struct elem_job {
    float *out, *d1, *d2;
    const float *a, *b, *dout;
};

VECTOR_CLONES
static void swiglu_elems(void *p, long lo, long hi)
{
    const struct elem_job *j = p;
    for (long i = lo; i < hi; i++) {
        float x = j->a[i];
        j->out[i] = x / (1.0f + exp_poly(-x)) * j->b[i];
    }
}

void swiglu_forward(float *out, const float *g, const float *u, size_t n)
{
    struct elem_job j = { .out = out, .a = g, .b = u };
    par_for((long)n, 16, swiglu_elems, &j);
}

VECTOR_CLONES
static void swiglu_back_elems(void *p, long lo, long hi)
{
    /* undoes: out = silu(g) * u, silu(g) = g s, s = sigmoid(g), silu' = s (1 + g (1 - s)) */
    const struct elem_job *j = p;
    for (long i = lo; i < hi; i++) {
        float x = j->a[i];
        float s = 1.0f / (1.0f + exp_poly(-x));
        float d = j->dout[i];
        j->d1[i] += d * j->b[i] * (s * (1.0f + x * (1.0f - s)));
        j->d2[i] += d * (x * s);
    }
}

void swiglu_backward(float *dg, float *du, const float *dout, const float *g, const float *u,
                     size_t n)
{
    struct elem_job j = { .d1 = dg, .d2 = du, .a = g, .b = u, .dout = dout };
    par_for((long)n, 16, swiglu_back_elems, &j);
}

/* ---- residual ---- */

VECTOR_CLONES
static void residual_elems(void *p, long lo, long hi)
{
    const struct elem_job *j = p;
    for (long i = lo; i < hi; i++)
        j->out[i] = j->a[i] + j->b[i];
}

void residual_forward(float *out, const float *a, const float *b, size_t n)
{
    struct elem_job j = { .out = out, .a = a, .b = b };
    par_for((long)n, 16, residual_elems, &j);
}

VECTOR_CLONES
static void residual_back_elems(void *p, long lo, long hi)
{
    const struct elem_job *j = p;
    if (j->d1)
        for (long i = lo; i < hi; i++)
            j->d1[i] += j->dout[i];
    if (j->d2)
        for (long i = lo; i < hi; i++)
            j->d2[i] += j->dout[i];
}

void residual_backward(float *da, float *db, const float *dout, size_t n)
{
    /* undoes: out = a + b */
    struct elem_job j = { .d1 = da, .d2 = db, .dout = dout };
    if (da || db)
        par_for((long)n, 16, residual_back_elems, &j);
}

/* ---- embedding ---- */

struct emb_job {
    float *out;
    const float *in;
    const int *tokens;
    int N, C;
};

static void embedding_rows(void *p, long lo, long hi)
{
    const struct emb_job *j = p;
    for (long n = lo; n < hi; n++)
        memcpy(j->out + (size_t)n * j->C, j->in + (size_t)j->tokens[n] * j->C,
               (size_t)j->C * sizeof(float));
}

void embedding_forward(float *out, const int *tokens, const float *wte, int N, int C)
{
    struct emb_job j = { out, wte, tokens, N, C };
    par_for(N, 1, embedding_rows, &j);
}

/* columns lo..hi of every row, rows in order: the sequential scatter-add's sums */
VECTOR_CLONES
static void embedding_back_cols(void *p, long lo, long hi)
{
    const struct emb_job *j = p;
    for (int n = 0; n < j->N; n++) {
        float *row = j->out + (size_t)j->tokens[n] * j->C;
        const float *d = j->in + (size_t)n * j->C;
        for (long i = lo; i < hi; i++)
            row[i] += d[i];
    }
}

void embedding_backward(float *dwte, const float *dout, const int *tokens, int N, int C)
{
    /* undoes: out[n] = wte[tokens[n]] */
    struct emb_job j = { dwte, dout, tokens, N, C };
    par_for(C, 16, embedding_back_cols, &j);
}

/* ---- cross-entropy ---- */

/* sum over j of e^(row[j] - mx), in double, 8 lanes */
static inline __attribute__((always_inline)) double sum_exp(const float *row, float mx, int V)
{
    double acc[DLANES] = { 0 };
    int j = 0;
    for (; j + DLANES <= V; j += DLANES)
        for (int l = 0; l < DLANES; l++)
            acc[l] += exp_poly(row[j + l] - mx);
    for (int l = 0; j + l < V; l++)
        acc[l] += exp_poly(row[j + l] - mx);
    return reduce_dlanes(acc);
}

VECTOR_CLONES
double crossentropy_row(const float *row, int target, int V)
{
    float mx = max_lanes(row, V);
    return (double)mx + log(sum_exp(row, mx, V)) - row[target];
}

VECTOR_CLONES
void crossentropy_row_backward(float *drow, const float *row, int target, int V, float scale)
{
    /* undoes: nll = logsumexp(row) - row[target] */
    float mx = max_lanes(row, V);
    float f = (float)(scale / sum_exp(row, mx, V));
    for (int j = 0; j < V; j++)   /* reads row[j] before drow[j] is written */
        drow[j] = exp_poly(row[j] - mx) * f;
    drow[target] -= scale;
}

struct ce_job {
    float *out;
    const float *in, *dlosses;
    const int *targets;
    const unsigned char *mask;
    int V;
    float dlosses_all;     /* the scale of every row when dlosses is NULL */
    int N;
    double part_sum[PAR_MAX_THREADS];
};

static void ce_rows(void *p, long lo, long hi)
{
    const struct ce_job *j = p;
    for (long n = lo; n < hi; n++)
        j->out[n] = !j->mask || j->mask[n]
            ? (float)crossentropy_row(j->in + (size_t)n * j->V, j->targets[n], j->V) : 0.0f;
}

void crossentropy_forward(float *losses, const float *logits, const int *targets,
                          const unsigned char *mask, int N, int V)
{
    struct ce_job j = { .out = losses, .in = logits, .targets = targets, .mask = mask, .V = V };
    par_for(N, 1, ce_rows, &j);
}

static void ce_back_rows(void *p, long lo, long hi)
{
    /* undoes: losses[n] = logsumexp(logits[n]) - logits[n][targets[n]] */
    const struct ce_job *j = p;
    int V = j->V;
    for (long n = lo; n < hi; n++) {
        float *d = j->out + (size_t)n * V;
        float scale = j->dlosses ? j->dlosses[n] : j->dlosses_all;
        if ((!j->mask || j->mask[n]) && scale != 0.0f)
            crossentropy_row_backward(d, j->in + (size_t)n * V, j->targets[n], V, scale);
        else
            memset(d, 0, (size_t)V * sizeof(float));
    }
}

void crossentropy_backward(float *dlogits, const float *dlosses, const float *logits,
                           const int *targets, const unsigned char *mask, int N, int V)
{
    struct ce_job j = { .out = dlogits, .in = logits, .dlosses = dlosses, .targets = targets,
                        .mask = mask, .V = V };
    par_for(N, 1, ce_back_rows, &j);
}

void crossentropy_backward_scaled(float *dlogits, const float *logits, const int *targets,
                                  const unsigned char *mask, int N, int V, float scale)
{
    struct ce_job j = { .out = dlogits, .in = logits, .targets = targets, .mask = mask, .V = V,
                        .dlosses_all = scale };
    par_for(N, 1, ce_back_rows, &j);
}

static void ce_sum_part(void *p, int part, int nparts)
{
    struct ce_job *j = p;
    long lo, hi;
    double s = 0;
    par_split(j->N, 1, part, nparts, &lo, &hi);
    for (long n = lo; n < hi; n++)
        if (!j->mask || j->mask[n])
            s += crossentropy_row(j->in + (size_t)n * j->V, j->targets[n], j->V);
    j->part_sum[part] = s;
}

double crossentropy_sum(const float *logits, const int *targets, const unsigned char *mask,
                        int N, int V)
{
    struct ce_job j = { .in = logits, .targets = targets, .mask = mask, .V = V, .N = N };
    int parts = par_threads();
    for (int i = 0; i < parts; i++)
        j.part_sum[i] = 0;
    par_run(ce_sum_part, &j);
    double s = 0;
    for (int i = 0; i < parts; i++)   /* in part order: the same bits for the same threads */
        s += j.part_sum[i];
    return s;
}
