/*
 * executor_local.c - run jobs on this machine (see executor.h), and the small
 * supervisor process that stands between the orchestrator and each command.
 *
 * Why a supervisor: when the orchestrator is killed (kill -9, a closed laptop
 * lid), its children live on, and the next orchestrator cannot waitpid() for
 * processes it did not fork. The supervisor waits for the command and writes its
 * exit status to a file, so whoever comes next still learns how the job ended.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "executor.h"
#include "fsutil.h"
#include "job_lock.h"
#include "proc.h"

int exec_read_pid_file(const char *status_path, struct exec_proc *proc)
{
    struct strbuf path = STRBUF_INIT;
    sb_addf(&path, "%s.pid", status_path);
    FILE *f = fopen(path.buf, "r");
    sb_free(&path);
    if (!f)
        return -1;
    int pid = 0;
    long long start = 0;
    int n = fscanf(f, "%d %lld", &pid, &start);
    fclose(f);
    if (n != 2 || pid <= 0)
        return -1;
    proc->pid = pid;
    proc->start = start;
    return 0;
}

int exec_read_status(const char *path, struct exec_result *res)
{
    json_t *j = json_load_file(path, 0, NULL);
    if (!j)
        return -1;
    memset(res, 0, sizeof(*res));
    json_t *code = json_object_get(j, "exit"), *sig = json_object_get(j, "signal");
    int rc = 0;
    if (json_is_integer(code)) {
        res->known = 1;
        res->exit_code = (int)json_integer_value(code);
    } else if (json_is_integer(sig)) {
        res->known = 1;
        res->signal = (int)json_integer_value(sig);
        res->exit_code = 128 + res->signal;
    } else {
        rc = -1;
    }
    json_decref(j);
    return rc;
}

/* ---- the local executor ---- */

struct local_priv {
    const char *supervisor;   /* path of mainline-supervise */
};

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

/* In the child, after fork: never returns. Only async-signal-safe calls matter
 * little here (single-threaded parent), but keep it plain anyway. Its fprintf
 * calls are the one printing in exec/ outside the supervisor: stderr is already
 * the job's own stderr.log, where the user looks for why the job did not start
 * (tests/shell/t0009-layers.sh allows them in this function only). */
static void exec_child(const struct local_priv *p, const struct exec_spec *spec, int out,
                       int errfd)
{
    setsid();
    dup2(out, STDOUT_FILENO);
    dup2(errfd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, STDIN_FILENO);
    for (size_t i = 0; spec->env && spec->env[i]; i++)
        putenv(spec->env[i]);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    if (spec->cwd && chdir(spec->cwd) < 0) {
        fprintf(stderr, "mainline: cannot enter '%s': %s\n", spec->cwd, strerror(errno));
        _exit(127);
    }
    size_t n = 0;
    while (spec->argv[n])
        n++;
    char **argv = calloc(n + 5, sizeof(*argv));
    if (!argv)
        _exit(127);
    size_t k = 0;
    argv[k++] = (char *)"mainline-supervise";
    if (spec->checkpoints)
        argv[k++] = (char *)"--checkpoints";
    argv[k++] = (char *)spec->status_path;
    argv[k++] = (char *)"--";
    memcpy(argv + k, spec->argv, n * sizeof(*argv));
    execv(p->supervisor, argv);
    fprintf(stderr, "mainline: cannot run the supervisor '%s': %s\n", p->supervisor,
            strerror(errno));
    _exit(127);
}

