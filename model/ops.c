/*
 * ops.c - the model's kernels (see ops.h for the conventions).
 *
 * Big products go through cblas_sgemm; everything else is a plain sequential
 * loop, so results depend only on the inputs and the OpenBLAS thread count.
 * This file knows nothing about models, LoRA or batches of sequences beyond
 * what a kernel's shape says.
 */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "matmul_rows.h"
#include "ops.h"

/* ---- matmul ---- */

void matmul_forward(float *y, const float *x, const float *w, int N, int in, int out)
{
    /* y (N, out) = x (N, in) @ W (out, in)^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, 1.0f, x, in, w, in, 0.0f,
                y, out);
}

void matmul_forward_acc(float *y, const float *x, const float *w, int N, int in, int out,
                        float alpha)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, alpha, x, in, w, in, 1.0f,
                y, out);
}

void matmul_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                     int N, int in, int out)
{
    /* undoes: y (N, out) = x (N, in) @ W (out, in)^T */
    if (dx)   /* dx (N, in) += dy (N, out) @ W (out, in) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dy, out, w, in,
                    1.0f, dx, in);
    if (dw)   /* dW (out, in) += dy^T (out, N) @ x (N, in) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, N, 1.0f, dy, out, x, in,
                    1.0f, dw, in);
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

/* ---- rmsnorm ---- */

void rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int N, int C,
                     float eps)
{
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * C;   /* (C) */
        float *on = out + (size_t)n * C;       /* (C) */
        double ss = 0;
        for (int i = 0; i < C; i++)
            ss += (double)xn[i] * xn[i];
        float r = (float)(1.0 / sqrt(ss / C + eps));
        for (int i = 0; i < C; i++)
            on[i] = w[i] * (xn[i] * r);
        rstd[n] = r;
    }
}

void rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                      const float *rstd, int N, int C)
{
    /* undoes: out[i] = w[i] * (x[i] * r), r = 1 / sqrt(mean(x^2) + eps)
     * dx[j] = r * (w[j] dout[j] - x[j] r^2 mean_i(w[i] dout[i] x[i])) */
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * C;
        const float *dn = dout + (size_t)n * C;
        float r = rstd[n];
        if (dw)
            for (int i = 0; i < C; i++)
                dw[i] += dn[i] * (xn[i] * r);
        if (!dx)
            continue;
        double dot = 0;
        for (int i = 0; i < C; i++)
            dot += (double)(w[i] * dn[i]) * xn[i];
        float c = (float)(dot / C) * r * r;
        float *dxn = dx + (size_t)n * C;
        for (int i = 0; i < C; i++)
            dxn[i] += r * (w[i] * dn[i] - xn[i] * c);
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

void rope_forward(float *out, const float *x, const float *cos_t, const float *sin_t, int N,
                  int T, int NHx, int HS)
{
    int half = HS / 2;
    for (int n = 0; n < N; n++) {
        const float *c = cos_t + (size_t)(n % T) * half;   /* (HS/2) */
        const float *s = sin_t + (size_t)(n % T) * half;
        for (int h = 0; h < NHx; h++) {
            const float *xh = x + ((size_t)n * NHx + h) * HS;   /* (HS) */
            float *oh = out + ((size_t)n * NHx + h) * HS;
            for (int i = 0; i < half; i++) {
                float x1 = xh[i], x2 = xh[i + half];
                oh[i] = x1 * c[i] - x2 * s[i];
                oh[i + half] = x2 * c[i] + x1 * s[i];
            }
        }
    }
}

void rope_backward(float *dx, const float *dout, const float *cos_t, const float *sin_t, int N,
                   int T, int NHx, int HS)
{
    /* undoes: out1 = x1 cos - x2 sin; out2 = x2 cos + x1 sin (a rotation by theta),
     * so dx is dout rotated by -theta */
    int half = HS / 2;
    for (int n = 0; n < N; n++) {
        const float *c = cos_t + (size_t)(n % T) * half;
        const float *s = sin_t + (size_t)(n % T) * half;
        for (int h = 0; h < NHx; h++) {
            const float *dh = dout + ((size_t)n * NHx + h) * HS;
            float *xh = dx + ((size_t)n * NHx + h) * HS;
            for (int i = 0; i < half; i++) {
                float d1 = dh[i], d2 = dh[i + half];
                xh[i] += d1 * c[i] + d2 * s[i];
                xh[i + half] += d2 * c[i] - d1 * s[i];
            }
        }
    }
}

/* ---- attention ---- */

void attention_forward(float *out, float *probs, const float *q, const float *k, const float *v,
                       int B, int T, int NH, int NKV, int HS)
{
    int C = NH * HS, KV = NKV * HS, group = NH / NKV;
    float scale = (float)(1.0 / sqrt((double)HS));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            int kvh = h / group;
            const float *Q = q + (size_t)b * T * C + (size_t)h * HS;     /* (T, HS) ld C */
            const float *K = k + (size_t)b * T * KV + (size_t)kvh * HS;  /* (T, HS) ld KV */
            const float *Vv = v + (size_t)b * T * KV + (size_t)kvh * HS; /* (T, HS) ld KV */
            float *P = probs + ((size_t)b * NH + h) * T * T;             /* (T, T) */
            float *O = out + (size_t)b * T * C + (size_t)h * HS;         /* (T, HS) ld C */
            /* S[i0:i1, 0:i1] = scale * Q[i0:i1] K[0:i1]^T */
            for (int i0 = 0; i0 < T; i0 += ATT_BLOCK) {
                int i1 = i0 + ATT_BLOCK < T ? i0 + ATT_BLOCK : T;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, i1 - i0, i1, HS, scale,
                            Q + (size_t)i0 * C, C, K, KV, 0.0f, P + (size_t)i0 * T, T);
            }
            /* P[i, 0..i] = softmax(S[i, 0..i]), 0 above the diagonal */
            for (int i = 0; i < T; i++) {
                float *row = P + (size_t)i * T;
                float mx = row[0];
                for (int j = 1; j <= i; j++)
                    mx = row[j] > mx ? row[j] : mx;
                float sum = 0;
                for (int j = 0; j <= i; j++) {
                    row[j] = expf(row[j] - mx);
                    sum += row[j];
                }
                float inv = 1.0f / sum;
                for (int j = 0; j <= i; j++)
                    row[j] *= inv;
                for (int j = i + 1; j < T; j++)
                    row[j] = 0.0f;
            }
            /* O[i0:i1] = P[i0:i1, 0:i1] V[0:i1] */
            for (int i0 = 0; i0 < T; i0 += ATT_BLOCK) {
                int i1 = i0 + ATT_BLOCK < T ? i0 + ATT_BLOCK : T;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, i1 - i0, HS, i1, 1.0f,
                            P + (size_t)i0 * T, T, Vv, KV, 0.0f, O + (size_t)i0 * C, C);
            }
        }
}

