/* estimate.c - training tokens and steps of a run before it runs (see estimate.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "estimate.h"

static long param_long(const json_t *params, const char *key, long def)
{
    const json_t *v = json_object_get(params, key);
    return json_is_integer(v) ? (long)json_integer_value(v) : def;
}

void estimate_run(const json_t *params, const struct data_stats *st, long model_max_seq_len,
                  struct run_estimate *out)
{
    memset(out, 0, sizeof(*out));
    long rows = param_long(params, "train_rows", 0);
    long n = rows > 0 && (size_t)rows < st->rows ? rows : (long)st->rows;
    long batch = param_long(params, "batch_size", 8);
    long max_steps = param_long(params, "max_steps", 0);
    long epochs = param_long(params, "epochs", max_steps ? 0 : 1);
    long max_len = param_long(params, "max_seq_len", model_max_seq_len);
    long per_epoch = (n + batch - 1) / batch;
    long steps = epochs ? epochs * per_epoch : max_steps;
    if (max_steps && max_steps < steps)
        steps = max_steps;
    out->examples = n;
    out->steps = steps;
    if (!per_epoch)
        return;
    out->epochs = (double)steps / (double)per_epoch;
    double kept = (double)data_stats_kept_tokens(st, n, max_len);
    out->tokens = kept * out->epochs;
    out->positions = (kept - (double)n) * out->epochs;
}

void format_seconds(double s, char *buf, size_t len)
{
    long t = lround(s);
    if (s < 0.5)
        snprintf(buf, len, "<1s");
    else if (t >= 3600)
        snprintf(buf, len, "%ldh%02ldm", t / 3600, t % 3600 / 60);
    else if (t >= 60)
        snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, len, "%lds", t);
}
