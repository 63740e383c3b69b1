/*
 * worker.h - the gradient work of one optimizer step: the step's examples run,
 * micro_batch_size at a time, through forward, SFT loss and backward, and their
 * gradients add up in the trainer's gradient buffers.
 *
 * With one thread (par_threads() == 1) one worker, the trainer itself, runs every
 * micro-batch in order and each kernel splits over the thread team as it likes.
 * With n > 1 threads and at least two examples in the step, the step is data
 * parallel: the examples are cut into n contiguous shares, and thread i runs share
 * i's micro-batches through a whole forward and backward of its own (worker i: its
 * own activations, batch and gradient buffers; worker 0 is the trainer's own),
 * with every kernel single-threaded inside it (parallel.h runs a nested par_run
 * inline). Then the gradients of workers 1..n-1 are added into the trainer's, in
 * worker order, float by float.
 *
 * Why: at small widths the kernels are too short to split. On s260k (dim 64) a
 * kernel-parallel step on two threads was only 1.3-1.4x one thread's speed: every
 * one of a step's several hundred kernels waits for the slower half. Whole
 * micro-batches per thread synchronize once per step (README, "Trainer speed").
 *
 * Determinism: the shares, the order of the micro-batches in a share, and the
 * order of the final sums depend only on the step's examples and the thread
 * count, so the same inputs and thread count give the same bits. LoRA dropout:
 * worker i draws from its own stream, seeded from the adapter's stream at the
 * start of the step; the adapter's stream then advances by one draw (so a resumed
 * run replays it from the checkpointed state).
 *
 * Errors: an enum train_status, with one message appended to *err.
 *
 * Ownership: the workers belong to the trainer (t->workers), built on the first
 * data-parallel step and released by workers_free() (trainer_free calls it).
 */
#ifndef MAINLINE_TRAINER_WORKER_H
#define MAINLINE_TRAINER_WORKER_H

#include <stddef.h>

#include "strbuf.h"
#include "train.h"

/* Forward, loss and backward of train examples idx[0..n) (n >= 1) of one optimizer
 * step into the trainer's gradients, which the caller has zeroed; *sum is their
 * NLL sum, *tokens their non-padding positions. total is the step's loss count
 * (the loss backward divides by it). */
enum train_status step_gradients(struct trainer *t, const size_t *idx, size_t n, long total, double *sum,
                                 long *tokens, struct strbuf *err);

void workers_free(struct trainer *t);

#endif
