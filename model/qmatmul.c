/*
 * qmatmul.c - products with q8_0 and q4_0 weights (see qmatmul.h): the activation
 * rows' q8_0 blocks, the integer and the fused multiply-add block dot products, AVX2
 * and portable, and the choice between them.
 *
 * A row of x in q8_0 (qmatmul_quantize) is laid out for the kernels, not as ggml
 * stores it: its nb block scales first as floats (each already rounded to f16, the
 * value ggml's block holds), then its nb * 32 int8 values.
 */
#include <math.h>
#include <string.h>

#include "qmatmul.h"
#include "quant.h"

#if defined(__x86_64__) || defined(__i386__)
#define QM_X86 1
#include <immintrin.h>
#endif

#define QB QUANT_BLOCK
#define Q8_BYTES (2 + QB)
#define Q4_BYTES (2 + QB / 2)

/* x rows sharing one pass over a weight row's blocks. */
#define TILE_ROWS 4

size_t qmatmul_xq_bytes(int in)
{
    return (size_t)(in / QB) * (sizeof(float) + QB);
}

void qmatmul_quantize(uint8_t *xq, const float *x, int N, int in)
{
    int nb = in / QB;
    uint8_t block[Q8_BYTES];
    for (int n = 0; n < N; n++) {
        uint8_t *row = xq + (size_t)n * qmatmul_xq_bytes(in);
        float *scale = (float *)(void *)row;
        int8_t *q = (int8_t *)(row + (size_t)nb * sizeof(float));
        for (int b = 0; b < nb; b++) {
            quant_row(QUANT_Q8_0, x + (size_t)n * in + (size_t)b * QB, QB, block);
            uint16_t h;
            memcpy(&h, block, 2);
            scale[b] = quant_f16_to_f32(h);
            memcpy(q + (size_t)b * QB, block + 2, QB);
        }
    }
}

static inline float w_scale(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return quant_f16_to_f32(h);
}

/* The 8 lanes summed as the AVX2 reduction sums them. */
static inline float hsum8(const float *l)
{
    return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
}

/* A weight block's 32 values as int8 (q4_0: value j in byte j's low nibble, value
 * j + 16 in its high one; both minus 8). */
static inline void block_values(int type, const uint8_t *p, int8_t *v)
{
    if (type == QUANT_Q8_0) {
        memcpy(v, p + 2, QB);
        return;
    }
    for (int j = 0; j < QB / 2; j++) {
        v[j] = (int8_t)((p[2 + j] & 0x0f) - 8);
        v[j + QB / 2] = (int8_t)((p[2 + j] >> 4) - 8);
    }
}

/* ---- portable ---- */

static float dot_int8_portable(int type, const uint8_t *w, size_t wb, const uint8_t *xq, int nb)
{
    const float *xs = (const float *)(const void *)xq;
    const int8_t *xv = (const int8_t *)(xq + (size_t)nb * sizeof(float));
    float acc[8] = { 0 };
    int8_t v[QB];
    for (int b = 0; b < nb; b++) {
        const uint8_t *p = w + (size_t)b * wb;
        block_values(type, p, v);
        float d = w_scale(p) * xs[b];
        const int8_t *x = xv + (size_t)b * QB;
        for (int i = 0; i < 8; i++) {
            int s = 0;
            for (int j = 4 * i; j < 4 * i + 4; j++)
                s += v[j] * x[j];
            acc[i] = fmaf(d, (float)s, acc[i]);
        }
    }
    return hsum8(acc);
}

static float dot_fma_portable(int type, const uint8_t *w, size_t wb, const float *x, int nb)
{
    float acc[8] = { 0 };
    int8_t v[QB];
    for (int b = 0; b < nb; b++) {
        const uint8_t *p = w + (size_t)b * wb;
        block_values(type, p, v);
        float d = w_scale(p);
        const float *xb = x + (size_t)b * QB;
        for (int i = 0; i < 8; i++) {
            float s = (float)v[i] * xb[i];
            for (int g = 1; g < 4; g++)
                s = fmaf((float)v[8 * g + i], xb[8 * g + i], s);
            acc[i] = fmaf(d, s, acc[i]);
        }
    }
    return hsum8(acc);
}

