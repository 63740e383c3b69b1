/*
 * bundle_read.c - a bundle streamed with libarchive into a staging directory and
 * verified against its manifest, which comes first, before `mainline import` records
 * anything (bundle_read.h).
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "bundle_read.h"
#include "digest.h"
#include "fsutil.h"
#include "reg_bundle.h"

#define BUNDLE_SCHEMA 1

int bundle_member_path(const char *name, const char *top, const char **rel,
                       struct strbuf *err)
{
    if (!*name) {
        sb_adds(err, "a member has an empty name");
        return -1;
    }
    if (name[0] == '/') {
        sb_addf(err, "'%s' is an absolute path", name);
        return -1;
    }
    const char *p = name;
    size_t len = strlen(name);
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        int last = !slash || (size_t)(slash - name) == len - 1;
        if (n == 0 && !last) {
            sb_addf(err, "'%s' has an empty component", name);
            return -1;
        }
        if ((n == 2 && !strncmp(p, "..", 2)) || (n == 1 && *p == '.')) {
            sb_addf(err, "'%s' has a '%.*s' component: a member must stay inside the bundle",
                    name, (int)n, p);
            return -1;
        }
        p = slash ? slash + 1 : p + n;
    }
    const char *first_end = strchr(name, '/');
    size_t top_len = first_end ? (size_t)(first_end - name) : len;
    if (top && (strlen(top) != top_len || strncmp(name, top, top_len))) {
        sb_addf(err, "'%s' is not under the bundle's top directory '%s'", name, top);
        return -1;
    }
    *rel = first_end ? first_end + 1 : name + len;
    return 0;
}

const struct bundle_entry *bundle_find(const struct bundle_in *b, const char *path)
{
    for (size_t i = 0; i < b->n_files; i++)
        if (!strcmp(b->files[i].path, path))
            return &b->files[i];
    return NULL;
}

void bundle_in_free(struct bundle_in *b)
{
    for (size_t i = 0; i < b->n_files; i++)
        free(b->files[i].path);
    free(b->files);
    free(b->top);
    json_decref(b->manifest);
    json_decref(b->rows);
    memset(b, 0, sizeof(*b));
}

static const char *kind_of(mode_t type)
{
    switch (type) {
    case AE_IFLNK: return "a symbolic link";
    case AE_IFCHR: return "a character device";
    case AE_IFBLK: return "a block device";
    case AE_IFIFO: return "a FIFO";
    case AE_IFSOCK: return "a socket";
    default: return "not a regular file";
    }
}

/* The archive being read: its file name (for messages), where files go. */
struct reader {
    struct archive *a;
    const char *path, *stage;
    struct bundle_in *b;
    char *registry_json;     /* registry.json's text until it is parsed */
    size_t registry_len;
};

/* A member's name and kind checked. 1 for a file (*rel below the top directory), 0
 * for a directory (skipped), -1 refused. */
static int check_member(struct reader *r, struct archive_entry *e, const char **rel,
                        struct strbuf *err)
{
    const char *name = archive_entry_pathname(e);
    if (!name) {
        sb_adds(err, "a member has no name");
        return -1;
    }
    if (bundle_member_path(name, r->b->top, rel, err) < 0)
        return -1;
    if (archive_entry_hardlink(e)) {
        sb_addf(err, "'%s' is a hard link (to '%s')", name, archive_entry_hardlink(e));
        return -1;
    }
    mode_t type = archive_entry_filetype(e);
    if (archive_entry_symlink(e) || (type != AE_IFREG && type != AE_IFDIR)) {
        sb_addf(err, "'%s' is %s", name, kind_of(archive_entry_symlink(e) ? AE_IFLNK : type));
        return -1;
    }
    if (!r->b->top) {
        const char *slash = strchr(name, '/');
        r->b->top = slash ? xstrndup(name, (size_t)(slash - name)) : xstrdup(name);
    }
    if (type == AE_IFDIR)
        return 0;
    if (!**rel) {
        sb_addf(err, "'%s' is a file where the bundle's top directory should be", name);
        return -1;
    }
    return 1;
}

/* The size a member's header declares, -1 when it declares none. */
static int64_t declared_size(struct archive_entry *e)
{
    return archive_entry_size_is_set(e) ? (int64_t)archive_entry_size(e) : -1;
}

/*
 * Read the current member's data, at most `limit` bytes (`bound` says whose limit, for
 * the message): each chunk is handed to `sink` (which returns -1 to stop, after saying
 * why). Returns the byte count, or -1: unreadable, or more than `limit` (the read
 * stops one buffer past it).
 */
