/*
 * run_progress.h - what `mainline run` shows while it works: the CLI's side of the
 * scheduler's struct sched_report. Notes (state changes) go to stdout as
 * "[  12.3s] text" lines; errors and warnings go to stderr; the active jobs are
 * drawn live on a terminal.
 */
#ifndef MAINLINE_RUN_PROGRESS_H
#define MAINLINE_RUN_PROGRESS_H

#include "scheduler.h"

struct run_progress {
    int quiet;              /* --quiet: state changes only */
    int tty;                /* stdout is a terminal: redraw in place */
    double last;            /* when the jobs were last drawn (clock_now_s) */
    int lines;              /* lines of the live block on screen */
    struct sched_report report;   /* points back at this struct */
};

/* Set up for stdout; p->report is what struct sched_options.report points at (p
 * must outlive the scheduler). Nothing to free. */
void run_progress_init(struct run_progress *p, int quiet);
/* Draw the active jobs and, at the end (final), leave the last picture on screen
 * (on a terminal) or add the overall line (elsewhere). */
void run_progress_draw(struct run_progress *p, const struct sched *s, int final);

#endif
