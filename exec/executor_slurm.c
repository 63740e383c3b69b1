/*
 * executor_slurm.c - run jobs on a Slurm cluster (executor.h).
 *
 * A job is a small batch script in its directory (job.sh) that execs the same
 * supervisor a local job has, so exit.json, the pid file, job.lock and
 * metrics.jsonl look exactly like a local job's and ingestion does not change. The
 * directory must be on a filesystem the nodes share, and the supervisor at the same
 * path there.
 *
 * Exactly once: `sbatch --hold --parsable` with the job's identity as its name and
 * comment; the caller records the id in the registry, then releases it. A caller
 * that died between the two finds the held job again by name (find) and adopts it.
 *
 * Looking at jobs costs one `squeue` for all of them, at most every poll_s seconds:
 * a poll of one job reads the answer cached for all. A job squeue no longer knows
 * is ended when its exit.json is there; without one it is LOST after a grace period
 * (squeue may briefly miss a job; Slurm forgets finished jobs after MinJobAge).
 * squeue failing (slurmctld restarting) leaves every job as it was: one missing
 * answer never ends a run. While no job changes, the time between two squeue calls
 * grows (x1.5, up to MAINLINE_SLURM_POLL_MAX); a change, or a job's exit.json
 * appearing, brings it back to MAINLINE_SLURM_POLL.
 *
 * Jobs that ended are confirmed by one `sacct` for all of them (slurm_acct.c), which
 * also has their MaxRSS; sacct lags, so an end waits for it at most
 * MAINLINE_SLURM_ACCT_WAIT seconds. Without accounting (no sacct, or "accounting
 * storage is disabled": never asked again) ends come from exit.json and squeue.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "command.h"
#include "executor.h"
#include "fsutil.h"
#include "slurm_acct.h"
#include "sweep.h"

#define SLURM_CMD_TIMEOUT_S 60.0

struct slurm_job_seen {
    int64_t id;
    char state[24], reason[96];
    double missing_since;     /* when squeue first did not list it (0: it did) */
    char partition[64], nodes[256];   /* squeue's, at its last answer */
    int64_t elapsed_s;        /* -1 unknown */
    int listed;               /* in squeue's last answer */
    double ended_at;          /* when it was first seen ended (0: not yet) */
    struct slurm_acct acct;   /* what sacct said of it */
    int settled;              /* sacct has its end (slurm_acct_settled) */
};

struct slurm_priv {
    const char *supervisor;
    double poll_s;            /* least time between two squeue calls */
    double lost_after_s;      /* a job squeue forgot, without exit.json, is lost after */
    double last_query;        /* when squeue last answered */
    double interval;          /* the time between two squeue calls now: poll_s, more
                               * while nothing changes */
    double max_interval;      /* at most */
    double acct_wait_s;       /* how long an end waits for sacct to have it */
    double last_acct;         /* when sacct was last asked */
    int no_acct;              /* no accounting here: sacct is never asked again */
    struct slurm_job_seen *jobs;   /* the jobs polled since the last query */
    size_t n_jobs, alloc_jobs;
    int64_t *watch;           /* ids to ask about at the next query */
    size_t n_watch, alloc_watch;
};

/* Drop the trailing newlines of what a command printed. */
static void chomp(struct strbuf *sb)
{
    while (sb->len && (sb->buf[sb->len - 1] == '\n' || sb->buf[sb->len - 1] == '\r'))
        sb->buf[--sb->len] = '\0';
}

static double env_seconds(const char *name, double fallback)
{
    const char *v = getenv(name);
    return v && *v ? atof(v) : fallback;
}

/* ---- the batch script ---- */

static char *write_script(const struct slurm_priv *p, const struct exec_spec *spec,
                          struct strbuf *err)
{
    struct strbuf text = STRBUF_INIT, path = STRBUF_INIT;
    sb_addf(&text, "#!/bin/sh\n# written by mainline: the job %s\n", spec->name);
    for (size_t i = 0; spec->env && spec->env[i]; i++) {
        const char *eq = strchr(spec->env[i], '=');
        if (!eq)
            continue;
        sb_addf(&text, "export %.*s=", (int)(eq - spec->env[i]), spec->env[i]);
        sb_add_shell_quoted(&text, eq + 1);
        sb_addc(&text, '\n');
    }
    sb_adds(&text, "exec ");
    sb_add_shell_quoted(&text, p->supervisor);
    sb_adds(&text, spec->checkpoints ? " --checkpoints " : " ");
    sb_add_shell_quoted(&text, spec->status_path);
    sb_adds(&text, " --");
    for (size_t i = 0; spec->argv[i]; i++) {
        sb_addc(&text, ' ');
        sb_add_shell_quoted(&text, spec->argv[i]);
    }
    sb_addc(&text, '\n');
    sb_addf(&path, "%s/job.sh", spec->cwd);
    int rc = write_file_atomic(path.buf, text.buf, text.len, err);
    sb_free(&text);
    if (rc < 0) {
        sb_free(&path);
        return NULL;
    }
    return sb_detach(&path);
}

