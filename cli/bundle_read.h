/*
 * bundle_read.h - reading and verifying a bundle (bundle_write.h) for `mainline import`.
 *
 * The archive is read once, as a stream, and never held in memory: manifest.json must
 * be its first member (bundle_write puts it there) and is the only one parsed before
 * the rest, so every later member is bounded by the size the manifest gives it (and
 * the bundle is refused at once when those sizes add up to more than the staging
 * directory's filesystem has free). Each
 * member must be a regular file (or a directory) under one top directory, with no
 * absolute path, no `..`, no link, device, FIFO or socket, no path twice, listed in the
 * manifest with the size its header declares; it is written to the staging directory
 * as it is read, hashed on the way, fsynced, and refused the moment it holds more
 * bytes than the manifest says or when its sha256 differs. manifest.json and
 * registry.json, the JSON the import parses, are read into memory instead, at most
 * BUNDLE_JSON_MAX bytes each. At the end every listed file must have come, and
 * registry.json must name the manifest's sweep and runs with the results digests the
 * manifest gives.
 */
#ifndef MAINLINE_BUNDLE_READ_H
#define MAINLINE_BUNDLE_READ_H

#include <jansson.h>
#include <stdint.h>

#include "strbuf.h"

/* The most a JSON member read into memory (manifest.json, registry.json) may hold. */
#define BUNDLE_JSON_MAX (256 << 20)

struct bundle_entry {
    char *path;              /* below the top directory */
    int64_t bytes;
    char sha256[65];
};

struct bundle_in {
    char *top;               /* the top directory's name */
    struct bundle_entry *files;   /* every member but manifest.json, in archive order */
    size_t n_files;
    json_t *manifest, *rows;
    char sha256[65];         /* of the archive file */
};

/*
 * Read and verify `path`, writing every member but manifest.json and registry.json
 * to stage/PATH (PATH below the top directory; `stage` is an existing empty directory
 * the caller owns and removes, also after a failure, which may leave files there).
 * Returns 0, or -1 with the reason in *err. Release with bundle_in_free() (which
 * accepts a zeroed struct, and a failed read).
 */
int bundle_read(const char *path, const char *stage, struct bundle_in *out,
                struct strbuf *err);
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
