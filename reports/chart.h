/*
 * chart.h - the arithmetic of the report's charts, apart from any markup: round
 * axis ticks (1-2-5 steps) inside an axis range, and the range itself (the data
 * padded, never past what the quantity can be: an accuracy in [0, 1], an NLL at or
 * above 0), on a linear or a log axis. Pure functions, unit-tested
 * (tests/unit/test_chart.c).
 */
#ifndef MAINLINE_CHART_H
#define MAINLINE_CHART_H

#define CHART_MAX_TICKS 16

struct chart_ticks {
    int n;                           /* how many ticks, ascending in v */
    double v[CHART_MAX_TICKS];
    double step;                     /* 1, 2 or 5 times a power of ten */
    int decimals;                    /* digits after the point a label needs */
};

/* Round ticks inside [lo, hi] (swapped if given the wrong way round): multiples of
 * the smallest 1-2-5 step that gives at most `target` ticks (3 <= target <=
 * CHART_MAX_TICKS), stepping down while fewer than 2 fit (then more may show). Returns t->n (0 for a
 * non-finite range; 1 for lo == hi: the tick is lo itself). */
int chart_ticks(double lo, double hi, int target, struct chart_ticks *t);

/* The axis range for data in [dmin, dmax]: padded by `pad` of its span (or by
 * `min_span` / 2 each side when the span is smaller), then clamped to [floor,
 * ceil] (pass -INFINITY / INFINITY for no bound). */
void chart_range(double dmin, double dmax, double pad, double min_span, double floor_,
                 double ceil_, double *lo, double *hi);

/* Ticks for a log axis over [lo, hi] (0 < lo < hi, swapped if given the wrong way
 * round): 1, 2 and 5 times the powers of ten inside the range when at most `target`
 * of them fit, else 1 and 3 times, else the powers of ten alone (every k-th decade
 * when even those are too many), else, when fewer than 2 land inside, the linear ticks of chart_ticks().
 * t->step is 0 for log ticks; t->decimals the digits the smallest tick needs.
 * Returns t->n (0 for a range not above 0 or not finite). */
int chart_log_ticks(double lo, double hi, int target, struct chart_ticks *t);

/* A log axis pays for the harder reading when the data spans more than this factor
 * (largest over smallest, both above 0): the report draws NLL and train loss on a
 * log scale then, linearly otherwise. */
#define CHART_LOG_RATIO 10.0
int chart_wants_log(double dmin, double dmax);

/* chart_range() for a log axis: [dmin, dmax] (both > 0) widened by `pad` of its
 * span in decades each side. */
void chart_log_range(double dmin, double dmax, double pad, double *lo, double *hi);

#endif
