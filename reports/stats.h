/*
 * stats.h - the statistics behind `mainline select`: summaries over seeds, the
 * exact McNemar test on paired right/wrong answers, and a seeded paired bootstrap
 * over seeds and examples.
 *
 * Pure functions of their arguments: no I/O, no globals, no allocation visible to
 * the caller (the bootstrap allocates and frees its own scratch). Same input, same
 * output, bit for bit, on every run.
 */
#ifndef MAINLINE_STATS_H
#define MAINLINE_STATS_H

#include <stddef.h>
#include <stdint.h>

/* mean, min, max and range (max - min) of n values; all zero when n == 0. */
struct stats_summary {
    size_t n;
    double mean, min, max, range;
};
void stats_summarize(const double *v, size_t n, struct stats_summary *out);

/*
 * Exact two-sided McNemar test: b pairs where only A was right, c where only B
 * was. Under "no difference" the b + c discordant pairs split Binomial(b + c, 1/2);
 * the p-value is min(1, 2 * P(X <= min(b, c))). 1 when b + c == 0.
 */
double stats_mcnemar_exact(int64_t b, int64_t c);

/* splitmix64: a small, well-mixed generator whose sequence is fixed by its seed. */
uint64_t stats_rng_next(uint64_t *state);
/* Uniform integer in [0, n), n >= 1 (Lemire's multiply, no modulo bias worth naming). */
size_t stats_rng_below(uint64_t *state, size_t n);

/*
 * Paired bootstrap of the mean gap between A and B. groups[g] holds n[g] paired
 * differences (A right - B right: -1, 0 or +1) of replicate g (a seed); the
 * statistic is the mean over groups of the mean difference within a group. Each
 * of `samples` resamples draws groups with replacement and, inside each drawn
 * group, examples with replacement. The interval is the percentile one:
 * sorted[floor(a/2 * samples)] and sorted[ceil((1 - a/2) * samples) - 1].
 * Returns 0, or -1 when there is nothing to resample (no group, or an empty one).
 */
struct stats_bootstrap {
    double observed, lo, hi;   /* lo/hi: the (1 - alpha) interval */
    double alpha;
    size_t samples;
    uint64_t seed;
};
int stats_paired_bootstrap(const int8_t *const *groups, const size_t *n, size_t n_groups,
                           size_t samples, uint64_t seed, double alpha,
                           struct stats_bootstrap *out);

/*
 * The same over replicates alone, for a metric with one value per run (a trainer's
 * validation NLL): diff[g] is A - B on replicate g; each resample draws n
 * replicates with replacement and takes their mean. Same interval, same generator.
 * Returns 0, or -1 when n == 0.
 */
int stats_seed_bootstrap(const double *diff, size_t n, size_t samples, uint64_t seed,
                         double alpha, struct stats_bootstrap *out);

#endif