static int local_submit(struct executor *ex, const struct exec_spec *spec,
                        struct exec_proc *proc, struct strbuf *err)
{
    struct local_priv *p = ex->priv;
    int out = open_log(spec->stdout_path);
    int errfd = out >= 0 ? open_log(spec->stderr_path) : -1;
    if (out < 0 || errfd < 0) {
        sb_addf(err, "cannot open the logs of a job ('%s'): %s", spec->stdout_path,
                strerror(errno));
        if (out >= 0)
            close(out);
        return -1;
    }
    unlink(spec->status_path);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        sb_addf(err, "cannot fork: %s", strerror(errno));
        close(out);
        close(errfd);
        return -1;
    }
    if (pid == 0)
        exec_child(p, spec, out, errfd);
    close(out);
    close(errfd);
    /* The child may not have called setsid() yet; make the group now so a cancel
     * that comes at once still reaches the whole job. */
    setpgid(pid, pid);
    proc->pid = pid;
    proc->start = proc_start_time(pid);
    return 0;
}

/* The job's directory holds its status file. Caller frees. */
static char *job_dir_of(const char *status_path)
{
    return path_dirname(status_path);
}

static enum exec_state local_poll(struct executor *ex, const struct exec_proc *proc,
                                  const char *status_path, struct exec_result *res)
{
    (void)ex;
    int status;
    pid_t got = waitpid(proc->pid, &status, WNOHANG);
    if (got == 0)
        return EXEC_RUNNING;
    if (got < 0 && proc_alive(proc->pid, proc->start))
        return EXEC_RUNNING;   /* adopted from an earlier orchestrator: not our child */
    if (exec_read_status(status_path, res) == 0)
        return EXEC_FINISHED;
    /* The supervisor ended without a status. Its command may live on (the
     * supervisor was killed alone): it holds the job's lock until it ends. */
    char *dir = job_dir_of(status_path);
    enum job_lock_state lock = job_lock_probe(dir, NULL);
    free(dir);
    if (lock == JOB_LOCK_HELD)
        return EXEC_ORPHANED;
    memset(res, 0, sizeof(*res));
    if (got == proc->pid && WIFEXITED(status)) {
        /* It exited on its own but wrote no status: either it could not run at all
         * (127), or it could not write the file, and its exit status is the
         * command's (supervise.c). */
        res->known = 1;
        res->exit_code = WEXITSTATUS(status);
        res->status_lost = res->exit_code != 127;
    }
    return EXEC_FINISHED;
}

static int signal_group(pid_t pgid, int sig)
{
    /* The supervisor forwards to the command; the group signal reaches both. */
    if (kill(-pgid, sig) < 0 && kill(pgid, sig) < 0)
        return -1;
    return 0;
}

static int local_cancel(struct executor *ex, const struct exec_proc *proc,
                        const char *status_path, int sig)
{
    (void)ex;
    if (proc->pid <= 0)
        return 0;
    if (proc_alive(proc->pid, proc->start))
        return signal_group(proc->pid, sig);
    /* The supervisor is gone: its command, if it still holds the lock, is found
     * through the pid it recorded there. */
    char *dir = job_dir_of(status_path);
    pid_t pid;
    int64_t start;
    int rc = 0;
    if (job_lock_probe(dir, NULL) == JOB_LOCK_HELD && job_lock_owner(dir, &pid, &start) == 0 &&
        proc_alive(pid, start))
        rc = getpgid(pid) == proc->pid ? signal_group(proc->pid, sig) : kill(pid, sig);
    free(dir);
    return rc;
}

/* The supervisor lives, or its command does (it holds the directory's lock). */
static int local_alive(struct executor *ex, const struct exec_proc *proc,
                       const char *status_path)
{
    (void)ex;
    if (proc->pid > 0 && proc_alive(proc->pid, proc->start))
        return 1;
    char *dir = job_dir_of(status_path);
    int held = job_lock_probe(dir, NULL) == JOB_LOCK_HELD;
    free(dir);
    return held;
}

void executor_local_init(struct executor *ex, const char *supervisor)
{
    static struct local_priv priv;
    priv.supervisor = supervisor;
    memset(ex, 0, sizeof(*ex));
    ex->name = "local";
    ex->submit = local_submit;
    ex->alive = local_alive;
    ex->poll = local_poll;
    ex->cancel = local_cancel;
    ex->priv = &priv;
}