/* ---- sbatch ---- */

struct argv_list {
    char **v;
    size_t n, alloc;
};

static void arg(struct argv_list *a, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void arg(struct argv_list *a, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    a->v = xgrow(a->v, a->n + 2, &a->alloc, sizeof(*a->v));
    a->v[a->n++] = sb_detach(&sb);
    a->v[a->n] = NULL;
}

static void argv_list_free(struct argv_list *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
}

static void resource_args(struct argv_list *a, const struct exec_spec *spec)
{
    const struct slurm_resources *r = spec->slurm;
    int cpus = r && r->cpus_per_task > 0 ? r->cpus_per_task : spec->threads > 0 ? spec->threads
                                                                                : 1;
    arg(a, "--cpus-per-task=%d", cpus);
    if (!r)
        return;
    if (r->partition)
        arg(a, "--partition=%s", r->partition);
    if (r->account)
        arg(a, "--account=%s", r->account);
    if (r->qos)
        arg(a, "--qos=%s", r->qos);
    if (r->time)
        arg(a, "--time=%s", r->time);
    if (r->mem)
        arg(a, "--mem=%s", r->mem);
    if (r->gres)
        arg(a, "--gres=%s", r->gres);
    if (r->signal_before_end > 0)
        arg(a, "--signal=B:USR1@%d", r->signal_before_end);
    for (size_t i = 0; i < r->n_extra; i++)
        arg(a, "%s", r->extra[i]);
}

static int slurm_submit(struct executor *ex, const struct exec_spec *spec,
                        struct exec_proc *proc, struct strbuf *err)
{
    struct slurm_priv *p = ex->priv;
    char *script = write_script(p, spec, err);
    if (!script)
        return -1;
    struct argv_list a = { 0 };
    arg(&a, "sbatch");
    arg(&a, "--parsable");
    arg(&a, "--hold");
    arg(&a, "--no-requeue");
    arg(&a, "--job-name=%s", spec->name);
    arg(&a, "--comment=%s", spec->name);
    arg(&a, "--chdir=%s", spec->cwd);
    arg(&a, "--output=%s", spec->stdout_path);
    arg(&a, "--error=%s", spec->stderr_path);
    arg(&a, "--open-mode=append");
    resource_args(&a, spec);
    if (spec->exclude && *spec->exclude)
        arg(&a, "--exclude=%s", spec->exclude);
    arg(&a, "%s", script);
    struct strbuf out = STRBUF_INIT, serr = STRBUF_INIT;
    int rc = command_run(a.v, SLURM_CMD_TIMEOUT_S, &out, &serr);
    char *end = NULL;
    long long id = rc == 0 ? strtoll(out.buf ? out.buf : "", &end, 10) : 0;
    if (rc != 0 || id <= 0 || !end || (*end && *end != ';' && *end != '\n')) {
        chomp(&serr);
        sb_addf(err, "sbatch failed%s%s", serr.len ? ": " : "", serr.len ? serr.buf : "");
        rc = -1;
    } else {
        memset(proc, 0, sizeof(*proc));
        proc->job_id = id;
        rc = 0;
    }
    sb_free(&out);
    sb_free(&serr);
    argv_list_free(&a);
    free(script);
    return rc;
}

static int slurm_release(struct executor *ex, const struct exec_proc *proc, struct strbuf *err)
{
    (void)ex;
    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)proc->job_id);
    char *argv[] = { "scontrol", "release", id, NULL };
    struct strbuf out = STRBUF_INIT, serr = STRBUF_INIT;
    int rc = command_run(argv, SLURM_CMD_TIMEOUT_S, &out, &serr);
    if (rc != 0) {
        chomp(&serr);
        sb_addf(err, "scontrol release %s failed: %s", id, serr.len ? serr.buf : "no reason");
    }
    sb_free(&out);
    sb_free(&serr);
    return rc == 0 ? 0 : -1;
}

/* ---- squeue ---- */

