/*
 * bundle_write.c - the bundle archive of `mainline export --format bundle`
 * (bundle_write.h). Two passes over the files on disk, neither holding a file in
 * memory: the first hashes each (streamed, digest.h) for the manifest, which must be
 * the archive's first member; the second streams each into a pax tar compressed with
 * gzip through libarchive, checked against its digest as it goes (bundle_copy.h). Only
 * the JSON made here (manifest.json, registry.json) and sweep.yaml are in memory. The
 * archive goes to a temporary file that is fsynced and renamed over OUT only when
 * complete, and removed when anything failed.
 */
#define _XOPEN_SOURCE 700
#include <archive.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle_copy.h"
#include "bundle_write.h"
#include "cli.h"
#include "digest.h"
#include "fsutil.h"
#include "reg_bundle.h"

#define BUNDLE_SCHEMA 1

struct bundle_file {
    char *name;      /* path inside the top directory */
    char *path;      /* the file on disk, or NULL when the member is `data` */
    char *data;
    int64_t bytes;
    char sha256[SHA256_HEX_LEN + 1];
};

struct bundle_files {
    struct bundle_file *v;
    size_t n, alloc;
};

static struct bundle_file *files_push(struct bundle_files *f)
{
    if (f->n == f->alloc) {
        f->alloc = f->alloc ? 2 * f->alloc : 16;
        f->v = xrealloc(f->v, f->alloc * sizeof(*f->v));
    }
    f->v[f->n] = (struct bundle_file){ 0 };
    return &f->v[f->n++];
}

/* A member made in memory (takes `name` and `data`). */
static void files_add_data(struct bundle_files *f, char *name, char *data)
{
    struct bundle_file *b = files_push(f);
    b->name = name;
    b->data = data;
    b->bytes = (int64_t)strlen(data);
    sha256_hex(data, strlen(data), b->sha256);
}

static void files_free(struct bundle_files *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].name);
        free(f->v[i].path);
        free(f->v[i].data);
    }
    free(f->v);
}

/* List `path` in the bundle as `name`, with its sha256 and size (the first pass:
 * streamed, the file is not held). */
static int add_file(struct bundle_files *f, const char *path, const char *name,
                    struct strbuf *err)
{
    struct file_digest d;
    if (digest_file(path, &d, err) < 0)
        return -1;
    struct bundle_file *b = files_push(f);
    b->name = xstrdup(name);
    b->path = xstrdup(path);
    b->bytes = d.bytes;
    memcpy(b->sha256, d.sha256, sizeof(b->sha256));
    return 0;
}

/* Every regular file under `dir` (a checkpoint directory), by path, as prefix/REL. */
static struct bundle_files *walk_files;
static const char *walk_root, *walk_prefix;
static struct strbuf *walk_err;

static int walk_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type != FTW_F || !S_ISREG(sb->st_mode))
        return 0;
    struct strbuf name = STRBUF_INIT;
    sb_addf(&name, "%s%s", walk_prefix, path + strlen(walk_root));
    int rc = add_file(walk_files, path, name.buf, walk_err);
    sb_free(&name);
    return rc < 0 ? 1 : 0;
}

