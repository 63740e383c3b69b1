/*
 * bundle_read.c - a bundle read whole with libarchive and verified against its
 * manifest before `mainline import` writes anything (bundle_read.h).
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle_read.h"
#include "digest.h"
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
    for (size_t i = 0; i < b->n_files; i++) {
        free(b->files[i].path);
        free(b->files[i].data);
    }
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

/* One member: its name and kind checked, its contents read. 1 for a file, 0 for a
 * directory (skipped), -1 refused. */
static int read_member(struct archive *a, struct archive_entry *e, struct bundle_in *b,
                       struct bundle_entry *out, struct strbuf *err)
{
    const char *name = archive_entry_pathname(e), *rel;
    if (!name) {
        sb_adds(err, "a member has no name");
        return -1;
    }
    if (bundle_member_path(name, b->top, &rel, err) < 0)
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
    if (!b->top) {
        const char *slash = strchr(name, '/');
        b->top = slash ? xstrndup(name, (size_t)(slash - name)) : xstrdup(name);
    }
    if (type == AE_IFDIR)
        return 0;
    if (!*rel) {
        sb_addf(err, "'%s' is a file where the bundle's top directory should be", name);
        return -1;
    }
    if (bundle_find(b, rel)) {
        sb_addf(err, "'%s' is in the bundle twice", name);
        return -1;
    }
    struct strbuf data = STRBUF_INIT;
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
        sb_add(&data, buf, (size_t)n);
    if (n < 0) {
        sb_addf(err, "cannot read '%s': %s", name, archive_error_string(a));
        sb_free(&data);
        return -1;
    }
    out->path = xstrdup(rel);
    out->len = data.len;
    out->data = sb_detach(&data);
    return 1;
}

static int read_members(const char *path, struct bundle_in *b, struct strbuf *err)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    int rc = 0;
    if (archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK) {
        sb_addf(err, "'%s' is not a whole bundle: %s", path, archive_error_string(a));
        rc = -1;
    }
    size_t alloc = 0;
    struct archive_entry *e;
    int r;
    while (rc == 0 && (r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
        if (r != ARCHIVE_OK) {
            sb_addf(err, "'%s' is not a whole bundle: %s", path, archive_error_string(a));
            rc = -1;
            break;
        }
        struct bundle_entry m;
        int got = read_member(a, e, b, &m, err);
        if (got < 0)
            rc = -1;
        if (got <= 0)
            continue;
        if (b->n_files == alloc) {
            alloc = alloc ? 2 * alloc : 16;
            b->files = xrealloc(b->files, alloc * sizeof(*b->files));
        }
        b->files[b->n_files++] = m;
    }
    archive_read_free(a);
    if (rc == 0 && !b->n_files) {
        sb_addf(err, "'%s' holds no files", path);
        rc = -1;
    }
    return rc;
}

/* Every file listed with its size and digest, and nothing unlisted. */
static int check_files(const struct bundle_in *b, struct strbuf *err)
{
    const json_t *files = json_object_get(b->manifest, "files"), *f;
    size_t i;
    if (!json_is_array(files)) {
        sb_adds(err, "manifest.json lists no files");
        return -1;
    }
    json_array_foreach(files, i, f) {
        const char *p = json_string_value(json_object_get(f, "path"));
        const char *want = json_string_value(json_object_get(f, "sha256"));
        json_int_t bytes = json_integer_value(json_object_get(f, "bytes"));
        const struct bundle_entry *e = p ? bundle_find(b, p) : NULL;
        if (!p || !want) {
            sb_addf(err, "manifest.json: files[%zu] has no path or sha256", i);
            return -1;
        }
        if (!e) {
            sb_addf(err, "'%s' is in the manifest but not in the bundle", p);
            return -1;
        }
        char hex[SHA256_HEX_LEN + 1];
        sha256_hex(e->data, e->len, hex);
        if ((json_int_t)e->len != bytes || strcmp(hex, want)) {
            sb_addf(err, "'%s' does not match the manifest: sha256 %s, %zu bytes; the manifest "
                    "says %s, %lld bytes", p, hex, e->len, want, (long long)bytes);
            return -1;
        }
    }
    for (i = 0; i < b->n_files; i++) {
        const char *p = b->files[i].path;
        int listed = !strcmp(p, "manifest.json");
        size_t j;
        json_array_foreach(files, j, f)
            listed |= !strcmp(p, json_string_value(json_object_get(f, "path")));
        if (!listed) {
            sb_addf(err, "'%s' is in the bundle but not in its manifest", p);
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

static json_t *member_json(const struct bundle_in *b, const char *path, struct strbuf *err)
{
    const struct bundle_entry *e = bundle_find(b, path);
    json_error_t je;
    json_t *v = e ? json_loadb(e->data, e->len, 0, &je) : NULL;
    if (!e)
        sb_addf(err, "the bundle has no %s (is it a mainline bundle?)", path);
    else if (!v)
        sb_addf(err, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    return v;
}

int bundle_read(const char *path, struct bundle_in *out, struct strbuf *err)
{
    memset(out, 0, sizeof(*out));
    struct file_digest d;
    if (digest_file(path, &d, err) < 0)
        return -1;
    memcpy(out->sha256, d.sha256, sizeof(out->sha256));
    if (read_members(path, out, err) < 0)
        return -1;
    if (!(out->manifest = member_json(out, "manifest.json", err)))
        return -1;
    const char *kind = json_string_value(json_object_get(out->manifest, "kind"));
    if (!kind || strcmp(kind, "mainline bundle") ||
        json_integer_value(json_object_get(out->manifest, "schema")) != BUNDLE_SCHEMA) {
        sb_addf(err, "manifest.json: not a mainline bundle of schema %d", BUNDLE_SCHEMA);
        return -1;
    }
    if (check_files(out, err) < 0)
        return -1;
    if (!(out->rows = member_json(out, "registry.json", err)))
        return -1;
    return check_rows(out, err);
}
