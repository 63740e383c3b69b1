/*
 * supervise.c - `mainline-supervise STATUS_FILE -- COMMAND...`: the small process
 * that stands between the orchestrator and each job (see executor.h).
 *
 * It takes the job directory's lock (job_lock.h; the command inherits it, so the
 * lock outlives a supervisor killed with -9), writes "<STATUS_FILE>.pid" (its pid
 * and start time) before starting the command, waits for it, forwards
 * SIGTERM/SIGINT/SIGHUP to it, and writes {"exit": N} or {"signal": N} to STATUS_FILE,
 * so whoever watches next learns how the job ended. SIGUSR1 is forwarded too: Slurm
 * sends it before a job's time limit.
 * With --checkpoints (a training job), when the command exits 0 it first hashes the
 * checkpoints the command's metrics.jsonl names and that are still there, on the job's
 * node, into checkpoints.sha256 beside STATUS_FILE (ckpt_digests.h): the orchestrator
 * then records them without reading a byte of them in its loop.
 * It links only libc and mainline's small helpers: it starts once
 * per job, and its start-up is orchestration overhead.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckpt_digests.h"
#include "fsutil.h"
#include "job.h"
#include "job_lock.h"
#include "proc.h"


static volatile sig_atomic_t child_pid;

static void forward_signal(int sig)
{
    if (child_pid > 0)
        kill(child_pid, sig);
}

static int write_status(const char *path, int status)
{
    char buf[64];
    if (WIFSIGNALED(status))
        snprintf(buf, sizeof(buf), "{\"signal\": %d}\n", WTERMSIG(status));
    else
        snprintf(buf, sizeof(buf), "{\"exit\": %d}\n", WEXITSTATUS(status));
    struct strbuf err = STRBUF_INIT;
    int rc = write_file_atomic(path, buf, strlen(buf), &err);
    if (rc < 0)
        fprintf(stderr, "mainline-supervise: %s\n", err.buf);
    sb_free(&err);
    return rc;
}

/*
 * "<status>.pid" holds "PID START": written before the command starts, so an
 * orchestrator that crashed between forking us and recording our pid can still
 * find us and never start the same job twice.
 */
static void write_pid_file(const char *status_path)
{
    struct strbuf path = STRBUF_INIT, text = STRBUF_INIT, err = STRBUF_INIT;
    sb_addf(&path, "%s.pid", status_path);
    sb_addf(&text, "%d %lld\n", (int)getpid(), (long long)proc_start_time(getpid()));
    if (write_file_atomic(path.buf, text.buf, text.len, &err) < 0)
        fprintf(stderr, "mainline-supervise: %s\n", err.buf);
    sb_free(&path);
    sb_free(&text);
    sb_free(&err);
}

/* A failure to hash is said and the job's end still written: the orchestrator then
 * hashes what is missing itself. */
static void write_checkpoint_digests(const char *dir)
{
    struct strbuf err = STRBUF_INIT;
    if (ckpt_digests_write(dir, &err) < 0 || err.len)
        fprintf(stderr, "mainline-supervise: hashing the checkpoints: %s\n", err.buf);
    sb_free(&err);
}

static int supervise_main(int argc, char **argv)
{
    int checkpoints = argc > 1 && !strcmp(argv[1], "--checkpoints");
    argc -= checkpoints;
    argv += checkpoints;
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: mainline-supervise [--checkpoints] STATUS_FILE -- COMMAND "
                        "[ARGS...]\n");
        return 129;
    }
    const char *status_path = argv[1];
    /* Before anything in the directory changes: the files may be a live job's. */
    char *dir = path_dirname(status_path);
    struct strbuf err = STRBUF_INIT;
    int lock_fd;
    enum job_lock_state lock = job_lock_take(dir, &lock_fd, &err);
    if (lock != JOB_LOCK_FREE) {
        if (lock == JOB_LOCK_HELD)
            fprintf(stderr, "mainline-supervise: another job still runs in '%s' (it holds "
                    "its " JOB_FILE_LOCK "): not starting a second\n", dir);
        else
            fprintf(stderr, "mainline-supervise: %s\n", err.buf);
        free(dir);
        sb_free(&err);
        return JOB_LOCK_EXIT_REFUSED;
    }
    sb_free(&err);
    unlink(status_path);
    char *digests = path_join(dir, JOB_FILE_CKPT_DIGESTS);
    if (checkpoints)
        unlink(digests);   /* an earlier attempt's: never mistaken for this one's */
    free(digests);
    write_pid_file(status_path);
    struct sigaction sa = { .sa_handler = forward_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);   /* Slurm's warning before a time limit (--signal=B:USR1) */
    pid_t pid = fork();
    if (pid < 0) {
        perror("mainline-supervise: fork");
        free(dir);
        return 128;
    }
    if (pid == 0) {
        execvp(argv[3], argv + 3);
        fprintf(stderr, "mainline: cannot run '%s': %s\n", argv[3], strerror(errno));
        _exit(127);
    }
    child_pid = pid;
    job_lock_set_owner(lock_fd, pid, proc_start_time(pid));
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("mainline-supervise: waitpid");
            free(dir);
            return 128;
        }
    }
    if (checkpoints && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        write_checkpoint_digests(dir);
    free(dir);
    write_status(status_path, status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}


#ifndef TESTING
int main(int argc, char **argv)
{
    return supervise_main(argc, argv);
}
#endif
