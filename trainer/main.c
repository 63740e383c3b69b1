/*
 * main.c - mainline-train, the built-in trainer the orchestrator starts for each
 * run (docs/protocol.md): argv and environment, signals, the thread budget, and
 * the exit status. The run itself is train.h's; this file only wires it up.
 *
 *   mainline-train --config PATH --run-dir DIR --threads T [--resume] [--export DIR]
 *
 * --export DIR writes the final weights as a complete model directory when the
 * run ends well (trainer/export.h); DIR must not exist yet.
 * (MAINLINE_CONFIG, MAINLINE_RUN_DIR, MAINLINE_THREADS and MAINLINE_RESUME=1 stand
 * in for missing options.) Exit status: 0 done, 2 bad configuration, 3 diverged,
 * 4 unreadable inputs, 5 checkpointed and stopped for a time limit (SIGUSR1, e.g.
 * Slurm's --signal=B:USR1@N), 143 stopped by SIGTERM (or SIGINT), 1 anything else.
 *
 * It is not an evaluator (no generation) and not a general trainer: one objective
 * (SFT), one optimizer (AdamW), llama-style models on the CPU.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "export.h"
#include "fsutil.h"
#include "job.h"
#include "parallel.h"
#include "train.h"

struct train_args {
    const char *config;
    const char *run_dir;          /* NULL: the config's directory */
    int threads;
    int resume;
    const char *export_dir;       /* NULL: no export */
};

static volatile sig_atomic_t stop_requested, time_limit_near;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_time_limit_signal(int sig)
{
    (void)sig;
    time_limit_near = 1;
}

static const char usage_text[] =
    "usage: mainline-train --config PATH --run-dir DIR --threads T [--resume] [--export DIR]";

static int exit_code(enum train_status st)
{
    switch (st) {
    case TRAIN_OK: return JOB_EXIT_OK;
    case TRAIN_BAD_CONFIG: return JOB_EXIT_BAD_CONFIG;
    case TRAIN_DIVERGED: return JOB_EXIT_DIVERGED;
    case TRAIN_UNREADABLE: return JOB_EXIT_UNREADABLE;
    case TRAIN_CANCELLED: return JOB_EXIT_CANCELLED;
    case TRAIN_TIME_LIMIT: return JOB_EXIT_TIME_LIMIT;
    default: return JOB_EXIT_FAILED;
    }
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* 0, or -1 after printing what is wrong with the command line. */
static int parse_args(int argc, char **argv, struct train_args *a)
{
    const char *threads = env_or(JOB_ENV_THREADS, "1");
    a->config = env_or(JOB_ENV_CONFIG, NULL);
    a->run_dir = env_or(JOB_ENV_RUN_DIR, NULL);
    a->resume = !strcmp(env_or(JOB_ENV_RESUME, "0"), "1");
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(opt, "--resume")) {
            a->resume = 1;
            continue;
        }
        const char **dst = !strcmp(opt, "--config") ? &a->config
                          : !strcmp(opt, "--run-dir") ? &a->run_dir
                          : !strcmp(opt, "--threads") ? &threads
                          : !strcmp(opt, "--export") ? &a->export_dir : NULL;
        if (!dst || !val)
            return error("%s '%s'\n%s", dst ? "missing value for" : "unknown option", opt,
                         usage_text);
        *dst = val;
        i++;
    }
    char *end;
    long t = strtol(threads, &end, 10);
    if (*end || t < 1 || t > 1024)
        return error("--threads must be an integer in 1..1024, not '%s'", threads);
    a->threads = (int)t;
    if (!a->config)
        return error("no config: pass --config PATH (or set MAINLINE_CONFIG)\n%s", usage_text);
    struct strbuf why = STRBUF_INIT;
    int rc = a->export_dir && export_check_target(a->export_dir, &why) < 0 ? -1 : 0;
    if (rc < 0)
        error("%s", why.buf);
    sb_free(&why);
    return rc;
}

/* SIGTERM and SIGINT stop the run between micro-batches; SIGUSR1 (a time limit
 * near) at the next boundary between optimizer steps, after a checkpoint. */
