/*
 * parallel.h - the model's own worker threads: a fixed team that runs one function
 * on every part of a split and returns when all parts are done (fork-join, no
 * allocation per call).
 *
 * Why not OpenBLAS's threads: most of a training step is small products and
 * per-row loops that OpenBLAS cannot split well (a 2048 x 64 x 64 product runs
 * slower on two of its threads than on one) and per-row kernels it never sees.
 * With par_set_threads(n > 1) every kernel of ops.c splits its rows (or columns)
 * over n parts and each part calls a single-threaded cblas_sgemm, so one team of
 * threads does everything and nothing is oversubscribed.
 *
 * Determinism: a split depends only on the size and the thread count, and no part
 * reduces into another's outputs, so the same inputs and the same thread count give
 * bitwise the same results. With one thread (the default) every kernel runs inline
 * on the caller, and BLAS keeps the thread count the caller gave OpenBLAS.
 *
 * Workers poll briefly after a part (the next call usually comes within
 * microseconds), then sleep on a condition variable; so does the caller waiting for
 * them. A par_run() from inside a part runs inline as a single part. With more than
 * one thread, only one thread at a time may call par_run() (the team has one job
 * slot): the trainer calls kernels from its main thread only.
 *
 * Ownership: the team is process-wide and lives until exit; par_scratch() returns
 * a per-thread buffer owned by this module.
 */
#ifndef MAINLINE_PARALLEL_H
#define MAINLINE_PARALLEL_H

#include <stddef.h>

#define PAR_MAX_THREADS 64

/* Use n threads (the caller included) for every later par_run(); n is clamped to
 * 1..PAR_MAX_THREADS. Sets OpenBLAS to one thread: the parts are the parallelism.
 * Not to be called from inside a part. Returns 0, or -1 when not every thread
 * could be started: the ones that did are used (par_threads() says how many). */
int par_set_threads(int n);
int par_threads(void);

/* fn(ctx, part, nparts) for part 0..nparts-1, part 0 on the caller; returns when
 * every part has returned. nparts is par_threads(), or 1 inside a part. */
void par_run(void (*fn)(void *ctx, int part, int nparts), void *ctx);

/* body(ctx, lo, hi) over contiguous chunks covering [0, n): one chunk per part,
 * chunk boundaries multiples of `align` (>= 1) except the end. */
void par_for(long n, long align, void (*body)(void *ctx, long lo, long hi), void *ctx);

/* [*lo, *hi) of part `part` of nparts chunks of [0, n), boundaries multiples of align. */
void par_split(long n, long align, int part, int nparts, long *lo, long *hi);

/* A buffer of at least n floats private to the calling thread (contents undefined),
 * valid until this thread's next par_scratch() call. */
float *par_scratch(size_t n);

#endif
