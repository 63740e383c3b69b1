/*
 * matmul_rows.c - the batch-invariant decoding matmul (see matmul_rows.h): packing,
 * three versions of one fused multiply-add chain per output element, and the
 * choice among them.
 *
 * Every version walks i in increasing order and keeps one accumulator per
 * (row, column), so register tiling (which rows and columns share a tile) and the
 * split of column blocks over threads change only which element is computed when,
 * never how.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "matmul_rows.h"

#if defined(__x86_64__) || defined(__i386__)
#define MM_X86 1
#include <immintrin.h>
#endif

/* Rows of x per pass over the packed weights: 128 rows of the widest input (768)
 * are 384 KB, well inside L2, so a block's weights meet rows that are cached. */
#define ROW_CHUNK 128

int matmul_rows_blocks(int out)
{
    return (out + MM_BLOCK - 1) / MM_BLOCK;
}

size_t matmul_rows_packed_len(int in, int out)
{
    return (size_t)matmul_rows_blocks(out) * (size_t)in * MM_BLOCK;
}

void matmul_rows_pack(float *wp, const float *w, int in, int out)
{
    for (int b = 0; b < matmul_rows_blocks(out); b++)
        for (int i = 0; i < in; i++)
            for (int j = 0; j < MM_BLOCK; j++) {
                int o = b * MM_BLOCK + j;
                wp[((size_t)b * in + i) * MM_BLOCK + j] = o < out ? w[(size_t)o * in + i] : 0.0f;
            }
}

/* Valid columns of block b (the last may be partial). */
static inline int block_width(int b, int out)
{
    int left = out - b * MM_BLOCK;
    return left < MM_BLOCK ? left : MM_BLOCK;
}

/* ---- portable: fmaf, one block of 16 columns for one row at a time ---- */

static void rows_portable(float *y, const float *x, const float *wp, int N, int in, int out,
                          int b0, int b1)
{
    for (int b = b0; b < b1; b++) {
        const float *wb = wp + (size_t)b * in * MM_BLOCK;   /* (in, 16) */
        int width = block_width(b, out);
        for (int n = 0; n < N; n++) {
            const float *xn = x + (size_t)n * in;
            float acc[MM_BLOCK] = { 0 };
            for (int i = 0; i < in; i++)
                for (int j = 0; j < MM_BLOCK; j++)
                    acc[j] = fmaf(xn[i], wb[(size_t)i * MM_BLOCK + j], acc[j]);
            memcpy(y + (size_t)n * out + (size_t)b * MM_BLOCK, acc, (size_t)width * sizeof(float));
        }
    }
}

#ifdef MM_X86

/* ---- AVX-512F: tiles of R rows x S blocks (R <= 8, S <= 3: 24 accumulators) ---- */

#define TARGET512 __attribute__((target("avx512f")))

TARGET512 static inline __attribute__((always_inline)) void
tile_avx512(float *y, const float *x, const float *wp, int R, int S, int in, int out, int b)
{
    __m512 acc[8][3];
    size_t bs = (size_t)in * MM_BLOCK;                      /* floats per block */
    const float *w0 = wp + (size_t)b * bs;
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int s = 0; s < S; s++)
            acc[r][s] = _mm512_setzero_ps();
    for (int i = 0; i < in; i++) {
        __m512 wv[3];
#pragma GCC unroll 3
        for (int s = 0; s < S; s++)
            wv[s] = _mm512_loadu_ps(w0 + s * bs + (size_t)i * MM_BLOCK);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m512 xb = _mm512_set1_ps(x[(size_t)r * in + i]);
#pragma GCC unroll 3
            for (int s = 0; s < S; s++)
                acc[r][s] = _mm512_fmadd_ps(xb, wv[s], acc[r][s]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int s = 0; s < S; s++) {
            float *dst = y + (size_t)r * out + (size_t)(b + s) * MM_BLOCK;
            int width = block_width(b + s, out);
            if (width == MM_BLOCK)
                _mm512_storeu_ps(dst, acc[r][s]);
            else
                _mm512_mask_storeu_ps(dst, (__mmask16)((1u << width) - 1), acc[r][s]);
        }
}

/* R rows at the blocks b..b+S-1, S picked at run time, R a constant. */
#define TILE512(R)                                                          \
    do {                                                                    \
        if (S == 3)                                                         \
            tile_avx512(yn, xn, wp, R, 3, in, out, b);                      \
        else if (S == 2)                                                    \
            tile_avx512(yn, xn, wp, R, 2, in, out, b);                      \
        else                                                                \
            tile_avx512(yn, xn, wp, R, 1, in, out, b);                      \
    } while (0)

