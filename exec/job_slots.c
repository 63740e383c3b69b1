/*
 * job_slots.c - the active jobs of a scheduler: a slot per job (its directory and
 * files, what was ingested, when it started and why it was stopped), submitting a
 * job through the executor, and each look at the jobs: ingest what they wrote,
 * notice the ones that ended and record them, enforce the timeout, escalate
 * SIGTERM to SIGKILL after the grace period.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "job.h"
#include "sched_internal.h"

struct job *job_add(struct sched *s)
{
    s->jobs = xgrow(s->jobs, s->n_jobs + 1, &s->alloc_jobs, sizeof(*s->jobs));
    struct job *j = &s->jobs[s->n_jobs++];
    memset(j, 0, sizeof(*j));
    j->run = (size_t)-1;
    j->seen_metrics = j->seen_stdout = -1;
    return j;
}

void job_drop_last(struct sched *s)
{
    job_free(&s->jobs[--s->n_jobs]);
}

void job_free(struct job *j)
{
    free(j->dir);
    free(j->status_path);
    free(j->metrics_path);
    free(j->stdout_path);
    memset(j, 0, sizeof(*j));
}

struct reg_exec_run *job_run(const struct sched *s, const struct job *j)
{
    return j->run == (size_t)-1 ? NULL : &s->runs[j->run];
}

void job_set_paths(struct job *j, const char *dir)
{
    struct strbuf sb = STRBUF_INIT;
    j->dir = xstrdup(dir);
    sb_addf(&sb, "%s/" JOB_FILE_EXIT, dir);
    j->status_path = sb_detach(&sb);
    sb_addf(&sb, "%s/" JOB_FILE_METRICS, dir);
    j->metrics_path = sb_detach(&sb);
    sb_addf(&sb, "%s/" JOB_FILE_STDOUT, dir);
    j->stdout_path = sb_detach(&sb);
}

const char *proc_text(const struct exec_proc *proc, char *buf, size_t len)
{
    if (proc->job_id > 0)
        snprintf(buf, len, "Slurm job %lld", (long long)proc->job_id);
    else
        snprintf(buf, len, "pid %d", (int)proc->pid);
    return buf;
}

const char *job_name(const struct sched *s, const struct job *j, char *buf, size_t len)
{
    const struct reg_exec_run *r = job_run(s, j);
    if (j->kind == JOB_TRAIN)
        snprintf(buf, len, "%s", r->run_id);
    else if (!r)
        snprintf(buf, len, "baseline eval");
    else
        snprintf(buf, len, "%s eval@%lld", r->run_id, (long long)j->eval_step);
    return buf;
}

/* Failures are reported, not fatal: the lines stay in the file and the next look
 * reads them again from the offset committed with the last rows. `ended`: the job
 * has ended, its last line is read even without a newline. */
int job_ingest(struct sched *s, struct job *j, int ended)
{
    if (j->kind != JOB_TRAIN)
        return 0;   /* evaluators are read once, when they finish */
    struct reg_exec_run *r = job_run(s, j);
    struct strbuf err = STRBUF_INIT;
    int rc = 0;
    if (ingest_file_if_grown(s->reg, r->rowid, j->attempt, j->metrics_path, "metrics", NULL,
                             ended, &j->stats, &j->seen_metrics, &err) < 0 ||
        (s->rules && ingest_file_if_grown(s->reg, r->rowid, j->attempt, j->stdout_path,
                                          "stdout", s->rules, ended, &j->stats, &j->seen_stdout,
                                          &err) < 0))
        rc = -1;
    if (rc < 0 && !j->warned)
        sched_warning(s, "%s (retried from the last recorded line)", err.buf);
    j->warned = rc < 0;
    sb_free(&err);
    return rc;
}

/* The name a batch system knows the job by: its identity in this registry, so a
 * job submitted but never recorded is found again. */
