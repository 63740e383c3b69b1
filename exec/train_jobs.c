/*
 * train_jobs.c - a run's trainer: starting an attempt (resuming from the last
 * checkpoint when the trainer can, else starting over with the earlier attempt's
 * files moved aside), and recording how it ended. A done run gets its
 * evaluations planned; a failed one is retried while the sweep's `retries` allow.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt_fate.h"
#include "clock.h"
#include "fsutil.h"
#include "job.h"
#include "proc.h"
#include "rundir.h"
#include "sched_internal.h"

/* Attempts ended by the batch system or a time limit that are started again without
 * counting as failures; past that they count (a job that can never finish in its time
 * limit must not loop). */
#define MAX_RESUBMITS 5

/* Attempts of one run that failed on a node before its next attempts exclude it. */
#define NODE_FAILURES_EXCLUDE 2

/* What a failed start leaves: nothing started, and whether the registry refused
 * for now (busy or full: try again later) rather than for good. */
struct start_failure {
    struct strbuf msg;
    int transient;
};

static int registry_refused(struct sched *s, enum reg_status st, struct start_failure *f)
{
    sb_addf(&f->msg, "%s%s", f->msg.len ? "; " : "", reg_errmsg(s->reg));
    f->transient = reg_status_transient(st);
    return -1;
}

/* A fresh attempt after earlier ones: their files move aside, reading starts over. */
static int start_over(struct sched *s, struct reg_exec_run *r, const char *dir,
                      struct start_failure *f)
{
    if (r->attempt == 0)
        return 0;
    if (rundir_archive(dir, r->attempt, &f->msg) < 0)
        return -1;
    enum reg_status st = reg_ingest_reset(s->reg, r->rowid);
    return st == REG_OK ? 0 : registry_refused(s, st, f);
}

static int can_resume(struct sched *s, const struct reg_exec_run *r)
{
    if (!s->spec.trainer_resume || r->attempt == 0)
        return 0;
    int64_t step;
    char *path = NULL;
    reg_run_checkpoint(s->reg, r->rowid, -1, &step, &path);
    free(path);
    return path != NULL;
}

/*
 * Mark the run running (its attempt and directory), then fork, then record the
 * pid. A registry that refuses the mark starts nothing. A crash between the mark
 * and the pid leaves the supervisor's pid file in the run directory, and the lock
 * its job holds: reconcile.c finds the job there and adopts it.
 */
static int launch(struct sched *s, struct reg_exec_run *r, const char *dir, int attempt,
                  int resume, char **argv, char **env, struct start_failure *f)
{
    struct job *j = job_add(s);
    j->kind = JOB_TRAIN;
    j->run = (size_t)(r - s->runs);
    j->attempt = attempt;
    job_set_paths(j, dir);
    /* A status left by an earlier attempt must not pass for this one's. */
    struct strbuf pid_file = STRBUF_INIT;
    sb_addf(&pid_file, "%s.pid", j->status_path);
    unlink(j->status_path);
    unlink(pid_file.buf);
    sb_free(&pid_file);
    enum reg_status st = reg_run_start(s->reg, r->rowid, attempt, !resume, 0, 0,
                                       proc_hostname(), dir);
    if (st != REG_OK) {
        job_drop_last(s);
        return registry_refused(s, st, f);
    }
    r->state = RUN_RUNNING;
    r->attempt = attempt;
    free(r->run_dir);
    r->run_dir = xstrdup(dir);
    j->started = clock_now_s();
    return job_submit(s, j, argv, env, &f->msg);   /* a failure: the slot records it */
}

