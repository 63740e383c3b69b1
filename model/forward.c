/*
 * forward.c - the model's forward and backward over a batch (see forward.h).
 *
 * This file wires the kernels of ops.c into the llama block and decides how far
 * down the backward has to go; it owns no numeric kernel of its own.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "forward.h"
#include "ops.h"

static int lora_active(const struct lora *lo)
{
    return lo && !lo->merged && lo->n_adapters > 0;
}

/* ---- buffers ---- */

int model_acts_alloc(struct model_acts *a, const struct model_config *cfg, const struct lora *lo,
                     int B, int T)
{
    memset(a, 0, sizeof(*a));
    if (model_config_check(cfg, NULL, 0) < 0 || B <= 0 || T <= 0 || T > cfg->max_seq_len ||
        (cfg->sliding_window > 0 && T > cfg->sliding_window))
        return -1;
    a->B = B;
    a->T = T;
    a->L = cfg->n_layers;
    a->C = cfg->dim;
    a->NH = cfg->n_heads;
    a->NKV = cfg->n_kv_heads;
    a->HS = model_head_size(cfg);
    a->QD = a->HS * a->NH;
    a->qk_norm = cfg->qk_norm != 0;
    a->KV = a->HS * a->NKV;
    a->H = cfg->hidden_dim;
    a->V = cfg->vocab_size;
    size_t L = (size_t)a->L, N = (size_t)B * T, C = (size_t)a->C, KV = (size_t)a->KV;
    size_t H = (size_t)a->H, V = (size_t)a->V, TT = (size_t)T * T, QD = (size_t)a->QD;
    size_t qn = a->qk_norm ? 1 : 0;   /* the q/k norm caches exist */
    struct { float **field; size_t n; } parts[] = {
        { &a->rope_cos, (size_t)T * a->HS / 2 }, { &a->rope_sin, (size_t)T * a->HS / 2 },
        { &a->x, (L + 1) * N * C }, { &a->rstd1, L * N }, { &a->xn1, L * N * C },
        { &a->q, L * N * QD }, { &a->k, L * N * KV }, { &a->v, L * N * KV },
        { &a->probs, L * (size_t)B * a->NH * TT }, { &a->att, L * N * QD },
        { &a->qpre, qn * L * N * QD }, { &a->kpre, qn * L * N * KV },
        { &a->qrstd, qn * L * N * a->NH }, { &a->krstd, qn * L * N * a->NKV },
        { &a->dqn, qn * N * QD }, { &a->dkn, qn * N * KV },
        { &a->xmid, L * N * C }, { &a->rstd2, L * N }, { &a->xn2, L * N * C },
        { &a->g, L * N * H }, { &a->u, L * N * H }, { &a->h, L * N * H },
        { &a->rstdf, N }, { &a->xf, N * C }, { &a->logits, N * V }, { &a->tmp, N * C },
        { &a->dres, N * C }, { &a->dxn, N * C }, { &a->datt, N * QD }, { &a->dq, N * QD },
        { &a->dk, N * KV }, { &a->dv, N * KV }, { &a->dq_pre, N * QD }, { &a->dk_pre, N * KV },
        { &a->dh, N * H }, { &a->dg, N * H }, { &a->du, N * H }, { &a->dscores, TT },
        { &a->xh, N * C }, { &a->dxh, N * C },
    };
    size_t nparts = sizeof(parts) / sizeof(parts[0]);
    for (size_t i = 0; i < nparts; i++)
        a->n_floats += parts[i].n;
    a->slab = xcalloc(a->n_floats, sizeof(float));
    float *p = a->slab;
    for (size_t i = 0; i < nparts; i++) {
        *parts[i].field = p;
        p += parts[i].n;
    }
    a->tokens = xcalloc(N, sizeof(int));
    a->head_pos = xcalloc(N, sizeof(int));
    model_rope_table(cfg, a->rope_cos, a->rope_sin, T);
    if (lo)
        lora_cache_alloc(&a->lc, lo, N);
    return 0;
}

void model_acts_free(struct model_acts *a)
{
    free(a->slab);
    free(a->tokens);
    free(a->head_pos);
    lora_cache_free(&a->lc);
    memset(a, 0, sizeof(*a));
}

/* Layer l's slice of a per-layer cache of `width` floats per row. */
static float *at(const struct model_acts *a, float *base, int l, size_t width)
{
    return base + (size_t)l * a->B * a->T * width;
}

