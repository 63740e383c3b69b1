/*
 * scheduler.c - the scheduler behind `mainline run` (see scheduler.h).
 *
 * The loop: release waiting runs whose picks are known, start jobs while there
 * are free slots, look at every active job (ingest what it wrote, notice when it
 * ended, enforce its timeout), draw progress, then sleep until a child exits or a
 * short poll interval passes. Every state change goes to the registry first, so
 * killing the orchestrator at any line leaves a state the next one understands.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blas_env.h"
#include "canon_json.h"
#include "clock.h"
#include "error.h"
#include "eval_result.h"
#include "fsutil.h"
#include "job.h"
#include "proc.h"
#include "rundir.h"
#include "scheduler.h"

static volatile sig_atomic_t interrupts;
static volatile sig_atomic_t child_exited;

void sched_interrupt(int sig)
{
    (void)sig;
    interrupts++;
}

static void on_sigchld(int sig)
{
    (void)sig;
    child_exited = 1;
}

/* ---- small helpers ---- */

static struct reg_exec_run *run_of(struct sched *s, const struct job *j)
{
    return j->run == (size_t)-1 ? NULL : &s->runs[j->run];
}

static const char *job_name(struct sched *s, const struct job *j, char *buf, size_t len)
{
    const struct reg_exec_run *r = run_of(s, j);
    if (j->kind == JOB_TRAIN)
        snprintf(buf, len, "%s", r->run_id);
    else if (!r)
        snprintf(buf, len, "baseline eval");
    else
        snprintf(buf, len, "%s eval@%lld", r->run_id, (long long)j->eval_step);
    return buf;
}

static void job_free(struct job *j)
{
    free(j->dir);
    free(j->status_path);
    free(j->metrics_path);
    free(j->stdout_path);
    memset(j, 0, sizeof(*j));
}

static struct job *job_add(struct sched *s)
{
    s->jobs = xgrow(s->jobs, s->n_jobs + 1, &s->alloc_jobs, sizeof(*s->jobs));
    struct job *j = &s->jobs[s->n_jobs++];
    memset(j, 0, sizeof(*j));
    j->run = (size_t)-1;
    j->seen_metrics = j->seen_stdout = -1;
    return j;
}

static void job_paths(struct job *j, const char *dir)
{
    struct strbuf sb = STRBUF_INIT;
    j->dir = xstrdup(dir);
    sb_addf(&sb, "%s/" JOB_FILE_EXIT, dir);
    j->status_path = sb_detach(&sb);
    sb_addf(&sb, "%s/" JOB_FILE_METRICS, dir);
    j->metrics_path = sb_detach(&sb);
    sb_addf(&sb, "%s/stdout.log", dir);
    j->stdout_path = sb_detach(&sb);
}

static int reg_check(struct sched *s, enum reg_status st, const char *doing)
{
    if (st == REG_OK)
        return 0;
    error("%s: %s", doing, reg_errmsg(s->reg));
    return -1;
}

static const struct sweep_stage *stage_of(struct sched *s, const struct reg_exec_run *r)
{
    return sweep_find_stage(&s->spec, r->stage);
}

/* Read what a job wrote since last time. Failures are reported, not fatal: the
 * lines stay in the file and the next look reads them again. */
static void ingest_job(struct sched *s, struct job *j)
{
    if (j->kind != JOB_TRAIN)
        return;   /* evaluators are read once, when they finish */
    struct reg_exec_run *r = run_of(s, j);
    struct strbuf err = STRBUF_INIT;
    if (ingest_file_if_grown(s->reg, r->rowid, j->attempt, j->metrics_path, "metrics", NULL,
                             &j->stats, &j->seen_metrics, &err) < 0 ||
        (s->rules && ingest_file_if_grown(s->reg, r->rowid, j->attempt, j->stdout_path,
                                          "stdout", s->rules, &j->stats, &j->seen_stdout,
                                          &err) < 0))
        warning("%s", err.buf);
    sb_free(&err);
}

/* ---- the lock ---- */

static int holder_alive(const struct reg_lock_holder *h)
{
    if (strcmp(h->host, proc_hostname()) != 0)
        return 1;   /* another machine: cannot look, so assume it is alive */
    return proc_alive((pid_t)h->pid, h->proc_start);
}

/* sched_open's failures: the message goes to the caller's buffer, not to stderr. */
static enum sched_status open_reg_error(struct sched *s, enum reg_status st, const char *doing,
                                        struct strbuf *err)
{
    if (st == REG_OK)
        return SCHED_OK;
    sb_addf(err, "%s: %s", doing, reg_errmsg(s->reg));
    return SCHED_ERROR;
}

static enum sched_status take_lock(struct sched *s, struct strbuf *err)
{
    struct reg_lock_holder me = { .pid = getpid(), .proc_start = proc_start_time(getpid()) };
    snprintf(me.host, sizeof(me.host), "%s", proc_hostname());
    struct reg_lock_holder holder;
    enum reg_status st = reg_lock_take(s->reg, s->sw.rowid, &me, holder_alive, &holder);
    if (st == REG_ERR_CONFLICT) {
        sb_addf(err, "sweep '%s' is already being run by pid %lld on %s; 'mainline status %s' "
                "shows its progress", s->sw.name, (long long)holder.pid, holder.host,
                s->sw.name);
        return SCHED_LOCKED;
    }
    return open_reg_error(s, st, "cannot take the sweep lock", err);
}

