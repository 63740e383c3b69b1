/*
 * test_bundle.c - the member names a bundle may hold (cli/bundle_read.c), the
 * results digest that tells two registries' copies of a run apart (reg_bundle.c), and
 * a file streamed into a bundle only as it was hashed (cli/bundle_copy.c).
 */
#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle_copy.h"
#include "bundle_read.h"
#include "reg_bundle.h"
#include "testhelp.h"

/* 0 and the part below the top, or -1 and the start of the reason. */
static void check_member(const char *name, const char *top, int want, const char *rel_or_why)
{
    struct strbuf err = STRBUF_INIT;
    const char *rel = NULL;
    int got = bundle_member_path(name, top, &rel, &err);
    CHECK_INT(got, want);
    if (want == 0)
        CHECK_STR(rel, rel_or_why);
    else
        CHECK(strstr(err.buf, rel_or_why) != NULL);
    if (got != want || (want < 0 && !strstr(err.buf, rel_or_why)))
        fprintf(stderr, "    member '%s': %s\n", name, err.buf);
    sb_free(&err);
}

static void test_member_paths(void)
{
    check_member("b/manifest.json", "b", 0, "manifest.json");
    check_member("b/runs/r/checkpoints/step-4/x", "b", 0, "runs/r/checkpoints/step-4/x");
    check_member("b/", "b", 0, "");
    check_member("b", NULL, 0, "");
    check_member("b/dir/", "b", 0, "dir/");
    check_member("b/..x/y..", "b", 0, "..x/y..");
    check_member("/etc/passwd", "b", -1, "is an absolute path");
    check_member("b/../x", "b", -1, "has a '..' component");
    check_member("..", NULL, -1, "has a '..' component");
    check_member("b/runs/..", "b", -1, "has a '..' component");
    check_member("b/./x", "b", -1, "has a '.' component");
    check_member("b//x", "b", -1, "has an empty component");
    check_member("", "b", -1, "empty name");
    check_member("c/x", "b", -1, "not under the bundle's top directory 'b'");
    check_member("bb/x", "b", -1, "not under the bundle's top directory 'b'");
}

static json_t *run_entry(double val, const char *host, const char *created)
{
    return json_pack("{s:{s:s, s:s, s:s, s:i}, s:[{s:i, s:s, s:f, s:i}], "
                     "s:[{s:i, s:s, s:s, s:i}], s:[]}",
                     "run", "run_id", "r", "host", host, "state", "done", "attempt", 1,
                     "metrics", "step", 2, "name", "val_nll", "value", val, "attempt", 1,
                     "checkpoints", "step", 2, "path", "checkpoints/step-2",
                     "created_at", created, "kept", 1, "evals");
}

static void test_results_digest(void)
{
    json_t *a = run_entry(1.25, "cluster-node-7", "2026-01-01T00:00:00Z");
    json_t *b = run_entry(1.25, "laptop", "2026-02-02T00:00:00Z");
    json_t *c = run_entry(1.2500001, "cluster-node-7", "2026-01-01T00:00:00Z");
    char da[65], db[65], dc[65];
    reg_bundle_run_digest(a, da);
    reg_bundle_run_digest(b, db);
    reg_bundle_run_digest(c, dc);
    CHECK_STR(da, db);           /* hosts, times, paths, kept: not results */
    CHECK(strcmp(da, dc) != 0);  /* a metric is */
    CHECK_INT(strlen(da), 64);
    json_object_set_new(json_object_get(b, "run"), "state", json_string("failed"));
    reg_bundle_run_digest(b, db);
    CHECK(strcmp(da, db) != 0);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

/* A file of `len` patterned bytes (not one chunk repeated). */
static char *pattern(size_t len)
{
    char *p = xmalloc(len);
    for (size_t i = 0; i < len; i++)
        p[i] = (char)((i * 7 + i / 4099) & 0xff);
    return p;
}

static void put(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK_INT(fwrite(data, 1, len, f), len);
        fclose(f);
    }
}

enum { ARCHIVE_CAP = 1 << 20 };

