/*
 * scheduler.h - `mainline run`: execute the runs of a sweep, in parallel, stage by
 * stage, recording everything in the registry and surviving crashes.
 *
 * One scheduler owns one sweep version for the length of a `mainline run`. It
 * holds the sweep's lock in the registry, adopts or reaps runs a dead
 * orchestrator left `running`, starts train jobs and then evaluation jobs through
 * an executor, ingests what the jobs write, resolves stage picks, and hands out
 * waiting runs as soon as their picks are known.
 *
 * It prints nothing: what happens goes to the caller's struct sched_report (the
 * CLI draws it: cli/run_progress.c), and what is left at the end is a struct
 * sched_outcome the caller turns into a summary and an exit code. The pieces are
 * in the exec/ files named in exec/README.md; sched_internal.h is what they share.
 */
#ifndef MAINLINE_SCHEDULER_H
#define MAINLINE_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#include "ingest.h"
#include "registry.h"
#include "strbuf.h"

struct sched;

/*
 * What the scheduler tells its caller while it works. Every function may be NULL
 * (nothing is said); `data` is passed back to each. Texts are borrowed for the
 * length of the call and carry no newline.
 */
struct sched_report {
    /* A state change ("start  RUN (attempt 1)", "done   RUN", a pick, an adopted
     * job), elapsed_s seconds after sched_open() began. */
    void (*note)(void *data, double elapsed_s, const char *line);
    /* Something failed and the run goes on (a registry write, a job not started). */
    void (*error)(void *data, const char *msg);
    /* Something the next look may fix (lines of a job's files not ingested yet). */
    void (*warning)(void *data, const char *msg);
    /* Once per look at the jobs: progress may have changed (see sched_progress). */
    void (*tick)(void *data, const struct sched *s);
    void *data;
};

struct sched_options {
    int jobs;                 /* parallel jobs; 0: default_jobs locally, as many as there
                               * are runs to start on a batch system */
    int default_jobs;         /* this machine's share of cores per job */
    int threads_per_run;      /* BLAS threads each job may use */
    const char *stage;        /* only runs of this stage (NULL: all) */
    char **only;              /* only these run ids (NULL-terminated, or NULL) */
    int retry_failed;         /* start failed/cancelled runs again */
    int fail_fast;            /* the first failure cancels the rest */
    double kill_grace_s;      /* SIGTERM -> SIGKILL delay */
    double poll_s;            /* longest sleep between looks at the jobs */
    const char *executor;     /* "local" or "slurm"; NULL: the sweep's `executor`, else local */
    int detach;               /* submit what can start and return: the jobs run on, a later
                               * `mainline run` attaches to them */
    double registry_wait_s;   /* how long an ended job's rows and end may wait for a
                               * busy or full registry before the run is left `running`
                               * for the next `mainline run` */
    const struct sched_report *report;   /* borrowed for the scheduler's life; NULL: silent */
};

/* Why sched_open() did not set up. */
enum sched_status {
    SCHED_OK = 0,
    SCHED_NO_SWEEP,           /* the registry has no sweep of that name */
    SCHED_LOCKED,             /* another live `mainline run` holds the sweep's lock */
    SCHED_ERROR,              /* the registry, the recorded spec or a program failed */
};

/* Set up: load the sweep, take its lock, reconcile leftover `running` runs (said
 * through opt->report). *out is always set, and the caller frees it with
 * sched_free() either way. When it fails, returns why with the message (one line
 * per problem) appended to *err; the registry stays consistent. */
enum sched_status sched_open(struct sched **out, struct registry *reg,
                             const char *registry_path, const char *sweep_name,
                             const struct sched_options *opt, struct strbuf *err);
/* Run until nothing is left to do (or Ctrl-C). */
void sched_run(struct sched *s);
/* Drop the sweep's lock and free. Jobs still running (there are none after
 * sched_run()) outlive it under their supervisors. Accepts NULL. */
void sched_free(struct sched *s);

/* Take the lock of the sweep version `sweep` (row id; `name` for the message) for this
 * process as sched_open() does, a dead holder's taken over: SCHED_OK, SCHED_LOCKED with
 * the live holder named in *err, or SCHED_ERROR. `mainline import` holds it while it
 * records runs into a sweep. Released by sched_lock_release(). */
enum sched_status sched_lock_sweep(struct registry *reg, int64_t sweep, const char *name,
                                   struct strbuf *err);
void sched_lock_release(struct registry *reg, int64_t sweep);

/* Called from the signal handler: ask the scheduler to stop (twice: kill now). */
void sched_interrupt(int sig);

/* ---- what a progress display reads (between sched_open and sched_free) ---- */

struct sched_progress {
    double t0;                /* when sched_open() began (clock_now_s) */
    size_t runs, done, failed;   /* runs of the sweep, and how many are done or failed */
    size_t active;            /* jobs running now */
};

/* One active job. */
struct sched_job_view {
    const char *name;         /* its run id, or "baseline" (borrowed) */
    int eval;                 /* an evaluation job (else a trainer) */
    int64_t eval_step;        /* the step of the checkpoint evaluated (< 0: the base model) */
    double started;           /* when it started (clock_now_s) */
    const struct ingest_stats *stats;   /* what its metrics said so far (borrowed) */
};

void sched_progress(const struct sched *s, struct sched_progress *p);
/* Active job i, 0 <= i < progress.active. */
void sched_job_view(const struct sched *s, size_t i, struct sched_job_view *v);

/* ---- what is left at the end ---- */

/* A selected run that still waits, and why ("lr from lr_select: ..."). */
struct sched_wait {
    char *run_id, *why;
};

struct sched_outcome {
    const char *sweep;        /* the sweep's name (borrowed from the scheduler) */
    int counts[RUN_STATE_COUNT];   /* runs by state */
    double elapsed_s;         /* since sched_open() began */
    struct sched_wait *waits; /* in plan order (owned) */
    size_t n_waits;
    int unfinished;           /* a selected run is not done: failed, cancelled or not started */
    int eval_failures;        /* evaluations that failed in this invocation */
    int interrupted;          /* Ctrl-C (or SIGTERM, SIGHUP) arrived */
    int runs_dir_failed;      /* runs/SWEEP could not be made: nothing started */
    int unrecorded;           /* jobs ended whose rows or end the registry would not take
                               * within registry_wait_s: left `running` */
    int detached;             /* --detach: jobs were left running on purpose */
};

/* Fill *o after sched_run(); free it with sched_outcome_free(). */
void sched_outcome(const struct sched *s, struct sched_outcome *o);
void sched_outcome_free(struct sched_outcome *o);

#endif
