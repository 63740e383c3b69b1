/*
 * job_lock.h - one live job per job directory.
 *
 * The supervisor takes an exclusive flock(2) on <dir>/job.lock before it starts the
 * command, and the command inherits the open descriptor: the lock is held while
 * either of them (or anything the command started that kept the descriptor) lives,
 * and the kernel drops it when the last of them exits, however it exits. A
 * supervisor killed with -9 therefore leaves the lock held by its command, and the
 * orchestrator, which looks at the lock before it starts anything in a directory,
 * waits for that command instead of starting a second copy beside it.
 *
 * The file holds "PID START" of the command (proc.h), for messages and for
 * signalling a command that outlived its supervisor.
 */
#ifndef MAINLINE_JOB_LOCK_H
#define MAINLINE_JOB_LOCK_H

#include <stdint.h>
#include <sys/types.h>

#include "strbuf.h"

/* The exit status of a supervisor that did not start its command: the lock was
 * held by another job, or could not be taken (its stderr says which). */
#define JOB_LOCK_EXIT_REFUSED 75

enum job_lock_state {
    JOB_LOCK_FREE = 0,   /* no live job holds it (or there is no lock file) */
    JOB_LOCK_HELD,       /* a live job holds it */
    JOB_LOCK_ERROR,      /* it cannot be looked at: *err says why */
};

/* Take the lock of `dir` for a job about to start. JOB_LOCK_FREE: taken, *fd is
 * the descriptor (not close-on-exec: the command inherits it); JOB_LOCK_HELD:
 * another job holds it; JOB_LOCK_ERROR with *err. */
enum job_lock_state job_lock_take(const char *dir, int *fd, struct strbuf *err);

/* Record the command's pid and start time in the lock file held through fd. */
void job_lock_set_owner(int fd, pid_t pid, int64_t start);

/* Whether a live job holds the lock of `dir` (it is taken and dropped at once to
 * find out, so call it only where no job of that directory may start meanwhile:
 * the orchestrator, which is the one that starts them). */
enum job_lock_state job_lock_probe(const char *dir, struct strbuf *err);

/* The command recorded in the lock of `dir`: 0 and *pid, *start, or -1. */
int job_lock_owner(const char *dir, pid_t *pid, int64_t *start);

#endif
