/* trainable.c - the trainable-tensor mask and parameter counts (see trainable.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "trainable.h"

static int fail(char *why, size_t errlen, const char *msg)
{
    if (why)
        snprintf(why, errlen, "%s", msg);
    return -1;
}

static void set(struct trainable *t, enum tensor_kind k, int layer)
{
    t->mask[(size_t)k * t->n_layers + (tensor_kind_is_per_layer(k) ? layer : 0)] = 1;
}

/* Kinds the config has no tensors of never train (their mask rows stay 0). */
static int clear_absent(struct trainable *t, const struct model_config *cfg)
{
    for (int k = 0; k < TK_COUNT; k++)
        if (!model_has_kind(cfg, (enum tensor_kind)k))
            memset(t->mask + (size_t)k * t->n_layers, 0, (size_t)t->n_layers);
    return 0;
}

int trainable_init(struct trainable *t, const struct model_config *cfg,
                   const struct trainable_spec *spec, char *why, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    if (model_config_check(cfg, why, errlen) < 0)
        return -1;
    int L = cfg->n_layers;
    if (spec->parts & ~(unsigned)(TRAIN_NORM | TRAIN_LM_HEAD | TRAIN_EMBEDDINGS | TRAIN_BLOCKS))
        return fail(why, errlen, "unknown trainable part");
    if (spec->blocks_last < 0 || spec->blocks_last > L)
        return fail(why, errlen, "blocks: last N must be in 1..n_layers");
    t->n_layers = L;
    t->tied = cfg->tied_embeddings;
    t->mask = xcalloc((size_t)TK_COUNT * L, 1);
    if (spec->full) {
        memset(t->mask, 1, (size_t)TK_COUNT * L);
        return clear_absent(t, cfg);
    }
    if (spec->parts & TRAIN_NORM) {
        for (int l = 0; l < L; l++) {
            set(t, TK_ATTN_NORM, l);
            set(t, TK_MLP_NORM, l);
            set(t, TK_Q_NORM, l);
            set(t, TK_K_NORM, l);
        }
        set(t, TK_FINAL_NORM, 0);
    }
    if (spec->parts & (TRAIN_LM_HEAD | TRAIN_EMBEDDINGS)) {
        if ((spec->parts & TRAIN_LM_HEAD) || cfg->tied_embeddings)
            set(t, TK_LM_HEAD, 0);
        if ((spec->parts & TRAIN_EMBEDDINGS) || cfg->tied_embeddings)
            set(t, TK_EMBED, 0);
    }
    if (spec->parts & TRAIN_BLOCKS) {
        int n = spec->blocks_last > 0 ? spec->blocks_last : spec->n_blocks;
        if (n <= 0 || (spec->blocks_last == 0 && !spec->blocks)) {
            trainable_free(t);
            return fail(why, errlen, "blocks: no layers given");
        }
        for (int i = 0; i < n; i++) {
            int l = spec->blocks_last > 0 ? L - 1 - i
                  : spec->blocks[i] < 0 ? L + spec->blocks[i] : spec->blocks[i];
            if (l < 0 || l >= L) {
                trainable_free(t);
                return fail(why, errlen, "blocks: layer index out of range");
            }
            for (int k = 0; k < TK_COUNT; k++)
                if (tensor_kind_is_per_layer((enum tensor_kind)k))
                    set(t, (enum tensor_kind)k, l);
        }
    }
    return clear_absent(t, cfg);
}

void trainable_free(struct trainable *t)
{
    free(t->mask);
    memset(t, 0, sizeof(*t));
}

int trainable_on(const struct trainable *t, enum tensor_kind k, int layer)
{
    if (!t || !t->mask || k >= TK_COUNT)
        return 0;
    int l = tensor_kind_is_per_layer(k) ? layer : 0;
    if (l < 0 || l >= t->n_layers)
        return 0;
    return t->mask[(size_t)k * t->n_layers + l];
}

/* Floats of one layer's tensor of kind k (the tied lm_head owns none). */
static size_t kind_elems(const struct model_config *c, enum tensor_kind k)
{
    if (k == TK_LM_HEAD && c->tied_embeddings)
        return 0;
    size_t rows, cols;
    model_tensor_shape(c, k, &rows, &cols);
    return rows * cols;
}

size_t trainable_count(const struct trainable *t, const struct model_config *cfg)
{
    size_t n = 0;
    if (!t)
        return 0;
    for (int k = 0; k < TK_COUNT; k++) {
        int layers = tensor_kind_is_per_layer((enum tensor_kind)k) ? cfg->n_layers : 1;
        for (int l = 0; l < layers; l++)
            if (trainable_on(t, (enum tensor_kind)k, l))
                n += kind_elems(cfg, (enum tensor_kind)k);
    }
    return n;
}

double trainable_percent(size_t part, size_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}
