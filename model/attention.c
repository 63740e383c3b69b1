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

/*
 * The attention of one (batch row, kv head) group, four query rows at a time (each
 * vector of K or V loaded once feeds four rows), in two 16-wide micro-kernels whose
 * sums run in a fixed order:
 *   rows_times_cols:    S[u][j] = sum_d A[u][d] Mt[d][j]   (scores, dP; Mt: K or V transposed)
 *   weights_times_rows: O[u][c] = sum_j W[u][j] M[j][c]    (outputs, dQ; M: V or K padded)
 * and one update, rows_plus_weighted: D[j][c] += sum_u W[u][j] X[u][c] (dV, dK).
 * Rows of T positions are padded to TP (a multiple of 64), head vectors to HP (16);
 * a block's weights are zero past each row's diagonal, so causality holds.
 */
enum { ATT_W = LANES, ATT_ROWS = 4 };

static int round16(int n)
{
    return (n + ATT_W - 1) / ATT_W * ATT_W;
}

/* Rows of positions are padded to whole blocks of rows_times_cols. */
static int round64(int n)
{
    return (n + 4 * ATT_W - 1) / (4 * ATT_W) * (4 * ATT_W);
}

/* S (4, TP) columns [0, n rounded up to 64) = A rows (4 pointers to HS floats) times
 * Mt (HS, TP) */
static inline __attribute__((always_inline))
void rows_times_cols(float *S, const float *const *A, const float *Mt, int HS, int TP, int n)
{
    for (int j0 = 0; j0 < n; j0 += 4 * ATT_W) {
        vec16 acc[ATT_ROWS][4], m[4];
        for (int u = 0; u < ATT_ROWS; u++)
            for (int c = 0; c < 4; c++)
                acc[u][c] = (vec16){ 0 };
        for (int d = 0; d < HS; d++) {
            for (int c = 0; c < 4; c++)
                memcpy(&m[c], Mt + (size_t)d * TP + j0 + c * ATT_W, sizeof(vec16));
            for (int u = 0; u < ATT_ROWS; u++) {
                float au = A[u][d];
                for (int c = 0; c < 4; c++)
                    acc[u][c] += au * m[c];
            }
        }
        for (int u = 0; u < ATT_ROWS; u++)
            for (int c = 0; c < 4; c++)
                memcpy(S + (size_t)u * TP + j0 + c * ATT_W, &acc[u][c], sizeof(vec16));
    }
}

/* O (4, HP) columns [c0, c0 + 16 nc) = sum over j < n of W[u][j] M[j][...]; W (4, TP),
 * M (n, HP); nc <= 4 is a constant once inlined */
static inline __attribute__((always_inline))
void weights_times_rows_nc(float *O, const float *W, int TP, const float *M, int HP, int c0,
                           int n, int nc)
{
    vec16 acc[ATT_ROWS][4], m[4];
    for (int u = 0; u < ATT_ROWS; u++)
        for (int c = 0; c < 4; c++)
            acc[u][c] = (vec16){ 0 };
    for (int j = 0; j < n; j++) {
        for (int c = 0; c < nc; c++)
            memcpy(&m[c], M + (size_t)j * HP + c0 + c * ATT_W, sizeof(vec16));
        for (int u = 0; u < ATT_ROWS; u++) {
            float w = W[(size_t)u * TP + j];
            for (int c = 0; c < nc; c++)
                acc[u][c] += w * m[c];
        }
    }
    for (int u = 0; u < ATT_ROWS; u++)
        for (int c = 0; c < nc; c++)
            memcpy(O + (size_t)u * HP + c0 + c * ATT_W, &acc[u][c], sizeof(vec16));
}

static inline __attribute__((always_inline))
void weights_times_rows(float *O, const float *W, int TP, const float *M, int HP, int n)
{
    for (int c0 = 0; c0 < HP; c0 += 4 * ATT_W) {
        switch ((HP - c0) / ATT_W) {
        case 1: weights_times_rows_nc(O, W, TP, M, HP, c0, n, 1); break;
        case 2: weights_times_rows_nc(O, W, TP, M, HP, c0, n, 2); break;
        case 3: weights_times_rows_nc(O, W, TP, M, HP, c0, n, 3); break;
        default: weights_times_rows_nc(O, W, TP, M, HP, c0, n, 4); break;
        }
    }
}

