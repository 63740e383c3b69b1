/*
 * attention.c - the causal grouped-query attention of training (see ops.h for the
 * contract, vecmath.h for the vector helpers).
 *
 * Built with -ffp-contract=fast: its multiply-adds fuse. The results are bitwise
 * the same for the same inputs, CPU and thread count, as everything in ops.h; the
 * decoder does not use these kernels (its attention_row_forward is in ops.c).
 */
#include <math.h>
#include <string.h>

#include "ops.h"
#include "parallel.h"
#include "vecmath.h"

struct att_job {
    float *out, *probs, *dq, *dk, *dv;
    const float *q, *k, *v, *dout, *probs_in;
    int B, T, NH, NKV, HS;
};

/* The group's scratch for the backward: transposed V, padded K, and the padded
 * gradients of K and V summed over the group's heads and rows. */
struct att_scratch {
    float *Vt;     /* (HS, TP) */
    float *Kp;     /* (T, HP) */
    float *dKp;    /* (T, HP) */
    float *dVp;    /* (T, HP) */
    float *dS;     /* (4, TP) scale * dS of the block's rows, zero past each diagonal */
    float *P;      /* (4, TP) the block's P rows, zero past each diagonal */
    float *q;      /* (4, HP) padded Q rows */
    float *dO;     /* (4, HP) padded dO rows */
    float *dq;     /* (4, HP) */
};

/*
 * The attention of one (batch row, kv head) group, four query rows at a time (each
 * vector of K or V loaded once feeds four rows), in two micro-kernels whose sums run
 * in a fixed order:
 *   rows_times_cols:    S[u][j] = sum_d A[u][d] Mt[d][j]   (scores, dP; Mt: K or V transposed)
 *   weights_times_rows: O[u][c] = sum_j W[u][j] M[j][c]    (outputs, dQ; M: V or K padded)
 * and one update, rows_plus_weighted: D[j][c] += sum_u W[u][j] X[u][c] (dV, dK).
 * Rows of T positions are padded to TP (a multiple of 64), head vectors to HP (16);
 * a block's weights are zero past each row's diagonal, so causality holds.
 * attention_kernels.h holds them and the per-head kernels, instantiated below for
 * AVX-512 (16-float vectors), AVX2 + FMA (8-float vectors) and portable C, and
 * chosen once by the CPU's features (attention_isa()).
 */
enum { ATT_PAD = 16, ATT_ROWS = 4 };

static int round16(int n)
{
    return (n + ATT_PAD - 1) / ATT_PAD * ATT_PAD;
}

/* Rows of positions are padded to whole blocks of 64 (rows_times_cols' widest). */
static int round64(int n)
{
    return (n + 4 * ATT_PAD - 1) / (4 * ATT_PAD) * (4 * ATT_PAD);
}

/* Mt (HS, TP) = the head's (T, HS) rows at stride ld, transposed, zero padded */
static void transpose_head(float *Mt, const float *M, int ld, int T, int HS, int TP)
{
    memset(Mt, 0, (size_t)HS * TP * sizeof(float));
    for (int j = 0; j < T; j++)
        for (int d = 0; d < HS; d++)
            Mt[(size_t)d * TP + j] = M[(size_t)j * ld + d];
}

/* Mp (T, HP) = the head's (T, HS) rows at stride ld, zero padded to HP columns */
static void pad_head(float *Mp, const float *M, int ld, int T, int HS, int HP)
{
    memset(Mp, 0, (size_t)T * HP * sizeof(float));
    for (int j = 0; j < T; j++)
        memcpy(Mp + (size_t)j * HP, M + (size_t)j * ld, (size_t)HS * sizeof(float));
}

/* Pointers to the 4 rows i0.. of a (T, HS) head at stride ld; rows past T repeat
 * row i0 (their results are never used). */
static void block_rows(const float **rows, const float *M, size_t ld, int i0, int T)
{
    for (int u = 0; u < ATT_ROWS; u++)
        rows[u] = M + (size_t)(i0 + u < T ? i0 + u : i0) * ld;
}

/* ---- the kernels per instruction set, chosen once ---- */

#define ATT_SFX portable
#define ATT_TARGET
#define ATT_V vec16
#define ATT_W 16
#define ATT_NC 4
#include "attention_kernels.h"

#ifdef VECTOR_TARGETS
/* AVX-512: the same 16-float vectors and blocks as the portable instance */
#define ATT_SFX avx512
#define ATT_TARGET __attribute__((target("avx512f")))
#define ATT_V vec16
#define ATT_W 16
#define ATT_NC 4
#include "attention_kernels.h"

/* AVX2 + FMA: 8-float vectors, one ymm register each, blocks of 4 rows x 16 columns;
 * the same bits as AVX-512 (attention_kernels.h) */
typedef float vec8 __attribute__((vector_size(8 * sizeof(float))));
#define ATT_SFX avx2
#define ATT_TARGET __attribute__((target("avx2,fma")))
#define ATT_V vec8
#define ATT_W 8
#define ATT_NC 2
#include "attention_kernels.h"
#endif

typedef void head_fn(const struct att_job *a, int b, int h, const float *Kt, const float *Vp,
                     float *S, float *O);
typedef void head_bw_fn(const struct att_job *a, int b, int h, const struct att_scratch *sc);

static int att_chosen = -1;   /* enum attention_isa once chosen; atomics: threads may race */