typedef int (*chunk_sink)(void *ud, const void *data, size_t len);

static int64_t read_data(struct reader *r, const char *rel, int64_t limit, const char *bound,
                         chunk_sink sink, void *ud, struct strbuf *err)
{
    static char buf[64 * 1024];
    int64_t total = 0;
    la_ssize_t n;
    while ((n = archive_read_data(r->a, buf, sizeof(buf))) > 0) {
        total += n;
        if (total > limit) {
            sb_addf(err, "'%s' holds more than the %lld bytes %s; refused after reading "
                    "%lld", rel, (long long)limit, bound, (long long)total);
            return -1;
        }
        if (sink(ud, buf, (size_t)n) < 0)
            return -1;
    }
    if (n < 0) {
        sb_addf(err, "'%s' is not a whole bundle: cannot read '%s': %s", r->path, rel,
                archive_error_string(r->a));
        return -1;
    }
    return total;
}

static int to_memory(void *ud, const void *data, size_t len)
{
    sb_add(ud, data, len);
    return 0;
}

/* A JSON member kept in memory, as text: refused when `size` (what its header or the
 * manifest says) is over BUNDLE_JSON_MAX, or when it holds more than `limit`. */
static char *read_json_text(struct reader *r, const char *rel, int64_t size, int64_t limit,
                            const char *bound, size_t *len, struct strbuf *err)
{
    if (size > BUNDLE_JSON_MAX) {
        sb_addf(err, "'%s' is %lld bytes; mainline reads at most %d MiB of it",
                rel, (long long)size, BUNDLE_JSON_MAX >> 20);
        return NULL;
    }
    struct strbuf text = STRBUF_INIT;
    if (read_data(r, rel, limit, bound, to_memory, &text, err) < 0) {
        sb_free(&text);
        return NULL;
    }
    *len = text.len;
    return sb_detach(&text);
}

/* manifest.json: parsed, a mainline bundle of this schema, every file listed with a
 * path, a sha256 and a byte count. */
static int read_manifest(struct reader *r, struct archive_entry *e, struct strbuf *err)
{
    size_t len;
    char *text = read_json_text(r, "manifest.json", declared_size(e), BUNDLE_JSON_MAX,
                                "mainline reads of a JSON member", &len, err);
    if (!text)
        return -1;
    json_error_t je;
    json_t *m = json_loadb(text, len, 0, &je);
    free(text);
    if (!m) {
        sb_addf(err, "manifest.json:%d:%d: %s", je.line, je.column, je.text);
        return -1;
    }
    r->b->manifest = m;
    const char *kind = json_string_value(json_object_get(m, "kind"));
    if (!kind || strcmp(kind, "mainline bundle") ||
        json_integer_value(json_object_get(m, "schema")) != BUNDLE_SCHEMA) {
        sb_addf(err, "manifest.json: not a mainline bundle of schema %d", BUNDLE_SCHEMA);
        return -1;
    }
    const json_t *files = json_object_get(m, "files"), *f;
    size_t i;
    if (!json_is_array(files)) {
        sb_adds(err, "manifest.json lists no files");
        return -1;
    }
    json_array_foreach(files, i, f) {
        if (!json_string_value(json_object_get(f, "path")) ||
            !json_string_value(json_object_get(f, "sha256")) ||
            !json_is_integer(json_object_get(f, "bytes")) ||
            json_integer_value(json_object_get(f, "bytes")) < 0) {
            sb_addf(err, "manifest.json: files[%zu] has no path, sha256 or byte count", i);
            return -1;
        }
    }
    return 0;
}

/* The files the manifest lists fit where they are staged: refused before any is read
 * when their sizes add up to more than the staging filesystem has free. */
static int check_room(const struct reader *r, struct strbuf *err)
{
    const json_t *f;
    size_t i;
    int64_t total = 0;
    json_array_foreach(json_object_get(r->b->manifest, "files"), i, f) {
        int64_t bytes = (int64_t)json_integer_value(json_object_get(f, "bytes"));
        total = bytes > INT64_MAX - total ? INT64_MAX : total + bytes;
    }
    struct statvfs fs;
    if (statvfs(r->stage, &fs) < 0)
        return 0;   /* not known: a full disk is still refused while writing */
    unsigned long long room = (unsigned long long)fs.f_bavail * fs.f_frsize;
    if ((unsigned long long)total > room) {
        char *dir = path_dirname(r->stage);
        sb_addf(err, "its files take %lld bytes, the manifest says; '%s' has %llu bytes free",
                (long long)total, dir, room);
        free(dir);
        return -1;
    }
    return 0;
}

