/*
 * sweep_audit.h - the `audit:` section of a sweep file: which datasets play which
 * role and what each integrity gate allows (see struct audit_config in data/audit.h and
 * docs/sweep-format.md). Called by sweep_load.c after datasets and evaluation are
 * loaded; problems go to the diag list as "file:line:col: message".
 *
 * Ownership: the strings of struct audit_config are owned by it;
 * sweep_audit_free() frees them and accepts a zeroed struct.
 */
#ifndef MAINLINE_SWEEP_AUDIT_H
#define MAINLINE_SWEEP_AUDIT_H

#include "sweep.h"

/* Fill s->audit from root's `audit:` (or the defaults when it is absent). */
void sweep_load_audit(const char *file, const struct ynode *root, struct sweep *s,
                      struct diag_list *dl);
void sweep_audit_free(struct audit_config *a);

/* The patterns seed 001 searched for, used when `suspicious:` is not given. */
extern const char *const audit_default_suspicious[];

/* Read the datasets of the sweep's audit roles and run the gates. local_path(name,
 * ud) says where a dataset's file is (a URL's place in the cache); NULL for the
 * source's resolved path. -1 with a message naming the file (and line) that
 * cannot be read. */
int sweep_audit_run(const struct sweep *s,
                    const char *(*local_path)(const char *name, void *ud), void *ud,
                    json_t **report, struct strbuf *err);

#endif
