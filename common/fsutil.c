/* fsutil.c - atomic file writes and small path helpers (see fsutil.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* The process umask without changing it: Linux reports it in /proc/self/status
 * ("Umask:\t0022"); elsewhere it can only be read by setting it, which is done
 * once. */
static mode_t process_umask(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned mask = 0;
    int found = 0;
    while (f && !found && fgets(line, sizeof(line), f))
        found = sscanf(line, "Umask: %o", &mask) == 1;
    if (f)
        fclose(f);
    if (!found) {
        mask = umask(022);
        umask((mode_t)mask);
    }
    return (mode_t)mask;
}

/* The mode an ordinary new file gets: mkstemp() makes 0600, but a report or a
 * model written here is meant to be read like any file the user makes. */
static mode_t new_file_mode(void)
{
    static int known;
    static mode_t mode;
    if (!known) {
        mode = 0666 & ~process_umask();
        known = 1;
    }
    return mode;
}

/* fsync the directory holding path so a rename to path survives a power cut. */
static int fsync_parent(const char *path)
{
    char *dir = path_dirname(path);
    int rc = fsync_dir(dir);
    free(dir);
    return rc;
}

int remove_flat_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = path_join(dir, e->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
    return rmdir(dir);
}

int atomic_open(struct atomic_file *af, const char *path, struct strbuf *err)
{
    memset(af, 0, sizeof(*af));
    struct strbuf tmp = STRBUF_INIT;
    sb_addf(&tmp, "%s.tmp-XXXXXX", path);
    af->fd = mkstemp(tmp.buf);
    if (af->fd >= 0 && fchmod(af->fd, new_file_mode()) < 0) {
        close(af->fd);
        unlink(tmp.buf);
        af->fd = -1;
    }
    if (af->fd < 0) {
        sb_addf(err, "cannot create a temporary file beside '%s': %s", path, strerror(errno));
        sb_free(&tmp);
        return -1;
    }
    af->tmp = sb_detach(&tmp);
    af->path = xstrdup(path);
    return 0;
}

void atomic_write(struct atomic_file *af, const void *data, size_t len)
{
    if (!af->failed && write_all(af->fd, data, len) < 0) {
        af->failed = "write";
        af->saved_errno = errno;
    }
}

int atomic_commit(struct atomic_file *af, struct strbuf *err)
{
    if (!af->failed && fsync(af->fd) < 0) {
        af->failed = "fsync";
        af->saved_errno = errno;
    }
    if (close(af->fd) < 0 && !af->failed) {
        af->failed = "close";
        af->saved_errno = errno;
    }
    if (!af->failed && rename(af->tmp, af->path) < 0) {
        af->failed = "rename";
        af->saved_errno = errno;
    }
    int rc = 0;
    if (af->failed) {
        unlink(af->tmp);
        sb_addf(err, "cannot write '%s' (%s): %s", af->path, af->failed,
                strerror(af->saved_errno));
        rc = -1;
    } else {
        fsync_parent(af->path);
    }
    free(af->tmp);
    free(af->path);
    memset(af, 0, sizeof(*af));
    return rc;
}

int write_file_atomic(const char *path, const void *data, size_t len, struct strbuf *err)
{
    struct atomic_file af;
    if (atomic_open(&af, path, err) < 0)
        return -1;
    atomic_write(&af, data, len);
    return atomic_commit(&af, err);
}

int read_file(const char *path, char **data, size_t *len, struct strbuf *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    struct strbuf sb = STRBUF_INIT;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        sb_add(&sb, buf, n);
    int failed = ferror(f);
    int saved = errno;
    fclose(f);
    if (failed) {
        sb_addf(err, "cannot read '%s': %s", path, strerror(saved));
        sb_free(&sb);
        return -1;
    }
    *len = sb.len;
    *data = sb_detach(&sb);
    return 0;
}

char *path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

char *path_join(const char *dir, const char *rel)
{
    if (rel[0] == '/' || !dir[0] || strcmp(dir, ".") == 0)
        return xstrdup(rel);
    struct strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "%s/%s", dir, rel);
    return sb_detach(&sb);
}

int path_depth(const char *path, int depth)
{
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && !strncmp(p, "..", 2)) {
            if (--depth < 0)
                return -1;
        } else if (!(n == 0 || (n == 1 && p[0] == '.'))) {
            depth++;
        }
        p += n + (p[n] == '/');
    }
    return depth;
}

int mkdir_p(const char *path, struct strbuf *err)
{
    if (!*path) {
        sb_adds(err, "cannot create a directory with an empty name");
        return -1;
    }
    char *copy = xstrdup(path);
    int rc = 0;
    for (char *p = copy + 1; rc == 0; p++) {
        int end = *p == '\0';
        if (*p != '/' && !end)
            continue;
        *p = '\0';
        if (mkdir(copy, 0777) < 0 && errno != EEXIST) {
            sb_addf(err, "cannot create directory '%s': %s", copy, strerror(errno));
            rc = -1;
        }
        if (end)
            break;
        *p = '/';
    }
    free(copy);
    return rc;
}
