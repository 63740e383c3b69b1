/*
 * bundle_copy.c - a file streamed from disk into a bundle member, checked on the way
 * against the digest and size the manifest already holds (bundle_copy.h).
 */
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle_copy.h"

/* Read up to `len` bytes (fewer only at end of file). -1 on a read error. */
static ssize_t read_chunk(int fd, char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static int copy_data(struct archive *a, int fd, const char *member, const char *path,
                     const char sha256[SHA256_HEX_LEN + 1], int64_t bytes, struct strbuf *err)
{
    char *buf = xmalloc(BUNDLE_COPY_CHUNK);
    struct sha256_stream *s = sha256_begin();
    int64_t done = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = read_chunk(fd, buf, BUNDLE_COPY_CHUNK);
        if (n < 0) {
            sb_addf(err, "cannot read '%s': %s", path, strerror(errno));
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        if (n > bytes - done) {
            sb_addf(err, "'%s' changed while the bundle was being written: it was %lld bytes "
                    "when hashed and now has more", path, (long long)bytes);
            rc = -1;
            break;
        }
        sha256_add(s, buf, (size_t)n);
        if (archive_write_data(a, buf, (size_t)n) != n) {
            sb_addf(err, "cannot write '%s' into the bundle: %s", member,
                    archive_error_string(a));
            rc = -1;
            break;
        }
        done += n;
    }
    char hex[SHA256_HEX_LEN + 1];
    sha256_end(s, hex);
    free(buf);
    if (rc == 0 && done != bytes) {
        sb_addf(err, "'%s' changed while the bundle was being written: it was %lld bytes "
                "when hashed and is now %lld", path, (long long)bytes, (long long)done);
        rc = -1;
    } else if (rc == 0 && strcmp(hex, sha256) != 0) {
        sb_addf(err, "'%s' changed while the bundle was being written: its sha256 was %s "
                "when hashed and is now %s", path, sha256, hex);
        rc = -1;
    }
    return rc;
}

int bundle_member_header(struct archive *a, const char *member, int64_t bytes, time_t mtime,
                         struct strbuf *err)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, member);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)bytes);
    archive_entry_set_mtime(e, mtime, 0);
    int rc = 0;
    if (archive_write_header(a, e) != ARCHIVE_OK) {
        sb_addf(err, "cannot write '%s' into the bundle: %s", member, archive_error_string(a));
        rc = -1;
    }
    archive_entry_free(e);
    return rc;
}

int bundle_copy_file(struct archive *a, const char *member, const char *path,
                     const char sha256[SHA256_HEX_LEN + 1], int64_t bytes, time_t mtime,
                     struct strbuf *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    int rc = bundle_member_header(a, member, bytes, mtime, err);
    if (rc == 0)
        rc = copy_data(a, fd, member, path, sha256, bytes, err);
    close(fd);
    return rc;
}