void job_batch_name(const struct sched *s, const struct job *j, struct strbuf *sb)
{
    const struct reg_exec_run *r = job_run(s, j);
    sb_addf(sb, "mainline/%s@v%d/", s->sw.name, s->sw.version);
    if (j->kind == JOB_TRAIN)
        sb_addf(sb, "%s/a%d", r->run_id, j->attempt);
    else if (!r)
        sb_addf(sb, "baseline/e%d", j->attempt);
    else
        sb_addf(sb, "%s/eval@%lld/e%d", r->run_id, (long long)j->eval_step, j->attempt);
}

enum reg_status job_record_proc(struct sched *s, const struct job *j, const char *name)
{
    struct reg_job_proc p = { j->proc.pid, j->proc.start, j->proc.job_id, s->ex.name, name,
                              j->attempt };
    return j->kind == JOB_TRAIN ? reg_run_set_proc(s->reg, job_run(s, j)->rowid, &p)
                                : reg_eval_job_set_proc(s->reg, j->eval_rowid, &p);
}

int job_submit(struct sched *s, struct job *j, char **argv, char **env, struct strbuf *err)
{
    struct strbuf errlog = STRBUF_INIT, name = STRBUF_INIT;
    sb_addf(&errlog, "%s/" JOB_FILE_STDERR, j->dir);
    job_batch_name(s, j, &name);
    const struct reg_exec_run *r = job_run(s, j);
    struct slurm_resources res;
    sweep_slurm_resources(&s->spec, j->kind == JOB_TRAIN ? r->stage : NULL, &res);
    char *exclude = j->kind == JOB_TRAIN ? train_job_exclude(s, j->run) : NULL;
    struct exec_spec spec = { argv, env, j->dir, j->stdout_path, errlog.buf, j->status_path,
                              name.buf, &res, s->opt.threads_per_run, exclude,
                              j->kind == JOB_TRAIN };
    int ok = s->ex.submit(&s->ex, &spec, &j->proc, err) == 0;
    if (ok && job_record_proc(s, j, name.buf) != REG_OK) {
        if (s->ex.release) {
            /* Held and unrecorded: it must not run. */
            sb_addf(err, "cannot record batch job %lld: %s", (long long)j->proc.job_id,
                    reg_errmsg(s->reg));
            s->ex.cancel(&s->ex, &j->proc, j->status_path, SIGKILL);
            ok = 0;
        } else {
            char what[300];
            sched_warning(s, "%s: its pid is not recorded (%s); its pid file in %s has it",
                          job_name(s, j, what, sizeof(what)), reg_errmsg(s->reg), j->dir);
        }
    }
    if (ok && s->ex.release && s->ex.release(&s->ex, &j->proc, err) < 0) {
        s->ex.cancel(&s->ex, &j->proc, j->status_path, SIGKILL);
        ok = 0;
    }
    slurm_resources_free(&res);
    free(exclude);
    sb_free(&errlog);
    sb_free(&name);
    if (!ok)
        j->stop = JOB_STOP_COULD_NOT_START;   /* the job slot records the failure */
    return ok ? 0 : -1;
}

static void job_stop(struct sched *s, struct job *j, enum job_stop why, int sig)
{
    if (j->ended)
        return;   /* it ended on its own: only its recording is left */
    if (j->stop == JOB_STOP_NONE)
        j->stop = why;
    if (!j->term_at)
        j->term_at = clock_now_s();
    s->ex.cancel(&s->ex, &j->proc, j->status_path, sig);
}

void jobs_stop(struct sched *s, const struct job *except, enum job_stop why, int sig)
{
    for (size_t i = 0; i < s->n_jobs; i++)
        if (&s->jobs[i] != except)
            job_stop(s, &s->jobs[i], why, sig);
}

