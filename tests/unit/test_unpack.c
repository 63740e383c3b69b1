/*
 * test_unpack.c - archive extraction refuses what could escape its directory, and
 * the cache finds objects and URLs again. Archives are written here with
 * libarchive's writer: a good one, and one per refused kind of entry.
 */
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "cache.h"
#include "testhelp.h"
#include "unpack.h"

static char tmpdir[] = "/tmp/test_unpack.XXXXXX";

static char *tmp_path(const char *name)
{
    struct strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "%s/%s", tmpdir, name);
    return sb_detach(&sb);
}

enum kind { FILE_E, DIR_E, SYMLINK_E, HARDLINK_E, FIFO_E };

struct entry {
    enum kind kind;
    const char *name;
    const char *data;   /* file contents, or the link target */
};

/* Write `entries` as a gzip'd tar (or a zip) at tmp/name; returns the path. */
static char *write_archive(const char *name, int zip, const struct entry *entries, size_t n)
{
    char *path = tmp_path(name);
    struct archive *a = archive_write_new();
    if (zip) {
        archive_write_set_format_zip(a);
    } else {
        archive_write_add_filter_gzip(a);
        archive_write_set_format_pax_restricted(a);
    }
    archive_write_open_filename(a, path);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, entries[i].name);
        archive_entry_set_perm(e, 0644);
        size_t len = entries[i].data && entries[i].kind == FILE_E ? strlen(entries[i].data) : 0;
        switch (entries[i].kind) {
        case FILE_E:
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_size(e, (la_int64_t)len);
            break;
        case DIR_E:
            archive_entry_set_filetype(e, AE_IFDIR);
            archive_entry_set_perm(e, 0755);
            break;
        case SYMLINK_E:
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_symlink(e, entries[i].data);
            break;
        case HARDLINK_E:
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, entries[i].data);
            break;
        case FIFO_E:
            archive_entry_set_filetype(e, AE_IFIFO);
            break;
        }
        archive_write_header(a, e);
        if (len)
            archive_write_data(a, entries[i].data, len);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return path;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Unpack; returns the error text ("" on success). Caller frees. */
static char *unpack_err(const char *archive, const char *dest)
{
    struct strbuf err = STRBUF_INIT;
    if (unpack_archive(archive, dest, &err) == 0)
        sb_adds(&err, "");
    return sb_detach(&err);
}

static void test_good_archive(void)
{
    static const struct entry good[] = {
        { DIR_E, "./pack/", NULL },
        { FILE_E, "./pack/train.jsonl", "{\"x\": 1}\n" },
        { SYMLINK_E, "pack/alias.jsonl", "train.jsonl" },
        { SYMLINK_E, "pack/sub/up.jsonl", "../train.jsonl" },
        { HARDLINK_E, "pack/hard.jsonl", "./pack/train.jsonl" },
    };
    char *arch = write_archive("good.tar.gz", 0, good, sizeof(good) / sizeof(good[0]));
    char *dest = tmp_path("good");
    char *err = unpack_err(arch, dest);
    CHECK_STR(err, "");
    free(err);
    char *member = NULL;
    struct strbuf why = STRBUF_INIT;
    CHECK_INT(unpack_member(dest, "pack/train.jsonl", &member, &why), 0);
    CHECK(member && strstr(member, "/good/pack/train.jsonl"));
    free(member);
    CHECK_INT(unpack_member(dest, "pack/alias.jsonl", &member, &why), 0);   /* link inside */
    free(member);
    CHECK_INT(unpack_member(dest, "pack/sub/up.jsonl", &member, &why), 0);
    free(member);
    CHECK_INT(unpack_member(dest, "pack/none.jsonl", &member, &why), -1);
    CHECK_STR(why.buf, "the archive has no 'pack/none.jsonl'");
    sb_reset(&why);
    CHECK_INT(unpack_member(dest, "pack", &member, &why), -1);
    CHECK_STR(why.buf, "'pack' in the archive is not a regular file");
    sb_reset(&why);
    CHECK_INT(unpack_member(dest, "../good/pack/train.jsonl", &member, &why), -1);
    CHECK_STR(why.buf, "'..' components are refused");
    sb_free(&why);

    /* A zip of the same kind of tree. */
    static const struct entry z[] = { { FILE_E, "sub/valid.jsonl", "{}\n" } };
    char *zip = write_archive("good.zip", 1, z, 1);
    char *zdest = tmp_path("goodzip");
    err = unpack_err(zip, zdest);
    CHECK_STR(err, "");
    free(err);
    CHECK_INT(unpack_member(zdest, "sub/valid.jsonl", &member, &why), 0);
    free(member);
    free(zip);
    free(zdest);
    free(arch);
    free(dest);
}

