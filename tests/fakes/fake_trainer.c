/*
 * fake_trainer.c - a small, honest trainer for testing the orchestrator. It is
 * not a model trainer and is never shipped or used by a sweep outside tests/.
 *
 * It follows docs/protocol.md exactly: reads the config named by $MAINLINE_CONFIG,
 * appends events to $MAINLINE_METRICS, writes checkpoints, resumes from its last
 * checkpoint with --resume, and exits 0. Its "validation NLL" is a deterministic
 * function of lr and step (lowest near lr = 3e-4), so stage picks have a known
 * answer. Knobs come from x_ parameters of the run:
 *   x_steps (5)  x_sleep_ms (0)  x_val_every (2)  x_fail_at (-1) x_exit (1)
 *   x_signal_at (-1: raise SIGKILL at that step)  x_ignore_term (false)
 *   x_malformed_at (-1: write a broken line at that step)  x_no_val (false)
 *   On SIGUSR1 (a batch system's warning before a time limit) it finishes its step,
 *   writes a checkpoint and exits 5 (JOB_EXIT_TIME_LIMIT), as the protocol asks.
 *   x_record (false: write its arguments to argv.txt and the whole environment it got
 *   to env.txt in the run directory, each argument and VAR=value ending in a NUL byte)
 *   x_alloc_mb (0: allocate and touch that many MiB first and hold them to the end, for
 *   a batch system's memory accounting to see)
 * and, for reports, numbers the built-in trainer logs (left out when unset):
 *   x_ckpt_bytes (checkpoint `bytes`)  x_trainable_pct (`start` trainable_pct and
 *   trainable_params)  x_peak_rss_mb (`train` peak_rss_mb)  x_val_flat_from (from that
 *   step on the validation NLL stays at its value there: ties for the checkpoint rule)
 *   x_val_seed_jitter (0: the validation NLL gains jitter * seed / 1000, so seeds differ)
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

static json_t *params;
static char *volatile held_memory;   /* x_alloc_mb: volatile, so it is not optimized away */
static volatile sig_atomic_t time_limit;

static void on_usr1(int sig)
{
    (void)sig;
    time_limit = 1;
}

static long knob(const char *name, long fallback)
{
    json_t *v = json_object_get(params, name);
    return json_is_integer(v) ? (long)json_integer_value(v) :
           json_is_true(v) ? 1 : json_is_false(v) ? 0 : fallback;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0)
        ;
}

/* The last step with a complete checkpoint (its state file exists), or 0. */
static long last_checkpoint(const char *dir, long steps)
{
    char path[4096];
    for (long s = steps; s > 0; s--) {
        snprintf(path, sizeof(path), "%s/checkpoints/step-%ld/state.json", dir, s);
        if (access(path, R_OK) == 0)
            return s;
    }
    return 0;
}

extern char **environ;

/* Each string of the NULL-terminated list `strs` into dir/name, each ending in a NUL byte. */
static int record(const char *dir, const char *name, char **strs)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (char **e = strs; *e; e++)
        fwrite(*e, 1, strlen(*e) + 1, f);
    return fclose(f) == 0 ? 0 : -1;
}

static void emit(FILE *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(FILE *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(m, fmt, ap);
    va_end(ap);
    fputc('\n', m);
    fflush(m);
}

/* Write the checkpoint of step and say so; -1 (errno set) when it cannot be written,
 * as a real trainer fails on a full or read-only disk. */
static int checkpoint(FILE *m, const char *dir, long step)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/checkpoints/step-%ld", dir, step);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -1;
    strcat(path, "/state.json");
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\"step\": %ld}\n", step);
    if (fclose(f) != 0)
        return -1;
    long bytes = knob("x_ckpt_bytes", -1);
    if (bytes >= 0)
        emit(m, "{\"event\":\"checkpoint\",\"step\":%ld,\"path\":\"checkpoints/step-%ld\","
             "\"bytes\":%ld}", step, step, bytes);
    else
        emit(m, "{\"event\":\"checkpoint\",\"step\":%ld,\"path\":\"checkpoints/step-%ld\"}",
             step, step);
    return 0;
}

static int checkpoint_failed(FILE *m, json_t *cfg, long step)
{
    fprintf(stderr, "fake_trainer: cannot write the checkpoint of step %ld: %s\n", step,
            strerror(errno));
    fclose(m);
    json_decref(cfg);
    return 1;
}

