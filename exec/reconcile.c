/*
 * reconcile.c - what a dead orchestrator left: runs and evaluations the registry
 * says are `running`. A job still alive on this host is adopted (watched as if
 * this orchestrator had started it); a dead one is finished from the exit status
 * its supervisor wrote, and restarted or resumed later; an evaluation is cheap, so
 * it is cancelled and redone. Also the supervisor an orchestrator forked but died
 * before recording: its pid file in the run directory gives it away.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "job.h"
#include "proc.h"
#include "sched_internal.h"

static void adopt(struct sched *s, struct reg_exec_run *r, const struct exec_proc *proc)
{
    struct job *j = job_add(s);
    j->kind = JOB_TRAIN;
    j->run = (size_t)(r - s->runs);
    j->attempt = r->attempt;
    j->proc = *proc;
    j->started = clock_now_s();
    job_set_paths(j, r->run_dir);
    sched_note(s, "%s is still running (pid %d): adopted", r->run_id, (int)proc->pid);
}

static void finish_orphan(struct sched *s, struct reg_exec_run *r, struct exec_proc *proc)
{
    struct job tmp = { .kind = JOB_TRAIN, .run = (size_t)(r - s->runs), .attempt = r->attempt,
                       .seen_metrics = -1, .seen_stdout = -1 };
    job_set_paths(&tmp, r->run_dir);
    job_ingest(s, &tmp, 1);
    struct exec_result res;
    int known = exec_read_status(tmp.status_path, &res) == 0;
    enum reg_status st;
    if (known && res.exit_code == JOB_EXIT_OK) {
        st = reg_run_finish(s->reg, r->rowid, RUN_DONE, 1, 0, NULL);
        r->state = RUN_DONE;
        sched_note(s, "%s finished while no orchestrator watched: done", r->run_id);
        eval_jobs_plan(s, r);
    } else {
        char reason[160];
        snprintf(reason, sizeof(reason), "orphaned: its orchestrator died%s (pid %lld)",
                 known ? " and the run failed" : " and so did the run", (long long)proc->pid);
        st = reg_run_finish(s->reg, r->rowid, RUN_FAILED, known, res.exit_code, reason);
        r->state = RUN_FAILED;
        s->notes[r - s->runs].orphaned = 1;
        sched_note(s, "%s: %s; it will be %s", r->run_id, reason,
                   s->spec.trainer_resume ? "resumed" : "restarted");
    }
    sched_reg_check(s, st, "cannot record an orphaned run");
    job_free(&tmp);
}

static void reconcile_run(struct sched *s, struct reg_exec_run *r)
{
    struct exec_proc proc = { (pid_t)r->pid, r->proc_start };
    int same_host = r->host && !strcmp(r->host, proc_hostname());
    if (r->run_dir && proc.pid == 0) {
        /* Died between marking the run running and recording the pid: the
         * supervisor's pid file says whether the job got started at all. */
        struct strbuf status = STRBUF_INIT;
        sb_addf(&status, "%s/" JOB_FILE_EXIT, r->run_dir);
        exec_read_pid_file(status.buf, &proc);
        sb_free(&status);
    }
    if (same_host && proc.pid > 0 && proc_alive(proc.pid, proc.start))
        adopt(s, r, &proc);
    else if (r->run_dir)
        finish_orphan(s, r, &proc);
    else
        sched_reg_check(s, reg_run_finish(s->reg, r->rowid, RUN_FAILED, 0, 0, "orphaned before "
                                          "it started"), "cannot record an orphaned run");
}

static void reconcile_evals(struct sched *s)
{
    struct reg_eval_job *jobs;
    size_t n;
    if (sched_reg_check(s, reg_eval_jobs_load(s->reg, s->sw.rowid, &jobs, &n),
                        "cannot read evals"))
        return;
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].state != RUN_RUNNING)
            continue;
        /* An evaluation is cheap to redo and only counts once it is recorded: a
         * dead one is started again, a live one is left to finish and redone. */
        struct exec_proc proc = { (pid_t)jobs[i].pid, jobs[i].proc_start };
        struct executor *ex = &s->ex;
        if (proc.pid > 0 && proc_alive(proc.pid, proc.start))
            ex->cancel(ex, &proc, SIGKILL);
        sched_reg_check(s, reg_eval_job_finish(s->reg, jobs[i].rowid, RUN_CANCELLED, 0, 0,
                                               "orphaned: its orchestrator died"),
                        "cannot record an orphaned evaluation");
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
    struct strbuf status = STRBUF_INIT;
    sb_addf(&status, "%s/" JOB_FILE_EXIT, dir);
    struct exec_proc proc;
    int found = exec_read_pid_file(status.buf, &proc) == 0 && proc_alive(proc.pid, proc.start);
    sb_free(&status);
    if (!found || reg_run_start(s->reg, r->rowid, r->attempt + 1, 0, proc.pid, proc.start,
                                proc_hostname(), dir) != REG_OK)
        return 0;
    r->state = RUN_RUNNING;
    r->attempt++;
    free(r->run_dir);
    r->run_dir = xstrdup(dir);
    adopt(s, r, &proc);
    return 1;
}