/* ---- forward ---- */

/* The bias kind of projection kind k (TK_COUNT for none). */
static enum tensor_kind bias_kind(enum tensor_kind k)
{
    switch (k) {
    case TK_WQ: return TK_BQ;
    case TK_WK: return TK_BK;
    case TK_WV: return TK_BV;
    case TK_WO: return TK_BO;
    default: return TK_COUNT;
    }
}

void model_proj_forward(const struct model *m, struct lora *lo, struct lora_cache *lc,
                        enum tensor_kind k, int layer, float *y, const float *x, int N)
{
    struct tensor_ref w = model_tensor(m, k, layer);   /* (out, in) */
    matmul_forward(y, x, w.data, N, (int)w.cols, (int)w.rows);
    enum tensor_kind bk = bias_kind(k);
    if (bk != TK_COUNT && model_has_kind(&m->cfg, bk))
        bias_forward(y, model_tensor(m, bk, layer).data, N, (int)w.rows);
    int idx = lora_active(lo) ? lora_find(lo, k, layer) : -1;
    if (idx >= 0)
        lora_forward(lo, lc, idx, y, x, N);
}

void model_embed_forward(const struct model *m, struct model_acts *a)
{
    embedding_forward(a->x, a->tokens, m->w.embed, a->cur_B * a->cur_T, a->C);
}

void model_attn_forward(const struct model *m, struct lora *lo, struct model_acts *a, int l)
{
    int B = a->cur_B, T = a->cur_T, N = B * T, C = a->C, KV = a->KV, QD = a->QD;
    float *x = at(a, a->x, l, C);          /* (N, C) */
    float *rstd = at(a, a->rstd1, l, 1);   /* (N) */
    float *xn = at(a, a->xn1, l, C);       /* (N, C) */
    float *q = at(a, a->q, l, QD);         /* (N, QD) */
    float *k = at(a, a->k, l, KV);         /* (N, KV) */
    float *v = at(a, a->v, l, KV);         /* (N, KV) */
    float *probs = a->probs + (size_t)l * a->B * a->NH * a->T * a->T;   /* (B, NH, T, T) */
    float *att = at(a, a->att, l, QD);     /* (N, QD) */
    float *xmid = at(a, a->xmid, l, C);    /* (N, C) */
    float *qp = a->qk_norm ? at(a, a->qpre, l, QD) : q;   /* q_proj's output */
    float *kp = a->qk_norm ? at(a, a->kpre, l, KV) : k;
    rmsnorm_forward(xn, rstd, x, m->w.attn_norm + (size_t)l * C, N, C, m->cfg.norm_eps);
    model_proj_forward(m, lo, &a->lc, TK_WQ, l, qp, xn, N);
    model_proj_forward(m, lo, &a->lc, TK_WK, l, kp, xn, N);
    model_proj_forward(m, lo, &a->lc, TK_WV, l, v, xn, N);
    if (a->qk_norm) {   /* per head: rows of HS */
        int HS = a->HS;
        rmsnorm_forward(q, at(a, a->qrstd, l, a->NH), qp, m->w.q_norm + (size_t)l * HS,
                        N * a->NH, HS, m->cfg.norm_eps);
        rmsnorm_forward(k, at(a, a->krstd, l, a->NKV), kp, m->w.k_norm + (size_t)l * HS,
                        N * a->NKV, HS, m->cfg.norm_eps);
    }
    rope_forward(q, q, a->rope_cos, a->rope_sin, N, T, a->NH, a->HS);
    rope_forward(k, k, a->rope_cos, a->rope_sin, N, T, a->NKV, a->HS);
    attention_forward(att, probs, q, k, v, B, T, a->NH, a->NKV, a->HS);
    model_proj_forward(m, lo, &a->lc, TK_WO, l, a->tmp, att, N);
    residual_forward(xmid, x, a->tmp, (size_t)N * C);
}