TARGET512 static void rows_avx512(float *y, const float *x, const float *wp, int N, int in,
                                  int out, int b0, int b1)
{
    for (int b = b0; b < b1; b += 3) {
        int S = b1 - b < 3 ? b1 - b : 3;
        for (int n = 0; n < N;) {
            float *yn = y + (size_t)n * out;
            const float *xn = x + (size_t)n * in;
            int left = N - n;
            int R = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
            if (R == 8)
                TILE512(8);
            else if (R == 4)
                TILE512(4);
            else if (R == 2)
                TILE512(2);
            else
                TILE512(1);
            n += R;
        }
    }
}

/* ---- AVX2 + FMA: tiles of R rows x 1 block (two 8-float halves; R <= 4) ---- */

#define TARGET256 __attribute__((target("avx2,fma")))

TARGET256 static inline __attribute__((always_inline)) void
tile_avx2(float *y, const float *x, const float *wb, int R, int in, int out, int width)
{
    __m256 lo[4], hi[4];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        lo[r] = hi[r] = _mm256_setzero_ps();
    for (int i = 0; i < in; i++) {
        __m256 wl = _mm256_loadu_ps(wb + (size_t)i * MM_BLOCK);
        __m256 wh = _mm256_loadu_ps(wb + (size_t)i * MM_BLOCK + 8);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m256 xb = _mm256_set1_ps(x[(size_t)r * in + i]);
            lo[r] = _mm256_fmadd_ps(xb, wl, lo[r]);
            hi[r] = _mm256_fmadd_ps(xb, wh, hi[r]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        float tmp[MM_BLOCK];
        _mm256_storeu_ps(tmp, lo[r]);
        _mm256_storeu_ps(tmp + 8, hi[r]);
        memcpy(y + (size_t)r * out, tmp, (size_t)width * sizeof(float));
    }
}

TARGET256 static void rows_avx2(float *y, const float *x, const float *wp, int N, int in,
                                int out, int b0, int b1)
{
    for (int b = b0; b < b1; b++) {
        const float *wb = wp + (size_t)b * in * MM_BLOCK;
        int width = block_width(b, out);
        for (int n = 0; n < N;) {
            float *yn = y + (size_t)n * out + (size_t)b * MM_BLOCK;
            const float *xn = x + (size_t)n * in;
            int left = N - n;
            if (left >= 4) {
                tile_avx2(yn, xn, wb, 4, in, out, width);
                n += 4;
            } else if (left >= 2) {
                tile_avx2(yn, xn, wb, 2, in, out, width);
                n += 2;
            } else {
                tile_avx2(yn, xn, wb, 1, in, out, width);
                n += 1;
            }
        }
    }
}

#endif

/* ---- choosing a version ---- */

typedef void rows_fn(float *y, const float *x, const float *wp, int N, int in, int out, int b0,
                     int b1);

static int isa_supported(enum matmul_isa isa)
{
#ifdef MM_X86
    __builtin_cpu_init();
    if (isa == MM_AVX512)
        return __builtin_cpu_supports("avx512f");
    if (isa == MM_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return isa == MM_PORTABLE;
}

static rows_fn *isa_fn(enum matmul_isa isa)
{
#ifdef MM_X86
    if (isa == MM_AVX512)
        return rows_avx512;
    if (isa == MM_AVX2)
        return rows_avx2;
#endif
    return rows_portable;
}

static int chosen = -1;   /* enum matmul_isa once chosen; atomics: threads may race to choose */

enum matmul_isa matmul_rows_isa(void)
{
    int isa = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (isa < 0) {
        isa = isa_supported(MM_AVX512) ? MM_AVX512 : isa_supported(MM_AVX2) ? MM_AVX2
                                                                              : MM_PORTABLE;
        __atomic_store_n(&chosen, isa, __ATOMIC_RELAXED);
    }
    return (enum matmul_isa)isa;
}

int matmul_rows_use(enum matmul_isa isa)
{
    if (!isa_supported(isa))
        return -1;
    __atomic_store_n(&chosen, (int)isa, __ATOMIC_RELAXED);
    return 0;
}

const char *matmul_rows_isa_name(enum matmul_isa isa)
{
    static const char *const names[] = { "portable", "avx2", "avx512" };
    return (unsigned)isa < 3 ? names[isa] : "?";
}

/* ---- products ---- */

void matmul_rows_packed(float *y, const float *x, const float *wp, int N, int in, int out,
                        int b0, int b1)
{
    rows_fn *fn = isa_fn(matmul_rows_isa());
    for (int n = 0; n < N; n += ROW_CHUNK) {
        int rows = N - n < ROW_CHUNK ? N - n : ROW_CHUNK;
        fn(y + (size_t)n * out, x + (size_t)n * in, wp, rows, in, out, b0, b1);
    }
}

void matmul_rows_forward(float *y, const float *x, const float *w, int N, int in, int out)
{
    float *wp = xmalloc(matmul_rows_packed_len(in, out) * sizeof(float));
    matmul_rows_pack(wp, w, in, out);
    matmul_rows_packed(y, x, wp, N, in, out, 0, matmul_rows_blocks(out));
    free(wp);
}
