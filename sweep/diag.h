/*
 * diag.h - a list of input diagnostics, each "file:line:col: message".
 *
 * Loaders collect every problem they find instead of stopping at the first, and
 * never print: the CLI prints the list with an "error: " prefix. Only the first
 * DIAG_MAX messages are kept; `count` counts all of them.
 */
#ifndef MAINLINE_DIAG_H
#define MAINLINE_DIAG_H

#include <stddef.h>

#include "error.h"

#define DIAG_MAX 50

struct diag_list {
    char **msgs;      /* owned */
    size_t n, alloc;
    size_t count;     /* all diagnostics, including those not kept */
};

/* Append "file:line:col: <fmt>"; line/col 0 leaves out the position. */
void diag_add(struct diag_list *dl, const char *file, int line, int col, const char *fmt, ...)
    ATTR_PRINTF(5, 6);
void diag_free(struct diag_list *dl);

#endif
