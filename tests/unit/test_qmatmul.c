/* test_qmatmul.c - model/qmatmul.c against references computed in double:
 *   - QM_INT8: y = sum over blocks of d_w * d_x * (integer dot of the blocks), from
 *     quant.c's own q8_0 encoding of x and dequant_row() of W's blocks. The only
 *     rounding left in the kernel is float32's in the block scale product and the
 *     8-lane sums, so the bound is relative: |y - ref| <= 1e-5 * sum |terms| (float32's
 *     epsilon 6e-8 times the ~20 roundings one element's sum chain sees, with margin);
 *   - QM_FMA: y = dequantized W times float x, the same relative bound;
 *   - the dequantize-then-f32 product (what the decoder computed before): QM_INT8
 *     differs from it only by x's rounding to q8_0, so |y - y_f32| is at most
 *     sum |w| * |x - x_q8| <= sum_b (max|x| in b / 254) * sum_b |w| (checked);
 *   - the AVX2 and portable versions give the same bits, for q8_0 and q4_0, every row
 *     count 1..9 (tiles of 4 and the remainders), and a row's result does not depend on
 *     N or on the split of output rows (batch invariance). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qmatmul.h"
#include "quant.h"
#include "testhelp.h"

static uint32_t rng = 12345;

static float urand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffffff) / 8388608.0f - 1.0f;   /* [-1, 1) */
}

struct qw_owned {
    struct qweight w;
    float *deq;   /* (rows, cols) its decoding */
};

static struct qw_owned make_weight(enum quant_type t, int rows, int cols)
{
    struct qw_owned o;
    float *f = malloc((size_t)rows * cols * sizeof(float));
    for (size_t i = 0; i < (size_t)rows * cols; i++)
        f[i] = urand() * (1.0f + (float)(i % 7));   /* blocks of different scales */
    o.w.type = t;
    o.w.rows = (size_t)rows;
    o.w.cols = (size_t)cols;
    o.w.row_bytes = quant_row_bytes(t, (size_t)cols);
    o.w.data = malloc(o.w.row_bytes * (size_t)rows);
    o.deq = malloc((size_t)rows * cols * sizeof(float));
    for (int r = 0; r < rows; r++) {
        quant_row(t, f + (size_t)r * cols, (size_t)cols, o.w.data + (size_t)r * o.w.row_bytes);
        dequant_row(t, o.w.data + (size_t)r * o.w.row_bytes, (size_t)cols,
                    o.deq + (size_t)r * cols);
    }
    free(f);
    return o;
}

static void free_weight(struct qw_owned *o)
{
    free(o->w.data);
    free(o->deq);
}

/* y (N, rows) with the current version and mode. */
static float *product(const struct qw_owned *o, const float *x, int N, enum qmatmul_mode mode)
{
    int in = (int)o->w.cols, out = (int)o->w.rows;
    uint8_t *xq = malloc((size_t)N * qmatmul_xq_bytes(in));
    float *y = malloc((size_t)N * out * sizeof(float));
    qmatmul_quantize(xq, x, N, in);
    qmatmul_rows(y, x, xq, &o->w, mode, N, 0, out);
    free(xq);
    return y;
}

static void check_against_reference(enum quant_type t)
{
    int N = 5, in = 256, out = 37;
    struct qw_owned o = make_weight(t, out, in);
    float *x = malloc((size_t)N * in * sizeof(float)), *xd = malloc((size_t)in * sizeof(float));
    for (int i = 0; i < N * in; i++)
        x[i] = urand() * (i % 3 ? 1.0f : 4.0f);
    float *yi = product(&o, x, N, QM_INT8), *yf = product(&o, x, N, QM_FMA);
    uint8_t *xb = malloc(quant_row_bytes(QUANT_Q8_0, (size_t)in));
    int bad_int = 0, bad_fma = 0, bad_f32 = 0;
    double worst = 0.0;
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * in;
        quant_row(QUANT_Q8_0, xn, (size_t)in, xb);
        dequant_row(QUANT_Q8_0, xb, (size_t)in, xd);   /* x as q8_0 decodes: d_x * q_x */
        for (int r = 0; r < out; r++) {
            const float *w = o.deq + (size_t)r * in;
            double ri = 0, ai = 0, rf = 0, af = 0, bound = 0;
            for (int i = 0; i < in; i++) {
                ri += (double)w[i] * xd[i];
                ai += fabs((double)w[i] * xd[i]);
                rf += (double)w[i] * xn[i];
                af += fabs((double)w[i] * xn[i]);
            }
            for (int b = 0; b < in / 32; b++) {   /* x's rounding error, block by block */
                double amax = 0, wsum = 0;
                for (int j = b * 32; j < b * 32 + 32; j++) {
                    amax = fmax(amax, fabs(xn[j]));
                    wsum += fabs(w[j]);
                }
                bound += amax / 254.0 * 1.001 * wsum;
            }
            double gi = yi[(size_t)n * out + r], gf = yf[(size_t)n * out + r];
            bad_int += fabs(gi - ri) > 1e-5 * ai;
            bad_fma += fabs(gf - rf) > 1e-5 * af;
            bad_f32 += fabs(gi - rf) > bound + 1e-5 * af;
            worst = fmax(worst, fabs(gi - rf) / (bound + 1e-30));
        }
    }
    CHECK_INT(bad_int, 0);
    CHECK_INT(bad_fma, 0);
    CHECK_INT(bad_f32, 0);
    fprintf(stderr, "    %s %s: int8 vs f32 product, worst |diff| / bound = %.3f\n",
            quant_name(t), qmatmul_isa_name(qmatmul_isa()), worst);
    free(xb);
    free(yi);
    free(yf);
    free(x);
    free(xd);
    free_weight(&o);
}