/* ---- reconciling what a dead orchestrator left running ---- */


static void plan_evals(struct sched *s, const struct reg_exec_run *r);

static void finish_orphan(struct sched *s, struct reg_exec_run *r, struct exec_proc *proc)
{
    struct job tmp = { .kind = JOB_TRAIN, .run = (size_t)(r - s->runs), .attempt = r->attempt,
                       .seen_metrics = -1, .seen_stdout = -1 };
    job_paths(&tmp, r->run_dir);
    ingest_job(s, &tmp);
    struct exec_result res;
    int known = exec_read_status(tmp.status_path, &res) == 0;
    enum reg_status st;
    if (known && res.exit_code == 0) {
        st = reg_run_finish(s->reg, r->rowid, RUN_DONE, 1, 0, NULL);
        r->state = RUN_DONE;
        progress_note(s, "%s finished while no orchestrator watched: done", r->run_id);
        plan_evals(s, r);
    } else {
        char reason[160];
        snprintf(reason, sizeof(reason), "orphaned: its orchestrator died%s (pid %lld)",
                 known ? " and the run failed" : " and so did the run", (long long)proc->pid);
        st = reg_run_finish(s->reg, r->rowid, RUN_FAILED, known, res.exit_code, reason);
        r->state = RUN_FAILED;
        s->notes[r - s->runs].orphaned = 1;
        progress_note(s, "%s: %s; it will be %s", r->run_id, reason,
                      s->spec.trainer_resume ? "resumed" : "restarted");
    }
    reg_check(s, st, "cannot record an orphaned run");
    job_free(&tmp);
}

static void adopt(struct sched *s, struct reg_exec_run *r, const struct exec_proc *proc)
{
    struct job *j = job_add(s);
    j->kind = JOB_TRAIN;
    j->run = (size_t)(r - s->runs);
    j->attempt = r->attempt;
    j->proc = *proc;
    j->started = clock_now_s();
    job_paths(j, r->run_dir);
    progress_note(s, "%s is still running (pid %d): adopted", r->run_id, (int)proc->pid);
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
        reg_check(s, reg_run_finish(s->reg, r->rowid, RUN_FAILED, 0, 0, "orphaned before it "
                                    "started"), "cannot record an orphaned run");
}

static void reconcile_evals(struct sched *s)
{
    struct reg_eval_job *jobs;
    size_t n;
    if (reg_check(s, reg_eval_jobs_load(s->reg, s->sw.rowid, &jobs, &n), "cannot read evals"))
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
        reg_check(s, reg_eval_job_finish(s->reg, jobs[i].rowid, RUN_CANCELLED, 0, 0,
                                         "orphaned: its orchestrator died"),
                  "cannot record an orphaned evaluation");
    }
    reg_eval_jobs_free(jobs, n);
}

static void reconcile(struct sched *s)
{
    for (size_t i = 0; i < s->n_runs; i++)
        if (s->runs[i].state == RUN_RUNNING)
            reconcile_run(s, &s->runs[i]);
    reconcile_evals(s);
}

/* ---- the config a job reads ---- */

struct art_ctx {
    json_t *datasets, *base_model;
};

static int add_art(const struct reg_artifact_row *a, void *ud)
{
    struct art_ctx *c = ud;
    json_t *o = json_pack("{s:s,s:s,s:I}", "path", a->path, "sha256", a->sha256, "bytes",
                          (json_int_t)a->bytes);
    if (a->rows >= 0)
        json_object_set_new(o, "rows", json_integer(a->rows));
    if (a->source)
        json_object_set_new(o, "source", json_string(a->source));
    if (!strcmp(a->role, "dataset"))
        json_object_set_new(c->datasets, a->name, o);
    else {
        json_decref(c->base_model);
        c->base_model = o;
    }
    return 0;
}

/* The rendering contract a job needs (docs/protocol.md): `render` {system,
 * template} with the defaults filled in, and `fields` in the entry of each
 * dataset that maps its fields. The frozen contract holds them as declared. */
static void add_render(json_t *cfg, const json_t *contract, json_t *datasets)
{
    const json_t *r = json_object_get(contract, "render");
    json_t *render = json_object();
    json_t *v = json_object_get(r, "system");
    json_object_set_new(render, "system", v ? json_incref(v) : json_null());
    v = json_object_get(r, "template");
    json_object_set_new(render, "template", v ? json_incref(v) : json_string("plain"));
    json_object_set_new(cfg, "render", render);
    const char *name;
    json_t *ds;
    json_object_foreach(datasets, name, ds) {
        json_t *f = json_object_get(json_object_get(contract, "fields"), name);
        if (f)
            json_object_set(ds, "fields", f);
    }
}

