/*
 * scheduler.c - the loop behind `mainline run` (see scheduler.h): release waiting
 * runs whose picks are known, start jobs while there are free slots, look at every
 * active job (job_slots.c), tell the caller (its tick draws progress), then sleep
 * until a child exits or a short poll interval passes. Also which runs may start,
 * Ctrl-C, and the outcome left at the end. Setting up is in sched_setup.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "clock.h"
#include "fsutil.h"
#include "rundir.h"
#include "sched_internal.h"

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

void sched_install_signals(void)
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

/* Ctrl-C once: ask every job to stop. Twice: kill them. */
static void handle_interrupts(struct sched *s)
{
    static int seen;
    if (interrupts == seen)
        return;
    seen = interrupts;
    if (!s->stopping || seen == 1) {
        s->stopping = 1;
        sched_note(s, "interrupted: asking %zu job(s) to stop (Ctrl-C again to kill)",
                   s->n_jobs);
        jobs_stop(s, NULL, JOB_STOP_CANCELLED, SIGTERM);
    } else {
        s->killing = 1;
        jobs_stop(s, NULL, JOB_STOP_CANCELLED, SIGKILL);
    }
}

/* ---- choosing what to start ---- */

int sched_selected(const struct sched *s, const struct reg_exec_run *r)
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
 * A stage needed for a pick (`lr: {from: lr_select}`) is already settled for this
 * run once the pick released it: its group was done, whatever other groups are
 * doing.
 */
int sched_needs_done(const struct sched *s, const struct reg_exec_run *r, const char **blocker)
{
    const struct sweep_stage *st = sweep_find_stage(&s->spec, r->stage);
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
    if (!sched_selected(s, r) || !sched_needs_done(s, r, NULL))
        return 0;
    switch (r->state) {
    case RUN_PLANNED:
        return n->tries <= s->spec.retries;
    case RUN_CANCELLED:
        return !n->cancelled && n->tries <= s->spec.retries;
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
            train_job_start(s, i);
    eval_jobs_start(s);
}

static int has_startable(struct sched *s)
{
    for (size_t i = 0; i < s->n_runs; i++)
        if (startable(s, i))
            return 1;
    return eval_jobs_waiting(s);
}

/* ---- the loop ---- */

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

/* Every job's directory is under runs/SWEEP: when there is something to start and
 * that directory cannot be made (runs is a file, or read-only), nothing can start.
 * One error, and the loop ends at once instead of failing each job in turn. */
static void check_runs_dir(struct sched *s)
{
    if (!has_startable(s))
        return;
    char *job_dir = rundir_path(s->root, s->sw.name, s->sw.version, "-");
    char *dir = path_dirname(job_dir);
    struct strbuf err = STRBUF_INIT;
    if (mkdir_p(dir, &err) < 0) {
        sched_error(s, "nothing can start: %s", err.buf);
        s->runs_dir_failed = 1;
        s->stopping = 1;
    }
    sb_free(&err);
    free(dir);
    free(job_dir);
}

void sched_registry_refused(struct sched *s, const char *why)
{
    if (s->registry_refused_at)
        return;
    s->registry_refused_at = clock_now_s();
    sched_warning(s, "the registry refuses to record a start (%s): waiting up to %.0f s for it",
                  why, s->opt.registry_wait_s);
}

/* Starts refused by the registry for longer than the patience: stop starting. */
static void check_registry_refusals(struct sched *s)
{
    if (!s->registry_refused_at || s->stopping ||
        clock_now_s() - s->registry_refused_at < s->opt.registry_wait_s)
        return;
    sched_error(s, "the registry refused every start for %.0f s: stopping (run `mainline run` "
                "again when it can be written)", s->opt.registry_wait_s);
    s->stopping = 1;
}

void sched_run(struct sched *s)
{
    check_runs_dir(s);
    for (;;) {
        handle_interrupts(s);
        check_registry_refusals(s);
        if (!s->stopping && picks_resolve(s) < 0)
            s->stopping = 1;
        start_jobs(s);
        jobs_check(s);
        if (s->report.tick)
            s->report.tick(s->report.data, s);
        if (s->opt.detach) {
            sched_note(s, "detached: %zu job(s) run on; `mainline run %s` attaches to them",
                       s->n_jobs, s->sw.name);
            break;
        }
        if (s->n_jobs == 0 && (s->stopping || !has_startable(s))) {
            if (!s->stopping && picks_resolve(s) > 0)
                continue;
            break;
        }
        wait_a_little(s);
    }
}

/* ---- the outcome ---- */

static void add_wait(struct sched_outcome *o, size_t *alloc, const char *run_id,
                     const char *why)
{
    o->waits = xgrow(o->waits, o->n_waits + 1, alloc, sizeof(*o->waits));
    o->waits[o->n_waits].run_id = xstrdup(run_id);
    o->waits[o->n_waits++].why = xstrdup(why);
}

void sched_outcome(const struct sched *s, struct sched_outcome *o)
{
    memset(o, 0, sizeof(*o));
    o->sweep = s->sw.name;
    for (size_t i = 0; i < s->n_runs; i++)
        o->counts[s->runs[i].state]++;
    o->elapsed_s = clock_now_s() - s->t0;
    size_t alloc = 0;
    for (size_t i = 0; i < s->n_runs; i++) {
        const struct reg_exec_run *r = &s->runs[i];
        const char *blocker = NULL;
        char why[600];
        if (!sched_selected(s, r))
            continue;
        if (r->state == RUN_WAITING) {
            add_wait(o, &alloc, r->run_id, picks_blocker(s, i, why, sizeof(why)));
        } else if (r->state == RUN_PLANNED && !sched_needs_done(s, r, &blocker)) {
            struct strbuf sb = STRBUF_INIT;
            sb_addf(&sb, "stage %s has runs that are not done", blocker);
            add_wait(o, &alloc, r->run_id, sb.buf);
            sb_free(&sb);
        }
        o->unfinished |= r->state != RUN_DONE;
    }
    /* Attempts that failed and were retried into success do not count; what is left
     * failed, cancelled or unstarted does. */
    o->eval_failures = s->eval_failures;
    o->interrupted = interrupts > 0;
    o->runs_dir_failed = s->runs_dir_failed;
    o->unrecorded = s->unrecorded;
    o->detached = s->opt.detach;
}

void sched_outcome_free(struct sched_outcome *o)
{
    for (size_t i = 0; i < o->n_waits; i++) {
        free(o->waits[i].run_id);
        free(o->waits[i].why);
    }
    free(o->waits);
    memset(o, 0, sizeof(*o));
}
