/*
 * unpack.h - unpack an archive (.tar.gz, .tar.zst, .tar.xz, .tar, .zip; libarchive
 * detects the format) into a new directory, refusing anything that could write or
 * point outside it.
 *
 * Refused, with a message naming the archive and the entry: absolute paths, ".."
 * components, symbolic links whose target is absolute or leaves the directory,
 * hard links to such paths, and entries that are neither files, directories nor
 * links (devices, fifos, sockets). Every entry is checked before it is written;
 * extraction goes to a temporary directory beside `dest`, renamed into place when
 * complete and removed on any failure: `dest` appears whole or not at all.
 *
 * Errors: functions return 0, or -1 with a message appended to *err.
 * Ownership: nothing is returned that needs freeing.
 */
#ifndef MAINLINE_UNPACK_H
#define MAINLINE_UNPACK_H

#include "strbuf.h"

/* Extract `archive` into `dest`, which must not exist yet. When another
 * process created `dest` meanwhile, that complete copy is kept and 0 is returned. */
int unpack_archive(const char *archive, const char *dest, struct strbuf *err);

/*
 * `member` (a relative path) inside the unpacked tree `dir`: a regular file whose
 * real path, links followed, is still inside `dir`. Returns 0 and the path in
 * *out (the caller frees it), or -1 with the reason in *err.
 */
int unpack_member(const char *dir, const char *member, char **out, struct strbuf *err);

#endif