static int add_tree(struct bundle_files *f, const char *dir, const char *prefix,
                    struct strbuf *err)
{
    struct stat st;
    if (stat(dir, &st) < 0) {
        sb_addf(err, "cannot read '%s': %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return add_file(f, dir, prefix, err);
    walk_files = f;
    walk_root = dir;
    walk_prefix = prefix;
    walk_err = err;
    return nftw(dir, walk_one, 16, FTW_PHYS) ? -1 : 0;
}

/* The job files worth keeping of a run or evaluation directory (not locks, pid files). */
static int add_if_there(struct bundle_files *f, const char *dir, const char *file,
                        const char *prefix, struct strbuf *err)
{
    char *path = path_join(dir, file);
    int rc = 0;
    if (access(path, F_OK) == 0) {
        struct strbuf name = STRBUF_INIT;
        sb_addf(&name, "%s/%s", prefix, file);
        rc = add_file(f, path, name.buf, err);
        sb_free(&name);
    }
    free(path);
    return rc;
}

static int add_run(struct bundle_files *f, const struct bundle_run *r, struct strbuf *err)
{
    static const char *const run_files[] = { "config.json", "metrics.jsonl", "exit.json" };
    static const char *const eval_files[] = {
        "eval.json", "metrics.jsonl", "predictions.jsonl", "exit.json"
    };
    struct strbuf prefix = STRBUF_INIT, eprefix = STRBUF_INIT, cprefix = STRBUF_INIT;
    struct strbuf edir = STRBUF_INIT;
    int rc = 0;
    sb_addf(&prefix, "runs/%s", r->run_id);
    for (size_t i = 0; rc == 0 && i < sizeof(run_files) / sizeof(*run_files); i++)
        rc = add_if_there(f, r->dir, run_files[i], prefix.buf, err);
    /* the checkpoint keeps its place relative to the run directory */
    size_t dl = strlen(r->dir);
    const char *rel = !strncmp(r->checkpoint, r->dir, dl) && r->checkpoint[dl] == '/'
                          ? r->checkpoint + dl + 1 : NULL;
    if (rc == 0 && !rel) {
        sb_addf(err, "run '%s': its checkpoint '%s' is outside its directory '%s'", r->run_id,
                r->checkpoint, r->dir);
        rc = -1;
    }
    if (rc == 0) {
        sb_addf(&cprefix, "%s/%s", prefix.buf, rel);
        rc = add_tree(f, r->checkpoint, cprefix.buf, err);
    }
    sb_addf(&edir, "%s/eval/step-%lld", r->dir, (long long)r->step);
    sb_addf(&eprefix, "%s/eval/step-%lld", prefix.buf, (long long)r->step);
    for (size_t i = 0; rc == 0 && i < sizeof(eval_files) / sizeof(*eval_files); i++)
        rc = add_if_there(f, edir.buf, eval_files[i], eprefix.buf, err);
    sb_free(&prefix);
    sb_free(&eprefix);
    sb_free(&cprefix);
    sb_free(&edir);
    return rc;
}

static json_t *manifest_json(const json_t *rows, const struct bundle_run *runs, size_t n_runs,
                             const struct bundle_files *f, const char *registry_path)
{
    const json_t *sw = json_object_get(rows, "sweep");
    char host[256] = "", when[32];
    gethostname(host, sizeof(host) - 1);
    time_t now = time(NULL);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    json_t *inputs = json_array(), *rs = json_array(), *files = json_array(), *a;
    size_t i;
    json_array_foreach(json_object_get(rows, "artifacts"), i, a)
        json_array_append_new(inputs, json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?}",
            "role", json_object_get(a, "role"), "name", json_object_get(a, "name"),
            "sha256", json_object_get(a, "sha256"), "bytes", json_object_get(a, "bytes"),
            "source", json_object_get(a, "source"), "path", json_object_get(a, "path")));
    for (i = 0; i < n_runs; i++) {
        const json_t *e = json_array_get(json_object_get(rows, "runs"), i);
        const json_t *row = json_object_get(e, "run");
        char digest[65];
        reg_bundle_run_digest(e, digest);
        json_array_append_new(rs, json_pack("{s:s, s:O?, s:O?, s:O?, s:O?, s:I, s:s}",
            "run_id", runs[i].run_id, "stage", json_object_get(row, "stage"),
            "condition", json_object_get(row, "condition"), "seed", json_object_get(row, "seed"),
            "lr", json_object_get(row, "lr"), "selected_step", (json_int_t)runs[i].step,
            "results_sha256", digest));
    }
    for (i = 0; i < f->n; i++)
        json_array_append_new(files, json_pack("{s:s, s:s, s:I}", "path", f->v[i].name,
                                               "sha256", f->v[i].sha256,
                                               "bytes", (json_int_t)f->v[i].bytes));
    return json_pack("{s:s, s:i, s:s, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?,"
                     " s:{s:s, s:s, s:s}, s:o, s:o, s:o}",
        "kind", "mainline bundle", "schema", BUNDLE_SCHEMA, "mainline_version", MAINLINE_VERSION,
        "sweep", json_object_get(sw, "name"), "sweep_version", json_object_get(sw, "version"),
        "spec_sha256", json_object_get(sw, "spec_sha256"),
        "canon_sha256", json_object_get(sw, "canon_sha256"),
        "contract_sha256", json_object_get(sw, "contract_sha256"),
        "git_commit", json_object_get(sw, "git_commit"),
        "git_branch", json_object_get(sw, "git_branch"),
        "git_dirty", json_object_get(sw, "git_dirty"),
        "git_status", json_object_get(sw, "git_status"),
        "exported", "at", when, "host", host, "registry", registry_path,
        "runs", rs, "inputs", inputs, "files", files);
}

/* A member made in memory. */
static int archive_add(struct archive *a, const char *member, const char *data, size_t len,
                       time_t mtime, struct strbuf *err)
{
    if (bundle_member_header(a, member, (int64_t)len, mtime, err) < 0)
        return -1;
    if (len && archive_write_data(a, data, len) != (la_ssize_t)len) {
        sb_addf(err, "cannot write '%s' into the bundle: %s", member, archive_error_string(a));
        return -1;
    }
    return 0;
}

/* The second pass: one member, from memory or streamed from disk and checked. */
static int archive_add_file(struct archive *a, const char *top, const struct bundle_file *b,
                            time_t mtime, struct strbuf *err)
{
    struct strbuf member = STRBUF_INIT;
    sb_addf(&member, "%s/%s", top, b->name);
    int rc = b->path
        ? bundle_copy_file(a, member.buf, b->path, b->sha256, b->bytes, mtime, err)
        : archive_add(a, member.buf, b->data, (size_t)b->bytes, mtime, err);
    sb_free(&member);
    return rc;
}

