/*
 * bench_tmpdir.h - the scratch directory of a benchmark program:
 * $TMPDIR/mainline-bench-NAME-XXXXXX (/tmp without TMPDIR), removed with everything
 * in it by bench_tmpdir_remove() or at exit.
 *
 * Errors: bench_tmpdir_create() dies when the directory cannot be made.
 * Ownership: the returned path is a static buffer, valid until the next create.
 */
#ifndef MAINLINE_BENCH_TMPDIR_H
#define MAINLINE_BENCH_TMPDIR_H

/* A new empty directory (the previous one, if any, is removed first). */
const char *bench_tmpdir_create(const char *name);
/* Remove the directory and its contents (nothing when there is none). */
void bench_tmpdir_remove(void);

#endif
