/*
 * cache.h - the content-addressed cache of fetched files (docs/sources.md).
 *
 * Layout under the root ($MAINLINE_CACHE, else $XDG_CACHE_HOME/mainline, else
 * ~/.cache/mainline):
 *   objects/SHA256/NAME   a verified file, named by its sha256 (NAME keeps the
 *                         extension readers rely on: .jsonl, .safetensors)
 *   unpacked/SHA256/      the tree of the archive whose sha256 is SHA256
 *   urls/KEY.json         index: {"url", "sha256", "bytes", "fetched_at"}, KEY =
 *                         sha256 of the URL, so a second plan does not refetch
 *                         (a URL is found in the cache only through its entry)
 *   partial/KEY           a download in progress (resumed with a Range request)
 *   models/MANIFEST/      a hub model's directory (hf://ORG/MODEL): links to its
 *                         objects under their file names; MANIFEST is the sha256 of
 *                         the sorted (sha256, name) list (model_files.h), so two
 *                         models or revisions never share one unless identical
 * Objects and unpacked trees appear only complete: they are written beside their
 * final name and renamed into place, and never modified afterwards.
 *
 * Errors: int functions return 0 (or 1 where noted), or -1 with a message appended
 * to *err. Ownership: returned char * are malloc'd and the caller's; a struct cache
 * owns its root (cache_free()).
 */
#ifndef MAINLINE_CACHE_H
#define MAINLINE_CACHE_H

#include <stdint.h>

#include "digest.h"
#include "strbuf.h"

struct cache {
    char *root;
};

/* Find the root from the environment and create its directories. */
int cache_open(struct cache *c, struct strbuf *err);
void cache_free(struct cache *c);   /* accepts a zeroed struct */

/*
 * The cached file with this sha256 and name, or NULL when the object is not
 * cached. An object cached under another name is hard-linked to NAME (or, where
 * links fail, returned under that other name).
 */
char *cache_find_object(const struct cache *c, const char *sha256, const char *name);

/*
 * Move the verified file at `from` to objects/SHA256/NAME (fsync the file, rename,
 * fsync the directory) and return the new path in *out.
 */
int cache_place_object(const struct cache *c, const char *from, const char *sha256,
                       const char *name, char **out, struct strbuf *err);

/* The URL index. cache_index_get returns 1 and fills sha256 when the URL was
 * fetched before, 0 when not (a damaged entry counts as absent). */
int cache_index_get(const struct cache *c, const char *url, char sha256[SHA256_HEX_LEN + 1]);
int cache_index_put(const struct cache *c, const char *url, const char *sha256, int64_t bytes,
                    struct strbuf *err);

/* Where a download of `url` is kept while in progress. */
char *cache_partial_path(const struct cache *c, const char *url);
/* unpacked/SHA256: the directory an archive is unpacked into. */
char *cache_unpacked_dir(const struct cache *c, const char *sha256);

struct model_files;
/* models/MANIFEST: where a model directory with that manifest digest is kept. */
char *cache_model_dir(const struct cache *c, const char *manifest_sha256);
/* Assemble models/MANIFEST from the cached objects of m's files (each must be in
 * objects/), complete or not at all, and return its path in *out. */
int cache_place_model_dir(const struct cache *c, const struct model_files *m, char **out,
                          struct strbuf *err);

#endif
