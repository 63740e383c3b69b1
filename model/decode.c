/*
 * decode.c - KV-cached steps over rows of any slots (see decode.h). It wires the
 * kernels of ops.c into the llama block as forward.c does, per row instead of per
 * (B, T) block; it owns no numeric kernel of its own.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "error.h"
#include "matmul_rows.h"
#include "ops.h"
#include "pool.h"
#include "qmatmul.h"

/* Multiply-adds below which a projection runs on the calling thread alone: waking
 * the pool costs several microseconds, more when the machine is busy (at 32K, the
 * lm_head of stories260K at batch 1 went to the pool and 2 threads ran at half
 * the speed of 1). */
#define PARALLEL_MIN_MACS 262144

/* The chunks threads claim: a projection's output columns PROJ_CHUNK_BLOCKS blocks
 * of 16 at a time (one AVX-512 register tile wide), attention ATT_CHUNK_ROWS rows
 * at a time. */
#define PROJ_CHUNK_BLOCKS 3
#define ATT_CHUNK_ROWS 4
/* A quantised projection's chunks: output rows (weight rows) at a time. */
#define QPROJ_CHUNK_ROWS 16

/* The projections a step multiplies by, lm_head last (layer 0 only). */
static const enum tensor_kind packed_kinds[] = { TK_WQ, TK_WK, TK_WV, TK_WO, TK_GATE, TK_UP,
                                                 TK_DOWN, TK_LM_HEAD };

/* d->wpack: every projection of every layer that the model does not keep in q8_0 or
 * q4_0 blocks (model_qweight) packed for matmul_rows_packed. */
static void pack_weights(struct decoder *d)
{
    size_t total = 0;
    d->packed = xcalloc((size_t)TK_COUNT * d->L, sizeof(size_t));
    for (size_t k = 0; k < sizeof(packed_kinds) / sizeof(packed_kinds[0]); k++) {
        enum tensor_kind kind = packed_kinds[k];
        int layers = kind == TK_LM_HEAD ? 1 : d->L;
        for (int l = 0; l < layers; l++) {
            struct tensor_ref w = model_tensor(d->m, kind, l);   /* (out, in) */
            d->packed[(size_t)kind * d->L + l] = total;
            if (!model_qweight(d->m, kind, l))
                total += matmul_rows_packed_len((int)w.cols, (int)w.rows);
        }
    }
    d->wpack = xmalloc((total ? total : 1) * sizeof(float));
    for (size_t k = 0; k < sizeof(packed_kinds) / sizeof(packed_kinds[0]); k++) {
        enum tensor_kind kind = packed_kinds[k];
        int layers = kind == TK_LM_HEAD ? 1 : d->L;
        for (int l = 0; l < layers; l++) {
            struct tensor_ref w = model_tensor(d->m, kind, l);
            if (model_qweight(d->m, kind, l))
                continue;
            matmul_rows_pack(d->wpack + d->packed[(size_t)kind * d->L + l], w.data, (int)w.cols,
                             (int)w.rows);
        }
    }
}

