/*
 * sched_internal.h - what the pieces of the scheduler share; exec/ only (cli/ sees
 * scheduler.h). The pieces, one concern a file:
 *
 *   scheduler.c      the poll loop, choosing what to start, signals, the outcome
 *   sched_setup.c    sched_open/sched_free: the recorded spec, the programs, the lock
 *   sched_lock.c     the sweep's lock: one live `mainline run` per sweep
 *   sched_report.c   saying things through the caller's struct sched_report
 *   reconcile.c      what a dead orchestrator left: adopt live jobs, finish dead ones
 *   job_slots.c      the active jobs: slots, ingestion, looking at them, stopping them
 *   job_exit.c       how an ended job's exit status and stop reason map to a run state
 *   job_config.c     what a job gets: config.json/eval.json, environment, argv
 *   train_jobs.c     starting a run's trainer and recording its end
 *   eval_jobs.c      planning, starting and recording evaluations
 *   picks.c          stage picks and why a waiting run waits
 *
 * Every state change goes to the registry first, so killing the orchestrator at
 * any line leaves a state the next one understands.
 */
#ifndef MAINLINE_SCHED_INTERNAL_H
#define MAINLINE_SCHED_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "executor.h"
#include "ingest.h"
#include "reg_exec.h"
#include "scheduler.h"
#include "sweep.h"

enum job_kind { JOB_TRAIN, JOB_EVAL };

/* Why the scheduler stopped a job itself; JOB_STOP_NONE: it ended on its own. */
enum job_stop {
    JOB_STOP_NONE = 0,
    JOB_STOP_CANCELLED,       /* Ctrl-C or --fail-fast */
    JOB_STOP_TIMEOUT,         /* it ran past the sweep's `timeout` */
    JOB_STOP_COULD_NOT_START, /* the executor could not start it */
};

struct job {
    enum job_kind kind;
    size_t run;               /* index into sched.runs, or (size_t)-1 (the baseline) */
    int64_t eval_rowid;       /* eval jobs */
    int64_t eval_step;
    int attempt;
    struct exec_proc proc;    /* pid 0: never started */
    char *dir, *status_path, *metrics_path, *stdout_path;
    double started;           /* monotonic seconds */
    double term_at;           /* when SIGTERM was sent, 0 = not yet */
    enum job_stop stop;       /* the first reason we stopped it */
    struct ingest_stats stats;
    int64_t seen_metrics, seen_stdout;   /* file sizes at the last ingestion (-1: never) */
    int adopted;              /* found running by this invocation, not started by it */
    int supervisor_gone;      /* its supervisor died and its command ran on (said once) */
    int ended;                /* it ended (res says how); what it wrote is not all
                               * recorded yet: the registry refused, and is retried */
    struct exec_result res;
    double ended_at;          /* when it was seen to end (monotonic seconds) */
    int warned;               /* a failure to ingest was said; quiet until one succeeds */
    int record_warned;        /* a refused record of its end was said */
};

/* Nodes a run's attempts failed on (a job's whole node list counts as one). */
struct node_failures {
    char *nodes;        /* "vm", "gpu[01-02]" */
    int count;          /* attempts that failed there, in this invocation */
};

/* Per-run notes of one invocation, kept beside sched.runs. */
struct run_note {
    int tries;          /* attempts started by this invocation */
    int orphaned;       /* found running with nobody watching: restart it */
    int no_retry;       /* failed in a way a retry cannot fix */
    int resubmits;      /* attempts ended by the batch system or a time limit */
    int cancelled;      /* cancelled from outside (scancel): not started again by this
                         * invocation */
    struct node_failures *node_failures;   /* where its attempts failed (train_jobs.c) */
    size_t n_node_failures;
};

struct sched {
    struct registry *reg;
    struct executor ex;
    struct sched_options opt;
    struct sched_report report;   /* opt.report's functions, or none */
    struct reg_exec_sweep sw;
    struct sweep spec;        /* the recorded spec, parsed again: commands, stages, picks */
    struct reg_exec_run *runs;
    struct run_note *notes;   /* one per run */
    size_t n_runs;
    struct job *jobs;         /* active jobs */
    size_t n_jobs, alloc_jobs;
    char *root;               /* directory holding runs/ (the registry's directory) */
    char *bindir;             /* where mainline-train and mainline-eval live */
    char *self_exe;
    char *supervisor;         /* bindir/mainline-supervise */
    struct stdout_rules *rules;
    int stopping;             /* Ctrl-C or --fail-fast: start nothing new */
    int killing;              /* Ctrl-C twice: kill the jobs, wait for nothing */
    int failures;             /* failed attempts in this invocation (for --fail-fast) */
    int eval_failures;        /* evaluations that failed */
    int64_t *unstartable;     /* evaluations that could not start: not tried again */
    size_t n_unstartable, alloc_unstartable;
    int runs_dir_failed;      /* runs/SWEEP cannot be made: nothing started */
    double registry_refused_at;   /* since when the registry refuses every start (busy or
                                   * full; 0: it does not) */
    int unrecorded;           /* jobs that ended but whose end the registry refused until
                               * opt.registry_wait_s ran out: left `running` */
    int started, finished;
    double t0;
};

