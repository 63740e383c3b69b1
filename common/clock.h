/*
 * clock.h - the one clock for durations, timeouts and rates: monotonic seconds
 * (never steps back when the wall clock is set).
 */
#ifndef MAINLINE_CLOCK_H
#define MAINLINE_CLOCK_H

/* Seconds since an arbitrary fixed point, with nanosecond resolution. */
double clock_now_s(void);

#endif
