/*
 * json_diff.h - what changed between two JSON documents, one line per path:
 *   "~ stages.lr_select.grid.lr: [0.0001,0.0003] -> [0.0001]"
 *   "+ conditions.mlp_only: {...}"   "- defaults.rank: 8"
 */
#ifndef MAINLINE_JSON_DIFF_H
#define MAINLINE_JSON_DIFF_H

#include <jansson.h>

#include "strbuf.h"

/* Append the differences between old and new to out; returns how many lines. */
int json_diff(const json_t *old_v, const json_t *new_v, struct strbuf *out);

#endif