void model_mlp_forward(const struct model *m, struct lora *lo, struct model_acts *a, int l)
{
    int N = a->cur_B * a->cur_T, C = a->C, H = a->H;
    float *xmid = at(a, a->xmid, l, C);    /* (N, C) */
    float *rstd = at(a, a->rstd2, l, 1);   /* (N) */
    float *xn = at(a, a->xn2, l, C);       /* (N, C) */
    float *g = at(a, a->g, l, H);          /* (N, H) */
    float *u = at(a, a->u, l, H);          /* (N, H) */
    float *h = at(a, a->h, l, H);          /* (N, H) */
    float *xout = at(a, a->x, l + 1, C);   /* (N, C) */
    rmsnorm_forward(xn, rstd, xmid, m->w.mlp_norm + (size_t)l * C, N, C, m->cfg.norm_eps);
    model_proj_forward(m, lo, &a->lc, TK_GATE, l, g, xn, N);
    model_proj_forward(m, lo, &a->lc, TK_UP, l, u, xn, N);
    swiglu_forward(h, g, u, (size_t)N * H);
    model_proj_forward(m, lo, &a->lc, TK_DOWN, l, a->tmp, h, N);
    residual_forward(xout, xmid, a->tmp, (size_t)N * C);
}

/* dst rows r = src rows pos[r] (gather), or dst rows pos[r] = src rows r (scatter), of C */
static void copy_rows(float *dst, const float *src, const int *pos, int n, int C, int scatter)
{
    for (int r = 0; r < n; r++) {
        size_t p = (size_t)pos[r] * C, q = (size_t)r * C;
        memcpy(dst + (scatter ? p : q), src + (scatter ? q : p), (size_t)C * sizeof(float));
    }
}

void model_head_forward(const struct model *m, struct model_acts *a)
{
    int N = a->cur_B * a->cur_T, C = a->C;
    float *x = at(a, a->x, a->L, C);       /* (N, C) */
    rmsnorm_forward(a->xf, a->rstdf, x, m->w.final_norm, N, C, m->cfg.norm_eps);
    if (a->head_all) {
        matmul_forward(a->logits, a->xf, m->w.lm_head, N, C, a->V);
        return;
    }
    copy_rows(a->xh, a->xf, a->head_pos, a->n_head, C, 0);
    if (a->n_head > 0)
        matmul_forward(a->logits, a->xh, m->w.lm_head, a->n_head, C, a->V);
}

int model_forward(const struct model *m, struct lora *lo, const int *tokens, int B, int T,
                  struct model_acts *a)
{
    return model_forward_masked(m, lo, tokens, B, T, NULL, a);
}

int model_forward_masked(const struct model *m, struct lora *lo, const int *tokens, int B,
                         int T, const unsigned char *head_mask, struct model_acts *a)
{
    if (B <= 0 || T <= 0 || B > a->B || T > a->T || m->cfg.dim != a->C ||
        m->cfg.n_layers != a->L || m->cfg.vocab_size != a->V ||
        model_q_dim(&m->cfg) != a->QD || (m->cfg.qk_norm != 0) != a->qk_norm)
        return -1;
    if (lora_active(lo) && !lora_cache_fits(&a->lc, lo, (size_t)B * T))
        return -1;
    int N = B * T;
    for (int i = 0; i < N; i++)
        if (tokens[i] < 0 || tokens[i] >= a->V)
            return -1;
    memcpy(a->tokens, tokens, (size_t)N * sizeof(int));
    a->cur_B = B;
    a->cur_T = T;
    a->n_head = 0;
    for (int i = 0; i < N; i++)
        if (!head_mask || head_mask[i])
            a->head_pos[a->n_head++] = i;
    a->head_all = a->n_head == N;
    model_embed_forward(m, a);
    for (int l = 0; l < a->L; l++) {
        model_attn_forward(m, lo, a, l);
        model_mlp_forward(m, lo, a, l);
    }
    model_head_forward(m, a);
    return 0;
}

/* ---- how far down the backward goes ---- */

/* Stages in forward order: 0 the embedding, then six per layer, then the head. A
 * stage "trains" when one of its tensors is trainable or has a LoRA adapter; the
 * backward runs every stage from the top down to the lowest one that trains, and
 * computes a stage's input gradient only when a lower stage trains. */
enum layer_part { PART_ATTN_NORM, PART_QKV, PART_WO, PART_MLP_NORM, PART_GATE_UP, PART_DOWN,
                  PARTS_PER_LAYER };
#define STAGE_EMBED 0
#define STAGE_NONE INT_MAX

static int layer_stage(int l, enum layer_part p)
{
    return 1 + l * PARTS_PER_LAYER + (int)p;
}