/* D[j] (HP) += sum over u of W[u][j] X[u] (HP) for j < n; W (4, TP), X (4, HP) */
static inline __attribute__((always_inline))
void rows_plus_weighted(float *D, const float *W, int TP, const float *X, int HP, int n)
{
    for (int c0 = 0; c0 < HP; c0 += ATT_W) {
        vec16 x[ATT_ROWS], d;
        for (int u = 0; u < ATT_ROWS; u++)
            memcpy(&x[u], X + (size_t)u * HP + c0, sizeof(x[u]));
        for (int j = 0; j < n; j++) {
            float *dj = D + (size_t)j * HP + c0;
            memcpy(&d, dj, sizeof(d));
            for (int u = 0; u < ATT_ROWS; u++)
                d += W[(size_t)u * TP + j] * x[u];
            memcpy(dj, &d, sizeof(d));
        }
    }
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

/* One query head of the group: P rows and O rows. Kt (HS, TP), Vp (T, HP);
 * S (4, TP) and O (4, HP) scratch. */
VECTOR_CLONES
static void attention_head(const struct att_job *a, int b, int h, const float *Kt,
                           const float *Vp, float *S, float *O)
{
    int T = a->T, HS = a->HS, C = a->NH * HS, TP = round64(T), HP = round16(HS);
    float scale = (float)(1.0 / sqrt((double)HS));
    const float *Q = a->q + (size_t)b * T * C + (size_t)h * HS;   /* (T, HS) ld C */
    float *P = a->probs + ((size_t)b * a->NH + h) * T * T;        /* (T, T) */
    for (int i0 = 0; i0 < T; i0 += ATT_ROWS) {
        int R = T - i0 < ATT_ROWS ? T - i0 : ATT_ROWS, nmax = i0 + R;
        const float *q[ATT_ROWS];
        block_rows(q, Q, (size_t)C, i0, T);
        rows_times_cols(S, q, Kt, HS, TP, nmax);
        for (int u = 0; u < ATT_ROWS; u++) {
            float *s = S + (size_t)u * TP;
            int n = u < R ? i0 + u + 1 : 0;
            for (int j = 0; j < n; j++)
                s[j] *= scale;
            if (n > 0) {   /* s = softmax(s) over the row's keys 0..i */
                float mx = max_lanes(s, n);
                for (int j = 0; j < n; j++)
                    s[j] = exp_poly(s[j] - mx);
                float inv = 1.0f / sum_lanes(s, n);
                for (int j = 0; j < n; j++)
                    s[j] *= inv;
                memcpy(P + (size_t)(i0 + u) * T, s, (size_t)n * sizeof(float));
            }
            for (int j = n; j < nmax; j++)
                s[j] = 0.0f;
        }
        weights_times_rows(O, S, TP, Vp, HP, nmax);
        for (int u = 0; u < R; u++)
            memcpy(a->out + ((size_t)b * T + i0 + u) * C + (size_t)h * HS, O + (size_t)u * HP,
                   (size_t)HS * sizeof(float));
    }
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
    for (long t = lo; t < hi; t++) {
        int b = (int)(t / a->NKV), kvh = (int)(t % a->NKV);
        transpose_head(Kt, a->k + (size_t)b * T * KV + (size_t)kvh * HS, KV, T, HS, TP);
        pad_head(Vp, a->v + (size_t)b * T * KV + (size_t)kvh * HS, KV, T, HS, HP);
        for (int g = 0; g < group; g++)
            attention_head(a, b, kvh * group + g, Kt, Vp, S, O);
    }
}

void attention_forward(float *out, float *probs, const float *q, const float *k, const float *v,
                       int B, int T, int NH, int NKV, int HS)
{
    struct att_job a = { .out = out, .probs = probs, .q = q, .k = k, .v = v, .B = B, .T = T,
                         .NH = NH, .NKV = NKV, .HS = HS };
    par_for((long)B * NKV, 1, attention_fw_tasks, &a);
}

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

/* dst (T, HS) at stride ld += src (T, HP) */
static void add_unpadded(float *dst, int ld, const float *src, int T, int HS, int HP)
{
    for (int j = 0; j < T; j++)
        for (int d = 0; d < HS; d++)
            dst[(size_t)j * ld + d] += src[(size_t)j * HP + d];
}

VECTOR_CLONES
static void attention_head_backward(const struct att_job *a, int b, int h,
                                    const struct att_scratch *sc)
{
    int T = a->T, HS = a->HS, C = a->NH * HS, TP = round64(T), HP = round16(HS);
    float scale = (float)(1.0 / sqrt((double)HS));
    size_t head = (size_t)b * T * C + (size_t)h * HS;
    const float *P0 = a->probs_in + ((size_t)b * a->NH + h) * T * T;   /* (T, T) */
    for (int i0 = 0; i0 < T; i0 += ATT_ROWS) {
        int R = T - i0 < ATT_ROWS ? T - i0 : ATT_ROWS, nmax = i0 + R;
        const float *dO[ATT_ROWS];
        block_rows(dO, a->dout + head, (size_t)C, i0, T);
        memset(sc->q, 0, 2 * ATT_ROWS * (size_t)HP * sizeof(float));   /* q and dO */
        /* undoes: O[i] = sum_j P[i, j] V[j]:  dP[i, j] = dO[i] . V[j] */
        rows_times_cols(sc->dS, dO, sc->Vt, HS, TP, nmax);
        for (int u = 0; u < ATT_ROWS; u++) {
            int n = u < R ? i0 + u + 1 : 0;
            float *pu = sc->P + (size_t)u * TP, *ds = sc->dS + (size_t)u * TP;
            memcpy(pu, P0 + (size_t)(i0 + u) * T, (size_t)n * sizeof(float));
            if (n > 0) {
                memcpy(sc->q + (size_t)u * HP, a->q + head + (size_t)(i0 + u) * C,
                       (size_t)HS * sizeof(float));
                memcpy(sc->dO + (size_t)u * HP, dO[u], (size_t)HS * sizeof(float));
                /* undoes: P[i] = softmax(S[i]): dS[j] = P[j] (dP[j] - sum_k P[k] dP[k]) */
                float dot = dot_lanes(pu, ds, n);
                for (int j = 0; j < n; j++)
                    ds[j] = scale * (pu[j] * (ds[j] - dot));
            }
            for (int j = n; j < nmax; j++)
                pu[j] = ds[j] = 0.0f;
        }
        /* undoes: S[i, j] = scale * Q[i] . K[j]:  dQ[i] += scale sum_j dS[i, j] K[j] */
        weights_times_rows(sc->dq, sc->dS, TP, sc->Kp, HP, nmax);
        for (int u = 0; u < R; u++) {
            float *dq = a->dq + head + (size_t)(i0 + u) * C;
            for (int d = 0; d < HS; d++)
                dq[d] += sc->dq[(size_t)u * HP + d];
        }
        /* dV[j] += sum_i P[i, j] dO[i];  dK[j] += scale sum_i dS[i, j] Q[i] */
        rows_plus_weighted(sc->dVp, sc->P, TP, sc->dO, HP, nmax);
        rows_plus_weighted(sc->dKp, sc->dS, TP, sc->q, HP, nmax);
    }
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
    for (long t = lo; t < hi; t++) {
        int b = (int)(t / a->NKV), kvh = (int)(t % a->NKV);
        size_t ko = (size_t)b * T * KV + (size_t)kvh * HS;
        transpose_head(sc.Vt, a->v + ko, KV, T, HS, TP);
        pad_head(sc.Kp, a->k + ko, KV, T, HS, HP);
        memset(sc.dKp, 0, 2 * pad * sizeof(float));   /* dKp and dVp */
        for (int g = 0; g < group; g++)
            attention_head_backward(a, b, kvh * group + g, &sc);
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
