/*
 * executor.h - where jobs run, behind a small interface: submit, poll, cancel.
 *
 * The local executor (executor_local.c) forks a supervisor per job
 * (mainline-supervise, in its own session and process group) which runs the command and
 * writes its exit status into a file in the job's directory. The Slurm executor
 * (executor_slurm.c) submits a batch script that runs the same supervisor inside the
 * allocation. The directory, not a pipe, is the channel: an orchestrator that died
 * and restarted reads the same files and learns the same facts.
 */
#ifndef MAINLINE_EXECUTOR_H
#define MAINLINE_EXECUTOR_H

#include <stdint.h>
#include <sys/types.h>

#include "strbuf.h"

struct slurm_resources;   /* sweep.h */

struct exec_spec {
    char *const *argv;         /* the command, argv[0] looked up in PATH */
    char *const *env;          /* extra "KEY=VALUE" entries, NULL-terminated (or NULL) */
    const char *cwd;           /* working directory of the command */
    const char *stdout_path;   /* appended to */
    const char *stderr_path;
    const char *status_path;   /* the supervisor writes {"exit": N} or {"signal": N} here */
    const char *name;          /* the job's identity ("mainline/SWEEP@vN/RUN/aATTEMPT"):
                                * a batch system's job name, found again after a crash */
    const struct slurm_resources *slurm;   /* what to ask Slurm for (NULL: defaults) */
    int threads;               /* CPUs the job uses */
    const char *exclude;       /* nodes it must not run on, "a,b" (NULL: none; Slurm's
                                * --exclude, ignored by the local executor) */
    int checkpoints;           /* a trainer: its supervisor hashes the checkpoints it kept
                                * (`mainline-supervise --checkpoints`) */
};

/* A submitted job: locally the supervisor's pid (also its process group) and start
 * time; on Slurm its job id. */
struct exec_proc {
    pid_t pid;
    int64_t start;
    int64_t job_id;
};

enum exec_state {
    EXEC_QUEUED,      /* waiting in a batch system's queue: not running yet */
    EXEC_RUNNING,
    EXEC_ORPHANED,    /* the supervisor is gone but its command still runs (it holds the
                       * job's lock, job_lock.h): still running, its exit status lost */
    EXEC_FINISHED,
};

struct exec_result {
    int known;        /* 0: the job vanished without a status (killed with its supervisor) */
    int exit_code;    /* when it exited */
    int signal;       /* when a signal ended it (exit_code is then 128 + signal) */
    int status_lost;  /* known from the supervisor's own exit status: it could not write
                       * the status file (a read-only or full run directory) */
    int resubmit;     /* ended by its batch system, not by its code (time limit,
                       * preemption, a failed node): resubmit it resuming, not a failure */
    char state[24];   /* the batch system's last state (COMPLETED, TIMEOUT...), or "" */
    char reason[96];  /* and its reason, when it gave one */
    /* Where and how long a batch job ran, as its batch system said ("" and 0: not said) */
    char partition[64];
    char nodes[256];  /* the node list ("vm", "gpu[01-02]") */
    int has_elapsed, has_max_rss;
    int64_t elapsed_s;
    int64_t max_rss;  /* bytes: the highest resident set of its steps (Slurm: sacct's
                       * MaxRSS, which needs accounting and one sample in the job) */
    int acct_confirmed;   /* the accounting (sacct) confirmed its end state */
};

struct executor {
    const char *name;
    /* Start a job. Where `release` is not NULL the job is submitted held: it runs only
     * once released, after its caller has recorded *proc. */
    int (*submit)(struct executor *ex, const struct exec_spec *spec, struct exec_proc *proc,
                  struct strbuf *err);
    int (*release)(struct executor *ex, const struct exec_proc *proc, struct strbuf *err);
    /* A job submitted under `name` that nobody recorded (its orchestrator died between
     * submitting and recording): 1 and *proc, or 0. NULL where jobs cannot be found by
     * name (the local executor finds them through the pid file instead). */
    int (*find)(struct executor *ex, const char *name, struct exec_proc *proc);
    /* Whether a job found recorded is still alive (queued or running). */
    int (*alive)(struct executor *ex, const struct exec_proc *proc, const char *status_path);
    enum exec_state (*poll)(struct executor *ex, const struct exec_proc *proc,
                            const char *status_path, struct exec_result *res);
    /* Send sig to the job's whole process group (also when only its command
     * outlived the supervisor). */
    int (*cancel)(struct executor *ex, const struct exec_proc *proc, const char *status_path,
                  int sig);
    void *priv;
};

/* The fork/exec executor. `supervisor` is the mainline-supervise program
 * (supervise.c), which must outlive the orchestrator. */
void executor_local_init(struct executor *ex, const char *supervisor);

/* The Slurm executor (sbatch, squeue, scontrol, scancel from PATH). `supervisor` must
 * be reachable at the same path on the nodes (a shared filesystem). Frees nothing
 * the caller owns; executor_slurm_free() releases its own state. */
void executor_slurm_init(struct executor *ex, const char *supervisor);
void executor_slurm_free(struct executor *ex);

/* The supervisor's own pid and start time, from the file it writes beside the
 * status file before starting the command. 0, or -1 when there is none. */
int exec_read_pid_file(const char *status_path, struct exec_proc *proc);

/* Read a status file written by the supervisor. 0 and *res filled, or -1. */
int exec_read_status(const char *path, struct exec_result *res);

#endif
