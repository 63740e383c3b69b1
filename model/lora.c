/* lora.c - LoRA adapters: slabs, initialization, forward/backward, merge (see lora.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "error.h"
#include "lora.h"
#include "ops.h"
#include "rng.h"

/* ---- setup ---- */

int lora_target_kind(const char *name)
{
    for (int k = 0; k < TK_COUNT; k++) {
        const char *p = tensor_kind_proj_name((enum tensor_kind)k);
        if (p && strcmp(p, name) == 0)
            return k;
    }
    return -1;
}

static int fail(char *why, size_t errlen, const char *msg)
{
    if (why)
        snprintf(why, errlen, "%s", msg);
    return -1;
}

int lora_init(struct lora *lo, const struct model_config *cfg, const struct lora_config *lc,
              char *why, size_t errlen)
{
    memset(lo, 0, sizeof(*lo));
    int L = cfg->n_layers;
    if (model_config_check(cfg, why, errlen) < 0)
        return -1;
    if (lc->rank <= 0 || lc->rank > 65536)
        return fail(why, errlen, "lora rank must be positive");
    if (!(lc->alpha > 0))
        return fail(why, errlen, "lora alpha must be positive");
    if (!(lc->dropout >= 0 && lc->dropout < 1))
        return fail(why, errlen, "lora dropout must be in [0, 1)");
    if (lc->targets == 0 || (lc->targets & ~(unsigned)LORA_TARGETS_ALL_LINEAR))
        return fail(why, errlen, "lora targets must be a non-empty set of projections");
    if (lc->layers_last < 0 || lc->layers_last > L)
        return fail(why, errlen, "lora layers: last N must be in 1..n_layers");
    if (lc->n_layers < 0 || (lc->n_layers > 0 && !lc->layers))
        return fail(why, errlen, "lora layers: a count without a list");

    unsigned char *on = xcalloc((size_t)L, 1);
    if (lc->layers_last > 0) {
        for (int l = L - lc->layers_last; l < L; l++)
            on[l] = 1;
    } else if (lc->n_layers > 0 && lc->layers) {
        for (int i = 0; i < lc->n_layers; i++) {
            int l = lc->layers[i] < 0 ? L + lc->layers[i] : lc->layers[i];
            if (l < 0 || l >= L) {
                free(on);
                return fail(why, errlen, "lora layer index out of range");
            }
            on[l] = 1;
        }
    } else {
        memset(on, 1, (size_t)L);
    }

    int r = lc->rank;
    lo->rank = r;
    lo->n_layers = L;
    lo->alpha = lc->alpha;
    lo->dropout = lc->dropout;
    lo->scale = lc->alpha / (float)r;
    lo->index = xmalloc((size_t)L * TK_COUNT * sizeof(int));
    for (size_t i = 0; i < (size_t)L * TK_COUNT; i++)
        lo->index[i] = -1;
    for (int l = 0; l < L; l++)
        for (int k = 0; k < TK_COUNT; k++)
            if (on[l] && (lc->targets & LORA_TARGET(k)))
                lo->n_adapters++;
    lo->ad = xcalloc((size_t)lo->n_adapters, sizeof(*lo->ad));
    int n = 0;
    for (int l = 0; l < L; l++)
        for (int k = 0; k < TK_COUNT; k++) {
            if (!on[l] || !(lc->targets & LORA_TARGET(k)))
                continue;
            struct lora_adapter *a = &lo->ad[n];
            a->kind = (enum tensor_kind)k;
            a->layer = l;
            size_t rows, cols;
            model_tensor_shape(cfg, a->kind, &rows, &cols);
            a->in = (int)cols;
            a->out = (int)rows;
            lo->n_params += (size_t)r * ((size_t)a->in + (size_t)a->out);
            lo->index[l * TK_COUNT + k] = n++;
        }
    free(on);

    lo->params = xcalloc(lo->n_params ? lo->n_params : 1, sizeof(float));
    lo->grads = xcalloc(lo->n_params ? lo->n_params : 1, sizeof(float));
    size_t off = 0;
    uint64_t init = lc->seed;
    for (int i = 0; i < lo->n_adapters; i++) {
        struct lora_adapter *a = &lo->ad[i];
        size_t na = (size_t)r * a->in, nb = (size_t)a->out * r;
        a->A = lo->params + off;
        a->dA = lo->grads + off;
        a->B = lo->params + off + na;
        a->dB = lo->grads + off + na;
        off += na + nb;
        /* PEFT: kaiming_uniform_(A, a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)); B = 0 */
        float bound = 1.0f / sqrtf((float)a->in);
        for (size_t j = 0; j < na; j++)
            a->A[j] = (2.0f * rng_uniform01(&init) - 1.0f) * bound;
    }
    lo->rng = lc->seed ^ 0xD1B54A32D192ED03ull;
    return 0;
}

