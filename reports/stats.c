/*
 * stats.c - summaries, the exact McNemar test and the paired bootstrap (stats.h).
 */
#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "stats.h"

void stats_summarize(const double *v, size_t n, struct stats_summary *out)
{
    out->n = n;
    out->mean = out->min = out->max = out->range = 0;
    if (n == 0)
        return;
    double sum = 0;
    out->min = out->max = v[0];
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
        if (v[i] < out->min)
            out->min = v[i];
        if (v[i] > out->max)
            out->max = v[i];
    }
    out->mean = sum / (double)n;
    out->range = out->max - out->min;
}

/* log C(n, k), through lgamma: exact enough (1e-13 relative) for n in the millions. */
static double log_choose(int64_t n, int64_t k)
{
    return lgamma((double)n + 1) - lgamma((double)k + 1) - lgamma((double)(n - k) + 1);
}

double stats_mcnemar_exact(int64_t b, int64_t c)
{
    int64_t n = b + c, k = b < c ? b : c;
    if (n <= 0)
        return 1.0;
    /* Sum the tail from its largest term down, each term in log space: 2^-n alone
     * underflows a double beyond n = 1074. */
    double ln2n = (double)n * log(2.0), tail = 0;
    for (int64_t i = k; i >= 0; i--)
        tail += exp(log_choose(n, i) - ln2n);
    double p = 2 * tail;
    return p > 1 ? 1.0 : p;
}

uint64_t stats_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

size_t stats_rng_below(uint64_t *state, size_t n)
{
    return (size_t)(((unsigned __int128)stats_rng_next(state) * n) >> 64);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double group_mean(const int8_t *d, size_t n)
{
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += d[i];
    return (double)sum / (double)n;
}

/* One resample: groups with replacement, then examples within each. */
static double resample(const int8_t *const *groups, const size_t *n, size_t n_groups,
                       uint64_t *rng)
{
    double total = 0;
    for (size_t g = 0; g < n_groups; g++) {
        size_t pick = stats_rng_below(rng, n_groups);
        const int8_t *d = groups[pick];
        int64_t sum = 0;
        for (size_t i = 0; i < n[pick]; i++)
            sum += d[stats_rng_below(rng, n[pick])];
        total += (double)sum / (double)n[pick];
    }
    return total / (double)n_groups;
}

/* Sort the resampled statistics and keep the percentile interval of out->alpha. */
static void percentile_interval(double *stat, struct stats_bootstrap *out)
{
    size_t samples = out->samples;
    double alpha = out->alpha;
    qsort(stat, samples, sizeof(*stat), cmp_double);
    size_t lo = (size_t)floor(alpha / 2 * (double)samples);
    size_t hi = (size_t)ceil((1 - alpha / 2) * (double)samples);
    out->lo = stat[lo < samples ? lo : samples - 1];
    out->hi = stat[hi >= 1 ? hi - 1 : 0];
}

int stats_paired_bootstrap(const int8_t *const *groups, const size_t *n, size_t n_groups,
                           size_t samples, uint64_t seed, double alpha,
                           struct stats_bootstrap *out)
{
    out->samples = samples;
    out->seed = seed;
    out->alpha = alpha;
    out->observed = out->lo = out->hi = 0;
    if (n_groups == 0 || samples == 0)
        return -1;
    double observed = 0;
    for (size_t g = 0; g < n_groups; g++) {
        if (n[g] == 0)
            return -1;
        observed += group_mean(groups[g], n[g]);
    }
    out->observed = observed / (double)n_groups;
    double *stat = xcalloc(samples, sizeof(*stat));
    uint64_t rng = seed;
    for (size_t s = 0; s < samples; s++)
        stat[s] = resample(groups, n, n_groups, &rng);
    percentile_interval(stat, out);
    free(stat);
    return 0;
}

int stats_seed_bootstrap(const double *diff, size_t n, size_t samples, uint64_t seed,
                         double alpha, struct stats_bootstrap *out)
{
    out->samples = samples;
    out->seed = seed;
    out->alpha = alpha;
    out->observed = out->lo = out->hi = 0;
    if (n == 0 || samples == 0)
        return -1;
    double sum = 0;
    for (size_t g = 0; g < n; g++)
        sum += diff[g];
    out->observed = sum / (double)n;
    double *stat = xcalloc(samples, sizeof(*stat));
    uint64_t rng = seed;
    for (size_t s = 0; s < samples; s++) {
        double total = 0;
        for (size_t g = 0; g < n; g++)
            total += diff[stats_rng_below(&rng, n)];
        stat[s] = total / (double)n;
    }
    percentile_interval(stat, out);
    free(stat);
    return 0;
}