/* The manifest's entry of `rel`, or NULL. */
static const json_t *listed(const struct bundle_in *b, const char *rel)
{
    const json_t *f;
    size_t i;
    json_array_foreach(json_object_get(b->manifest, "files"), i, f)
        if (!strcmp(rel, json_string_value(json_object_get(f, "path"))))
            return f;
    return NULL;
}

struct staged {
    struct atomic_file af;
    struct sha256_stream *sha;
};

static int to_stage(void *ud, const void *data, size_t len)
{
    struct staged *s = ud;
    sha256_add(s->sha, data, len);
    atomic_write(&s->af, data, len);
    return s->af.failed ? -1 : 0;   /* a full disk: stop reading; commit says why */
}

/* A member other than manifest.json: in memory (registry.json) or written to
 * stage/REL, fsynced, hashed as it goes, and checked against its manifest entry. */
static int read_file_member(struct reader *r, struct archive_entry *e, const char *rel,
                            struct strbuf *err)
{
    if (!strcmp(rel, "manifest.json") || bundle_find(r->b, rel)) {
        sb_addf(err, "'%s/%s' is in the bundle twice", r->b->top, rel);
        return -1;
    }
    const json_t *f = listed(r->b, rel);
    if (!f) {
        sb_addf(err, "'%s' is in the bundle but not in its manifest", rel);
        return -1;
    }
    const char *want = json_string_value(json_object_get(f, "sha256"));
    int64_t bytes = (int64_t)json_integer_value(json_object_get(f, "bytes"));
    int64_t declared = declared_size(e);
    if (declared >= 0 && declared != bytes) {
        sb_addf(err, "'%s' is %lld bytes in the archive; the manifest says %lld bytes", rel,
                (long long)declared, (long long)bytes);
        return -1;
    }
    char hex[SHA256_HEX_LEN + 1];
    int64_t got;
    if (!strcmp(rel, "registry.json")) {
        size_t len = 0;
        char *text = read_json_text(r, rel, bytes, bytes, "the manifest says", &len, err);
        if (!text)
            return -1;
        sha256_hex(text, len, hex);
        got = (int64_t)len;
        r->registry_len = len;
        r->registry_json = text;
    } else {
        struct strbuf path = STRBUF_INIT;
        sb_addf(&path, "%s/%s", r->stage, rel);
        char *dir = path_dirname(path.buf);
        struct staged s = { .sha = NULL };
        int rc = mkdir_p(dir, err) < 0 ? -1 : atomic_open(&s.af, path.buf, err);
        free(dir);
        sb_free(&path);
        if (rc < 0)
            return -1;
        s.sha = sha256_begin();
        got = read_data(r, rel, bytes, "the manifest says", to_stage, &s, err);
        sha256_end(s.sha, hex);
        int write_failed = s.af.failed != NULL;
        if (got < 0 && !s.af.failed)
            s.af.failed = "refused";
        struct strbuf cerr = STRBUF_INIT;
        if (atomic_commit(&s.af, &cerr) < 0 && (got >= 0 || write_failed)) {
            sb_adds(err, cerr.buf);
            got = -1;
        }
        sb_free(&cerr);
    }
    if (got < 0)
        return -1;
    if (got != bytes || strcmp(hex, want)) {
        sb_addf(err, "'%s' does not match the manifest: sha256 %s, %lld bytes; the manifest "
                "says %s, %lld bytes", rel, hex, (long long)got, want, (long long)bytes);
        return -1;
    }
    struct bundle_in *b = r->b;
    if ((b->n_files & (b->n_files - 1)) == 0)   /* 0, 1, 2, 4...: grow to twice */
        b->files = xrealloc(b->files, (b->n_files ? 2 * b->n_files : 1) * sizeof(*b->files));
    b->files[b->n_files++] = (struct bundle_entry){ .path = xstrdup(rel), .bytes = got };
    memcpy(b->files[b->n_files - 1].sha256, hex, sizeof(hex));
    return 0;
}

