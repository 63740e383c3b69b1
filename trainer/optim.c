/* optim.c - AdamW, the LR schedule and gradient clipping (see optim.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "optim.h"
#include "parallel.h"
#include "vecmath.h"

/* ---- every trainable float, split over the threads ---- */

/* The floats of every segment numbered 0..total-1 in order; part p of the
 * threads visits its contiguous range of them (parallel.h). */
struct seg_job {
    const struct param_seg *segs;
    size_t n_segs, total;
    void (*fn)(void *ctx, const struct param_seg *s, size_t i0, size_t i1, size_t k0, int part);
    void *ctx;
};

static void seg_part(void *p, int part, int nparts)
{
    const struct seg_job *j = p;
    long lo, hi;
    par_split((long)j->total, 16, part, nparts, &lo, &hi);
    size_t k = 0;
    for (size_t s = 0; s < j->n_segs && k < (size_t)hi; k += j->segs[s].n, s++) {
        size_t a = (size_t)lo > k ? (size_t)lo - k : 0;
        size_t b = (size_t)hi - k < j->segs[s].n ? (size_t)hi - k : j->segs[s].n;
        if (a < b)
            j->fn(j->ctx, &j->segs[s], a, b, k + a, part);
    }
}

/* fn over every segment's floats [i0, i1) (global index k0 of i0), split over the threads */
static void for_each_float(const struct param_seg *segs, size_t n_segs,
                           void (*fn)(void *, const struct param_seg *, size_t, size_t, size_t,
                                      int),
                           void *ctx)
{
    struct seg_job j = { segs, n_segs, 0, fn, ctx };
    for (size_t s = 0; s < n_segs; s++)
        j.total += segs[s].n;
    par_run(seg_part, &j);
}

double lr_at(const struct lr_schedule *s, long step)
{
    if (s->warmup > 0 && step <= s->warmup)
        return s->lr * (double)step / (double)s->warmup;
    long span = s->total - s->warmup;
    if (s->kind == SCHED_CONSTANT || span <= 0)
        return s->lr;
    /* the first step after the warmup is at the peak; lr_at(total + 1) is min_lr */
    double progress = (double)(step - 1 - s->warmup) / (double)span;
    if (progress > 1)
        progress = 1;
    if (s->kind == SCHED_LINEAR)
        return s->min_lr + (s->lr - s->min_lr) * (1.0 - progress);
    return s->min_lr + (s->lr - s->min_lr) * 0.5 * (1.0 + cos(M_PI * progress));
}

void adamw_init(struct adamw *o, size_t n, double beta1, double beta2, double eps,
                double weight_decay)
{
    memset(o, 0, sizeof(*o));
    o->beta1 = beta1;
    o->beta2 = beta2;
    o->eps = eps;
    o->weight_decay = weight_decay;
    o->n = n;
    o->m = xcalloc(n ? n : 1, sizeof(float));
    o->v = xcalloc(n ? n : 1, sizeof(float));
}

void adamw_free(struct adamw *o)
{
    free(o->m);
    free(o->v);
    memset(o, 0, sizeof(*o));
}

struct adamw_job {
    struct adamw *o;
    double decay, step, rbc2;
};

/* AdamW on n floats, in double. Compiled to vectorize (vecmath.h's clones; the
 * Makefile's -O3 -fno-math-errno for this file): every element's operations are
 * IEEE-rounded the same in a vector lane as in the scalar loop (no sum reassociated,
 * no multiply-add fused), so the result's bits do not depend on the clone. */
VECTOR_CLONES
static void adamw_range(float *restrict p, const float *restrict g, float *restrict m1,
                        float *restrict v1, size_t n, const struct adamw_job *j)
{
    double b1 = j->o->beta1, b2 = j->o->beta2, eps = j->o->eps;
    double decay = j->decay, step = j->step, rbc2 = j->rbc2;
    for (size_t i = 0; i < n; i++) {
        double gi = g[i];
        double m = b1 * (double)m1[i] + (1.0 - b1) * gi;
        double v = b2 * (double)v1[i] + (1.0 - b2) * gi * gi;
        m1[i] = (float)m;
        v1[i] = (float)v;
        p[i] = (float)((double)p[i] * decay - step * m / (sqrt(v) * rbc2 + eps));
    }
}

static void adamw_floats(void *ctx, const struct param_seg *seg, size_t i0, size_t i1, size_t k,
                         int part)
{
    const struct adamw_job *j = ctx;
    (void)part;
    adamw_range(seg->p + i0, seg->g + i0, j->o->m + k, j->o->v + k, i1 - i0, j);
}

void adamw_step(struct adamw *o, const struct param_seg *segs, size_t n_segs, double lr)
{
    o->t++;
    double bc1 = 1.0 - pow(o->beta1, (double)o->t), bc2 = 1.0 - pow(o->beta2, (double)o->t);
    struct adamw_job j = { o, 1.0 - lr * o->weight_decay, lr / bc1, 1.0 / sqrt(bc2) };
    for_each_float(segs, n_segs, adamw_floats, &j);
}

static void square_sum_floats(void *ctx, const struct param_seg *seg, size_t i0, size_t i1,
                              size_t k, int part)
{
    double *sums = ctx, sum = 0;
    (void)k;
    for (size_t i = i0; i < i1; i++)
        sum += (double)seg->g[i] * (double)seg->g[i];
    sums[part] += sum;
}

double grad_norm(const struct param_seg *segs, size_t n_segs)
{
    /* each part sums its range in order, then the parts add in part order: the same
     * bits for the same thread count */
    double sums[PAR_MAX_THREADS] = { 0 }, sum = 0;
    for_each_float(segs, n_segs, square_sum_floats, sums);
    for (int p = 0; p < PAR_MAX_THREADS; p++)
        sum += sums[p];
    return sqrt(sum);
}

static void scale_floats(void *ctx, const struct param_seg *seg, size_t i0, size_t i1, size_t k,
                         int part)
{
    float f = *(const float *)ctx;
    (void)k;
    (void)part;
    for (size_t i = i0; i < i1; i++)
        seg->g[i] *= f;
}

static void zero_floats(void *ctx, const struct param_seg *seg, size_t i0, size_t i1, size_t k,
                        int part)
{
    (void)ctx;
    (void)k;
    (void)part;
    memset(seg->g + i0, 0, (i1 - i0) * sizeof(float));
}

void grad_zero(const struct param_seg *segs, size_t n_segs)
{
    for_each_float(segs, n_segs, zero_floats, NULL);
}

double grad_clip(const struct param_seg *segs, size_t n_segs, double norm, double clip)
{
    if (!(clip > 0) || !(norm > clip))
        return 1.0;
    double scale = clip / (norm + 1e-6);
    float f = (float)scale;
    for_each_float(segs, n_segs, scale_floats, &f);
    return scale;
}