static int att_supported(enum attention_isa isa)
{
#ifdef VECTOR_TARGETS
    __builtin_cpu_init();
    if (isa == ATT_AVX512)
        return __builtin_cpu_supports("avx512f");
    if (isa == ATT_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return isa == ATT_PORTABLE;
}

enum attention_isa attention_isa(void)
{
    int isa = __atomic_load_n(&att_chosen, __ATOMIC_RELAXED);
    if (isa < 0) {
        isa = att_supported(ATT_AVX512) ? ATT_AVX512 : att_supported(ATT_AVX2) ? ATT_AVX2
                                                                                : ATT_PORTABLE;
        __atomic_store_n(&att_chosen, isa, __ATOMIC_RELAXED);
    }
    return (enum attention_isa)isa;
}

int attention_use_isa(enum attention_isa isa)
{
    if (!att_supported(isa))
        return -1;
    __atomic_store_n(&att_chosen, (int)isa, __ATOMIC_RELAXED);
    return 0;
}

static head_fn *head_forward_fn(void)
{
#ifdef VECTOR_TARGETS
    switch (attention_isa()) {
    case ATT_AVX512: return attention_head_avx512;
    case ATT_AVX2: return attention_head_avx2;
    default: break;
    }
#endif
    return attention_head_portable;
}

static head_bw_fn *head_backward_fn(void)
{
#ifdef VECTOR_TARGETS
    switch (attention_isa()) {
    case ATT_AVX512: return attention_head_backward_avx512;
    case ATT_AVX2: return attention_head_backward_avx2;
    default: break;
    }
#endif
    return attention_head_backward_portable;
}

/* Tasks are (b, kv head) pairs: the query heads of a group write only their own
 * rows of out and probs (and, backward, the group's dk and dv), so tasks never
 * share an output. */
static void attention_fw_tasks(void *p, long lo, long hi)
{
    const struct att_job *a = p;
    int T = a->T, HS = a->HS, KV = a->NKV * HS, TP = round64(T), HP = round16(HS);
    int group = a->NH / a->NKV;
    float *Kt = par_scratch((size_t)HS * TP + (size_t)T * HP + ATT_ROWS * ((size_t)TP + HP));
    float *Vp = Kt + (size_t)HS * TP, *S = Vp + (size_t)T * HP, *O = S + ATT_ROWS * (size_t)TP;
    head_fn *head = head_forward_fn();
    for (long t = lo; t < hi; t++) {
        int b = (int)(t / a->NKV), kvh = (int)(t % a->NKV);
        transpose_head(Kt, a->k + (size_t)b * T * KV + (size_t)kvh * HS, KV, T, HS, TP);
        pad_head(Vp, a->v + (size_t)b * T * KV + (size_t)kvh * HS, KV, T, HS, HP);
        for (int g = 0; g < group; g++)
            head(a, b, kvh * group + g, Kt, Vp, S, O);
    }
}

void attention_forward(float *out, float *probs, const float *q, const float *k, const float *v,
                       int B, int T, int NH, int NKV, int HS)
{
    struct att_job a = { .out = out, .probs = probs, .q = q, .k = k, .v = v, .B = B, .T = T,
                         .NH = NH, .NKV = NKV, .HS = HS };
    par_for((long)B * NKV, 1, attention_fw_tasks, &a);
}

/* dst (T, HS) at stride ld += src (T, HP) */
static void add_unpadded(float *dst, int ld, const float *src, int T, int HS, int HP)
{
    for (int j = 0; j < T; j++)
        for (int d = 0; d < HS; d++)
            dst[(size_t)j * ld + d] += src[(size_t)j * HP + d];
}

static void attention_bw_tasks(void *p, long lo, long hi)
{
    const struct att_job *a = p;
    int T = a->T, HS = a->HS, KV = a->NKV * HS, TP = round64(T), HP = round16(HS);
    int group = a->NH / a->NKV;
    size_t pad = (size_t)T * HP, nvt = (size_t)HS * TP;
    float *base = par_scratch(nvt + 3 * pad + 2 * ATT_ROWS * (size_t)TP +
                              3 * ATT_ROWS * (size_t)HP);
    struct att_scratch sc;
    sc.Vt = base;
    sc.Kp = sc.Vt + nvt;
    sc.dKp = sc.Kp + pad;
    sc.dVp = sc.dKp + pad;
    sc.dS = sc.dVp + pad;
    sc.P = sc.dS + ATT_ROWS * (size_t)TP;
    sc.q = sc.P + ATT_ROWS * (size_t)TP;
    sc.dO = sc.q + ATT_ROWS * (size_t)HP;
    sc.dq = sc.dO + ATT_ROWS * (size_t)HP;
    head_bw_fn *head_bw = head_backward_fn();
    for (long t = lo; t < hi; t++) {
        int b = (int)(t / a->NKV), kvh = (int)(t % a->NKV);
        size_t ko = (size_t)b * T * KV + (size_t)kvh * HS;
        transpose_head(sc.Vt, a->v + ko, KV, T, HS, TP);
        pad_head(sc.Kp, a->k + ko, KV, T, HS, HP);
        memset(sc.dKp, 0, 2 * pad * sizeof(float));   /* dKp and dVp */
        for (int g = 0; g < group; g++)
            head_bw(a, b, kvh * group + g, &sc);
        add_unpadded(a->dk + ko, KV, sc.dKp, T, HS, HP);
        add_unpadded(a->dv + ko, KV, sc.dVp, T, HS, HP);
    }
}

void attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                        const float *q, const float *k, const float *v, const float *probs,
                        int B, int T, int NH, int NKV, int HS)
{
    (void)scratch;   /* each thread has its own (parallel.h) */
    struct att_job a = { .dq = dq, .dk = dk, .dv = dv, .q = q, .k = k, .v = v, .dout = dout,
                         .probs_in = probs, .B = B, .T = T, .NH = NH, .NKV = NKV, .HS = HS };
    par_for((long)B * NKV, 1, attention_bw_tasks, &a);
}
