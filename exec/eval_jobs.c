/*
 * eval_jobs.c - evaluations: when a run is done, plan the evaluation of the
 * checkpoint its frozen selection rule points at (and the untouched base model
 * once, the baseline, planned by sched_open); start planned ones while there are
 * free slots, each in its own directory (runs/.../RUN/eval/step-N, or
 * runs/.../baseline); when one ends, read its results into the registry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "eval_result.h"
#include "fsutil.h"
#include "job_lock.h"
#include "proc.h"
#include "rundir.h"
#include "sched_internal.h"

/* ---- planning ---- */

void eval_jobs_plan(struct sched *s, const struct reg_exec_run *r)
{
    /* A stage that picks (an LR-selection stage) exists to choose a value by
     * validation NLL; benchmarking its runs would spend the evaluation budget on
     * runs no comparison uses. */
    const struct sweep_stage *st = sweep_find_stage(&s->spec, r->stage);
    if (!json_is_object(json_object_get(s->spec.contract, "evaluation")) || (st && st->pick))
        return;
    json_t *sel = json_object_get(s->spec.contract, "selection");
    const char *rule = json_string_value(json_object_get(sel, "checkpoint"));
    if (!rule)
        rule = "last";
    int64_t step = -1, found_step = -1;
    int found = 0;
    double value;
    if (!strncmp(rule, "min(", 4) || !strncmp(rule, "max(", 4)) {
        char metric[64];
        snprintf(metric, sizeof(metric), "%.*s", (int)strlen(rule) - 5, rule + 4);
        if (!strncmp(metric, "eval_", 5) || !strcmp(metric, "accuracy"))
            step = -2;   /* a rule over eval results: evaluate every checkpoint */
        else
            reg_run_best_metric(s->reg, r->rowid, metric, rule[1] == 'a', &value, &step,
                                &found);
    }
    char *path = NULL;
    if (step == -2) {
        sched_note(s, "%s: rule %s evaluates the last checkpoint only for now", r->run_id,
                   rule);
        step = -1;
    }
    reg_run_checkpoint(s->reg, r->rowid, found ? step : -1, &found_step, &path);
    if (!path) {
        sched_note(s, "%s: no checkpoint to evaluate", r->run_id);
        return;
    }
    char *abs = path[0] == '/' ? xstrdup(path) : path_join(r->run_dir, path);
    sched_reg_check(s, reg_eval_job_add(s->reg, s->sw.rowid, r->rowid, found_step, abs),
                    "cannot plan an evaluation");
    free(abs);
    free(path);
}

/* ---- starting ---- */

static char *eval_dir(struct sched *s, const struct reg_exec_run *r, int64_t step)
{
    struct strbuf sb = STRBUF_INIT;
    if (!r) {
        char *base = rundir_path(s->root, s->sw.name, s->sw.version, "baseline");
        sb_adds(&sb, base);
        free(base);
    } else {
        sb_addf(&sb, "%s/eval/step-%lld", r->run_dir, (long long)step);
    }
    return sb_detach(&sb);
}

static size_t run_index(struct sched *s, int64_t rowid)
{
    for (size_t i = 0; i < s->n_runs; i++)
        if (s->runs[i].rowid == rowid)
            return i;
    return (size_t)-1;
}

/* The slot of an evaluation whose start is recorded, submitted to the executor. */
static void launch(struct sched *s, struct reg_eval_job *e, size_t ri, const char *dir,
                   const char *config, char **argv)
{
    struct job *j = job_add(s);
    j->kind = JOB_EVAL;
    j->run = ri;
    j->eval_rowid = e->rowid;
    j->eval_step = e->step;
    j->attempt = e->attempt + 1;
    j->started = clock_now_s();
    job_set_paths(j, dir);
    char **env = job_env(s, dir, config, j->attempt, 0);
    struct strbuf err = STRBUF_INIT;
    char name[300];
    if (job_submit(s, j, argv, env, &err) < 0)   /* the slot records it failed */
        sched_error(s, "%s: %s", job_name(s, j, name, sizeof(name)), err.buf);
    sb_free(&err);
    argv_free(env);
}

/* An evaluation that could not start (its directory or eval.json cannot be made, its
 * command not built): recorded failed once, with the reason, and not tried again by
 * this invocation, whose loop would otherwise try it again at every poll. */
