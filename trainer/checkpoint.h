/*
 * checkpoint.h - saving and restoring <run_dir>/checkpoints/step-<S>/.
 *
 * A checkpoint directory holds:
 *   - with a LoRA adapter, the Hugging Face PEFT layout: adapter_model.safetensors
 *     (base_model.model.model.layers.<l>.self_attn.q_proj.lora_A.weight (r, in),
 *     ...lora_B.weight (out, r)) and adapter_config.json;
 *   - when base tensors train (full or partial fine-tuning): model.safetensors with
 *     only the trained tensors under their Hugging Face names, and
 *     trained_tensors.json listing them;
 *   - trainer_state.safetensors: every trainable float ("weights"), the AdamW
 *     moments ("adam_m", "adam_v"), all in optimizer order, and the progress below
 *     as __metadata__ strings -- everything an exact resume needs. No wall-clock
 *     time goes into any file, so two identical runs write identical bytes.
 * It is written into checkpoints/.tmp-step-<S>/ and renamed into place, so a
 * directory named step-<S> is always complete.
 *
 * Errors: functions return 0 / a status and append one message to *err; nothing
 * here prints or exits.
 *
 * Ownership: everything passed in is borrowed.
 */
#ifndef MAINLINE_TRAINER_CHECKPOINT_H
#define MAINLINE_TRAINER_CHECKPOINT_H

#include <stdint.h>

#include "train_config.h"
#include "lora.h"
#include "model.h"
#include "optim.h"
#include "strbuf.h"
#include "trainable.h"

#define CHECKPOINT_STATE_FILE "trainer_state.safetensors"

/* Where a run is, besides its weights and moments: what a resume restores. */
struct train_progress {
    long step;             /* optimizer steps done */
    long epoch;            /* epoch of the next step (0-based) */
    uint64_t epoch_rng;    /* shuffle stream before that epoch's permutation was drawn */
    uint64_t dropout_rng;  /* the LoRA dropout stream */
    long tokens;           /* input tokens trained on so far */
    double best_nll;       /* lowest validation NLL so far (NaN before any) */
    long best_step;        /* its step (0 before any) */
    /* the progress report under way (loss and tokens since the last report) */
    double win_loss_sum;
    long win_loss_count, win_tokens;
};

/* What one checkpoint saves. */
struct checkpoint_content {
    const struct train_config *cfg;
    const struct model *m;           /* the trained base tensors are read from it */
    const struct trainable *tr;      /* NULL: no base tensor trains */
    const struct lora *lo;           /* NULL: no adapter */
    const struct param_seg *segs;    /* every trainable float, in optimizer order */
    size_t n_segs;
    const struct adamw *opt;
    double val_nll;                  /* of exactly these weights (NaN: no validation set) */
    long val_tokens;
};

enum checkpoint_status {
    CHECKPOINT_OK,
    CHECKPOINT_UNREADABLE,     /* missing or damaged files */
    CHECKPOINT_MISMATCH,       /* made by a run with other parameters or shapes */
};

/* Write checkpoints/step-<pr->step>/ under run_dir; *bytes = its files' total size. */
int checkpoint_save(const char *run_dir, const struct checkpoint_content *c,
                    const struct train_progress *pr, long *bytes, struct strbuf *err);

/* The newest complete checkpoint (its state file is there) with step < below (below
 * <= 0: any), or 0 when there is none. */
long checkpoint_newest(const char *run_dir, long below);

/* Restore the trainable floats, the moments and *pr from checkpoint `step`. */
enum checkpoint_status checkpoint_load(const char *run_dir, long step, const char *params_sha256,
                                       const struct param_seg *segs, size_t n_segs,
                                       struct adamw *opt, struct train_progress *pr,
                                       struct strbuf *err);

/* After checkpoint `just` was written: delete the ones `keep` does not keep (best =
 * lowest validation NLL, the earliest on ties; last = newest). `just` always stays. */
int checkpoint_retain(const char *run_dir, enum keep_policy keep, long just, struct strbuf *err);

/* Remove unfinished temporary directories, and with `all` every checkpoint too (a
 * fresh start in a run directory that has old ones). */
void checkpoint_clean(const char *run_dir, int all);

#endif
