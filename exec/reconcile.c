/*
 * reconcile.c - what a dead orchestrator left: runs and evaluations the registry
 * says are `running`. A job still alive on this host is adopted (watched as if
 * this orchestrator had started it); a dead one is finished from the exit status
 * its supervisor wrote, and restarted or resumed later; an evaluation that ended
 * with its status written is recorded from its files, one that vanished is
 * cancelled and redone. Also the supervisor an orchestrator forked but died before
 * recording: its pid file (or the lock its job holds) in the run directory gives it
 * away.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "job.h"
#include "job_lock.h"
#include "proc.h"
#include "sched_internal.h"

/* A job still alive: a batch job its batch system still holds, or a local job of
 * this host whose supervisor lives, or whose command does (it holds the lock). */
static int job_alive(struct sched *s, const char *host, const struct exec_proc *proc,
                     const char *dir)
{
    if (proc->job_id > 0)
        return s->ex.alive && strcmp(s->ex.name, "slurm") == 0 &&
               s->ex.alive(&s->ex, proc, NULL);
    if (!host || strcmp(host, proc_hostname()) != 0)
        return 0;
    if (proc->pid > 0 && proc_alive(proc->pid, proc->start))
        return 1;
    return dir && job_lock_probe(dir, NULL) == JOB_LOCK_HELD;
}

/* A batch job submitted for j but never recorded (the orchestrator died between
 * sbatch and the record): found by its name, recorded now and released. 1 when found. */
static int find_unrecorded(struct sched *s, struct job *j, struct exec_proc *proc)
{
    if (!s->ex.find)
        return 0;
    struct strbuf name = STRBUF_INIT, err = STRBUF_INIT;
    job_batch_name(s, j, &name);
    int found = s->ex.find(&s->ex, name.buf, proc);
    if (found) {
        j->proc = *proc;
        if (job_record_proc(s, j, name.buf) != REG_OK)
            sched_warning(s, "batch job %lld is not recorded: %s", (long long)proc->job_id,
                          reg_errmsg(s->reg));
        if (s->ex.release && s->ex.release(&s->ex, proc, &err) < 0)
            sched_warning(s, "%s", err.buf);   /* it may have been released already */
    }
    sb_free(&name);
    sb_free(&err);
    return found;
}

/* The supervisor's pid and start from the pid file it writes in dir before it
 * starts the command, for a job whose pid the registry never got. */
static void proc_from_dir(const char *dir, struct exec_proc *proc)
{
    struct strbuf status = STRBUF_INIT;
    sb_addf(&status, "%s/" JOB_FILE_EXIT, dir);
    exec_read_pid_file(status.buf, proc);
    sb_free(&status);
}

static struct job *adopt(struct sched *s, struct reg_exec_run *r, const struct exec_proc *proc)
{
    struct job *j = job_add(s);
    j->kind = JOB_TRAIN;
    j->run = (size_t)(r - s->runs);
    j->attempt = r->attempt;
    j->proc = *proc;
    j->started = clock_now_s();
    j->adopted = 1;
    job_set_paths(j, r->run_dir);
    char where[64];
    sched_note(s, "%s is still running (%s): adopted", r->run_id,
               proc_text(proc, where, sizeof(where)));
    return j;
}

/* A job that ended with nobody watching whose lines or end the registry would not
 * take now: the loop records it (job_slots.c) when the registry does. */
static void adopt_ended(struct job *j, const struct exec_result *res)
{
    j->ended = 1;
    j->res = *res;
    j->ended_at = clock_now_s();
}

static void finish_orphan(struct sched *s, struct reg_exec_run *r, struct exec_proc *proc)
{
    struct job tmp = { .kind = JOB_TRAIN, .run = (size_t)(r - s->runs), .attempt = r->attempt,
                       .seen_metrics = -1, .seen_stdout = -1 };
    job_set_paths(&tmp, r->run_dir);
    struct exec_result res;
    int known = exec_read_status(tmp.status_path, &res) == 0;
    if (!known)
        memset(&res, 0, sizeof(res));
    int ingested = job_ingest(s, &tmp, 1) == 0;
    job_free(&tmp);
    enum reg_status st = REG_ERR_BUSY;
    char reason[160] = "";
    int done = known && res.exit_code == JOB_EXIT_OK;
    if (!done)
        snprintf(reason, sizeof(reason), "orphaned: its orchestrator died%s (pid %lld)",
                 known ? " and the run failed" : " and so did the run", (long long)proc->pid);
    if (ingested)
        st = reg_run_finish(s->reg, r->rowid, done ? RUN_DONE : RUN_FAILED, known,
                            res.exit_code, done ? NULL : reason, NULL);
    if (st != REG_OK) {
        /* Its rows or its end wait for the registry: the loop keeps trying. */
        struct exec_proc none = { 0, 0, 0 };
        adopt_ended(adopt(s, r, &none), &res);
        return;
    }
    if (done) {
        r->state = RUN_DONE;
        sched_note(s, "%s finished while no orchestrator watched: done", r->run_id);
        train_job_ckpt_fate(s, r);
        eval_jobs_plan(s, r);
    } else {
        r->state = RUN_FAILED;
        s->notes[r - s->runs].orphaned = 1;
        sched_note(s, "%s: %s; it will be %s", r->run_id, reason,
                   s->spec.trainer_resume ? "resumed" : "restarted");
    }
}

