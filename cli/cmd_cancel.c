/*
 * cmd_cancel.c - `mainline cancel SWEEP [RUN...]`: cancel the Slurm jobs of a sweep's
 * running runs and evaluations (all of them, or those of RUN...) with scancel. An
 * attached `mainline run` sees them end CANCELLED and does not start them again;
 * without one, the next `mainline run` finds them ended and records them.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "executor.h"
#include "reg_exec.h"

static int wanted(const char *run_id, int argc, char **argv)
{
    if (argc == 0)
        return 1;
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], run_id))
            return 1;
    return 0;
}

/* scancel one job; 1 when cancelled, 0 when it failed (said). */
static int cancel_one(struct executor *ex, const char *what, int64_t job_id)
{
    struct exec_proc proc = { 0, 0, job_id };
    if (ex->cancel(ex, &proc, NULL, SIGTERM) < 0) {
        error("%s: scancel %lld failed", what, (long long)job_id);
        return 0;
    }
    printf("cancelled %s (Slurm job %lld)\n", what, (long long)job_id);
    return 1;
}

int cmd_cancel(int argc, char **argv, struct cli *cli)
{
    if (argc < 2 || argv[1][0] == '-')
        return cli_usage("usage: mainline cancel SWEEP [RUN...]\n");
    if (!cli_registry(cli))
        return cli->open_failed_exit;
    struct reg_exec_sweep sw;
    enum reg_status st = reg_exec_sweep_latest(cli->reg, argv[1], &sw);
    if (st == REG_ERR_NOT_FOUND) {
        error("no sweep named '%s'", argv[1]);
        return EXIT_FAILURES;
    }
    if (st != REG_OK)
        return cli_reg_error(cli, st, "cannot read the sweep");
    struct reg_exec_run *runs = NULL;
    struct reg_eval_job *evals = NULL;
    size_t n_runs = 0, n_evals = 0;
    st = reg_exec_load_runs(cli->reg, sw.rowid, &runs, &n_runs);
    if (st == REG_OK)
        st = reg_eval_jobs_load(cli->reg, sw.rowid, &evals, &n_evals);
    int rc = st == REG_OK ? EXIT_OK : cli_reg_error(cli, st, "cannot read the runs");
    struct executor ex;
    executor_slurm_init(&ex, "mainline-supervise");
    int cancelled = 0, matched = 0;
    for (size_t i = 0; rc == EXIT_OK && i < n_runs; i++) {
        const struct reg_exec_run *r = &runs[i];
        if (!wanted(r->run_id, argc - 2, argv + 2))
            continue;
        matched++;
        if (r->state != RUN_RUNNING)
            continue;
        if (r->job_id <= 0) {
            error("%s runs on this machine, not on Slurm: stop it with Ctrl-C in its "
                  "`mainline run`", r->run_id);
            rc = EXIT_FAILURES;
            continue;
        }
        cancelled += cancel_one(&ex, r->run_id, r->job_id);
    }
    for (size_t i = 0; rc == EXIT_OK && i < n_evals; i++) {
        const struct reg_eval_job *e = &evals[i];
        const char *owner = "baseline";
        for (size_t k = 0; k < n_runs; k++)
            if (runs[k].rowid == e->run)
                owner = runs[k].run_id;
        if (e->state != RUN_RUNNING || e->job_id <= 0 || !wanted(owner, argc - 2, argv + 2))
            continue;
        char what[300];
        snprintf(what, sizeof(what), "%s evaluation", owner);
        cancelled += cancel_one(&ex, what, e->job_id);
    }
    if (rc == EXIT_OK && argc > 2 && matched < argc - 2) {
        error("not every RUN names a run of sweep '%s'", argv[1]);
        rc = EXIT_FAILURES;
    }
    if (rc == EXIT_OK && !cancelled)
        printf("nothing to cancel: no run of '%s' is running on Slurm\n", argv[1]);
    executor_slurm_free(&ex);
    reg_exec_runs_free(runs, n_runs);
    reg_eval_jobs_free(evals, n_evals);
    reg_exec_sweep_free(&sw);
    return rc;
}