static struct slurm_job_seen *seen(struct slurm_priv *p, int64_t id, int add)
{
    for (size_t i = 0; i < p->n_jobs; i++)
        if (p->jobs[i].id == id)
            return &p->jobs[i];
    if (!add)
        return NULL;
    p->jobs = xgrow(p->jobs, p->n_jobs + 1, &p->alloc_jobs, sizeof(*p->jobs));
    struct slurm_job_seen *j = &p->jobs[p->n_jobs++];
    memset(j, 0, sizeof(*j));
    j->id = id;
    return j;
}

static void watch(struct slurm_priv *p, int64_t id)
{
    for (size_t i = 0; i < p->n_watch; i++)
        if (p->watch[i] == id)
            return;
    p->watch = xgrow(p->watch, p->n_watch + 1, &p->alloc_watch, sizeof(*p->watch));
    p->watch[p->n_watch++] = id;
}

static int is_active(const char *state);

/* Take squeue's lines (slurm_acct.h's SLURM_SQUEUE_FORMAT) into the watched jobs; a
 * watched job it does not list is missing. 1 when a job's state or reason changed. */
static int take_answer(struct slurm_priv *p, char *out, double now)
{
    int changed = 0;
    for (size_t i = 0; i < p->n_watch; i++)
        seen(p, p->watch[i], 1)->listed = 0;
    for (char *line = out; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        struct slurm_squeue_line q;
        struct slurm_job_seen *j = slurm_squeue_parse(line, &q) == 0 ? seen(p, q.id, 0) : NULL;
        if (j) {
            changed |= strcmp(j->state, q.state) != 0 || strcmp(j->reason, q.reason) != 0;
            snprintf(j->state, sizeof(j->state), "%s", q.state);
            snprintf(j->reason, sizeof(j->reason), "%s", q.reason);
            snprintf(j->partition, sizeof(j->partition), "%s", q.partition);
            snprintf(j->nodes, sizeof(j->nodes), "%s", q.nodes);
            j->elapsed_s = q.elapsed_s;
            j->listed = 1;
            j->missing_since = 0;
            if (!is_active(j->state) && !j->ended_at)
                j->ended_at = now;   /* asked about in the next sacct */
        }
        line = nl ? nl + 1 : NULL;
    }
    for (size_t i = 0; i < p->n_watch; i++) {
        struct slurm_job_seen *j = seen(p, p->watch[i], 1);
        if (j->listed)
            continue;
        changed |= j->state[0] || !j->missing_since;
        j->state[0] = '\0';
        if (!j->missing_since)
            j->missing_since = now;
    }
    return changed;
}

/* One squeue for every watched job. 0, or -1 when squeue did not answer (nothing is
 * changed then). */
static int query(struct slurm_priv *p)
{
    if (!p->n_watch)
        return 0;
    struct strbuf ids = STRBUF_INIT, out = STRBUF_INIT, err = STRBUF_INIT;
    for (size_t i = 0; i < p->n_watch; i++)
        sb_addf(&ids, "%s%lld", i ? "," : "", (long long)p->watch[i]);
    char *argv[] = { "squeue", "-h", "-t", "all", "-j", ids.buf, "-o", SLURM_SQUEUE_FORMAT,
                     NULL };
    int rc = command_run(argv, SLURM_CMD_TIMEOUT_S, &out, &err);
    /* squeue exits 1 ("Invalid job id specified") when every id asked about is gone
     * from slurmctld's memory: an answer, that all of them are missing. */
    int answered = rc == 0 || (rc == 1 && err.buf && strstr(err.buf, "Invalid job id"));
    if (answered) {
        double now = clock_now_s();
        /* nothing changed: look less often; a change: at the poll interval again */
        if (take_answer(p, out.buf, now))
            p->interval = p->poll_s;
        else
            p->interval = p->interval * 1.5 < p->max_interval ? p->interval * 1.5
                                                               : p->max_interval;
        p->last_query = now;
    }
    p->n_watch = 0;
    sb_free(&ids);
    sb_free(&out);
    sb_free(&err);
    return answered ? 0 : -1;
}

static int is_active(const char *state)
{
    static const char *const active[] = { "PENDING", "CONFIGURING", "RUNNING", "COMPLETING",
                                          "SUSPENDED", "REQUEUED", "REQUEUE_HOLD",
                                          "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT",
                                          "RESV_DEL_HOLD", "STOPPED" };
    for (size_t i = 0; i < sizeof(active) / sizeof(active[0]); i++)
        if (!strcmp(state, active[i]))
            return 1;
    return 0;
}

