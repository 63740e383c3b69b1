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

static int decimals_for(double v)
{
    int d = (int)-floor(log10(v) + 1e-9);
    return d > 0 ? d : 0;
}

/* The log ticks of decades e0..e1 inside [lo, hi] into v (at most CHART_MAX_TICKS
 * kept): 1, 2, 5 x 10^e for every = -1, 1 and 3 x 10^e for every = 0, else 10^e for
 * e a multiple of every. Returns how many there are, kept or not. */
static int log_fill(double lo, double hi, int e0, int e1, int every, double *v)
{
    static const double m125[] = { 1, 2, 5 }, m13[] = { 1, 3 };
    const double *mant = every < 0 ? m125 : m13;
    int n = 0, n_mant = every < 0 ? 3 : every == 0 ? 2 : 1;
    for (int e = e0; e <= e1; e++) {
        if (every > 0 && ((e % every) + every) % every)
            continue;
        for (int k = 0; k < n_mant; k++) {
            double x = mant[k] * pow(10, e);
            if (x < lo * (1 - 1e-9) || x > hi * (1 + 1e-9))
                continue;
            if (n < CHART_MAX_TICKS)
                v[n] = x;
            n++;
        }
    }
    return n;
}

int chart_log_ticks(double lo, double hi, int target, struct chart_ticks *t)
{
    t->n = 0;
    t->step = 0;
    t->decimals = 0;
    if (lo > hi) {
        double s = lo;
        lo = hi;
        hi = s;
    }
    if (!isfinite(lo) || !isfinite(hi) || lo <= 0 || hi <= lo)
        return 0;
    if (target < 2)
        target = 2;
    if (target > CHART_MAX_TICKS)
        target = CHART_MAX_TICKS;
    int e0 = (int)floor(log10(lo)) - 1, e1 = (int)ceil(log10(hi)) + 1;
    /* 1, 2 and 5 per decade, else 1 and 3, else the powers of ten, every `every`-th */
    for (int every = -1; every <= e1 - e0 + 1; every++) {
        double v[CHART_MAX_TICKS];
        int n = log_fill(lo, hi, e0, e1, every, v);
        if (n > target)
            continue;
        if (n < 2)
            break;
        for (int i = 0; i < n; i++)
            t->v[i] = v[i];
        t->n = n;
        t->decimals = decimals_for(v[0]);
        return n;
    }
    return chart_ticks(lo, hi, target, t);
}

int chart_wants_log(double dmin, double dmax)
{
    if (dmin > dmax) {
        double s = dmin;
        dmin = dmax;
        dmax = s;
    }
    return isfinite(dmin) && isfinite(dmax) && dmin > 0 && dmax > CHART_LOG_RATIO * dmin;
}

void chart_log_range(double dmin, double dmax, double pad, double *lo, double *hi)
{
    if (dmin > dmax) {
        double s = dmin;
        dmin = dmax;
        dmax = s;
    }
    double f = pow(dmax / dmin, pad);
    *lo = dmin / f;
    *hi = dmax * f;
}
