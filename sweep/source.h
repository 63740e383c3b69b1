/*
 * source.h - turn a sweep source (path, URL, archive member) into a local file
 * that the planner hashes and the jobs read: fetch what is remote into the cache
 * (cache.h, fetch.h), unpack archives (unpack.h), assemble a hub model's
 * directory (hf://ORG/MODEL[@REV]: every file model_files.h names, the index and
 * its shards, as cache.h's models/MANIFEST), and remember what was done within
 * one plan so that a base model named by fifty runs is looked at once.
 *
 * The sha256 pin of a downloaded file (one that is not an archive member) is
 * checked before the file gets its cache name: a mismatching download is deleted
 * and never used. The planner then hashes the local file and checks the pin
 * again, as for any local file; for an archive member, that check is the pin's.
 *
 * Errors: source_resolve returns 0, or -1 with a message appended to *err.
 * Ownership: a struct source_ctx owns its cache and memo (source_ctx_free());
 * the strings in a struct source_file are the caller's (source_file_free()).
 */
#ifndef MAINLINE_SOURCE_H
#define MAINLINE_SOURCE_H

#include "cache.h"
#include "fetch.h"
#include "strbuf.h"
#include "sweep.h"

struct source_memo;

struct source_ctx {
    struct cache cache;          /* opened on first use: local files need no cache */
    int cache_open;
    struct fetch_opts fetch;
    const struct fetch_observer *obs;
    struct source_memo *memo;    /* resolved sources of this plan */
    size_t n_memo;
};

struct source_file {
    char *path;      /* the local file (a directory for hf://ORG/MODEL) */
    char *origin;    /* "URL[#member]" or "/abs/archive#member" as recorded; NULL for a
                      * plain local file */
    int fetched;     /* bytes were downloaded for it just now */
    int64_t fetched_bytes;   /* for a directory: of all the files downloaded */
};

/* `obs` (may be NULL) receives progress and notes. Returns -1 when the fetch
 * settings in the environment are malformed. */
int source_ctx_init(struct source_ctx *ctx, const struct fetch_observer *obs,
                    struct strbuf *err);
void source_ctx_free(struct source_ctx *ctx);   /* accepts a zeroed struct */

int source_resolve(struct source_ctx *ctx, const struct sweep_source *src,
                   struct source_file *out, struct strbuf *err);
void source_file_free(struct source_file *f);

#endif
