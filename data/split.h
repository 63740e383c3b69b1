/*
 * split.h - `mainline data split`: a train/validation split that keeps every
 * variant of a problem on one side (seed 001 found variants of one problem on
 * both sides of an ungrouped split).
 *
 * Rows are grouped by canonical problem text (canon.h; the problem is the row's
 * `field` when given, else found by the row's shape as render.h does). The groups
 * are shuffled with splitmix64 seeded by `seed`, and whole groups go to the
 * validation side until it holds at least round(valid_frac * rows) rows. Both
 * outputs keep the input's order and its lines byte for byte, and are written
 * atomically. The same input, fraction and seed give the same files.
 *
 * Errors: split_file() returns -1 with "path:line: why" or an I/O message in *err
 * and writes nothing; nothing here prints or exits.
 */
#ifndef MAINLINE_DATA_SPLIT_H
#define MAINLINE_DATA_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

struct split_opts {
    double valid_frac;        /* in (0, 1) */
    uint64_t seed;
    const char *field;        /* the problem's field name, or NULL */
    const char *out_train, *out_valid;
};

struct split_result {
    size_t rows, groups;
    size_t train_rows, train_groups, valid_rows, valid_groups;
};

int split_file(const char *path, const struct split_opts *o, struct split_result *r,
               struct strbuf *err);

#endif
