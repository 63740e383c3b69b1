/*
 * code_files.h - the code a run executes, as provenance: the files a trainer's or
 * evaluator's command names (an item that is a path to an existing file, such as
 * `train.py` or `/opt/tools/eval.sh`; bare program names found in PATH, such as
 * `python3`, are not: their version is the machine's) and the sweep's `code:` list of
 * files and directories. Their sha256 go into what plan compares, so editing
 * train.py is a change of the sweep like any other.
 */
#ifndef MAINLINE_CODE_FILES_H
#define MAINLINE_CODE_FILES_H

#include <jansson.h>

#include "diag.h"

struct sweep;

/* {"NAME": "sha256", ...} for every code file of s (a directory's sha256 is of its
 * files' paths and digests, in order). Names are as written. A `code:` path that
 * cannot be read is an error at its position. New reference. */
json_t *code_files_digest(const struct sweep *s, struct diag_list *dl);

/* The absolute path of a command item that names a file relative to the sweep file's
 * directory (`train.py`), or NULL (absolute already, a program in PATH, an option, a
 * placeholder). Jobs run in their run directory: their commands get these paths.
 * Caller frees. */
char *code_files_resolve(const struct sweep *s, const char *item);

#endif
