/*
 * matmul_rows.h - the batch-invariant matmul of decoding: y (N, out) = x (N, in) W^T
 * with W (out, in) row-major, where every output element y[n][o] is the same bits
 * whatever N is, wherever row n sits in the batch, whichever rows share its register
 * tile, how the columns are split over threads, and which instruction set runs it.
 *
 * The one order: y[n][o] = fma(x[n][in-1], w[o][in-1], ... fma(x[n][1], w[o][1],
 * fma(x[n][0], w[o][0], 0))), a single chain of fused multiply-adds over i in
 * increasing order. Vector code runs 16 (or 8) such chains side by side, one per
 * output column, so no lane ever sums into another and nothing is reduced across
 * lanes; the portable version computes the same chain with fmaf(), which rounds
 * exactly like the hardware instruction, so all versions give the same bits.
 * (BLAS GEMM promises no such thing: OpenBLAS switches kernels, and summation
 * orders, for small or single-row products.)
 *
 * W is packed once into blocks of 16 output columns, each block (in, 16): the 16
 * weights of one i are contiguous, so a block row is one 64-byte vector load and
 * every row of x multiplies it by a broadcast scalar (register tiles of up to 8
 * rows x 48 columns with AVX-512). A last partial block is padded with zero columns
 * that are never stored.
 *
 * Versions: AVX-512F, AVX2+FMA, portable (fmaf); the best the CPU supports is picked
 * on first use (__builtin_cpu_supports). matmul_rows_use() forces one, for tests.
 *
 * Errors: none (shapes are the caller's). Ownership: matmul_rows_pack writes into the
 * caller's buffer of matmul_rows_packed_len() floats; nothing here allocates except
 * matmul_rows_forward's temporary packed copy. No global state besides the chosen
 * version; everything is reentrant, so threads may run disjoint column blocks of one
 * product at once.
 */
#ifndef MAINLINE_MATMUL_ROWS_H
#define MAINLINE_MATMUL_ROWS_H

#include <stddef.h>

/* Output columns per packed block. */
#define MM_BLOCK 16

enum matmul_isa { MM_PORTABLE, MM_AVX2, MM_AVX512 };

/* Blocks of a weight with `out` rows: ceil(out / 16). */
int matmul_rows_blocks(int out);
/* Floats of W (out, in) packed. */
size_t matmul_rows_packed_len(int in, int out);
/* wp (blocks, in, 16) = W (out, in) by column blocks, zero past `out`. */
void matmul_rows_pack(float *wp, const float *w, int in, int out);

/* Columns of blocks [b0, b1) of y (N, out) = x (N, in) W^T, W packed in wp. Only
 * those columns of y are written. */
void matmul_rows_packed(float *y, const float *x, const float *wp, int N, int in, int out,
                        int b0, int b1);

/* All of y = x W^T from an unpacked W (packs into a temporary: for tests and one-off
 * products; decoding packs once). y is overwritten. */
void matmul_rows_forward(float *y, const float *x, const float *w, int N, int in, int out);

/* The version in use (chosen on first call). */
enum matmul_isa matmul_rows_isa(void);
/* Force a version; -1 when this CPU cannot run it (the current one stays). */
int matmul_rows_use(enum matmul_isa isa);
/* "portable", "avx2", "avx512" */
const char *matmul_rows_isa_name(enum matmul_isa isa);

#endif
