/*
 * train_jobs.c - a run's trainer: starting an attempt (resuming from the last
 * checkpoint when the trainer can, else starting over with the earlier attempt's
 * files moved aside), and recording how it ended. A done run gets its
 * evaluations planned; a failed one is retried while the sweep's `retries` allow.
 */
#include <signal.h>
#include <stdlib.h>

#include "clock.h"
#include "fsutil.h"
#include "job.h"
#include "proc.h"
#include "rundir.h"
#include "sched_internal.h"

/* A fresh attempt after earlier ones: their files move aside, reading starts over. */
static int start_over(struct sched *s, struct reg_exec_run *r, const char *dir,
                      struct strbuf *err)
{
    if (r->attempt == 0)
        return 0;
    if (rundir_archive(dir, r->attempt, err) < 0)
        return -1;
    if (reg_ingest_reset(s->reg, r->rowid) != REG_OK) {
        sb_addf(err, "%s", reg_errmsg(s->reg));
        return -1;
    }
    return 0;
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
 * Fork, then record the start with its pid in one transaction. A crash in between
 * leaves a supervisor the registry does not know, but its pid file in the run
 * directory: train_job_start() finds it and adopts it instead of starting the run
 * twice.
 */
static int launch(struct sched *s, struct reg_exec_run *r, const char *dir, int attempt,
                  int resume, char **argv, char **env, struct strbuf *err)
{
    struct job *j = job_add(s);
    j->kind = JOB_TRAIN;
    j->run = (size_t)(r - s->runs);
    j->attempt = attempt;
    j->started = clock_now_s();
    job_set_paths(j, dir);
    int forked = job_submit(s, j, argv, env, err) == 0;
    if (reg_run_start(s->reg, r->rowid, attempt, !resume, forked ? j->proc.pid : 0,
                      forked ? j->proc.start : 0, proc_hostname(), dir) != REG_OK) {
        sb_addf(err, "%s%s", err->len ? "; " : "", reg_errmsg(s->reg));
        if (forked)
            s->ex.cancel(&s->ex, &j->proc, SIGKILL);
        job_drop_last(s);
        return -1;
    }
    r->state = RUN_RUNNING;
    r->attempt = attempt;
    free(r->run_dir);
    r->run_dir = xstrdup(dir);
    return forked ? 0 : -1;
}

/* Write config.json, build the command and environment, launch. */
static int submit(struct sched *s, struct reg_exec_run *r, const char *dir, int resume,
                  struct strbuf *err)
{
    int attempt = r->attempt + 1;
    struct strbuf config = STRBUF_INIT;
    sb_addf(&config, "%s/" JOB_FILE_CONFIG, dir);
    json_t *cfg = job_config_train(s, r, attempt, resume, dir);
    int rc = job_config_write(config.buf, cfg, err);
    json_t *params = json_loads(r->params_json, 0, NULL);
    json_t *vars = job_vars(s, dir, config.buf, attempt, resume, r->run_id, r->stage, cfg);
    json_decref(cfg);
    char **argv = NULL;
    if (rc == 0)
        argv = job_argv(s, s->spec.trainer_cmd, "mainline-train", resume, vars, params, err);
    char **env = job_env(s, dir, config.buf, attempt, resume);
    rc = argv ? 0 : -1;
    if (argv)
        rc = launch(s, r, dir, attempt, resume, argv, env, err);
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
    struct strbuf err = STRBUF_INIT;
    char *dir = rundir_path(s->root, s->sw.name, s->sw.version, r->run_id);
    if (reconcile_unrecorded(s, r, dir)) {
        free(dir);
        return;
    }
    int resume = can_resume(s, r);
    s->notes[i].tries++;
    int rc = mkdir_p(dir, &err);
    if (rc == 0 && !resume)
        rc = start_over(s, r, dir, &err);
    if (rc == 0)
        rc = submit(s, r, dir, resume, &err);
    if (rc < 0 && r->state == RUN_RUNNING) {
        /* Forking failed after the run was marked: the job slot finishes it. */
        sched_error(s, "%s: %s", r->run_id, err.buf);
    } else if (rc < 0) {
        /* Nothing started: say why and keep the registry consistent. */
        sched_error(s, "%s: %s", r->run_id, err.buf);
        s->notes[i].no_retry = 1;
        s->failures++;
        if (reg_run_start(s->reg, r->rowid, r->attempt + 1, 1, 0, 0, proc_hostname(),
                          dir) == REG_OK)
            reg_run_finish(s->reg, r->rowid, RUN_FAILED, 0, 0, err.buf);
        r->state = RUN_FAILED;
        r->attempt++;
    } else {
        s->started++;
        sched_note(s, "start  %s (attempt %d%s)", r->run_id, r->attempt,
                   resume ? ", resuming" : "");
    }
    free(dir);
    sb_free(&err);
}

void train_job_finished(struct sched *s, struct job *j, const struct exec_result *res)
{
    struct reg_exec_run *r = job_run(s, j);
    struct job_verdict v;
    job_verdict(j, res, s->spec.timeout_s, &v);
    const char *reason = v.state == RUN_DONE ? NULL : v.reason;
    sched_reg_check(s, reg_run_finish(s->reg, r->rowid, v.state, res->known, res->exit_code,
                                      reason), "cannot record the end of a run");
    r->state = v.state;
    free(r->fail_reason);
    r->fail_reason = reason ? xstrdup(reason) : NULL;
    s->finished++;
    if (v.state == RUN_DONE) {
        sched_note(s, "done   %s", r->run_id);
        eval_jobs_plan(s, r);
        return;
    }
    sched_note(s, "%s %s: %s", v.state == RUN_CANCELLED ? "cancel" : "FAIL  ", r->run_id,
               reason);
    if (v.state == RUN_FAILED) {
        s->failures++;
        s->notes[j->run].no_retry = v.no_retry;
    }
}
