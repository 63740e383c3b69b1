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

/*
 * The same, streamed: atomic_open() creates the temporary file, atomic_write()
 * appends (a failure is remembered and reported by commit), atomic_commit()
 * fsyncs, renames over `path` and fsyncs the directory -- or removes the
 * temporary and says why. Every opened file must be committed.
 */
struct atomic_file {
    int fd;
    char *tmp, *path;
    const char *failed;    /* first step that failed, or NULL */
    int saved_errno;
};

int atomic_open(struct atomic_file *af, const char *path, struct strbuf *err);
void atomic_write(struct atomic_file *af, const void *data, size_t len);
int atomic_commit(struct atomic_file *af, struct strbuf *err);

/* fsync a directory (after a rename into it). 0 or -1 (errno set). */
int fsync_dir(const char *dir);

/* Delete a directory of plain files and the directory itself (0 when it is
 * already gone; -1 with errno set when it cannot be removed). */
int remove_flat_dir(const char *dir);

/* Read a whole (small) file. Returns 0 and a malloc'd NUL-terminated buffer the
 * caller frees, or -1 with a message in *err. */
int read_file(const char *path, char **data, size_t *len, struct strbuf *err);

/* mkdir -p, each directory created with mode 0777 less the umask. Returns 0, or
 * -1 with a message in *err. */
int mkdir_p(const char *path, struct strbuf *err);

/* Directory part of path ("." when there is none). Caller frees. */
char *path_dirname(const char *path);
/* Join dir and rel unless rel is absolute. Caller frees. */
char *path_join(const char *dir, const char *rel);
/* Directories below a top that the relative `path` names, by its text (links are
 * not followed): "." and empty components stay, ".." goes up. Returns -1 when it
 * climbs above the top, starting `depth` levels below it. */
int path_depth(const char *path, int depth);

#endif
