/*
 * command.c - run a short-lived program and take its output (command.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "command.h"

static void child(char *const *argv, int out, int err)
{
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[0], argv);
    dprintf(STDERR_FILENO, "cannot run '%s': %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Read what is there on fd into sb; 0 at end of file, 1 while open, -1 on error. */
static int drain(int fd, struct strbuf *sb)
{
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
        sb_add(sb, buf, (size_t)n);
        return 1;
    }
    return n == 0 ? 0 : errno == EINTR || errno == EAGAIN ? 1 : -1;
}

int command_run(char *const *argv, double timeout_s, struct strbuf *out, struct strbuf *err)
{
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) < 0) {
        sb_addf(err, "cannot run '%s': %s", argv[0], strerror(errno));
        return -1;
    }
    if (pipe2(pe, O_CLOEXEC) < 0) {
        sb_addf(err, "cannot run '%s': %s", argv[0], strerror(errno));
        close(po[0]);
        close(po[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0)
        child(argv, po[1], pe[1]);
    close(po[1]);
    close(pe[1]);
    if (pid < 0) {
        sb_addf(err, "cannot fork for '%s': %s", argv[0], strerror(errno));
        close(po[0]);
        close(pe[0]);
        return -1;
    }
    struct pollfd fds[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };
    int open_fds = 2, timed_out = 0;
    double deadline = clock_now_s() + timeout_s;
    while (open_fds > 0) {
        double left = deadline - clock_now_s();
        if (left <= 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        int n = poll(fds, 2, (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2 && n > 0; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (drain(fds[i].fd, i == 0 ? out : err) <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out) {
        sb_addf(err, "%s'%s' did not end within %.0f s", err->len ? "; " : "", argv[0],
                timeout_s);
        return -1;
    }
    if (WIFSIGNALED(status)) {
        sb_addf(err, "%s'%s' was killed by signal %d", err->len ? "; " : "", argv[0],
                WTERMSIG(status));
        return -1;
    }
    return WEXITSTATUS(status);
}