/* States that end a job for reasons of the cluster, not of its code. */
static int is_resubmitted(const char *state)
{
    return !strcmp(state, "TIMEOUT") || !strcmp(state, "PREEMPTED") ||
           !strcmp(state, "NODE_FAIL") || !strcmp(state, "BOOT_FAIL") ||
           !strcmp(state, "DEADLINE");
}

/* Ask squeue when the last answer is older than the interval; poll() then reads the
 * cache. Every job polled is asked about at the next query, so one call covers all.
 * A job squeue last saw active whose exit.json is there has ended: ask soon. */
static struct slurm_job_seen *look(struct slurm_priv *p, int64_t id, const char *status_path)
{
    watch(p, id);
    struct slurm_job_seen *j = seen(p, id, 0);
    if (j && is_active(j->state) && access(status_path, F_OK) == 0)
        p->interval = p->poll_s;
    if (!j || clock_now_s() - p->last_query >= p->interval) {
        query(p);
        j = seen(p, id, 0);
    }
    return j;
}

/* One sacct for every job seen ended and not settled yet (within acct_wait_s of its
 * end: after that it is reported without). A job it does not list is lag. */
static void account(struct slurm_priv *p, double now)
{
    struct slurm_acct *accts = xcalloc(p->n_jobs + 1, sizeof(*accts));
    size_t n = 0;
    for (size_t i = 0; i < p->n_jobs; i++) {
        const struct slurm_job_seen *j = &p->jobs[i];
        if (j->ended_at && !j->settled && now - j->ended_at < p->acct_wait_s)
            slurm_acct_init(&accts[n++], j->id);
    }
    enum slurm_acct_answer a = slurm_acct_query(accts, n, SLURM_CMD_TIMEOUT_S);
    p->last_acct = now;
    p->no_acct = a == SLURM_ACCT_NONE;
    for (size_t i = 0; a == SLURM_ACCT_OK && i < n; i++) {
        struct slurm_job_seen *j = seen(p, accts[i].id, 0);
        if (j && accts[i].listed) {
            j->acct = accts[i];
            j->settled = slurm_acct_settled(&accts[i]);
        }
    }
    free(accts);
}

/* Whether an ended job may be reported: sacct has its end, there is no accounting,
 * or sacct did not have it within acct_wait_s. */
static int confirmed(struct slurm_priv *p, struct slurm_job_seen *j)
{
    double now = clock_now_s();
    if (!j->ended_at)
        j->ended_at = now;
    if (!p->no_acct && !j->settled && now - j->ended_at < p->acct_wait_s &&
        now - p->last_acct >= p->poll_s)
        account(p, now);
    return p->no_acct || j->settled || now - j->ended_at >= p->acct_wait_s;
}

/* Where and how long it ran: sacct's word where it has one, else squeue's. */
static void batch_details(const struct slurm_job_seen *j, struct exec_result *res)
{
    const struct slurm_acct *a = j->acct.listed ? &j->acct : NULL;
    snprintf(res->partition, sizeof(res->partition), "%s",
             a && a->partition[0] ? a->partition : j->partition);
    snprintf(res->nodes, sizeof(res->nodes), "%s", a && a->nodes[0] ? a->nodes : j->nodes);
    int64_t elapsed = a && a->elapsed_s >= 0 ? a->elapsed_s : j->elapsed_s;
    res->has_elapsed = elapsed >= 0;
    res->elapsed_s = elapsed >= 0 ? elapsed : 0;
    res->has_max_rss = a && a->max_rss >= 0;
    res->max_rss = res->has_max_rss ? a->max_rss : 0;
    res->acct_confirmed = j->settled;
}

static enum exec_state slurm_poll(struct executor *ex, const struct exec_proc *proc,
                                  const char *status_path, struct exec_result *res)
{
    struct slurm_priv *p = ex->priv;
    struct slurm_job_seen *j = look(p, proc->job_id, status_path);
    if (j && (!strcmp(j->state, "PENDING") || !strcmp(j->state, "CONFIGURING")))
        return EXEC_QUEUED;
    if (!j || is_active(j->state))
        return EXEC_RUNNING;   /* not answered yet, or running */
    if (!j->state[0] && clock_now_s() - j->missing_since < p->lost_after_s &&
        access(status_path, R_OK) != 0)
        return EXEC_RUNNING;   /* squeue may miss a job for a moment */
    if (!confirmed(p, j))
        return EXEC_RUNNING;   /* ended: a moment for sacct to have it */
    memset(res, 0, sizeof(*res));
    int have_status = exec_read_status(status_path, res) == 0;
    const char *state = j->settled ? j->acct.state : j->state[0] ? j->state : "LOST";
    snprintf(res->state, sizeof(res->state), "%s", state);
    snprintf(res->reason, sizeof(res->reason), "%s", j->reason);
    batch_details(j, res);
    /* A job its supervisor saw to the end says how it ended; one Slurm ended (a time
     * limit passed without a checkpoint, a node failed, preemption) is resubmitted. */
    if (!have_status || res->exit_code != 0)
        res->resubmit = is_resubmitted(state);
    return EXEC_FINISHED;
}

