/*
 * pool.c - the thread pool of pool.h.
 *
 * A job is (generation, fn, arg, n). The claim word packs the generation (high
 * 32 bits) with the next unclaimed chunk (low 32), and a thread claims a chunk
 * with a compare-and-swap that also checks the generation: a helper that wakes
 * up late, holding an old job's fn, can never claim a chunk of a newer job. The
 * caller returns when `done` reaches n, whoever ran the chunks.
 *
 * Decoding calls pool_run a few dozen times per step, each for tens of
 * microseconds of work, so a helper first polls for a new job a short while
 * before it sleeps on a condition variable (waking a sleeping thread costs about
 * as much as the work). The poll is short (SPIN_POLLS pause instructions, about
 * 10 us on recent Intel cores): on a shared machine a spinning helper takes CPU
 * from the caller, whose group's share of the cores is fixed (autogroup
 * scheduling); longer polls measured slower.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "error.h"
#include "pool.h"

#define SPIN_POLLS 200

struct pool {
    int threads;                  /* the caller + started helpers */
    pthread_t *th;                /* (threads - 1) */
    pthread_mutex_t mu;
    pthread_cond_t go;            /* a new job or quit (helpers wait) */
    pthread_cond_t fin;           /* the last chunk is done (the caller waits) */
    uint32_t gen;                 /* the current job's generation; atomic */
    uint64_t claim;               /* gen << 32 | next chunk; atomic */
    int done;                     /* chunks finished; atomic */
    int quit;                     /* atomic */
    pool_fn *fn;                  /* the job, under mu */
    void *arg;
    int n;
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* The next chunk of job `gen`, or -1 when it has none left (or is over). */
static int claim_chunk(struct pool *p, uint32_t gen, int n)
{
    uint64_t c = __atomic_load_n(&p->claim, __ATOMIC_ACQUIRE);
    for (;;) {
        if ((uint32_t)(c >> 32) != gen || (int)(uint32_t)c >= n)
            return -1;
        if (__atomic_compare_exchange_n(&p->claim, &c, c + 1, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return (int)(uint32_t)c;
    }
}

/* Run chunks of job `gen` until none is left. */
static void work(struct pool *p, uint32_t gen, pool_fn *fn, void *arg, int n)
{
    int c;
    while ((c = claim_chunk(p, gen, n)) >= 0) {
        fn(arg, c);
        if (__atomic_add_fetch(&p->done, 1, __ATOMIC_ACQ_REL) == n) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->fin);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static void *helper_main(void *arg)
{
    struct pool *p = arg;
    uint32_t seen = 0;
    for (;;) {
        for (int i = 0; i < SPIN_POLLS; i++) {
            if (__atomic_load_n(&p->gen, __ATOMIC_ACQUIRE) != seen ||
                __atomic_load_n(&p->quit, __ATOMIC_ACQUIRE))
                break;
            cpu_relax();
        }
        pthread_mutex_lock(&p->mu);
        while (__atomic_load_n(&p->gen, __ATOMIC_ACQUIRE) == seen &&
               !__atomic_load_n(&p->quit, __ATOMIC_ACQUIRE))
            pthread_cond_wait(&p->go, &p->mu);
        if (p->quit) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = p->gen;
        pool_fn *fn = p->fn;
        void *fa = p->arg;
        int n = p->n;
        pthread_mutex_unlock(&p->mu);
        work(p, seen, fn, fa, n);
    }
}

struct pool *pool_new(int threads)
{
    struct pool *p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->fin, NULL);
    p->threads = 1;
    if (threads > 1)
        p->th = xcalloc((size_t)threads - 1, sizeof(*p->th));
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&p->th[t - 1], NULL, helper_main, p) != 0)
            break;   /* fewer threads: the started ones number threads - 1 */
        p->threads++;
    }
    return p;
}

void pool_free(struct pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    __atomic_store_n(&p->quit, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int t = 1; t < p->threads; t++)
        pthread_join(p->th[t - 1], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->fin);
    free(p->th);
    free(p);
}

int pool_threads(const struct pool *p)
{
    return p ? p->threads : 1;
}

void pool_run(struct pool *p, pool_fn *fn, void *arg, int n)
{
    if (!p || p->threads == 1 || n == 1) {
        for (int c = 0; c < n; c++)
            fn(arg, c);
        return;
    }
    pthread_mutex_lock(&p->mu);
    uint32_t gen = p->gen + 1;
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    __atomic_store_n(&p->done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->claim, (uint64_t)gen << 32, __ATOMIC_RELEASE);
    __atomic_store_n(&p->gen, gen, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    work(p, gen, fn, arg, n);
    for (int i = 0; i < SPIN_POLLS && __atomic_load_n(&p->done, __ATOMIC_ACQUIRE) < n; i++)
        cpu_relax();
    pthread_mutex_lock(&p->mu);
    while (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) < n)
        pthread_cond_wait(&p->fin, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
