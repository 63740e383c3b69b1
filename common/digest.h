/*
 * digest.h - sha256 of files and buffers (OpenSSL libcrypto, streamed).
 *
 * Files are read in fixed-size chunks, never whole into memory, so a
 * multi-gigabyte base model costs 64 KiB of RAM to hash.
 */
#ifndef MAINLINE_DIGEST_H
#define MAINLINE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define SHA256_HEX_LEN 64

struct file_digest {
    char sha256[SHA256_HEX_LEN + 1];   /* lowercase hex */
    int64_t bytes;
    int64_t rows;    /* JSONL only (name ends in .jsonl): non-blank lines; else -1 */
};

/* Hash `path`. Returns 0, or -1 with a message naming the file in *err. */
int digest_file(const char *path, struct file_digest *out, struct strbuf *err);

/* sha256 of a buffer as lowercase hex into out (65 bytes incl. NUL). */
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1]);

/*
 * sha256 of bytes that arrive in pieces (e.g. a stream being written to disk):
 * sha256_begin() returns a context the caller owns, sha256_add() feeds it, and
 * sha256_end() writes the lowercase hex digest into out and frees the context.
 */
struct sha256_stream;
struct sha256_stream *sha256_begin(void);
void sha256_add(struct sha256_stream *s, const void *data, size_t len);
void sha256_end(struct sha256_stream *s, char out[SHA256_HEX_LEN + 1]);

/* 1 if s is 64 hex digits (either case), else 0. */
int is_sha256_hex(const char *s);

#endif
