/*
 * lora.h - LoRA adapters on the model's linear projections, as PEFT does them:
 *
 *     y = W x + scale * B (A (dropout(x))),   scale = alpha / r
 *
 * on any subset of the seven projections (q_proj k_proj v_proj o_proj gate_proj
 * up_proj down_proj) of any subset of layers. A (r, in) starts as PEFT's default
 * kaiming_uniform_(a=sqrt(5)), which is exactly U(-1/sqrt(in), 1/sqrt(in)); B (out, r)
 * starts at zero, so a fresh adapter leaves the model's outputs bitwise unchanged
 * (the delta is computed and added, and adding scale * 0 is exact).
 * Dropout (probability p, kept inputs scaled by 1/(1-p)) acts on the adapter input
 * only, draws from the adapter's own splitmix64 stream, and is off unless
 * lo->training is set.
 *
 * Every A and B lives in one slab (params), their gradients in another (grads)
 * with the same layout; per adapter A comes first, then B.
 *
 * Ownership: lora_init() allocates, lora_free() releases (and accepts a zeroed
 * struct). struct lora_adapter pointers are borrowed views into the slabs. The
 * per-batch caches of the forward live in a struct lora_cache, owned by whoever
 * allocated it (normally struct model_acts).
 */
#ifndef MAINLINE_LORA_H
#define MAINLINE_LORA_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Bit of a projection kind in lora_config.targets. */
#define LORA_TARGET(kind) (1u << (kind))
#define LORA_TARGETS_ATTN (LORA_TARGET(TK_WQ) | LORA_TARGET(TK_WK) | LORA_TARGET(TK_WV) | \
                           LORA_TARGET(TK_WO))
#define LORA_TARGETS_MLP (LORA_TARGET(TK_GATE) | LORA_TARGET(TK_UP) | LORA_TARGET(TK_DOWN))
#define LORA_TARGETS_ALL_LINEAR (LORA_TARGETS_ATTN | LORA_TARGETS_MLP)

struct lora_config {
    int rank;              /* r > 0 */
    float alpha;           /* scale = alpha / r */
    float dropout;         /* p in [0, 1) */
    unsigned targets;      /* LORA_TARGET() bits of projection kinds */
    /* Which layers: the last `layers_last` ones when > 0, else the `n_layers`
     * indices in `layers` (negative counts from the end: -1 is the last layer),
     * else (both 0 / NULL) every layer. Copied by lora_init. */
    int layers_last;
    const int *layers;
    int n_layers;
    uint64_t seed;         /* A's initialization and the dropout stream */
};

struct lora_adapter {
    enum tensor_kind kind; /* TK_WQ ... TK_DOWN */
    int layer;
    int in, out;           /* the base weight is (out, in) */
    float *A;              /* (r, in)  lora_A */
    float *B;              /* (out, r) lora_B */
    float *dA;             /* (r, in) */
    float *dB;             /* (out, r) */
};

struct lora {
    int rank, n_layers;    /* r, the model's L */
    float alpha, dropout, scale;
    int n_adapters;
    struct lora_adapter *ad;   /* (n_adapters), layer-major, in tensor_kind order */
    int *index;                /* (L, TK_COUNT): adapter index, or -1 */
    float *params;             /* owned: every A and B */
    float *grads;              /* owned: the same layout */
    size_t n_params;           /* floats in each slab */
    uint64_t rng;              /* dropout stream state; save and restore it to replay */
    int training;              /* dropout active (set by the trainer, 0 at eval) */
    int merged;                /* folded into the base weights: the forward skips adapters */
};

/* Kind of a PEFT target name ("q_proj"...), or -1. */
int lora_target_kind(const char *name);

/* 0, or -1 with a reason in why. Allocates A (initialized), B (zero), grads (zero). */
int lora_init(struct lora *lo, const struct model_config *cfg, const struct lora_config *lc,
              char *why, size_t errlen);
void lora_free(struct lora *lo);

/* A replica of src for a thread of data-parallel training: it shares src's A and B
 * (params) and index, and owns its own adapter table and zeroed gradient slab, so
 * lora_backward() on it accumulates apart from src. Every other field is copied
 * (rng, training...). Release it with lora_replica_free(), never lora_free(); src
 * must outlive it. */
void lora_replica_init(struct lora *r, const struct lora *src);
void lora_replica_free(struct lora *r);

/* The adapter index of (kind, layer), or -1. */
int lora_find(const struct lora *lo, enum tensor_kind kind, int layer);
/* Trainable LoRA parameters (sum of r * (in + out)). */
size_t lora_param_count(const struct lora *lo);

/* W += scale * B A for every adapter (-1 if already merged); unmerge subtracts it
 * again (-1 if not merged). Float rounding makes unmerge restore W closely, not
 * bitwise: the evaluator should keep a copy if it needs the exact base back. */
int lora_merge(struct lora *lo, struct model *m);
int lora_unmerge(struct lora *lo, struct model *m);

/* PEFT name of adapter idx's A (which = 'A') or B (which = 'B') tensor:
 * "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight". */
void lora_tensor_name(const struct lora *lo, int idx, char which, char *buf, size_t len);

/* ---- forward / backward of one adapter over N rows ---- */

/* What the backward needs from the last forward, per adapter. */
struct lora_cache {
    size_t N;              /* rows the cache holds */
    int n_adapters;
    uint64_t shape_sig;    /* rank, dropout on/off and every adapter's kind, layer, shape */
    float *slab;           /* owned: everything below that is a float */
    unsigned char *keep;   /* owned: (n_adapters, N, in) dropout keep flags, NULL if p == 0 */
    float **u;             /* (n_adapters) -> (N, r) A dropout(x) */
    float **xd;            /* (n_adapters) -> (N, in) dropout(x), NULL entries if p == 0 */
    unsigned char **keepv; /* (n_adapters) -> (N, in) views into keep */
    int *dropped;          /* (n_adapters) dropout was applied in the last forward */
    float *du;             /* (N, r) backward scratch */
    float *dxd;            /* (N, max in) backward scratch */
};

int lora_cache_alloc(struct lora_cache *c, const struct lora *lo, size_t N);
void lora_cache_free(struct lora_cache *c);
/* Was c allocated for adapters shaped like lo's, with at least N rows? */
int lora_cache_fits(const struct lora_cache *c, const struct lora *lo, size_t N);

/* y (N, out) += scale * B A dropout(x (N, in)) for adapter idx; caches u (and the
 * dropout mask when lo->training and p > 0, advancing lo->rng). N <= c->N. */
void lora_forward(struct lora *lo, struct lora_cache *c, int idx, float *y, const float *x,
                  int N);
/* dA, dB += ...; dx (N, in) += ... unless dx is NULL. x is the forward's input. */
void lora_backward(struct lora *lo, struct lora_cache *c, int idx, float *dx, const float *dy,
                   const float *x, int N);

#endif
