/* cache.c - layout, URL index and atomic placement of the fetch cache (see cache.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cache.h"
#include "fsutil.h"
#include "model_files.h"

static const char *const cache_subdirs[] = { "objects", "unpacked", "urls", "partial", "models" };

static char *default_root(void)
{
    const char *env = getenv("MAINLINE_CACHE");
    struct strbuf sb = STRBUF_INIT;
    if (env && *env)
        sb_adds(&sb, env);
    else if (getenv("XDG_CACHE_HOME") && *getenv("XDG_CACHE_HOME"))
        sb_addf(&sb, "%s/mainline", getenv("XDG_CACHE_HOME"));
    else if (getenv("HOME") && *getenv("HOME"))
        sb_addf(&sb, "%s/.cache/mainline", getenv("HOME"));
    else
        return NULL;
    return sb_detach(&sb);
}

int cache_open(struct cache *c, struct strbuf *err)
{
    memset(c, 0, sizeof(*c));
    c->root = default_root();
    if (!c->root) {
        sb_adds(err, "no cache directory: set MAINLINE_CACHE (or HOME)");
        return -1;
    }
    for (size_t i = 0; i < sizeof(cache_subdirs) / sizeof(cache_subdirs[0]); i++) {
        struct strbuf dir = STRBUF_INIT;
        sb_addf(&dir, "%s/%s", c->root, cache_subdirs[i]);
        int rc = mkdir_p(dir.buf, err);
        sb_free(&dir);
        if (rc < 0) {
            cache_free(c);
            return -1;
        }
    }
    return 0;
}

void cache_free(struct cache *c)
{
    free(c->root);
    memset(c, 0, sizeof(*c));
}

static char *cache_path(const struct cache *c, const char *sub, const char *a, const char *b)
{
    struct strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "%s/%s/%s", c->root, sub, a);
    if (b)
        sb_addf(&sb, "/%s", b);
    return sb_detach(&sb);
}

static int is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Any complete file in objects/SHA (temporary names start with '.'). */
static char *any_object_name(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char *found = NULL;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        struct strbuf sb = STRBUF_INIT;
        sb_addf(&sb, "%s/%s", dir, e->d_name);
        if (is_regular(sb.buf))
            found = sb_detach(&sb);
        sb_free(&sb);
    }
    closedir(d);
    return found;
}

char *cache_find_object(const struct cache *c, const char *sha256, const char *name)
{
    char *path = cache_path(c, "objects", sha256, name);
    if (is_regular(path))
        return path;
    char *dir = cache_path(c, "objects", sha256, NULL);
    char *other = any_object_name(dir);
    free(dir);
    if (!other) {
        free(path);
        return NULL;
    }
    if (link(other, path) == 0 || errno == EEXIST) {
        free(other);
        return path;
    }
    free(path);
    return other;
}