static json_t *job_config(struct sched *s, const struct reg_exec_run *r, int attempt,
                          int resume, const char *dir)
{
    json_t *params = json_loads(r->params_json, 0, NULL);
    struct art_ctx arts = { json_object(), NULL };
    reg_run_artifacts(s->reg, r->rowid, add_art, &arts);
    json_t *eval = json_object_get(s->spec.contract, "evaluation");
    struct strbuf metrics = STRBUF_INIT;
    sb_addf(&metrics, "%s/" JOB_FILE_METRICS, dir);
    json_t *cfg = json_pack("{s:i,s:s,s:i,s:s,s:s,s:i,s:b,s:o,s:o,s:o,s:O,s:s,s:i,s:s,s:s}",
                            "protocol", 1, "sweep", s->sw.name, "sweep_version", s->sw.version,
                            "run", r->run_id, "stage", r->stage, "attempt", attempt,
                            "resume", resume, "params", params ? params : json_object(),
                            "datasets", arts.datasets,
                            "base_model", arts.base_model ? arts.base_model : json_null(),
                            "evaluation", eval ? eval : json_null(),
                            "contract_sha256", s->sw.contract_sha256 ? s->sw.contract_sha256 : "",
                            "threads", s->opt.threads_per_run, "run_dir", dir,
                            "metrics", metrics.buf);
    sb_free(&metrics);
    add_render(cfg, s->spec.contract, json_object_get(cfg, "datasets"));
    const char *core = blas_coretype_for_jobs();
    json_object_set_new(cfg, "blas_coretype", core ? json_string(core) : json_null());
    return cfg;
}

static int write_json(const char *path, const json_t *v, struct strbuf *err)
{
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, text);
    sb_addc(&sb, '\n');
    free(text);
    int rc = write_file_atomic(path, sb.buf, sb.len, err);
    sb_free(&sb);
    return rc;
}

/* Environment of a job: the protocol's variables and the thread budget. */
static char **job_env(struct sched *s, const char *dir, const char *config, int attempt,
                      int resume)
{
    char **env = xcalloc(12, sizeof(*env));
    size_t n = 0;
    struct strbuf sb = STRBUF_INIT;
#define ENV(...) (sb_addf(&sb, __VA_ARGS__), env[n++] = sb_detach(&sb))
    ENV(JOB_ENV_RUN_DIR "=%s", dir);
    ENV(JOB_ENV_CONFIG "=%s", config);
    ENV(JOB_ENV_METRICS "=%s/" JOB_FILE_METRICS, dir);
    ENV(JOB_ENV_ATTEMPT "=%d", attempt);
    ENV(JOB_ENV_RESUME "=%d", resume);
    ENV(JOB_ENV_THREADS "=%d", s->opt.threads_per_run);
    ENV("OPENBLAS_NUM_THREADS=%d", s->opt.threads_per_run);
    ENV("OMP_NUM_THREADS=%d", s->opt.threads_per_run);
    if (blas_coretype_for_jobs())
        ENV("OPENBLAS_CORETYPE=%s", blas_coretype_for_jobs());
#undef ENV
    return env;
}

static json_t *job_vars(struct sched *s, const char *dir, const char *config, int attempt,
                        int resume, const char *run_id, const char *stage)
{
    struct strbuf metrics = STRBUF_INIT;
    sb_addf(&metrics, "%s/" JOB_FILE_METRICS, dir);
    json_t *v = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:s,s:s}", "run_dir", dir,
                          "out_dir", dir, "config", config, "run_id", run_id ? run_id : "",
                          "sweep", s->sw.name, "threads", s->opt.threads_per_run, "attempt",
                          attempt, "metrics", metrics.buf, "stage", stage ? stage : "");
    json_object_set_new(v, "resume", json_string(resume ? "1" : "0"));
    sb_free(&metrics);
    return v;
}

/* {base_model} in a command is the resolved absolute path: jobs run in their own
 * directory, where the path as written in the sweep means nothing. */
static void set_base_model_var(json_t *vars, const json_t *cfg)
{
    const json_t *path = json_object_get(json_object_get(cfg, "base_model"), "path");
    if (json_is_string(path))
        json_object_set(vars, "base_model", (json_t *)path);
}

/* ---- starting jobs ---- */

/* The built-in trainer's or evaluator's command line, as a template like a
 * sweep's own `command:`. Returns a new reference. */
static json_t *default_command(struct sched *s, const char *program, int resume)
{
    struct strbuf path = STRBUF_INIT;
    sb_addf(&path, "%s/%s", s->bindir, program);
    json_t *cmd = json_pack("[s,s,s,s,s,s,s]", path.buf, "--config", "{config}",
                            !strcmp(program, "mainline-eval") ? "--out" : "--run-dir",
                            "{run_dir}", "--threads", "{threads}");
    if (resume)
        json_array_append_new(cmd, json_string("--resume"));
    sb_free(&path);
    return cmd;
}

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
 * directory: start_train() finds it and adopts it instead of starting the run twice.
 */
static int launch_train(struct sched *s, struct reg_exec_run *r, const char *dir, int attempt,
                        int resume, char **argv, char **env, struct strbuf *err)
{
    struct job *j = job_add(s);
    j->kind = JOB_TRAIN;
    j->run = (size_t)(r - s->runs);
    j->attempt = attempt;
    j->started = clock_now_s();
    job_paths(j, dir);
    struct strbuf errlog = STRBUF_INIT;
    sb_addf(&errlog, "%s/stderr.log", dir);
    struct exec_spec spec = { argv, env, dir, j->stdout_path, errlog.buf, j->status_path };
    int forked = s->ex.submit(&s->ex, &spec, &j->proc, err) == 0;
    sb_free(&errlog);
    if (reg_run_start(s->reg, r->rowid, attempt, !resume, forked ? j->proc.pid : 0,
                      forked ? j->proc.start : 0, proc_hostname(), dir) != REG_OK) {
        sb_addf(err, "%s%s", err->len ? "; " : "", reg_errmsg(s->reg));
        if (forked)
            s->ex.cancel(&s->ex, &j->proc, SIGKILL);
        job_free(j);
        s->n_jobs--;
        return -1;
    }
    r->state = RUN_RUNNING;
    r->attempt = attempt;
    free(r->run_dir);
    r->run_dir = xstrdup(dir);
    if (!forked)
        j->stop_reason = "could not start";   /* the job slot records the failure */
    return forked ? 0 : -1;
}

