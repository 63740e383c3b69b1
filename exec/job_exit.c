/*
 * job_exit.c - what an ended job comes to: its exit status (enum job_exit of the
 * job protocol, or a signal) and the reason the scheduler stopped it, if it did,
 * mapped to a run state and the reason recorded with it.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "job.h"
#include "sched_internal.h"

const char *job_stop_text(enum job_stop stop, double timeout_s, char *buf, size_t len)
{
    const char *text = "not stopped";
    switch (stop) {
    case JOB_STOP_NONE:
        break;
    case JOB_STOP_CANCELLED:
        text = "cancelled";
        break;
    case JOB_STOP_TIMEOUT:
        snprintf(buf, len, "timeout after %.0f s", timeout_s);
        return buf;
    case JOB_STOP_COULD_NOT_START:
        text = "could not start";
        break;
    }
    snprintf(buf, len, "%s", text);
    return buf;
}

/* What an exit status the protocol gives a meaning says, or NULL. */
static const char *exit_meaning(int code)
{
    switch ((enum job_exit)code) {
    case JOB_EXIT_DIVERGED:
        return "diverged: the loss became NaN or infinite (exit 3)";
    case JOB_EXIT_BAD_CONFIG:
        return "bad configuration (exit 2)";
    case JOB_EXIT_NOT_FOUND:
        return "the command could not be run (exit 127)";
    default:
        return NULL;
    }
}

/* The last non-empty line of the job's stderr.log (at most `len` - 1 bytes, from its
 * last 4 KiB), or "" when there is none. */
