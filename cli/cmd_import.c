/*
 * cmd_import.c - `mainline import BUNDLE`: the runs of a bundle (mainline export
 * --format bundle) recorded into this registry, e.g. results from a cluster brought
 * back to a laptop.
 *
 * Nothing is recorded before the whole bundle is verified (bundle_read.h), which
 * streams its files into a staging directory beside the registry as it reads them
 * (never holding them in memory); any refusal removes that directory. The runs go
 * to the sweep version planned from the same canonical spec, which is created from the
 * bundle when this registry has no version of that number (a registry is created
 * too, as plan does). A run of the same identity (sweep, spec, run id) already here
 * with the same results is left alone (importing twice is a no-op), one with other
 * results, or that has started here, is refused. The staged runs/<run> directories
 * are renamed into runs/<sweep>/<run>, and the rows recorded in one transaction; a
 * failure moves the files back out.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle_read.h"
#include "ckpt_fate.h"
#include "cli.h"
#include "fsutil.h"
#include "reg_bundle.h"
#include "rundir.h"
#include "scheduler.h"

static const char import_usage[] = "usage: mainline import BUNDLE\n";

static int remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

struct import {
    const char *bundle;
    struct bundle_in b;
    struct reg_import_plan plan;
    char *root, *stage;
    char **dirs;             /* per run: where its files go, NULL for IMPORT_SAME */
    int *moved;
    size_t n;
    char **made;             /* directories move_runs created, outermost first */
    size_t n_made;
};

/* Remember the directories mkdir_p(dir) will create: those missing up to the root. */
static void note_missing(struct import *im, const char *dir)
{
    struct stat st;
    if (!strcmp(dir, im->root) || strlen(dir) <= strlen(im->root) || stat(dir, &st) == 0)
        return;
    char *up = path_dirname(dir);
    note_missing(im, up);
    free(up);
    for (size_t i = 0; i < im->n_made; i++)
        if (!strcmp(im->made[i], dir))
            return;
    im->made = xrealloc(im->made, (im->n_made + 1) * sizeof(*im->made));
    im->made[im->n_made++] = xstrdup(dir);
}

static void import_free(struct import *im)
{
    for (size_t i = 0; i < im->n; i++)
        free(im->dirs[i]);
    free(im->dirs);
    free(im->moved);
    for (size_t i = 0; i < im->n_made; i++)
        free(im->made[i]);
    free(im->made);
    if (im->stage)
        remove_tree(im->stage);
    free(im->stage);
    free(im->root);
    reg_import_plan_free(&im->plan);
    bundle_in_free(&im->b);
}

/* The run id of entry i of the bundle's runs (checked by bundle_read). */
static const char *run_id_of(const struct import *im, size_t i)
{
    const json_t *e = json_array_get(json_object_get(im->b.rows, "runs"), i);
    return json_string_value(json_object_get(json_object_get(e, "run"), "run_id"));
}

/* Where each run to import goes; 1 when one of those directories is taken (an empty
 * one is removed), after saying so. */
static int run_dirs(struct import *im, const char *sweep, struct strbuf *err)
{
    im->n = im->plan.n_runs;
    im->dirs = xcalloc(im->n + 1, sizeof(*im->dirs));
    im->moved = xcalloc(im->n + 1, sizeof(*im->moved));
    for (size_t i = 0; i < im->n; i++) {
        if (im->plan.what[i] == IMPORT_SAME)
            continue;
        const char *id = run_id_of(im, i);
        im->dirs[i] = rundir_path(im->root, sweep, im->plan.version, id);
        struct stat st;
        if (lstat(im->dirs[i], &st) == 0 && rmdir(im->dirs[i]) < 0) {
            sb_addf(err, "run '%s': '%s' exists; move it away first", id, im->dirs[i]);
            return 1;
        }
    }
    return 0;
}

/*
 * The staged checkpoints of entry i against their registry rows: each row kept (on
 * disk when its run ended, so hashed by mainline, ckpt_fate.h) must hash the same
 * here. Returns 0, or -1 with the reason in *err.
 */
static int check_checkpoints(const struct import *im, size_t i, struct strbuf *err)
{
    const json_t *e = json_array_get(json_object_get(im->b.rows, "runs"), i), *k;
    size_t j;
    json_array_foreach(json_object_get(e, "checkpoints"), j, k) {
        const char *rel = json_string_value(json_object_get(k, "path"));
        const char *want = json_string_value(json_object_get(k, "sha256"));
        if (json_integer_value(json_object_get(k, "kept")) != 1 || !rel || !want ||
            rel[0] == '/')
            continue;
        struct strbuf path = STRBUF_INIT;
        sb_addf(&path, "%s/runs/%s/%s", im->stage, run_id_of(im, i), rel);
        struct file_digest d;
        int rc = ckpt_digest(path.buf, &d, err);
        sb_free(&path);
        long long step = (long long)json_integer_value(json_object_get(k, "step"));
        if (rc == 1)
            sb_addf(err, "run '%s': checkpoint step %lld, kept in registry.json, is not in "
                    "the bundle", run_id_of(im, i), step);
        else if (rc == 0 && strcmp(d.sha256, want))
            sb_addf(err, "run '%s': checkpoint step %lld has sha256 %s; registry.json records "
                    "%s", run_id_of(im, i), step, d.sha256, want);
        if (rc != 0 || strcmp(d.sha256, want))
            return -1;
    }
    return 0;
}