int decoder_alloc(struct decoder *d, const struct model *m, int S, int P, int R,
                  struct pool *pool)
{
    memset(d, 0, sizeof(*d));
    const struct model_config *cfg = &m->cfg;
    if (model_config_check(cfg, NULL, 0) < 0 || S <= 0 || P <= 0 || R <= 0 ||
        P > cfg->max_seq_len || (cfg->sliding_window > 0 && P > cfg->sliding_window))
        return -1;
    d->m = m;
    d->pool = pool;
    d->S = S;
    d->P = P;
    d->R = R;
    d->L = cfg->n_layers;
    d->C = cfg->dim;
    d->NH = cfg->n_heads;
    d->NKV = cfg->n_kv_heads;
    d->HS = model_head_size(cfg);
    d->QD = d->HS * d->NH;
    d->KV = d->HS * d->NKV;
    d->H = cfg->hidden_dim;
    d->V = cfg->vocab_size;
    d->klen = attention_keys_len(P, d->NKV, d->HS);
    size_t kcache = (size_t)d->L * S * d->klen, cache = (size_t)d->L * S * P * d->KV;
    size_t rc = (size_t)R * d->C, rkv = (size_t)R * d->KV, rq = (size_t)R * d->QD;
    size_t ratt = rq > rc ? rq : rc, qn = cfg->qk_norm ? 1 : 0;
    size_t scores = ((size_t)R / ATT_CHUNK_ROWS + 1) * P * (d->NH / d->NKV);
    size_t rh = (size_t)R * d->H, half = (size_t)P * (d->HS / 2);
    struct { float **field; size_t n; } parts[] = {
        { &d->kc, kcache }, { &d->vc, cache }, { &d->rope_cos, half }, { &d->rope_sin, half },
        { &d->x, rc }, { &d->xn, rc }, { &d->q, rq }, { &d->k, rkv }, { &d->v, rkv },
        { &d->qpre, qn * rq }, { &d->kpre, qn * rkv }, { &d->hrstd, qn * R * d->NH },
        { &d->att, ratt }, { &d->tmp, rc }, { &d->g, rh }, { &d->u, rh }, { &d->h, rh },
        { &d->rstd, (size_t)R }, { &d->scores, scores }, { &d->logits, (size_t)R * d->V },
    };
    size_t total = 0, nparts = sizeof(parts) / sizeof(parts[0]);
    for (size_t i = 0; i < nparts; i++)
        total += parts[i].n;
    d->slab = xcalloc(total, sizeof(float));   /* zeros: a key block's unused lanes */
    float *p = d->slab;
    for (size_t i = 0; i < nparts; i++) {
        *parts[i].field = p;
        p += parts[i].n;
    }
    model_rope_table(cfg, d->rope_cos, d->rope_sin, P);
    pack_weights(d);
    if (m->qw) {   /* the widest input a projection takes: C, QD or H */
        int in = d->C > d->QD ? d->C : d->QD;
        in = in > d->H ? in : d->H;
        d->xq = xmalloc((size_t)R * qmatmul_xq_bytes(in));
    }
    return 0;
}

void decoder_free(struct decoder *d)
{
    free(d->slab);
    free(d->wpack);
    free(d->packed);
    free(d->xq);
    memset(d, 0, sizeof(*d));
}

/* Slot s's values of layer l: (P, KV). */
static float *values_at(const struct decoder *d, int l, int s)
{
    return d->vc + ((size_t)l * d->S + (size_t)s) * d->P * d->KV;
}

/* Slot s's keys of layer l, packed (ops.h attention_row_forward). */
static float *keys_at(const struct decoder *d, int l, int s)
{
    return d->kc + ((size_t)l * d->S + (size_t)s) * d->klen;
}

struct proj_job {
    float *y;
    const float *x, *wp;
    int n, in, out;
};

/* One chunk of output columns. Every element is computed as one thread alone
 * would compute it, so the split over threads does not change any bit. */
static void proj_chunk(void *arg, int chunk)
{
    const struct proj_job *j = arg;
    int nb = matmul_rows_blocks(j->out), b0 = chunk * PROJ_CHUNK_BLOCKS;
    int b1 = b0 + PROJ_CHUNK_BLOCKS < nb ? b0 + PROJ_CHUNK_BLOCKS : nb;
    matmul_rows_packed(j->y, j->x, j->wp, j->n, j->in, j->out, b0, b1);
}

struct qproj_job {
    float *y;
    const float *x;
    const uint8_t *xq;
    const struct qweight *w;
    int n, mode;
};

/* One chunk of a quantised projection's output rows (each element as one thread
 * alone computes it: qmatmul.h). */