static void not_started(struct sched *s, const struct reg_eval_job *e,
                        const struct reg_exec_run *r, const char *dir, const char *why)
{
    char name[300];
    struct job j = { .kind = JOB_EVAL, .run = r ? (size_t)(r - s->runs) : (size_t)-1,
                     .eval_step = e->step };
    job_name(s, &j, name, sizeof(name));
    sched_error(s, "%s: %s", name, why);
    s->unstartable = xgrow(s->unstartable, s->n_unstartable + 1, &s->alloc_unstartable,
                           sizeof(*s->unstartable));
    s->unstartable[s->n_unstartable++] = e->rowid;
    s->failures++;
    s->eval_failures++;
    if (reg_eval_job_start(s->reg, e->rowid, e->attempt + 1, 0, 0, proc_hostname(), dir)
        == REG_OK)
        sched_reg_check(s, reg_eval_job_finish(s->reg, e->rowid, RUN_FAILED, 0, 0, why),
                        "cannot record an evaluation that could not start");
}

static int unstartable(const struct sched *s, int64_t rowid)
{
    for (size_t i = 0; i < s->n_unstartable; i++)
        if (s->unstartable[i] == rowid)
            return 1;
    return 0;
}

static int submit(struct sched *s, struct reg_eval_job *e, struct strbuf *err)
{
    size_t ri = e->run ? run_index(s, e->run) : (size_t)-1;
    const struct reg_exec_run *r = ri == (size_t)-1 ? NULL : &s->runs[ri];
    char *dir = eval_dir(s, r, e->step);
    if (job_lock_probe(dir, NULL) == JOB_LOCK_HELD) {
        /* A job still lives in that directory (reconcile.c adopts the ones the
         * registry knows; this is anything else): wait for it, start nothing. */
        free(dir);
        return -1;
    }
    struct strbuf config = STRBUF_INIT;
    sb_addf(&config, "%s/eval.json", dir);
    int rc = mkdir_p(dir, err);
    if (rc == 0 && e->attempt > 0)
        rc = rundir_archive(dir, e->attempt, err);
    json_t *cfg = job_config_eval(s, e, r, dir);
    if (rc == 0)
        rc = job_config_write(config.buf, cfg, err);
    json_t *vars = job_vars(s, dir, config.buf, e->attempt + 1, 0, r ? r->run_id : NULL,
                            r ? r->stage : NULL, cfg);
    json_decref(cfg);
    json_object_set_new(vars, "checkpoint", json_string(e->checkpoint ? e->checkpoint : ""));
    json_t *params = r ? json_loads(r->params_json, 0, NULL) : json_object();
    char **argv = rc == 0 ? job_argv(s, s->spec.evaluator_cmd, "mainline-eval", 0, vars,
                                     params, err) : NULL;
    enum reg_status st = REG_OK;
    if (argv)
        st = reg_eval_job_start(s->reg, e->rowid, e->attempt + 1, 0, 0, proc_hostname(), dir);
    if (st != REG_OK) {
        sb_addf(err, "%s", reg_errmsg(s->reg));
        argv_free(argv);
        argv = NULL;
    }
    if (argv)
        launch(s, e, ri, dir, config.buf, argv);
    else if (reg_status_transient(st))
        sched_registry_refused(s, err->buf);   /* nothing started: tried again later */
    else
        not_started(s, e, r, dir, err->buf);
    rc = argv ? 0 : -1;
    argv_free(argv);
    json_decref(vars);
    json_decref(params);
    sb_free(&config);
    free(dir);
    return rc;
}

