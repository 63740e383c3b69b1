/*
 * bundle_copy.h - one file from disk into a bundle being written (bundle_write.c),
 * streamed in fixed-size chunks and checked against the sha256 and size an earlier
 * pass recorded in the manifest. The manifest comes first in the archive, so every
 * file is hashed before any is written; a file that changed in between must not
 * reach the archive under a digest it no longer has.
 */
#ifndef MAINLINE_BUNDLE_COPY_H
#define MAINLINE_BUNDLE_COPY_H

#include <archive.h>
#include <stdint.h>
#include <time.h>

#include "digest.h"
#include "strbuf.h"

/* Bytes read and written at a time: the memory a file costs, whatever its size. */
enum { BUNDLE_COPY_CHUNK = 64 * 1024 };

/* The header of a regular file member `member` of `bytes` bytes (mode 0644, `mtime`)
 * written into the open archive `a`. Returns 0, or -1 with a message in *err. */
int bundle_member_header(struct archive *a, const char *member, int64_t bytes, time_t mtime,
                         struct strbuf *err);

/*
 * Write `path` into the open archive `a` as the member `member` (its header says
 * `bytes` and `mtime`), BUNDLE_COPY_CHUNK bytes at a time, hashing what it writes.
 * Returns 0 when the file held exactly `bytes` bytes hashing to `sha256`; else -1
 * with a message naming `path` in *err (it cannot be read, the archive refused it,
 * or it changed since it was hashed). After -1 the archive holds a partial member:
 * the caller must discard it.
 */
int bundle_copy_file(struct archive *a, const char *member, const char *path,
                     const char sha256[SHA256_HEX_LEN + 1], int64_t bytes, time_t mtime,
                     struct strbuf *err);

#endif
