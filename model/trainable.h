/*
 * trainable.h - which of the model's tensors receive gradients and updates.
 *
 * A mask over (tensor kind, layer), built from a description: everything
 * ("full"), or parts: the RMSNorm weights (every attn/mlp norm and the final
 * norm), the lm_head, the token embeddings, and whole blocks (every tensor of
 * the chosen layers). LoRA adapters are not part of this mask: they always train,
 * and lora_param_count() reports them. With tied embeddings the embedding and the
 * lm_head are one tensor: asking for either trains it, and it counts once.
 *
 * Ownership: trainable_init() allocates the mask, trainable_free() releases it
 * (and accepts a zeroed struct). A NULL struct trainable pointer means "no base
 * tensor trains" wherever one is accepted. Kinds the config has no tensors of
 * (model_has_kind) never train; "full" and whole blocks include the biases and
 * q/k norms of the configs that have them.
 */
#ifndef MAINLINE_TRAINABLE_H
#define MAINLINE_TRAINABLE_H

#include <stddef.h>

#include "model.h"

enum train_part {
    TRAIN_NORM = 1 << 0,        /* attn_norm, mlp_norm (q_norm, k_norm) of every layer,
                                 * final_norm */
    TRAIN_LM_HEAD = 1 << 1,
    TRAIN_EMBEDDINGS = 1 << 2,
    TRAIN_BLOCKS = 1 << 3,      /* every tensor of the layers chosen below */
};

struct trainable_spec {
    int full;                   /* everything; the fields below are ignored */
    unsigned parts;             /* TRAIN_* bits */
    /* With TRAIN_BLOCKS: the last `blocks_last` layers when > 0, else the
     * `n_blocks` indices in `blocks` (negative counts from the end: -1 is the
     * last layer). */
    int blocks_last;
    const int *blocks;
    int n_blocks;
};

struct trainable {
    int n_layers;               /* L */
    int tied;                   /* embeddings tied to lm_head */
    unsigned char *mask;        /* (TK_COUNT, L): mask[k * L + l]; global kinds use l = 0 */
};

/* 0, or -1 with a reason in why. A zeroed spec trains nothing (LoRA only). */
int trainable_init(struct trainable *t, const struct model_config *cfg,
                   const struct trainable_spec *spec, char *why, size_t errlen);
void trainable_free(struct trainable *t);

/* Does tensor (kind, layer) train? (layer ignored for global kinds; t may be NULL) */
int trainable_on(const struct trainable *t, enum tensor_kind kind, int layer);
/* Trainable base parameters (tied embeddings counted once; t may be NULL). */
size_t trainable_count(const struct trainable *t, const struct model_config *cfg);
/* 100 * part / whole, 0 when whole is 0. */
double trainable_percent(size_t part, size_t whole);

#endif
