/*
 * worker.c - the gradient work of an optimizer step, on one thread or data
 * parallel over the thread team (see worker.h).
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "parallel.h"
#include "rng.h"
#include "worker.h"

struct worker {
    /* what the micro-steps use: worker 0 points at the trainer's own, the others
     * at the own_ fields below */
    struct model_acts *acts;
    struct batch *batch;
    struct lora *lora;          /* NULL without an adapter */
    struct model *grads;        /* NULL when no base tensor trains */
    struct param_seg *segs;     /* the trainer's segments with this worker's gradients */

    struct model_acts own_acts;
    struct batch own_batch;
    struct lora own_lora;       /* lora_replica_init() of the trainer's */
    struct model own_grads;

    /* one step: the share, and what came of it */
    const size_t *idx;
    size_t n;
    double sum;
    long tokens;
    enum train_status st;
    struct strbuf err;
};

/* Forward, loss and backward of train examples idx[0..k) on worker w (gradients
 * accumulate); adds their NLL sum to *sum. */
static enum train_status micro_step(struct trainer *t, struct worker *w, const size_t *idx,
                                    int k, long total, double *sum, struct strbuf *err)
{
    struct batch *b = w->batch;
    batch_fill(b, &t->train, idx, k, t->pad_id);
    int N = b->cur_B * b->cur_T, V = t->model.cfg.vocab_size;
    float *logits = w->acts->logits;
    struct loss_sum ls = { 0, 0 };
    /* the head runs on the loss's positions only: logits and dlogits are packed */
    if (model_forward_masked(&t->model, w->lora, b->tokens, b->cur_B, b->cur_T, b->mask,
                             w->acts) < 0 ||
        sft_loss_forward_packed(&ls, logits, b->targets, b->mask, N, V) < 0) {
        sb_addf(err, "forward of a %d x %d batch failed", b->cur_B, b->cur_T);
        return TRAIN_FAILED;
    }
    *sum += ls.sum;
    /* dlogits overwrite the logits: the backward reads only dlogits and the caches */
    sft_loss_backward_packed(logits, logits, b->targets, b->mask, N, V, total);
    if (model_backward(&t->model, w->lora, t->mask, w->acts, logits, w->grads) < 0) {
        sb_adds(err, "backward failed");
        return TRAIN_FAILED;
    }
    return TRAIN_OK;
}

/* Every micro-batch of w's share, in order. */
static enum train_status run_share(struct trainer *t, struct worker *w, long total,
                                   struct strbuf *err)
{
    size_t mb = (size_t)t->cfg->micro_batch_size;
    enum train_status st = TRAIN_OK;
    w->sum = 0;
    w->tokens = 0;
    if (w->lora)
        w->lora->training = 1;
    for (size_t i = 0; i < w->n && st == TRAIN_OK; i += mb) {
        int k = (int)(w->n - i < mb ? w->n - i : mb);
        st = trainer_stopping(t) ? TRAIN_CANCELLED
                                 : micro_step(t, w, w->idx + i, k, total, &w->sum, err);
        if (st == TRAIN_OK)
            w->tokens += w->batch->n_tokens;
    }
    if (w->lora)
        w->lora->training = 0;
    return st;
}

/* ---- the workers ---- */

/* p's place in the trainer's gradient buffers, moved to worker w's. */
static float *own_grad(const struct trainer *t, const struct worker *w, float *g)
{
    if (t->lora && g >= t->lo.grads && g < t->lo.grads + t->lo.n_params)
        return w->own_lora.grads + (g - t->lo.grads);
    return w->own_grads.slab + (g - t->grads.slab);
}

/* Worker 0: the trainer's own buffers. */
static struct worker trainer_worker(struct trainer *t)
{
    return (struct worker){ .acts = &t->acts, .batch = &t->batch, .lora = t->lora,
                            .grads = t->mask ? &t->grads : NULL, .segs = t->segs };
}

/* Worker i of n: worker 0 uses the trainer's own buffers, the others their own.
 * 0, or -1 with a message when the activations cannot be allocated for this shape
 * (what was set up is freed by workers_free). */
static int worker_init(struct trainer *t, struct worker *w, int i, int n, struct strbuf *err)
{
    *w = trainer_worker(t);
    if (i == 0)
        return 0;
    if (t->lora) {
        lora_replica_init(&w->own_lora, t->lora);
        w->lora = &w->own_lora;
    }
    if (t->mask) {
        model_alloc(&w->own_grads, &t->model.cfg);
        w->grads = &w->own_grads;
    }
    long share = (t->cfg->batch_size + n - 1) / n;
    int B = (int)(share < t->cfg->micro_batch_size ? share : t->cfg->micro_batch_size);
    if (model_acts_alloc(&w->own_acts, &t->model.cfg, w->lora, B, t->batch.T) < 0) {
        sb_addf(err, "cannot allocate a worker's activations for %d x %d tokens", B, t->batch.T);
        return -1;
    }
    batch_alloc(&w->own_batch, B, t->batch.T);
    w->acts = &w->own_acts;
    w->batch = &w->own_batch;
    w->segs = xcalloc(t->n_segs ? t->n_segs : 1, sizeof(*w->segs));
    for (size_t s = 0; s < t->n_segs; s++)
        w->segs[s] = (struct param_seg){ t->segs[s].p, own_grad(t, w, t->segs[s].g),
                                         t->segs[s].n };
    return 0;
}

