/*
 * reg_results.h - what `mainline select` and `mainline report` read from the
 * registry about one sweep version (runs, their validation and train-loss curves,
 * checkpoints,
 * training numbers, evaluations with every prediction, picks, provenance), and
 * the one write they make: the selections of a rules hash, replaced in one
 * transaction.
 *
 * Same conventions as registry.h: statuses, no printing, values bound, never
 * pasted into SQL. Ownership: reg_results_load() fills a struct reg_results that
 * owns every string and array in it; release it with reg_results_free()
 * (which accepts a zeroed struct).
 */
#ifndef MAINLINE_REG_RESULTS_H
#define MAINLINE_REG_RESULTS_H

#include "registry.h"

struct reg_res_point {        /* one val_* metric (or the train `loss`) at one step */
    int64_t step;
    char *name;               /* "val_nll", ..., "loss" */
    double value;
};

struct reg_res_checkpoint {
    int64_t step;
    int64_t bytes;            /* -1 when the trainer did not say */
};

struct reg_res_run {
    int64_t rowid;
    char *run_id, *stage, *condition, *state, *params_json;   /* condition may be NULL */
    int has_lr, has_seed;
    double lr;
    int64_t seed;
    struct reg_res_point *val;        /* current lineage, by step then name */
    size_t n_val;
    struct reg_res_point *train;      /* the train events' `loss`, current lineage, by step */
    size_t n_train;
    struct reg_res_checkpoint *ckpts; /* current lineage, by step */
    size_t n_ckpts;
    int has_train_loss, has_train_tok_s, has_peak_rss, has_trainable;
    double train_loss;        /* `loss` at the highest step */
    double train_tok_s;       /* mean `tok_per_s` of the train reports */
    double peak_rss_mb;       /* highest `peak_rss_mb` */
    double trainable_pct;     /* from the trainer's `start` event */
    int64_t trainable_params;
    int64_t slurm_job;        /* the Slurm job of its last attempt, 0 when it ran elsewhere */
    char *slurm_state;        /* how Slurm ended it; NULL while not ended */
    int attempt;              /* its last attempt */
    char *fail_reason;        /* why it failed or was cancelled, else NULL */
    char *fail_stderr;        /* the last non-empty stderr line of that attempt, or NULL */
};

struct reg_res_pred {
    char *example_id;
    int correct;
};

struct reg_res_probe {        /* a probe prompt's greedy answer (registry version 2+) */
    int idx;
    char *prompt, *output;
};

struct reg_res_eval {
    int64_t rowid, run;       /* run 0: the baseline */
    int64_t step;             /* -1: the baseline */
    char *dataset, *contract_sha256;
    char *summary_json;       /* the evaluator's whole summary; NULL when not recorded */
    int64_t n, correct, extraction_failures, gen_tokens;
    double accuracy, seconds, tok_per_s;
    char *quant;              /* the quantised model's type; NULL: not evaluated quantised */
    int64_t quant_n, quant_correct;
    double quant_accuracy, quant_tok_per_s;
    struct reg_res_pred *preds;       /* sorted by example_id */
    size_t n_preds;
    struct reg_res_probe *probes;     /* by idx */
    size_t n_probes;
};

struct reg_res_selection {
    char *kind, *scope, *rule, *rules_sha256, *inputs_json, *choice_json;
};

struct reg_res_artifact {
    char *role, *name, *path, *sha256;
    int64_t bytes, rows;      /* rows -1 when not JSONL */
};

struct reg_results {
    int64_t sweep_rowid;
    char *name;
    int version;
    char *contract_json, *contract_sha256, *created_at;
    char *canon_json;         /* the planned spec: which stages pick, the conditions' order */
    char *git_status, *git_commit, *git_branch;   /* may be NULL */
    int git_dirty;
    struct reg_res_artifact *artifacts;
    size_t n_artifacts;
    struct reg_res_run *runs;         /* plan order */
    size_t n_runs;
    struct reg_res_eval *evals;       /* recording order */
    size_t n_evals;
    struct reg_res_selection *picks;  /* kind 'pick', recording order */
    size_t n_picks;
    char **swept;             /* the swept parameters (reg_swept_params), NULL-terminated */
    char **metric_names;      /* every metric name the runs reported, sorted, NULL-terminated */
    size_t n_metric_names;
};

/* Everything about the latest version of sweep `name`; REG_ERR_NOT_FOUND if none. */
enum reg_status reg_results_load(struct registry *reg, const char *name,
                                 struct reg_results *out);
void reg_results_free(struct reg_results *r);

/* The selections of `kind` recorded for the sweep under `rules_sha256`, in
 * recording order. Caller frees with reg_res_selections_free. */
enum reg_status reg_selections_load(struct registry *reg, int64_t sweep,
                                    const char *rules_sha256, const char *kind,
                                    struct reg_res_selection **out, size_t *n);
void reg_res_selections_free(struct reg_res_selection *s, size_t n);

/*
 * Replace the sweep's checkpoint, compare and mainline selections recorded under
 * rules_sha256 with `rows` (their rules_sha256 fields are ignored: every row gets
 * the one given), in one transaction. Picks are left alone.
 */
enum reg_status reg_selections_replace(struct registry *reg, int64_t sweep,
                                       const char *rules_sha256,
                                       const struct reg_res_selection *rows, size_t n);

#endif
