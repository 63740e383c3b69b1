/* source.c - from a sweep source to a local file: cache, fetch, unpack (see source.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
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

/* 0 done, 1 another process placed it meanwhile (look again), -1 failed. */
static int download(struct source_ctx *ctx, const struct surl *u, const char *pin,
                    const struct fetch_opts *opts, char **path, struct source_file *f,
                    struct strbuf *err)
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
 * is fetched again: the server may have the pinned bytes by now.
 */
static int fetch_cached(struct source_ctx *ctx, const struct surl *u, const char *pin,
                        const struct fetch_opts *opts, char **path, struct source_file *f,
                        struct strbuf *err)
{
    if (ensure_cache(ctx, err) < 0)
        return -1;
    for (int round = 0; round < 3; round++) {
        char sha[SHA256_HEX_LEN + 1];
        if (cache_index_get(&ctx->cache, u->fetch, sha) && (!pin || !strcmp(sha, pin)) &&
            (*path = cache_find_object(&ctx->cache, sha, u->name)) != NULL)
            return 0;
        int rc = download(ctx, u, pin, opts, path, f, err);
        if (rc != 1)
            return rc;
    }
    sb_addf(err, "cannot fetch '%s': other processes keep replacing the download", u->fetch);
    return -1;
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
    if (u.kind == SURL_LOCAL) {
        *file = xstrdup(u.fetch);
    } else {
        /* A Hugging Face token goes to the hub only, never to other hosts. */
        struct fetch_opts opts = ctx->fetch;
        if (!strncmp(src->url, "hf://", 5))
            opts.bearer_token = getenv("HF_TOKEN");
        /* The pin is the member's when there is one: the archive is unpinned. */
        rc = fetch_cached(ctx, &u, src->member ? NULL : src->sha256_pin, &opts, file, f, err);
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
