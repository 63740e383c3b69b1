/*
 * run_progress.c - what `mainline run` shows while it works (run_progress.h).
 *
 * On a terminal: one line per active job (step/total, loss, tokens/s, ETA) and an
 * overall bar, redrawn in place. Elsewhere (a log file, CI): state changes as they
 * happen and a plain status line per job every 10 s. --quiet keeps only state
 * changes. `mainline status` shows the same from the registry.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "run_progress.h"

enum { PLAIN_EVERY_S = 10 };

/* Erase the live block so a note prints above it. */
static void clear_block(struct run_progress *p)
{
    for (int i = 0; i < p->lines; i++)
        fputs("\033[1A\033[2K", stdout);
    p->lines = 0;
}

/* State changes go to stdout; a failure (its reason names the job's stderr.log and
 * its last line) to stderr, where a user looks for what went wrong. */
static void on_note(void *data, double elapsed_s, const char *line)
{
    struct run_progress *p = data;
    if (p->tty)
        clear_block(p);
    FILE *to = strncmp(line, "FAIL", 4) == 0 ? stderr : stdout;
    fflush(stdout);
    fprintf(to, "[%7.1fs] %s\n", elapsed_s, line);
    fflush(to);
}

static void on_error(void *data, const char *msg)
{
    (void)data;
    error("%s", msg);
}

static void on_warning(void *data, const char *msg)
{
    (void)data;
    warning("%s", msg);
}

static void on_tick(void *data, const struct sched *s)
{
    run_progress_draw(data, s, 0);
}

void run_progress_init(struct run_progress *p, int quiet)
{
    memset(p, 0, sizeof(*p));
    p->quiet = quiet;
    p->tty = isatty(STDOUT_FILENO);
    p->report = (struct sched_report){ on_note, on_error, on_warning, on_tick, p };
}

static void job_line(const struct sched_job_view *j, char *buf, size_t len)
{
    const struct ingest_stats *st = j->stats;
    double elapsed = clock_now_s() - j->started;
    int n = snprintf(buf, len, "  %-40.40s ", j->name);
    if (j->eval) {
        /* an evaluator reports once, at its end: what it evaluates and for how long */
        if (j->eval_step >= 0)
            snprintf(buf + n, len - (size_t)n, "eval of step %lld  %.0fs",
                     (long long)j->eval_step, elapsed);
        else
            snprintf(buf + n, len - (size_t)n, "eval of the base model  %.0fs", elapsed);
        return;
    }
    if (st->total_steps > 0)
        n += snprintf(buf + n, len - (size_t)n, "step %lld/%lld", (long long)st->last_step,
                      (long long)st->total_steps);
    else
        n += snprintf(buf + n, len - (size_t)n, "step %lld", (long long)st->last_step);
    if (st->last_loss)
        n += snprintf(buf + n, len - (size_t)n, "  loss %.4f", st->last_loss);
    if (st->last_tok_s)
        n += snprintf(buf + n, len - (size_t)n, "  %.0f tok/s", st->last_tok_s);
    if (st->total_steps > 0 && st->last_step > 0 && (size_t)n < len) {
        double eta = elapsed / (double)st->last_step * (double)(st->total_steps - st->last_step);
        snprintf(buf + n, len - (size_t)n, "  eta %.0fs", eta);
    } else if ((size_t)n < len) {
        snprintf(buf + n, len - (size_t)n, "  %.0fs", elapsed);
    }
}

static void overall(const struct sched_progress *pr, char *buf, size_t len)
{
    int width = 30, fill = pr->runs ? (int)(width * pr->done / pr->runs) : width;
    char bar[64];
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(width - fill));
    bar[width] = '\0';
    snprintf(buf, len, "[%s] %zu/%zu runs done, %zu active, %zu failed", bar, pr->done,
             pr->runs, pr->active, pr->failed);
}

/* A line per active job: as drawn on a terminal, or stamped with the time and
 * without the indent (elsewhere). */
static void job_lines(const struct sched *s, const struct sched_progress *pr, double t,
                      int stamped)
{
    char line[256];
    for (size_t i = 0; i < pr->active; i++) {
        struct sched_job_view v;
        sched_job_view(s, i, &v);
        job_line(&v, line, sizeof(line));
        if (stamped)
            printf("[%7.1fs] %s\n", t - pr->t0, line + 2);
        else
            puts(line);
    }
}

void run_progress_draw(struct run_progress *p, const struct sched *s, int final)
{
    double t = clock_now_s();
    if (p->quiet)
        return;
    struct sched_progress pr;
    sched_progress(s, &pr);
    char line[256];
    if (p->tty) {
        if (!final && t - p->last < 0.25)
            return;
        clear_block(p);
        job_lines(s, &pr, t, 0);
        overall(&pr, line, sizeof(line));
        puts(line);
        p->lines = (int)pr.active + 1;
        if (final)
            p->lines = 0;   /* leave the last picture on screen */
    } else {
        if (!final && t - p->last < PLAIN_EVERY_S)
            return;
        job_lines(s, &pr, t, 1);
        if (final) {
            overall(&pr, line, sizeof(line));
            printf("[%7.1fs] %s\n", t - pr.t0, line);
        }
    }
    p->last = t;
    fflush(stdout);
}
