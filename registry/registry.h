/*
 * registry.h - the SQLite registry: the one place mainline remembers sweeps, runs
 * and everything measured about them.
 *
 * The orchestrator is the only writer; trainers and evaluators never open it.
 * The schema is created and migrated here (PRAGMA user_version), in WAL mode with
 * foreign keys on and a busy timeout. Every change happens inside a transaction.
 * This layer never prints and never exits: functions return an enum reg_status,
 * and reg_errmsg() tells the details of the last failure.
 *
 * Ownership: strings in the *_in structs are borrowed for the duration of the
 * call. Rows handed to callbacks are valid only during the callback. Structs
 * filled by a function and named *_info are owned by the caller and released with
 * the matching *_info_free().
 */
#ifndef MAINLINE_REGISTRY_H
#define MAINLINE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

enum reg_status {
    REG_OK = 0,
    REG_ERR_OPEN,          /* cannot open or create the database file */
    REG_ERR_MISSING,       /* REG_OPEN_EXISTING and there is no registry at that path */
    REG_ERR_SQL,           /* SQLite said no (message in reg_errmsg) */
    REG_ERR_NEWER_SCHEMA,  /* written by a newer mainline; refuse to touch it */
    REG_ERR_NOT_FOUND,     /* the sweep / run asked for does not exist */
    REG_ERR_CONFLICT,      /* unique constraint: that sweep version or run exists */
    REG_ERR_INVALID,       /* bad argument, e.g. a filter key that is not a name */
    REG_ERR_AMBIGUOUS,     /* a run id that matches runs of several sweeps */
    REG_ERR_BUSY,          /* another process held the write lock past the busy timeout */
    REG_ERR_FULL,          /* the registry's disk is full */
    REG_ERR_DAMAGED,       /* damaged pages: PRAGMA quick_check at open, or SQLITE_CORRUPT;
                              reg_errmsg says how to save what can still be read */
};

const char *reg_strerror(enum reg_status st);
/* 1 when the same call may succeed later unchanged (REG_ERR_BUSY, REG_ERR_FULL):
 * a reason to wait and retry, not to give up on what was being recorded. */
int reg_status_transient(enum reg_status st);

enum reg_open_mode {
    REG_OPEN_EXISTING,  /* fail with REG_ERR_MISSING when the file does not exist */
    REG_OPEN_CREATE,    /* create and migrate if needed */
};

struct registry;  /* opaque */

/*
 * Open (and migrate) the registry at path. On success *out is the caller's and must
 * be closed with reg_free(). On failure *out is NULL and, when errbuf is not NULL,
 * a message naming the path is copied into errbuf (errlen bytes; 4096 hold any).
 *
 * Before anything is written, a registry whose files changed since the last clean
 * check (the stamp `<path>.checked`) is checked with PRAGMA quick_check; damage is
 * REG_ERR_DAMAGED, with a message that says how to save what can still be read
 * (reg_check.c says what is checked when, and what it costs).
 */
enum reg_status reg_open(const char *path, enum reg_open_mode mode, struct registry **out,
                         char *errbuf, size_t errlen);
/* Close; stamps the files as checked when this handle wrote to a clean registry.
 * Accepts NULL. */
void reg_free(struct registry *reg);
const char *reg_errmsg(const struct registry *reg);
int reg_schema_version(struct registry *reg);
#define REG_SCHEMA_VERSION 9

/* Run states, in lifecycle order. The text form is what the `state` column holds. */
enum reg_run_state {
    RUN_WAITING,    /* a parameter comes from a stage that has not picked yet */
    RUN_PLANNED,
    RUN_RUNNING,
    RUN_DONE,
    RUN_FAILED,
    RUN_CANCELLED,
    RUN_STATE_COUNT
};
const char *reg_state_name(enum reg_run_state s);

/* ---- recording a planned sweep ---- */

struct reg_git_in {
    const char *status;   /* "ok", "not a git repository", or "error: ..." */
    const char *root;     /* work tree root, or NULL */
    const char *commit;   /* 40 hex, NULL when there is no commit */
    const char *branch;   /* branch name, "HEAD" when detached, NULL when unknown */
    int dirty;            /* 1 if tracked files differ from HEAD */
    const char *diff;     /* full patch of the uncommitted changes, NULL when clean */
};