/* A supervisor left by an orchestrator that died right after forking it. */
static int adopt_unrecorded(struct sched *s, struct reg_exec_run *r, const char *dir)
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

static int submit_train(struct sched *s, struct reg_exec_run *r, const char *dir, int resume,
                        struct strbuf *err)
{
    int attempt = r->attempt + 1;
    struct strbuf config = STRBUF_INIT;
    sb_addf(&config, "%s/config.json", dir);
    json_t *cfg = job_config(s, r, attempt, resume, dir);
    int rc = write_json(config.buf, cfg, err);
    json_t *params = json_loads(r->params_json, 0, NULL);
    json_t *vars = job_vars(s, dir, config.buf, attempt, resume, r->run_id, r->stage);
    set_base_model_var(vars, cfg);
    json_decref(cfg);
    char **argv = NULL;
    json_t *tmpl = s->spec.trainer_cmd ? json_incref(s->spec.trainer_cmd)
                                       : default_command(s, "mainline-train", resume);
    if (rc == 0)
        argv = command_expand(tmpl, vars, params, err);
    json_decref(tmpl);
    char **env = job_env(s, dir, config.buf, attempt, resume);
    rc = argv ? 0 : -1;
    if (argv)
        rc = launch_train(s, r, dir, attempt, resume, argv, env, err);
    argv_free(argv);
    argv_free(env);
    json_decref(params);
    json_decref(vars);
    sb_free(&config);
    return rc;
}

static void start_train(struct sched *s, size_t i)
{
    struct reg_exec_run *r = &s->runs[i];
    struct strbuf err = STRBUF_INIT;
    char *dir = rundir_path(s->root, s->sw.name, s->sw.version, r->run_id);
    if (adopt_unrecorded(s, r, dir)) {
        free(dir);
        return;
    }
    int resume = can_resume(s, r);
    s->notes[i].tries++;
    int rc = mkdir_p(dir, &err);
    if (rc == 0 && !resume)
        rc = start_over(s, r, dir, &err);
    if (rc == 0)
        rc = submit_train(s, r, dir, resume, &err);
    if (rc < 0 && r->state == RUN_RUNNING) {
        /* Forking failed after the run was marked: the job slot finishes it. */
        error("%s: %s", r->run_id, err.buf);
    } else if (rc < 0) {
        /* Nothing started: say why and keep the registry consistent. */
        error("%s: %s", r->run_id, err.buf);
        s->notes[i].no_retry = 1;
        s->failures++;
        if (reg_run_start(s->reg, r->rowid, r->attempt + 1, 1, 0, 0, proc_hostname(),
                          dir) == REG_OK)
            reg_run_finish(s->reg, r->rowid, RUN_FAILED, 0, 0, err.buf);
        r->state = RUN_FAILED;
        r->attempt++;
    } else {
        s->started++;
        progress_note(s, "start  %s (attempt %d%s)", r->run_id, r->attempt,
                      resume ? ", resuming" : "");
    }
    free(dir);
    sb_free(&err);
}

/* ---- evaluation jobs ---- */

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

static json_t *eval_config(struct sched *s, const struct reg_eval_job *e,
                           const struct reg_exec_run *r, const char *dir)
{
    struct art_ctx arts = { json_object(), NULL };
    if (r)
        reg_run_artifacts(s->reg, r->rowid, add_art, &arts);
    else if (s->n_runs)
        reg_run_artifacts(s->reg, s->runs[0].rowid, add_art, &arts);
    json_t *eval = json_object_get(s->spec.contract, "evaluation");
    json_t *params = r ? json_loads(r->params_json, 0, NULL) : NULL;
    json_t *cfg = json_pack("{s:i,s:s,s:i,s:o,s:o,s:o,s:o,s:O,s:s,s:i,s:s,s:o}",
                            "protocol", 1, "sweep", s->sw.name, "sweep_version", s->sw.version,
                            "run", r ? json_string(r->run_id) : json_null(),
                            "step", e->step >= 0 ? json_integer(e->step) : json_null(),
                            "checkpoint", e->checkpoint ? json_string(e->checkpoint) : json_null(),
                            "datasets", arts.datasets, "evaluation", eval ? eval : json_null(),
                            "contract_sha256", s->sw.contract_sha256 ? s->sw.contract_sha256 : "",
                            "threads", s->opt.threads_per_run, "out_dir", dir,
                            "base_model", arts.base_model ? arts.base_model : json_null());
    json_object_set_new(cfg, "params", params ? params : json_null());
    add_render(cfg, s->spec.contract, json_object_get(cfg, "datasets"));
    /* The same fields as a trainer's config.json, as docs/protocol.md promises. */
    struct strbuf metrics = STRBUF_INIT;
    sb_addf(&metrics, "%s/" JOB_FILE_METRICS, dir);
    json_object_set_new(cfg, "attempt", json_integer(e->attempt + 1));
    json_object_set_new(cfg, "resume", json_false());
    json_object_set_new(cfg, "run_dir", json_string(dir));
    json_object_set_new(cfg, "metrics", json_string(metrics.buf));
    json_object_set_new(cfg, "stage", r ? json_string(r->stage) : json_null());
    const char *core = blas_coretype_for_jobs();
    json_object_set_new(cfg, "blas_coretype", core ? json_string(core) : json_null());
    sb_free(&metrics);
    return cfg;
}

