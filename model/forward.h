/*
 * forward.h - the model's forward and backward over a batch of B sequences of
 * T tokens (training and teacher-forced evaluation). It is not a decoder: KV-cached
 * generation composes the same pieces (rmsnorm_forward, model_proj_forward,
 * rope_forward at the position's table row, its own cached attention,
 * swiglu_forward, residual_forward) one position at a time.
 *
 *   x[0]     = embed[tokens]                                   model_embed_forward
 *   per layer l:                                               model_attn_forward
 *     xn1    = rmsnorm(x[l]) * attn_norm
 *     q, k   = rope(xn1 Wq^T), rope(xn1 Wk^T);  v = xn1 Wv^T   (+ LoRA deltas)
 *              (+ biases when the config has them; q, k through the per-head
 *              q_norm / k_norm before RoPE when it has qk_norm)
 *     att    = causal GQA softmax(q k^T / sqrt(HS)) v
 *     xmid   = x[l] + att Wo^T
 *                                                              model_mlp_forward
 *     xn2    = rmsnorm(xmid) * mlp_norm
 *     h      = silu(xn2 Wgate^T) * (xn2 Wup^T)
 *     x[l+1] = xmid + h Wdown^T
 *   logits   = rmsnorm(x[L]) * final_norm  lm_head^T            model_head_forward
 *
 * The backward adds into a gradient model (a struct model allocated with the
 * same config, so its slab has the model's layout; tied lm_head gradients land in
 * the embedding) for the tensors a struct trainable marks, and into the LoRA
 * gradient slab for every adapter. It walks down only as far as the lowest stage
 * that has something to train, and skips dW of frozen tensors.
 *
 * The head (lm_head, the largest product at a large vocabulary) may run on some
 * positions only: model_forward_masked() computes the logits of the positions a mask
 * keeps (the SFT loss's, so prompt and padding positions cost no head work), compacted,
 * and the backward then takes their gradient only; the other positions' head
 * gradients are zero.
 *
 * Ownership: model_acts_alloc() allocates every buffer (one float slab) for a
 * largest (B, T); model_acts_free() releases it and accepts a zeroed struct. The
 * logits stay in acts->logits until the next forward.
 */
#ifndef MAINLINE_FORWARD_H
#define MAINLINE_FORWARD_H

#include <stddef.h>

#include "lora.h"
#include "model.h"
#include "trainable.h"

struct model_acts {
    int B, T;              /* the largest batch the buffers hold */
    int cur_B, cur_T;      /* the shape of the last forward (<= B, T) */
    int L, C, KV, H, V, NH, NKV, HS;
    int QD;                /* NH * HS, the width of q and att (C unless head_dim says) */
    int qk_norm;           /* the config's per-head q/k RMSNorm (the buffers below) */
    size_t n_floats;       /* floats in the slab */
    float *slab;           /* owned: every float buffer below */
    int *tokens;           /* owned: (B, T) the last forward's tokens */

    /* caches of the forward, per layer at stride B*T rows (compact (cur_B, cur_T) inside) */
    float *rope_cos;       /* (T, HS/2) */
    float *rope_sin;       /* (T, HS/2) */
    float *x;              /* (L+1, B, T, C) residual stream into each layer; x[L] -> final norm */
    float *rstd1;          /* (L, B, T) */
    float *xn1;            /* (L, B, T, C) attn_norm output, input of q/k/v_proj */
    float *q;              /* (L, B, T, QD) after RoPE (and q_norm) */
    float *k;              /* (L, B, T, KV) after RoPE */
    float *v;              /* (L, B, T, KV) */
    float *probs;          /* (L, B, NH, T, T) attention probabilities */
    float *att;            /* (L, B, T, QD) attention output, input of o_proj */
    float *qpre;           /* (L, B, T, QD) q_proj output before q_norm (qk_norm only) */
    float *kpre;           /* (L, B, T, KV) k_proj output before k_norm (qk_norm only) */
    float *qrstd;          /* (L, B, T, NH) q_norm's rstd per head (qk_norm only) */
    float *krstd;          /* (L, B, T, NKV) (qk_norm only) */
    float *xmid;           /* (L, B, T, C) residual stream after attention */
    float *rstd2;          /* (L, B, T) */
    float *xn2;            /* (L, B, T, C) mlp_norm output, input of gate/up_proj */
    float *g;              /* (L, B, T, H) gate_proj output */
    float *u;              /* (L, B, T, H) up_proj output */
    float *h;              /* (L, B, T, H) silu(g) * u, input of down_proj */
    float *rstdf;          /* (B, T) */
    float *xf;             /* (B, T, C) final_norm output, input of lm_head */
    float *logits;         /* (B, T, V); (n_head, V) after a masked forward */
    int n_head;            /* rows of logits of the last forward */
    int head_all;          /* 1: every position's (row i = position i); 0: compacted */
    int *head_pos;         /* owned: (B, T) positions of the n_head rows, ascending */
    float *xh;             /* (B, T, C) xf rows of those positions, compacted (!head_all) */
    float *dxh;            /* (B, T, C) their gradient (!head_all) */
    float *tmp;            /* (B, T, C) o_proj / down_proj output before the residual add */