struct reg_artifact_in {
    const char *role;     /* "base_model" or "dataset" */
    const char *name;     /* dataset name ("train"), or the base model's slug */
    const char *path;     /* as resolved (absolute or relative to the cwd) */
    const char *sha256;
    int64_t bytes;
    int64_t rows;         /* -1 when not a JSONL file */
    const char *source;   /* "URL[#member]" or "/abs/archive#member" it came from, or NULL */
};

struct reg_run_in {
    const char *run_id;       /* e.g. "main-attention_only-seed-0" */
    const char *stage;
    const char *condition;    /* NULL when the stage has no condition */
    int has_lr;
    double lr;                /* meaningful when has_lr; unset while waiting on a pick */
    int has_seed;
    int64_t seed;
    const char *params_json;  /* full resolved params, canonical JSON object */
    const char *pending_json; /* {"lr": "lr_select"} for waiting runs, else NULL */
    enum reg_run_state state; /* RUN_WAITING or RUN_PLANNED when planning */
    const size_t *artifacts;  /* indexes into reg_sweep_in.artifacts this run uses */
    size_t n_artifacts;
};

struct reg_sweep_in {
    const char *name;
    int version;               /* 1 for a new sweep, N+1 with --new-version */
    const char *spec_path;
    const char *spec_text;     /* the YAML file as written */
    const char *spec_sha256;   /* of spec_text */
    const char *canon_json;    /* canonical expanded spec + artifact digests */
    const char *canon_sha256;
    const char *contract_json; /* canonical evaluation + selection sections */
    const char *contract_sha256;
    const char *audit_json;    /* the data audit's report (data/audit.h), or NULL */
    struct reg_git_in git;
    const struct reg_artifact_in *artifacts;
    size_t n_artifacts;
    const struct reg_run_in *runs;
    size_t n_runs;
};

/*
 * Record a sweep version with its artifacts and runs, and a "plan" event, in one
 * transaction: all of it lands or none. REG_ERR_CONFLICT if (name, version) exists.
 */
enum reg_status reg_record_sweep(struct registry *reg, const struct reg_sweep_in *in,
                                 int64_t *sweep_rowid);

/* ---- reading sweeps ---- */

struct reg_sweep_info {
    int64_t rowid;
    char *name;
    int version;
    char *spec_path;
    char *canon_json;
    char *canon_sha256;
    char *spec_sha256;         /* of the file as written */
    char *contract_sha256;
    char *created_at;
    char *git_status, *git_commit, *git_branch;   /* may be NULL */
    int git_dirty;
    int n_runs;
};
void reg_sweep_info_free(struct reg_sweep_info *info);   /* accepts a zeroed struct */

/* The highest version of sweep `name`, or REG_ERR_NOT_FOUND. */
enum reg_status reg_sweep_latest(struct registry *reg, const char *name,
                                 struct reg_sweep_info *out);

/* ---- measured throughput ---- */

struct reg_throughput {
    double tok_per_s;    /* median of the reports; 0 when there are none */
    long reports;        /* tok_per_s metrics found */
    long runs;           /* runs they came from */
};

/* The trainer's measured tokens per second (the `tok_per_s` metric) over every
 * recorded run whose base model has this sha256. */
enum reg_status reg_measured_throughput(struct registry *reg, const char *base_sha256,
                                        struct reg_throughput *out);

/* ---- reading runs ---- */

enum reg_filter_op { FILTER_EQ, FILTER_NE, FILTER_LT, FILTER_LE, FILTER_GT, FILTER_GE };

/*
 * One `--where` term. Keys that are columns (run, stage, condition, lr, seed, state,
 * attempt, sweep) compare against the column; any other key must look like an
 * identifier ([A-Za-z_][A-Za-z0-9_]*) and compares against that key of the run's
 * params JSON. The value is bound as an integer or real when it parses as one,
 * else as text. Nothing is ever pasted into SQL text.
 */
struct reg_filter_term {
    const char *key;
    enum reg_filter_op op;
    const char *value;
};

struct reg_run_query {
    const char *sweep;       /* NULL: runs of every sweep */
    int all_versions;        /* 0: only the latest version of each sweep */
    const char *run_id;      /* NULL, or exactly this run id */
    const struct reg_filter_term *terms;
    size_t n_terms;
};

