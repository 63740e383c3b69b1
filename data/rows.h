/*
 * rows.h - a JSONL data file read whole: one JSON object per non-blank line, each
 * with its line number for messages ("train.jsonl:12: ...").
 *
 * Errors: data_file_read() returns -1 with "path:line:col: why" (or "cannot open")
 * in *err and leaves *f empty; nothing here prints or exits.
 *
 * Ownership: struct data_file owns its path copy and a reference to every row;
 * data_file_free() releases them and accepts a zeroed struct.
 */
#ifndef MAINLINE_DATA_ROWS_H
#define MAINLINE_DATA_ROWS_H

#include <stddef.h>

#include <jansson.h>

#include "strbuf.h"

struct data_row {
    json_t *row;      /* an object */
    long line;        /* 1-based line in the file */
};

struct data_file {
    char *path;
    struct data_row *rows;
    size_t n, alloc;
};

int data_file_read(const char *path, struct data_file *f, struct strbuf *err);
void data_file_free(struct data_file *f);

#endif
