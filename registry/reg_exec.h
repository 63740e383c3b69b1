/*
 * reg_exec.h - what `mainline run` reads and writes while it executes a sweep:
 * run state transitions, ingested metrics, the per-sweep lock, picks, and
 * evaluation jobs. Same conventions as registry.h: statuses, no printing, every
 * change one transaction, strings in *_in structs borrowed for the call.
 */
#ifndef MAINLINE_REG_EXEC_H
#define MAINLINE_REG_EXEC_H

#include "registry.h"

/* A run as the scheduler sees it. Owned by the array from reg_exec_load_runs(). */
struct reg_exec_run {
    int64_t rowid;
    char *run_id, *stage, *condition;     /* condition may be NULL */
    char *params_json, *pending_json;     /* pending NULL unless waiting */
    enum reg_run_state state;
    int attempt, base_attempt;
    int64_t pid, proc_start;              /* 0 when never started */
    int64_t job_id;                       /* its batch job (Slurm), or 0 */
    char *host, *run_dir, *fail_reason;   /* may be NULL */
    int has_exit_status, exit_status;
};

/* Every run of a sweep version, in plan order. Caller frees with reg_exec_runs_free. */
enum reg_status reg_exec_load_runs(struct registry *reg, int64_t sweep_rowid,
                                   struct reg_exec_run **runs, size_t *n);
void reg_exec_runs_free(struct reg_exec_run *runs, size_t n);

/* The sweep row (by name, latest version) with its spec text and contract. Owned
 * strings; release with reg_exec_sweep_free. */
struct reg_exec_sweep {
    int64_t rowid;
    char *name;
    int version;
    char *spec_path, *spec_text, *contract_sha256;
    char *contract_json;     /* as recorded: what the plan froze beyond the spec (the
                              * chat template's sha256); may be NULL */
};
enum reg_status reg_exec_sweep_latest(struct registry *reg, const char *name,
                                      struct reg_exec_sweep *out);
void reg_exec_sweep_free(struct reg_exec_sweep *s);

/* planned|failed|cancelled -> running with a new attempt. from_scratch starts a
 * new metrics lineage (base_attempt = attempt). */
enum reg_status reg_run_start(struct registry *reg, int64_t run, int attempt, int from_scratch,
                              int64_t pid, int64_t proc_start, const char *host,
                              const char *run_dir);
/* Where a job marked running runs: a local pid, or a batch job. */
struct reg_job_proc {
    int64_t pid, proc_start;   /* 0 for a batch job */
    int64_t job_id;            /* the batch system's id, or 0 */
    const char *executor;      /* "slurm" (with job_id) */
    const char *name;          /* the name it was submitted under (with job_id) */
    int attempt;
};
/* Record it for a run / an evaluation already marked running; a batch job also gets
 * its batch_jobs row, in the same transaction. */
enum reg_status reg_run_set_proc(struct registry *reg, int64_t run, const struct reg_job_proc *p);
enum reg_status reg_eval_job_set_proc(struct registry *reg, int64_t job,
                                      const struct reg_job_proc *p);
/* How the batch system ended job `job_id` submitted under `name`, and where and how
 * long it ran. */
struct reg_batch_end {
    const char *state;               /* COMPLETED, FAILED, CANCELLED, LOST... */
    const char *reason;              /* NULL or "": none given */
    const char *partition, *nodes;   /* NULL or "": not known */
    int64_t elapsed_s;               /* -1: not known */
    int64_t max_rss_bytes;           /* -1: not known */
    int acct_confirmed;              /* the accounting (sacct) confirmed the state */
};
enum reg_status reg_batch_job_end(struct registry *reg, int64_t job_id, const char *name,
                                  const struct reg_batch_end *end);
/* running -> done|failed|cancelled (or planned, to hand a run back untouched).
 * stderr_line: the last non-empty line of the attempt's stderr, or NULL. */
