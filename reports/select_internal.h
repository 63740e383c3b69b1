/*
 * select_internal.h - what the files of `mainline select` share (select.c:
 * gathering and checkpoints; select_compare.c: conditions, disagreement and the
 * verdict; select_mainline.c: the mainline layers and what the result can say).
 * Nobody else includes it.
 *
 * Everything here borrows from the struct reg_results it was built from, except
 * what is marked owned; select.c frees the context.
 */
#ifndef MAINLINE_SELECT_INTERNAL_H
#define MAINLINE_SELECT_INTERNAL_H

#include "reg_results.h"
#include "rules.h"
#include "select.h"
#include "stats.h"

/* One run the rules judge (a done run of a stage that does not pick). */
struct sel_run {
    const struct reg_res_run *run;
    const char *cond;                 /* the condition, "-" when the run has none */
    char *cell;                       /* its values of compare.by, as text (owned) */
    json_t *cell_params;              /* the same as {param: value} (owned) */
    char *rep;                        /* its value of compare.over, as text (owned) */
    int has_cmp;
    double cmp;                       /* the compared metric at the chosen checkpoint */
    long ckpt;                        /* index into run->ckpts, -1: none chosen */
    int has_value;
    double value;                     /* the rule's metric at the chosen checkpoint */
    const struct reg_res_eval *eval;  /* the evaluation of that checkpoint, or NULL */
    json_t *inputs;                   /* the candidates the rule saw (owned) */
    const char *note;                 /* why it is left out of the comparison, or NULL */
};

/* One cell of compare.by (a condition by default), its runs the replicates. */
struct sel_cond {
    const char *name;
    const json_t *params;             /* {param: value} of the cell (borrowed from a run) */
    size_t *members;                  /* indexes of evaluated sel_runs (owned) */
    size_t n;
    double *values;                   /* the metric per member (owned) */
    struct stats_summary sum;
    struct mainline_numbers num;
    struct mainline_verdict verdict;
};

struct sel_ctx {
    const struct reg_results *res;
    json_t *contract, *spec;          /* parsed (owned) */
    const char *rule_text, *metric, *over, *test;   /* metric: "accuracy", "val_nll"... */
    enum { CMP_ACCURACY, CMP_TRAINER } cmp_kind;   /* scored predictions or val_* */
    int lower_better;                 /* min(METRIC) */
    char metric_name[64];             /* what metric points at */
    char **by;                        /* compare.by, declared or the default (owned) */
    size_t n_by;
    int by_condition;                 /* by is [condition]: cells are named by it alone */
    const char *unit;                 /* "condition" or "cell", for sentences */
    struct ckpt_rule rule;
    int compare_declared;
    double threshold;
    struct sel_run *runs;             /* owned */
    size_t n_runs;
    struct sel_cond *conds;           /* owned, in order of first appearance */
    size_t n_conds;
    const struct reg_res_eval *baseline;
    struct mainline_rules ml;
    json_t *doc;                      /* the result being built (owned until handed over) */
    json_t *compare;                  /* doc.compare (borrowed from doc) */
    long leader, runner_up;           /* condition indexes, -1 when none */
    long mainline;                    /* the chosen candidate, -1 when none */
};

/* Is a better than b on the compared metric (strictly)? */
int sel_better(const struct sel_ctx *c, double a, double b);

/* A number from an evaluation: accuracy, tok_per_s, or any number of its summary. */
int sel_eval_number(const struct reg_res_eval *e, const char *name, double *out);

/* select_compare.c: doc.conditions, doc.pairs, doc.compare. */
void sel_compare(struct sel_ctx *c);
/* select_mainline.c: doc.mainline and doc.statements (needs sel_compare first). */
void sel_mainline(struct sel_ctx *c);
void sel_statements(struct sel_ctx *c);

#endif