/* Write config.json, build the command and environment, launch. */
static int submit(struct sched *s, struct reg_exec_run *r, const char *dir, int resume,
                  struct start_failure *f)
{
    int attempt = r->attempt + 1;
    struct strbuf config = STRBUF_INIT;
    sb_addf(&config, "%s/" JOB_FILE_CONFIG, dir);
    json_t *cfg = job_config_train(s, r, attempt, resume, dir);
    int rc = job_config_write(config.buf, cfg, &f->msg);
    json_t *params = json_loads(r->params_json, 0, NULL);
    json_t *vars = job_vars(s, dir, config.buf, attempt, resume, r->run_id, r->stage, cfg);
    json_decref(cfg);
    char **argv = NULL;
    if (rc == 0)
        argv = job_argv(s, s->spec.trainer_cmd, "mainline-train", resume, vars, params,
                        &f->msg);
    char **env = job_env(s, dir, config.buf, attempt, resume);
    rc = argv ? 0 : -1;
    if (argv)
        rc = launch(s, r, dir, attempt, resume, argv, env, f);
    argv_free(argv);
    argv_free(env);
    json_decref(params);
    json_decref(vars);
    sb_free(&config);
    return rc;
}

void train_job_start(struct sched *s, size_t i)
{
    struct reg_exec_run *r = &s->runs[i];
    struct start_failure f = { STRBUF_INIT, 0 };
    char *dir = rundir_path(s->root, s->sw.name, s->sw.version, r->run_id);
    if (reconcile_unrecorded(s, r, dir)) {
        free(dir);
        return;
    }
    int resume = can_resume(s, r);
    s->notes[i].tries++;
    int rc = mkdir_p(dir, &f.msg);
    if (rc == 0 && !resume)
        rc = start_over(s, r, dir, &f);
    if (rc == 0)
        rc = submit(s, r, dir, resume, &f);
    if (rc < 0 && r->state == RUN_RUNNING) {
        /* Forking failed after the run was marked: the job slot finishes it. */
        sched_error(s, "%s: %s", r->run_id, f.msg.buf);
    } else if (rc < 0 && f.transient) {
        /* The registry is busy or full: nothing started, nothing is lost; the next
         * look tries again, and this try does not count. */
        s->notes[i].tries--;
        sched_registry_refused(s, f.msg.buf);
    } else if (rc < 0) {
        /* Nothing started: say why and keep the registry consistent. */
        sched_error(s, "%s: %s", r->run_id, f.msg.buf);
        s->notes[i].no_retry = 1;
        s->failures++;
        if (reg_run_start(s->reg, r->rowid, r->attempt + 1, 1, 0, 0, proc_hostname(),
                          dir) == REG_OK)
            reg_run_finish(s->reg, r->rowid, RUN_FAILED, 0, 0, f.msg.buf, NULL);
        r->state = RUN_FAILED;
        r->attempt++;
    } else {
        s->started++;
        s->registry_refused_at = 0;
        sched_note(s, "start  %s (attempt %d%s)", r->run_id, r->attempt,
                   resume ? ", resuming" : "");
    }
    free(dir);
    sb_free(&f.msg);
}

/* ---- nodes that failed a run ---- */

/* An attempt that failed where the node may be to blame: not stopped by us, not
 * cancelled, not the code's own doing (a bad config, divergence, too little memory
 * asked for), not a time limit or preemption; a node Slurm says failed is. */
static int node_may_be_at_fault(const struct job *j, const struct job_verdict *v,
                                const struct exec_result *res)
{
    if (!res->nodes[0] || j->stop != JOB_STOP_NONE || v->state != RUN_FAILED || v->no_retry ||
        !strcmp(res->state, "OUT_OF_MEMORY"))
        return 0;
    if (v->resubmit)
        return !strcmp(res->state, "NODE_FAIL") || !strcmp(res->state, "BOOT_FAIL");
    return 1;
}

/* Count the failure against its nodes; 1 when that excludes them from now on. */
static int note_node_failure(struct run_note *n, const char *nodes)
{
    for (size_t i = 0; i < n->n_node_failures; i++)
        if (!strcmp(n->node_failures[i].nodes, nodes))
            return ++n->node_failures[i].count == NODE_FAILURES_EXCLUDE;
    n->node_failures = xrealloc(n->node_failures,
                                (n->n_node_failures + 1) * sizeof(*n->node_failures));
    n->node_failures[n->n_node_failures++] = (struct node_failures){ xstrdup(nodes), 1 };
    return NODE_FAILURES_EXCLUDE == 1;
}