void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                        const float *q, const float *k, const float *v, const float *probs,
                        int B, int T, int NH, int NKV, int HS)
{
    int C = NH * HS, KV = NKV * HS, group = NH / NKV;
    float scale = (float)(1.0 / sqrt((double)HS));
    float *dP = scratch;   /* (T, T): dP, then dS in place */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            int kvh = h / group;
            size_t qo = (size_t)b * T * C + (size_t)h * HS;
            size_t ko = (size_t)b * T * KV + (size_t)kvh * HS;
            const float *Q = q + qo, *K = k + ko, *Vv = v + ko;   /* (T, HS) */
            const float *dO = dout + qo;                          /* (T, HS) ld C */
            float *dQ = dq + qo, *dK = dk + ko, *dV = dv + ko;
            const float *P = probs + ((size_t)b * NH + h) * T * T;   /* (T, T) */
            /* undoes: O[i0:i1] = P[i0:i1, 0:i1] V[0:i1] */
            for (int i0 = 0; i0 < T; i0 += ATT_BLOCK) {
                int i1 = i0 + ATT_BLOCK < T ? i0 + ATT_BLOCK : T;
                /* dP[i0:i1, 0:i1] = dO[i0:i1] V[0:i1]^T */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, i1 - i0, i1, HS, 1.0f,
                            dO + (size_t)i0 * C, C, Vv, KV, 0.0f, dP + (size_t)i0 * T, T);
                /* dV[0:i1] += P[i0:i1, 0:i1]^T dO[i0:i1] */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, i1, HS, i1 - i0, 1.0f,
                            P + (size_t)i0 * T, T, dO + (size_t)i0 * C, C, 1.0f, dV, KV);
            }
            /* undoes: P[i, 0..i] = softmax(S[i, 0..i]):
             * dS[i, j] = P[i, j] (dP[i, j] - sum_k P[i, k] dP[i, k]) */
            for (int i = 0; i < T; i++) {
                const float *prow = P + (size_t)i * T;
                float *drow = dP + (size_t)i * T;
                float dot = 0;
                for (int j = 0; j <= i; j++)
                    dot += prow[j] * drow[j];
                for (int j = 0; j <= i; j++)
                    drow[j] = prow[j] * (drow[j] - dot);
                int end = (i / ATT_BLOCK + 1) * ATT_BLOCK;   /* the GEMMs read up to here */
                end = end < T ? end : T;
                for (int j = i + 1; j < end; j++)
                    drow[j] = 0.0f;
            }
            /* undoes: S[i0:i1, 0:i1] = scale * Q[i0:i1] K[0:i1]^T */
            for (int i0 = 0; i0 < T; i0 += ATT_BLOCK) {
                int i1 = i0 + ATT_BLOCK < T ? i0 + ATT_BLOCK : T;
                /* dQ[i0:i1] += scale * dS[i0:i1, 0:i1] K[0:i1] */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, i1 - i0, HS, i1, scale,
                            dP + (size_t)i0 * T, T, K, KV, 1.0f, dQ + (size_t)i0 * C, C);
                /* dK[0:i1] += scale * dS[i0:i1, 0:i1]^T Q[i0:i1] */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, i1, HS, i1 - i0, scale,
                            dP + (size_t)i0 * T, T, Q + (size_t)i0 * C, C, 1.0f, dK, KV);
            }
        }
}

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