/* The staging directory beside the registry that bundle_read writes the files into. */
static int make_stage(struct import *im, struct strbuf *err)
{
    struct strbuf stage = STRBUF_INIT;
    sb_addf(&stage, "%s/.mainline-import-XXXXXX", im->root);
    if (!mkdtemp(stage.buf)) {
        sb_addf(err, "cannot create a staging directory in '%s': %s", im->root,
                strerror(errno));
        sb_free(&stage);
        return -1;
    }
    im->stage = sb_detach(&stage);
    return 0;
}

/* Where bundle_read staged run `id`'s files. Caller frees. */
static char *staged_run(const struct import *im, const char *id)
{
    struct strbuf path = STRBUF_INIT;
    sb_addf(&path, "%s/runs/%s", im->stage, id);
    return sb_detach(&path);
}

/* Move each staged run into its directory. */
static int move_runs(struct import *im, struct strbuf *err)
{
    for (size_t i = 0; i < im->n; i++) {
        if (!im->dirs[i])
            continue;
        const char *id = run_id_of(im, i);
        char *from = staged_run(im, id), *parent = path_dirname(im->dirs[i]);
        note_missing(im, parent);
        int rc = mkdir_p(parent, err);
        if (rc == 0 && mkdir_p(from, err) < 0) {
            /* a run with no files of its own still gets its directory */
            rc = -1;
        }
        if (rc == 0 && rename(from, im->dirs[i]) < 0) {
            sb_addf(err, "cannot move '%s' to '%s': %s", from, im->dirs[i], strerror(errno));
            rc = -1;
        }
        if (rc == 0) {
            im->moved[i] = 1;
            fsync_dir(parent);
        }
        free(from);
        free(parent);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Undo move_runs: the runs' directories back into staging (removed with it). */
static void unplace_runs(struct import *im)
{
    for (size_t i = 0; i < im->n; i++) {
        if (!im->moved[i])
            continue;
        const char *id = run_id_of(im, i);
        char *back = staged_run(im, id);
        rename(im->dirs[i], back);
        free(back);
    }
    for (size_t i = im->n_made; i-- > 0;)
        rmdir(im->made[i]);
}

static json_t *origin_json(const struct import *im)
{
    char when[32];
    time_t now = time(NULL);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    char *abs = realpath(im->bundle, NULL);
    const json_t *m = im->b.manifest;
    json_t *o = json_pack("{s:s, s:s, s:s, s:O?, s:O?}", "bundle", abs ? abs : im->bundle,
                          "bundle_sha256", im->b.sha256, "imported_at", when,
                          "exported", json_object_get(m, "exported"),
                          "git_commit", json_object_get(m, "git_commit"));
    free(abs);
    return o;
}

static int import_runs(struct cli *cli, struct import *im, const char *sweep, int created,
                       size_t same, size_t fill);

static int do_import(struct cli *cli, struct import *im)
{
    struct strbuf err = STRBUF_INIT;
    const char *sweep = json_string_value(json_object_get(im->b.manifest, "sweep"));
    int rc = EXIT_FAILURES;
    enum reg_status st = reg_bundle_check(cli->reg, im->b.rows, &im->plan);
    if (st == REG_ERR_CONFLICT || st == REG_ERR_INVALID) {
        error("%s: %s; nothing was imported", im->bundle, reg_errmsg(cli->reg));
        return EXIT_FAILURES;
    }
    if (st != REG_OK)
        return cli_reg_error(cli, st, "cannot read the registry");
    size_t same = 0, fill = 0;
    for (size_t i = 0; i < im->plan.n_runs; i++) {
        same += im->plan.what[i] == IMPORT_SAME;
        fill += im->plan.what[i] == IMPORT_FILL;
    }
    if (same == im->plan.n_runs) {
        printf("%s: already imported: %zu run%s of sweep %s v%d here with the same "
               "results; nothing to do\n", im->bundle, same, same == 1 ? "" : "s", sweep,
               im->plan.version);
        return EXIT_OK;
    }
    int created = !im->plan.sweep_rowid;
    /* no `mainline run` of the sweep may start these runs meanwhile */
    enum sched_status ls = created ? SCHED_OK
                                   : sched_lock_sweep(cli->reg, im->plan.sweep_rowid, sweep,
                                                      &err);
    if (ls != SCHED_OK) {
        error("%s: %s; nothing was imported", im->bundle, err.buf);
        sb_free(&err);
        return ls == SCHED_LOCKED ? EXIT_FAILURES : EXIT_FATAL;
    }
    rc = import_runs(cli, im, sweep, created, same, fill);
    if (!created)
        sched_lock_release(cli->reg, im->plan.sweep_rowid);
    sb_free(&err);
    return rc;
}

static int import_runs(struct cli *cli, struct import *im, const char *sweep, int created,
                       size_t same, size_t fill)
{
    struct strbuf err = STRBUF_INIT;
    int rc = EXIT_FAILURES;
    /* a taken directory or checkpoints that are not what their rows say: refusals */
    int refused = run_dirs(im, sweep, &err) != 0, failed = 0;
    for (size_t i = 0; !refused && !failed && i < im->n; i++)
        refused = im->dirs[i] && check_checkpoints(im, i, &err) < 0;
    if (!refused && !failed && move_runs(im, &err) < 0) {
        unplace_runs(im);
        failed = 1;
    }
    if (refused || failed) {
        error("%s: %s; nothing was imported", im->bundle, err.buf);
        sb_free(&err);
        return refused ? EXIT_FAILURES : EXIT_FATAL;
    }
    json_t *origin = origin_json(im);
    enum reg_status st = reg_bundle_record(cli->reg, im->b.rows,
                                           (const char *const *)im->dirs, origin, &im->plan);
    json_decref(origin);
    if (st != REG_OK) {
        unplace_runs(im);
        if (st == REG_ERR_CONFLICT || st == REG_ERR_INVALID)
            error("%s: %s; nothing was imported", im->bundle, reg_errmsg(cli->reg));
        else
            rc = cli_reg_error(cli, st, "cannot record the bundle");
    } else {
        size_t n = im->plan.n_runs - same;
        printf("imported %zu run%s of sweep %s v%d from %s (%s%s", n, n == 1 ? "" : "s", sweep,
               im->plan.version, im->bundle,
               created ? "the sweep version created from the bundle" : "into the planned "
                                                                       "sweep version",
               fill ? ", filling planned runs" : "");
        if (same)
            printf(", %zu already here", same);
        printf(")\n");
        rc = EXIT_OK;
    }
    sb_free(&err);
    return rc;
}

static int count_stage(const struct reg_stage_row *row, void *ud)
{
    (void)row;
    ++*(int *)ud;
    return 0;
}

/* A registry this import created, and then recorded nothing into, goes again (unless
 * something else recorded a sweep into it meanwhile). */
static void drop_new_registry(struct cli *cli)
{
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal", ".checked" };
    int stages = 0;
    if (!cli->reg || reg_stage_summary(cli->reg, NULL, count_stage, &stages) != REG_OK ||
        stages)
        return;
    reg_free(cli->reg);
    cli->reg = NULL;
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
        struct strbuf path = STRBUF_INIT;
        sb_addf(&path, "%s%s", cli->registry_path, suffixes[i]);
        unlink(path.buf);
        sb_free(&path);
    }
}

int cmd_import(int argc, char **argv, struct cli *cli)
{
    if (argc != 2 || argv[1][0] == '-')
        return cli_usage(import_usage);
    struct import im = { .bundle = argv[1] };
    struct strbuf err = STRBUF_INIT;
    char *dir = path_dirname(cli->registry_path);
    im.root = realpath(dir, NULL);
    free(dir);
    if (!im.root) {
        error("cannot resolve the registry's directory: %s", strerror(errno));
        return EXIT_FATAL;
    }
    if (make_stage(&im, &err) < 0) {
        error("%s: %s; nothing was imported", im.bundle, err.buf);
        sb_free(&err);
        import_free(&im);
        return EXIT_FATAL;
    }
    if (bundle_read(im.bundle, im.stage, &im.b, &err) < 0) {
        error("%s: %s; nothing was imported", im.bundle, err.buf);
        sb_free(&err);
        import_free(&im);
        return EXIT_FAILURES;
    }
    sb_free(&err);
    struct stat st_reg;
    int new_registry = lstat(cli->registry_path, &st_reg) < 0 && errno == ENOENT;
    char msg[4096];
    enum reg_status st = reg_open(cli->registry_path, REG_OPEN_CREATE, &cli->reg, msg,
                                  sizeof(msg));
    if (st != REG_OK) {
        error("%s", msg);
        import_free(&im);
        return st == REG_ERR_DAMAGED ? EXIT_FAILURES : EXIT_FATAL;
    }
    int rc = do_import(cli, &im);
    import_free(&im);
    if (rc != EXIT_OK && new_registry)
        drop_new_registry(cli);
    return rc;
}
