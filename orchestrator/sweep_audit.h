/*
 * sweep_audit.h - the `audit:` section of a sweep file: which datasets play which
 * role and what each integrity gate allows (see struct sweep_audit in sweep.h and
 * docs/sweep-format.md). Called by sweep_load.c after datasets and evaluation are
 * loaded; problems go to the diag list as "file:line:col: message".
 *
 * Ownership: the strings of struct sweep_audit are owned by it;
 * sweep_audit_release() frees them and accepts a zeroed struct.
 */
#ifndef MAINLINE_SWEEP_AUDIT_H
#define MAINLINE_SWEEP_AUDIT_H

#include "sweep.h"

/* Fill s->audit from root's `audit:` (or the defaults when it is absent). */
void sweep_load_audit(const char *file, const struct ynode *root, struct sweep *s,
                      struct diag_list *dl);
void sweep_audit_release(struct sweep_audit *a);

/* The patterns seed 001 searched for, used when `suspicious:` is not given. */
extern const char *const audit_default_suspicious[];

#endif
