/*
 * progress.c - what `mainline run` shows while it works.
 *
 * On a terminal: one line per active job (step/total, loss, tokens/s, ETA) and an
 * overall bar, redrawn in place. Elsewhere (a log file, CI): state changes as they
 * happen and a plain status line per job every 10 s. --quiet keeps only state
 * changes. `mainline status` shows the same from the registry.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "scheduler.h"

enum { PLAIN_EVERY_S = 10 };

/* Erase the live block so a note prints above it. */
static void clear_block(struct sched *s)
{
    for (int i = 0; i < s->progress_lines; i++)
        fputs("\033[1A\033[2K", stdout);
    s->progress_lines = 0;
}

void progress_note(struct sched *s, const char *fmt, ...)
{
    if (s->tty)
        clear_block(s);
    va_list ap;
    va_start(ap, fmt);
    printf("[%7.1fs] ", clock_now_s() - s->t0);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void job_line(struct sched *s, const struct job *j, char *buf, size_t len)
{
    const struct ingest_stats *st = &j->stats;
    const char *name = j->run == (size_t)-1 ? "baseline" : s->runs[j->run].run_id;
    double elapsed = clock_now_s() - j->started;
    int n = snprintf(buf, len, "  %-40.40s ", name);
    if (j->kind == JOB_EVAL) {
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

static void overall(struct sched *s, char *buf, size_t len)
{
    size_t done = 0, failed = 0;
    for (size_t i = 0; i < s->n_runs; i++) {
        done += s->runs[i].state == RUN_DONE;
        failed += s->runs[i].state == RUN_FAILED;
    }
    int width = 30, fill = s->n_runs ? (int)(width * done / s->n_runs) : width;
    char bar[64];
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(width - fill));
    bar[width] = '\0';
    snprintf(buf, len, "[%s] %zu/%zu runs done, %zu active, %zu failed", bar, done, s->n_runs,
             s->n_jobs, failed);
}

void progress_draw(struct sched *s, int force)
{
    double t = clock_now_s();
    if (s->opt.quiet)
        return;
    char line[256];
    if (s->tty) {
        if (!force && t - s->last_progress < 0.25)
            return;
        clear_block(s);
        for (size_t i = 0; i < s->n_jobs; i++) {
            job_line(s, &s->jobs[i], line, sizeof(line));
            puts(line);
        }
        overall(s, line, sizeof(line));
        puts(line);
        s->progress_lines = (int)s->n_jobs + 1;
        if (force)
            s->progress_lines = 0;   /* leave the last picture on screen */
    } else {
        if (!force && t - s->last_progress < PLAIN_EVERY_S)
            return;
        for (size_t i = 0; i < s->n_jobs; i++) {
            job_line(s, &s->jobs[i], line, sizeof(line));
            printf("[%7.1fs] %s\n", t - s->t0, line + 2);
        }
        if (force) {
            overall(s, line, sizeof(line));
            printf("[%7.1fs] %s\n", t - s->t0, line);
        }
    }
    s->last_progress = t;
    fflush(stdout);
}
