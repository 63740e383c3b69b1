/*
 * chart.h - the arithmetic of the report's charts, apart from any markup: round
 * axis ticks (1-2-5 steps) inside an axis range, and the range itself (the data
 * padded, never past what the quantity can be: an accuracy in [0, 1], an NLL at or
 * above 0). Pure functions, unit-tested (tests/unit/test_chart.c).
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

#endif
