/*
 * ckpt_digest.h - a checkpoint on disk, a file or a directory: its sha256 (which reads
 * every byte) and its size (which reads only the directory entries). Shared by the
 * per-job supervisor, which hashes a finished run's checkpoints where they are
 * (ckpt_digests.h), and the orchestrator, which checks them (ckpt_fate.h).
 */
#ifndef MAINLINE_CKPT_DIGEST_H
#define MAINLINE_CKPT_DIGEST_H

#include <stdint.h>

#include "digest.h"
#include "strbuf.h"

/* sha256 and bytes of a checkpoint on disk: of a file, its contents; of a directory,
 * the sha256 of the text `sha256sum` prints for every regular file below it (sorted
 * by path relative to the directory, "HEX  PATH\n" each) and the files' total bytes.
 * rows is -1. Returns 0, 1 when `path` does not exist, or -1 with a message in err. */
int ckpt_digest(const char *path, struct file_digest *out, struct strbuf *err);

/* The bytes ckpt_digest() would count, from stat() alone. Returns 0, 1 when `path`
 * does not exist, or -1 with a message in err. */
int ckpt_size(const char *path, int64_t *bytes, struct strbuf *err);

#endif