static int final_norm_stage(int L)
{
    return 1 + L * PARTS_PER_LAYER;
}

static int lm_head_stage(int L)
{
    return 2 + L * PARTS_PER_LAYER;
}

static int kind_trains(const struct lora *lo, const struct trainable *tr, enum tensor_kind k,
                       int l)
{
    return trainable_on(tr, k, l) || (lora_active(lo) && lora_find(lo, k, l) >= 0);
}

static int lowest_stage(const struct model_config *cfg, const struct lora *lo,
                        const struct trainable *tr)
{
    static const enum tensor_kind part_kinds[PARTS_PER_LAYER][8] = {
        [PART_ATTN_NORM] = { TK_ATTN_NORM, TK_ATTN_NORM, TK_ATTN_NORM, TK_ATTN_NORM,
                             TK_ATTN_NORM, TK_ATTN_NORM, TK_ATTN_NORM, TK_ATTN_NORM },
        [PART_QKV] = { TK_WQ, TK_WK, TK_WV, TK_BQ, TK_BK, TK_BV, TK_Q_NORM, TK_K_NORM },
        [PART_WO] = { TK_WO, TK_BO, TK_WO, TK_WO, TK_WO, TK_WO, TK_WO, TK_WO },
        [PART_MLP_NORM] = { TK_MLP_NORM, TK_MLP_NORM, TK_MLP_NORM, TK_MLP_NORM,
                            TK_MLP_NORM, TK_MLP_NORM, TK_MLP_NORM, TK_MLP_NORM },
        [PART_GATE_UP] = { TK_GATE, TK_UP, TK_UP, TK_UP, TK_UP, TK_UP, TK_UP, TK_UP },
        [PART_DOWN] = { TK_DOWN, TK_DOWN, TK_DOWN, TK_DOWN, TK_DOWN, TK_DOWN, TK_DOWN,
                        TK_DOWN },
    };
    int L = cfg->n_layers;
    if (trainable_on(tr, TK_EMBED, 0))
        return STAGE_EMBED;
    for (int l = 0; l < L; l++)
        for (int p = 0; p < PARTS_PER_LAYER; p++)
            for (int i = 0; i < 8; i++)
                if (kind_trains(lo, tr, part_kinds[p][i], l))
                    return layer_stage(l, (enum layer_part)p);
    if (trainable_on(tr, TK_FINAL_NORM, 0))
        return final_norm_stage(L);
    if (trainable_on(tr, TK_LM_HEAD, 0))
        return lm_head_stage(L);
    return STAGE_NONE;
}

int model_backward_lowest_layer(const struct model_config *cfg, const struct lora *lo,
                                const struct trainable *tr)
{
    int s = lowest_stage(cfg, lo, tr), L = cfg->n_layers;
    if (s == STAGE_NONE)
        return L + 1;
    if (s == STAGE_EMBED)
        return -1;
    if (s >= final_norm_stage(L))
        return L;
    return (s - 1) / PARTS_PER_LAYER;
}

/* ---- backward ---- */

/* What every backward piece needs besides its layer. */
struct bw {
    const struct model *m;
    struct lora *lo;
    const struct trainable *tr;
    struct model_acts *a;
    struct model *grads;
    int lowest;            /* lowest_stage() */
    int N;
};

/* Gradient slice of a per-layer vector/matrix kind, or NULL when it is frozen. */
static float *grad_of(const struct bw *w, enum tensor_kind k, int l)
{
    return trainable_on(w->tr, k, l) ? model_tensor(w->grads, k, l).data : NULL;
}

static void proj_backward(const struct bw *w, enum tensor_kind k, int l, float *dx,
                          const float *dy, const float *x)
{
    /* undoes: y = x W^T (+ scale * B A dropout(x)) */
    struct tensor_ref wt = model_tensor(w->m, k, l);   /* (out, in) */
    matmul_backward(dx, grad_of(w, k, l), dy, x, wt.data, w->N, (int)wt.cols, (int)wt.rows);
    enum tensor_kind bk = bias_kind(k);
    float *db = bk != TK_COUNT && model_has_kind(&w->m->cfg, bk) ? grad_of(w, bk, l) : NULL;
    if (db)
        bias_backward(db, dy, w->N, (int)wt.rows);
    int idx = lora_active(w->lo) ? lora_find(w->lo, k, l) : -1;
    if (idx >= 0)
        lora_backward(w->lo, &w->a->lc, idx, dx, dy, x, w->N);
}