enum reg_status reg_run_finish(struct registry *reg, int64_t run, enum reg_run_state state,
                               int has_exit_status, int exit_status, const char *reason,
                               const char *stderr_line);
/* waiting -> planned with the picked values merged into params (lr column too). */
enum reg_status reg_run_free(struct registry *reg, int64_t run, const char *params_json);
/* failed|cancelled -> planned (for --retry-failed), keeping the attempt count. */
enum reg_status reg_run_requeue(struct registry *reg, int64_t run);

/* ---- ingestion ---- */

struct reg_metric_in {
    int64_t step;
    const char *name;
    double value;
    int64_t src_offset;   /* byte offset of the source line: the idempotency key */
};

struct reg_checkpoint_in {
    int64_t step;
    const char *path;
    int64_t bytes;        /* -1 unknown */
    const char *sha256;   /* may be NULL */
};

struct reg_event_in {
    const char *kind, *message, *data_json;
};

/* What one read of one file produced. Rows and the new offset land together. */
struct reg_ingest_in {
    int64_t run;
    int attempt;
    const char *file;               /* "metrics" or "stdout" */
    int64_t offset, line;           /* where reading stopped */
    const struct reg_metric_in *metrics;
    size_t n_metrics;
    const struct reg_checkpoint_in *checkpoints;
    size_t n_checkpoints;
    const struct reg_event_in *events;
    size_t n_events;
};

enum reg_status reg_ingest(struct registry *reg, const struct reg_ingest_in *in);
/* Where reading `file` of a run stopped (0, 0 when never read). */
enum reg_status reg_ingest_offset(struct registry *reg, int64_t run, const char *file,
                                  int64_t *offset, int64_t *line);
/* Forget the offsets of a run (its files were archived for a fresh attempt). */
enum reg_status reg_ingest_reset(struct registry *reg, int64_t run);

/* Best value of metric `name` in the run's current lineage: min, or max when
 * maximize; ties go to the earlier step. *found = 0 when the run logged none. */
enum reg_status reg_run_best_metric(struct registry *reg, int64_t run, const char *name,
                                    int maximize, double *value, int64_t *step, int *found);
/* A checkpoint of a run whose fate is not recorded yet (checkpoints.kept NULL). */
struct reg_ckpt_file {
    int64_t id;         /* checkpoints.id */
    int64_t step;
    char *path;         /* as the trainer wrote it: relative to the run dir, or absolute */
    char *sha256;       /* what the trainer said, or NULL */
};
/* The unsettled checkpoints of the run's current lineage, by step. *out is malloc'd
 * with its strings; release it with reg_ckpt_files_free. */
enum reg_status reg_run_unsettled_checkpoints(struct registry *reg, int64_t run,
                                              struct reg_ckpt_file **out, size_t *n);
void reg_ckpt_files_free(struct reg_ckpt_file *files, size_t n);   /* accepts NULL */

/* What became of one checkpoint: kept (on disk, with its sha256 and bytes) or not. */
struct reg_ckpt_fate {
    int64_t id;
    int kept;
    const char *sha256;   /* kept: the digest; NULL leaves the recorded one */
    int64_t bytes;        /* kept: its size on disk, recorded when the trainer gave none */
};
/* Record the fates in one transaction (all or none). */
enum reg_status reg_checkpoints_settle(struct registry *reg, const struct reg_ckpt_fate *f,
                                       size_t n);

/* The run's last checkpoint in the current lineage, or the one at `step` (>= 0).
 * *path is malloc'd (caller frees) or NULL when there is none. */
enum reg_status reg_run_checkpoint(struct registry *reg, int64_t run, int64_t step,
                                   int64_t *found_step, char **path);

/* ---- the per-sweep lock ---- */

struct reg_lock_holder {
    int64_t pid, proc_start;
    char host[256];
};

/* Is that holder still alive? Supplied by the caller: the registry knows no processes. */
typedef int (*reg_alive_fn)(const struct reg_lock_holder *holder);

