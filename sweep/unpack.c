/* unpack.c - safe archive extraction with libarchive (see unpack.h). */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "fsutil.h"
#include "source_url.h"
#include "unpack.h"

/* ---- the rules ---- */

static int has_dotdot(const char *path)
{
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && !strncmp(p, "..", 2))
            return 1;
        p += n + (p[n] == '/');
    }
    return 0;
}

/* An entry's own name (or a hard link's target): relative, without "..". */
static const char *bad_name(const char *name)
{
    if (!name || !*name)
        return "an empty name is refused";
    if (name[0] == '/')
        return "absolute paths are refused";
    if (has_dotdot(name))
        return "'..' components are refused";
    return NULL;
}

/* A symbolic link's target, relative to the link's directory, must stay inside. */
static const char *bad_symlink(const char *name, const char *target)
{
    if (!target || !*target)
        return "a symbolic link without a target is refused";
    if (target[0] == '/')
        return "a symbolic link to an absolute path is refused";
    int depth = path_depth(name, 0);
    /* The link itself is the last component of its name: start from its directory. */
    depth = depth > 0 ? depth - 1 : 0;
    if (path_depth(target, depth) < 0)
        return "a symbolic link that points outside the archive's directory is refused";
    return NULL;
}

static const char *bad_entry(struct archive_entry *e)
{
    const char *name = archive_entry_pathname(e);
    const char *why = bad_name(name);
    if (why)
        return why;
    const char *hard = archive_entry_hardlink(e);
    if (hard)
        return bad_name(hard) ? "a hard link to a path outside the archive's directory is refused"
                              : NULL;
    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
    case AE_IFDIR:
        return NULL;
    case AE_IFLNK:
        return bad_symlink(name, archive_entry_symlink(e));
    default:
        return "only files, directories and links are allowed (a device, fifo or socket)";
    }
}

/* ---- extraction ---- */

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *prefixed(const char *dir, const char *path)
{
    struct strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "%s/%s", dir, path);
    return sb_detach(&sb);
}

/* Rewrite the entry's names to live under `dir`. */
static void relocate(struct archive_entry *e, const char *dir)
{
    char *name = prefixed(dir, archive_entry_pathname(e));
    archive_entry_set_pathname(e, name);
    free(name);
    if (archive_entry_hardlink(e)) {
        char *target = prefixed(dir, archive_entry_hardlink(e));
        archive_entry_set_hardlink(e, target);
        free(target);
    }
}

static int copy_data(struct archive *in, struct archive *out)
{
    const void *buf;
    size_t size;
    la_int64_t offset;
    for (;;) {
        int rc = archive_read_data_block(in, &buf, &size, &offset);
        if (rc == ARCHIVE_EOF)
            return ARCHIVE_OK;
        if (rc < ARCHIVE_WARN)
            return rc;
        if (archive_write_data_block(out, buf, size, offset) < ARCHIVE_WARN)
            return ARCHIVE_FATAL;
    }
}

static struct archive *open_reader(const char *archive, struct strbuf *err)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    archive_read_support_format_zip(a);
    if (archive_read_open_filename(a, archive, 64 * 1024) != ARCHIVE_OK) {
        sb_addf(err, "cannot open archive '%s': %s", archive, archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* Every entry into `tmp`; -1 at the first refused entry or I/O error. */
static int extract_all(struct archive *in, const char *archive, const char *tmp,
                       struct strbuf *err)
{
    struct archive *out = archive_write_disk_new();
    /* Defence in depth beside bad_entry(); not SECURE_NOABSOLUTEPATHS, because
     * relocate() makes every name absolute (under the temporary directory). */
    archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                   ARCHIVE_EXTRACT_SECURE_NODOTDOT);
    struct archive_entry *e;
    int rc = 0, r;
    while (rc == 0 && (r = archive_read_next_header(in, &e)) != ARCHIVE_EOF) {
        if (r < ARCHIVE_WARN) {
            sb_addf(err, "cannot read archive '%s': %s", archive, archive_error_string(in));
            rc = -1;
            break;
        }
        const char *why = bad_entry(e);
        if (why) {
            sb_addf(err, "archive '%s': entry '%s': %s", archive,
                    archive_entry_pathname(e) ? archive_entry_pathname(e) : "", why);
            rc = -1;
            break;
        }
        char *name = xstrdup(archive_entry_pathname(e));
        relocate(e, tmp);
        if (archive_write_header(out, e) < ARCHIVE_WARN ||
            (archive_entry_size(e) > 0 && copy_data(in, out) != ARCHIVE_OK) ||
            archive_write_finish_entry(out) < ARCHIVE_WARN) {
            sb_addf(err, "archive '%s': cannot unpack entry '%s': %s", archive, name,
                    archive_error_string(out) ? archive_error_string(out)
                                              : archive_error_string(in));
            rc = -1;
        }
        free(name);
    }
    if (archive_write_close(out) != ARCHIVE_OK && rc == 0) {
        sb_addf(err, "archive '%s': %s", archive, archive_error_string(out));
        rc = -1;
    }
    archive_write_free(out);
    return rc;
}

int unpack_archive(const char *archive, const char *dest, struct strbuf *err)
{
    struct strbuf tmp = STRBUF_INIT;
    sb_addf(&tmp, "%s.tmp-XXXXXX", dest);
    if (!mkdtemp(tmp.buf)) {
        sb_addf(err, "cannot create a directory beside '%s': %s", dest, strerror(errno));
        sb_free(&tmp);
        return -1;
    }
    struct archive *in = open_reader(archive, err);
    int rc = in ? extract_all(in, archive, tmp.buf, err) : -1;
    if (in)
        archive_read_free(in);
    if (rc == 0 && rename(tmp.buf, dest) < 0 && errno != EEXIST && errno != ENOTEMPTY) {
        sb_addf(err, "cannot move '%s' to '%s': %s", tmp.buf, dest, strerror(errno));
        rc = -1;
    }
    /* Removed after a failure, or when another process placed `dest` first. */
    struct stat st;
    if (stat(tmp.buf, &st) == 0)
        remove_tree(tmp.buf);
    sb_free(&tmp);
    return rc;
}

int unpack_member(const char *dir, const char *member, char **out, struct strbuf *err)
{
    if (surl_check_relative(member, err) < 0)
        return -1;
    char *path = prefixed(dir, member);
    char *real = realpath(path, NULL);
    char *root = realpath(dir, NULL);
    size_t n = root ? strlen(root) : 0;
    struct stat st;
    int rc = -1;
    if (!real || !root)
        sb_addf(err, "the archive has no '%s'", member);
    else if (strncmp(real, root, n) != 0 || real[n] != '/')
        sb_addf(err, "'%s' leads outside the archive's directory", member);
    else if (stat(real, &st) < 0 || !S_ISREG(st.st_mode))
        sb_addf(err, "'%s' in the archive is not a regular file", member);
    else
        rc = 0;
    free(real);
    free(root);
    if (rc == 0)
        *out = path;
    else
        free(path);
    return rc;
}