/* The MLP half of layer l, from dres = d x[l+1] to dres = d xmid[l]. 1 when
 * nothing below needs gradients. */
static int mlp_backward(const struct bw *w, int l)
{
    struct model_acts *a = w->a;
    int N = w->N, C = a->C, H = a->H;
    size_t NC = (size_t)N * C, NH = (size_t)N * H;
    int need;
    /* undoes: x[l+1] = xmid + tmp; tmp = h Wdown^T  (d tmp = d xmid = dres) */
    need = w->lowest < layer_stage(l, PART_DOWN);
    if (need)
        zero_floats(a->dh, NH);
    proj_backward(w, TK_DOWN, l, need ? a->dh : NULL, a->dres, at(a, a->h, l, H));
    if (!need)
        return 1;
    /* undoes: h = silu(g) * u */
    zero_floats(a->dg, NH);
    zero_floats(a->du, NH);
    swiglu_backward(a->dg, a->du, a->dh, at(a, a->g, l, H), at(a, a->u, l, H), NH);
    /* undoes: g = xn2 Wgate^T; u = xn2 Wup^T */
    need = w->lowest < layer_stage(l, PART_GATE_UP);
    if (need)
        zero_floats(a->dxn, NC);
    proj_backward(w, TK_GATE, l, need ? a->dxn : NULL, a->dg, at(a, a->xn2, l, C));
    proj_backward(w, TK_UP, l, need ? a->dxn : NULL, a->du, at(a, a->xn2, l, C));
    if (!need)
        return 1;
    /* undoes: xn2 = rmsnorm(xmid) * mlp_norm  (dres += through the norm) */
    need = w->lowest < layer_stage(l, PART_MLP_NORM);
    rmsnorm_backward(need ? a->dres : NULL, grad_of(w, TK_MLP_NORM, l), a->dxn,
                     at(a, a->xmid, l, C), w->m->w.mlp_norm + (size_t)l * C,
                     at(a, a->rstd2, l, 1), N, C);
    return !need;
}

/* The attention half of layer l, from dres = d xmid[l] to dres = d x[l]. */
static int attn_backward(const struct bw *w, int l)
{
    struct model_acts *a = w->a;
    int N = w->N, C = a->C, KV = a->KV, B = a->cur_B, T = a->cur_T, QD = a->QD;
    size_t NC = (size_t)N * C, NKVs = (size_t)N * KV, NQ = (size_t)N * QD;
    int need;
    /* undoes: xmid = x[l] + tmp; tmp = att Wo^T  (d tmp = dres) */
    need = w->lowest < layer_stage(l, PART_WO);
    if (need)
        zero_floats(a->datt, NQ);
    proj_backward(w, TK_WO, l, need ? a->datt : NULL, a->dres, at(a, a->att, l, QD));
    if (!need)
        return 1;
    /* undoes: att = attention(q, k, v) */
    zero_floats(a->dq, NQ);
    zero_floats(a->dk, NKVs);
    zero_floats(a->dv, NKVs);
    const float *probs = a->probs + (size_t)l * a->B * a->NH * a->T * a->T;
    attention_backward(a->dq, a->dk, a->dv, a->dscores, a->datt, at(a, a->q, l, QD),
                       at(a, a->k, l, KV), at(a, a->v, l, KV), probs, B, T, a->NH, a->NKV,
                       a->HS);
    /* undoes: q = rope(q_pre); k = rope(k_pre) */
    zero_floats(a->dq_pre, NQ);
    zero_floats(a->dk_pre, NKVs);
    rope_backward(a->dq_pre, a->dq, a->rope_cos, a->rope_sin, N, T, a->NH, a->HS);
    rope_backward(a->dk_pre, a->dk, a->rope_cos, a->rope_sin, N, T, a->NKV, a->HS);
    float *dqp = a->dq_pre, *dkp = a->dk_pre;   /* gradients of q_proj's, k_proj's output */
    if (a->qk_norm) {
        /* undoes: q = q_norm(q_pre), k = k_norm(k_pre) per head (rows of HS) */
        int HS = a->HS;
        zero_floats(a->dqn, NQ);
        zero_floats(a->dkn, NKVs);
        rmsnorm_backward(a->dqn, grad_of(w, TK_Q_NORM, l), a->dq_pre, at(a, a->qpre, l, QD),
                         w->m->w.q_norm + (size_t)l * HS, at(a, a->qrstd, l, a->NH),
                         N * a->NH, HS);
        rmsnorm_backward(a->dkn, grad_of(w, TK_K_NORM, l), a->dk_pre, at(a, a->kpre, l, KV),
                         w->m->w.k_norm + (size_t)l * HS, at(a, a->krstd, l, a->NKV),
                         N * a->NKV, HS);
        dqp = a->dqn;
        dkp = a->dkn;
    }
    /* undoes: q_pre = xn1 Wq^T; k_pre = xn1 Wk^T; v = xn1 Wv^T */
    need = w->lowest < layer_stage(l, PART_QKV);
    if (need)
        zero_floats(a->dxn, NC);
    float *xn = at(a, a->xn1, l, C);
    proj_backward(w, TK_WQ, l, need ? a->dxn : NULL, dqp, xn);
    proj_backward(w, TK_WK, l, need ? a->dxn : NULL, dkp, xn);
    proj_backward(w, TK_WV, l, need ? a->dxn : NULL, a->dv, xn);
    if (!need)
        return 1;
    /* undoes: xn1 = rmsnorm(x[l]) * attn_norm  (dres += through the norm) */
    need = w->lowest < layer_stage(l, PART_ATTN_NORM);
    rmsnorm_backward(need ? a->dres : NULL, grad_of(w, TK_ATTN_NORM, l), a->dxn,
                     at(a, a->x, l, C), w->m->w.attn_norm + (size_t)l * C,
                     at(a, a->rstd1, l, 1), N, C);
    return !need;
}

