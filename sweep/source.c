/* source.c - from a sweep source to a local file: cache, fetch, unpack (see source.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "hf_index.h"
#include "model_files.h"
#include "source.h"
#include "source_url.h"
#include "unpack.h"

struct source_memo {
    char *key;
    struct source_file file;
    char *error;    /* NULL when resolved */
};

int source_ctx_init(struct source_ctx *ctx, const struct fetch_observer *obs,
                    struct strbuf *err)
{
    memset(ctx, 0, sizeof(*ctx));
    if (fetch_opts_from_env(&ctx->fetch, err) < 0)
        return -1;
    ctx->obs = obs;
    ctx->fetch.obs = obs;
    return 0;
}

void source_file_free(struct source_file *f)
{
    free(f->path);
    free(f->origin);
    memset(f, 0, sizeof(*f));
}

void source_ctx_free(struct source_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n_memo; i++) {
        free(ctx->memo[i].key);
        source_file_free(&ctx->memo[i].file);
        free(ctx->memo[i].error);
    }
    free(ctx->memo);
    cache_free(&ctx->cache);
    memset(ctx, 0, sizeof(*ctx));
}

static int ensure_cache(struct source_ctx *ctx, struct strbuf *err)
{
    if (ctx->cache_open)
        return 0;
    if (cache_open(&ctx->cache, err) < 0)
        return -1;
    ctx->cache_open = 1;
    return 0;
}

/* ---- downloads ---- */

/* The download is complete: check the pin, then give it its cache name. */
static int verify_and_place(struct source_ctx *ctx, const struct surl *u, const char *pin,
                            const char *partial, char **path, struct strbuf *err)
{
    struct file_digest d;
    if (digest_file(partial, &d, err) < 0)
        return -1;
    if (pin && strcmp(pin, d.sha256) != 0) {
        unlink(partial);
        fetch_forget_partial(partial);
        sb_addf(err, "sha256 mismatch for '%s': the sweep pins %s but the download has %s "
                "(the download was deleted)", u->fetch, pin, d.sha256);
        return -1;
    }
    if (cache_place_object(&ctx->cache, partial, d.sha256, u->name, path, err) < 0)
        return -1;
    return cache_index_put(&ctx->cache, u->fetch, d.sha256, d.bytes, err);
}

/* 0 done, 1 another process placed it meanwhile (look again), -1 failed (*status:
 * the last HTTP status, 0 when there was none). */
static int download(struct source_ctx *ctx, const struct surl *u, const char *pin,
                    const struct fetch_opts *opts, char **path, struct source_file *f,
                    long *status, struct strbuf *err)
{
    char *partial = cache_partial_path(&ctx->cache, u->fetch);
    int fd;
    int rc = fetch_open_partial(partial, &fd, err);
    if (rc != 0) {
        free(partial);
        return rc;
    }
    struct fetch_result res;
    rc = fetch_file(u->fetch, u->name, fd, partial, opts, &res, err);
    *status = res.http_status;
    if (rc == 0)
        rc = verify_and_place(ctx, u, pin, partial, path, err);
    if (rc == 0) {
        f->fetched = 1;
        f->fetched_bytes = res.bytes;
    }
    struct stat st;
    if (rc < 0 && fstat(fd, &st) == 0 && st.st_size == 0) {
        unlink(partial);   /* nothing worth resuming (a 404, a refused connection) */
        fetch_forget_partial(partial);
    }
    close(fd);   /* the lock goes with it, after the file was placed or deleted */
    free(partial);
    return rc;
}

/*
 * An http(s) file in the cache when the URL index says this URL gave those bytes
 * (and they match the pin, if any), else downloaded now. Found by URL, never by
 * the pin alone: a pin that names some other cached file must still fail against
 * what this URL serves. A pinned URL whose indexed digest differs from the pin
 * is fetched again: the server may have the pinned bytes by now. `fresh` skips
 * the index on the first round (a model directory whose pin its files miss).
 * *status (may be NULL) gets the HTTP status of a failed download.
 */
static int fetch_cached(struct source_ctx *ctx, const struct surl *u, const char *pin,
                        int fresh, const struct fetch_opts *opts, char **path,
                        struct source_file *f, long *status, struct strbuf *err)
{
    long ignored;
    if (ensure_cache(ctx, err) < 0)
        return -1;
    for (int round = 0; round < 3; round++) {
        char sha[SHA256_HEX_LEN + 1];
        if (!(fresh && round == 0) && cache_index_get(&ctx->cache, u->fetch, sha) &&
            (!pin || !strcmp(sha, pin)) &&
            (*path = cache_find_object(&ctx->cache, sha, u->name)) != NULL)
            return 0;
        int rc = download(ctx, u, pin, opts, path, f, status ? status : &ignored, err);
        if (rc != 1)
            return rc;
    }
    sb_addf(err, "cannot fetch '%s': other processes keep replacing the download", u->fetch);
    return -1;
}

