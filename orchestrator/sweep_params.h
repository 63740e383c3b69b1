/*
 * sweep_params.h - the parameters a run can have, their types and how a YAML value
 * becomes a validated JSON value. One table (sweep_params.c) is the single source
 * of truth; docs/sweep-format.md lists the same parameters.
 */
#ifndef MAINLINE_SWEEP_PARAMS_H
#define MAINLINE_SWEEP_PARAMS_H

#include <stddef.h>

#include <jansson.h>

#include "diag.h"
#include "yaml_tree.h"

enum param_type {
    PT_NAME,        /* a string naming something (condition) */
    PT_INT,         /* any integer */
    PT_COUNT,       /* integer >= 1 */
    PT_NONNEG_INT,  /* integer >= 0 */
    PT_POS_NUM,     /* number > 0 */
    PT_NONNEG_NUM,  /* number >= 0 */
    PT_FRACTION,    /* number in [0, 1) */
    PT_BOOL,
    PT_CHOICE,      /* one string of `choices` */
    PT_CHOICE_LIST, /* list of strings of `choices`; a single string is a list of one */
    PT_LAYERS,      /* all | {last: N} | "last N" | [indices] */
    PT_TRAIN_PARTS, /* [norm, lm_head, embeddings, {blocks: LAYERS}] */
    PT_EVAL_AT,     /* [N, epoch, end, {every: K}] */
    PT_SOURCE,      /* a file: path, URL or {path|url, sha256, member} */
    PT_MODEL_SPEC,  /* a mapping of numbers and booleans (init: random's model) */
    PT_ANY,         /* x_* user parameters, passed through untouched */
};

struct param_def {
    const char *name;
    enum param_type type;
    const char *const *choices;   /* PT_CHOICE / PT_CHOICE_LIST, NULL-terminated */
    const char *help;             /* one line, for docs and messages */
};

/* The definition for `name` (after alias mapping, e.g. learning_rate -> lr); x_*
 * names get the PT_ANY definition. NULL when unknown. */
const struct param_def *param_find(const char *name);
/* The canonical name for an alias, or name itself. */
const char *param_canonical_name(const char *name);

/* All parameter names, NULL-terminated, for suggestions and help. */
const char *const *param_names(void);

/*
 * Check `n` as a value of `def` and return it as a new JSON reference, normalized
 * (a single target becomes a list, "last 4" becomes {"last": 4}...). On error
 * returns NULL and adds a diagnostic naming `key` at the node's position.
 */
json_t *param_value(const char *file, const struct param_def *def, const char *key,
                    const struct ynode *n, struct diag_list *dl);

/* The candidate closest to `word` when it is close enough to be a likely typo,
 * else NULL. */
const char *closest_word(const char *word, const char *const *candidates, size_t n);

#endif