    /* backward scratch */
    float *dres;           /* (B, T, C) gradient of the residual stream */
    float *dxn;            /* (B, T, C) gradient of a norm's output (and of xf) */
    float *datt;           /* (B, T, QD) */
    float *dq;             /* (B, T, QD) gradient of q after RoPE */
    float *dk;             /* (B, T, KV) */
    float *dv;             /* (B, T, KV) */
    float *dq_pre;         /* (B, T, QD) gradient of q before RoPE */
    float *dk_pre;         /* (B, T, KV) */
    float *dqn;            /* (B, T, QD) gradient of q_proj's output (qk_norm only) */
    float *dkn;            /* (B, T, KV) (qk_norm only) */
    float *dh;             /* (B, T, H) */
    float *dg;             /* (B, T, H) */
    float *du;             /* (B, T, H) */
    float *dscores;        /* (T, T) */

    struct lora_cache lc;  /* LoRA caches (allocated when acts were made for a lora) */
    int bw_layers;         /* layer blocks the last backward visited (for tests and logs) */
};

/* Buffers for batches up to (B, T) of model cfg, with LoRA caches when lo is not
 * NULL. 0, or -1 when the shape is unusable (T > max_seq_len, T > a Mistral
 * sliding_window: sliding-window attention is not implemented, so sequences that
 * would need it are refused...). */
int model_acts_alloc(struct model_acts *a, const struct model_config *cfg, const struct lora *lo,
                     int B, int T);
void model_acts_free(struct model_acts *a);

/* logits (B, T, V) of tokens (B, T) into a->logits. lo may be NULL (or merged: its
 * adapters are then skipped); a LoRA in training mode with dropout draws masks.
 * -1 when B, T exceed the acts, a token is outside [0, V), or lo does not match
 * the acts' LoRA caches. */
int model_forward(const struct model *m, struct lora *lo, const int *tokens, int B, int T,
                  struct model_acts *a);
/* The same, with logits only for the positions i (of B * T) where head_mask[i] != 0:
 * a->n_head rows in a->logits, row j the j-th such position in order (a->head_pos[j]).
 * head_mask NULL, or keeping every position: exactly model_forward. */
int model_forward_masked(const struct model *m, struct lora *lo, const int *tokens, int B,
                         int T, const unsigned char *head_mask, struct model_acts *a);

/* Backpropagate dlogits (a->n_head, V) (that is (cur_B, cur_T, V) unless the forward
 * was masked) through the caches of the LAST forward on these acts (a validation
 * forward in between overwrites them; dlogits may be a->logits overwritten by the
 * loss backward). Adds into grads (same config as m)
 * for tensors tr marks (tr may be NULL: no base tensor trains; grads may then be
 * NULL) and into lo->grads for every adapter of lo (when lo is not NULL and not
 * merged). Must be given the same m and lo as the forward. -1 on misuse. */
int model_backward(const struct model *m, struct lora *lo, const struct trainable *tr,
                   struct model_acts *a, const float *dlogits, struct model *grads);

/* The lowest layer the backward visits: -1 when it reaches the embeddings, L when
 * it stops in the head (final_norm/lm_head), L + 1 when nothing trains. */
int model_backward_lowest_layer(const struct model_config *cfg, const struct lora *lo,
                                const struct trainable *tr);

/* ---- the pieces (over a->cur_B, a->cur_T; in this order) ---- */

/* x[0] = embed rows of a->tokens */
void model_embed_forward(const struct model *m, struct model_acts *a);
/* x[l] -> xmid[l] */
void model_attn_forward(const struct model *m, struct lora *lo, struct model_acts *a, int layer);
/* xmid[l] -> x[l+1] */
void model_mlp_forward(const struct model *m, struct lora *lo, struct model_acts *a, int layer);
/* x[L] -> logits of the positions a->head_pos names (all when a->head_all) */
void model_head_forward(const struct model *m, struct model_acts *a);

/* y (N, out) = x (N, in) W^T (+ b when the config has the projection's bias) for
 * projection kind k of layer, plus its LoRA delta when lo is active and adapts it
 * (lc must then hold N rows; lo NULL or merged: base only). */
void model_proj_forward(const struct model *m, struct lora *lo, struct lora_cache *lc,
                        enum tensor_kind k, int layer, float *y, const float *x, int N);

#endif
