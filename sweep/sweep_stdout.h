/*
 * sweep_stdout.h - checking a trainer's `parse_stdout:` (docs/protocol.md, "Trainers
 * that only print"): a preset's name (`mlx-lm`), a list of rules, or a mapping
 * {preset, rules, examples}. Every pattern is compiled here, at plan time, so a bad
 * one is an error at its file:line:col; every example line must give an event.
 * Called by sweep_load.c; problems go to the diag list.
 */
#ifndef MAINLINE_SWEEP_STDOUT_H
#define MAINLINE_SWEEP_STDOUT_H

#include <jansson.h>

#include "diag.h"
#include "yaml_tree.h"

/* The rules `v` declares, a preset's first, as the JSON array stdout_rules_compile()
 * takes: a new reference (the valid rules, when some are not). */
json_t *sweep_parse_stdout_value(const char *file, const struct ynode *v, struct diag_list *dl);

#endif
