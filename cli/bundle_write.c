/*
 * bundle_write.c - the bundle archive of `mainline export --format bundle`
 * (bundle_write.h). Files are read whole (checkpoints here are adapters or changed
 * tensors, not base models), hashed, listed in the manifest and written to a pax tar
 * compressed with gzip through libarchive, into a temporary file that is fsynced and
 * renamed over OUT only when complete.
 */
#define _XOPEN_SOURCE 700
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle_write.h"
#include "cli.h"
#include "digest.h"
#include "fsutil.h"
#include "reg_bundle.h"

#define BUNDLE_SCHEMA 1

struct bundle_file {
    char *name;      /* path inside the top directory */
    char *data;
    size_t len;
};

struct bundle_files {
    struct bundle_file *v;
    size_t n, alloc;
};

static void files_add(struct bundle_files *f, char *name, char *data, size_t len)
{
    if (f->n == f->alloc) {
        f->alloc = f->alloc ? 2 * f->alloc : 16;
        f->v = xrealloc(f->v, f->alloc * sizeof(*f->v));
    }
    f->v[f->n++] = (struct bundle_file){ name, data, len };
}

static void files_free(struct bundle_files *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].name);
        free(f->v[i].data);
    }
    free(f->v);
}

/* Read `path` into the bundle as `name`. */
static int add_file(struct bundle_files *f, const char *path, const char *name,
                    struct strbuf *err)
{
    char *data;
    size_t len;
    if (read_file(path, &data, &len, err) < 0)
        return -1;
    files_add(f, xstrdup(name), data, len);
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
    for (i = 0; i < f->n; i++) {
        char hex[SHA256_HEX_LEN + 1];
        sha256_hex(f->v[i].data, f->v[i].len, hex);
        json_array_append_new(files, json_pack("{s:s, s:s, s:I}", "path", f->v[i].name,
                                               "sha256", hex, "bytes", (json_int_t)f->v[i].len));
    }
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

static int archive_add(struct archive *a, const char *top, const char *name, const char *data,
                       size_t len, time_t mtime, struct strbuf *err)
{
    struct archive_entry *e = archive_entry_new();
    struct strbuf path = STRBUF_INIT;
    sb_addf(&path, "%s/%s", top, name);
    archive_entry_set_pathname(e, path.buf);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_mtime(e, mtime, 0);
    int rc = 0;
    if (archive_write_header(a, e) != ARCHIVE_OK ||
        (len && archive_write_data(a, data, len) != (la_ssize_t)len)) {
        sb_addf(err, "cannot write '%s' into the bundle: %s", path.buf, archive_error_string(a));
        rc = -1;
    }
    archive_entry_free(e);
    sb_free(&path);
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
    if (rc == 0)
        rc = archive_add(a, top, "manifest.json", manifest, strlen(manifest), now, err);
    for (size_t i = 0; rc == 0 && i < f->n; i++)
        rc = archive_add(a, top, f->v[i].name, f->v[i].data, f->v[i].len, now, err);
    if (archive_write_close(a) != ARCHIVE_OK && rc == 0) {
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
    files_add(&f, xstrdup("sweep.yaml"), xstrdup(spec ? spec : ""), spec ? strlen(spec) : 0);
    char *rows_text = json_dumps(rows, JSON_INDENT(1) | JSON_SORT_KEYS);
    files_add(&f, xstrdup("registry.json"), rows_text, strlen(rows_text));
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
