/*
 * params.h - the parameters a run can have: names, types, choices, aliases. One
 * table (params.c) is the single source of truth for the sweep loader, which
 * checks a sweep file's values (sweep/sweep_params.h), and the built-in trainer,
 * which checks a job's config.json; docs/sweep-format.md lists the same table.
 * The table is static data: nothing to free.
 */
#ifndef MAINLINE_PROTOCOL_PARAMS_H
#define MAINLINE_PROTOCOL_PARAMS_H

#include <jansson.h>

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

/* The choices of parameter `name` (a PT_CHOICE or PT_CHOICE_LIST), NULL-terminated
 * and in the order the trainer's enums follow; NULL for any other name. */
const char *const *param_choices(const char *name);

/* Short, stable text for a parameter value, used in run ids and tables:
 * 0.0003 -> "3e-4", 16 -> "16", [q_proj, v_proj] -> "q_proj+v_proj". Caller frees
 * (param_text.c). */
char *param_value_text(const json_t *v);

#endif
