/*
 * sched_setup.c - setting a scheduler up and taking it down: the sweep's newest
 * version and its recorded spec (parsed again: commands, stages, picks), where
 * runs/ and the programs live, the executor, the signals, the sweep's lock, what
 * a dead orchestrator left running, and the baseline evaluation.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "fsutil.h"
#include "proc.h"
#include "sched_internal.h"

/* One line of *err per diagnostic. */
static int load_spec(struct sched *s, struct strbuf *err)
{
    struct diag_list dl = { 0 };
    int rc = sweep_load_text(s->sw.spec_path, s->sw.spec_text, strlen(s->sw.spec_text),
                             &s->spec, &dl);
    for (size_t i = 0; rc < 0 && i < dl.n; i++)
        sb_addf(err, "%sthe recorded spec no longer loads: %s", i ? "\n" : "", dl.msgs[i]);
    diag_free(&dl);
    if (rc == 0 && s->sw.contract_json) {
        /* what the plan froze beyond the spec: the chat template's sha256 */
        json_t *c = json_loads(s->sw.contract_json, 0, NULL);
        json_t *sha = json_object_get(json_object_get(c, "render"), "chat_template_sha256");
        json_t *render = json_object_get(s->spec.contract, "render");
        if (sha && json_is_object(render))
            json_object_set(render, "chat_template_sha256", sha);
        json_decref(c);
    }
    return rc;
}

static char *registry_dir(const char *registry_path)
{
    char *dir = path_dirname(registry_path);
    char *abs = realpath(dir, NULL);
    free(dir);
    return abs;
}

/* The registry's directory (runs/ goes there), this program, the supervisor beside
 * it, and the stdout rules of the sweep's trainer. */
static enum sched_status find_programs(struct sched *s, const char *registry_path,
                                       struct strbuf *err)
{
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
    return SCHED_OK;
}

/* Whether a run or evaluation of the sweep is running as a Slurm job. */
static int on_slurm(struct sched *s)
{
    struct reg_exec_run *runs = NULL;
    struct reg_eval_job *evals = NULL;
    size_t n_runs = 0, n_evals = 0;
    int found = 0;
    if (reg_exec_load_runs(s->reg, s->sw.rowid, &runs, &n_runs) == REG_OK)
        for (size_t i = 0; i < n_runs && !found; i++)
            found = runs[i].state == RUN_RUNNING && runs[i].job_id > 0;
    if (!found && reg_eval_jobs_load(s->reg, s->sw.rowid, &evals, &n_evals) == REG_OK)
        for (size_t i = 0; i < n_evals && !found; i++)
            found = evals[i].state == RUN_RUNNING && evals[i].job_id > 0;
    reg_exec_runs_free(runs, n_runs);
    reg_eval_jobs_free(evals, n_evals);
    return found;
}

/* Jobs left running by the other executor cannot be watched by this one: say which
 * executor they need rather than take them for dead and start them again. */
static int check_executor(struct sched *s, struct strbuf *err)
{
    int slurm = strcmp(s->ex.name, "slurm") == 0;
    for (size_t i = 0; i < s->n_runs; i++) {
        const struct reg_exec_run *r = &s->runs[i];
        int on_slurm = r->job_id > 0;
        int here = !on_slurm && r->pid > 0 && r->host && !strcmp(r->host, proc_hostname()) &&
                   proc_alive((pid_t)r->pid, r->proc_start);
        if (r->state != RUN_RUNNING || (slurm ? !here : !on_slurm))
            continue;
        if (slurm)
            sb_addf(err, "%s is running on this machine (pid %lld), not on Slurm: let it end "
                    "with `mainline run %s --executor local`, then switch", r->run_id,
                    (long long)r->pid, s->sw.name);
        else
            sb_addf(err, "%s is running on Slurm (job %lld): attach with `mainline run %s "
                    "--executor slurm`, or `mainline cancel %s`", r->run_id,
                    (long long)r->job_id, s->sw.name, s->sw.name);
        return -1;
    }
    return 0;
}

static enum sched_status reg_failed(struct sched *s, const char *doing, struct strbuf *err)
{
    sb_addf(err, "%s: %s", doing, reg_errmsg(s->reg));
    return SCHED_ERROR;
}

enum sched_status sched_open(struct sched **out, struct registry *reg,
                             const char *registry_path, const char *sweep_name,
                             const struct sched_options *opt, struct strbuf *err)
{
    struct sched *s = xcalloc(1, sizeof(*s));
    *out = s;
    s->reg = reg;
    s->opt = *opt;
    if (opt->report)
        s->report = *opt->report;
    s->t0 = clock_now_s();
    enum reg_status st = reg_exec_sweep_latest(reg, sweep_name, &s->sw);
    if (st == REG_ERR_NOT_FOUND) {
        sb_addf(err, "no sweep named '%s' (plan it first: mainline plan SWEEP.yaml)",
                sweep_name);
        return SCHED_NO_SWEEP;
    }
    if (st != REG_OK)
        return reg_failed(s, "cannot read the sweep", err);
    if (load_spec(s, err) < 0)
        return SCHED_ERROR;
    enum sched_status found = find_programs(s, registry_path, err);
    if (found != SCHED_OK)
        return found;
    /* The command line's choice, else the sweep's, else Slurm when jobs of the sweep
     * are running there (a `--executor slurm --detach` before), else this machine. */
    const char *executor = opt->executor ? opt->executor
                           : s->spec.executor ? s->spec.executor
                           : on_slurm(s) ? "slurm" : "local";
    if (!strcmp(executor, "slurm")) {
        executor_slurm_init(&s->ex, s->supervisor);
    } else if (!strcmp(executor, "local")) {
        executor_local_init(&s->ex, s->supervisor);
    } else {
        sb_addf(err, "unknown executor '%s' (local or slurm)", executor);
        return SCHED_ERROR;
    }
    /* A batch system queues what it cannot run yet: give it everything ready. */
    if (s->opt.jobs <= 0)
        s->opt.jobs = strcmp(s->ex.name, "slurm") == 0 ? 4096
                      : s->opt.default_jobs > 0 ? s->opt.default_jobs : 1;
    sched_install_signals();
    enum sched_status locked = sched_lock_take(s, err);
    if (locked != SCHED_OK)
        return locked;
    if (reg_exec_load_runs(reg, s->sw.rowid, &s->runs, &s->n_runs) != REG_OK)
        return reg_failed(s, "cannot read the runs", err);
    s->notes = xcalloc(s->n_runs + 1, sizeof(*s->notes));
    if (check_executor(s, err) < 0)
        return SCHED_ERROR;
    reconcile_orphans(s);
    if (json_is_true(json_object_get(json_object_get(s->spec.contract, "evaluation"),
                                     "baseline")))
        sched_reg_check(s, reg_eval_job_add(reg, s->sw.rowid, 0, -1, NULL),
                        "cannot plan the baseline evaluation");
    return SCHED_OK;
}

void sched_free(struct sched *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_jobs; i++)
        job_free(&s->jobs[i]);
    free(s->jobs);
    sched_lock_drop(s);
    executor_slurm_free(&s->ex);
    reg_exec_runs_free(s->runs, s->n_runs);
    reg_exec_sweep_free(&s->sw);
    sweep_free(&s->spec);
    stdout_rules_free(s->rules);
    free(s->root);
    free(s->bindir);
    free(s->self_exe);
    free(s->supervisor);
    for (size_t i = 0; s->notes && i <= s->n_runs; i++)
        run_note_free(&s->notes[i]);
    free(s->notes);
    free(s->unstartable);
    free(s);
}