static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int cache_place_object(const struct cache *c, const char *from, const char *sha256,
                       const char *name, char **out, struct strbuf *err)
{
    char *dir = cache_path(c, "objects", sha256, NULL);
    char *path = cache_path(c, "objects", sha256, name);
    int rc = mkdir_p(dir, err);
    if (rc == 0 && fsync_path(from, O_RDONLY) < 0) {
        sb_addf(err, "cannot fsync '%s': %s", from, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && rename(from, path) < 0) {
        sb_addf(err, "cannot move '%s' to '%s': %s", from, path, strerror(errno));
        rc = -1;
    }
    if (rc == 0)
        fsync_path(dir, O_RDONLY | O_DIRECTORY);
    free(dir);
    if (rc < 0)
        free(path);
    else
        *out = path;
    return rc;
}

static char *url_key(const char *url)
{
    char key[SHA256_HEX_LEN + 1];
    sha256_hex(url, strlen(url), key);
    return xstrdup(key);
}

static char *index_path(const struct cache *c, const char *url)
{
    char *key = url_key(url);
    struct strbuf name = STRBUF_INIT;
    sb_addf(&name, "%s.json", key);
    char *path = cache_path(c, "urls", name.buf, NULL);
    sb_free(&name);
    free(key);
    return path;
}

int cache_index_get(const struct cache *c, const char *url, char sha256[SHA256_HEX_LEN + 1])
{
    char *path = index_path(c, url);
    json_t *doc = json_load_file(path, 0, NULL);
    free(path);
    const char *got_url = json_string_value(json_object_get(doc, "url"));
    const char *sha = json_string_value(json_object_get(doc, "sha256"));
    int found = got_url && !strcmp(got_url, url) && sha && is_sha256_hex(sha);
    if (found)
        memcpy(sha256, sha, SHA256_HEX_LEN + 1);
    json_decref(doc);
    return found;
}

int cache_index_put(const struct cache *c, const char *url, const char *sha256, int64_t bytes,
                    struct strbuf *err)
{
    char when[32];
    time_t now = time(NULL);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    json_t *doc = json_pack("{s:s,s:s,s:I,s:s}", "url", url, "sha256", sha256, "bytes",
                            (json_int_t)bytes, "fetched_at", when);
    char *text = json_dumps(doc, JSON_SORT_KEYS);
    char *path = index_path(c, url);
    struct strbuf body = STRBUF_INIT;
    sb_addf(&body, "%s\n", text);
    int rc = write_file_atomic(path, body.buf, body.len, err);
    sb_free(&body);
    free(path);
    free(text);
    json_decref(doc);
    return rc;
}

char *cache_partial_path(const struct cache *c, const char *url)
{
    char *key = url_key(url);
    char *path = cache_path(c, "partial", key, NULL);
    free(key);
    return path;
}

char *cache_unpacked_dir(const struct cache *c, const char *sha256)
{
    return cache_path(c, "unpacked", sha256, NULL);
}

char *cache_model_dir(const struct cache *c, const char *manifest_sha256)
{
    return cache_path(c, "models", manifest_sha256, NULL);
}

/* dir/NAME as a hard link to the object (a symbolic link where links fail). */
static int link_object(const struct cache *c, const struct model_file *f, const char *dir,
                       struct strbuf *err)
{
    char *obj = cache_find_object(c, f->sha256, f->name);
    if (!obj) {
        sb_addf(err, "'%s' (sha256 %s) is not in the cache", f->name, f->sha256);
        return -1;
    }
    char *to = path_join(dir, f->name);
    int rc = link(obj, to) == 0 || symlink(obj, to) == 0 ? 0 : -1;
    if (rc < 0)
        sb_addf(err, "cannot link '%s' to '%s': %s", obj, to, strerror(errno));
    free(to);
    free(obj);
    return rc;
}

int cache_place_model_dir(const struct cache *c, const struct model_files *m, char **out,
                          struct strbuf *err)
{
    char *dest = cache_model_dir(c, m->manifest_sha256);
    struct stat st;
    if (stat(dest, &st) == 0 && S_ISDIR(st.st_mode)) {
        *out = dest;
        return 0;
    }
    struct strbuf tmp = STRBUF_INIT;
    sb_addf(&tmp, "%s.tmp-XXXXXX", dest);
    int rc = mkdtemp(tmp.buf) ? 0 : -1;
    if (rc < 0)
        sb_addf(err, "cannot create a directory beside '%s': %s", dest, strerror(errno));
    for (size_t i = 0; rc == 0 && i < m->n; i++)
        rc = link_object(c, &m->v[i], tmp.buf, err);
    if (rc == 0)
        fsync_dir(tmp.buf);
    if (rc == 0 && rename(tmp.buf, dest) < 0 && errno != EEXIST && errno != ENOTEMPTY) {
        sb_addf(err, "cannot move '%s' to '%s': %s", tmp.buf, dest, strerror(errno));
        rc = -1;
    }
    if (rc == 0) {
        char *parent = path_dirname(dest);
        fsync_dir(parent);
        free(parent);
    }
    /* Removed after a failure, or when another process placed `dest` first. */
    if (stat(tmp.buf, &st) == 0)
        remove_flat_dir(tmp.buf);
    sb_free(&tmp);
    if (rc < 0)
        free(dest);
    else
        *out = dest;
    return rc;
}
