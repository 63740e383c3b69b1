/*
 * estimate.h - what a run will train on, computed the way the built-in trainer
 * counts (trainer/setup.c): the first train_rows examples, ceil(n / batch_size)
 * optimizer steps per epoch, epochs (default 1; unbounded when only max_steps is
 * given), capped by max_steps. Tokens are the examples' rendered tokens cut at
 * max_seq_len (token_stats.h), times the epochs trained; a run that max_steps stops
 * inside an epoch is counted pro rata (its batches are a random share of the
 * epoch). `positions` = tokens minus one per example: what the trainer's tok_per_s
 * counts.
 *
 * Nothing here fails, prints or allocates.
 */
#ifndef MAINLINE_DATA_ESTIMATE_H
#define MAINLINE_DATA_ESTIMATE_H

#include <jansson.h>

#include "token_stats.h"

struct run_estimate {
    long examples;        /* per epoch */
    long steps;           /* optimizer steps in all */
    double epochs;        /* epochs trained, fractional when max_steps cuts one */
    double tokens;        /* training tokens in all */
    double positions;     /* tokens - examples trained: the unit of tok_per_s */
};

/* params: the run's resolved parameters; st: the train file's token counts;
 * model_max_seq_len: used when params set no max_seq_len. */
void estimate_run(const json_t *params, const struct data_stats *st, long model_max_seq_len,
                  struct run_estimate *out);

/* "1h02m", "3m05s", "42s", "<1s" into buf. */
void format_seconds(double s, char *buf, size_t len);

#endif
