/*
 * report_gap.c - the one sign convention for gaps (report.h): every gap the
 * report prints is the higher mean minus the lower, the verdict's leader first, so
 * a pair stored as (a, b) with b ahead is printed as b - a.
 */
#include <string.h>

#include "report.h"

static double mean_of(const json_t *m, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(m, "conditions"), i, c)
        if (json_is_string(json_object_get(c, "condition")) &&
            !strcmp(json_string_value(json_object_get(c, "condition")), name))
            return json_number_value(json_object_get(c, "mean"));
    return 0;
}

int report_pair_reversed(const json_t *m, const json_t *pair)
{
    const char *a = json_string_value(json_object_get(pair, "a"));
    const char *b = json_string_value(json_object_get(pair, "b"));
    if (!a || !b)
        return 0;
    const char *leader = json_string_value(json_object_get(json_object_get(m, "compare"),
                                                           "leader"));
    if (leader)
        if (!strcmp(leader, a) || !strcmp(leader, b))
            return !strcmp(leader, b);
    return mean_of(m, b) > mean_of(m, a);
}

void report_gap(const json_t *m, const json_t *pair, struct report_gap *g)
{
    int rev = report_pair_reversed(m, pair);
    const json_t *bs = json_object_get(pair, "bootstrap");
    double sign = rev ? -1 : 1;
    g->first = json_string_value(json_object_get(pair, rev ? "b" : "a"));
    g->second = json_string_value(json_object_get(pair, rev ? "a" : "b"));
    g->delta = rev ? -json_integer_value(json_object_get(pair, "delta"))
                   : json_integer_value(json_object_get(pair, "delta"));
    g->has_bootstrap = json_is_object(bs);
    g->observed = sign * json_number_value(json_object_get(bs, "observed"));
    g->lo = sign * json_number_value(json_object_get(bs, rev ? "hi" : "lo"));
    g->hi = sign * json_number_value(json_object_get(bs, rev ? "lo" : "hi"));
    if (g->observed == 0)
        g->observed = 0;   /* no -0.0000 */
}
