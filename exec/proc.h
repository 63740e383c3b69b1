/*
 * proc.h - facts about processes: is this pid still the process we started
 * (pid + start time, so a reused pid is not mistaken for ours), and our host name.
 */
#ifndef MAINLINE_PROC_H
#define MAINLINE_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* Start time of pid in clock ticks since boot (/proc/PID/stat field 22), or 0
 * when the process does not exist. */
int64_t proc_start_time(pid_t pid);
/* 1 when pid exists, is not a zombie, and started at `start` (0 = any start). */
int proc_alive(pid_t pid, int64_t start);
/* This machine's host name (static storage). */
const char *proc_hostname(void);

#endif
