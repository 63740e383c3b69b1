/* optim.c - AdamW, the LR schedule and gradient clipping (see optim.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "optim.h"

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

void adamw_step(struct adamw *o, const struct param_seg *segs, size_t n_segs, double lr)
{
    o->t++;
    double b1 = o->beta1, b2 = o->beta2;
    double bc1 = 1.0 - pow(b1, (double)o->t), bc2 = 1.0 - pow(b2, (double)o->t);
    double decay = 1.0 - lr * o->weight_decay, step = lr / bc1, rbc2 = 1.0 / sqrt(bc2);
    size_t k = 0;
    for (size_t s = 0; s < n_segs; s++) {
        float *p = segs[s].p;
        const float *g = segs[s].g;
        for (size_t i = 0; i < segs[s].n; i++, k++) {
            double gi = g[i];
            double m = b1 * (double)o->m[k] + (1.0 - b1) * gi;
            double v = b2 * (double)o->v[k] + (1.0 - b2) * gi * gi;
            o->m[k] = (float)m;
            o->v[k] = (float)v;
            p[i] = (float)((double)p[i] * decay - step * m / (sqrt(v) * rbc2 + o->eps));
        }
    }
}

double grad_norm(const struct param_seg *segs, size_t n_segs)
{
    double sum = 0;
    for (size_t s = 0; s < n_segs; s++)
        for (size_t i = 0; i < segs[s].n; i++)
            sum += (double)segs[s].g[i] * (double)segs[s].g[i];
    return sqrt(sum);
}

double grad_clip(const struct param_seg *segs, size_t n_segs, double norm, double clip)
{
    if (!(clip > 0) || !(norm > clip))
        return 1.0;
    double scale = clip / (norm + 1e-6);
    float f = (float)scale;
    for (size_t s = 0; s < n_segs; s++)
        for (size_t i = 0; i < segs[s].n; i++)
            segs[s].g[i] *= f;
    return scale;
}
