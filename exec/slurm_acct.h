/*
 * slurm_acct.h - what Slurm's squeue and sacct print about a job, parsed: their time
 * and size formats, squeue's line, sacct's lines folded into one record per job, and
 * running sacct for several jobs at once. The executor (executor_slurm.c) decides when
 * to ask; nothing here keeps state between calls. Unit-tested in
 * tests/unit/test_slurm_acct.c.
 */
#ifndef MAINLINE_SLURM_ACCT_H
#define MAINLINE_SLURM_ACCT_H

#include <stddef.h>
#include <stdint.h>

/* A time as Slurm prints one, in seconds: squeue's %M ("0:05", "1:02:03",
 * "1-02:03:04"), sacct's Elapsed ("00:00:05"), and sbatch's other spellings
 * ("M", "D-H", "D-H:M"). -1 when it is none ("", "INVALID", "UNLIMITED"). */
int64_t slurm_parse_elapsed(const char *s);

/* A size as sacct prints one, in bytes: a plain number is bytes (what --noconvert
 * prints), a K, M, G, T or P suffix multiplies by 1024 per step ("96720K",
 * "94.45M"). -1 when empty or not a size. */
int64_t slurm_parse_size(const char *s);

/* One line of `squeue -h -o SLURM_SQUEUE_FORMAT`. */
#define SLURM_SQUEUE_FORMAT "%i|%T|%P|%N|%M|%r"
struct slurm_squeue_line {
    int64_t id;
    char state[24];
    char partition[64];
    char nodes[256];          /* "" while pending */
    int64_t elapsed_s;        /* -1 unknown */
    char reason[96];          /* "" for Slurm's "None" */
};
/* 0 and *out, or -1 when the line is not one. */
int slurm_squeue_parse(const char *line, struct slurm_squeue_line *out);

/* A job as sacct knows it: its allocation's line for the state, exit code, elapsed
 * time, nodes and partition; the highest MaxRSS of its steps (the batch step, srun
 * steps: the allocation's own line has none). */
struct slurm_acct {
    int64_t id;
    int listed;               /* sacct printed its allocation line */
    char state[24];           /* first word: "CANCELLED by 0" is CANCELLED */
    int exit_code, exit_signal;   /* ExitCode "code:signal" */
    int64_t elapsed_s;        /* -1 unknown */
    int64_t max_rss;          /* bytes, -1 when no step reported one */
    int batch_listed;         /* its .batch step's line was there */
    int batch_ended;          /* and in an ended state */
    char nodes[256];          /* "" or "None assigned" (never ran) are not nodes */
    char partition[64];
};
/* The columns slurm_acct_line reads, for `sacct -n -P --noconvert -o ...`. */
#define SLURM_SACCT_FIELDS "JobIDRaw,State,ExitCode,Elapsed,MaxRSS,NodeList,Partition"

/* Reset *a for job id (nothing known). */
void slurm_acct_init(struct slurm_acct *a, int64_t id);
/* Fold one sacct line into the record among accts[0..n) with its job id. 1 when it
 * belonged to one, 0 when to none, -1 when it is not a line of those fields. */
int slurm_acct_line(const char *line, struct slurm_acct *accts, size_t n);
/* A state after which nothing more happens to the job (COMPLETED, FAILED,
 * CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL...). */
int slurm_state_ended(const char *state);
/* sacct has the job's end: its allocation ended, and so did its batch step when it
 * ran at all (the step's line, with MaxRSS, may come later than the allocation's). */
int slurm_acct_settled(const struct slurm_acct *a);

enum slurm_acct_answer {
    SLURM_ACCT_OK,            /* sacct answered (jobs it does not list yet: lag) */
    SLURM_ACCT_FAILED,        /* it did not answer this time (slurmdbd down, timeout) */
    SLURM_ACCT_NONE,          /* no accounting: no sacct, or "accounting storage is
                               * disabled"; asking again will not help */
};
/* One sacct for the jobs accts[0..n) (each initialised with its id), filling what
 * it lists. */
enum slurm_acct_answer slurm_acct_query(struct slurm_acct *accts, size_t n, double timeout_s);

#endif