static void qproj_chunk(void *arg, int chunk)
{
    const struct qproj_job *j = arg;
    int o0 = chunk * QPROJ_CHUNK_ROWS, o1 = o0 + QPROJ_CHUNK_ROWS;
    o1 = o1 < (int)j->w->rows ? o1 : (int)j->w->rows;
    qmatmul_rows(j->y, j->x, j->xq, j->w, (enum qmatmul_mode)j->mode, j->n, o0, o1);
}

/* y (n, out) = x (n, in) W^T (+ bias) for the projection k of layer l (0 for lm_head). */
static void proj(const struct decoder *d, enum tensor_kind k, int l, float *y, const float *x,
                 int n)
{
    size_t out, in;
    model_tensor_shape(&d->m->cfg, k, &out, &in);
    struct pool *pool = (double)n * in * out < PARALLEL_MIN_MACS ? NULL : d->pool;
    const struct qweight *qw = model_qweight(d->m, k, l);
    if (qw) {
        if (d->qmode == QM_INT8)
            qmatmul_quantize(d->xq, x, n, (int)in);
        struct qproj_job q = { y, x, d->xq, qw, n, d->qmode };
        pool_run(pool, qproj_chunk, &q, ((int)out + QPROJ_CHUNK_ROWS - 1) / QPROJ_CHUNK_ROWS);
    } else {
        struct proj_job j = { y, x, d->wpack + d->packed[(size_t)k * d->L + l], n, (int)in,
                              (int)out };
        int chunks = (matmul_rows_blocks((int)out) + PROJ_CHUNK_BLOCKS - 1) / PROJ_CHUNK_BLOCKS;
        pool_run(pool, proj_chunk, &j, chunks);
    }
    enum tensor_kind bk = k == TK_WQ ? TK_BQ : k == TK_WK ? TK_BK : k == TK_WV ? TK_BV
                        : k == TK_WO ? TK_BO : TK_COUNT;
    if (bk != TK_COUNT && model_has_kind(&d->m->cfg, bk))
        bias_forward(y, model_tensor(d->m, bk, l).data, n, (int)out);
}

struct att_job {
    struct decoder *d;
    const struct decode_row *rows;
    int n, l;
};

/* Attention of one chunk's rows over their slots' caches; the chunk's own
 * scores scratch (chunks never outnumber rows / ATT_CHUNK_ROWS + 1). */
static void att_chunk(void *arg, int chunk)
{
    const struct att_job *j = arg;
    struct decoder *d = j->d;
    float *scores = d->scores + (size_t)chunk * d->P * (d->NH / d->NKV);
    int r0 = chunk * ATT_CHUNK_ROWS, r1 = r0 + ATT_CHUNK_ROWS < j->n ? r0 + ATT_CHUNK_ROWS : j->n;
    for (int r = r0; r < r1; r++) {
        const struct decode_row *w = &j->rows[r];
        attention_row_forward(d->att + (size_t)r * d->QD, scores, d->q + (size_t)r * d->QD,
                              keys_at(d, j->l, w->slot), values_at(d, j->l, w->slot), w->pos + 1,
                              d->P, d->KV, d->NH, d->NKV, d->HS);
    }
}

