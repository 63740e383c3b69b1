/*
 * job_lock.c - the lock that keeps one live job per job directory (job_lock.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "job.h"
#include "job_lock.h"

/* The lock file of dir opened with flags; -1 with errno kept (and *err, if given,
 * unless the file is simply missing where it is not to be created). */
static int open_lock(const char *dir, int flags, struct strbuf *err)
{
    struct strbuf path = STRBUF_INIT;
    sb_addf(&path, "%s/" JOB_FILE_LOCK, dir);
    int fd = open(path.buf, flags, 0644);
    int saved = errno;
    if (fd < 0 && err && (saved != ENOENT || (flags & O_CREAT)))
        sb_addf(err, "cannot open '%s': %s", path.buf, strerror(saved));
    sb_free(&path);
    errno = saved;
    return fd;
}

enum job_lock_state job_lock_take(const char *dir, int *fd, struct strbuf *err)
{
    *fd = open_lock(dir, O_RDWR | O_CREAT, err);
    if (*fd < 0)
        return JOB_LOCK_ERROR;
    while (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EINTR)
            continue;
        int busy = errno == EWOULDBLOCK;
        if (!busy)
            sb_addf(err, "cannot lock '%s/" JOB_FILE_LOCK "': %s", dir, strerror(errno));
        close(*fd);
        *fd = -1;
        return busy ? JOB_LOCK_HELD : JOB_LOCK_ERROR;
    }
    return JOB_LOCK_FREE;
}

void job_lock_set_owner(int fd, pid_t pid, int64_t start)
{
    char text[64];
    int n = snprintf(text, sizeof(text), "%d %lld\n", (int)pid, (long long)start);
    /* For messages and signals only: a failed write leaves the lock itself intact. */
    if (ftruncate(fd, 0) == 0 && pwrite(fd, text, (size_t)n, 0) == n)
        return;
}

enum job_lock_state job_lock_probe(const char *dir, struct strbuf *err)
{
    /* Read-only is enough for flock, and works in a directory made read-only. */
    int fd = open_lock(dir, O_RDONLY | O_CLOEXEC, err);
    if (fd < 0)
        return errno == ENOENT ? JOB_LOCK_FREE : JOB_LOCK_ERROR;
    enum job_lock_state st = JOB_LOCK_FREE;
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EINTR)
            continue;
        st = errno == EWOULDBLOCK ? JOB_LOCK_HELD : JOB_LOCK_ERROR;
        if (st == JOB_LOCK_ERROR && err)
            sb_addf(err, "cannot lock '%s/" JOB_FILE_LOCK "': %s", dir, strerror(errno));
        break;
    }
    close(fd);   /* drops the lock if it was taken */
    return st;
}

int job_lock_owner(const char *dir, pid_t *pid, int64_t *start)
{
    int fd = open_lock(dir, O_RDONLY | O_CLOEXEC, NULL);
    if (fd < 0)
        return -1;
    char text[64];
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    int p = 0;
    long long s = 0;
    if (sscanf(text, "%d %lld", &p, &s) != 2 || p <= 0)
        return -1;
    *pid = p;
    *start = s;
    return 0;
}
