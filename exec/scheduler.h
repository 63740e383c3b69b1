/*
 * scheduler.h - `mainline run`: execute the runs of a sweep, in parallel, stage by
 * stage, recording everything in the registry and surviving crashes.
 *
 * One scheduler owns one sweep version for the length of a `mainline run`. It
 * holds the sweep's lock in the registry, adopts or reaps runs a dead
 * orchestrator left `running`, starts train jobs and then evaluation jobs through
 * an executor, ingests what the jobs write, resolves stage picks, and hands out
 * waiting runs as soon as their picks are known.
 */
#ifndef MAINLINE_SCHEDULER_H
#define MAINLINE_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#include "executor.h"
#include "ingest.h"
#include "reg_exec.h"
#include "sweep.h"

struct sched_options {
    int jobs;                 /* parallel jobs */
    int threads_per_run;      /* BLAS threads each job may use */
    const char *stage;        /* only runs of this stage (NULL: all) */
    char **only;              /* only these run ids (NULL-terminated, or NULL) */
    int retry_failed;         /* start failed/cancelled runs again */
    int fail_fast;            /* the first failure cancels the rest */
    int quiet;                /* no progress lines */
    double kill_grace_s;      /* SIGTERM -> SIGKILL delay */
    double poll_s;            /* longest sleep between looks at the jobs */
};

enum job_kind { JOB_TRAIN, JOB_EVAL };

struct job {
    enum job_kind kind;
    size_t run;               /* index into sched.runs (train), or (size_t)-1 */
    int64_t eval_rowid;       /* eval jobs */
    int64_t eval_step;
    int attempt;
    struct exec_proc proc;
    char *dir, *status_path, *metrics_path, *stdout_path;
    double started;           /* monotonic seconds */
    double term_at;           /* when SIGTERM was sent, 0 = not yet */
    const char *stop_reason;  /* why we stopped it: "timeout", "cancelled", ... */
    struct ingest_stats stats;
    int64_t seen_metrics, seen_stdout;   /* file sizes at the last ingestion (-1: never) */
};

/* Per-run notes of one invocation, kept beside sched.runs. */
struct run_note {
    int tries;          /* attempts started by this invocation */
    int orphaned;       /* found running with nobody watching: restart it */
    int no_retry;       /* failed in a way a retry cannot fix */
};

struct sched {
    struct registry *reg;
    struct executor ex;
    struct sched_options opt;
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
    int failures;             /* failed attempts in this invocation (for --fail-fast) */
    int eval_failures;        /* evaluations that failed */
    int started, finished;
    double t0;
    int tty;
    double last_progress;
    int progress_lines;       /* lines drawn last time on a TTY */
};

/* Why sched_open() did not set up. */
enum sched_status {
    SCHED_OK = 0,
    SCHED_NO_SWEEP,           /* the registry has no sweep of that name */
    SCHED_LOCKED,             /* another live `mainline run` holds the sweep's lock */
    SCHED_ERROR,              /* the registry, the recorded spec or a program failed */
};

/* Set up: load the sweep, take its lock, reconcile leftover `running` runs.
 * Prints nothing when it fails: returns why, with the message appended to *err
 * (the registry stays consistent). sched_free() either way. */
enum sched_status sched_open(struct sched *s, struct registry *reg, const char *registry_path,
                             const char *sweep_name, const struct sched_options *opt,
                             struct strbuf *err);
/* Run until nothing is left to do (or Ctrl-C). Returns an exit code. */
int sched_run(struct sched *s);
void sched_free(struct sched *s);

/* Called from the signal handler: ask the scheduler to stop (twice: kill now). */
void sched_interrupt(int sig);

/* ---- pieces in other files ---- */

/* picks.c: release waiting runs whose needed stages picked. Returns the number
 * released, or -1 on a registry error (printed). */
int picks_resolve(struct sched *s);
/* picks.c: why a waiting run still waits (static buffer). */
const char *picks_blocker(struct sched *s, size_t run);

/* progress.c */
void progress_draw(struct sched *s, int force);
void progress_note(struct sched *s, const char *fmt, ...) ATTR_PRINTF(2, 3);

#endif