static int submit_eval(struct sched *s, struct reg_eval_job *e, struct strbuf *err)
{
    size_t ri = e->run ? run_index(s, e->run) : (size_t)-1;
    const struct reg_exec_run *r = ri == (size_t)-1 ? NULL : &s->runs[ri];
    char *dir = eval_dir(s, r, e->step);
    struct strbuf config = STRBUF_INIT;
    sb_addf(&config, "%s/eval.json", dir);
    int rc = mkdir_p(dir, err);
    if (rc == 0 && e->attempt > 0)
        rc = rundir_archive(dir, e->attempt, err);
    json_t *cfg = eval_config(s, e, r, dir);
    if (rc == 0)
        rc = write_json(config.buf, cfg, err);
    json_t *vars = job_vars(s, dir, config.buf, e->attempt + 1, 0, r ? r->run_id : NULL,
                            r ? r->stage : NULL);
    set_base_model_var(vars, cfg);
    json_decref(cfg);
    json_object_set_new(vars, "checkpoint", json_string(e->checkpoint ? e->checkpoint : ""));
    json_t *params = r ? json_loads(r->params_json, 0, NULL) : json_object();
    json_t *tmpl = s->spec.evaluator_cmd ? json_incref(s->spec.evaluator_cmd)
                                         : default_command(s, "mainline-eval", 0);
    char **argv = rc == 0 ? command_expand(tmpl, vars, params, err) : NULL;
    json_decref(tmpl);
    if (argv && reg_eval_job_start(s->reg, e->rowid, e->attempt + 1, 0, 0, proc_hostname(),
                                   dir) != REG_OK) {
        sb_addf(err, "%s", reg_errmsg(s->reg));
        argv_free(argv);
        argv = NULL;
    }
    if (argv) {
        struct job *j = job_add(s);
        j->kind = JOB_EVAL;
        j->run = ri;
        j->eval_rowid = e->rowid;
        j->eval_step = e->step;
        j->attempt = e->attempt + 1;
        j->started = clock_now_s();
        job_paths(j, dir);
        char **env = job_env(s, dir, config.buf, j->attempt, 0);
        struct strbuf errlog = STRBUF_INIT;
        sb_addf(&errlog, "%s/stderr.log", dir);
        struct exec_spec spec = { argv, env, dir, j->stdout_path, errlog.buf, j->status_path };
        if (s->ex.submit(&s->ex, &spec, &j->proc, err) == 0)
            reg_eval_job_set_pid(s->reg, e->rowid, j->proc.pid, j->proc.start);
        else
            j->stop_reason = "could not start";
        sb_free(&errlog);
        argv_free(env);
    }
    rc = argv ? 0 : -1;
    argv_free(argv);
    json_decref(vars);
    json_decref(params);
    sb_free(&config);
    free(dir);
    return rc;
}

/* Start planned evaluation jobs while there are free slots. */
static void start_evals(struct sched *s)
{
    struct reg_eval_job *jobs;
    size_t n;
    if (s->stopping || (int)s->n_jobs >= s->opt.jobs ||
        reg_check(s, reg_eval_jobs_load(s->reg, s->sw.rowid, &jobs, &n), "cannot read evals"))
        return;
    for (size_t i = 0; i < n && (int)s->n_jobs < s->opt.jobs; i++) {
        int retry = jobs[i].state == RUN_FAILED && jobs[i].attempt <= s->spec.retries &&
                    !s->opt.retry_failed;
        int again = (jobs[i].state == RUN_FAILED && s->opt.retry_failed) ||
                    jobs[i].state == RUN_CANCELLED;
        if (jobs[i].state != RUN_PLANNED && !retry && !again)
            continue;
        if (jobs[i].state == RUN_FAILED && jobs[i].attempt > s->spec.retries + 1)
            continue;
        struct strbuf err = STRBUF_INIT;
        if (submit_eval(s, &jobs[i], &err) < 0) {
            error("evaluation %lld: %s", (long long)jobs[i].rowid, err.buf);
            s->failures++;
        } else {
            s->started++;
        }
        sb_free(&err);
    }
    reg_eval_jobs_free(jobs, n);
}

/* ---- when a job ends ---- */

/* The checkpoint(s) the frozen selection rule will look at get evaluated. */
static void plan_evals(struct sched *s, const struct reg_exec_run *r)
{
    /* A stage that picks (an LR-selection stage) exists to choose a value by
     * validation NLL; benchmarking its runs would spend the evaluation budget on
     * runs no comparison uses. */
    const struct sweep_stage *st = stage_of(s, r);
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
        progress_note(s, "%s: rule %s evaluates the last checkpoint only for now", r->run_id,
                      rule);
        step = -1;
    }
    reg_run_checkpoint(s->reg, r->rowid, found ? step : -1, &found_step, &path);
    if (!path) {
        progress_note(s, "%s: no checkpoint to evaluate", r->run_id);
        return;
    }
    char *abs = path[0] == '/' ? xstrdup(path) : path_join(r->run_dir, path);
    reg_check(s, reg_eval_job_add(s->reg, s->sw.rowid, r->rowid, found_step, abs),
              "cannot plan an evaluation");
    free(abs);
    free(path);
}

