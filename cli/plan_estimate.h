/*
 * plan_estimate.h - `mainline plan`'s estimates of training tokens, steps, time
 * and money per stage (see plan_estimate.c). Prints to stdout; never fails.
 */
#ifndef MAINLINE_PLAN_ESTIMATE_H
#define MAINLINE_PLAN_ESTIMATE_H

#include "plan.h"

/* registry_path: read (if it exists) for earlier runs' measured throughput. */
void plan_print_estimates(const struct plan *p, const char *registry_path);

#endif