static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART;   /* a checkpoint being written finishes its writes */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_time_limit_signal;
    sigaction(SIGUSR1, &sa, NULL);
}

/* A fresh start clears checkpoints an earlier run left here; a resume only the
 * temporary directories of a checkpoint cut short. */
static void prepare_checkpoints(const char *run_dir, int resume)
{
    if (!resume && checkpoint_newest(run_dir, 0) > 0)
        warning("removing the checkpoints of an earlier run in '%s/checkpoints' (pass "
                "--resume to continue it)", run_dir);
    checkpoint_clean(run_dir, !resume);
}

/* Set up, resume if asked, train. Failures after metrics.jsonl is open are also
 * recorded there as an "error" event. */
static enum train_status run(const struct train_config *cfg, const struct train_args *a,
                             const char *run_dir, struct strbuf *err)
{
    struct metrics mx = { NULL };
    struct trainer t;
    char *metrics_path = path_join(run_dir, "metrics.jsonl");
    enum train_status st = metrics_open(&mx, metrics_path, err) < 0 ? TRAIN_FAILED : TRAIN_OK;
    free(metrics_path);
    memset(&t, 0, sizeof(t));
    if (st == TRAIN_OK)
        st = trainer_setup(&t, cfg, run_dir, err);
    t.mx = &mx;
    t.stop = &stop_requested;
    t.time_limit = &time_limit_near;
    t.threads = a->threads;
    if (st == TRAIN_OK)
        prepare_checkpoints(run_dir, a->resume);
    if (st == TRAIN_OK && a->resume)
        st = trainer_resume(&t, err);
    if (st == TRAIN_OK)
        st = trainer_run(&t, err);
    if (st == TRAIN_OK && a->export_dir && trainer_export(&t, a->export_dir, err) < 0)
        st = TRAIN_FAILED;
    if (st != TRAIN_OK && st != TRAIN_CANCELLED && st != TRAIN_TIME_LIMIT && err->len && mx.f)
        metrics_emit(&mx, json_pack("{s:s,s:s}", "event", "error", "message", err->buf));
    trainer_free(&t);
    if (metrics_close(&mx) < 0 && st == TRAIN_OK) {
        sb_adds(err, "cannot write metrics.jsonl");
        st = TRAIN_FAILED;
    }
    return st;
}

static int train_main(int argc, char **argv)
{
    struct train_args a = { NULL, NULL, 1, 0, NULL };
    if (parse_args(argc, argv, &a) < 0)
        return JOB_EXIT_BAD_CONFIG;
    catch_stop_signals();
    if (par_set_threads(a.threads) < 0)
        warning("could start only %d of %d threads", par_threads(), a.threads);
    struct train_config cfg;
    struct strbuf err = STRBUF_INIT;
    enum config_status cs = train_config_load(a.config, &cfg, &err);
    char *run_dir = a.run_dir ? xstrdup(a.run_dir) : path_dirname(a.config);
    enum train_status st = cs == CONFIG_OK ? TRAIN_OK
                         : cs == CONFIG_BAD ? TRAIN_BAD_CONFIG : TRAIN_UNREADABLE;
    if (st == TRAIN_OK)
        st = run(&cfg, &a, run_dir, &err);
    if (st == TRAIN_CANCELLED)
        warning("stopped by a signal; --resume continues from the last checkpoint");
    else if (st == TRAIN_TIME_LIMIT)
        warning("stopped for the time limit (SIGUSR1) after a checkpoint; --resume continues "
                "from it");
    else if (st != TRAIN_OK)
        error("%s", err.len ? err.buf : "training failed");
    train_config_free(&cfg);
    free(run_dir);
    sb_free(&err);
    if (fflush(stdout) != 0 && st == TRAIN_OK) {
        error("cannot write to stdout");
        return JOB_EXIT_FAILED;
    }
    return exit_code(st);
}

#ifndef TESTING
int main(int argc, char **argv)
{
    return train_main(argc, argv);
}
#endif