char *train_job_exclude(const struct sched *s, size_t i)
{
    const struct run_note *n = &s->notes[i];
    struct strbuf sb = STRBUF_INIT;
    for (size_t k = 0; k < n->n_node_failures; k++)
        if (n->node_failures[k].count >= NODE_FAILURES_EXCLUDE)
            sb_addf(&sb, "%s%s", sb.len ? "," : "", n->node_failures[k].nodes);
    return sb.len ? sb_detach(&sb) : NULL;
}

void run_note_free(struct run_note *n)
{
    for (size_t i = 0; i < n->n_node_failures; i++)
        free(n->node_failures[i].nodes);
    free(n->node_failures);
    n->node_failures = NULL;
    n->n_node_failures = 0;
}

/* ---- the end of an attempt ---- */

void train_job_ckpt_fate(struct sched *s, const struct reg_exec_run *r)
{
    if (!r->run_dir)
        return;
    struct strbuf err = STRBUF_INIT;
    enum reg_status st = ckpt_fate_record(s->reg, r->rowid, r->run_dir, &err);
    if (st != REG_OK)
        sched_warning(s, "%s: which checkpoints were kept is not recorded: %s", r->run_id,
                      reg_errmsg(s->reg));
    else if (err.len)
        sched_warning(s, "%s: a checkpoint could not be hashed: %s", r->run_id, err.buf);
    sb_free(&err);
}

int train_job_finished(struct sched *s, struct job *j, const struct exec_result *res)
{
    struct reg_exec_run *r = job_run(s, j);
    struct job_verdict v;
    job_verdict(j, res, s->spec.timeout_s, &v);
    const char *reason = v.state == RUN_DONE ? NULL : v.reason;
    if (reg_run_finish(s->reg, r->rowid, v.state, res->known, res->exit_code, reason,
                       v.state == RUN_DONE ? NULL : v.stderr_line)
        != REG_OK) {
        if (!j->record_warned)
            sched_warning(s, "%s ended; recording its end waits for the registry: %s",
                          r->run_id, reg_errmsg(s->reg));
        j->record_warned = 1;
        return -1;
    }
    r->state = v.state;
    free(r->fail_reason);
    r->fail_reason = reason ? xstrdup(reason) : NULL;
    s->finished++;
    if (v.state == RUN_DONE) {
        sched_note(s, "done   %s", r->run_id);
        train_job_ckpt_fate(s, r);
        eval_jobs_plan(s, r);
        return 0;
    }
    struct run_note *n = &s->notes[j->run];
    if (node_may_be_at_fault(j, &v, res) && note_node_failure(n, res->nodes))
        sched_note(s, "%s failed %d times on %s: its next attempts exclude it", r->run_id,
                   NODE_FAILURES_EXCLUDE, res->nodes);
    if (v.resubmit && n->resubmits < MAX_RESUBMITS) {
        /* Not a failure of its code: this attempt does not count against retries. */
        n->resubmits++;
        n->tries--;
        n->orphaned = 1;
        sched_note(s, "stop   %s: %s; resubmitted, resuming (%d of at most %d)", r->run_id,
                   reason, n->resubmits, MAX_RESUBMITS);
        return 0;
    }
    sched_note(s, "%s %s: %s", v.state == RUN_CANCELLED ? "cancel" : "FAIL  ", r->run_id,
               reason);
    if (v.state == RUN_FAILED) {
        s->failures++;
        n->no_retry = v.no_retry;
        /* Adopted from a dead orchestrator: its retries are this invocation's too. */
        n->orphaned |= j->adopted;
    }
    n->cancelled |= v.cancelled_outside;
    return 0;
}
