/*
 * sweep.h - a sweep file, validated, and its expansion into runs.
 *
 * sweep_load() reads a YAML sweep, checks every key and type against the schema
 * (docs/sweep-format.md) and builds a struct sweep. sweep_expand() turns it into
 * the runs of every stage with fully resolved parameters. Neither prints, exits,
 * touches the registry or opens a dataset: problems go to a diag_list as
 * "file:line:col: message". Hashing artifacts and recording the plan is plan.c's job.
 *
 * Ownership: a struct sweep owns everything it points to, including the YAML tree
 * its `node` fields borrow from; release it with sweep_free(). JSON values are
 * jansson references owned by the struct.
 */
#ifndef MAINLINE_SWEEP_H
#define MAINLINE_SWEEP_H

#include <stddef.h>

#include <jansson.h>

#include "audit.h"
#include "diag.h"
#include "params.h"
#include "render.h"
#include "yaml_tree.h"

/* A file the sweep depends on: a dataset or a base model (docs/sources.md). */
struct sweep_source {
    char *path;          /* a local path as written, or NULL for a URL */
    char *url;           /* a URL as written (without "#member"), or NULL */
    char *member;        /* a file inside the archive that path or url names, or NULL */
    char *resolved;      /* path relative to the sweep file's directory, or absolute;
                          * NULL for a URL (sweep/source.h fetches it) */
    char *sha256_pin;    /* lowercase hex, or NULL when not pinned */
    const struct ynode *node;
};

struct sweep_dataset {
    char *name;
    struct sweep_source src;
    struct render_fields fields;   /* `fields:` of the dataset; unset names are NULL */
};

struct sweep_condition {
    char *name;
    json_t *params;      /* object of validated parameters */
    const struct ynode *node;
};

/* One grid axis: a parameter and the list of values it takes. */
struct sweep_axis {
    char *param;
    json_t *values;      /* array, at least one element, each validated */
    const struct ynode *node;
};

/* `lr: {from: lr_select}`: a parameter filled in by another stage's pick. */
struct sweep_from {
    char *param;
    char *stage;
    const struct ynode *node;
};

/* `pick: {per: condition, param: lr, by: min(val_nll)}` */
struct sweep_pick {
    char **per;          /* parameters that group the runs (may be empty) */
    size_t n_per;
    char *param;         /* the parameter whose value is picked */
    char *by;            /* the rule as written, e.g. "min(val_nll)" */
    const struct ynode *node;
};

struct sweep_stage {
    char *name;
    char **needs;        /* stages that must finish first (from `needs` and `from`) */
    size_t n_needs;
    struct sweep_axis *axes;
    size_t n_axes;
    json_t *overrides;   /* object */
    struct sweep_from *froms;
    size_t n_froms;
    struct sweep_pick *pick;   /* NULL when the stage picks nothing */
    json_t *slurm;       /* the stage's `slurm:`, normalized (sweep_slurm.h); NULL: none */
    const struct ynode *node;
};

struct sweep {
    char *file;              /* path of the sweep file as given */
    char *dir;               /* its directory: base of relative paths */
    char *text;              /* the file's bytes */
    size_t text_len;
    struct ydoc *doc;
    char *name;
    json_t *spec;            /* the whole document as JSON (aliases, merges applied) */
    struct sweep_dataset *datasets;
    size_t n_datasets;
    struct sweep_condition *conditions;
    size_t n_conditions;
    json_t *defaults;        /* object; the top-level base_model lands here */
    struct sweep_stage *stages;   /* in dependency order (file order among equals) */
    size_t n_stages;
    struct audit_config audit;
    double train_per_mtok;   /* `cost: {train_per_mtok}`; -1 when not declared */
    char *render_system;     /* `render: {system, template}`; NULL: no system prompt */
    enum render_template tmpl;
    json_t *contract;        /* {"evaluation", "selection", "render": {system, template,
                                fields: {DATASET: {...}}}} */
    /* How runs execute (not part of what a run is, except the commands). */
    json_t *trainer_cmd;     /* array of strings with {placeholders}; NULL: built-in */
    int trainer_resume;      /* the trainer continues from its last checkpoint (--resume) */
    json_t *parse_stdout;    /* [{pattern, event, fields}] for trainers that only print */
    const struct ynode **code;   /* `code:` paths (nodes of the document; owned array) */
    size_t n_code;
    json_t *evaluator_cmd;   /* NULL: the built-in evaluator */
    double timeout_s;        /* per attempt; 0 = none */
    int retries;             /* extra attempts after a failure */
    const char *executor;    /* `executor:` as declared, "local" or "slurm" (static
                              * strings); NULL: not declared (`mainline run` decides) */
    json_t *slurm;           /* top-level `slurm:`, normalized; NULL: none. Read resources
                              * with sweep_slurm_resources(), not these objects. */
    json_t *eval_slurm;      /* `evaluation: {slurm: ...}`, likewise */
};

/* ---- sources (sweep_source.c) ---- */

/* Check a source as written (a path, a URL, or {path|url, sha256, member}) and
 * return it as normalized JSON, or NULL after a diagnostic naming `key`. */
