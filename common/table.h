/*
 * table.h - a text table: add rows of cells, print them aligned in columns with
 * two spaces between, no trailing blanks. The table owns copies of the cells.
 */
#ifndef MAINLINE_TABLE_H
#define MAINLINE_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct table {
    size_t n_cols;
    char **cells;          /* row-major, n_rows * n_cols, owned */
    size_t n_rows, alloc;
    unsigned right_align;  /* bit c set: column c is right-aligned (numbers) */
};

/* Start a table with the given header cells (NULL-terminated). */
void table_init(struct table *t, const char *const *header);
/* Append a row of n_cols cells; NULL cells print as "-". */
void table_add(struct table *t, const char *const *cells);
void table_print(const struct table *t, FILE *out, const char *indent);
void table_free(struct table *t);

#endif
