/*
 * pool.h - a tiny persistent thread pool for splitting one piece of work into
 * chunks: pool_run(p, fn, arg, n) calls fn(arg, chunk) once for every chunk in
 * 0..n-1, on the calling thread and on the pool's threads, and returns when all
 * have returned. Nothing is queued: one job at a time, from one calling thread.
 *
 * Chunks are claimed one at a time from a shared counter, so which thread runs
 * which chunk is not defined: callers make each chunk's result depend only on
 * the chunk and the inputs (the decoder's chunks are output columns, so every
 * element is computed the same way whatever thread computes it). Claiming also
 * means a helper thread that the OS has not scheduled does not hold the job up:
 * the caller takes the chunks it has not claimed (the machine may be shared).
 *
 * Errors: pool_new() starts as many threads as it can; when pthread_create fails
 * the pool simply has fewer (pool_threads() says how many run jobs), at least 1.
 *
 * Ownership: pool_new() returns a pool that pool_free() stops and releases;
 * pool_free(NULL) does nothing. A NULL pool is valid everywhere and runs
 * everything on the caller.
 */
#ifndef MAINLINE_POOL_H
#define MAINLINE_POOL_H

struct pool;

typedef void pool_fn(void *arg, int chunk);

/* A pool of `threads` threads: the caller's and threads - 1 others. */
struct pool *pool_new(int threads);
void pool_free(struct pool *p);

/* Threads that run a job, the caller's included: 1 for NULL. */
int pool_threads(const struct pool *p);

/* fn(arg, chunk) for every chunk in 0..n-1; returns when all are done. */
void pool_run(struct pool *p, pool_fn *fn, void *arg, int n);

#endif