/* Each archive holds one good file and one entry that must be refused. */
static void expect_refused(const char *name, int zip, struct entry bad, const char *want)
{
    const struct entry entries[] = { { FILE_E, "ok.jsonl", "{}\n" }, bad };
    char *arch = write_archive(name, zip, entries, 2);
    char *dest = tmp_path("refused");
    char *err = unpack_err(arch, dest);
    struct strbuf expect = STRBUF_INIT;
    sb_addf(&expect, "archive '%s': entry '%s': %s", arch, bad.name, want);
    CHECK_STR(err, expect.buf);
    CHECK(!exists(dest));
    char *pattern = tmp_path("refused.tmp-*");   /* no temporary tree left beside it */
    glob_t g;
    CHECK_INT(glob(pattern, 0, NULL, &g), GLOB_NOMATCH);
    globfree(&g);
    free(pattern);
    sb_free(&expect);
    free(err);
    free(dest);
    free(arch);
}

static void test_refused_archives(void)
{
    expect_refused("abs.tar.gz", 0, (struct entry){ FILE_E, "/tmp/test_unpack_evil", "x" },
                   "absolute paths are refused");
    CHECK(!exists("/tmp/test_unpack_evil"));
    expect_refused("dotdot.tar.gz", 0, (struct entry){ FILE_E, "a/../../evil", "x" },
                   "'..' components are refused");
    expect_refused("dotdot.zip", 1, (struct entry){ FILE_E, "../evil.jsonl", "x" },
                   "'..' components are refused");
    expect_refused("link-abs.tar.gz", 0, (struct entry){ SYMLINK_E, "etc", "/etc" },
                   "a symbolic link to an absolute path is refused");
    expect_refused("link-up.tar.gz", 0, (struct entry){ SYMLINK_E, "a/b/up", "../../.." },
                   "a symbolic link that points outside the archive's directory is refused");
    expect_refused("link-sneaky.tar.gz", 0,
                   (struct entry){ SYMLINK_E, "a/x", "b/../../../outside" },
                   "a symbolic link that points outside the archive's directory is refused");
    expect_refused("hard.tar.gz", 0, (struct entry){ HARDLINK_E, "h", "../../etc/passwd" },
                   "a hard link to a path outside the archive's directory is refused");
    expect_refused("fifo.tar.gz", 0, (struct entry){ FIFO_E, "pipe", NULL },
                   "only files, directories and links are allowed (a device, fifo or socket)");
}

static void test_not_an_archive(void)
{
    char *path = tmp_path("plain.tar.gz");
    FILE *f = fopen(path, "w");
    fputs("not an archive at all, just text\n", f);
    fclose(f);
    char *dest = tmp_path("plain");
    char *err = unpack_err(path, dest);
    CHECK(strncmp(err, "cannot open archive", 19) == 0 || strstr(err, "cannot read archive"));
    CHECK(!exists(dest));
    free(err);
    free(dest);
    free(path);
}

static void test_cache(void)
{
    char *root = tmp_path("cache");
    setenv("MAINLINE_CACHE", root, 1);
    struct cache c;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(cache_open(&c, &err), 0);
    const char *sha = "15f01275460940e13a288a9ce01089dcf4ab4beb324cbb52fdf665be527aaf21";
    CHECK(cache_find_object(&c, sha, "a.jsonl") == NULL);
    char *from = tmp_path("download");
    FILE *f = fopen(from, "w");
    fputs("{}\n", f);
    fclose(f);
    char *placed = NULL;
    CHECK_INT(cache_place_object(&c, from, sha, "a.jsonl", &placed, &err), 0);
    CHECK(!exists(from));
    char *found = cache_find_object(&c, sha, "a.jsonl");
    CHECK_STR(found, placed);
    free(found);
    found = cache_find_object(&c, sha, "b.jsonl");   /* same bytes, another name: a link */
    CHECK(found && strstr(found, "/objects/15f01275460940e13a288a9ce01089dcf4ab4beb324cbb52fdf665"
                          "be527aaf21/b.jsonl"));
    free(found);
    char got[SHA256_HEX_LEN + 1] = "";
    CHECK_INT(cache_index_get(&c, "https://h/a.jsonl", got), 0);
    CHECK_INT(cache_index_put(&c, "https://h/a.jsonl", sha, 3, &err), 0);
    CHECK_INT(cache_index_get(&c, "https://h/a.jsonl", got), 1);
    CHECK_STR(got, sha);
    CHECK_INT(cache_index_get(&c, "https://h/a.jsonl?x", got), 0);
    char *partial = cache_partial_path(&c, "https://h/a.jsonl");
    CHECK(strstr(partial, "/cache/partial/") != NULL);
    free(partial);
    free(placed);
    free(from);
    cache_free(&c);
    sb_free(&err);
    free(root);
    unsetenv("MAINLINE_CACHE");
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 1;
    TEST(test_good_archive);
    TEST(test_refused_archives);
    TEST(test_not_an_archive);
    TEST(test_cache);
    int rc = test_report();
    if (rc == 0) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", tmpdir);
    }
    return rc;
}
