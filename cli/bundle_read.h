/*
 * bundle_read.h - reading and verifying a bundle (bundle_write.h) for `mainline import`.
 *
 * The whole archive is read into memory and checked before anything is written: every
 * entry a regular file (or a directory) under one top directory, no absolute path, no
 * `..`, no link, device, FIFO or socket, no path twice; every file listed in
 * manifest.json with its size and sha256, and every listed file there; registry.json
 * naming the manifest's sweep and runs with the results digests the manifest gives.
 */
#ifndef MAINLINE_BUNDLE_READ_H
#define MAINLINE_BUNDLE_READ_H

#include <jansson.h>

#include "strbuf.h"

struct bundle_entry {
    char *path;              /* below the top directory */
    char *data;
    size_t len;
};

struct bundle_in {
    char *top;               /* the top directory's name */
    struct bundle_entry *files;
    size_t n_files;
    json_t *manifest, *rows;
    char sha256[65];         /* of the archive file */
};

/* Read and verify `path`. Returns 0, or -1 with the reason in *err. Release with
 * bundle_in_free() (which accepts a zeroed struct, and a failed read). */
int bundle_read(const char *path, struct bundle_in *out, struct strbuf *err);
void bundle_in_free(struct bundle_in *b);

/*
 * Check an archive member's name: relative, no `..` (nor `.` or empty) component,
 * under `top` when it is not NULL. Returns 0 with *rel pointing into name past the
 * top directory and its slash ("" for the top itself), or -1 with the reason in *err.
 */
int bundle_member_path(const char *name, const char *top, const char **rel,
                       struct strbuf *err);

/* The entry of `path`, or NULL. */
const struct bundle_entry *bundle_find(const struct bundle_in *b, const char *path);

#endif