void lora_free(struct lora *lo)
{
    free(lo->ad);
    free(lo->index);
    free(lo->params);
    free(lo->grads);
    memset(lo, 0, sizeof(*lo));
}

void lora_replica_init(struct lora *r, const struct lora *src)
{
    *r = *src;
    r->ad = xmalloc((size_t)(src->n_adapters ? src->n_adapters : 1) * sizeof(*r->ad));
    r->grads = xcalloc(src->n_params ? src->n_params : 1, sizeof(float));
    for (int i = 0; i < src->n_adapters; i++) {
        r->ad[i] = src->ad[i];
        r->ad[i].dA = r->grads + (src->ad[i].dA - src->grads);
        r->ad[i].dB = r->grads + (src->ad[i].dB - src->grads);
    }
}

void lora_replica_free(struct lora *r)
{
    free(r->ad);
    free(r->grads);
    memset(r, 0, sizeof(*r));
}

int lora_find(const struct lora *lo, enum tensor_kind kind, int layer)
{
    if (!lo || !lo->index || layer < 0 || layer >= lo->n_layers || kind >= TK_COUNT)
        return -1;
    return lo->index[layer * TK_COUNT + kind];
}

size_t lora_param_count(const struct lora *lo)
{
    return lo->n_params;
}

/* W (out, in) += sign * scale * B (out, r) A (r, in) for every adapter. */
static void fold(struct lora *lo, struct model *m, float sign)
{
    for (int i = 0; i < lo->n_adapters; i++) {
        const struct lora_adapter *a = &lo->ad[i];
        float *W = model_tensor(m, a->kind, a->layer).data;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, a->out, a->in, lo->rank,
                    sign * lo->scale, a->B, lo->rank, a->A, a->in, 1.0f, W, a->in);
    }
}

int lora_merge(struct lora *lo, struct model *m)
{
    if (lo->merged)
        return -1;
    fold(lo, m, 1.0f);
    lo->merged = 1;
    return 0;
}

int lora_unmerge(struct lora *lo, struct model *m)
{
    if (!lo->merged)
        return -1;
    fold(lo, m, -1.0f);
    lo->merged = 0;
    return 0;
}

void lora_tensor_name(const struct lora *lo, int idx, char which, char *buf, size_t len)
{
    const struct lora_adapter *a = &lo->ad[idx];
    int attn = a->kind == TK_WQ || a->kind == TK_WK || a->kind == TK_WV || a->kind == TK_WO;
    snprintf(buf, len, "base_model.model.model.layers.%d.%s.%s.lora_%c.weight", a->layer,
             attn ? "self_attn" : "mlp", tensor_kind_proj_name(a->kind), which == 'B' ? 'B' : 'A');
}

/* ---- caches ---- */

static uint64_t shape_signature(const struct lora *lo)
{
    uint64_t h = 0xcbf29ce484222325ull;   /* FNV-1a over the shape-defining numbers */
    uint64_t v[2] = { (uint64_t)lo->rank, lo->dropout > 0 };
    for (int i = 0; i < 2; i++)
        h = (h ^ v[i]) * 0x100000001b3ull;
    for (int i = 0; i < lo->n_adapters; i++) {
        const struct lora_adapter *a = &lo->ad[i];
        uint64_t w[4] = { (uint64_t)a->kind, (uint64_t)a->layer, (uint64_t)a->in,
                          (uint64_t)a->out };
        for (int j = 0; j < 4; j++)
            h = (h ^ w[j]) * 0x100000001b3ull;
    }
    return h;
}

int lora_cache_fits(const struct lora_cache *c, const struct lora *lo, size_t N)
{
    return c->slab && c->n_adapters == lo->n_adapters && c->N >= N &&
           c->shape_sig == shape_signature(lo);
}

