/*
 * ops.h - the numeric kernels of the llama-style model: forward/backward pairs
 * over flat float buffers, no allocation, no model knowledge.
 *
 * Conventions (llm.c style):
 *  - every forward has a backward with the same argument order: outputs first,
 *    then the inputs the forward read; the backward takes the gradients of the
 *    forward's outputs (dout...) and ADDS into the gradients of its inputs
 *    (dx, dw...), so callers zero gradient buffers once and accumulate.
 *    Where a backward's comment says so, a gradient pointer may be NULL when that
 *    gradient is not wanted (a frozen weight, or nothing below needs dx): its
 *    work is skipped.
 *    The one exception is crossentropy_backward, which WRITES dlogits (the head
 *    of the chain) so that dlogits may alias logits.
 *  - the forward caches what the backward needs (rmsnorm's rstd, attention's
 *    softmax probabilities); the cache buffers are the caller's.
 *  - matrices are row-major; a weight is (out, in), y = x W^T.
 *  - parallelism comes from the threads of parallel.h (par_set_threads): every
 *    kernel splits its work by a rule of its shape and the thread count, so the
 *    same inputs and the same thread count give bitwise identical results. With
 *    one thread (the default) kernels run on the caller and cblas_sgemm uses the
 *    OpenBLAS threads the caller set. (The decoder splits its own steps over its
 *    own pool: decode.h.)
 *
 * Dimension names: N rows (B * T positions), B batch, T time, C channels,
 * NH query heads, NKV kv heads, HS head size, V vocab.
 */
#ifndef MAINLINE_OPS_H
#define MAINLINE_OPS_H

#include <stddef.h>

/* ---- matmul ---- */

/* C (M, N) = alpha op(A) op(B) + beta C, row-major, op transposing when ta / tb is
 * non-zero: cblas_sgemm with the rows (or, when N > M, the columns) of C split
 * over the threads of parallel.h. */
void gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
          const float *B, int ldb, float beta, float *C, int ldc);

/* y (N, out) = x (N, in) W (out, in)^T, with cblas_sgemm. y is overwritten. */
void matmul_forward(float *y, const float *x, const float *w, int N, int in, int out);
/* y (N, out) += alpha * x (N, in) W (out, in)^T (used for LoRA deltas). */
void matmul_forward_acc(float *y, const float *x, const float *w, int N, int in, int out,
                        float alpha);
/* dx (N, in) += dy (N, out) W (out, in); dw (out, in) += dy^T x. Either may be NULL. */
void matmul_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                     int N, int in, int out);
/* The naive triple loop (double accumulation), kept as the reference for tests. */
void matmul_forward_naive(float *y, const float *x, const float *w, int N, int in, int out);

/* The batch-invariant matmul of decoding is in matmul_rows.h. */

/* p[0..n) = 0, split over the threads (the backward's gradient buffers). */
void zero_floats(float *p, size_t n);

/* ---- bias of a projection ---- */

/* y (N, n) += b (n) on every row. */
void bias_forward(float *y, const float *b, int N, int n);
/* db (n) += the column sums of dy (N, n), rows in order. */
void bias_backward(float *db, const float *dy, int N, int n);

/* ---- rmsnorm: out = w * x / sqrt(mean(x^2) + eps) ---- */

/* out, x (N, C); w (C); rstd (N) cached for the backward. out may not alias x. */
void rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int N, int C,
                     float eps);
/* dx (N, C) += ..., dw (C) += ...; either may be NULL. */
void rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                      const float *rstd, int N, int C);

/* ---- rope (Hugging Face rotate_half: element i pairs with i + HS/2) ---- */

/* cos, sin (T, HS/2): angle of position t, pair i = t * theta^(-2i/HS), in double. */
void rope_table(float *cos_t, float *sin_t, int T, int HS, float theta);
/* x (N, NHx * HS), row n at position n % T (tables start at position 0; pass
 * cos_t + pos * HS/2 with T = 1 to rotate a single position). out may alias x. */
void rope_forward(float *out, const float *x, const float *cos_t, const float *sin_t, int N,
                  int T, int NHx, int HS);
/* dx += rotation of dout by -theta. dx may not alias dout. */
void rope_backward(float *dx, const float *dout, const float *cos_t, const float *sin_t, int N,
                   int T, int NHx, int HS);

/* ---- causal grouped-query attention over (B, T) ---- */

/*
 * q (B, T, NH, HS) = (B*T, C), k, v (B, T, NKV, HS) = (B*T, KV), out like q.
 * Query head h reads kv head h / (NH / NKV). probs (B, NH, T, T) is the cache:
 * softmax(q k^T / sqrt(HS)) over keys 0..t; entries above the diagonal are never
 * written or read.
 */
void attention_forward(float *out, float *probs, const float *q, const float *k, const float *v,
                       int B, int T, int NH, int NKV, int HS);
/* dq, dk, dv += .... None of the gradients may be NULL. scratch is unused (each thread
 * has its own, parallel.h) and may be NULL. */