static const char *exit_reason(const struct job *j, const struct exec_result *res, char *buf,
                               size_t len)
{
    if (j->stop_reason)
        snprintf(buf, len, "%s", j->stop_reason);
    else if (!res->known)
        snprintf(buf, len, "killed with its supervisor (no exit status)");
    else if (res->signal)
        snprintf(buf, len, "killed by signal %d (%s)", res->signal, strsignal(res->signal));
    else if (res->exit_code == JOB_EXIT_DIVERGED)
        snprintf(buf, len, "diverged: the loss became NaN or infinite (exit 3)");
    else if (res->exit_code == JOB_EXIT_BAD_CONFIG)
        snprintf(buf, len, "bad configuration (exit 2): see stderr.log");
    else if (res->exit_code == JOB_EXIT_NOT_FOUND)
        snprintf(buf, len, "the command could not be run (exit 127): see stderr.log");
    else
        snprintf(buf, len, "exit status %d: see stderr.log", res->exit_code);
    return buf;
}

static void train_finished(struct sched *s, struct job *j, const struct exec_result *res)
{
    struct reg_exec_run *r = run_of(s, j);
    char why[256];
    enum reg_run_state st = RUN_FAILED;
    if (j->stop_reason && !strcmp(j->stop_reason, "cancelled"))
        st = RUN_CANCELLED;
    else if (!j->stop_reason && res->known && res->exit_code == 0)
        st = RUN_DONE;
    const char *reason = st == RUN_DONE ? NULL : exit_reason(j, res, why, sizeof(why));
    reg_check(s, reg_run_finish(s->reg, r->rowid, st, res->known, res->exit_code, reason),
              "cannot record the end of a run");
    r->state = st;
    free(r->fail_reason);
    r->fail_reason = reason ? xstrdup(reason) : NULL;
    s->finished++;
    if (st == RUN_DONE) {
        progress_note(s, "done   %s", r->run_id);
        plan_evals(s, r);
        return;
    }
    progress_note(s, "%s %s: %s", st == RUN_CANCELLED ? "cancel" : "FAIL  ", r->run_id, reason);
    if (st == RUN_FAILED) {
        s->failures++;
        s->notes[j->run].no_retry = res->known && (res->exit_code == JOB_EXIT_DIVERGED ||
                                                res->exit_code == JOB_EXIT_BAD_CONFIG);
    }
}

/* Read an evaluator's summary, predictions and probe answers into the registry. */
static int record_eval(struct sched *s, struct job *j, struct strbuf *err)
{
    struct eval_result er;
    int rc = eval_result_read(&er, j->metrics_path, j->dir, err);
    if (rc == 0) {
        struct reg_exec_run *r = run_of(s, j);
        er.in.sweep = s->sw.rowid;
        er.in.run = r ? r->rowid : 0;
        er.in.step = j->eval_step;
        er.in.contract_sha256 = s->sw.contract_sha256 ? s->sw.contract_sha256 : "";
        if (reg_record_eval(s->reg, &er.in) != REG_OK) {
            sb_addf(err, "%s", reg_errmsg(s->reg));
            rc = -1;
        }
    }
    eval_result_free(&er);
    return rc;
}

static void eval_finished(struct sched *s, struct job *j, const struct exec_result *res)
{
    char name[300], why[256];
    job_name(s, j, name, sizeof(name));
    enum reg_run_state st = RUN_FAILED;
    const char *reason = NULL;
    struct strbuf err = STRBUF_INIT;
    if (j->stop_reason && !strcmp(j->stop_reason, "cancelled")) {
        st = RUN_CANCELLED;
        reason = "cancelled";
    } else if (!j->stop_reason && res->known && res->exit_code == 0) {
        st = record_eval(s, j, &err) == 0 ? RUN_DONE : RUN_FAILED;
        reason = st == RUN_DONE ? NULL : err.buf;
    } else {
        reason = exit_reason(j, res, why, sizeof(why));
    }
    reg_check(s, reg_eval_job_finish(s->reg, j->eval_rowid, st, res->known, res->exit_code,
                                     reason), "cannot record the end of an evaluation");
    s->finished++;
    if (st == RUN_FAILED) {
        s->failures++;
        s->eval_failures++;
    }
    progress_note(s, "%s %s%s%s", st == RUN_DONE ? "done  " : st == RUN_CANCELLED ? "cancel"
                                                                                  : "FAIL  ",
                  name, reason ? ": " : "", reason ? reason : "");
    sb_free(&err);
}

/* ---- watching jobs ---- */

static void stop_job(struct sched *s, struct job *j, const char *reason, int sig)
{
    if (!j->stop_reason)
        j->stop_reason = reason;
    if (!j->term_at)
        j->term_at = clock_now_s();
    s->ex.cancel(&s->ex, &j->proc, sig);
}

static void enforce_limits(struct sched *s, struct job *j, double t)
{
    if (j->term_at && t - j->term_at > s->opt.kill_grace_s) {
        s->ex.cancel(&s->ex, &j->proc, SIGKILL);
        return;
    }
    if (!j->term_at && s->spec.timeout_s > 0 && t - j->started > s->spec.timeout_s) {
        static char reason[64];
        snprintf(reason, sizeof(reason), "timeout after %.0f s", s->spec.timeout_s);
        stop_job(s, j, reason, SIGTERM);
    }
}

