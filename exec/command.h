/*
 * command.h - run a short-lived program (sbatch, squeue, scancel) and take what it
 * prints: no shell between us and it, stdin from /dev/null, a bounded wait.
 */
#ifndef MAINLINE_COMMAND_H
#define MAINLINE_COMMAND_H

#include "strbuf.h"

/*
 * Run argv (argv[0] looked up in PATH), appending its stdout to *out and its stderr
 * to *err. Killed when it has not ended after timeout_s seconds. Returns its exit
 * status (0..255), or -1 when it could not be run, was killed by a signal or timed
 * out (the reason appended to *err).
 */
int command_run(char *const *argv, double timeout_s, struct strbuf *out, struct strbuf *err);

#endif