void swiglu_forward(float *out, const float *g, const float *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float x = g[i];
        out[i] = x / (1.0f + expf(-x)) * u[i];
    }
}

void swiglu_backward(float *dg, float *du, const float *dout, const float *g, const float *u,
                     size_t n)
{
    /* undoes: out = silu(g) * u, silu(g) = g s, s = sigmoid(g), silu' = s (1 + g (1 - s)) */
    for (size_t i = 0; i < n; i++) {
        float x = g[i];
        float s = 1.0f / (1.0f + expf(-x));
        float d = dout[i];
        dg[i] += d * u[i] * (s * (1.0f + x * (1.0f - s)));
        du[i] += d * (x * s);
    }
}

/* ---- residual ---- */

void residual_forward(float *out, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

void residual_backward(float *da, float *db, const float *dout, size_t n)
{
    /* undoes: out = a + b */
    if (da)
        for (size_t i = 0; i < n; i++)
            da[i] += dout[i];
    if (db)
        for (size_t i = 0; i < n; i++)
            db[i] += dout[i];
}

/* ---- embedding ---- */

void embedding_forward(float *out, const int *tokens, const float *wte, int N, int C)
{
    for (int n = 0; n < N; n++)
        memcpy(out + (size_t)n * C, wte + (size_t)tokens[n] * C, (size_t)C * sizeof(float));
}

void embedding_backward(float *dwte, const float *dout, const int *tokens, int N, int C)
{
    /* undoes: out[n] = wte[tokens[n]] */
    for (int n = 0; n < N; n++) {
        float *row = dwte + (size_t)tokens[n] * C;
        const float *d = dout + (size_t)n * C;
        for (int i = 0; i < C; i++)
            row[i] += d[i];
    }
}

/* ---- cross-entropy ---- */

double crossentropy_row(const float *row, int target, int V)
{
    float mx = row[0];
    for (int j = 1; j < V; j++)
        mx = row[j] > mx ? row[j] : mx;
    double sum = 0;
    for (int j = 0; j < V; j++)
        sum += expf(row[j] - mx);
    return (double)mx + log(sum) - row[target];
}

void crossentropy_row_backward(float *drow, const float *row, int target, int V, float scale)
{
    /* undoes: nll = logsumexp(row) - row[target] */
    float mx = row[0];
    for (int j = 1; j < V; j++)
        mx = row[j] > mx ? row[j] : mx;
    double sum = 0;
    for (int j = 0; j < V; j++) {
        float e = expf(row[j] - mx);   /* read row[j] before drow[j] is written */
        drow[j] = e;
        sum += e;
    }
    float f = (float)(scale / sum);
    for (int j = 0; j < V; j++)
        drow[j] *= f;
    drow[target] -= scale;
}

void crossentropy_forward(float *losses, const float *logits, const int *targets,
                          const unsigned char *mask, int N, int V)
{
    for (int n = 0; n < N; n++)
        losses[n] = !mask || mask[n]
            ? (float)crossentropy_row(logits + (size_t)n * V, targets[n], V) : 0.0f;
}

void crossentropy_backward(float *dlogits, const float *dlosses, const float *logits,
                           const int *targets, const unsigned char *mask, int N, int V)
{
    /* undoes: losses[n] = logsumexp(logits[n]) - logits[n][targets[n]] */
    for (int n = 0; n < N; n++) {
        float *d = dlogits + (size_t)n * V;
        if ((!mask || mask[n]) && dlosses[n] != 0.0f)
            crossentropy_row_backward(d, logits + (size_t)n * V, targets[n], V, dlosses[n]);
        else
            memset(d, 0, (size_t)V * sizeof(float));
    }
}
