/*
 * rules.h - the frozen rules as decisions: which checkpoint of a run counts
 * (last, min(METRIC), max(METRIC); ties go to the earlier step), and seed 000's
 * mainline layers (did the base survive, did the change land, is it usable) with
 * the declared preference among candidates that pass them all.
 *
 * Pure functions: no I/O, no allocation except where a function says it returns
 * an owned string. The numbers come from the registry (select.c gathers them).
 */
#ifndef MAINLINE_RULES_H
#define MAINLINE_RULES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* ---- checkpoint rules ---- */

enum ckpt_rule_kind { RULE_LAST, RULE_MIN, RULE_MAX };

struct ckpt_rule {
    enum ckpt_rule_kind kind;
    char metric[64];          /* "" for last */
};

/* "last", "min(val_nll)", "max(eval_accuracy)"... Returns 0, or -1 when malformed. */
int ckpt_rule_parse(const char *text, struct ckpt_rule *out);

/* Does the rule's metric come from evaluations (eval_*, accuracy) rather than the
 * trainer's validation lines (val_*)? */
int ckpt_rule_uses_eval(const struct ckpt_rule *r);

struct ckpt_candidate {
    int64_t step;
    int has_value;
    double value;
};

/* The index of the chosen candidate: `last` takes the highest step; min/max the
 * best value among candidates that have one, ties to the earlier step. -1 when
 * there is nothing to choose from. */
long ckpt_rule_pick(const struct ckpt_rule *r, const struct ckpt_candidate *c, size_t n);

/* ---- the mainline layers ---- */

enum prefer_key {
    PREFER_SMALLER_ADAPTER,
    PREFER_SMALLER_SEED_RANGE,
    PREFER_HIGHER_METRIC,
    PREFER_FASTER_EVAL,
    PREFER_SMALLER_NLL_INCREASE,
};

#define MAINLINE_MAX_PREFER 8

struct mainline_rules {
    int declared;
    int has_survived, has_landed, has_usable;
    double max_nll_increase;          /* base_survived */
    double min_gain;                  /* landed */
    int has_max_mb, has_min_tps;
    double max_adapter_mb, min_eval_tok_per_s;   /* usable */
    int has_quant;                    /* usable.quantized */
    char quant[8];                    /* "f16", "q8_0", "q4_0" */
    double max_accuracy_drop;
    enum prefer_key prefer[MAINLINE_MAX_PREFER];
    size_t n_prefer;
};

/* From the contract's `mainline` object (NULL: not declared). Returns 0, or -1
 * with a message in err for a value the loader would have refused. */
int mainline_rules_parse(const json_t *mainline, struct mainline_rules *out, char *err,
                         size_t errlen);
const char *prefer_name(enum prefer_key k);

/* What was measured for one candidate (a condition, over its seeds). */
struct mainline_numbers {
    int has_nll_increase;
    double nll_increase;      /* worst seed: retention NLL - the base model's */
    int has_gain;
    double gain;              /* mean metric - the base model's */
    int has_adapter_mb;
    double adapter_mb;        /* largest selected checkpoint of its seeds, 1 MB = 10^6 bytes */
    int has_eval_tps;
    double eval_tok_per_s;    /* slowest seed's evaluation */
    double mean, range;       /* the compared metric over seeds */
    int has_quant;            /* every seed's selected checkpoint evaluated quantised */
    double quant_drop;        /* worst seed: f32 accuracy - quantised accuracy */
    double quant_accuracy;    /* mean quantised accuracy over seeds */
    double f32_accuracy;      /* mean accuracy of the same evaluations, unquantised */
};

enum layer_status { LAYER_NOT_DECLARED, LAYER_PASS, LAYER_FAIL };

struct layer_verdict {
    enum layer_status status;
    char why[256];            /* the numbers, e.g. "gain 0.0612 >= 0.01" */
};

enum mainline_diagnosis { DIAG_PASSES, DIAG_SPEED, DIAG_QUALITY, DIAG_QUALITY_AND_SPEED };

/* usable fails for speed (adapter size, evaluation speed: a deployment-shape
 * problem) or for quality (the quantised model answers worse than the bound allows:
 * seed 000's "stupid", not "slow"); the diagnosis counts each where it belongs. */
struct mainline_verdict {
    struct layer_verdict survived, landed, usable;
    int usable_speed_fail, usable_quant_fail;
    enum mainline_diagnosis diagnosis;
};

void mainline_judge(const struct mainline_rules *r, const struct mainline_numbers *n,
                    struct mainline_verdict *out);
const char *layer_status_name(enum layer_status s);
/* "passes", "speed problem", "quality problem", "quality and speed problem" */
const char *diagnosis_name(enum mainline_diagnosis d);

/* <0 when a is preferred over b by the declared preference, >0 when b is, 0 when
 * the declared keys do not tell them apart. A missing number loses. */
int mainline_prefer_cmp(const struct mainline_rules *r, const struct mainline_numbers *a,
                        const struct mainline_numbers *b);

#endif