void eval_jobs_start(struct sched *s)
{
    struct reg_eval_job *jobs;
    size_t n;
    if (s->stopping || (int)s->n_jobs >= s->opt.jobs ||
        sched_reg_check(s, reg_eval_jobs_load(s->reg, s->sw.rowid, &jobs, &n),
                        "cannot read evals"))
        return;
    for (size_t i = 0; i < n && (int)s->n_jobs < s->opt.jobs; i++) {
        int retry = jobs[i].state == RUN_FAILED && jobs[i].attempt <= s->spec.retries &&
                    !s->opt.retry_failed;
        int again = (jobs[i].state == RUN_FAILED && s->opt.retry_failed) ||
                    jobs[i].state == RUN_CANCELLED;
        if (jobs[i].state != RUN_PLANNED && !retry && !again)
            continue;
        if ((jobs[i].state == RUN_FAILED && jobs[i].attempt > s->spec.retries + 1) ||
            unstartable(s, jobs[i].rowid))
            continue;
        struct strbuf err = STRBUF_INIT;
        if (submit(s, &jobs[i], &err) == 0) {
            s->started++;
            s->registry_refused_at = 0;
        }
        sb_free(&err);
    }
    reg_eval_jobs_free(jobs, n);
}

int eval_jobs_waiting(struct sched *s)
{
    struct reg_eval_job *jobs;
    size_t n;
    if (reg_eval_jobs_load(s->reg, s->sw.rowid, &jobs, &n) != REG_OK)
        return 0;
    int any = 0;
    for (size_t i = 0; i < n; i++)
        any |= jobs[i].state == RUN_PLANNED && !unstartable(s, jobs[i].rowid);
    reg_eval_jobs_free(jobs, n);
    return any;
}

/* ---- when one ends ---- */

/* Read an evaluator's summary, predictions and probe answers into the registry,
 * with the evaluation's end in the same transaction. 0; -1 when the results are
 * unreadable or refused for good (*err); -2 when the registry refused for now. */
static int record_eval(struct sched *s, struct job *j, struct strbuf *err)
{
    struct eval_result er;
    int rc = eval_result_read(&er, j->metrics_path, j->dir, err);
    if (rc == 0) {
        struct reg_exec_run *r = job_run(s, j);
        er.in.sweep = s->sw.rowid;
        er.in.run = r ? r->rowid : 0;
        er.in.step = j->eval_step;
        er.in.job = j->eval_rowid;
        er.in.contract_sha256 = s->sw.contract_sha256 ? s->sw.contract_sha256 : "";
        enum reg_status st = reg_record_eval(s->reg, &er.in);
        if (st != REG_OK) {
            sb_addf(err, "%s", reg_errmsg(s->reg));
            rc = reg_status_transient(st) ? -2 : -1;
        }
    }
    eval_result_free(&er);
    return rc;
}

int eval_job_finished(struct sched *s, struct job *j, const struct exec_result *res)
{
    char name[300];
    job_name(s, j, name, sizeof(name));
    struct job_verdict v;
    job_verdict(j, res, s->spec.timeout_s, &v);
    const char *reason = v.reason;
    struct strbuf err = STRBUF_INIT;
    int rc = 0;
    if (v.resubmit) {
        /* Ended by the batch system (a node, a time limit): done again, not failed. */
        v.state = RUN_CANCELLED;
    }
    if (v.state == RUN_DONE) {
        rc = record_eval(s, j, &err);
        if (rc == -1) {
            v.state = RUN_FAILED;
            reason = err.buf;
        }
    }
    if (rc != -2 && v.state != RUN_DONE &&
        reg_eval_job_finish(s->reg, j->eval_rowid, v.state, res->known, res->exit_code,
                            reason) != REG_OK)
        rc = -2;
    if (rc == -2) {
        if (!j->record_warned)
            sched_warning(s, "%s ended; recording it waits for the registry: %s", name,
                          reg_errmsg(s->reg));
        j->record_warned = 1;
        sb_free(&err);
        return -1;
    }
    s->finished++;
    if (v.state == RUN_FAILED) {
        s->failures++;
        s->eval_failures++;
    }
    if (v.cancelled_outside) {
        /* cancelled from outside (scancel, mainline cancel): not again this time */
        s->unstartable = xgrow(s->unstartable, s->n_unstartable + 1, &s->alloc_unstartable,
                               sizeof(*s->unstartable));
        s->unstartable[s->n_unstartable++] = j->eval_rowid;
    }
    if (v.state == RUN_DONE)
        reason = NULL;
    sched_note(s, "%s %s%s%s", v.state == RUN_DONE ? "done  "
                               : v.state == RUN_CANCELLED ? "cancel" : "FAIL  ",
               name, reason ? ": " : "", reason ? reason : "");
    sb_free(&err);
    return 0;
}