void workers_free(struct trainer *t)
{
    for (int i = 1; i < t->n_workers; i++) {
        struct worker *w = &t->workers[i];
        model_acts_free(&w->own_acts);
        batch_free(&w->own_batch);
        lora_replica_free(&w->own_lora);
        model_free(&w->own_grads);
        free(w->segs);
    }
    for (int i = 0; i < t->n_workers; i++)
        sb_free(&t->workers[i].err);
    free(t->workers);
    t->workers = NULL;
    t->n_workers = 0;
}

/* n workers, made once. 0, or -1 with a message (and no workers). */
static int workers_ensure(struct trainer *t, int n, struct strbuf *err)
{
    if (t->n_workers == n)
        return 0;
    workers_free(t);
    t->workers = xcalloc((size_t)n, sizeof(*t->workers));
    t->n_workers = n;
    for (int i = 0; i < n; i++) {
        if (worker_init(t, &t->workers[i], i, n, err) < 0) {
            workers_free(t);
            return -1;
        }
    }
    return 0;
}

/* ---- a data-parallel step ---- */

struct dp_job {
    struct trainer *t;
    long total;
};

static void run_part(void *p, int part, int nparts)
{
    (void)nparts;
    struct dp_job *j = p;
    struct worker *w = &j->t->workers[part];
    sb_reset(&w->err);
    w->st = w->n ? run_share(j->t, w, j->total, &w->err) : TRAIN_OK;
}

/* Worker i's gradients of segment s, for the sum. */
struct sum_job {
    const struct trainer *t;
    size_t seg;
};

static void sum_range(void *p, long lo, long hi)
{
    const struct sum_job *j = p;
    const struct trainer *t = j->t;
    float *g = t->segs[j->seg].g;
    for (int i = 1; i < t->n_workers; i++) {
        const float *gi = t->workers[i].segs[j->seg].g;
        for (long x = lo; x < hi; x++)
            g[x] += gi[x];
    }
}

static void sum_gradients(struct trainer *t)
{
    for (size_t s = 0; s < t->n_segs; s++) {
        struct sum_job j = { t, s };
        par_for((long)t->segs[s].n, 16, sum_range, &j);
    }
}

static enum train_status data_parallel(struct trainer *t, const size_t *idx, size_t n,
                                       long total, double *sum, long *tokens,
                                       struct strbuf *err)
{
    int nw = par_threads();
    if (workers_ensure(t, nw, err) < 0)
        return TRAIN_FAILED;
    uint64_t stream = t->lora ? t->lo.rng : 0;
    for (int i = 0; i < nw; i++) {
        struct worker *w = &t->workers[i];
        size_t lo = n * (size_t)i / (size_t)nw, hi = n * (size_t)(i + 1) / (size_t)nw;
        w->idx = idx + lo;
        w->n = hi - lo;
        if (i > 0)
            grad_zero(w->segs, t->n_segs);
        if (w->lora) {
            uint64_t s = stream ^ (0x632BE59BD9B4E019ull * (uint64_t)(i + 1));
            w->lora->rng = rng_next(&s);
        }
    }
    struct dp_job j = { t, total };
    par_run(run_part, &j);
    if (t->lora) {
        rng_next(&stream);
        t->lo.rng = stream;
    }
    *sum = 0;
    *tokens = 0;
    for (int i = 0; i < nw; i++) {
        struct worker *w = &t->workers[i];
        if (w->st != TRAIN_OK) {
            if (w->err.len)
                sb_adds(err, w->err.buf);
            return w->st;
        }
        *sum += w->sum;
        *tokens += w->tokens;
    }
    sum_gradients(t);
    return TRAIN_OK;
}

/* ---- the step ---- */

enum train_status step_gradients(struct trainer *t, const size_t *idx, size_t n, long total,
                                 double *sum, long *tokens, struct strbuf *err)
{
    if (par_threads() > 1 && n >= 2)
        return data_parallel(t, idx, n, total, sum, tokens, err);
    struct worker w0 = trainer_worker(t);
    w0.idx = idx;
    w0.n = n;
    enum train_status st = run_share(t, &w0, total, err);
    *sum = w0.sum;
    *tokens = w0.tokens;
    return st;
}
