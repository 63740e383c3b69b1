/* test_job_lock.c - one live job per directory: the lock a supervisor takes, that
 * its command inherits, and that the orchestrator probes before it starts anything. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "job_lock.h"
#include "proc.h"
#include "testhelp.h"

static char dir[] = "/tmp/mainline-test-lock-XXXXXX";

static void test_free_without_file(void)
{
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(job_lock_probe(dir, &err), JOB_LOCK_FREE);
    CHECK_INT((int)err.len, 0);
    pid_t pid;
    int64_t start;
    CHECK_INT(job_lock_owner(dir, &pid, &start), -1);
    sb_free(&err);
}

static void test_take_probe_owner(void)
{
    struct strbuf err = STRBUF_INIT;
    int fd = -1, fd2 = -1;
    CHECK_INT(job_lock_take(dir, &fd, &err), JOB_LOCK_FREE);
    CHECK(fd >= 0);
    /* Not close-on-exec: the command the supervisor starts must inherit it. */
    CHECK_INT(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    CHECK_INT(job_lock_probe(dir, &err), JOB_LOCK_HELD);
    CHECK_INT(job_lock_take(dir, &fd2, &err), JOB_LOCK_HELD);
    CHECK_INT(fd2, -1);
    job_lock_set_owner(fd, 4242, 17);
    pid_t pid = 0;
    int64_t start = 0;
    CHECK_INT(job_lock_owner(dir, &pid, &start), 0);
    CHECK_INT(pid, 4242);
    CHECK_INT((int)start, 17);
    close(fd);
    CHECK_INT(job_lock_probe(dir, &err), JOB_LOCK_FREE);
    /* The probe took and dropped it: it is free for the next job. */
    CHECK_INT(job_lock_take(dir, &fd, &err), JOB_LOCK_FREE);
    close(fd);
    sb_free(&err);
}

/* The point of it all: the lock outlives the process that took it, for as long as a
 * child that inherited the descriptor lives. */
static void test_outlives_the_taker(void)
{
    struct strbuf err = STRBUF_INIT;
    int ready[2], go[2];
    CHECK_INT(pipe(ready), 0);
    CHECK_INT(pipe(go), 0);
    pid_t taker = fork();
    if (taker == 0) {
        int fd;
        if (job_lock_take(dir, &fd, &err) != JOB_LOCK_FREE)
            _exit(1);
        pid_t child = fork();
        if (child == 0) {
            char c;
            (void)!write(ready[1], "x", 1);
            (void)!read(go[0], &c, 1);   /* holds the inherited lock until told */
            _exit(0);
        }
        char c;
        (void)!read(ready[0], &c, 1);
        _exit(0);                        /* the "supervisor" dies first */
    }
    int status;
    CHECK_INT(waitpid(taker, &status, 0), taker);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_INT(job_lock_probe(dir, &err), JOB_LOCK_HELD);
    (void)!write(go[1], "x", 1);
    close(go[1]);
    int freed = 0;
    for (int i = 0; i < 200 && !freed; i++) {
        freed = job_lock_probe(dir, &err) == JOB_LOCK_FREE;
        if (!freed)
            usleep(10000);
    }
    CHECK(freed);
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    sb_free(&err);
}

static void test_unopenable(void)
{
    struct strbuf err = STRBUF_INIT;
    int fd;
    CHECK_INT(job_lock_take("/nonexistent-dir/x", &fd, &err), JOB_LOCK_ERROR);
    CHECK(strstr(err.buf, "cannot open") != NULL);
    sb_free(&err);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    TEST(test_free_without_file);
    TEST(test_take_probe_owner);
    TEST(test_outlives_the_taker);
    TEST(test_unopenable);
    char path[256];
    snprintf(path, sizeof(path), "%s/job.lock", dir);
    unlink(path);
    rmdir(dir);
    return test_report();
}