int lora_cache_alloc(struct lora_cache *c, const struct lora *lo, size_t N)
{
    memset(c, 0, sizeof(*c));
    int nA = lo->n_adapters, r = lo->rank, drop = lo->dropout > 0;
    size_t floats = 0, bytes = 0, max_in = 0;
    for (int i = 0; i < nA; i++) {
        size_t in = (size_t)lo->ad[i].in;
        floats += N * (size_t)r + (drop ? N * in : 0);
        bytes += drop ? N * in : 0;
        max_in = in > max_in ? in : max_in;
    }
    floats += N * (size_t)r + N * max_in;   /* du, dxd */
    c->N = N;
    c->n_adapters = nA;
    c->shape_sig = shape_signature(lo);
    c->slab = xcalloc(floats ? floats : 1, sizeof(float));
    c->keep = drop ? xcalloc(bytes ? bytes : 1, 1) : NULL;
    c->u = xcalloc((size_t)(nA ? nA : 1), sizeof(float *));
    c->xd = xcalloc((size_t)(nA ? nA : 1), sizeof(float *));
    c->keepv = xcalloc((size_t)(nA ? nA : 1), sizeof(unsigned char *));
    c->dropped = xcalloc((size_t)(nA ? nA : 1), sizeof(int));
    float *p = c->slab;
    unsigned char *kp = c->keep;
    for (int i = 0; i < nA; i++) {
        size_t in = (size_t)lo->ad[i].in;
        c->u[i] = p;                     /* (N, r) */
        p += N * (size_t)r;
        if (drop) {
            c->xd[i] = p;                /* (N, in) */
            p += N * in;
            c->keepv[i] = kp;            /* (N, in) */
            kp += N * in;
        }
    }
    c->du = p;                           /* (N, r) */
    p += N * (size_t)r;
    c->dxd = p;                          /* (N, max in) */
    return 0;
}

void lora_cache_free(struct lora_cache *c)
{
    free(c->slab);
    free(c->keep);
    free(c->u);
    free(c->xd);
    free(c->keepv);
    free(c->dropped);
    memset(c, 0, sizeof(*c));
}

/* ---- forward / backward ---- */

void lora_forward(struct lora *lo, struct lora_cache *c, int idx, float *y, const float *x,
                  int N)
{
    const struct lora_adapter *a = &lo->ad[idx];
    int r = lo->rank;
    const float *xin = x;   /* (N, in): the adapter's input after dropout */
    c->dropped[idx] = lo->training && lo->dropout > 0;
    if (c->dropped[idx]) {
        /* xd = x * keep / (1 - p), keep ~ Bernoulli(1 - p) from 32-bit draws */
        size_t n = (size_t)N * a->in;
        float *xd = c->xd[idx];
        unsigned char *keep = c->keepv[idx];
        uint32_t thresh = (uint32_t)((double)lo->dropout * 4294967296.0);
        float inv_keep = 1.0f / (1.0f - lo->dropout);
        uint64_t bits = 0;
        for (size_t i = 0; i < n; i++) {
            if ((i & 1) == 0)
                bits = rng_next(&lo->rng);
            uint32_t draw = (i & 1) ? (uint32_t)(bits >> 32) : (uint32_t)bits;
            keep[i] = draw >= thresh;
            xd[i] = keep[i] ? x[i] * inv_keep : 0.0f;
        }
        xin = xd;
    }
    /* u (N, r) = xin (N, in) A (r, in)^T */
    matmul_forward(c->u[idx], xin, a->A, N, a->in, r);
    /* y (N, out) += scale * u (N, r) B (out, r)^T */
    matmul_forward_acc(y, c->u[idx], a->B, N, r, a->out, lo->scale);
}

void lora_backward(struct lora *lo, struct lora_cache *c, int idx, float *dx, const float *dy,
                   const float *x, int N)
{
    struct lora_adapter *a = &lo->ad[idx];
    int r = lo->rank;
    const float *xin = c->dropped[idx] ? c->xd[idx] : x;
    /* undoes: y += scale * u B^T */
    /* dB (out, r) += scale * dy^T (out, N) u (N, r) */
    gemm(1, 0, a->out, r, N, lo->scale, dy, a->out, c->u[idx], r, 1.0f, a->dB, r);
    /* du (N, r) = scale * dy (N, out) B (out, r) */
    gemm(0, 0, N, r, a->out, lo->scale, dy, a->out, a->B, r, 0.0f, c->du, r);
    /* undoes: u = xin A^T */
    /* dA (r, in) += du^T (r, N) xin (N, in); dxin (N, in) = du A (if wanted) */
    if (!dx || !c->dropped[idx]) {
        matmul_backward(dx, a->dA, c->du, xin, a->A, N, a->in, r);
        return;
    }
    memset(c->dxd, 0, (size_t)N * a->in * sizeof(float));
    matmul_backward(c->dxd, a->dA, c->du, xin, a->A, N, a->in, r);
    /* undoes: xd = x * keep / (1 - p) */
    size_t n = (size_t)N * a->in;
    const unsigned char *keep = c->keepv[idx];
    float inv_keep = 1.0f / (1.0f - lo->dropout);
    for (size_t i = 0; i < n; i++)
        dx[i] += keep[i] ? c->dxd[i] * inv_keep : 0.0f;
}