/* Copy `path` into a fresh in-memory tar as "b/x" against digest `d`; the rc, the
 * message in *err, and on success the member read back into *back (caller frees). */
static int copy_into_tar(const char *path, const struct file_digest *d, struct strbuf *err,
                         char **back, size_t *back_len)
{
    char *tar = xmalloc(ARCHIVE_CAP);
    size_t used = 0;
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_memory(a, tar, ARCHIVE_CAP, &used);
    int rc = bundle_copy_file(a, "b/x", path, d->sha256, d->bytes, 0, err);
    if (rc < 0) {
        archive_write_fail(a);   /* as bundle_write.c does */
        archive_write_close(a);
    } else
        CHECK_INT(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    *back = NULL;
    *back_len = 0;
    if (rc == 0) {
        struct archive *r = archive_read_new();
        struct archive_entry *e;
        archive_read_support_format_tar(r);
        CHECK_INT(archive_read_open_memory(r, tar, used), ARCHIVE_OK);
        CHECK_INT(archive_read_next_header(r, &e), ARCHIVE_OK);
        CHECK_STR(archive_entry_pathname(e), "b/x");
        CHECK_INT(archive_entry_size(e), d->bytes);
        *back = xmalloc((size_t)d->bytes + 1);
        la_ssize_t n;
        while ((n = archive_read_data(r, *back + *back_len,
                                      (size_t)d->bytes + 1 - *back_len)) > 0)
            *back_len += (size_t)n;
        archive_read_free(r);
    }
    free(tar);
    return rc;
}

/* -1 and a message holding `why`, for a file changed after it was hashed. */
static void check_refused(const char *path, const struct file_digest *d, const char *why)
{
    struct strbuf err = STRBUF_INIT;
    char *back;
    size_t back_len;
    CHECK_INT(copy_into_tar(path, d, &err, &back, &back_len), -1);
    CHECK(strstr(err.buf, why) != NULL);
    CHECK(strstr(err.buf, path) != NULL);
    if (!strstr(err.buf, why))
        fprintf(stderr, "    wanted '%s' in: %s\n", why, err.buf);
    free(back);
    sb_free(&err);
}

static void test_copy_file(void)
{
    char dir[] = "/tmp/test_bundle.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    struct strbuf path = STRBUF_INIT, err = STRBUF_INIT;
    sb_addf(&path, "%s/state.bin", dir);
    /* more than three chunks, the last one partial: the loop runs four times */
    size_t len = 3 * BUNDLE_COPY_CHUNK + 1234;
    char *data = pattern(len);
    put(path.buf, data, len);
    struct file_digest d;
    CHECK_INT(digest_file(path.buf, &d, &err), 0);
    CHECK_INT(d.bytes, len);

    char *back;
    size_t back_len;
    CHECK_INT(copy_into_tar(path.buf, &d, &err, &back, &back_len), 0);
    CHECK_INT(err.len, 0);
    CHECK_INT(back_len, len);
    CHECK(back && back_len == len && memcmp(back, data, len) == 0);
    free(back);

    /* changed after it was hashed: one byte in the last chunk, same size */
    data[len - 10] ^= 1;
    put(path.buf, data, len);
    check_refused(path.buf, &d, "changed while the bundle was being written: its sha256 was ");
    /* grown, shrunk, gone */
    data[len - 10] ^= 1;
    put(path.buf, data, len - 1);
    check_refused(path.buf, &d, "changed while the bundle was being written: it was 197842 "
                  "bytes when hashed and is now 197841");
    char *more = pattern(len + 1);
    put(path.buf, more, len + 1);
    check_refused(path.buf, &d, "it was 197842 bytes when hashed and now has more");
    unlink(path.buf);
    check_refused(path.buf, &d, "cannot open ");

    free(more);
    free(data);
    rmdir(dir);
    sb_free(&path);
    sb_free(&err);
}

int main(void)
{
    TEST(test_copy_file);
    TEST(test_member_paths);
    TEST(test_results_digest);
    return test_report();
}