/* Take the lock of a sweep, or take it over from a dead holder. REG_ERR_CONFLICT
 * with *holder filled when a live process holds it. */
enum reg_status reg_lock_take(struct registry *reg, int64_t sweep,
                              const struct reg_lock_holder *me, reg_alive_fn alive,
                              struct reg_lock_holder *holder);
enum reg_status reg_lock_drop(struct registry *reg, int64_t sweep, int64_t pid);

/* Replace the recorded file text of a sweep version whose canonical spec is
 * unchanged (only operational settings such as timeout and retries differ), and
 * log it as an event. */
enum reg_status reg_sweep_update_text(struct registry *reg, int64_t sweep, const char *spec_text,
                                      const char *spec_sha256);

/* ---- selections ---- */

enum reg_status reg_record_selection(struct registry *reg, int64_t sweep, const char *kind,
                                     const char *scope, const char *rule,
                                     const char *rules_sha256, const char *inputs_json,
                                     const char *choice_json);

/* 1 when a selection of that kind and scope is recorded for the sweep, else 0;
 * -1 on a registry error. */
int reg_selection_exists(struct registry *reg, int64_t sweep, const char *kind,
                         const char *scope);

/* ---- evaluation jobs ---- */

struct reg_eval_job {
    int64_t rowid, run;          /* run 0 = the baseline (untouched base model) */
    int64_t step;                /* -1 for the baseline */
    char *checkpoint, *dir;      /* may be NULL */
    enum reg_run_state state;    /* planned, running, done, failed, cancelled */
    int attempt;
    int64_t pid, proc_start;
    int64_t job_id;              /* its batch job (Slurm), or 0 */
    char *host;
};

/* Add a job unless one exists for (sweep, run, step). */
enum reg_status reg_eval_job_add(struct registry *reg, int64_t sweep, int64_t run, int64_t step,
                                 const char *checkpoint);
enum reg_status reg_eval_jobs_load(struct registry *reg, int64_t sweep,
                                   struct reg_eval_job **jobs, size_t *n);
void reg_eval_jobs_free(struct reg_eval_job *jobs, size_t n);
enum reg_status reg_eval_job_start(struct registry *reg, int64_t job, int attempt, int64_t pid,
                                   int64_t proc_start, const char *host, const char *dir);
enum reg_status reg_eval_job_finish(struct registry *reg, int64_t job, enum reg_run_state state,
                                    int has_exit_status, int exit_status, const char *reason);

/* An evaluator's summary and its predictions, in one transaction. */
struct reg_prediction_in {
    const char *example_id, *prompt_sha256, *output, *extracted, *gold;
    int correct, extraction_failed;
    int64_t tokens;
};

/* One line of probes.jsonl: what the model said to probe prompt idx. */
struct reg_probe_in {
    int64_t idx;
    const char *prompt, *output;
    int64_t tokens;
};

struct reg_eval_in {
    int64_t sweep, run, step;    /* run 0 and step -1 for the baseline */
    int64_t job;                 /* the eval_jobs row finished `done` with it, or 0 */
    const char *dataset, *contract_sha256;
    int64_t n, correct, extraction_failures, gen_tokens;
    double accuracy, seconds, tok_per_s;
    const char *summary_json;    /* the whole summary line, or NULL */
    const char *quant;           /* the quantised model's type, or NULL: none evaluated */
    int64_t quant_n, quant_correct, quant_gguf_bytes;
    double quant_accuracy, quant_seconds, quant_tok_per_s;
    const struct reg_prediction_in *predictions;
    size_t n_predictions;
    const struct reg_probe_in *probes;
    size_t n_probes;
};
/* In one transaction with in->job's end (when not 0): a crash or a failed write
 * leaves neither, so recording again never counts an evaluation twice. */
enum reg_status reg_record_eval(struct registry *reg, const struct reg_eval_in *in);

#endif