/* ---- a model's directory on the hub ---- */

/*
 * One file of the directory into the cache, added to m. Returns 0, 1 when it is
 * optional and the hub has no such file (HTTP 404), or -1.
 */
static int fetch_dir_file(struct source_ctx *ctx, const struct surl *dir, const char *name,
                          int optional, int fresh, const struct fetch_opts *opts,
                          struct model_files *m, struct source_file *f, struct strbuf *err)
{
    struct surl u = { SURL_HTTP, surl_dir_file(dir, name), xstrdup(name) };
    struct source_file got = { 0 };
    struct strbuf why = STRBUF_INIT;
    char *path = NULL, sha[SHA256_HEX_LEN + 1];
    long status = 0;
    struct stat st;
    int rc = fetch_cached(ctx, &u, NULL, fresh, opts, &path, &got, &status, &why);
    if (rc < 0 && optional && status == 404) {
        rc = 1;
    } else if (rc < 0) {
        sb_addf(err, "the model directory needs %s: %s", name, why.buf);
    } else if (!cache_index_get(&ctx->cache, u.fetch, sha) || stat(path, &st) < 0) {
        sb_addf(err, "'%s': the cache lost it while the plan ran", u.fetch);
        rc = -1;
    } else {
        model_files_add(m, name, sha, (int64_t)st.st_size);
        f->fetched |= got.fetched;
        f->fetched_bytes += got.fetched_bytes;
    }
    free(path);
    sb_free(&why);
    surl_free(&u);
    return rc;
}

/* The weights: the index and every shard it names, else model.safetensors. */
static int fetch_dir_weights(struct source_ctx *ctx, const struct surl *dir, int fresh,
                             const struct fetch_opts *opts, struct model_files *m,
                             struct source_file *f, struct strbuf *err)
{
    int rc = fetch_dir_file(ctx, dir, HF_INDEX_NAME, 1, fresh, opts, m, f, err);
    if (rc == 1)
        return fetch_dir_file(ctx, dir, "model.safetensors", 0, fresh, opts, m, f, err) < 0
                   ? -1 : 0;
    if (rc < 0)
        return -1;
    char sha[SHA256_HEX_LEN + 1];
    char *url = surl_dir_file(dir, HF_INDEX_NAME);
    char *index = cache_index_get(&ctx->cache, url, sha)
                      ? cache_find_object(&ctx->cache, sha, HF_INDEX_NAME) : NULL;
    free(url);
    struct hf_index ix = { 0 };
    rc = index ? hf_index_load(index, &ix, err) : -1;
    if (!index)
        sb_addf(err, "%s: the cache lost it while the plan ran", HF_INDEX_NAME);
    for (size_t i = 0; rc == 0 && i < ix.n_shards; i++)
        rc = fetch_dir_file(ctx, dir, ix.shards[i], 0, fresh, opts, m, f, err);
    hf_index_free(&ix);
    free(index);
    return rc;
}

/*
 * hf://ORG/MODEL[@REV]: every file of the directory through the cache, assembled
 * as models/MANIFEST. The directory's URL is indexed to its manifest digest, so a
 * later plan finds it without the network, as for a single file; a pin is the
 * manifest's digest, and a pin the indexed manifest misses fetches every file again.
 */