static int slurm_cancel(struct executor *ex, const struct exec_proc *proc,
                        const char *status_path, int sig)
{
    (void)ex;
    (void)status_path;
    if (proc->job_id <= 0)
        return 0;
    char id[32], sigarg[32];
    snprintf(id, sizeof(id), "%lld", (long long)proc->job_id);
    snprintf(sigarg, sizeof(sigarg), "--signal=%d", sig);
    /* SIGTERM: a plain scancel (Slurm signals the job, then kills it after KillWait,
     * and records it CANCELLED); anything else is sent as it is. */
    char *plain[] = { "scancel", id, NULL };
    char *with[] = { "scancel", "--full", sigarg, id, NULL };
    struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
    int rc = command_run(sig == SIGTERM ? plain : with, SLURM_CMD_TIMEOUT_S, &out, &err);
    sb_free(&out);
    sb_free(&err);
    return rc == 0 ? 0 : -1;
}

static int slurm_find(struct executor *ex, const char *name, struct exec_proc *proc)
{
    (void)ex;
    struct strbuf nm = STRBUF_INIT, out = STRBUF_INIT, err = STRBUF_INIT;
    sb_addf(&nm, "--name=%s", name);
    char *argv[] = { "squeue", "-h", "-t", "all", nm.buf, "-o", "%i|%T|%k", NULL };
    int found = 0;
    if (command_run(argv, SLURM_CMD_TIMEOUT_S, &out, &err) == 0) {
        for (char *line = out.buf; line && *line && !found;) {
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = '\0';
            long long id = 0;
            char state[24] = "";
            /* the comment must be the same identity: a name alone could be anyone's */
            char *comment = strrchr(line, '|');
            if (sscanf(line, "%lld|%23[^|]|", &id, state) == 2 && comment &&
                !strcmp(comment + 1, name)) {
                memset(proc, 0, sizeof(*proc));
                proc->job_id = id;
                found = 1;
            }
            line = nl ? nl + 1 : NULL;
        }
    }
    sb_free(&nm);
    sb_free(&out);
    sb_free(&err);
    return found;
}

static int slurm_alive(struct executor *ex, const struct exec_proc *proc,
                       const char *status_path)
{
    (void)status_path;
    struct slurm_priv *p = ex->priv;
    if (proc->job_id <= 0)
        return 0;
    watch(p, proc->job_id);
    if (query(p) < 0)
        return 1;   /* no answer: assume it lives, and look again later */
    struct slurm_job_seen *j = seen(p, proc->job_id, 0);
    return j && is_active(j->state);
}

void executor_slurm_init(struct executor *ex, const char *supervisor)
{
    struct slurm_priv *p = xcalloc(1, sizeof(*p));
    p->supervisor = supervisor;
    p->poll_s = env_seconds("MAINLINE_SLURM_POLL", 2);
    p->interval = p->poll_s;
    p->max_interval = env_seconds("MAINLINE_SLURM_POLL_MAX", 10);
    if (p->max_interval < p->poll_s)
        p->max_interval = p->poll_s;
    p->lost_after_s = env_seconds("MAINLINE_SLURM_LOST_AFTER", 60);
    p->acct_wait_s = env_seconds("MAINLINE_SLURM_ACCT_WAIT", 10);
    memset(ex, 0, sizeof(*ex));
    ex->name = "slurm";
    ex->submit = slurm_submit;
    ex->release = slurm_release;
    ex->find = slurm_find;
    ex->alive = slurm_alive;
    ex->poll = slurm_poll;
    ex->cancel = slurm_cancel;
    ex->priv = p;
}

void executor_slurm_free(struct executor *ex)
{
    struct slurm_priv *p = ex ? ex->priv : NULL;
    if (!p || strcmp(ex->name, "slurm") != 0)
        return;
    free(p->jobs);
    free(p->watch);
    free(p);
    ex->priv = NULL;
}
