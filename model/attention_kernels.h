/*
 * attention_kernels.h - the per-head kernels of attention.c, written once and
 * included by it once per instruction set (a template: no include guard). Before
 * including, attention.c defines:
 *   ATT_SFX     the suffix of the functions' names (portable, avx2, avx512)
 *   ATT_TARGET  the attribute choosing the instruction set (empty for portable)
 *   ATT_V       the vector type, ATT_W floats wide (16, or 8 for AVX2: one register)
 *   ATT_NC      vectors per query row in a block of rows_times_cols and
 *               weights_times_rows; ATT_NC * ATT_W divides 64 and ATT_NC <= 4
 * and it undefines them at its end.
 * The block shape is the only thing the width changes: 4 rows x 4 vectors of 16 floats
 * is 16 of AVX-512's 32 registers, 4 x 2 vectors of 8 floats is 8 of AVX2's 16 (4 x 4
 * x 2 halves spilled to the stack when GCC split 16-float vectors for AVX2). A block
 * only groups elements that are independent of each other: every element's sum runs
 * over the same terms in the same order, one multiply-add at a time, whatever the
 * width, so the instances compute the same bits wherever multiply-adds fuse the same
 * way (AVX-512 and AVX2 + FMA both fuse; the portable instance, x86-64 without FMA,
 * rounds products and sums separately). The lane sums of vecmath.h stay 16 lanes wide
 * in every instance.
 */
#define ATT_CAT2(a, b) a##_##b
#define ATT_CAT(a, b) ATT_CAT2(a, b)
#define ATT_NAME(name) ATT_CAT(name, ATT_SFX)

/* S (4, TP) columns [0, n rounded up to ATT_NC ATT_W) = A rows (4 pointers to HS
 * floats) times Mt (HS, TP) */
ATT_TARGET static inline __attribute__((always_inline))
void ATT_NAME(rows_times_cols)(float *S, const float *const *A, const float *Mt, int HS, int TP,
                               int n)
{
    for (int j0 = 0; j0 < n; j0 += ATT_NC * ATT_W) {
        ATT_V acc[ATT_ROWS][ATT_NC], m[ATT_NC];
        for (int u = 0; u < ATT_ROWS; u++)
            for (int c = 0; c < ATT_NC; c++)
                acc[u][c] = (ATT_V){ 0 };
        for (int d = 0; d < HS; d++) {
            for (int c = 0; c < ATT_NC; c++)
                memcpy(&m[c], Mt + (size_t)d * TP + j0 + c * ATT_W, sizeof(ATT_V));
            for (int u = 0; u < ATT_ROWS; u++) {
                float au = A[u][d];
                for (int c = 0; c < ATT_NC; c++)
                    acc[u][c] += au * m[c];
            }
        }
        for (int u = 0; u < ATT_ROWS; u++)
            for (int c = 0; c < ATT_NC; c++)
                memcpy(S + (size_t)u * TP + j0 + c * ATT_W, &acc[u][c], sizeof(ATT_V));
    }
}

/* O (4, HP) columns [c0, c0 + ATT_W nc) = sum over j < n of W[u][j] M[j][...]; W (4, TP),
 * M (n, HP); nc <= ATT_NC is a constant once inlined */
ATT_TARGET static inline __attribute__((always_inline))
void ATT_NAME(weights_times_rows_nc)(float *O, const float *W, int TP, const float *M, int HP,
                                     int c0, int n, int nc)
{
    ATT_V acc[ATT_ROWS][4], m[4];
    for (int u = 0; u < ATT_ROWS; u++)
        for (int c = 0; c < nc; c++)
            acc[u][c] = (ATT_V){ 0 };
    for (int j = 0; j < n; j++) {
        for (int c = 0; c < nc; c++)
            memcpy(&m[c], M + (size_t)j * HP + c0 + c * ATT_W, sizeof(ATT_V));
        for (int u = 0; u < ATT_ROWS; u++) {
            float w = W[(size_t)u * TP + j];
            for (int c = 0; c < nc; c++)
                acc[u][c] += w * m[c];
        }
    }
    for (int u = 0; u < ATT_ROWS; u++)
        for (int c = 0; c < nc; c++)
            memcpy(O + (size_t)u * HP + c0 + c * ATT_W, &acc[u][c], sizeof(ATT_V));
}

ATT_TARGET static inline __attribute__((always_inline))
void ATT_NAME(weights_times_rows)(float *O, const float *W, int TP, const float *M, int HP, int n)
{
    for (int c0 = 0; c0 < HP; c0 += ATT_NC * ATT_W) {
        int left = (HP - c0) / ATT_W;
        if (left >= ATT_NC)
            ATT_NAME(weights_times_rows_nc)(O, W, TP, M, HP, c0, n, ATT_NC);
        else if (left == 1)
            ATT_NAME(weights_times_rows_nc)(O, W, TP, M, HP, c0, n, 1);
        else if (left == 2)
            ATT_NAME(weights_times_rows_nc)(O, W, TP, M, HP, c0, n, 2);
        else
            ATT_NAME(weights_times_rows_nc)(O, W, TP, M, HP, c0, n, 3);
    }
}

/* D[j] (HP) += sum over u of W[u][j] X[u] (HP) for j < n; W (4, TP), X (4, HP) */
ATT_TARGET static inline __attribute__((always_inline))
void ATT_NAME(rows_plus_weighted)(float *D, const float *W, int TP, const float *X, int HP, int n)
{
    for (int c0 = 0; c0 < HP; c0 += ATT_W) {
        ATT_V x[ATT_ROWS], d;
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

/* One query head of the group: P rows and O rows. Kt (HS, TP), Vp (T, HP);
 * S (4, TP) and O (4, HP) scratch. */
ATT_TARGET
static void ATT_NAME(attention_head)(const struct att_job *a, int b, int h, const float *Kt,
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
        ATT_NAME(rows_times_cols)(S, q, Kt, HS, TP, nmax);
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
        ATT_NAME(weights_times_rows)(O, S, TP, Vp, HP, nmax);
        for (int u = 0; u < R; u++)
            memcpy(a->out + ((size_t)b * T + i0 + u) * C + (size_t)h * HS, O + (size_t)u * HP,
                   (size_t)HS * sizeof(float));
    }
}

ATT_TARGET
static void ATT_NAME(attention_head_backward)(const struct att_job *a, int b, int h,
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
        ATT_NAME(rows_times_cols)(sc->dS, dO, sc->Vt, HS, TP, nmax);
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
        ATT_NAME(weights_times_rows)(sc->dq, sc->dS, TP, sc->Kp, HP, nmax);
        for (int u = 0; u < R; u++) {
            float *dq = a->dq + head + (size_t)(i0 + u) * C;
            for (int d = 0; d < HS; d++)
                dq[d] += sc->dq[(size_t)u * HP + d];
        }
        /* dV[j] += sum_i P[i, j] dO[i];  dK[j] += scale sum_i dS[i, j] Q[i] */
        ATT_NAME(rows_plus_weighted)(sc->dVp, sc->P, TP, sc->dO, HP, nmax);
        ATT_NAME(rows_plus_weighted)(sc->dKp, sc->dS, TP, sc->q, HP, nmax);
    }
}

#undef ATT_NAME
#undef ATT_CAT
#undef ATT_CAT2
#undef ATT_SFX
#undef ATT_TARGET
#undef ATT_V
#undef ATT_W
#undef ATT_NC