/* Look at one job; returns 1 when it ended (and was recorded). */
static int check_job(struct sched *s, struct job *j, double t)
{
    struct exec_result res = { 0 };
    enum exec_state st = j->proc.pid > 0 ? s->ex.poll(&s->ex, &j->proc, j->status_path, &res)
                                         : EXEC_FINISHED;
    ingest_job(s, j);
    if (st == EXEC_RUNNING) {
        enforce_limits(s, j, t);
        return 0;
    }
    if (j->kind == JOB_TRAIN)
        train_finished(s, j, &res);
    else
        eval_finished(s, j, &res);
    if (s->opt.fail_fast && s->failures && !s->stopping) {
        s->stopping = 1;
        progress_note(s, "--fail-fast: stopping the other jobs");
        for (size_t i = 0; i < s->n_jobs; i++)
            if (&s->jobs[i] != j)
                stop_job(s, &s->jobs[i], "cancelled", SIGTERM);
    }
    return 1;
}

static void check_jobs(struct sched *s)
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

static void handle_interrupts(struct sched *s)
{
    static int seen;
    if (interrupts == seen)
        return;
    seen = interrupts;
    if (!s->stopping || seen == 1) {
        s->stopping = 1;
        progress_note(s, "interrupted: asking %zu job(s) to stop (Ctrl-C again to kill)",
                      s->n_jobs);
        for (size_t i = 0; i < s->n_jobs; i++)
            stop_job(s, &s->jobs[i], "cancelled", SIGTERM);
    } else {
        for (size_t i = 0; i < s->n_jobs; i++)
            stop_job(s, &s->jobs[i], "cancelled", SIGKILL);
    }
}

/* ---- choosing what to start ---- */

static int selected(struct sched *s, const struct reg_exec_run *r)
{
    if (s->opt.stage && strcmp(s->opt.stage, r->stage) != 0)
        return 0;
    if (!s->opt.only)
        return 1;
    for (size_t i = 0; s->opt.only[i]; i++)
        if (!strcmp(s->opt.only[i], r->run_id))
            return 1;
    return 0;
}

static int takes_from(const struct sweep_stage *st, const char *stage)
{
    for (size_t i = 0; i < st->n_froms; i++)
        if (!strcmp(st->froms[i].stage, stage))
            return 1;
    return 0;
}

/*
 * Every run of every stage this run's stage needs is done. A stage needed for a
 * pick (`lr: {from: lr_select}`) is already settled for this run once the pick
 * released it: its group was done, whatever other groups are doing.
 */
static int needs_done(struct sched *s, const struct reg_exec_run *r, const char **blocker)
{
    const struct sweep_stage *st = stage_of(s, r);
    for (size_t k = 0; st && k < st->n_needs; k++) {
        if (takes_from(st, st->needs[k]))
            continue;
        for (size_t i = 0; i < s->n_runs; i++) {
            if (!strcmp(s->runs[i].stage, st->needs[k]) && s->runs[i].state != RUN_DONE) {
                if (blocker)
                    *blocker = st->needs[k];
                return 0;
            }
        }
    }
    return 1;
}

static int startable(struct sched *s, size_t i)
{
    const struct reg_exec_run *r = &s->runs[i];
    const struct run_note *n = &s->notes[i];
    if (!selected(s, r) || !needs_done(s, r, NULL))
        return 0;
    switch (r->state) {
    case RUN_PLANNED:
    case RUN_CANCELLED:
        return n->tries <= s->spec.retries;
    case RUN_FAILED:
        if (n->no_retry && !s->opt.retry_failed)
            return 0;
        if (n->orphaned || s->opt.retry_failed)
            return n->tries <= s->spec.retries;
        /* Failed in this invocation: the declared retries apply. */
        return n->tries > 0 && n->tries <= s->spec.retries;
    default:
        return 0;
    }
}

static void start_jobs(struct sched *s)
{
    for (size_t i = 0; i < s->n_runs && !s->stopping && (int)s->n_jobs < s->opt.jobs; i++)
        if (startable(s, i))
            start_train(s, i);
    start_evals(s);
}

static int has_startable(struct sched *s)
{
    for (size_t i = 0; i < s->n_runs; i++)
        if (startable(s, i))
            return 1;
    struct reg_eval_job *jobs;
    size_t n;
    if (reg_eval_jobs_load(s->reg, s->sw.rowid, &jobs, &n) != REG_OK)
        return 0;
    int any = 0;
    for (size_t i = 0; i < n; i++)
        any |= jobs[i].state == RUN_PLANNED;
    reg_eval_jobs_free(jobs, n);
    return any;
}

/* Sleep until a child exits, a signal arrives, or the poll interval passes. */
static void wait_a_little(struct sched *s)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    if (!child_exited && !s->stopping) {
        struct timespec ts = { 0, (long)(s->opt.poll_s * 1e9) };
        pselect(0, NULL, NULL, NULL, &ts, &old);
    } else if (!child_exited) {
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        pselect(0, NULL, NULL, NULL, &ts, &old);
    }
    child_exited = 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
}

/* ---- the whole run ---- */