static int read_members(struct reader *r, struct strbuf *err)
{
    struct archive *a = r->a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    int rc = 0;
    if (archive_read_open_filename(a, r->path, 64 * 1024) != ARCHIVE_OK) {
        sb_addf(err, "'%s' is not a whole bundle: %s", r->path, archive_error_string(a));
        rc = -1;
    }
    struct archive_entry *e;
    int h;
    while (rc == 0 && (h = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
        const char *rel;
        if (h != ARCHIVE_OK) {
            sb_addf(err, "'%s' is not a whole bundle: %s", r->path, archive_error_string(a));
            rc = -1;
        } else if ((h = check_member(r, e, &rel, err)) < 0) {
            rc = -1;
        } else if (h == 0) {
            continue;
        } else if (!r->b->manifest && strcmp(rel, "manifest.json")) {
            /* the sizes it lists bound every member read after it */
            sb_addf(err, "'%s' comes before manifest.json: a bundle starts with its manifest "
                    "(is it a mainline bundle?)", archive_entry_pathname(e));
            rc = -1;
        } else {
            rc = r->b->manifest ? read_file_member(r, e, rel, err)
                                : read_manifest(r, e, err) < 0 ? -1 : check_room(r, err);
        }
    }
    archive_read_free(a);
    if (rc == 0 && !r->b->manifest) {
        sb_addf(err, "'%s' holds no manifest.json (is it a mainline bundle?)", r->path);
        rc = -1;
    }
    return rc;
}

/* Every file the manifest lists was in the bundle. */
static int check_files(const struct bundle_in *b, struct strbuf *err)
{
    const json_t *f;
    size_t i;
    json_array_foreach(json_object_get(b->manifest, "files"), i, f) {
        const char *p = json_string_value(json_object_get(f, "path"));
        if (!bundle_find(b, p)) {
            sb_addf(err, "'%s' is in the manifest but not in the bundle", p);
            return -1;
        }
    }
    return 0;
}

/* registry.json holds the manifest's sweep and runs, with the same results. */
static int check_rows(const struct bundle_in *b, struct strbuf *err)
{
    const json_t *sw = json_object_get(b->rows, "sweep");
    const json_t *runs = json_object_get(b->rows, "runs");
    const json_t *mruns = json_object_get(b->manifest, "runs");
    const char *name = json_string_value(json_object_get(sw, "name"));
    const char *mname = json_string_value(json_object_get(b->manifest, "sweep"));
    if (!name || !mname || strcmp(name, mname) || !json_is_array(runs) ||
        json_array_size(runs) != json_array_size(mruns) || !json_array_size(runs)) {
        sb_adds(err, "registry.json does not hold the sweep and runs manifest.json names");
        return -1;
    }
    for (size_t i = 0; i < json_array_size(runs); i++) {
        const json_t *e = json_array_get(runs, i), *m = json_array_get(mruns, i);
        char digest[65];
        reg_bundle_run_digest(e, digest);
        const char *id = json_string_value(json_object_get(json_object_get(e, "run"), "run_id"));
        const char *mid = json_string_value(json_object_get(m, "run_id"));
        const char *want = json_string_value(json_object_get(m, "results_sha256"));
        if (!id || !mid || strcmp(id, mid) || !want || strcmp(want, digest)) {
            sb_addf(err, "registry.json: run %zu (%s) is not the run manifest.json names with "
                    "its results digest", i, id ? id : "without a run_id");
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(id, json_string_value(json_object_get(json_object_get(
                                json_array_get(runs, j), "run"), "run_id")))) {
                sb_addf(err, "registry.json: run '%s' is there twice", id);
                return -1;
            }
        /* it names a directory of the importing registry */
        if (strchr(id, '/') || !strcmp(id, ".") || !strcmp(id, "..")) {
            sb_addf(err, "registry.json: run id '%s' is not a directory name", id);
            return -1;
        }
    }
    return 0;
}

int bundle_read(const char *path, const char *stage, struct bundle_in *out,
                struct strbuf *err)
{
    memset(out, 0, sizeof(*out));
    struct file_digest d;
    if (digest_file(path, &d, err) < 0)
        return -1;
    memcpy(out->sha256, d.sha256, sizeof(out->sha256));
    struct reader r = { .path = path, .stage = stage, .b = out };
    int rc = read_members(&r, err);
    if (rc == 0)
        rc = check_files(out, err);
    if (rc == 0 && !bundle_find(out, "registry.json")) {
        sb_adds(err, "the bundle has no registry.json (is it a mainline bundle?)");
        rc = -1;
    }
    json_error_t je;
    if (rc == 0 && !(out->rows = json_loadb(r.registry_json, r.registry_len, 0, &je))) {
        sb_addf(err, "registry.json:%d:%d: %s", je.line, je.column, je.text);
        rc = -1;
    }
    free(r.registry_json);
    return rc == 0 ? check_rows(out, err) : -1;
}