static void stderr_tail(const char *dir, char *buf, size_t len)
{
    buf[0] = '\0';
    char path[4200], text[4097];
    snprintf(path, sizeof(path), "%s/" JOB_FILE_STDERR, dir ? dir : ".");
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    if (fseek(f, -4096, SEEK_END) < 0)
        rewind(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (text[i] == '\0' || text[i] == '\r' || text[i] == '\t')
            text[i] = ' ';
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    char *line = strrchr(text, '\n');
    line = line ? line + 1 : text;
    size_t m = strlen(line);
    if (m >= len)
        m = len - 1;
    memcpy(buf, line, m);
    buf[m] = '\0';
}

/* The job's stderr.log, as a path from the current directory when it lies below it. */
static void stderr_path(const char *dir, char *buf, size_t len)
{
    char cwd[4096];
    size_t n = getcwd(cwd, sizeof(cwd)) ? strlen(cwd) : 0;
    if (dir && n && !strncmp(dir, cwd, n) && dir[n] == '/')
        dir += n + 1;
    snprintf(buf, len, "%s/" JOB_FILE_STDERR, dir ? dir : ".");
}

/* Why a job that was not done ended: what happened, then (when the job's own output
 * may say more) the last line it wrote to stderr and where the rest is; that line
 * alone into tail_out (TAIL_LEN bytes). */
enum { TAIL_LEN = 160 };

static void exit_reason(const struct job *j, const struct exec_result *res, double timeout_s,
                        char *buf, size_t len, char *tail_out)
{
    const char *meaning = res->known && !res->signal ? exit_meaning(res->exit_code) : NULL;
    char what[200];
    int tell = 1;
    if (j->stop != JOB_STOP_NONE) {
        job_stop_text(j->stop, timeout_s, what, sizeof(what));
        tell = 0;
    } else if (!res->known && j->supervisor_gone) {
        snprintf(what, sizeof(what), "its supervisor was killed and the job ran on to its end, "
                 "with no exit status");
    } else if (!res->known) {
        snprintf(what, sizeof(what), "killed with its supervisor (no exit status)");
        tell = 0;
    } else if (res->status_lost) {
        snprintf(what, sizeof(what), "exit status %d, from its supervisor, which could not "
                 "write " JOB_FILE_EXIT, res->exit_code);
    } else if (res->signal) {
        snprintf(what, sizeof(what), "killed by signal %d (%s)", res->signal,
                 strsignal(res->signal));
    } else if (meaning) {
        snprintf(what, sizeof(what), "%s", meaning);
        tell = res->exit_code != JOB_EXIT_DIVERGED;
    } else {
        snprintf(what, sizeof(what), "exit status %d", res->exit_code);
    }
    if (!tell) {
        snprintf(buf, len, "%s", what);
        return;
    }
    char tail[TAIL_LEN], path[300];
    stderr_tail(j->dir, tail, sizeof(tail));
    memcpy(tail_out, tail, sizeof(tail));
    stderr_path(j->dir, path, sizeof(path));
    struct strbuf sb = STRBUF_INIT;
    if (tail[0])
        sb_addf(&sb, "%s: %s (%s)", what, tail, path);
    else
        sb_addf(&sb, "%s: see %s", what, path);
    snprintf(buf, len, "%.*s", (int)(sb.len < len ? sb.len : len - 1), sb.buf);
    sb_free(&sb);
}

/* A batch system's verdict on a job its code did not end: cancelled from outside,
 * a time limit, preemption or a node, memory, or a job it forgot. 1 when it decided. */
static int batch_verdict(const struct job *j, const struct exec_result *res,
                         struct job_verdict *v)
{
    const char *st = res->state;
    if (!st[0] || j->stop != JOB_STOP_NONE || (res->known && res->exit_code == JOB_EXIT_OK))
        return 0;
    const char *why = res->reason[0] ? res->reason : NULL;
    if (!strcmp(st, "CANCELLED")) {
        v->state = RUN_CANCELLED;
        v->cancelled_outside = 1;
        snprintf(v->reason, sizeof(v->reason), "cancelled in Slurm%s%s%s", why ? " (" : "",
                 why ? why : "", why ? ")" : "");
    } else if (res->resubmit) {
        v->state = RUN_FAILED;
        v->resubmit = 1;
        snprintf(v->reason, sizeof(v->reason), "Slurm ended it: %s%s%s%s", st, why ? " (" : "",
                 why ? why : "", why ? ")" : "");
    } else if (!strcmp(st, "OUT_OF_MEMORY")) {
        v->state = RUN_FAILED;
        snprintf(v->reason, sizeof(v->reason), "out of memory (Slurm: OUT_OF_MEMORY): ask for "
                 "more with slurm: {mem: ...}");
    } else if (!strcmp(st, "LOST") && !res->known) {
        v->state = RUN_FAILED;
        snprintf(v->reason, sizeof(v->reason), "lost: Slurm no longer knows the job and it "
                 "wrote no exit status");
    } else {
        return 0;
    }
    return 1;
}

_Static_assert(sizeof(((struct job_verdict *)0)->stderr_line) == TAIL_LEN,
               "the verdict holds the tail exit_reason copies");

void job_verdict(const struct job *j, const struct exec_result *res, double timeout_s,
                 struct job_verdict *v)
{
    memset(v, 0, sizeof(*v));
    if (batch_verdict(j, res, v))
        return;
    if (j->stop == JOB_STOP_NONE && res->known && res->exit_code == JOB_EXIT_TIME_LIMIT) {
        /* It checkpointed before a time limit: go on from there, not a failure. */
        v->state = RUN_FAILED;
        v->resubmit = 1;
        snprintf(v->reason, sizeof(v->reason), "stopped for its time limit (exit %d), "
                 "checkpointed", JOB_EXIT_TIME_LIMIT);
        return;
    }
    if (j->stop == JOB_STOP_CANCELLED)
        v->state = RUN_CANCELLED;
    else if (j->stop == JOB_STOP_NONE && res->known && res->exit_code == JOB_EXIT_OK)
        v->state = RUN_DONE;
    else if (j->stop == JOB_STOP_NONE && j->stats.done_seen && (!res->known || res->signal))
        /* It said it was done, the protocol's last line before exit 0, and then its
         * exit status died with its supervisor, or a signal from outside ended it on
         * its way out: running it again would only redo it. */
        v->state = RUN_DONE;
    else
        v->state = RUN_FAILED;
    if (v->state != RUN_DONE)
        exit_reason(j, res, timeout_s, v->reason, sizeof(v->reason), v->stderr_line);
    /* The config cannot work, or the loss blew up: the same attempt again would too. */
    v->no_retry = v->state == RUN_FAILED && res->known &&
                  (res->exit_code == JOB_EXIT_BAD_CONFIG || res->exit_code == JOB_EXIT_DIVERGED);
}