struct reg_run_row {
    int64_t rowid, sweep_rowid;
    const char *sweep;
    int version;
    const char *run_id, *stage, *condition;   /* condition may be NULL */
    int has_lr;
    double lr;
    int has_seed;
    int64_t seed;
    const char *params_json, *pending_json;   /* pending may be NULL */
    const char *state;
    int attempt;
    const char *created_at, *started_at, *finished_at;   /* may be NULL */
    int has_exit_status;
    int exit_status;
    const char *run_dir;                      /* may be NULL */
    const char *fail_reason;                  /* why it failed or was cancelled, or NULL */
    /* Headline numbers of the current lineage, as the view v_runs has them: */
    int has_best_val_nll;
    double best_val_nll;                      /* the lowest val_nll (nats per token) */
    int64_t best_val_step;                    /* the earliest step with it; -1 none */
    int has_eval_accuracy;
    double eval_accuracy;                     /* of the run's latest evaluation, 0..1 */
};

/*
 * The swept parameters of the sweep version with row id `sweep_rowid` (the view
 * run_params, docs/registry.md): condition first, seed last, the others by name.
 * *names is a new NULL-terminated array of new strings; release it with
 * reg_names_free (which accepts NULL).
 */
enum reg_status reg_swept_params(struct registry *reg, int64_t sweep_rowid, char ***names);
void reg_names_free(char **names);

/* Return nonzero from the callback to stop early (reg_query_runs then returns REG_OK). */
typedef int (*reg_run_cb)(const struct reg_run_row *row, void *ud);

/* Runs matching q in plan order (sweep, version, plan order). */
enum reg_status reg_query_runs(struct registry *reg, const struct reg_run_query *q,
                               reg_run_cb cb, void *ud);

struct reg_stage_row {
    const char *sweep;
    int version;
    const char *stage;
    int counts[RUN_STATE_COUNT];
    int total;
};
typedef int (*reg_stage_cb)(const struct reg_stage_row *row, void *ud);

/* Runs by state per stage, for the latest version of `sweep` (or of every sweep when NULL). */
enum reg_status reg_stage_summary(struct registry *reg, const char *sweep,
                                  reg_stage_cb cb, void *ud);

struct reg_artifact_row {
    const char *role, *name, *path, *sha256;
    const char *source;   /* NULL for a plain local file */
    int64_t bytes, rows;
};
typedef int (*reg_artifact_cb)(const struct reg_artifact_row *row, void *ud);

/* Artifacts a run uses (through run_artifacts). */
enum reg_status reg_run_artifacts(struct registry *reg, int64_t run_rowid,
                                  reg_artifact_cb cb, void *ud);

/* A checkpoint the run's trainer recorded. Strings are borrowed for the callback. */
struct reg_checkpoint_row {
    int attempt;
    int64_t step;
    const char *path;
    int64_t bytes;        /* -1 not known */
    const char *sha256;   /* NULL not known */
    int kept;             /* 1 kept, 0 deleted by keep:, -1 not settled (checkpoints.kept) */
    int current;          /* of the current lineage (attempt >= runs.base_attempt) */
};
typedef int (*reg_checkpoint_cb)(const struct reg_checkpoint_row *row, void *ud);

/* The checkpoints of a run, by attempt and step. */
enum reg_status reg_run_checkpoints(struct registry *reg, int64_t run_rowid,
                                    reg_checkpoint_cb cb, void *ud);

/* A batch job (Slurm) of a run: one of its attempts, or an evaluation of one of its
 * checkpoints. Strings are NULL when not known, and borrowed for the callback. */
struct reg_batch_job_row {
    int64_t job_id;
    const char *executor, *name;
    int attempt;
    int is_eval;                  /* an evaluation's job ... */
    int64_t eval_step;            /* ... of this checkpoint step */
    int has_array_index, has_elapsed, has_max_rss;
    int64_t array_index, elapsed_s, max_rss_bytes;
    const char *state, *reason;   /* NULL until it ended */
    const char *partition, *nodes;
    int acct_confirmed;           /* sacct confirmed the state */
    const char *submitted_at, *ended_at;
};
typedef int (*reg_batch_job_cb)(const struct reg_batch_job_row *row, void *ud);

/* The batch jobs of a run and of its evaluations, in submission order. */
enum reg_status reg_run_batch_jobs(struct registry *reg, int64_t run_rowid,
                                   reg_batch_job_cb cb, void *ud);

/* Append an audit event (in its own transaction). run_rowid/sweep_rowid 0 = none. */
enum reg_status reg_log_event(struct registry *reg, int64_t sweep_rowid, int64_t run_rowid,
                              const char *kind, const char *message, const char *data_json);

#endif
