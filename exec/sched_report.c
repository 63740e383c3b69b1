/*
 * sched_report.c - how the scheduler says things: notes, errors and warnings go
 * to the caller's struct sched_report (scheduler.h) as formatted lines, and the
 * progress a display reads comes from here. Nothing in exec/ prints; cli/ decides
 * how these look (cli/run_progress.c).
 */
#include <stdarg.h>
#include <stdlib.h>

#include "clock.h"
#include "sched_internal.h"

enum say { SAY_NOTE, SAY_ERROR, SAY_WARNING };

static void say(struct sched *s, enum say what, const char *fmt, va_list ap)
{
    const struct sched_report *r = &s->report;
    if ((what == SAY_NOTE && !r->note) || (what == SAY_ERROR && !r->error) ||
        (what == SAY_WARNING && !r->warning))
        return;
    double elapsed = clock_now_s() - s->t0;
    struct strbuf sb = STRBUF_INIT;
    sb_vaddf(&sb, fmt, ap);
    if (what == SAY_NOTE)
        r->note(r->data, elapsed, sb_str(&sb));
    else if (what == SAY_ERROR)
        r->error(r->data, sb_str(&sb));
    else
        r->warning(r->data, sb_str(&sb));
    sb_free(&sb);
}

void sched_note(struct sched *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(s, SAY_NOTE, fmt, ap);
    va_end(ap);
}

void sched_error(struct sched *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(s, SAY_ERROR, fmt, ap);
    va_end(ap);
}

void sched_warning(struct sched *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(s, SAY_WARNING, fmt, ap);
    va_end(ap);
}

int sched_reg_check(struct sched *s, enum reg_status st, const char *doing)
{
    if (st == REG_OK)
        return 0;
    sched_error(s, "%s: %s", doing, reg_errmsg(s->reg));
    return -1;
}

void sched_progress(const struct sched *s, struct sched_progress *p)
{
    p->t0 = s->t0;
    p->runs = s->n_runs;
    p->done = p->failed = 0;
    for (size_t i = 0; i < s->n_runs; i++) {
        p->done += s->runs[i].state == RUN_DONE;
        p->failed += s->runs[i].state == RUN_FAILED;
    }
    p->active = s->n_jobs;
}

void sched_job_view(const struct sched *s, size_t i, struct sched_job_view *v)
{
    const struct job *j = &s->jobs[i];
    v->name = j->run == (size_t)-1 ? "baseline" : s->runs[j->run].run_id;
    v->eval = j->kind == JOB_EVAL;
    v->eval_step = j->eval_step;
    v->started = j->started;
    v->stats = &j->stats;
}
