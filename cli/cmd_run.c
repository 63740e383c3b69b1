/*
 * cmd_run.c - `mainline run SWEEP [-j N] [--threads-per-run T] [--stage S]
 * [--only RUN]... [--retry-failed] [--fail-fast] [--quiet]`: option parsing, the
 * progress (run_progress.c), the summary and the exit code; the work is in
 * exec/scheduler.h.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "run_progress.h"
#include "scheduler.h"

static const char run_usage[] =
    "usage: mainline run SWEEP [-j N] [--threads-per-run T] [--stage S] [--only RUN]...\n"
    "                    [--retry-failed] [--fail-fast] [--quiet] [--executor local|slurm]\n"
    "                    [--detach]\n";

static int parse_positive(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 1 || v > 4096)
        return -1;
    *out = (int)v;
    return 0;
}

static int default_jobs(int threads)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int jobs = cores > 0 ? (int)(cores / threads) : 1;
    return jobs > 0 ? jobs : 1;
}

static double env_seconds(const char *name, double fallback)
{
    const char *v = getenv(name);
    return v && *v ? atof(v) : fallback;
}

/* Print why sched_open() did not set up, an error line per line of msg, and choose
 * the exit code: no such sweep, or another run holding it, is a refusal (1), not a
 * fatal error. */
static int open_failed(enum sched_status st, const char *msg)
{
    while (*msg) {
        size_t n = strcspn(msg, "\n");
        error("%.*s", (int)n, msg);
        msg += n + (msg[n] == '\n');
    }
    return st == SCHED_NO_SWEEP || st == SCHED_LOCKED ? EXIT_FAILURES : EXIT_FATAL;
}

/* The end: runs by state, what still waits and why; 1 when a selected run is not
 * done, an evaluation failed or the run was interrupted. Attempts that failed and
 * were retried into success do not count. */
static int summarize(const struct sched *s)
{
    struct sched_outcome o;
    sched_outcome(s, &o);
    printf("%s: %d done, %d failed, %d cancelled, %d planned, %d waiting (%.1f s)\n",
           o.sweep, o.counts[RUN_DONE], o.counts[RUN_FAILED], o.counts[RUN_CANCELLED],
           o.counts[RUN_PLANNED], o.counts[RUN_WAITING], o.elapsed_s);
    for (size_t i = 0; i < o.n_waits; i++)
        printf("  %s waits: %s\n", o.waits[i].run_id, o.waits[i].why);
    if (o.unrecorded)
        printf("  %d job(s) ended but the registry would not take what they wrote: they stay "
               "`running`, and the next `mainline run` records them\n", o.unrecorded);
    /* Detached, unfinished runs are the point: only failures count. */
    int unfinished = o.detached ? o.counts[RUN_FAILED] > 0 : o.unfinished;
    int rc = unfinished || o.eval_failures || o.interrupted || o.runs_dir_failed ||
             o.unrecorded ? EXIT_FAILURES : EXIT_OK;
    sched_outcome_free(&o);
    return rc;
}

int cmd_run(int argc, char **argv, struct cli *cli)
{
    static const struct option opts[] = {
        { "jobs", required_argument, NULL, 'j' },
        { "threads-per-run", required_argument, NULL, 't' },
        { "stage", required_argument, NULL, 's' },
        { "only", required_argument, NULL, 'o' },
        { "retry-failed", no_argument, NULL, 'r' },
        { "fail-fast", no_argument, NULL, 'f' },
        { "quiet", no_argument, NULL, 'q' },
        { "executor", required_argument, NULL, 'e' },
        { "detach", no_argument, NULL, 'd' },
        { NULL, 0, NULL, 0 },
    };
    struct sched_options o = { .threads_per_run = 1 };
    int quiet = 0;
    char **only = xcalloc((size_t)argc + 1, sizeof(*only));
    size_t n_only = 0;
    int c, bad = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "j:q", opts, NULL)) != -1) {
        if ((c == 'j' || c == 't') &&
            parse_positive(optarg, c == 'j' ? &o.jobs : &o.threads_per_run) < 0)
            bad = error("--%s: '%s' is not a whole number from 1 to 4096",
                        c == 'j' ? "jobs" : "threads-per-run", optarg) || 1;
        else if (c == '?')
            bad = 1;
        else if (c == 's')
            o.stage = optarg;
        else if (c == 'o')
            only[n_only++] = optarg;
        else if (c == 'r')
            o.retry_failed = 1;
        else if (c == 'f')
            o.fail_fast = 1;
        else if (c == 'q')
            quiet = 1;
        else if (c == 'e' && strcmp(optarg, "local") && strcmp(optarg, "slurm"))
            bad = error("--executor: '%s' is not local or slurm", optarg) || 1;
        else if (c == 'e')
            o.executor = optarg;
        else if (c == 'd')
            o.detach = 1;
    }
    if (bad || argc - optind != 1) {
        free(only);
        return cli_usage(run_usage);
    }
    o.default_jobs = default_jobs(o.threads_per_run);
    o.only = n_only ? only : NULL;
    o.kill_grace_s = env_seconds("MAINLINE_KILL_GRACE", 10);
    o.poll_s = env_seconds("MAINLINE_POLL", 0.2);
    o.registry_wait_s = env_seconds("MAINLINE_REGISTRY_WAIT", 300);
    if (!cli_registry(cli)) {
        free(only);
        return cli->open_failed_exit;
    }
    struct run_progress progress;
    run_progress_init(&progress, quiet);
    o.report = &progress.report;
    struct sched *s;
    int rc;
    struct strbuf err = STRBUF_INIT;
    enum sched_status st = sched_open(&s, cli->reg, cli->registry_path, argv[optind], &o, &err);
    if (st == SCHED_OK) {
        sched_run(s);
        run_progress_draw(&progress, s, 1);
        rc = summarize(s);
    } else {
        rc = open_failed(st, sb_str(&err));
    }
    sched_free(s);
    sb_free(&err);
    free(only);
    return rc;
}
