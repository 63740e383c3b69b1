/* ckpt_fate.c - kept or deleted, and the sha256 of what was kept (see ckpt_fate.h). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ckpt_fate.h"
#include "fsutil.h"

/* Every regular file below dir, as paths relative to root's directory ("a/b"). */
static int list_files(const char *dir, const char *rel, char ***names, size_t *n,
                      size_t *alloc, struct strbuf *err)
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
            rc = list_files(path, name.buf, names, n, alloc, err);
        } else if (S_ISREG(st.st_mode)) {
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
    int rc = list_files(path, "", &names, &n, &alloc, err);
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

int ckpt_digest(const char *path, struct file_digest *out, struct strbuf *err)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno == ENOENT)
            return 1;
        sb_addf(err, "cannot stat '%s': %s", path, strerror(errno));
        return -1;
    }
    int rc = S_ISDIR(st.st_mode) ? digest_dir(path, out, err) : digest_file(path, out, err);
    out->rows = -1;
    return rc;
}

enum reg_status ckpt_fate_record(struct registry *reg, int64_t run, const char *run_dir,
                                 struct strbuf *err)
{
    struct reg_ckpt_file *files;
    size_t n;
    enum reg_status st = reg_run_unsettled_checkpoints(reg, run, &files, &n);
    if (st != REG_OK || n == 0) {
        reg_ckpt_files_free(files, n);
        return st;
    }
    struct reg_ckpt_fate *fates = xcalloc(n, sizeof(*fates));
    struct file_digest *digests = xcalloc(n, sizeof(*digests));
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        char *path = files[i].path[0] == '/' ? xstrdup(files[i].path)
                                              : path_join(run_dir, files[i].path);
        int rc = ckpt_digest(path, &digests[m], err);
        free(path);
        if (rc < 0)
            continue;   /* unreadable: neither kept nor deleted for sure */
        fates[m].id = files[i].id;
        fates[m].kept = rc == 0;
        fates[m].sha256 = digests[m].sha256;
        fates[m].bytes = digests[m].bytes;
        m++;
    }
    st = reg_checkpoints_settle(reg, fates, m);
    free(digests);
    free(fates);
    reg_ckpt_files_free(files, n);
    return st;
}