json_t *sweep_source_value(const char *file, const char *key, const struct ynode *n,
                           struct diag_list *dl);
/* Fill *out from normalized JSON; relative paths resolve against `dir`. */
void sweep_source_from_json(const json_t *v, const char *dir, struct sweep_source *out);
/* "URL#member" or the path as written, for messages. Caller frees. */
char *sweep_source_text(const struct sweep_source *src);
void sweep_source_free(struct sweep_source *src);   /* accepts a zeroed struct */

/* Seconds in "90", "90s", "30m", "2h", "1h30m", "1d"; -1 when malformed. */
double parse_duration(const char *s);
/* Names a command may use as {placeholder} besides run parameters. */
int is_builtin_placeholder(const char *name);

/*
 * Load and validate a sweep file. Returns 0 and fills *out, or -1 with diagnostics
 * (everything found, not just the first problem) and *out released.
 */
int sweep_load(const char *path, struct sweep *out, struct diag_list *diags);
/* Same, from a buffer; `file` labels diagnostics and anchors relative paths. */
int sweep_load_text(const char *file, const char *text, size_t len, struct sweep *out,
                    struct diag_list *diags);
void sweep_free(struct sweep *s);   /* accepts a zeroed struct */

const struct sweep_dataset *sweep_find_dataset(const struct sweep *s, const char *name);
/* The render contract rows of dataset `d` go through (d may be NULL: no mapping).
 * Borrows from s and d. */
struct render_contract sweep_render_contract(const struct sweep *s,
                                             const struct sweep_dataset *d);
/*
 * The same, with the chat template of the base model at `model_path` loaded into
 * *chat when the sweep renders with `template: chat`, as the trainer loads it
 * (render_chat_load() with the sweep's render.vars), so that what the data tools
 * and the plan's estimate render is what the trainer renders. -1 with a message;
 * on success the caller frees *chat (render_chat_free(), zeroed when not chat).
 */
int sweep_render_contract_for(const struct sweep *s, const struct sweep_dataset *d,
                              const char *model_path, struct render_chat *chat,
                              struct render_contract *out, struct strbuf *err);
const struct sweep_stage *sweep_find_stage(const struct sweep *s, const char *name);
const struct sweep_condition *sweep_find_condition(const struct sweep *s, const char *name);

/* ---- Slurm resources (sweep_slurm.c) ---- */

/*
 * What one Slurm job of the sweep asks for: the top-level `slurm:` with a stage's
 * (or the evaluations') `slurm:` laid over it key by key (docs/sweep-format.md,
 * "executor and slurm"). Every value was validated by sweep_load(); each string is
 * one sbatch argument's value, to be passed as its own argv entry. A key declared
 * nowhere is NULL (strings, extra), 0 (time_s, cpus_per_task, max_array) or -1
 * (signal_before_end): the executor's default, or Slurm's.
 *
 * Ownership: the struct owns its strings and the extra array; release it with
 * slurm_resources_free(), which accepts a zeroed struct.
 */
struct slurm_resources {
    char *partition;         /* a partition, or several separated by ',' */
    char *account;
    char *qos;
    char *time;              /* "[D-]H:MM:SS", normalized from any accepted spelling */
    long time_s;             /* the same in seconds (Slurm rounds up to minutes) */
    char *mem;               /* "32G", "4096" (no suffix: megabytes), "0": all of a node */
    char *gres;              /* "gpu:1", "gpu:a100:2,shard:1" */
    int cpus_per_task;       /* 1..4096 */
    int max_array;           /* 1..100000: array tasks running at once */
    int signal_before_end;   /* seconds before the time limit to warn the job; 0: never */
    char **extra;            /* more sbatch options, each "--opt" or "--opt=value";
                              * NULL when not declared, non-NULL (maybe n_extra 0) when
                              * declared, even as [] */
    size_t n_extra;
};

/* The effective resources of `stage`'s runs, or of evaluations when stage is NULL.
 * Returns 0 and fills *out, or -1 (and a zeroed *out) when there is no such stage. */
int sweep_slurm_resources(const struct sweep *s, const char *stage,
                          struct slurm_resources *out);
void slurm_resources_free(struct slurm_resources *r);   /* accepts a zeroed struct */

/* Do a and b give every stage (matched by name) and evaluations the same effective
 * resources? Spellings do not count: `time: 2h` is `time: "2:00:00"`. */
int sweep_slurm_equal(const struct sweep *a, const struct sweep *b);

/* ---- expansion ---- */

struct plan_run {
    char *id;                /* "main-attention_only-seed-0" */
    const struct sweep_stage *stage;
    json_t *params;          /* resolved parameters (object); pending ones absent */
    json_t *pending;         /* {"lr": "lr_select"} or NULL */
    json_t *varying;         /* the grid-axis values of this run, in axis order */
};

struct plan_runs {
    struct plan_run *runs;   /* stages in dependency order, grid order within */
    size_t n;
};

/* Expand every stage. Returns 0, or -1 with diagnostics (duplicate ids, picks that
 * cannot be satisfied...). */
int sweep_expand(const struct sweep *s, struct plan_runs *out, struct diag_list *diags);
void plan_runs_free(struct plan_runs *pr);


#endif
