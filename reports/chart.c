/*
 * chart.c - round ticks and axis ranges for the report's charts (chart.h). No
 * markup here: report_html.c draws.
 */
#include <math.h>

#include "chart.h"

/* The 1-2-5 step k places from the decade 10^e: k = 0, 1, 2 are 1, 2, 5 x 10^e. */
static double step_at(int e, int k)
{
    static const double mant[] = { 1, 2, 5 };
    int q = k >= 0 ? k / 3 : -((-k + 2) / 3);
    return mant[k - 3 * q] * pow(10, e + q);
}

static int fill(double lo, double hi, double step, struct chart_ticks *t)
{
    double eps = step * 1e-9;
    double first = ceil((lo - eps) / step), last = floor((hi + eps) / step);
    t->n = 0;
    t->step = step;
    for (double k = first; k <= last && t->n < CHART_MAX_TICKS; k++) {
        double v = k * step;
        t->v[t->n++] = v == 0 ? 0 : v;   /* no -0 */
    }
    return last >= first ? (int)(last - first + 1) : 0;
}

int chart_ticks(double lo, double hi, int target, struct chart_ticks *t)
{
    t->n = 0;
    t->step = 0;
    t->decimals = 0;
    if (!isfinite(lo) || !isfinite(hi))
        return 0;
    if (lo > hi) {
        double s = lo;
        lo = hi;
        hi = s;
    }
    if (target < 3)
        target = 3;
    if (target > CHART_MAX_TICKS)
        target = CHART_MAX_TICKS;
    if (hi == lo) {
        t->n = 1;
        t->v[0] = lo;
        t->decimals = 4;
        return 1;
    }
    /* the smallest step giving at most `target` ticks, searched up from below */
    double raw = (hi - lo) / (target - 1);
    int e = (int)floor(log10(raw)) - 1, k = 0;
    while (fill(lo, hi, step_at(e, k), t) > target)
        k++;
    while (t->n < 2 && k > -30)   /* a short range between two round numbers */
        fill(lo, hi, step_at(e, --k), t);
    int d = (int)-floor(log10(t->step) + 1e-9);
    t->decimals = d > 0 ? d : 0;
    return t->n;
}

void chart_range(double dmin, double dmax, double pad, double min_span, double floor_,
                 double ceil_, double *lo, double *hi)
{
    if (dmin > dmax) {
        double s = dmin;
        dmin = dmax;
        dmax = s;
    }
    double span = dmax - dmin, p = span * pad;
    if (span < min_span)
        p = (min_span - span) / 2;
    *lo = dmin - p;
    *hi = dmax + p;
    if (*lo < floor_)
        *lo = floor_;
    if (*hi > ceil_)
        *hi = ceil_;
}
