/*
 * vecmath.h - the pieces the model's vectorized kernels share (ops.c, attention.c):
 * the clone attribute for hot loops, a vectorizable exp, and sums over a fixed
 * number of lanes, so loops vectorize without reassociating a sum.
 *
 * Everything here is static inline, for inclusion by kernel files only. No
 * allocation, no errors.
 */
#ifndef MAINLINE_VECMATH_H
#define MAINLINE_VECMATH_H

#include <stdint.h>
#include <string.h>

/* Hot loops are compiled for AVX-512 and for AVX2 + FMA too, picked once at load
 * time by the CPU's features, so a machine always runs the same code. The AVX2 + FMA
 * clone is x86-64-v3, not "arch=haswell": GCC dispatches an arch= clone on the CPU
 * model, so an AMD CPU without AVX-512 ran the scalar default (the demo trained ~7x
 * slower on such an EPYC). Sums are never
 * reassociated, so the vector width does not change a result. Whether a multiply
 * and an add may fuse is the including file's choice (its -ffp-contract): ops.c,
 * whose kernels the decoder shares, keeps ISO C's separate roundings, so an
 * element computes the same bits in a loop's vector body and in its scalar tail;
 * attention.c (training only) fuses them. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
/* Kernels instantiated per instruction set by hand (attention.c) do so only where the
 * clones are made, and run their portable version elsewhere (clang, ASan builds). */
#define VECTOR_TARGETS 1
#else
#define VECTOR_CLONES
#endif

/* ---- exp ---- */

/*
 * e^x for the softmax, SiLU and cross-entropy loops: Cephes' expf (range reduction
 * by ln 2 in two parts, degree-6 polynomial, exponent by bit assembly), within 2
 * ulp of expf. Plain arithmetic, so a loop of it vectorizes. x is clamped to
 * [-87, 88] (e^-87 stands in for smaller values; NaN stays NaN).
 */
static inline __attribute__((always_inline)) float exp_poly(float x)
{
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   /* round(x / ln 2) */
    float r = x - n * 0.693359375f - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* 2^n by its exponent bits; a NaN n (x NaN) converts as 0, p carries the NaN */
    uint32_t e = (uint32_t)((int32_t)(n == n ? n : 0.0f) + 127) << 23;
    float scale;
    memcpy(&scale, &e, sizeof(scale));
    return p * scale;
}

/* ---- lanes: sums in a fixed order that still vectorize ---- */

enum { LANES = 16, DLANES = 8 };

/* Sum of 16 lanes, pairwise in a fixed order. */
static inline __attribute__((always_inline)) float reduce_lanes(float *acc)
{
    for (int w = LANES / 2; w > 0; w /= 2)
        for (int l = 0; l < w; l++)
            acc[l] += acc[l + w];
    return acc[0];
}

static inline __attribute__((always_inline)) double reduce_dlanes(double *acc)
{
    for (int w = DLANES / 2; w > 0; w /= 2)
        for (int l = 0; l < w; l++)
            acc[l] += acc[l + w];
    return acc[0];
}

/* 16 floats as one value: GCC lowers its arithmetic to whatever vectors the target
 * has (one AVX-512 register, two AVX ones, four SSE ones), lane by lane, so the
 * width does not change the sums. Loads and stores go through memcpy (unaligned). */
typedef float vec16 __attribute__((vector_size(LANES * sizeof(float))));

/* max of x[0..n), n >= 1 (exact in any order) */
static inline __attribute__((always_inline)) float max_lanes(const float *x, int n)
{
    float acc[LANES];
    for (int l = 0; l < LANES; l++)
        acc[l] = x[0];
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++)
            acc[l] = x[j + l] > acc[l] ? x[j + l] : acc[l];
    for (; j < n; j++)
        acc[0] = x[j] > acc[0] ? x[j] : acc[0];
    float m = acc[0];
    for (int l = 1; l < LANES; l++)
        m = acc[l] > m ? acc[l] : m;
    return m;
}

/* sum of x[0..n) in float, lane l holding the elements l mod 16 */
static inline __attribute__((always_inline)) float sum_lanes(const float *x, int n)
{
    float acc[LANES];
    vec16 s = { 0 }, v;
    int j = 0;
    for (; j + LANES <= n; j += LANES) {
        memcpy(&v, x + j, sizeof(v));
        s += v;
    }
    memcpy(acc, &s, sizeof(s));
    for (int l = 0; j + l < n; l++)
        acc[l] += x[j + l];
    return reduce_lanes(acc);
}

/* sum of a[j] b[j] in float, lanes as sum_lanes */
static inline __attribute__((always_inline)) float dot_lanes(const float *a, const float *b, int n)
{
    float acc[LANES];
    vec16 s = { 0 }, va, vb;
    int j = 0;
    for (; j + LANES <= n; j += LANES) {
        memcpy(&va, a + j, sizeof(va));
        memcpy(&vb, b + j, sizeof(vb));
        s += va * vb;
    }
    memcpy(acc, &s, sizeof(s));
    for (int l = 0; j + l < n; l++)
        acc[l] += a[j + l] * b[j + l];
    return reduce_lanes(acc);
}

/* sum of a[j] b[j] in double, 8 lanes */
static inline __attribute__((always_inline)) double dot_dlanes(const float *a, const float *b, int n)
{
    double acc[DLANES] = { 0 };
    int j = 0;
    for (; j + DLANES <= n; j += DLANES)
        for (int l = 0; l < DLANES; l++)
            acc[l] += (double)a[j + l] * b[j + l];
    for (int l = 0; j + l < n; l++)
        acc[l] += (double)a[j + l] * b[j + l];
    return reduce_dlanes(acc);
}

#endif
