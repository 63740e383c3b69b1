/*
 * sweep_slurm.h - checking a `slurm:` mapping of a sweep file: the top-level one,
 * a stage's, or evaluation's (docs/sweep-format.md, "executor and slurm"). Called
 * by sweep_load.c; what the rest of the program reads is sweep_slurm_resources()
 * in sweep.h. Problems go to the diag list as "file:line:col: message".
 *
 * The normalized form is a JSON object holding the keys the mapping declares:
 * strings for partition, account, qos, mem ("32G") and gres, time as "[D-]H:MM:SS",
 * integers for cpus_per_task, max_array and signal_before_end, and extra as a list
 * of strings. Two spellings of one setting give the same JSON.
 */
#ifndef MAINLINE_SWEEP_SLURM_H
#define MAINLINE_SWEEP_SLURM_H

#include <jansson.h>

#include "diag.h"
#include "yaml_tree.h"

/* Check `map` and return the keys it declares, normalized, as a new JSON object
 * (the valid ones, when some are not); NULL when `map` is not a mapping. */
json_t *sweep_slurm_value(const char *file, const struct ynode *map, struct diag_list *dl);

#endif
