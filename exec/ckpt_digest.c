/* ckpt_digest.c - a checkpoint's sha256 and size on disk (see ckpt_digest.h). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ckpt_digest.h"
#include "fsutil.h"

/* Every regular file below dir, as paths relative to root's directory ("a/b"); their
 * sizes added to *bytes. */
static int list_files(const char *dir, const char *rel, char ***names, size_t *n,
                      size_t *alloc, int64_t *bytes, struct strbuf *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        sb_addf(err, "cannot read '%s': %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *path = path_join(dir, e->d_name);
        struct strbuf name = STRBUF_INIT;
        sb_addf(&name, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        struct stat st;
        if (lstat(path, &st) < 0) {
            sb_addf(err, "cannot stat '%s': %s", path, strerror(errno));
            rc = -1;
        } else if (S_ISDIR(st.st_mode)) {
            rc = list_files(path, name.buf, names, n, alloc, bytes, err);
        } else if (S_ISREG(st.st_mode)) {
            *bytes += st.st_size;
            *names = xgrow(*names, *n + 1, alloc, sizeof(**names));
            (*names)[(*n)++] = sb_detach(&name);
        }
        sb_free(&name);
        free(path);
    }
    closedir(d);
    return rc;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int digest_dir(const char *path, struct file_digest *out, struct strbuf *err)
{
    char **names = NULL;
    size_t n = 0, alloc = 0;
    int64_t listed = 0;
    int rc = list_files(path, "", &names, &n, &alloc, &listed, err);
    if (rc == 0)
        qsort(names, n, sizeof(*names), cmp_name);
    struct strbuf listing = STRBUF_INIT;
    out->bytes = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *file = path_join(path, names[i]);
        struct file_digest d;
        rc = digest_file(file, &d, err);
        if (rc == 0) {
            sb_addf(&listing, "%s  %s\n", d.sha256, names[i]);
            out->bytes += d.bytes;
        }
        free(file);
    }
    if (rc == 0)
        sha256_hex(listing.buf ? listing.buf : "", listing.len, out->sha256);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    sb_free(&listing);
    return rc;
}

/* 0 and *st, 1 when path does not exist, or -1. */
static int stat_ckpt(const char *path, struct stat *st, struct strbuf *err)
{
    if (stat(path, st) == 0)
        return 0;
    if (errno == ENOENT)
        return 1;
    sb_addf(err, "cannot stat '%s': %s", path, strerror(errno));
    return -1;
}

int ckpt_digest(const char *path, struct file_digest *out, struct strbuf *err)
{
    struct stat st;
    int rc = stat_ckpt(path, &st, err);
    if (rc != 0)
        return rc;
    rc = S_ISDIR(st.st_mode) ? digest_dir(path, out, err) : digest_file(path, out, err);
    out->rows = -1;
    return rc;
}

int ckpt_size(const char *path, int64_t *bytes, struct strbuf *err)
{
    struct stat st;
    int rc = stat_ckpt(path, &st, err);
    if (rc != 0)
        return rc;
    if (!S_ISDIR(st.st_mode)) {
        *bytes = st.st_size;
        return 0;
    }
    char **names = NULL;
    size_t n = 0, alloc = 0;
    *bytes = 0;
    rc = list_files(path, "", &names, &n, &alloc, bytes, err);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}
