/*
 * json_diff.h - what changed between two JSON documents, one line per path:
 *   "~ stages.lr_select.grid.lr: [0.0001,0.0003] -> [0.0001]"
 *   "+ conditions.mlp_only: {\"rank\":8}"   "- defaults.rank: 8"
 * A list or mapping too long for one line (over 100 characters, old and new together) follows
 * its path whole, pretty-printed under "was:" and "now:", a long one cut to 30 lines
 * from a little before the first line where they differ, saying how many lines were
 * left out before and after.
 */
#ifndef MAINLINE_JSON_DIFF_H
#define MAINLINE_JSON_DIFF_H

#include <jansson.h>

#include "strbuf.h"

/* Append the differences between old and new to out; returns how many lines. */
int json_diff(const json_t *old_v, const json_t *new_v, struct strbuf *out);

#endif