/* ---- sched_report.c: saying things (nothing is printed in exec/) ---- */

void sched_note(struct sched *s, const char *fmt, ...) ATTR_PRINTF(2, 3);
void sched_error(struct sched *s, const char *fmt, ...) ATTR_PRINTF(2, 3);
void sched_warning(struct sched *s, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* A registry call's status: 0 when REG_OK, else -1 and "DOING: <registry message>"
 * said as an error. */
int sched_reg_check(struct sched *s, enum reg_status st, const char *doing);

/* ---- scheduler.c ---- */

/* The registry refused to record a start for now (busy or full; `why` its
 * message): nothing started, the next look tries again. Said once; the loop gives
 * up after opt.registry_wait_s without a start. */
void sched_registry_refused(struct sched *s, const char *why);

/* Ctrl-C, SIGTERM and SIGHUP ask to stop (sched_interrupt); SIGCHLD ends a wait. */
void sched_install_signals(void);

/* The run is one --stage/--only asked for. */
int sched_selected(const struct sched *s, const struct reg_exec_run *r);
/* Every run of every stage r's stage needs is done; else 0 and *blocker (if not
 * NULL) names the stage (borrowed from the spec). */
int sched_needs_done(const struct sched *s, const struct reg_exec_run *r, const char **blocker);

/* ---- sched_lock.c ---- */

/* Take the sweep's lock: SCHED_OK, SCHED_LOCKED (who holds it in *err) or
 * SCHED_ERROR (the registry's message in *err). */
enum sched_status sched_lock_take(struct sched *s, struct strbuf *err);
/* Give it back, if this process holds it. */
void sched_lock_drop(struct sched *s);

/* ---- reconcile.c ---- */

/* Runs and evaluations found `running`: adopt the live ones, finish the dead ones. */
void reconcile_orphans(struct sched *s);
/* A supervisor of run r left in dir by an orchestrator that died right after
 * forking it: adopted (1), or none there (0). */
int reconcile_unrecorded(struct sched *s, struct reg_exec_run *r, const char *dir);

/* ---- job_slots.c ---- */

/* A new active job (zeroed but for run = -1 and seen_* = -1), owned by s->jobs:
 * the pointer lasts until the next job_add. */
struct job *job_add(struct sched *s);
/* Drop the most recently added job (job_add undone). */
void job_drop_last(struct sched *s);
void job_free(struct job *j);
/* The run a job belongs to, or NULL (the baseline). */
struct reg_exec_run *job_run(const struct sched *s, const struct job *j);
/* dir and the paths of the files the job writes in it (owned by the job). */
void job_set_paths(struct job *j, const char *dir);
/* "pid N" or "Slurm job N" in buf. */
const char *proc_text(const struct exec_proc *proc, char *buf, size_t len);
/* "RUN", "RUN eval@STEP" or "baseline eval" in buf. */
const char *job_name(const struct sched *s, const struct job *j, char *buf, size_t len);
/* Read what a train job wrote since last time (`ended`: the last line too, newline
 * or not). 0, or -1 when something could not be read or recorded (said as a
 * warning the first time; the lines stay in the file for the next look). */
int job_ingest(struct sched *s, struct job *j, int ended);
/* The name a batch system knows the job by ("mainline/SWEEP@vN/RUN/aATTEMPT"): how
 * a job submitted but never recorded is found again. Appended to *sb. */
void job_batch_name(const struct sched *s, const struct job *j, struct strbuf *sb);
/* Record where the job runs (its pid, or its batch job under `name`). */
enum reg_status job_record_proc(struct sched *s, const struct job *j, const char *name);
/* Submit argv with env through the executor (stderr.log in the job's directory),
 * record where it runs, and release it where the executor submits held. 0, or -1
 * with the message in *err and j->stop = JOB_STOP_COULD_NOT_START. */
int job_submit(struct sched *s, struct job *j, char **argv, char **env, struct strbuf *err);
/* Look at every active job: ingest, enforce timeouts, record and drop the ended. */
void jobs_check(struct sched *s);
/* Signal every active job (but `except`, may be NULL) with a stop reason. */
void jobs_stop(struct sched *s, const struct job *except, enum job_stop why, int sig);

/* ---- job_exit.c ---- */

/* What an ended job's attempt comes to. */
struct job_verdict {
    enum reg_run_state state; /* RUN_DONE, RUN_FAILED or RUN_CANCELLED */
    int no_retry;             /* failed in a way a retry cannot fix */
    int resubmit;             /* ended by its batch system or its time limit, not its code:
                               * start it again, resuming, without counting a failure */
    int cancelled_outside;    /* cancelled in the batch system (scancel), not by us */
    char reason[600];         /* "" when done */
    char stderr_line[160];    /* the last non-empty line of its stderr.log, "" when none */
};

/* The text of a stop reason ("cancelled", "timeout after 5 s", "could not start"). */
const char *job_stop_text(enum job_stop stop, double timeout_s, char *buf, size_t len);
void job_verdict(const struct job *j, const struct exec_result *res, double timeout_s,
                 struct job_verdict *v);

/* ---- job_config.c ---- */

/* The config.json of a train job / eval.json of an evaluation (docs/protocol.md).
 * New references. r is NULL for the baseline evaluation. */
json_t *job_config_train(struct sched *s, const struct reg_exec_run *r, int attempt,
                         int resume, const char *dir);
json_t *job_config_eval(struct sched *s, const struct reg_eval_job *e,
                        const struct reg_exec_run *r, const char *dir);
/* Write a config atomically, indented, keys sorted. 0, or -1 with *err. */
int job_config_write(const char *path, const json_t *cfg, struct strbuf *err);
/* The {placeholders} a job's command may use (run_id, stage may be NULL), with
 * {base_model} from cfg. New reference. */
json_t *job_vars(struct sched *s, const char *dir, const char *config, int attempt,
                 int resume, const char *run_id, const char *stage, const json_t *cfg);
/* The job's argv: `cmd` (the sweep's command, or NULL for the built-in `program`)
 * expanded with vars and params. NULL-terminated, freed with argv_free; NULL with
 * *err when a placeholder has no value. */
char **job_argv(struct sched *s, const json_t *cmd, const char *program, int resume,
                const json_t *vars, const json_t *params, struct strbuf *err);
/* Its environment entries: the protocol's variables and the thread budget.
 * NULL-terminated, freed with argv_free. */
char **job_env(struct sched *s, const char *dir, const char *config, int attempt, int resume);

/* ---- train_jobs.c ---- */

/* Start run i (resuming or starting over), or adopt its unrecorded supervisor. */
void train_job_start(struct sched *s, size_t i);
/* Record how a train job ended (its lines are ingested). 0, or -1 when the
 * registry refused: nothing changed, call again later. */
int train_job_finished(struct sched *s, struct job *j, const struct exec_result *res);
/* A run that ended done: record which of its checkpoints are still on disk (hashed
 * once, now) and which `keep:` deleted; a failure to is a warning. */
void train_job_ckpt_fate(struct sched *s, const struct reg_exec_run *r);
/* The nodes run i's next attempts avoid: those where NODE_FAILURES_EXCLUDE of its
 * attempts failed, "a,b" (malloc'd), or NULL when none. */
char *train_job_exclude(const struct sched *s, size_t i);
/* Free a run note's node failures. */
void run_note_free(struct run_note *n);

/* ---- eval_jobs.c ---- */

/* Plan the evaluation of the checkpoint(s) the frozen selection rule looks at. */
void eval_jobs_plan(struct sched *s, const struct reg_exec_run *r);
/* Start planned (or retried) evaluations while there are free slots. */
void eval_jobs_start(struct sched *s);
/* 1 while a planned evaluation may still start. */
int eval_jobs_waiting(struct sched *s);
/* Record how an evaluation ended, with its results. 0, or -1 when the registry
 * refused: nothing changed, call again later. */
int eval_job_finished(struct sched *s, struct job *j, const struct exec_result *res);

/* ---- picks.c ---- */

/* Release waiting runs whose needed stages picked. Returns the number released,
 * or -1 on a registry error (said as an error). */
int picks_resolve(struct sched *s);
/* Why waiting run i still waits, in buf. */
const char *picks_blocker(const struct sched *s, size_t i, char *buf, size_t len);

#endif