static int fetch_model_dir(struct source_ctx *ctx, const struct surl *dir, const char *pin,
                           const struct fetch_opts *opts, char **path, struct source_file *f,
                           struct strbuf *err)
{
    char sha[SHA256_HEX_LEN + 1];
    struct stat st;
    if (ensure_cache(ctx, err) < 0)
        return -1;
    int indexed = cache_index_get(&ctx->cache, dir->fetch, sha);
    if (indexed && (!pin || !strcmp(pin, sha))) {
        *path = cache_model_dir(&ctx->cache, sha);
        if (stat(*path, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        free(*path);
        *path = NULL;
    }
    int fresh = indexed && pin && strcmp(pin, sha) != 0;
    struct model_files m = { 0 };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < MODEL_FILES_N_NAMES; i++)
        rc = fetch_dir_file(ctx, dir, model_files_names[i], i >= MODEL_FILES_REQUIRED, fresh,
                            opts, &m, f, err) < 0 ? -1 : 0;
    if (rc == 0)
        rc = fetch_dir_weights(ctx, dir, fresh, opts, &m, f, err);
    if (rc == 0) {
        model_files_seal(&m);
        if (pin && strcmp(pin, m.manifest_sha256) != 0) {
            sb_addf(err, "sha256 mismatch for '%s': the sweep pins %s but the directory's "
                    "manifest has %s", dir->fetch, pin, m.manifest_sha256);
            rc = -1;
        }
    }
    if (rc == 0)
        rc = cache_place_model_dir(&ctx->cache, &m, path, err);
    if (rc == 0)
        rc = cache_index_put(&ctx->cache, dir->fetch, m.manifest_sha256, m.bytes, err);
    model_files_free(&m);
    return rc;
}

/* ---- archives ---- */

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Unpack the archive once (into unpacked/SHA256) and find the member in it. */
static int open_member(struct source_ctx *ctx, const char *archive, const char *member,
                       char **out, struct strbuf *err)
{
    struct file_digest d;
    if (ensure_cache(ctx, err) < 0 || digest_file(archive, &d, err) < 0)
        return -1;
    char *dir = cache_unpacked_dir(&ctx->cache, d.sha256);
    int rc = is_dir(dir) ? 0 : unpack_archive(archive, dir, err);
    if (rc == 0) {
        struct strbuf why = STRBUF_INIT;
        rc = unpack_member(dir, member, out, &why);
        if (rc < 0)
            sb_addf(err, "archive '%s': %s", archive, why.buf);
        sb_free(&why);
    }
    free(dir);
    return rc;
}

/* ---- resolution ---- */

static char *origin_text(const struct sweep_source *src, const char *file)
{
    if (!src->url && !src->member)
        return NULL;
    struct strbuf sb = STRBUF_INIT;
    char *abs = src->url ? NULL : realpath(file, NULL);
    sb_adds(&sb, src->url ? src->url : abs ? abs : file);
    free(abs);
    if (src->member)
        sb_addf(&sb, "#%s", src->member);
    return sb_detach(&sb);
}

/* The file the URL or path names, before any archive member is looked up. */
static int locate(struct source_ctx *ctx, const struct sweep_source *src, char **file,
                  struct source_file *f, struct strbuf *err)
{
    if (!src->url) {
        *file = xstrdup(src->resolved);
        return 0;
    }
    struct surl u;
    if (surl_parse(src->url, getenv("HF_ENDPOINT"), &u, err) < 0)
        return -1;
    int rc = 0;
    /* A Hugging Face token goes to the hub only, never to other hosts. */
    struct fetch_opts opts = ctx->fetch;
    if (!strncmp(src->url, "hf://", 5))
        opts.bearer_token = getenv("HF_TOKEN");
    if (u.kind == SURL_LOCAL) {
        *file = xstrdup(u.fetch);
    } else if (u.kind == SURL_HF_MODEL_DIR && src->member) {
        sb_addf(err, "'%s': a model directory has no archive member", src->url);
        rc = -1;
    } else if (u.kind == SURL_HF_MODEL_DIR) {
        rc = fetch_model_dir(ctx, &u, src->sha256_pin, &opts, file, f, err);
    } else {
        /* The pin is the member's when there is one: the archive is unpinned. */
        rc = fetch_cached(ctx, &u, src->member ? NULL : src->sha256_pin, 0, &opts, file, f,
                          NULL, err);
    }
    surl_free(&u);
    return rc;
}

static int resolve_now(struct source_ctx *ctx, const struct sweep_source *src,
                       struct source_file *f, struct strbuf *err)
{
    char *file = NULL;
    if (locate(ctx, src, &file, f, err) < 0)
        return -1;
    f->origin = origin_text(src, file);
    if (!src->member) {
        f->path = file;
        return 0;
    }
    int rc = open_member(ctx, file, src->member, &f->path, err);
    free(file);
    return rc;
}

static void copy_file(struct source_file *to, const struct source_file *from)
{
    to->path = from->path ? xstrdup(from->path) : NULL;
    to->origin = from->origin ? xstrdup(from->origin) : NULL;
    to->fetched = from->fetched;
    to->fetched_bytes = from->fetched_bytes;
}

int source_resolve(struct source_ctx *ctx, const struct sweep_source *src,
                   struct source_file *out, struct strbuf *err)
{
    memset(out, 0, sizeof(*out));
    struct strbuf key = STRBUF_INIT;
    sb_addf(&key, "%s\n%s\n%s\n%s", src->url ? src->url : "", src->resolved ? src->resolved : "",
            src->member ? src->member : "", src->sha256_pin ? src->sha256_pin : "");
    for (size_t i = 0; i < ctx->n_memo; i++) {
        const struct source_memo *m = &ctx->memo[i];
        if (strcmp(m->key, key.buf) != 0)
            continue;
        sb_free(&key);
        if (m->error) {
            sb_adds(err, m->error);
            return -1;
        }
        copy_file(out, &m->file);
        out->fetched = 0;   /* reported once, by the first resolution */
        return 0;
    }
    struct source_file f = { 0 };
    struct strbuf why = STRBUF_INIT;
    int rc = resolve_now(ctx, src, &f, &why);
    ctx->memo = xrealloc(ctx->memo, (ctx->n_memo + 1) * sizeof(*ctx->memo));
    struct source_memo *m = &ctx->memo[ctx->n_memo++];
    m->key = sb_detach(&key);
    m->error = rc < 0 ? xstrdup(why.buf) : NULL;
    m->file = f;
    if (rc < 0)
        sb_adds(err, why.buf);
    else
        copy_file(out, &f);
    sb_free(&why);
    return rc;
}
