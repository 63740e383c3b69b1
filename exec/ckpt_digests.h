/*
 * ckpt_digests.h - `checkpoints.sha256` (JOB_FILE_CKPT_DIGESTS), the digests of a finished
 * run's checkpoints, computed by the job's supervisor on the job's node before it writes
 * exit.json, so that the orchestrator records what was kept without reading the
 * checkpoints in its loop (docs/protocol.md).
 *
 * One line per checkpoint still on disk: "HEX  BYTES  PATH\n", HEX its sha256 as
 * ckpt_digest() computes it, BYTES its size, PATH the `path` of its `checkpoint` event
 * exactly as the trainer wrote it in metrics.jsonl. A checkpoint gone is not listed.
 *
 * Errors: -1 with a message in err (a bad line as file:line:column). Nothing prints.
 * Ownership: ckpt_digests_read() fills *out, which the caller frees with
 * ckpt_digests_free(); ckpt_digests_find() returns an entry borrowed from it.
 */
#ifndef MAINLINE_CKPT_DIGESTS_H
#define MAINLINE_CKPT_DIGESTS_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "strbuf.h"

struct ckpt_digest_entry {
    char *path;                        /* as in the checkpoint event */
    char sha256[SHA256_HEX_LEN + 1];
    int64_t bytes;
};

struct ckpt_digests {
    struct ckpt_digest_entry *v;
    size_t n, alloc;
};

/* Hash every checkpoint that dir/metrics.jsonl names and that still exists (each path
 * once; relative paths below dir) and write dir/checkpoints.sha256 atomically (empty
 * without metrics.jsonl). A
 * checkpoint that cannot be read is left out (the orchestrator then looks itself) and
 * said in err; the file is written all the same. Returns 0, or -1 when the metrics or
 * the file could not be read or written. */
int ckpt_digests_write(const char *dir, struct strbuf *err);

/* Read dir/checkpoints.sha256 into *out. Returns 0, 1 when there is none (*out empty),
 * or -1. */
int ckpt_digests_read(const char *dir, struct ckpt_digests *out, struct strbuf *err);

/* The entry of `path` (compared as text), or NULL. */
const struct ckpt_digest_entry *ckpt_digests_find(const struct ckpt_digests *d,
                                                  const char *path);

void ckpt_digests_free(struct ckpt_digests *d);

#endif