void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                        const float *q, const float *k, const float *v, const float *probs,
                        int B, int T, int NH, int NKV, int HS);
/* The instruction set the two above run on: chosen once, on first use, by the CPU's
 * features (AVX-512, else AVX2 + FMA, else portable C; portable only where vecmath.h
 * makes no clones: clang, ASan). AVX-512 and AVX2 + FMA give the same bits; portable
 * C, without fused multiply-adds, differs within float rounding.
 * attention_use_isa() forces one, for tests: 0, or -1 when this CPU or build lacks it. */
enum attention_isa { ATT_PORTABLE, ATT_AVX2, ATT_AVX512 };
enum attention_isa attention_isa(void);
int attention_use_isa(enum attention_isa isa);
/* The same forward with plain loops (double accumulation), for tests. */
void attention_forward_naive(float *out, const float *q, const float *k, const float *v, int B,
                             int T, int NH, int NKV, int HS);

/*
 * One query row against a KV cache (decoding). Keys are stored packed per kv head,
 * as matmul_rows_pack lays out a (P, HS) weight: kp (NKV, attention_keys_len / NKV)
 * with position p, dim i of kv head g at block p / 16, row i, lane p % 16
 * (attention_key_store writes one position). Values are plain rows: v (npos, NKV *
 * HS), each row `ld` floats apart.
 *
 * q (NH * HS) at position npos - 1 attends to positions 0..npos-1; out (NH * HS).
 * scores (NH / NKV, npos) is scratch. The scores of a kv head's query heads are one
 * matmul_rows_packed product (each an fma chain over the head dims, in order), then
 * scaled; softmax as in attention_forward (max-subtracted expf, float sum in
 * position order); each output dim sums (p_j / sum) v_j in four interleaved partial
 * sums over positions (j mod 4) added in a fixed tree. So a
 * row's output depends only on its own q and cache, never on other rows.
 */
size_t attention_keys_len(int P, int NKV, int HS);
/* Key k (NKV * HS) of position pos into kp (attention_keys_len(P, NKV, HS)). */
void attention_key_store(float *kp, const float *k, int pos, int P, int NKV, int HS);
void attention_row_forward(float *out, float *scores, const float *q, const float *kp,
                           const float *v, int npos, int P, int ld, int NH, int NKV, int HS);

/* ---- swiglu: out = silu(g) * u ---- */

/* out, g, u (n) */
void swiglu_forward(float *out, const float *g, const float *u, size_t n);
/* dg, du (n) += ... */
void swiglu_backward(float *dg, float *du, const float *dout, const float *g, const float *u,
                     size_t n);

/* ---- residual: out = a + b ---- */

void residual_forward(float *out, const float *a, const float *b, size_t n);
/* da, db += dout; either may be NULL. */
void residual_backward(float *da, float *db, const float *dout, size_t n);

/* ---- embedding ---- */

/* out (N, C) = wte (V, C) rows tokens (N). Tokens must be in [0, V). */
void embedding_forward(float *out, const int *tokens, const float *wte, int N, int C);
/* dwte rows tokens += dout (a scatter-add, in row order: deterministic). */
void embedding_backward(float *dwte, const float *dout, const int *tokens, int N, int C);

/* ---- cross-entropy ---- */

/* e^x as the kernels compute it (a polynomial within 2 ulp of expf; x clamped to
 * [-87, 88]). */
float ops_exp(float x);

/* -log softmax(row)[target] of one row of V logits: max-subtracted, exp in
 * float (ops_exp), sum in double. */
double crossentropy_row(const float *row, int target, int V);
/* drow = scale * (softmax(row) - onehot(target)); WRITES drow, which may alias row. */
void crossentropy_row_backward(float *drow, const float *row, int target, int V, float scale);
/* losses (N) = crossentropy_row of each row with mask[i] != 0 (mask NULL: all), else 0. */
void crossentropy_forward(float *losses, const float *logits, const int *targets,
                          const unsigned char *mask, int N, int V);
/* dlogits (N, V) = dlosses[i] * (softmax - onehot) on rows with mask[i] != 0, zero on the
 * others. WRITES (not adds) so that dlogits may alias logits. */
void crossentropy_backward(float *dlogits, const float *dlosses, const float *logits,
                           const int *targets, const unsigned char *mask, int N, int V);

/* dlogits = scale * (softmax - onehot) on rows with mask[i] != 0, zero on the others
 * (mask NULL: all). WRITES; dlogits may alias logits. */
void crossentropy_backward_scaled(float *dlogits, const float *logits, const int *targets,
                                  const unsigned char *mask, int N, int V, float scale);
/* Sum in double of crossentropy_row over the rows with mask[i] != 0 (mask NULL: all);
 * targets must be in [0, V) there. */
double crossentropy_sum(const float *logits, const int *targets, const unsigned char *mask,
                        int N, int V);

#endif
