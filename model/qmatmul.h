/*
 * qmatmul.h - the decoder's products with weights kept in GGUF blocks (q8_0, q4_0:
 * quant.h, struct qweight of model.h): y (N, out) = x (N, in) W^T without turning W
 * back into float32.
 *
 * Two ways, both per block of 32 weights (QM_INT8 is the one the decoder uses; the
 * other is kept for bench/bench_decode_gguf, which measures both):
 *   QM_INT8  llama.cpp's: each row of x is first rounded to q8_0 blocks
 *            (qmatmul_quantize(), quant.c's q8_0 encoding), then every block pair is an
 *            exact integer dot product, scaled by d_w * d_x into float sums.
 *   QM_FMA   x stays float32; each block's weights are turned into floats in registers
 *            and multiplied into x with fused multiply-adds, then scaled by d_w.
 *
 * The order of every sum is fixed: a dot product keeps 8 float lanes; block b adds,
 * to lane i, fma(d, s_i, acc_i) where s_i is the block's partial sum over values
 * 4i..4i+3 (QM_INT8, an exact int32) or over values i, i+8, i+16, i+24 chained by fma
 * (QM_FMA); the 8 lanes end as ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)). The AVX2 and the
 * portable versions compute exactly that, so they give the same bits, and each output
 * element depends on its row of x and its row of W only: decoding stays batch
 * invariant (decode.h).
 *
 * Versions: AVX2 (+FMA) and portable, the best the CPU supports picked on first use;
 * qmatmul_use() forces one, for tests.
 *
 * Ownership: everything writes into the caller's buffers; nothing allocates or fails
 * (shapes are the caller's: w->cols a multiple of 32).
 */
#ifndef MAINLINE_QMATMUL_H
#define MAINLINE_QMATMUL_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

enum qmatmul_isa { QM_PORTABLE, QM_AVX2 };
enum qmatmul_mode { QM_INT8, QM_FMA };

/* Bytes of one row of in values rounded to q8_0 blocks. */
size_t qmatmul_xq_bytes(int in);

/* xq (N rows of qmatmul_xq_bytes(in)) = x (N, in) as q8_0 blocks (QM_INT8 only). */
void qmatmul_quantize(uint8_t *xq, const float *x, int N, int in);

/* Rows [o0, o1) of W: columns o0..o1-1 of y (N, w->rows), from x (N, w->cols) and, for
 * QM_INT8, its blocks xq (qmatmul_quantize). Only those columns are written. */
void qmatmul_rows(float *y, const float *x, const uint8_t *xq, const struct qweight *w,
                  enum qmatmul_mode mode, int N, int o0, int o1);

enum qmatmul_isa qmatmul_isa(void);
/* Force a version; -1 when this CPU cannot run it. */
int qmatmul_use(enum qmatmul_isa isa);
const char *qmatmul_isa_name(enum qmatmul_isa isa);

#endif
