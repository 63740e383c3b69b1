/* parallel.c - the model's worker team (see parallel.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "error.h"
#include "parallel.h"

void openblas_set_num_threads(int n);

/* Polling rounds (a pause instruction each, ~10 us in all) before a waiting thread
 * sleeps: long enough to catch the next kernel of a step, short enough not to
 * burn a core another process could use while this one is descheduled. */
enum { SPIN_ROUNDS = 256 };

static int n_threads = 1;       /* parts of the next par_run */
static int n_workers;           /* threads started so far (parts 1..n_workers) */
static pthread_t workers[PAR_MAX_THREADS];

static void (*job_fn)(void *, int, int);
static void *job_ctx;
static atomic_int job_parts;
static atomic_ulong generation;     /* bumped once per par_run */
static atomic_int pending;          /* worker parts of the current job not yet done */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;
static int sleepers;                /* workers waiting on wake, under mu */
static atomic_int caller_sleeping;  /* the caller waits on done */

static _Thread_local int in_part;
static _Thread_local float *scratch;
static _Thread_local size_t scratch_n;

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static unsigned long wait_for_job(unsigned long seen)
{
    unsigned long g;
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        g = atomic_load(&generation);
        if (g != seen)
            return g;
        cpu_relax();
    }
    pthread_mutex_lock(&mu);
    sleepers++;
    while ((g = atomic_load(&generation)) == seen)
        pthread_cond_wait(&wake, &mu);
    sleepers--;
    pthread_mutex_unlock(&mu);
    return g;
}

static void *worker_main(void *arg)
{
    int part = (int)(intptr_t)arg;
    unsigned long seen = 0;
    in_part = 1;
    for (;;) {
        seen = wait_for_job(seen);
        if (part < job_parts) {
            job_fn(job_ctx, part, job_parts);
            if (atomic_fetch_sub(&pending, 1) == 1 && atomic_load(&caller_sleeping)) {
                pthread_mutex_lock(&mu);
                pthread_cond_signal(&done);
                pthread_mutex_unlock(&mu);
            }
        }
    }
    return NULL;
}

/* The caller, after its own part: until every worker part is done. */
static void wait_for_parts(void)
{
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        if (atomic_load(&pending) == 0)
            return;
        cpu_relax();
    }
    pthread_mutex_lock(&mu);
    atomic_store(&caller_sleeping, 1);
    while (atomic_load(&pending) > 0)
        pthread_cond_wait(&done, &mu);
    atomic_store(&caller_sleeping, 0);
    pthread_mutex_unlock(&mu);
}

int par_set_threads(int n)
{
    n = n < 1 ? 1 : n > PAR_MAX_THREADS ? PAR_MAX_THREADS : n;
    openblas_set_num_threads(1);
    for (; n_workers < n - 1; n_workers++) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&workers[n_workers], &attr, worker_main,
                                (void *)(intptr_t)(n_workers + 1));
        pthread_attr_destroy(&attr);
        if (rc != 0)
            break;
    }
    n_threads = n < n_workers + 1 ? n : n_workers + 1;
    return n_threads == n ? 0 : -1;
}

int par_threads(void)
{
    return n_threads;
}

void par_run(void (*fn)(void *ctx, int part, int nparts), void *ctx)
{
    if (n_threads == 1 || in_part) {
        fn(ctx, 0, 1);
        return;
    }
    job_fn = fn;
    job_ctx = ctx;
    job_parts = n_threads;
    atomic_store(&pending, n_threads - 1);
    atomic_fetch_add(&generation, 1);   /* publishes the job (seq_cst) */
    pthread_mutex_lock(&mu);
    if (sleepers)
        pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&mu);
    in_part = 1;
    fn(ctx, 0, n_threads);
    in_part = 0;
    wait_for_parts();
}

void par_split(long n, long align, int part, int nparts, long *lo, long *hi)
{
    long units = (n + align - 1) / align;   /* chunks of `align` */
    long a = units * part / nparts, b = units * (part + 1) / nparts;
    *lo = a * align < n ? a * align : n;
    *hi = b * align < n ? b * align : n;
}

struct for_ctx {
    long n, align;
    void (*body)(void *, long, long);
    void *ctx;
};

static void for_part(void *p, int part, int nparts)
{
    const struct for_ctx *f = p;
    long lo, hi;
    par_split(f->n, f->align, part, nparts, &lo, &hi);
    if (lo < hi)
        f->body(f->ctx, lo, hi);
}

void par_for(long n, long align, void (*body)(void *ctx, long lo, long hi), void *ctx)
{
    struct for_ctx f = { n, align < 1 ? 1 : align, body, ctx };
    if (n <= 0)
        return;
    par_run(for_part, &f);
}

float *par_scratch(size_t n)
{
    if (n > scratch_n) {
        free(scratch);
        scratch = xmalloc(n * sizeof(float));
        scratch_n = n;
    }
    return scratch;
}
