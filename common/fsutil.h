/*
 * fsutil.h - file writes that never leave a half-written file behind.
 */
#ifndef MAINLINE_FSUTIL_H
#define MAINLINE_FSUTIL_H

#include <stddef.h>

#include "strbuf.h"

/*
 * Write `len` bytes to `path` atomically: a temporary file in the same directory,
 * fsync, rename over `path`, fsync the directory. On failure the old file (if any)
 * is untouched, the temporary is removed, and -1 is returned with a message in *err.
 */
int write_file_atomic(const char *path, const void *data, size_t len, struct strbuf *err);

/* Read a whole (small) file. Returns 0 and a malloc'd NUL-terminated buffer the
 * caller frees, or -1 with a message in *err. */
int read_file(const char *path, char **data, size_t *len, struct strbuf *err);

/* Directory part of path ("." when there is none). Caller frees. */
char *path_dirname(const char *path);
/* Join dir and rel unless rel is absolute. Caller frees. */
char *path_join(const char *dir, const char *rel);

#endif
