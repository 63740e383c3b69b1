/*
 * sweep_params.h - how a YAML value in a sweep file becomes a parameter's
 * validated, normalized JSON value. The table of parameters is protocol/params.h.
 */
#ifndef MAINLINE_SWEEP_PARAMS_H
#define MAINLINE_SWEEP_PARAMS_H

#include <stddef.h>

#include <jansson.h>

#include "diag.h"
#include "params.h"
#include "yaml_tree.h"

/*
 * Check `n` as a value of `def` and return it as a new JSON reference, normalized
 * (a single target becomes a list, "last 4" becomes {"last": 4}...). On error
 * returns NULL and adds a diagnostic naming `key` at the node's position.
 */
json_t *param_value(const char *file, const struct param_def *def, const char *key,
                    const struct ynode *n, struct diag_list *dl);

#endif