int model_backward(const struct model *m, struct lora *lo, const struct trainable *tr,
                   struct model_acts *a, const float *dlogits, struct model *grads)
{
    int L = a->L, C = a->C, N = a->cur_B * a->cur_T;
    if (N <= 0 || m->cfg.n_layers != L || m->cfg.dim != C)
        return -1;
    if (trainable_count(tr, &m->cfg) > 0 &&
        (!grads || grads->cfg.n_layers != L || grads->cfg.dim != C ||
         grads->cfg.vocab_size != a->V || grads->cfg.tied_embeddings != m->cfg.tied_embeddings ||
         grads->n_params != m->n_params))
        return -1;
    if (lora_active(lo) && !lora_cache_fits(&a->lc, lo, (size_t)N))
        return -1;
    struct bw w = { m, lo, tr, a, grads, lowest_stage(&m->cfg, lo, tr), N };
    a->bw_layers = 0;
    if (w.lowest == STAGE_NONE)
        return 0;
    size_t NC = (size_t)N * C;

    /* undoes: logits = xf lm_head^T (on the rows at head_pos: xh = those rows of xf) */
    int need = w.lowest < lm_head_stage(L), nh = a->n_head;
    float *dhead = a->head_all ? a->dxn : a->dxh;
    if (need)
        zero_floats(a->dxn, NC);
    if (need && !a->head_all)
        zero_floats(a->dxh, (size_t)nh * C);   /* matmul_backward adds */
    if (nh > 0)
        matmul_backward(need ? dhead : NULL, grad_of(&w, TK_LM_HEAD, 0), dlogits,
                        a->head_all ? a->xf : a->xh, m->w.lm_head, nh, C, a->V);
    if (!need)
        return 0;
    if (!a->head_all) {
        copy_rows(a->dxn, a->dxh, a->head_pos, nh, C, 1);
    }
    /* undoes: xf = rmsnorm(x[L]) * final_norm */
    need = w.lowest < final_norm_stage(L);
    zero_floats(a->dres, NC);
    rmsnorm_backward(need ? a->dres : NULL, grad_of(&w, TK_FINAL_NORM, 0), a->dxn,
                     at(a, a->x, L, C), m->w.final_norm, a->rstdf, N, C);
    if (!need)
        return 0;
    for (int l = L - 1; l >= 0; l--) {
        a->bw_layers++;
        if (mlp_backward(&w, l) || attn_backward(&w, l))
            return 0;
    }
    /* undoes: x[0] = embed[tokens] */
    embedding_backward(grads->w.embed, a->dres, a->tokens, N, C);
    return 0;
}
