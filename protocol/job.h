/*
 * job.h - the job protocol: what a trainer or evaluator process gets from the
 * executor (environment variables, a config file) and gives back (files in its run
 * directory, an exit status). The built-in trainer and evaluator, the local
 * executor and the supervisor all use these names; docs/protocol.md is the same
 * contract in prose, for trainers written in any language.
 */
#ifndef MAINLINE_PROTOCOL_JOB_H
#define MAINLINE_PROTOCOL_JOB_H

/* ---- exit statuses of a job ---- */

enum job_exit {
    JOB_EXIT_OK = 0,
    JOB_EXIT_FAILED = 1,        /* anything else that went wrong; retried */
    JOB_EXIT_BAD_CONFIG = 2,    /* the config cannot work: never retried */
    JOB_EXIT_DIVERGED = 3,      /* the loss became NaN or infinite: never retried */
    JOB_EXIT_UNREADABLE = 4,    /* an input file cannot be read or parsed */
    JOB_EXIT_TIME_LIMIT = 5,    /* checkpointed and stopped before a time limit (SIGUSR1):
                                   resume it; not a failure */
    JOB_EXIT_NOT_FOUND = 127,   /* the command does not exist (what a shell reports) */
    JOB_EXIT_CANCELLED = 143,   /* 128 + SIGTERM, what a shell reports */
};

/* ---- environment variables a job gets ---- */

#define JOB_ENV_RUN_DIR "MAINLINE_RUN_DIR"    /* the job's directory (absolute) */
#define JOB_ENV_CONFIG "MAINLINE_CONFIG"      /* its config.json */
#define JOB_ENV_METRICS "MAINLINE_METRICS"    /* where to append metrics lines */
#define JOB_ENV_ATTEMPT "MAINLINE_ATTEMPT"    /* 1 for the first attempt */
#define JOB_ENV_RESUME "MAINLINE_RESUME"      /* 1: continue from the last checkpoint */
#define JOB_ENV_THREADS "MAINLINE_THREADS"    /* the job's share of the cores */

/* ---- files of a run directory ---- */

#define JOB_FILE_CONFIG "config.json"
#define JOB_FILE_METRICS "metrics.jsonl"
#define JOB_FILE_STDOUT "stdout.log"
#define JOB_FILE_STDERR "stderr.log"
#define JOB_FILE_EXIT "exit.json"             /* written by the supervisor at the end */
#define JOB_FILE_CKPT_DIGESTS "checkpoints.sha256"  /* the supervisor's, before exit.json */
#define JOB_FILE_LOCK "job.lock"              /* held by the live job (exec/job_lock.h) */
#define JOB_DIR_CHECKPOINTS "checkpoints"

/* ---- what mainline adds to an evaluator's summary ---- */

/* Lines of predictions.jsonl and probes.jsonl that held a NUL (\u0000, replaced with
 * U+FFFD when recorded); present only when there were any. */
#define JOB_EVAL_NUL_OUTPUTS "nul_outputs"

#endif
