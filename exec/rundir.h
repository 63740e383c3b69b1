/*
 * rundir.h - the files of a job: where its directory is, the config.json written
 * before it starts, the command line it gets, and archiving the files of a
 * previous attempt when a run starts over. The layout is the public contract in
 * docs/protocol.md.
 */
#ifndef MAINLINE_RUNDIR_H
#define MAINLINE_RUNDIR_H

#include <jansson.h>

#include "strbuf.h"

/* runs/<sweep>/<run-id> for version 1, runs/<sweep>@v<N>/<run-id> after, under
 * `root` (absolute). Caller frees. */
char *rundir_path(const char *root, const char *sweep, int version, const char *run_id);

/* Move metrics.jsonl, stdout.log, stderr.log, exit.json and checkpoints/ of a run
 * into attempt-<n>/ so a fresh attempt starts clean and nothing is lost. */
int rundir_archive(const char *dir, int attempt, struct strbuf *err);

/*
 * Expand {placeholders} in every string of `cmd` from `vars` (builtins such as
 * run_dir) and then `params` (the run's parameters). Returns a NULL-terminated
 * argv the caller frees with argv_free, or NULL with a message naming the first
 * placeholder that has no value.
 */
char **command_expand(const json_t *cmd, const json_t *vars, const json_t *params,
                      struct strbuf *err);
void argv_free(char **argv);

#endif