static void rows_portable(float *y, const float *x, const uint8_t *xq, const struct qweight *w,
                          enum qmatmul_mode mode, int N, int o0, int o1)
{
    int in = (int)w->cols, nb = in / QB, out = (int)w->rows;
    size_t wb = w->type == QUANT_Q8_0 ? Q8_BYTES : Q4_BYTES, xb = qmatmul_xq_bytes(in);
    for (int o = o0; o < o1; o++) {
        const uint8_t *wr = w->data + (size_t)o * w->row_bytes;
        for (int n = 0; n < N; n++)
            y[(size_t)n * out + o] = mode == QM_INT8
                ? dot_int8_portable(w->type, wr, wb, xq + (size_t)n * xb, nb)
                : dot_fma_portable(w->type, wr, wb, x + (size_t)n * in, nb);
    }
}

#ifdef QM_X86

#define TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))

TARGET_AVX2 INLINE float hsum_avx2(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));              /* (s0 + s2, s1 + s3) */
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

TARGET_AVX2 INLINE float w_scale_avx2(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/* A block's 32 weights as int8, in value order. */
TARGET_AVX2 INLINE __m256i block_avx2(int type, const uint8_t *p)
{
    if (type == QUANT_Q8_0)
        return _mm256_loadu_si256((const __m256i *)(const void *)(p + 2));
    __m128i t = _mm_loadu_si128((const __m128i *)(const void *)(p + 2));
    __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    b = _mm256_and_si256(b, _mm256_set1_epi8(0x0f));
    return _mm256_sub_epi8(b, _mm256_set1_epi8(8));
}

/* int32 lane i = sum of w[j] * x[j] over j = 4i..4i+3, as floats (exact). */
TARGET_AVX2 INLINE __m256 dot_block_avx2(__m256i w, __m256i x)
{
    __m256i aw = _mm256_sign_epi8(w, w), sx = _mm256_sign_epi8(x, w);
    __m256i d16 = _mm256_maddubs_epi16(aw, sx);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(d16, _mm256_set1_epi16(1)));
}

/* R (1..4) rows of x against one weight row, QM_INT8. */
TARGET_AVX2 INLINE void tile_int8(float *y, size_t ystride, int type, const uint8_t *wr,
                                  size_t wb, const uint8_t *xq, size_t xb, int nb, int R)
{
    __m256 acc[TILE_ROWS];
    const float *xs[TILE_ROWS];
    const int8_t *xv[TILE_ROWS];
    for (int t = 0; t < R; t++) {
        acc[t] = _mm256_setzero_ps();
        xs[t] = (const float *)(const void *)(xq + (size_t)t * xb);
        xv[t] = (const int8_t *)(xq + (size_t)t * xb + (size_t)nb * sizeof(float));
    }
    for (int b = 0; b < nb; b++) {
        const uint8_t *p = wr + (size_t)b * wb;
        __m256i wv = block_avx2(type, p);
        float dw = w_scale_avx2(p);
        for (int t = 0; t < R; t++) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(xv[t] + (size_t)b * QB));
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dw * xs[t][b]), dot_block_avx2(wv, x), acc[t]);
        }
    }
    for (int t = 0; t < R; t++)
        y[(size_t)t * ystride] = hsum_avx2(acc[t]);
}

/* A block's weights as 4 vectors of 8 floats: values 8g..8g+7. */
TARGET_AVX2 INLINE void block_floats_avx2(int type, const uint8_t *p, __m256 *f)
{
    if (type == QUANT_Q8_0) {
        for (int g = 0; g < 4; g++) {
            __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)(p + 2 + 8 * g));
            f[g] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
        }
        return;
    }
    __m128i t = _mm_loadu_si128((const __m128i *)(const void *)(p + 2));
    __m128i m = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
    __m128i lo = _mm_sub_epi8(_mm_and_si128(t, m), eight);                    /* 0..15 */
    __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(t, 4), m), eight); /* 16..31 */
    f[0] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo));
    f[1] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)));
    f[2] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi));
    f[3] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)));
}

