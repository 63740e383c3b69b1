/*
 * jsonl.h - reading a JSONL file line by line: the one loop the trainer's data
 * loader and the evaluator's benchmark loader share (blank lines skipped, line
 * numbers counted from 1, a read error told apart from a bad line).
 *
 * Errors: jsonl_each() returns an enum jsonl_status; it appends a message to *err
 * only for a file it cannot open or read (the callback writes its own). Nothing
 * here prints or exits.
 *
 * Ownership: the line passed to the callback is borrowed for the call.
 */
#ifndef MAINLINE_JSONL_H
#define MAINLINE_JSONL_H

#include "strbuf.h"

enum jsonl_status { JSONL_OK, JSONL_UNREADABLE, JSONL_STOPPED };

/* fn(line, lineno, ud) for each non-blank line: 0 goes on, 1 ends the reading
 * (JSONL_OK), -1 stops it (JSONL_STOPPED). */
typedef int (*jsonl_fn)(const char *line, long lineno, void *ud);

enum jsonl_status jsonl_each(const char *path, jsonl_fn fn, void *ud, struct strbuf *err);

#endif