static void enforce_limits(struct sched *s, struct job *j, double t)
{
    if (j->term_at && t - j->term_at > s->opt.kill_grace_s) {
        s->ex.cancel(&s->ex, &j->proc, j->status_path, SIGKILL);
        return;
    }
    if (!j->term_at && s->spec.timeout_s > 0 && t - j->started > s->spec.timeout_s)
        job_stop(s, j, JOB_STOP_TIMEOUT, SIGTERM);
}

/* A job that ended but whose lines or end the registry did not take: keep it (0)
 * and try again at the next look, until opt.registry_wait_s has passed since it
 * ended. Then give up on it for this invocation (1): its run stays `running`, and
 * the next `mainline run` finds it dead and records it from its files. */
static int keep_unrecorded(struct sched *s, struct job *j, double t)
{
    char name[300];
    if (t - j->ended_at < s->opt.registry_wait_s && !s->killing)
        return 0;
    sched_error(s, "%s ended, but after %.0f s the registry still would not take what it "
                "wrote (%s): left `running` for the next `mainline run`",
                job_name(s, j, name, sizeof(name)), s->opt.registry_wait_s,
                reg_errmsg(s->reg));
    s->unrecorded++;
    return 1;
}

/* What the batch system said of the job's end, into its batch_jobs row. */
static void record_batch_end(struct sched *s, const struct job *j)
{
    const struct exec_result *res = &j->res;
    struct reg_batch_end end = { res->state, res->reason, res->partition, res->nodes,
                                 res->has_elapsed ? res->elapsed_s : -1,
                                 res->has_max_rss ? res->max_rss : -1, res->acct_confirmed };
    struct strbuf name = STRBUF_INIT;
    job_batch_name(s, j, &name);
    reg_batch_job_end(s->reg, j->proc.job_id, name.buf, &end);
    sb_free(&name);
}

/* Look at one job; returns 1 when it is done with: ended and recorded (or given up). */
static int check_job(struct sched *s, struct job *j, double t)
{
    if (!j->ended) {
        struct exec_result res = { 0 };
        int started = j->proc.pid > 0 || j->proc.job_id > 0;
        enum exec_state st = started ? s->ex.poll(&s->ex, &j->proc, j->status_path, &res)
                                     : EXEC_FINISHED;
        if (st == EXEC_ORPHANED && !j->supervisor_gone) {
            char name[300];
            j->supervisor_gone = 1;
            sched_note(s, "%s: its supervisor (pid %d) died but the job still runs: waiting "
                       "for it to end before anything else starts in its directory",
                       job_name(s, j, name, sizeof(name)), (int)j->proc.pid);
        }
        if (st == EXEC_QUEUED)
            j->started = t;   /* the sweep's `timeout` counts from when it runs */
        if (st != EXEC_FINISHED) {
            job_ingest(s, j, 0);
            enforce_limits(s, j, t);
            return 0;
        }
        j->ended = 1;
        j->res = res;
        j->ended_at = t;
    }
    /* A run is done only once its rows are in the registry. */
    if (job_ingest(s, j, 1) < 0)
        return keep_unrecorded(s, j, t);
    int recorded = j->kind == JOB_TRAIN ? train_job_finished(s, j, &j->res)
                                        : eval_job_finished(s, j, &j->res);
    if (recorded < 0)
        return keep_unrecorded(s, j, t);
    if (j->proc.job_id > 0 && j->res.state[0])
        record_batch_end(s, j);
    if (s->opt.fail_fast && s->failures && !s->stopping) {
        s->stopping = 1;
        sched_note(s, "--fail-fast: stopping the other jobs");
        jobs_stop(s, j, JOB_STOP_CANCELLED, SIGTERM);
    }
    return 1;
}

void jobs_check(struct sched *s)
{
    double t = clock_now_s();
    for (size_t i = 0; i < s->n_jobs;) {
        if (!check_job(s, &s->jobs[i], t)) {
            i++;
            continue;
        }
        job_free(&s->jobs[i]);
        s->jobs[i] = s->jobs[--s->n_jobs];
    }
}