static void reconcile_run(struct sched *s, struct reg_exec_run *r)
{
    struct exec_proc proc = { (pid_t)r->pid, r->proc_start, r->job_id };
    /* Died between marking the run running and recording the pid: the supervisor's
     * pid file says whether the job got started at all; a batch job is found by the
     * name it was submitted under. */
    if (r->run_dir && proc.pid == 0 && proc.job_id == 0)
        proc_from_dir(r->run_dir, &proc);
    if (r->run_dir && proc.pid == 0 && proc.job_id == 0) {
        struct job tmp = { .kind = JOB_TRAIN, .run = (size_t)(r - s->runs),
                           .attempt = r->attempt };
        find_unrecorded(s, &tmp, &proc);
    }
    if (job_alive(s, r->host, &proc, r->run_dir))
        adopt(s, r, &proc);
    else if (r->run_dir)
        finish_orphan(s, r, &proc);
    else
        sched_reg_check(s, reg_run_finish(s->reg, r->rowid, RUN_FAILED, 0, 0, "orphaned before "
                                          "it started", NULL),
                        "cannot record an orphaned run");
}

static size_t run_index(const struct sched *s, int64_t rowid)
{
    for (size_t i = 0; i < s->n_runs; i++)
        if (s->runs[i].rowid == rowid)
            return i;
    return (size_t)-1;
}

/* An evaluation left `running`: a live one is adopted and watched to its end; one
 * that ended with its status written is recorded from its files; one that vanished
 * without a status is cancelled, and so done again. */
static void reconcile_eval(struct sched *s, const struct reg_eval_job *e)
{
    struct exec_proc proc = { (pid_t)e->pid, e->proc_start, e->job_id };
    size_t ri = e->run ? run_index(s, e->run) : (size_t)-1;
    if (e->dir && proc.pid == 0 && proc.job_id == 0)
        proc_from_dir(e->dir, &proc);
    if (e->dir && proc.pid == 0 && proc.job_id == 0) {
        struct job tmp = { .kind = JOB_EVAL, .run = ri, .eval_rowid = e->rowid,
                           .eval_step = e->step, .attempt = e->attempt };
        find_unrecorded(s, &tmp, &proc);
    }
    struct exec_result res;
    int alive = job_alive(s, e->host, &proc, e->dir);
    int ended = !alive && e->dir && !(e->run && ri == (size_t)-1);
    if (ended) {
        struct strbuf status = STRBUF_INIT;
        sb_addf(&status, "%s/" JOB_FILE_EXIT, e->dir);
        ended = exec_read_status(status.buf, &res) == 0;
        sb_free(&status);
    }
    if (!alive && !ended) {
        sched_reg_check(s, reg_eval_job_finish(s->reg, e->rowid, RUN_CANCELLED, 0, 0,
                                               "orphaned: its orchestrator died"),
                        "cannot record an orphaned evaluation");
        return;
    }
    struct job *j = job_add(s);
    j->kind = JOB_EVAL;
    j->run = ri;
    j->eval_rowid = e->rowid;
    j->eval_step = e->step;
    j->attempt = e->attempt;
    j->proc = proc;
    j->started = clock_now_s();
    j->adopted = 1;
    job_set_paths(j, e->dir);
    char name[300];
    job_name(s, j, name, sizeof(name));
    if (ended) {
        adopt_ended(j, &res);
        sched_note(s, "%s finished while no orchestrator watched: recording it", name);
    } else {
        char where[64];
        sched_note(s, "%s is still running (%s): adopted", name,
                   proc_text(&proc, where, sizeof(where)));
    }
}

static void reconcile_evals(struct sched *s)
{
    struct reg_eval_job *jobs;
    size_t n;
    if (sched_reg_check(s, reg_eval_jobs_load(s->reg, s->sw.rowid, &jobs, &n),
                        "cannot read evals"))
        return;
    for (size_t i = 0; i < n; i++)
        if (jobs[i].state == RUN_RUNNING)
            reconcile_eval(s, &jobs[i]);
    /* A done run whose evaluation was never planned (the registry refused when it
     * ended, or the orchestrator died right then) gets it planned now. */
    for (size_t i = 0; i < s->n_runs; i++) {
        int planned = 0;
        for (size_t k = 0; k < n && !planned; k++)
            planned = jobs[k].run == s->runs[i].rowid;
        if (s->runs[i].state == RUN_DONE && !planned)
            eval_jobs_plan(s, &s->runs[i]);
    }
    reg_eval_jobs_free(jobs, n);
}

void reconcile_orphans(struct sched *s)
{
    for (size_t i = 0; i < s->n_runs; i++)
        if (s->runs[i].state == RUN_RUNNING)
            reconcile_run(s, &s->runs[i]);
    reconcile_evals(s);
}

int reconcile_unrecorded(struct sched *s, struct reg_exec_run *r, const char *dir)
{
    struct exec_proc proc = { 0, 0, 0 };
    proc_from_dir(dir, &proc);
    if (!job_alive(s, proc_hostname(), &proc, dir) ||
        reg_run_start(s->reg, r->rowid, r->attempt + 1, 0, proc.pid, proc.start,
                      proc_hostname(), dir) != REG_OK)
        return 0;
    r->state = RUN_RUNNING;
    r->attempt++;
    free(r->run_dir);
    r->run_dir = xstrdup(dir);
    adopt(s, r, &proc);
    return 1;
}