/* R rows of float x against one weight row, QM_FMA. */
TARGET_AVX2 INLINE void tile_fma(float *y, size_t ystride, int type, const uint8_t *wr,
                                 size_t wb, const float *x, int in, int nb, int R)
{
    __m256 acc[TILE_ROWS];
    for (int t = 0; t < R; t++)
        acc[t] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *p = wr + (size_t)b * wb;
        __m256 f[4];
        block_floats_avx2(type, p, f);
        __m256 dw = _mm256_set1_ps(w_scale_avx2(p));
        for (int t = 0; t < R; t++) {
            const float *xb = x + (size_t)t * in + (size_t)b * QB;
            __m256 s = _mm256_mul_ps(f[0], _mm256_loadu_ps(xb));
            for (int g = 1; g < 4; g++)
                s = _mm256_fmadd_ps(f[g], _mm256_loadu_ps(xb + 8 * g), s);
            acc[t] = _mm256_fmadd_ps(dw, s, acc[t]);
        }
    }
    for (int t = 0; t < R; t++)
        y[(size_t)t * ystride] = hsum_avx2(acc[t]);
}

TARGET_AVX2 static void rows_avx2(float *y, const float *x, const uint8_t *xq,
                                  const struct qweight *w, enum qmatmul_mode mode, int N,
                                  int o0, int o1)
{
    int in = (int)w->cols, nb = in / QB, out = (int)w->rows, type = w->type;
    size_t wb = type == QUANT_Q8_0 ? Q8_BYTES : Q4_BYTES, xb = qmatmul_xq_bytes(in);
    for (int o = o0; o < o1; o++) {
        const uint8_t *wr = w->data + (size_t)o * w->row_bytes;
        for (int n = 0; n < N; n += TILE_ROWS) {
            int R = N - n < TILE_ROWS ? N - n : TILE_ROWS;
            float *yo = y + (size_t)n * out + o;
#define QM_TILE(r) do { \
                if (mode == QM_INT8) \
                    tile_int8(yo, (size_t)out, type, wr, wb, xq + (size_t)n * xb, xb, nb, r); \
                else \
                    tile_fma(yo, (size_t)out, type, wr, wb, x + (size_t)n * in, in, nb, r); \
            } while (0)
            switch (R) {   /* constant R: the tile's loops unroll into registers */
            case 4: QM_TILE(4); break;
            case 3: QM_TILE(3); break;
            case 2: QM_TILE(2); break;
            default: QM_TILE(1); break;
            }
#undef QM_TILE
        }
    }
}

#endif

/* ---- choosing a version ---- */

static int isa_supported(enum qmatmul_isa isa)
{
#ifdef QM_X86
    __builtin_cpu_init();
    if (isa == QM_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               __builtin_cpu_supports("f16c");
#endif
    return isa == QM_PORTABLE;
}

static int chosen = -1;   /* enum qmatmul_isa once chosen; atomics: threads may race */

enum qmatmul_isa qmatmul_isa(void)
{
    int isa = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (isa < 0) {
        isa = isa_supported(QM_AVX2) ? QM_AVX2 : QM_PORTABLE;
        __atomic_store_n(&chosen, isa, __ATOMIC_RELAXED);
    }
    return (enum qmatmul_isa)isa;
}

int qmatmul_use(enum qmatmul_isa isa)
{
    if (!isa_supported(isa))
        return -1;
    __atomic_store_n(&chosen, (int)isa, __ATOMIC_RELAXED);
    return 0;
}

const char *qmatmul_isa_name(enum qmatmul_isa isa)
{
    return isa == QM_AVX2 ? "avx2" : "portable";
}

void qmatmul_rows(float *y, const float *x, const uint8_t *xq, const struct qweight *w,
                  enum qmatmul_mode mode, int N, int o0, int o1)
{
#ifdef QM_X86
    if (qmatmul_isa() == QM_AVX2) {
        rows_avx2(y, x, xq, w, mode, N, o0, o1);
        return;
    }
#endif
    rows_portable(y, x, xq, w, mode, N, o0, o1);
}
