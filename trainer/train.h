/*
 * train.h - one training run: a struct trainer holds everything the run needs
 * (base model, tokenizer, examples, adapter or trainable mask, gradients, AdamW,
 * activations) and the loop that drives it.
 *
 * setup.c builds a trainer from a config; train.c runs it:
 *   - an optimizer step takes batch_size examples of the epoch's permutation (the
 *     last batch of an epoch may be short), runs them micro_batch_size at a time
 *     through forward, SFT loss and backward, accumulating gradients; the loss is
 *     the token-weighted mean over the completion tokens of the whole batch (the
 *     loss backward divides by the batch's total count);
 *   - then global-norm clipping and one AdamW update at the schedule's rate;
 *   - every report_every steps a `train` event; at every eval_at step the NLL of
 *     the WHOLE validation set (dropout off) as a `val` event, and a checkpoint of
 *     exactly the weights validated (`checkpoint` event), then retention;
 *   - a non-finite loss or gradient norm stops the run (`diverged`);
 *   - a time limit near (*t->time_limit set, by SIGUSR1): at the next boundary
 *     between optimizer steps, a checkpoint of the step reached (as at an eval_at
 *     step, without the validation; none when that step's checkpoint is already on
 *     disk), a `stopped` event with reason `time_limit`, and TRAIN_TIME_LIMIT. A
 *     step, a validation or a checkpoint under way when it comes is finished first.
 * The same config, seed and thread count give bitwise identical weights, and a
 * run resumed from any checkpoint ends with the weights of one never interrupted.
 *
 * Errors: functions return an enum train_status and append one message to *err;
 * events go to metrics.jsonl and progress lines to stdout. Nothing here exits.
 *
 * Ownership: trainer_setup() fills *t (it borrows cfg and run_dir, which must
 * outlive it; the caller sets mx, stop, time_limit and threads after it, or leaves
 * them zero: no events, no early stop); trainer_free() releases the rest and accepts a zeroed
 * struct.
 */
#ifndef MAINLINE_TRAINER_TRAIN_H
#define MAINLINE_TRAINER_TRAIN_H

#include <signal.h>
#include <stddef.h>

#include "checkpoint.h"
#include "train_config.h"
#include "train_data.h"
#include "forward.h"
#include "loss.h"
#include "lora.h"
#include "metrics.h"
#include "model.h"
#include "optim.h"
#include "tokenizer.h"
#include "trainable.h"

enum train_status {
    TRAIN_OK,
    TRAIN_BAD_CONFIG,    /* exit 2 */
    TRAIN_DIVERGED,      /* exit 3 */
    TRAIN_UNREADABLE,    /* exit 4 */
    TRAIN_CANCELLED,     /* SIGTERM: stopped between micro-batches */
    TRAIN_TIME_LIMIT,    /* SIGUSR1: checkpointed between steps and stopped; exit 5 */
    TRAIN_FAILED,        /* anything else (a checkpoint that cannot be written...) */
};

struct worker;   /* worker.h */

struct trainer {
    const struct train_config *cfg;   /* borrowed */
    const char *run_dir;              /* borrowed */
    struct metrics *mx;               /* borrowed */
    volatile sig_atomic_t *stop;      /* borrowed; NULL: never stops early */
    volatile sig_atomic_t *time_limit; /* borrowed; NULL: no time limit (SIGUSR1) */
    int threads;                      /* reported only */

    struct model model;               /* the base model; trained tensors change in place */
    struct model grads;               /* same layout, allocated when base tensors train */
    struct tokenizer tok;
    struct lora lo;
    struct lora *lora;                /* &lo with an adapter, else NULL */
    struct trainable tr;
    struct trainable *mask;           /* &tr when base tensors train, else NULL */
    struct param_seg *segs;           /* owned: (n_segs) every trainable float */
    size_t n_segs, n_trainable;
    struct adamw opt;
    struct lr_schedule sched;

    struct dataset train, valid;
    struct model_acts acts;           /* for (micro_batch_size, longest input) */
    struct batch batch;
    struct worker *workers;           /* owned: (n_workers) data-parallel steps, worker.h */
    int n_workers;
    size_t *order;                    /* owned: (train.n) the current epoch's permutation */
    size_t *valid_order;              /* owned: (valid.n) by length, for less padding */
    uint64_t next_epoch_rng;          /* the shuffle stream after this epoch's draw */
    int pad_id;
    long steps_per_epoch, total_steps;
    long *eval_steps;                 /* owned: (n_eval_steps) ascending */
    size_t n_eval_steps;

    struct train_progress pr;
    long resumed_from;                /* checkpoint step resumed from, 0 for a fresh start */
    long saved_step;                  /* the newest checkpoint written or resumed from, or 0 */
    double t_start;                   /* monotonic seconds at setup */
    double rate_seconds;              /* time in optimizer steps since the last report */
    long rate_tokens;                 /* tokens trained on in that time */
    double last_grad_norm;
    long diverged_at;                 /* the step whose loss or NLL was not finite */
};

/* Load the model, tokenizer and data of cfg and build everything a run needs. */
enum train_status trainer_setup(struct trainer *t, const struct train_config *cfg,
                                const char *run_dir, struct strbuf *err);
void trainer_free(struct trainer *t);

/* Continue from the newest complete checkpoint under run_dir, if there is one (a
 * damaged one is skipped for the one before it). */
enum train_status trainer_resume(struct trainer *t, struct strbuf *err);

/* Train to the end: start event, steps, reports, validations, checkpoints, done. */
enum train_status trainer_run(struct trainer *t, struct strbuf *err);

/* Draw the permutation of epoch t->pr.epoch from t->pr.epoch_rng into t->order. */
void trainer_begin_epoch(struct trainer *t);

/* One optimizer step (t->pr.step + 1) on its batch; *loss is its mean NLL. */
enum train_status trainer_step(struct trainer *t, double *loss, struct strbuf *err);

/* Sum and count of the NLL of the whole validation set with adapter lo (NULL: the
 * base model alone), dropout off, into *acc. */
enum train_status trainer_valid_nll(struct trainer *t, struct lora *lo, struct loss_sum *acc,
                                    struct strbuf *err);

/* Has a stop been asked for (SIGTERM)? Checked between micro-batches. */
int trainer_stopping(const struct trainer *t);

/* Is the time limit near (SIGUSR1)? Checked between optimizer steps only. */
int trainer_time_limit_near(const struct trainer *t);

#endif
