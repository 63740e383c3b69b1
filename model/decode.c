/*
 * decode.c - KV-cached steps over rows of any slots (see decode.h). It wires the
 * kernels of ops.c into the llama block as forward.c does, per row instead of per
 * (B, T) block; it owns no numeric kernel of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "error.h"
#include "ops.h"

int decoder_alloc(struct decoder *d, const struct model *m, int S, int P, int R)
{
    memset(d, 0, sizeof(*d));
    const struct model_config *cfg = &m->cfg;
    if (model_config_check(cfg, NULL, 0) < 0 || S <= 0 || P <= 0 || R <= 0 ||
        P > cfg->max_seq_len)
        return -1;
    d->m = m;
    d->S = S;
    d->P = P;
    d->R = R;
    d->L = cfg->n_layers;
    d->C = cfg->dim;
    d->NH = cfg->n_heads;
    d->NKV = cfg->n_kv_heads;
    d->HS = cfg->dim / cfg->n_heads;
    d->KV = d->HS * d->NKV;
    d->H = cfg->hidden_dim;
    d->V = cfg->vocab_size;
    size_t cache = (size_t)d->L * S * P * d->KV, rc = (size_t)R * d->C, rkv = (size_t)R * d->KV;
    size_t rh = (size_t)R * d->H, half = (size_t)P * (d->HS / 2);
    struct { float **field; size_t n; } parts[] = {
        { &d->kc, cache }, { &d->vc, cache }, { &d->rope_cos, half }, { &d->rope_sin, half },
        { &d->x, rc }, { &d->xn, rc }, { &d->q, rc }, { &d->k, rkv }, { &d->v, rkv },
        { &d->att, rc }, { &d->tmp, rc }, { &d->g, rh }, { &d->u, rh }, { &d->h, rh },
        { &d->rstd, (size_t)R }, { &d->scores, (size_t)P }, { &d->logits, (size_t)R * d->V },
    };
    size_t total = 0, nparts = sizeof(parts) / sizeof(parts[0]);
    for (size_t i = 0; i < nparts; i++)
        total += parts[i].n;
    d->slab = xmalloc(total * sizeof(float));
    float *p = d->slab;
    for (size_t i = 0; i < nparts; i++) {
        *parts[i].field = p;
        p += parts[i].n;
    }
    rope_table(d->rope_cos, d->rope_sin, P, d->HS, cfg->rope_theta);
    return 0;
}

void decoder_free(struct decoder *d)
{
    free(d->slab);
    memset(d, 0, sizeof(*d));
}

/* Slot s's cache rows of layer l: (P, KV). */
static float *cache_at(const struct decoder *d, float *base, int l, int s)
{
    return base + ((size_t)l * d->S + (size_t)s) * d->P * d->KV;
}

static void proj(const struct decoder *d, enum tensor_kind k, int l, float *y, const float *x,
                 int n)
{
    struct tensor_ref w = model_tensor(d->m, k, l);   /* (out, in) */
    matmul_rows_forward(y, x, w.data, n, (int)w.cols, (int)w.rows);
}

/* x -> x + attention(rmsnorm(x)) for layer l. */
static void attn_step(struct decoder *d, const struct decode_row *rows, int n, int l)
{
    int C = d->C, KV = d->KV, half = d->HS / 2;
    rmsnorm_forward(d->xn, d->rstd, d->x, d->m->w.attn_norm + (size_t)l * C, n, C,
                    d->m->cfg.norm_eps);
    proj(d, TK_WQ, l, d->q, d->xn, n);
    proj(d, TK_WK, l, d->k, d->xn, n);
    proj(d, TK_WV, l, d->v, d->xn, n);
    for (int r = 0; r < n; r++) {
        const struct decode_row *w = &rows[r];
        const float *c = d->rope_cos + (size_t)w->pos * half;   /* (HS/2) */
        const float *s = d->rope_sin + (size_t)w->pos * half;
        float *q = d->q + (size_t)r * C, *k = d->k + (size_t)r * KV;
        rope_forward(q, q, c, s, 1, 1, d->NH, d->HS);
        rope_forward(k, k, c, s, 1, 1, d->NKV, d->HS);
        size_t at = (size_t)w->pos * KV;
        memcpy(cache_at(d, d->kc, l, w->slot) + at, k, (size_t)KV * sizeof(float));
        memcpy(cache_at(d, d->vc, l, w->slot) + at, d->v + (size_t)r * KV,
               (size_t)KV * sizeof(float));
    }
    for (int r = 0; r < n; r++) {
        const struct decode_row *w = &rows[r];
        attention_row_forward(d->att + (size_t)r * C, d->scores, d->q + (size_t)r * C,
                              cache_at(d, d->kc, l, w->slot), cache_at(d, d->vc, l, w->slot),
                              w->pos + 1, KV, d->NH, d->NKV, d->HS);
    }
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
    matmul_rows_forward(d->logits, d->xn, d->m->w.lm_head, n_out, C, d->V);
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