static void install_signals(void)
{
    struct sigaction sa = { .sa_handler = sched_interrupt };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    struct sigaction chld = { .sa_handler = on_sigchld, .sa_flags = SA_NOCLDSTOP };
    sigemptyset(&chld.sa_mask);
    sigaction(SIGCHLD, &chld, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* One line of *err per diagnostic. */
static int load_spec(struct sched *s, struct strbuf *err)
{
    struct diag_list dl = { 0 };
    int rc = sweep_load_text(s->sw.spec_path, s->sw.spec_text, strlen(s->sw.spec_text),
                             &s->spec, &dl);
    for (size_t i = 0; rc < 0 && i < dl.n; i++)
        sb_addf(err, "%sthe recorded spec no longer loads: %s", i ? "\n" : "", dl.msgs[i]);
    diag_free(&dl);
    return rc;
}

static char *registry_dir(const char *registry_path)
{
    char *dir = path_dirname(registry_path);
    char *abs = realpath(dir, NULL);
    free(dir);
    return abs;
}

enum sched_status sched_open(struct sched *s, struct registry *reg, const char *registry_path,
                             const char *sweep_name, const struct sched_options *opt,
                             struct strbuf *err)
{
    memset(s, 0, sizeof(*s));
    s->reg = reg;
    s->opt = *opt;
    s->t0 = clock_now_s();
    s->tty = isatty(STDOUT_FILENO);
    enum reg_status st = reg_exec_sweep_latest(reg, sweep_name, &s->sw);
    if (st == REG_ERR_NOT_FOUND) {
        sb_addf(err, "no sweep named '%s' (plan it first: mainline plan SWEEP.yaml)",
                sweep_name);
        return SCHED_NO_SWEEP;
    }
    if (open_reg_error(s, st, "cannot read the sweep", err) || load_spec(s, err) < 0)
        return SCHED_ERROR;
    s->root = registry_dir(registry_path);
    s->self_exe = realpath("/proc/self/exe", NULL);
    if (!s->root || !s->self_exe) {
        sb_addf(err, "cannot find the registry's directory or this program: %s",
                strerror(errno));
        return SCHED_ERROR;
    }
    s->bindir = path_dirname(s->self_exe);
    size_t before = err->len;
    s->rules = stdout_rules_compile(s->spec.parse_stdout, err);
    if (err->len > before)
        return SCHED_ERROR;
    struct strbuf sup = STRBUF_INIT;
    sb_addf(&sup, "%s/mainline-supervise", s->bindir);
    s->supervisor = sb_detach(&sup);
    if (access(s->supervisor, X_OK) < 0) {
        sb_addf(err, "cannot run '%s': %s (it is built beside mainline by make)",
                s->supervisor, strerror(errno));
        return SCHED_ERROR;
    }
    executor_local_init(&s->ex, s->supervisor);
    install_signals();
    enum sched_status locked = take_lock(s, err);
    if (locked != SCHED_OK)
        return locked;
    if (open_reg_error(s, reg_exec_load_runs(reg, s->sw.rowid, &s->runs, &s->n_runs),
                       "cannot read the runs", err))
        return SCHED_ERROR;
    s->notes = xcalloc(s->n_runs + 1, sizeof(*s->notes));
    reconcile(s);
    if (json_is_true(json_object_get(json_object_get(s->spec.contract, "evaluation"),
                                     "baseline")))
        reg_check(s, reg_eval_job_add(reg, s->sw.rowid, 0, -1, NULL),
                  "cannot plan the baseline evaluation");
    return SCHED_OK;
}

static int summarize(struct sched *s)
{
    int counts[RUN_STATE_COUNT] = { 0 };
    for (size_t i = 0; i < s->n_runs; i++)
        counts[s->runs[i].state]++;
    printf("%s: %d done, %d failed, %d cancelled, %d planned, %d waiting (%.1f s)\n",
           s->sw.name, counts[RUN_DONE], counts[RUN_FAILED], counts[RUN_CANCELLED],
           counts[RUN_PLANNED], counts[RUN_WAITING], clock_now_s() - s->t0);
    int unfinished = 0;
    for (size_t i = 0; i < s->n_runs; i++) {
        const struct reg_exec_run *r = &s->runs[i];
        const char *blocker = NULL;
        if (!selected(s, r))
            continue;
        if (r->state == RUN_WAITING)
            printf("  %s waits: %s\n", r->run_id, picks_blocker(s, i));
        else if (r->state == RUN_PLANNED && !needs_done(s, r, &blocker))
            printf("  %s waits: stage %s has runs that are not done\n", r->run_id, blocker);
        unfinished |= r->state != RUN_DONE;
    }
    /* Attempts that failed and were retried into success do not count; what is left
     * failed, cancelled or unstarted does. */
    if (unfinished || s->eval_failures || interrupts)
        return EXIT_FAILURES;
    return EXIT_OK;
}

int sched_run(struct sched *s)
{
    for (;;) {
        handle_interrupts(s);
        if (!s->stopping && picks_resolve(s) < 0)
            s->stopping = 1;
        start_jobs(s);
        check_jobs(s);
        progress_draw(s, 0);
        if (s->n_jobs == 0 && (s->stopping || !has_startable(s))) {
            if (!s->stopping && picks_resolve(s) > 0)
                continue;
            break;
        }
        wait_a_little(s);
    }
    progress_draw(s, 1);
    return summarize(s);
}

void sched_free(struct sched *s)
{
    for (size_t i = 0; i < s->n_jobs; i++)
        job_free(&s->jobs[i]);
    free(s->jobs);
    if (s->sw.rowid)
        reg_lock_drop(s->reg, s->sw.rowid, getpid());
    reg_exec_runs_free(s->runs, s->n_runs);
    reg_exec_sweep_free(&s->sw);
    sweep_free(&s->spec);
    stdout_rules_free(s->rules);
    free(s->root);
    free(s->bindir);
    free(s->self_exe);
    free(s->supervisor);
    free(s->notes);
    memset(s, 0, sizeof(*s));
}