static void test_reference(void)
{
    check_against_reference(QUANT_Q8_0);
    check_against_reference(QUANT_Q4_0);
}

/* The same bits from every version, every N, and any split of the output rows. */
static void check_invariance(enum quant_type t, enum qmatmul_mode mode)
{
    int in = 96, out = 21, NMAX = 9;
    struct qw_owned o = make_weight(t, out, in);
    float *x = malloc((size_t)NMAX * in * sizeof(float));
    for (int i = 0; i < NMAX * in; i++)
        x[i] = urand();
    enum qmatmul_isa isa0 = qmatmul_isa();
    CHECK_INT(qmatmul_use(QM_PORTABLE), 0);
    float *ref = product(&o, x, NMAX, mode);
    int isas = qmatmul_use(QM_AVX2) == 0 ? 2 : 1;
    if (isas == 1)
        printf("skip: qmatmul AVX2 version: this CPU has no AVX2+FMA+F16C\n");
    int same = 0, total = 0;
    for (int v = 0; v < isas; v++) {
        qmatmul_use(v ? QM_AVX2 : QM_PORTABLE);
        for (int N = 1; N <= NMAX; N++) {
            for (int n0 = 0; n0 + N <= NMAX; n0 += N) {
                float *y = product(&o, x + (size_t)n0 * in, N, mode);
                total++;
                same += !memcmp(y, ref + (size_t)n0 * out, (size_t)N * out * sizeof(float));
                free(y);
            }
        }
        /* rows split in two calls at an odd place */
        uint8_t *xq = malloc((size_t)NMAX * qmatmul_xq_bytes(in));
        float *y = malloc((size_t)NMAX * out * sizeof(float));
        qmatmul_quantize(xq, x, NMAX, in);
        qmatmul_rows(y, x, xq, &o.w, mode, NMAX, 0, 7);
        qmatmul_rows(y, x, xq, &o.w, mode, NMAX, 7, out);
        total++;
        same += !memcmp(y, ref, (size_t)NMAX * out * sizeof(float));
        free(xq);
        free(y);
    }
    CHECK_INT(same, total);
    qmatmul_use(isa0);
    free(ref);
    free(x);
    free_weight(&o);
}

static void test_invariance(void)
{
    check_invariance(QUANT_Q8_0, QM_INT8);
    check_invariance(QUANT_Q4_0, QM_INT8);
    check_invariance(QUANT_Q8_0, QM_FMA);
    check_invariance(QUANT_Q4_0, QM_FMA);
}

/* A block holding -128 (ggml allows it; quant.c never writes it) and zero blocks. */
static void test_edges(void)
{
    struct qweight w = { QUANT_Q8_0, 1, 64, 68, NULL };
    uint8_t data[68] = { 0 };
    uint16_t one = quant_f32_to_f16(1.0f);
    memcpy(data, &one, 2);
    for (int j = 0; j < 32; j++)
        data[2 + j] = (uint8_t)(int8_t)(j % 2 ? -128 : 127);
    w.data = data;   /* second block: scale 0, values 0 */
    float x[64], y = 0;
    for (int i = 0; i < 64; i++)
        x[i] = i < 32 ? 1.0f : 5.0f;
    uint8_t xq[2 * (4 + 32)];
    qmatmul_quantize(xq, x, 1, 64);
    enum qmatmul_isa isa0 = qmatmul_isa();
    for (int v = 0; v < 2; v++) {
        if (qmatmul_use(v ? QM_AVX2 : QM_PORTABLE) < 0)
            continue;
        qmatmul_rows(&y, x, xq, &w, QM_INT8, 1, 0, 1);
        /* x's block: q 127, d = 1/127 as f16; every lane holds two 127s and two -128s of
         * W: s = -254, acc = d * -254 in each of the 8 lanes, summed exactly */
        float d = quant_f16_to_f32(quant_f32_to_f16(1.0f / 127.0f));
        volatile float lane = d * -254.0f;
        CHECK(y == 8.0f * lane);
    }
    qmatmul_use(isa0);
}

int main(void)
{
    TEST(test_reference);
    TEST(test_invariance);
    TEST(test_edges);
    return test_report();
}
