/*
 * init.h - random initialization of a model's weights, for training from
 * scratch (mainline-train's `init: random`).
 *
 * The scheme is GPT-2's, as nanoGPT and llm.c use it for llama-style models:
 * every matrix (embeddings, projections, an untied lm_head) is drawn from
 * normal(0, std); the two projections that write into the residual stream
 * (o_proj and down_proj) from normal(0, std / sqrt(2 * n_layers)), so the
 * residual's variance does not grow with depth; RMSNorm weights are 1.
 *
 * Values are drawn in slab order from one splitmix64 stream seeded by `seed`
 * (model/rng.h, apart from the data and LoRA streams), so the same seed and
 * config give the same bits -- with the same libm: Box-Muller calls log and cos,
 * which glibc computes deterministically but which another libm may round
 * differently in the last bit.
 *
 * Nothing here allocates, prints or fails.
 */
#ifndef MAINLINE_INIT_H
#define MAINLINE_INIT_H

#include <stdint.h>

#include "model.h"

#define MODEL_INIT_STD_DEFAULT 0.02

/* Overwrite every weight of m (allocated by model_alloc) as described above. */
void model_init_random(struct model *m, uint64_t seed, double std);

/* The standard deviation kind k is drawn with (0 for the norm vectors, which are 1;
 * -1 for the biases, which are 0). */
double model_init_std(const struct model_config *cfg, enum tensor_kind k, double std);

#endif