/* x -> x + attention(rmsnorm(x)) for layer l. */
static void attn_step(struct decoder *d, const struct decode_row *rows, int n, int l)
{
    int C = d->C, KV = d->KV, half = d->HS / 2, QD = d->QD, HS = d->HS;
    const struct model_config *cfg = &d->m->cfg;
    rmsnorm_forward(d->xn, d->rstd, d->x, d->m->w.attn_norm + (size_t)l * C, n, C,
                    cfg->norm_eps);
    proj(d, TK_WQ, l, cfg->qk_norm ? d->qpre : d->q, d->xn, n);
    proj(d, TK_WK, l, cfg->qk_norm ? d->kpre : d->k, d->xn, n);
    proj(d, TK_WV, l, d->v, d->xn, n);
    if (cfg->qk_norm) {   /* per head: rows of HS */
        rmsnorm_forward(d->q, d->hrstd, d->qpre, d->m->w.q_norm + (size_t)l * HS, n * d->NH,
                        HS, cfg->norm_eps);
        rmsnorm_forward(d->k, d->hrstd, d->kpre, d->m->w.k_norm + (size_t)l * HS, n * d->NKV,
                        HS, cfg->norm_eps);
    }
    for (int r = 0; r < n; r++) {
        const struct decode_row *w = &rows[r];
        const float *c = d->rope_cos + (size_t)w->pos * half;   /* (HS/2) */
        const float *s = d->rope_sin + (size_t)w->pos * half;
        float *q = d->q + (size_t)r * QD, *k = d->k + (size_t)r * KV;
        rope_forward(q, q, c, s, 1, 1, d->NH, d->HS);
        rope_forward(k, k, c, s, 1, 1, d->NKV, d->HS);
        size_t at = (size_t)w->pos * KV;
        attention_key_store(keys_at(d, l, w->slot), k, w->pos, d->P, d->NKV, d->HS);
        memcpy(values_at(d, l, w->slot) + at, d->v + (size_t)r * KV,
               (size_t)KV * sizeof(float));
    }
    struct att_job j = { d, rows, n, l };
    pool_run(d->pool, att_chunk, &j, (n + ATT_CHUNK_ROWS - 1) / ATT_CHUNK_ROWS);
    proj(d, TK_WO, l, d->tmp, d->att, n);
    residual_forward(d->x, d->x, d->tmp, (size_t)n * C);
}

/* x -> x + mlp(rmsnorm(x)) for layer l. */
static void mlp_step(struct decoder *d, int n, int l)
{
    int C = d->C;
    rmsnorm_forward(d->xn, d->rstd, d->x, d->m->w.mlp_norm + (size_t)l * C, n, C,
                    d->m->cfg.norm_eps);
    proj(d, TK_GATE, l, d->g, d->xn, n);
    proj(d, TK_UP, l, d->u, d->xn, n);
    swiglu_forward(d->h, d->g, d->u, (size_t)n * d->H);
    proj(d, TK_DOWN, l, d->tmp, d->h, n);
    residual_forward(d->x, d->x, d->tmp, (size_t)n * C);
}

/* logits of the rows out[0..n_out): their residual rows gathered, normed, projected. */
static void head_step(struct decoder *d, const int *out, int n_out)
{
    int C = d->C;
    for (int j = 0; j < n_out; j++)
        memcpy(d->att + (size_t)j * C, d->x + (size_t)out[j] * C, (size_t)C * sizeof(float));
    rmsnorm_forward(d->xn, d->rstd, d->att, d->m->w.final_norm, n_out, C, d->m->cfg.norm_eps);
    proj(d, TK_LM_HEAD, 0, d->logits, d->xn, n_out);
}

static int rows_valid(const struct decoder *d, const struct decode_row *rows, int n,
                      const int *out, int n_out)
{
    if (n <= 0 || n > d->R || n_out < 0 || n_out > n)
        return 0;
    for (int r = 0; r < n; r++)
        if (rows[r].slot < 0 || rows[r].slot >= d->S || rows[r].pos < 0 ||
            rows[r].pos >= d->P || rows[r].token < 0 || rows[r].token >= d->V)
            return 0;
    for (int j = 0; j < n_out; j++)
        if (out[j] < 0 || out[j] >= n)
            return 0;
    return 1;
}

int decoder_step(struct decoder *d, const struct decode_row *rows, int n, const int *out,
                 int n_out)
{
    if (!rows_valid(d, rows, n, out, n_out))
        return -1;
    for (int r = 0; r < n; r++)
        embedding_forward(d->x + (size_t)r * d->C, &rows[r].token, d->m->w.embed, 1, d->C);
    for (int l = 0; l < d->L; l++) {
        attn_step(d, rows, n, l);
        mlp_step(d, n, l);
    }
    if (n_out > 0)
        head_step(d, out, n_out);
    return 0;
}