int main(int argc, char **argv)
{
    int resume = 0;
    for (int i = 1; i < argc; i++)
        resume |= !strcmp(argv[i], "--resume");
    resume |= getenv("MAINLINE_RESUME") && !strcmp(getenv("MAINLINE_RESUME"), "1");
    const char *cfg_path = getenv("MAINLINE_CONFIG"), *dir = getenv("MAINLINE_RUN_DIR");
    const char *metrics = getenv("MAINLINE_METRICS");
    json_t *cfg = cfg_path ? json_load_file(cfg_path, 0, NULL) : NULL;
    if (!cfg || !dir || !metrics) {
        fprintf(stderr, "fake_trainer: no config (MAINLINE_CONFIG)\n");
        return 2;
    }
    params = json_object_get(cfg, "params");
    if (knob("x_record", 0) &&
        (record(dir, "argv.txt", argv + 1) < 0 || record(dir, "env.txt", environ) < 0)) {
        fprintf(stderr, "fake_trainer: cannot write argv.txt or env.txt in %s\n", dir);
        json_decref(cfg);
        return 4;
    }
    if (knob("x_ignore_term", 0))
        signal(SIGTERM, SIG_IGN);
    size_t held = (size_t)knob("x_alloc_mb", 0) << 20;
    held_memory = held ? malloc(held) : NULL;
    if (held_memory)
        memset(held_memory, 1, held);   /* touched: resident, not just reserved */
    signal(SIGUSR1, on_usr1);
    long steps = knob("x_steps", 5), sleep = knob("x_sleep_ms", 0);
    long val_every = knob("x_val_every", 2), fail_at = knob("x_fail_at", -1);
    double lr = json_number_value(json_object_get(params, "lr"));
    char cpdir[4096];
    snprintf(cpdir, sizeof(cpdir), "%s/checkpoints", dir);
    mkdir(cpdir, 0755);
    FILE *m = fopen(metrics, "a");
    if (!m)
        return 4;
    long start = resume ? last_checkpoint(dir, steps) : 0;
    long pct = knob("x_trainable_pct", -1), rss = knob("x_peak_rss_mb", -1);
    if (pct >= 0)
        emit(m, "{\"event\":\"start\",\"total_steps\":%ld,\"resumed_from\":%ld,"
             "\"trainable_pct\":%ld,\"trainable_params\":%ld}", steps, start, pct, pct * 1000);
    else
        emit(m, "{\"event\":\"start\",\"total_steps\":%ld,\"resumed_from\":%ld}", steps,
             start);
    for (long step = start + 1; step <= steps; step++) {
        sleep_ms(sleep);
        if (step == fail_at) {
            fprintf(stderr, "fake_trainer: failing at step %ld as asked\n", step);
            int code = (int)knob("x_exit", 1);
            fclose(m);
            json_decref(cfg);
            return code;
        }
        if (step == knob("x_signal_at", -1))
            raise(SIGKILL);
        if (step == knob("x_malformed_at", -1))
            emit(m, "{\"event\": \"train\", \"step\": oops");
        double loss = 2.0 / (double)step + fabs(log10(lr > 0 ? lr : 1e-4) + 3.5);
        if (rss >= 0)
            emit(m, "{\"event\":\"train\",\"step\":%ld,\"loss\":%.6f,\"lr\":%g,\"tokens\":%ld,"
                 "\"tok_per_s\":1000,\"peak_rss_mb\":%ld}", step, loss, lr, step * 64, rss);
        else
            emit(m, "{\"event\":\"train\",\"step\":%ld,\"loss\":%.6f,\"lr\":%g,\"tokens\":%ld,"
                 "\"tok_per_s\":1000}", step, loss, lr, step * 64);
        printf("Iter %ld: Train loss %.6f\n", step, loss);
        fflush(stdout);
        int saved = 0;
        if (!knob("x_no_val", 0) && (step % val_every == 0 || step == steps)) {
            long flat = knob("x_val_flat_from", -1);
            long at = flat > 0 && step > flat ? flat : step;
            double nll = 1.0 + fabs(log10(lr > 0 ? lr : 1e-4) + 3.5) + 1.0 / (double)at +
                         (double)knob("x_val_seed_jitter", 0) * (double)knob("seed", 0) / 1000;
            emit(m, "{\"event\":\"val\",\"step\":%ld,\"nll\":%.6f}", step, nll);
            printf("Iter %ld: Val loss %.6f\n", step, nll);
            fflush(stdout);
            if (checkpoint(m, dir, step) < 0)
                return checkpoint_failed(m, cfg, step);
            saved = 1;
        }
        if (time_limit) {
            if (!saved && checkpoint(m, dir, step) < 0)
                return checkpoint_failed(m, cfg, step);
            emit(m, "{\"event\":\"stopped\",\"reason\":\"time_limit\",\"step\":%ld}", step);
            fprintf(stderr, "fake_trainer: stopped for the time limit at step %ld\n", step);
            fclose(m);
            json_decref(cfg);
            return 5;
        }
    }
    emit(m, "{\"event\":\"done\",\"steps\":%ld}", steps);
    fclose(m);
    json_decref(cfg);
    free(held_memory);
    return 0;
}