/* The archive: manifest.json first, then every file. */
static int write_archive(const char *out, const char *top, const char *manifest,
                         const struct bundle_files *f, struct strbuf *err)
{
    struct atomic_file af;
    if (atomic_open(&af, out, err) < 0)
        return -1;
    struct archive *a = archive_write_new();
    int rc = 0;
    time_t now = time(NULL);
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_open_fd(a, af.fd) != ARCHIVE_OK) {
        sb_addf(err, "cannot start the bundle '%s': %s", out, archive_error_string(a));
        rc = -1;
    }
    if (rc == 0) {
        struct strbuf member = STRBUF_INIT;
        sb_addf(&member, "%s/manifest.json", top);
        rc = archive_add(a, member.buf, manifest, strlen(manifest), now, err);
        sb_free(&member);
    }
    for (size_t i = 0; rc == 0 && i < f->n; i++)
        rc = archive_add_file(a, top, &f->v[i], now, err);
    if (rc < 0) {
        /* The temporary is removed below: no padding for a member cut short (it may be
         * gigabytes), and close only to free libarchive's buffers (free after fail
         * alone leaks them: libarchive issue 1568, fixed after 3.6.2). */
        archive_write_fail(a);
        archive_write_close(a);
    } else if (archive_write_close(a) != ARCHIVE_OK) {
        sb_addf(err, "cannot finish the bundle '%s': %s", out, archive_error_string(a));
        rc = -1;
    }
    archive_write_free(a);
    if (rc < 0)
        af.failed = af.failed ? af.failed : "writing the archive";
    struct strbuf cerr = STRBUF_INIT;
    if (atomic_commit(&af, &cerr) < 0 && rc == 0) {
        sb_adds(err, cerr.buf);
        rc = -1;
    }
    sb_free(&cerr);
    return rc;
}

/* A checkpoint left out of the bundle is gone where it is imported: kept 0 (a kept
 * column is not part of the results digest). */
static void mark_unbundled(json_t *rows, const struct bundle_run *runs)
{
    json_t *e, *k;
    size_t i, j;
    json_array_foreach(json_object_get(rows, "runs"), i, e)
        json_array_foreach(json_object_get(e, "checkpoints"), j, k)
            if (json_integer_value(json_object_get(k, "step")) != runs[i].step &&
                json_integer_value(json_object_get(k, "kept")) == 1)
                json_object_set_new(k, "kept", json_integer(0));
}

int bundle_write(struct registry *reg, const char *registry_path, const struct reg_results *res,
                 const struct bundle_run *runs, size_t n_runs, const char *out,
                 struct bundle_out *result, struct strbuf *err)
{
    struct stat st;
    if (lstat(out, &st) == 0) {
        sb_addf(err, "'%s' already exists; an export never replaces anything", out);
        return -1;
    }
    int64_t *ids = xcalloc(n_runs + 1, sizeof(*ids));
    for (size_t i = 0; i < n_runs; i++)
        ids[i] = runs[i].rowid;
    json_t *rows = NULL;
    enum reg_status rst = reg_bundle_dump(reg, res->sweep_rowid, ids, n_runs, &rows);
    free(ids);
    if (rst != REG_OK) {
        sb_addf(err, "cannot read the runs' rows: %s", reg_errmsg(reg));
        return -1;
    }
    mark_unbundled(rows, runs);
    struct bundle_files f = { 0 };
    const char *spec = json_string_value(json_object_get(json_object_get(rows, "sweep"),
                                                         "spec_text"));
    files_add_data(&f, xstrdup("sweep.yaml"), xstrdup(spec ? spec : ""));
    files_add_data(&f, xstrdup("registry.json"),
                   json_dumps(rows, JSON_INDENT(1) | JSON_SORT_KEYS));
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n_runs; i++)
        rc = add_run(&f, &runs[i], err);
    if (rc == 0) {
        char *abs = realpath(registry_path, NULL);
        json_t *m = manifest_json(rows, runs, n_runs, &f, abs ? abs : registry_path);
        free(abs);
        char *manifest = json_dumps(m, JSON_INDENT(2));
        struct strbuf top = STRBUF_INIT;
        sb_addf(&top, "%s-%s", res->name, n_runs == 1 ? runs[0].run_id : "mainline");
        rc = write_archive(out, top.buf, manifest, &f, err);
        free(manifest);
        json_decref(m);
        sb_free(&top);
    }
    if (rc == 0 && result) {
        result->n_files = f.n + 1;
        result->bytes = stat(out, &st) == 0 ? (unsigned long long)st.st_size : 0;
    }
    files_free(&f);
    json_decref(rows);
    return rc;
}
