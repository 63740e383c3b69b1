/*
 * optim.h - the optimizer: AdamW with decoupled weight decay over flat segments of
 * trainable floats, the learning-rate schedule, and global-norm gradient clipping.
 *
 * AdamW is PyTorch's torch.optim.AdamW, per element, in double:
 *     p -= lr * wd * p
 *     m  = beta1 m + (1 - beta1) g          v = beta2 v + (1 - beta2) g^2
 *     p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
 * Schedule (step counts from 1): lr * step / warmup during the warmup, then cosine,
 * linear or constant decay from lr to min_lr over the remaining steps, evaluated
 * where each step begins (as transformers' schedulers do): the first step after
 * the warmup runs at lr, and min_lr is where the schedule ends, lr_at(total + 1),
 * so the last step still learns even when min_lr is 0.
 * Clipping: when the global norm exceeds clip > 0, every gradient is scaled by
 * clip / (norm + 1e-6), as torch.nn.utils.clip_grad_norm_ does.
 * Every loop is split over the threads of parallel.h by a rule of the sizes and the
 * thread count (the norm's partial sums are added in part order), so results are
 * bitwise reproducible for a given thread count.
 *
 * Ownership: adamw_init() allocates the moments (zeroed), adamw_free() releases
 * them and accepts a zeroed struct. Segments are borrowed views.
 */
#ifndef MAINLINE_TRAINER_OPTIM_H
#define MAINLINE_TRAINER_OPTIM_H

#include <stddef.h>

#include "train_config.h"

/* A run of trainable floats and their gradients: the LoRA slab or one base tensor. */
struct param_seg {
    float *p;        /* (n) weights */
    float *g;        /* (n) gradients, same layout */
    size_t n;
};

struct lr_schedule {
    enum lr_schedule_kind kind;
    double lr, min_lr;
    long warmup, total;   /* steps */
};

/* The learning rate of optimizer step `step` (1-based). */
double lr_at(const struct lr_schedule *s, long step);

struct adamw {
    double beta1, beta2, eps, weight_decay;
    size_t n;        /* floats over every segment */
    float *m, *v;    /* owned: (n) moments, segment after segment */
    long t;          /* updates done so far (for the bias correction) */
};

void adamw_init(struct adamw *o, size_t n, double beta1, double beta2, double eps,
                double weight_decay);
void adamw_free(struct adamw *o);
/* One update (t += 1) of every segment at learning rate lr. The segments' total
 * size must be o->n. */
void adamw_step(struct adamw *o, const struct param_seg *segs, size_t n_segs, double lr);

/* Zero every gradient. */
void grad_zero(const struct param_seg *segs, size_t n_segs);
/* sqrt of the sum of squared gradients over every segment, accumulated in double. */
double grad_norm(const struct param_seg *segs, size_t n_segs);
/* Scale every gradient by clip / (norm + 1e-6) when clip > 0 and norm > clip;
 * returns the factor applied (1 when nothing was clipped). */
double grad_clip(const struct param_seg *segs, size_t n_segs, double norm, double clip);

#endif
