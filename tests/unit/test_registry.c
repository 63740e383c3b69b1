/*
 * test_registry.c - unit tests of the SQLite registry: opening and migrating,
 * recording a sweep, reading it back, run filters, the stage summary, the views
 * and the audit log. Each test works on its own database in one temporary
 * directory, removed at the end. A second, plain sqlite3 connection plays the
 * part of a user poking at the file, to check what landed on disk.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "reg_exec.h"
#include "reg_internal.h"
#include "fsutil.h"
#include "registry.h"
#include "strbuf.h"
#include "testhelp.h"

/* ---- temporary files ---- */

static char tmpdir[4096];
static char pathbuf[4400];   /* tmpdir, "/", a file name */

static void make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/mainline-test-registry-XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        exit(1);
    }
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    if (!d)
        return;
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(pathbuf, sizeof(pathbuf), "%s/%s", tmpdir, e->d_name);
            unlink(pathbuf);
        }
    }
    closedir(d);
    rmdir(tmpdir);
}

/* A path in the temporary directory; valid until the next call. */
static const char *tmp_path(const char *name)
{
    snprintf(pathbuf, sizeof(pathbuf), "%s/%s", tmpdir, name);
    return pathbuf;
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static struct registry *open_new(const char *name)
{
    struct registry *reg = NULL;
    char err[512] = "";
    enum reg_status st = reg_open(tmp_path(name), REG_OPEN_CREATE, &reg, err, sizeof(err));
    if (st != REG_OK) {
        fprintf(stderr, "cannot open %s: %s\n", name, err);
        exit(1);
    }
    return reg;
}

/* ---- a second connection, as a user would have ---- */

static sqlite3 *raw_open(const char *name)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(tmp_path(name), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        NULL) != SQLITE_OK) {
        fprintf(stderr, "raw open %s: %s\n", name, sqlite3_errmsg(db));
        exit(1);
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "raw exec failed: %s\n  %s\n", msg, sql);
        sqlite3_free(msg);
        exit(1);
    }
}

/* Every row of a query as "col|col|..." joined by ";", NULL as "NULL". Caller frees. */
static char *raw_rows(sqlite3 *db, const char *sql)
{
    struct strbuf out = STRBUF_INIT;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sb_addf(&out, "prepare error: %s", sqlite3_errmsg(db));
        return sb_detach(&out);
    }
    int rc = sqlite3_step(st);
    for (int row = 0; rc == SQLITE_ROW; row++, rc = sqlite3_step(st)) {
        if (row)
            sb_addc(&out, ';');
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            const unsigned char *v = sqlite3_column_text(st, c);
            if (c)
                sb_addc(&out, '|');
            sb_adds(&out, v ? (const char *)v : "NULL");
        }
    }
    if (rc != SQLITE_DONE)
        sb_addf(&out, "step error: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return sb_detach(&out);
}

static long long raw_int(sqlite3 *db, const char *sql)
{
    char *s = raw_rows(db, sql);
    long long v = strtoll(s, NULL, 10);
    free(s);
    return v;
}

#define CHECK_ROWS(db, sql, want) do { \
    char *rows_ = raw_rows((db), (sql)); \
    CHECK_STR(rows_, (want)); \
    free(rows_); \
} while (0)

/* "YYYY-MM-DDTHH:MM:SSZ" */
static int is_utc_timestamp(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (!s || strlen(s) != sizeof(shape) - 1)
        return 0;
    for (size_t i = 0; shape[i]; i++) {
        int ok = shape[i] == 'd' ? (s[i] >= '0' && s[i] <= '9') : s[i] == shape[i];
        if (!ok)
            return 0;
    }
    return 1;
}

/* ---- the sweep every test records ---- */

#define SHA_MODEL "1111111111111111111111111111111111111111111111111111111111111111"
#define SHA_TRAIN "2222222222222222222222222222222222222222222222222222222222222222"
#define SHA_SPEC  "3333333333333333333333333333333333333333333333333333333333333333"
#define SHA_CANON "4444444444444444444444444444444444444444444444444444444444444444"
#define SHA_CONTR "5555555555555555555555555555555555555555555555555555555555555555"
#define COMMIT    "0123456789abcdef0123456789abcdef01234567"

static const size_t uses_both[] = { 0, 1 };
static const size_t uses_model[] = { 0 };

static const struct reg_artifact_in fixture_artifacts[] = {
    { "base_model", "tiny-llm", "models/tiny-llm.bin", SHA_MODEL, 123456, -1,
      "https://example.org/tiny.tar.gz#tiny-llm.bin" },
    { "dataset", "train", "data/train.jsonl", SHA_TRAIN, 2048, 100, NULL },
};

static const struct reg_run_in fixture_runs[] = {
    { .run_id = "lr-att-3e-4", .stage = "lr_select", .condition = "attention_only",
      .has_lr = 1, .lr = 3e-4, .has_seed = 1, .seed = 0,
      .params_json = "{\"condition\":\"attention_only\",\"lr\":0.0003,\"rank\":8,\"seed\":0}",
      .state = RUN_PLANNED, .artifacts = uses_both, .n_artifacts = 2 },
    { .run_id = "lr-base-1e-3", .stage = "lr_select", .condition = NULL,
      .has_lr = 1, .lr = 1e-3, .has_seed = 1, .seed = 0,
      .params_json = "{\"lr\":0.001,\"rank\":16,\"seed\":0,\"tag\":9007199254740993}",
      .state = RUN_PLANNED, .artifacts = uses_both, .n_artifacts = 2 },
    { .run_id = "main-att-s1", .stage = "main", .condition = "attention_only",
      .has_lr = 0, .has_seed = 1, .seed = 1,
      .params_json = "{\"condition\":\"attention_only\",\"rank\":8,\"seed\":1}",
      .pending_json = "{\"lr\":\"lr_select\"}",
      .state = RUN_WAITING, .artifacts = uses_model, .n_artifacts = 1 },
};

static struct reg_sweep_in fixture(const char *name, int version)
{
    struct reg_sweep_in in = {
        .name = name,
        .version = version,
        .spec_path = "sweeps/demo.yaml",
        .spec_text = "name: demo\n",
        .spec_sha256 = SHA_SPEC,
        .canon_json = "{\"name\":\"demo\"}",
        .canon_sha256 = SHA_CANON,
        .contract_json = "{\"evaluation\":{}}",
        .audit_json = "{\"passed\":true}",
        .contract_sha256 = SHA_CONTR,
        .git = { "ok", "/src", COMMIT, "main", 1, "diff --git a/x b/x\n" },
        .artifacts = fixture_artifacts,
        .n_artifacts = 2,
        .runs = fixture_runs,
        .n_runs = 3,
    };
    return in;
}

static int64_t record_fixture(struct registry *reg, const char *name, int version)
{
    struct reg_sweep_in in = fixture(name, version);
    int64_t rowid = 0;
    enum reg_status st = reg_record_sweep(reg, &in, &rowid);
    if (st != REG_OK) {
        fprintf(stderr, "record %s v%d: %s\n", name, version, reg_errmsg(reg));
        exit(1);
    }
    return rowid;
}

/* ---- collecting query results ---- */

struct got_run {
    int64_t rowid, sweep_rowid;
    char *sweep, *run_id, *stage, *condition, *params, *pending, *state;
    char *created_at, *started_at, *finished_at, *run_dir;
    int version, has_lr, has_seed, attempt, has_exit_status;
    double lr;
    int64_t seed;
};

struct got_runs {
    struct got_run r[16];
    size_t n;
    size_t stop_after;    /* 0: take every row */
    struct strbuf ids;    /* "run_id,run_id,..." or "vN:run_id,..." with with_version */
    int with_version;
};

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static int collect_run(const struct reg_run_row *row, void *ud)
{
    struct got_runs *g = ud;
    if (g->ids.len)
        sb_addc(&g->ids, ',');
    if (g->with_version)
        sb_addf(&g->ids, "%s@%d:", row->sweep, row->version);
    sb_adds(&g->ids, row->run_id);
    if (g->n < sizeof(g->r) / sizeof(g->r[0])) {
        struct got_run *r = &g->r[g->n];
        *r = (struct got_run){
            .rowid = row->rowid, .sweep_rowid = row->sweep_rowid,
            .sweep = dup_or_null(row->sweep), .run_id = dup_or_null(row->run_id),
            .stage = dup_or_null(row->stage), .condition = dup_or_null(row->condition),
            .params = dup_or_null(row->params_json), .pending = dup_or_null(row->pending_json),
            .state = dup_or_null(row->state), .created_at = dup_or_null(row->created_at),
            .started_at = dup_or_null(row->started_at),
            .finished_at = dup_or_null(row->finished_at), .run_dir = dup_or_null(row->run_dir),
            .version = row->version, .has_lr = row->has_lr, .has_seed = row->has_seed,
            .attempt = row->attempt, .has_exit_status = row->has_exit_status,
            .lr = row->lr, .seed = row->seed,
        };
    }
    g->n++;
    return g->stop_after && g->n >= g->stop_after;
}

static void got_runs_free(struct got_runs *g)
{
    size_t n = g->n < 16 ? g->n : 16;
    for (size_t i = 0; i < n; i++) {
        struct got_run *r = &g->r[i];
        char *strs[] = { r->sweep, r->run_id, r->stage, r->condition, r->params, r->pending,
                         r->state, r->created_at, r->started_at, r->finished_at, r->run_dir };
        for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
            free(strs[k]);
    }
    sb_free(&g->ids);
    memset(g, 0, sizeof(*g));
}

/* The run ids one filter term selects (latest versions), comma-joined, into out. */
static enum reg_status ids_where(struct registry *reg, const char *key, enum reg_filter_op op,
                                 const char *value, char *out, size_t len)
{
    struct reg_filter_term term = { key, op, value };
    struct reg_run_query q = { .terms = &term, .n_terms = 1 };
    struct got_runs g = { 0 };
    enum reg_status st = reg_query_runs(reg, &q, collect_run, &g);
    snprintf(out, len, "%s", sb_str(&g.ids));
    got_runs_free(&g);
    return st;
}

#define CHECK_WHERE(reg, key, op, value, want) do { \
    char ids_[256]; \
    CHECK_INT(ids_where((reg), (key), (op), (value), ids_, sizeof(ids_)), REG_OK); \
    CHECK_STR(ids_, (want)); \
} while (0)

struct got_artifacts {
    struct strbuf text;   /* "role|name|path|sha256|bytes|rows;..." */
};

static int collect_artifact(const struct reg_artifact_row *row, void *ud)
{
    struct got_artifacts *g = ud;
    if (g->text.len)
        sb_addc(&g->text, ';');
    sb_addf(&g->text, "%s|%s|%s|%.8s|%lld|%lld|%s", row->role, row->name, row->path,
            row->sha256, (long long)row->bytes, (long long)row->rows,
            row->source ? row->source : "-");
    return 0;
}

static int collect_stage(const struct reg_stage_row *row, void *ud)
{
    struct strbuf *sb = ud;
    if (sb->len)
        sb_addc(sb, ';');
    sb_addf(sb, "%s@%d/%s", row->sweep, row->version, row->stage);
    for (int i = 0; i < RUN_STATE_COUNT; i++)
        sb_addf(sb, " %c%d", reg_state_name((enum reg_run_state)i)[0], row->counts[i]);
    sb_addf(sb, " =%d", row->total);
    return 0;
}

/* ---- opening and migrating ---- */

static void test_create(void)
{
    struct registry *reg = open_new("create.db");
    CHECK_INT(reg_schema_version(reg), REG_SCHEMA_VERSION);
    CHECK_INT(REG_SCHEMA_VERSION, 9);
    /* Connection settings live on the registry's own handle. */
    CHECK_ROWS(reg->db, "PRAGMA journal_mode", "wal");
    CHECK_ROWS(reg->db, "PRAGMA foreign_keys", "1");
    CHECK_ROWS(reg->db, "PRAGMA busy_timeout", "5000");

    sqlite3 *db = raw_open("create.db");
    CHECK_INT(raw_int(db, "PRAGMA user_version"), REG_SCHEMA_VERSION);
    /* migration 5: the data audit's report is kept with each sweep version */
    CHECK_INT(raw_int(db, "SELECT count(*) FROM pragma_table_info('sweeps') "
                          "WHERE name = 'audit_json'"), 1);
    CHECK_INT(raw_int(db, "PRAGMA application_id"), REG_APPLICATION_ID);
    CHECK_ROWS(db, "PRAGMA journal_mode", "wal");   /* WAL is a property of the file */
    /* migration 6: the batch jobs of runs and evaluations */
    CHECK_INT(raw_int(db, "SELECT count(*) FROM pragma_table_info('runs') "
                          "WHERE name = 'job_id'"), 1);
    /* migration 6 too: where and how long a batch job ran */
    CHECK_ROWS(db, "SELECT name FROM pragma_table_info('batch_jobs') WHERE cid >= 11"
               " ORDER BY cid", "array_index;partition;nodes;elapsed_s;max_rss_bytes;"
               "acct_confirmed");
    CHECK_ROWS(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
               "artifacts;batch_jobs;checkpoints;eval_jobs;evals;events;ingest_offsets;locks;"
               "metrics;predictions;probe_answers;run_artifacts;runs;selections;sweeps");
    CHECK_ROWS(db, "SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name",
               "run_params;v_condition_summary;v_disagreement;v_latest_sweeps;v_lr_selection;v_mainline;"
               "v_runs;v_stage_summary");
    /* metrics is keyed in ingestion order, without a rowid (ingestion speed). */
    CHECK_ROWS(db, "SELECT name FROM pragma_index_info('sqlite_autoindex_metrics_1')"
               " ORDER BY seqno", "run;attempt;src_offset;name");
    CHECK_ROWS(db, "SELECT count(*) FROM sqlite_master WHERE name = 'metrics'"
               " AND sql LIKE '%WITHOUT ROWID%'", "1");
    sqlite3_close(db);
    reg_free(reg);
}

static void test_reopen(void)
{
    struct registry *reg = open_new("reopen.db");
    int64_t sweep = record_fixture(reg, "demo", 1);
    reg_free(reg);
    sqlite3 *db = raw_open("reopen.db");
    long long objects = raw_int(db, "SELECT count(*) FROM sqlite_master");

    reg = open_new("reopen.db");   /* CREATE on an existing registry: no-op */
    CHECK_INT(reg_schema_version(reg), REG_SCHEMA_VERSION);
    reg_free(reg);
    reg = NULL;
    CHECK_INT(reg_open(tmp_path("reopen.db"), REG_OPEN_EXISTING, &reg, NULL, 0), REG_OK);
    CHECK(reg != NULL);
    struct reg_sweep_info info = { 0 };
    CHECK_INT(reg_sweep_latest(reg, "demo", &info), REG_OK);
    CHECK_INT(info.rowid, sweep);
    CHECK_INT(info.n_runs, 3);
    reg_sweep_info_free(&info);
    reg_free(reg);

    CHECK_INT(raw_int(db, "SELECT count(*) FROM sqlite_master"), objects);
    CHECK_INT(raw_int(db, "PRAGMA user_version"), REG_SCHEMA_VERSION);
    CHECK_INT(raw_int(db, "SELECT count(*) FROM runs"), 3);
    sqlite3_close(db);
}

static void test_open_missing(void)
{
    struct registry *reg = (struct registry *)&reg;   /* must be reset to NULL */
    char err[512] = "";
    const char *path = tmp_path("missing.db");
    CHECK_INT(reg_open(path, REG_OPEN_EXISTING, &reg, err, sizeof(err)), REG_ERR_MISSING);
    CHECK(reg == NULL);
    CHECK(strstr(err, "missing.db") != NULL);
    CHECK(!file_exists(tmp_path("missing.db")));
    CHECK(!file_exists(tmp_path("missing.db-wal")));

    CHECK_INT(reg_open(tmp_path("nodir/x.db"), REG_OPEN_EXISTING, &reg, err, sizeof(err)),
              REG_ERR_MISSING);
    CHECK(!file_exists(tmp_path("nodir")));
    CHECK_INT(reg_open(tmp_path("nodir/x.db"), REG_OPEN_CREATE, &reg, err, sizeof(err)),
              REG_ERR_OPEN);
    CHECK_INT(reg_open(NULL, REG_OPEN_CREATE, &reg, err, sizeof(err)), REG_ERR_INVALID);
    CHECK_STR(reg_strerror(REG_ERR_MISSING), "no registry at that path");
}

static void test_newer_schema(void)
{
    sqlite3 *db = raw_open("newer.db");
    raw_exec(db, "PRAGMA user_version = 99");
    struct registry *reg = NULL;
    char err[512] = "";
    CHECK_INT(reg_open(tmp_path("newer.db"), REG_OPEN_CREATE, &reg, err, sizeof(err)),
              REG_ERR_NEWER_SCHEMA);
    CHECK(reg == NULL);
    CHECK(strstr(err, "newer.db") != NULL);
    CHECK(strstr(err, "99") != NULL);
    CHECK_INT(raw_int(db, "PRAGMA user_version"), 99);
    CHECK_INT(raw_int(db, "SELECT count(*) FROM sqlite_master"), 0);
    sqlite3_close(db);
}

/* A database as an older mainline left it: the first `version` migrations. */
static sqlite3 *raw_at_version(const char *name, int version)
{
    sqlite3 *db = raw_open(name);
    for (int v = 0; v < version; v++)
        for (const char *const *sql = reg_migrations[v]; *sql; sql++)
            raw_exec(db, *sql);
    char pragma[128];
    snprintf(pragma, sizeof(pragma), "PRAGMA application_id = %d; PRAGMA user_version = %d",
             REG_APPLICATION_ID, version);
    raw_exec(db, pragma);
    return db;
}

/* A registry written by version 1 of the schema gains evals.summary and
 * probe_answers (2), the report views (3), artifacts.source (4) and
 * sweeps.audit_json (5), and keeps every row it had. */
static void test_migrate_from_v1(void)
{
    sqlite3 *db = raw_at_version("v1.db", 1);
    raw_exec(db, "INSERT INTO sweeps (name, version, spec_path, spec_text, spec_sha256,"
                 " canon_json, canon_sha256) VALUES ('old', 1, 'a.yaml', '', 's', '{}', 'x');"
                 "INSERT INTO evals (sweep_id, dataset, contract_sha256, n, correct)"
                 " VALUES (1, 'bench', 'y', 4, 3)");
    struct registry *reg = NULL;
    CHECK_INT(reg_open(tmp_path("v1.db"), REG_OPEN_EXISTING, &reg, NULL, 0), REG_OK);
    CHECK_INT(reg_schema_version(reg), REG_SCHEMA_VERSION);
    reg_free(reg);
    CHECK_INT(raw_int(db, "PRAGMA user_version"), REG_SCHEMA_VERSION);
    CHECK_ROWS(db, "SELECT dataset, n, correct, summary IS NULL FROM evals", "bench|4|3|1");
    CHECK_ROWS(db, "SELECT name, audit_json IS NULL FROM sweeps", "old|1");
    CHECK_INT(raw_int(db, "SELECT count(*) FROM probe_answers"), 0);
    sqlite3_close(db);
}

/* A registry written by version 3 gains artifacts.source, NULL for the files it
 * already recorded (they were local paths). */
static void test_migrate_from_v3(void)
{
    sqlite3 *db = raw_at_version("v3.db", 3);
    raw_exec(db, "INSERT INTO sweeps (name, version, spec_path, spec_text, spec_sha256,"
                 " canon_json, canon_sha256) VALUES ('old', 1, 'a.yaml', '', 's', '{}', 'x');"
                 "INSERT INTO artifacts (sweep_id, role, name, path, bytes, sha256)"
                 " VALUES (1, 'dataset', 'train', '/d/train.jsonl', 10, 'abc')");
    struct registry *reg = NULL;
    CHECK_INT(reg_open(tmp_path("v3.db"), REG_OPEN_EXISTING, &reg, NULL, 0), REG_OK);
    CHECK_INT(reg_schema_version(reg), REG_SCHEMA_VERSION);
    reg_free(reg);
    CHECK_ROWS(db, "SELECT name, path, source IS NULL FROM artifacts", "train|/d/train.jsonl|1");
    sqlite3_close(db);
}

/* A registry written by version 6 keeps its batch jobs, which gain the columns of
 * version 7: NULL (not known), and not confirmed by accounting. */
static void test_migrate_from_v6(void)
{
    sqlite3 *db = raw_at_version("v6.db", 6);
    raw_exec(db, "INSERT INTO batch_jobs (job_id, executor, attempt, name, state,"
                 " submitted_at) VALUES (7, 'slurm', 1, 'mainline/x', 'COMPLETED', 'now')");
    struct registry *reg = NULL;
    CHECK_INT(reg_open(tmp_path("v6.db"), REG_OPEN_EXISTING, &reg, NULL, 0), REG_OK);
    CHECK_INT(reg_schema_version(reg), REG_SCHEMA_VERSION);
    reg_free(reg);
    CHECK_ROWS(db, "SELECT job_id, state, array_index, partition, nodes, elapsed_s,"
               " max_rss_bytes, acct_confirmed FROM batch_jobs",
               "7|COMPLETED|NULL|NULL|NULL|NULL|NULL|0");
    sqlite3_close(db);
}

/* A registry written by version 7 keeps its checkpoints, which gain kept and
 * checked_at, NULL: what became of them was not looked at; its runs gain
 * fail_stderr, NULL. */
static void test_migrate_from_v7(void)
{
    sqlite3 *db = raw_at_version("v7.db", 7);
    raw_exec(db, "INSERT INTO sweeps (name, version, spec_path, spec_text, spec_sha256,"
                 " canon_json, canon_sha256) VALUES ('old', 1, 'a.yaml', '', 's', '{}', 'x');"
                 "INSERT INTO runs (sweep_id, run_id, ord, stage, params)"
                 " VALUES (1, 'r', 0, 'main', '{}');"
                 "INSERT INTO checkpoints (run, attempt, step, path, bytes)"
                 " VALUES (1, 1, 10, 'checkpoints/step-10', 42)");
    struct registry *reg = NULL;
    CHECK_INT(reg_open(tmp_path("v7.db"), REG_OPEN_EXISTING, &reg, NULL, 0), REG_OK);
    CHECK_INT(reg_schema_version(reg), REG_SCHEMA_VERSION);
    reg_free(reg);
    CHECK_ROWS(db, "SELECT step, path, bytes, sha256, kept, checked_at FROM checkpoints",
               "10|checkpoints/step-10|42|NULL|NULL|NULL");
    CHECK_ROWS(db, "SELECT run_id, fail_stderr FROM runs", "r|NULL");
    /* and kept takes 0 or 1 only */
    CHECK(sqlite3_exec(db, "UPDATE checkpoints SET kept = 2", NULL, NULL, NULL) != SQLITE_OK);
    sqlite3_close(db);
}

/* A registry written by version 8 keeps its evaluations, which gain the quantised
 * model's columns, NULL: no quantised evaluation; quant_correct cannot exceed quant_n. */
static void test_migrate_from_v8(void)
{
    sqlite3 *db = raw_at_version("v8.db", 8);
    raw_exec(db, "INSERT INTO sweeps (name, version, spec_path, spec_text, spec_sha256,"
                 " canon_json, canon_sha256) VALUES ('old', 1, 'a.yaml', '', 's', '{}', 'x');"
                 "INSERT INTO evals (sweep_id, dataset, contract_sha256, n, correct, accuracy)"
                 " VALUES (1, 'bench', 'y', 4, 3, 0.75)");
    struct registry *reg = NULL;
    CHECK_INT(reg_open(tmp_path("v8.db"), REG_OPEN_EXISTING, &reg, NULL, 0), REG_OK);
    CHECK_INT(reg_schema_version(reg), REG_SCHEMA_VERSION);
    reg_free(reg);
    CHECK_ROWS(db, "SELECT dataset, n, correct, accuracy, quant, quant_n, quant_correct,"
               " quant_accuracy, quant_seconds, quant_tok_per_s, quant_gguf_bytes FROM evals",
               "bench|4|3|0.75|NULL|NULL|NULL|NULL|NULL|NULL|NULL");
    raw_exec(db, "UPDATE evals SET quant = 'q4_0', quant_n = 4, quant_correct = 2,"
                 " quant_accuracy = 0.5");
    CHECK(sqlite3_exec(db, "UPDATE evals SET quant_correct = 5", NULL, NULL, NULL) != SQLITE_OK);
    sqlite3_close(db);
}

static void test_migrate_from_v0(void)
{
    FILE *f = fopen(tmp_path("v0.db"), "w");   /* an empty file is a version-0 database */
    CHECK(f != NULL);
    if (f)
        fclose(f);
    struct registry *reg = NULL;
    CHECK_INT(reg_open(tmp_path("v0.db"), REG_OPEN_EXISTING, &reg, NULL, 0), REG_OK);
    CHECK_INT(reg_schema_version(reg), REG_SCHEMA_VERSION);
    reg_free(reg);
    sqlite3 *db = raw_open("v0.db");
    CHECK_INT(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'sweeps'"), 1);
    sqlite3_close(db);

    /* Somebody else's database (version 0 but not empty) is left alone. */
    db = raw_open("foreign.db");
    raw_exec(db, "CREATE TABLE notes (x TEXT)");
    char err[512] = "";
    CHECK_INT(reg_open(tmp_path("foreign.db"), REG_OPEN_EXISTING, &reg, err, sizeof(err)),
              REG_ERR_OPEN);
    CHECK(strstr(err, "not a mainline registry") != NULL);
    CHECK_INT(raw_int(db, "SELECT count(*) FROM sqlite_master"), 1);
    CHECK_INT(raw_int(db, "PRAGMA user_version"), 0);
    sqlite3_close(db);

    f = fopen(tmp_path("junk.db"), "w");
    if (f) {
        for (int i = 0; i < 64; i++)
            fputs("this is not an sqlite database. ", f);
        fclose(f);
    }
    CHECK_INT(reg_open(tmp_path("junk.db"), REG_OPEN_EXISTING, &reg, err, sizeof(err)),
              REG_ERR_OPEN);
}

/* ---- the damage check at open ---- */

static char *read_whole(const char *path, size_t *len)
{
    char *data = NULL;
    struct strbuf err = STRBUF_INIT;
    if (read_file(path, &data, len, &err) < 0) {
        fprintf(stderr, "%s\n", err.buf);
        exit(1);
    }
    sb_free(&err);
    return data;
}

static nlink_t link_count(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_nlink : 0;
}

/* Text over the page header of `table`'s root page: no longer a b-tree page. */
static void damage_root_page(const char *name, const char *table)
{
    sqlite3 *db = raw_open(name);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT rootpage FROM sqlite_master WHERE name = '%s'", table);
    long long page = raw_int(db, sql);
    long long size = raw_int(db, "PRAGMA page_size");
    sqlite3_close(db);   /* the last connection: the WAL is in the file now */
    FILE *f = fopen(tmp_path(name), "r+b");
    CHECK(f != NULL && page > 1);
    if (!f)
        return;
    fseek(f, (long)((page - 1) * size), SEEK_SET);
    fputs("not a b-tree page, not a b-tree page", f);
    fclose(f);
}

/* A closed registry with its stamp is opened without a check; a damaged one is
 * refused, in either mode, byte for byte as it was, with the way out. */
static void test_damaged_refused(void)
{
    struct registry *reg = open_new("damaged.db");
    record_fixture(reg, "demo", 1);
    reg_free(reg);
    char stamp[4400], link_path[4400];
    snprintf(stamp, sizeof(stamp), "%s", tmp_path("damaged.db.checked"));
    snprintf(link_path, sizeof(link_path), "%s", tmp_path("stamp-link"));
    CHECK(file_exists(stamp));   /* reg_free stamped what it wrote */
    CHECK_INT(link(stamp, link_path), 0);
    reg = NULL;
    CHECK_INT(reg_open(tmp_path("damaged.db"), REG_OPEN_EXISTING, &reg, NULL, 0), REG_OK);
    reg_free(reg);
    CHECK_INT(link_count(stamp), 2);   /* not checked, so not stamped again */
    unlink(link_path);

    damage_root_page("damaged.db", "runs");
    size_t len_before, len_after;
    char *before = read_whole(tmp_path("damaged.db"), &len_before);
    char err[4096] = "";
    for (int mode = 0; mode < 2; mode++) {
        reg = (struct registry *)&reg;
        CHECK_INT(reg_open(tmp_path("damaged.db"), mode ? REG_OPEN_CREATE : REG_OPEN_EXISTING,
                           &reg, err, sizeof(err)), REG_ERR_DAMAGED);
        CHECK(reg == NULL);
        CHECK(strstr(err, "damaged.db' is damaged (PRAGMA quick_check: ") != NULL);
        CHECK(strstr(err, "); nothing was changed.\n") != NULL);
        CHECK(strstr(err, " .recover | sqlite3 ") != NULL);
        CHECK(strstr(err, "damaged-recovered.db 'PRAGMA user_version = 9; ") != NULL);
        CHECK(!file_exists(stamp));
    }
    char *after = read_whole(tmp_path("damaged.db"), &len_after);
    CHECK(len_before == len_after && memcmp(before, after, len_before) == 0);
    free(before);
    free(after);
    CHECK_STR(reg_strerror(REG_ERR_DAMAGED), "damaged registry");
}

/* SQLite 3.40.1 reports "NULL value in metrics.step" (and .name) for every row of
 * metrics when nothing is wrong; that is not damage. */
static void test_metrics_rows_not_damage(void)
{
    struct registry *reg = open_new("metrics-rows.db");
    record_fixture(reg, "demo", 1);
    reg_free(reg);
    sqlite3 *db = raw_open("metrics-rows.db");   /* a change from outside: checked */
    raw_exec(db, "INSERT INTO metrics (run, attempt, step, name, value, src_offset)"
                 " VALUES (1, 1, 10, 'loss', 2.0, 0), (1, 1, 10, 'val_nll', 0.5, 0)");
    sqlite3_close(db);
    char err[4096] = "";
    reg = NULL;
    CHECK_INT(reg_open(tmp_path("metrics-rows.db"), REG_OPEN_EXISTING, &reg, err, sizeof(err)),
              REG_OK);
    if (!reg)
        fprintf(stderr, "%s\n", err);
    reg_free(reg);
    CHECK(file_exists(tmp_path("metrics-rows.db.checked")));
}

/* ---- recording and reading back ---- */

static void check_sweep_info(struct registry *reg, int64_t rowid)
{
    struct reg_sweep_info info = { 0 };
    CHECK_INT(reg_sweep_latest(reg, "demo", &info), REG_OK);
    CHECK_INT(info.rowid, rowid);
    CHECK_STR(info.name, "demo");
    CHECK_INT(info.version, 1);
    CHECK_STR(info.spec_path, "sweeps/demo.yaml");
    CHECK_STR(info.canon_json, "{\"name\":\"demo\"}");
    CHECK_STR(info.canon_sha256, SHA_CANON);
    CHECK_STR(info.contract_sha256, SHA_CONTR);
    CHECK(is_utc_timestamp(info.created_at));
    CHECK_STR(info.git_status, "ok");
    CHECK_STR(info.git_commit, COMMIT);
    CHECK_STR(info.git_branch, "main");
    CHECK_INT(info.git_dirty, 1);
    CHECK_INT(info.n_runs, 3);
    reg_sweep_info_free(&info);
    CHECK(info.name == NULL);
    reg_sweep_info_free(&info);   /* a released (zeroed) struct is fine */
    CHECK_INT(reg_sweep_latest(reg, "nope", &info), REG_ERR_NOT_FOUND);
    CHECK(info.name == NULL);
}

static void check_runs(const struct got_runs *g, int64_t sweep)
{
    CHECK_INT(g->n, 3);
    CHECK_STR(sb_str(&g->ids), "lr-att-3e-4,lr-base-1e-3,main-att-s1");
    const struct got_run *a = &g->r[0], *b = &g->r[1], *c = &g->r[2];
    CHECK_INT(a->sweep_rowid, sweep);
    CHECK_STR(a->sweep, "demo");
    CHECK_INT(a->version, 1);
    CHECK_STR(a->stage, "lr_select");
    CHECK_STR(a->condition, "attention_only");
    CHECK_INT(a->has_lr, 1);
    CHECK(a->lr == 3e-4);
    CHECK_INT(a->has_seed, 1);
    CHECK_INT(a->seed, 0);
    CHECK_STR(a->params, "{\"condition\":\"attention_only\",\"lr\":0.0003,\"rank\":8,\"seed\":0}");
    CHECK(a->pending == NULL);
    CHECK_STR(a->state, "planned");
    CHECK_INT(a->attempt, 0);
    CHECK(is_utc_timestamp(a->created_at));
    CHECK(a->started_at == NULL && a->finished_at == NULL && a->run_dir == NULL);
    CHECK_INT(a->has_exit_status, 0);

    CHECK(b->condition == NULL);
    CHECK(b->lr == 1e-3);
    CHECK_STR(b->stage, "lr_select");

    CHECK_STR(c->stage, "main");
    CHECK_INT(c->has_lr, 0);
    CHECK_INT(c->seed, 1);
    CHECK_STR(c->pending, "{\"lr\":\"lr_select\"}");
    CHECK_STR(c->state, "waiting");
    CHECK(a->rowid < b->rowid && b->rowid < c->rowid);
}

static void test_record_and_read(void)
{
    struct registry *reg = open_new("record.db");
    int64_t sweep = record_fixture(reg, "demo", 1);
    CHECK(sweep > 0);
    check_sweep_info(reg, sweep);

    struct got_runs g = { 0 };
    CHECK_INT(reg_query_runs(reg, NULL, collect_run, &g), REG_OK);
    check_runs(&g, sweep);

    struct got_artifacts ga = { STRBUF_INIT };
    CHECK_INT(reg_run_artifacts(reg, g.r[0].rowid, collect_artifact, &ga), REG_OK);
    CHECK_STR(sb_str(&ga.text), "base_model|tiny-llm|models/tiny-llm.bin|11111111|123456|-1|"
              "https://example.org/tiny.tar.gz#tiny-llm.bin;"
              "dataset|train|data/train.jsonl|22222222|2048|100|-");
    sb_reset(&ga.text);
    CHECK_INT(reg_run_artifacts(reg, g.r[2].rowid, collect_artifact, &ga), REG_OK);
    CHECK_STR(sb_str(&ga.text), "base_model|tiny-llm|models/tiny-llm.bin|11111111|123456|-1|"
              "https://example.org/tiny.tar.gz#tiny-llm.bin");
    CHECK_INT(reg_run_artifacts(reg, 999999, collect_artifact, &ga), REG_ERR_NOT_FOUND);
    sb_free(&ga.text);
    got_runs_free(&g);

    /* What is on disk: NULLs where the input had none, types, plan order, the event. */
    sqlite3 *db = raw_open("record.db");
    CHECK_ROWS(db, "SELECT role, name, bytes, rows IS NULL FROM artifacts ORDER BY id",
               "base_model|tiny-llm|123456|1;dataset|train|2048|0");
    CHECK_ROWS(db, "SELECT run_id, ord, typeof(lr), typeof(seed), condition IS NULL,"
               " pending IS NULL FROM runs ORDER BY ord",
               "lr-att-3e-4|0|real|integer|0|1;lr-base-1e-3|1|real|integer|1|1;"
               "main-att-s1|2|null|integer|0|0");
    CHECK_INT(raw_int(db, "SELECT count(*) FROM run_artifacts"), 5);
    CHECK_ROWS(db, "SELECT git_root, git_diff, spec_text, contract_json, audit_json FROM sweeps",
               "/src|diff --git a/x b/x\n|name: demo\n|{\"evaluation\":{}}|{\"passed\":true}");
    CHECK_ROWS(db, "SELECT kind, sweep_id = (SELECT id FROM sweeps), run IS NULL,"
               " json_extract(data, '$.runs'), json_extract(data, '$.git_commit'), message"
               " FROM events",
               "plan|1|1|3|" COMMIT "|planned sweep 'demo' version 1: 3 runs");
    sqlite3_close(db);
    reg_free(reg);
}

static void test_git_nulls(void)
{
    struct registry *reg = open_new("nogit.db");
    struct reg_sweep_in in = fixture("plain", 1);
    in.git = (struct reg_git_in){ "not a git repository", NULL, NULL, NULL, 0, NULL };
    in.contract_json = NULL;
    in.contract_sha256 = NULL;
    CHECK_INT(reg_record_sweep(reg, &in, NULL), REG_OK);
    struct reg_sweep_info info = { 0 };
    CHECK_INT(reg_sweep_latest(reg, "plain", &info), REG_OK);
    CHECK_STR(info.git_status, "not a git repository");
    CHECK(info.git_commit == NULL && info.git_branch == NULL && info.contract_sha256 == NULL);
    CHECK_INT(info.git_dirty, 0);
    reg_sweep_info_free(&info);
    reg_free(reg);
}

/* ---- failures leave nothing behind ---- */

static char *row_counts(sqlite3 *db)
{
    return raw_rows(db, "SELECT (SELECT count(*) FROM sweeps), (SELECT count(*) FROM artifacts),"
                    " (SELECT count(*) FROM runs), (SELECT count(*) FROM run_artifacts),"
                    " (SELECT count(*) FROM events)");
}

static void test_conflict(void)
{
    struct registry *reg = open_new("conflict.db");
    record_fixture(reg, "demo", 1);
    sqlite3 *db = raw_open("conflict.db");
    char *before = row_counts(db);
    CHECK_STR(before, "1|2|3|5|1");

    struct reg_sweep_in in = fixture("demo", 1);
    int64_t rowid = -7;
    CHECK_INT(reg_record_sweep(reg, &in, &rowid), REG_ERR_CONFLICT);
    CHECK_INT(rowid, -7);
    CHECK(strstr(reg_errmsg(reg), "'demo' version 1") != NULL);

    /* Version 2 fails at its third run, after the sweep row and two runs went in. */
    struct reg_run_in runs[3];
    memcpy(runs, fixture_runs, sizeof(runs));
    runs[2].run_id = runs[0].run_id;
    in = fixture("demo", 2);
    in.runs = runs;
    CHECK_INT(reg_record_sweep(reg, &in, NULL), REG_ERR_CONFLICT);
    CHECK(strstr(reg_errmsg(reg), "lr-att-3e-4") != NULL);

    runs[2] = fixture_runs[2];
    size_t bad_index[] = { 0, 2 };
    runs[1].artifacts = bad_index;
    CHECK_INT(reg_record_sweep(reg, &in, NULL), REG_ERR_INVALID);
    runs[1] = fixture_runs[1];
    runs[1].params_json = "{not json";
    CHECK_INT(reg_record_sweep(reg, &in, NULL), REG_ERR_INVALID);

    char *after = row_counts(db);
    CHECK_STR(after, before);
    free(after);
    free(before);

    in = fixture("demo", 2);
    CHECK_INT(reg_record_sweep(reg, &in, &rowid), REG_OK);
    CHECK_INT(rowid, 2);
    CHECK_ROWS(db, "SELECT name, version FROM v_latest_sweeps", "demo|2");
    sqlite3_close(db);
    reg_free(reg);
}

/* ---- filters ---- */

static void test_filters_columns(struct registry *reg)
{
    CHECK_WHERE(reg, "condition", FILTER_EQ, "attention_only", "lr-att-3e-4,main-att-s1");
    CHECK_WHERE(reg, "seed", FILTER_EQ, "0", "lr-att-3e-4,lr-base-1e-3");
    CHECK_WHERE(reg, "lr", FILTER_EQ, "3e-4", "lr-att-3e-4");
    CHECK_WHERE(reg, "lr", FILTER_EQ, "0.0003", "lr-att-3e-4");
    CHECK_WHERE(reg, "condition", FILTER_NE, "attention_only", "lr-base-1e-3");
    CHECK_WHERE(reg, "lr", FILTER_LT, "0.001", "lr-att-3e-4");
    CHECK_WHERE(reg, "lr", FILTER_LE, "1e-3", "lr-att-3e-4,lr-base-1e-3");
    CHECK_WHERE(reg, "lr", FILTER_NE, "3e-4", "lr-base-1e-3,main-att-s1");
    CHECK_WHERE(reg, "seed", FILTER_GE, "1", "main-att-s1");
    CHECK_WHERE(reg, "seed", FILTER_GT, "0", "main-att-s1");
    CHECK_WHERE(reg, "state", FILTER_EQ, "waiting", "main-att-s1");
    CHECK_WHERE(reg, "stage", FILTER_EQ, "lr_select", "lr-att-3e-4,lr-base-1e-3");
    CHECK_WHERE(reg, "run", FILTER_EQ, "lr-base-1e-3", "lr-base-1e-3");
    CHECK_WHERE(reg, "attempt", FILTER_EQ, "0", "lr-att-3e-4,lr-base-1e-3,main-att-s1");
    CHECK_WHERE(reg, "sweep", FILTER_EQ, "demo", "lr-att-3e-4,lr-base-1e-3,main-att-s1");
}

static void test_filters_params(struct registry *reg)
{
    CHECK_WHERE(reg, "rank", FILTER_EQ, "8", "lr-att-3e-4,main-att-s1");
    CHECK_WHERE(reg, "rank", FILTER_EQ, "8.0", "lr-att-3e-4,main-att-s1");
    CHECK_WHERE(reg, "rank", FILTER_GT, "8", "lr-base-1e-3");
    CHECK_WHERE(reg, "rank", FILTER_NE, "8", "lr-base-1e-3");
    CHECK_WHERE(reg, "condition", FILTER_EQ, "mlp_only", "");
    CHECK_WHERE(reg, "no_such_key", FILTER_EQ, "1", "");
    CHECK_WHERE(reg, "no_such_key", FILTER_NE, "1", "lr-att-3e-4,lr-base-1e-3,main-att-s1");
    CHECK_WHERE(reg, "_x9", FILTER_EQ, "1", "");
    /* 2^53 + 1 is no double: it must be bound as an integer to match. */
    CHECK_WHERE(reg, "tag", FILTER_EQ, "9007199254740993", "lr-base-1e-3");
    CHECK_WHERE(reg, "tag", FILTER_EQ, "9007199254740992", "");
}

static void test_filters_hostile(struct registry *reg, sqlite3 *db)
{
    char ids[256];
    CHECK_INT(ids_where(reg, "a;drop table runs", FILTER_EQ, "1", ids, sizeof(ids)),
              REG_ERR_INVALID);
    CHECK(strstr(reg_errmsg(reg), "'a;drop table runs'") != NULL);
    CHECK_INT(ids_where(reg, "rank')--", FILTER_EQ, "1", ids, sizeof(ids)), REG_ERR_INVALID);
    CHECK_INT(ids_where(reg, "9lives", FILTER_EQ, "1", ids, sizeof(ids)), REG_ERR_INVALID);
    CHECK_INT(ids_where(reg, "", FILTER_EQ, "1", ids, sizeof(ids)), REG_ERR_INVALID);
    CHECK_INT(ids_where(reg, "seed", (enum reg_filter_op)42, "1", ids, sizeof(ids)),
              REG_ERR_INVALID);
    CHECK_WHERE(reg, "condition", FILTER_EQ, "x' OR '1'='1", "");
    CHECK_WHERE(reg, "rank", FILTER_EQ, "8; DROP TABLE runs; --", "");
    CHECK_WHERE(reg, "stage", FILTER_EQ, "main\" OR 1=1 --", "");
    CHECK_INT(raw_int(db, "SELECT count(*) FROM runs"), 3);
    CHECK_INT(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'runs'"), 1);
}

static void test_filters_query(struct registry *reg)
{
    struct reg_filter_term terms[] = {
        { "condition", FILTER_EQ, "attention_only" },
        { "seed", FILTER_EQ, "0" },
    };
    struct reg_run_query q = { .sweep = "demo", .terms = terms, .n_terms = 2 };
    struct got_runs g = { 0 };
    CHECK_INT(reg_query_runs(reg, &q, collect_run, &g), REG_OK);
    CHECK_STR(sb_str(&g.ids), "lr-att-3e-4");
    got_runs_free(&g);

    q = (struct reg_run_query){ .run_id = "main-att-s1" };
    CHECK_INT(reg_query_runs(reg, &q, collect_run, &g), REG_OK);
    CHECK_STR(sb_str(&g.ids), "main-att-s1");
    got_runs_free(&g);

    q = (struct reg_run_query){ .sweep = "nope" };   /* no such sweep: no rows */
    CHECK_INT(reg_query_runs(reg, &q, collect_run, &g), REG_OK);
    CHECK_INT(g.n, 0);

    g.stop_after = 1;
    CHECK_INT(reg_query_runs(reg, NULL, collect_run, &g), REG_OK);
    CHECK_INT(g.n, 1);
    got_runs_free(&g);
    CHECK_INT(reg_query_runs(reg, NULL, NULL, NULL), REG_ERR_INVALID);
}

static void test_filters_versions(struct registry *reg)
{
    struct reg_sweep_in in = fixture("demo", 2);
    in.runs = &fixture_runs[2];
    in.n_runs = 1;
    CHECK_INT(reg_record_sweep(reg, &in, NULL), REG_OK);
    in = fixture("alpha", 1);
    in.n_runs = 1;
    CHECK_INT(reg_record_sweep(reg, &in, NULL), REG_OK);

    struct got_runs g = { .with_version = 1 };
    CHECK_INT(reg_query_runs(reg, NULL, collect_run, &g), REG_OK);
    CHECK_STR(sb_str(&g.ids), "alpha@1:lr-att-3e-4,demo@2:main-att-s1");
    got_runs_free(&g);

    g.with_version = 1;
    struct reg_run_query q = { .sweep = "demo", .all_versions = 1 };
    CHECK_INT(reg_query_runs(reg, &q, collect_run, &g), REG_OK);
    CHECK_STR(sb_str(&g.ids), "demo@1:lr-att-3e-4,demo@1:lr-base-1e-3,demo@1:main-att-s1,"
              "demo@2:main-att-s1");
    got_runs_free(&g);
}

/* Text columns compare as typed; params values follow the number-or-text rule. */
static void test_filters_text_columns(void)
{
    struct registry *reg = open_new("textcols.db");
    struct reg_run_in runs[2] = { fixture_runs[0], fixture_runs[1] };
    runs[0].condition = "007";
    runs[0].params_json = "{\"code\":\"007\",\"n\":7}";
    runs[1].condition = "7";
    runs[1].stage = "1e5";
    struct reg_sweep_in in = fixture("digits", 1);
    in.runs = runs;
    in.n_runs = 2;
    CHECK_INT(reg_record_sweep(reg, &in, NULL), REG_OK);
    CHECK_WHERE(reg, "condition", FILTER_EQ, "007", "lr-att-3e-4");
    CHECK_WHERE(reg, "condition", FILTER_EQ, "7", "lr-base-1e-3");
    CHECK_WHERE(reg, "stage", FILTER_EQ, "1e5", "lr-base-1e-3");
    CHECK_WHERE(reg, "stage", FILTER_EQ, "100000", "");
    CHECK_WHERE(reg, "n", FILTER_EQ, "7", "lr-att-3e-4");
    CHECK_WHERE(reg, "n", FILTER_EQ, "007", "lr-att-3e-4");
    CHECK_WHERE(reg, "code", FILTER_EQ, "007", "");
    reg_free(reg);
}

static void test_filters(void)
{
    struct registry *reg = open_new("filters.db");
    record_fixture(reg, "demo", 1);
    sqlite3 *db = raw_open("filters.db");
    test_filters_columns(reg);
    test_filters_params(reg);
    test_filters_hostile(reg, db);
    test_filters_query(reg);
    test_filters_versions(reg);
    sqlite3_close(db);
    reg_free(reg);
}

/* ---- stage summary and views ---- */

static char *summary(struct registry *reg, const char *sweep, enum reg_status *st)
{
    struct strbuf sb = STRBUF_INIT;
    *st = reg_stage_summary(reg, sweep, collect_stage, &sb);
    return sb_detach(&sb);
}

#define CHECK_SUMMARY(reg, sweep, want_st, want) do { \
    enum reg_status st_; \
    char *s_ = summary((reg), (sweep), &st_); \
    CHECK_INT(st_, (want_st)); \
    CHECK_STR(s_, (want)); \
    free(s_); \
} while (0)

static void test_stage_summary(void)
{
    struct registry *reg = open_new("summary.db");
    record_fixture(reg, "demo", 1);
    CHECK_SUMMARY(reg, "demo", REG_OK,
                  "demo@1/lr_select w0 p2 r0 d0 f0 c0 =2;demo@1/main w1 p0 r0 d0 f0 c0 =1");

    sqlite3 *db = raw_open("summary.db");
    raw_exec(db, "UPDATE runs SET state = 'running' WHERE run_id = 'lr-att-3e-4';"
             "UPDATE runs SET state = 'cancelled' WHERE run_id = 'lr-base-1e-3'");
    CHECK_SUMMARY(reg, "demo", REG_OK,
                  "demo@1/lr_select w0 p0 r1 d0 f0 c1 =2;demo@1/main w1 p0 r0 d0 f0 c0 =1");
    raw_exec(db, "UPDATE runs SET state = 'done' WHERE run_id = 'lr-att-3e-4';"
             "UPDATE runs SET state = 'failed' WHERE run_id = 'lr-base-1e-3'");
    CHECK_SUMMARY(reg, "demo", REG_OK,
                  "demo@1/lr_select w0 p0 r0 d1 f1 c0 =2;demo@1/main w1 p0 r0 d0 f0 c0 =1");

    /* Stages come in plan order, not by name: put "main" first in a second sweep. */
    struct reg_run_in runs[2] = { fixture_runs[2], fixture_runs[0] };
    struct reg_sweep_in in = fixture("beta", 1);
    in.runs = runs;
    in.n_runs = 2;
    CHECK_INT(reg_record_sweep(reg, &in, NULL), REG_OK);
    CHECK_SUMMARY(reg, NULL, REG_OK,
                  "beta@1/main w1 p0 r0 d0 f0 c0 =1;beta@1/lr_select w0 p1 r0 d0 f0 c0 =1;"
                  "demo@1/lr_select w0 p0 r0 d1 f1 c0 =2;demo@1/main w1 p0 r0 d0 f0 c0 =1");

    /* Only the latest version counts. */
    in = fixture("demo", 2);
    in.n_runs = 1;
    CHECK_INT(reg_record_sweep(reg, &in, NULL), REG_OK);
    CHECK_SUMMARY(reg, "demo", REG_OK, "demo@2/lr_select w0 p1 r0 d0 f0 c0 =1");
    CHECK_SUMMARY(reg, "nope", REG_OK, "");
    sqlite3_close(db);
    reg_free(reg);
}

/*
 * Metrics as the ingester will write them. Run a's first attempt logged a better
 * val_nll than its second, which started from scratch (base_attempt 2); only the
 * current lineage counts.
 */
static const char view_fixture_sql[] =
    "INSERT INTO metrics (run, attempt, step, name, value, src_offset) VALUES"
    " (1, 1, 10, 'loss', 2.0, 0), (1, 1, 10, 'val_nll', 0.5, 0),"
    " (1, 2, 10, 'loss', 2.5, 0), (1, 2, 10, 'val_nll', 1.75, 0),"
    " (1, 2, 20, 'loss', 1.5, 100), (1, 2, 20, 'val_nll', 1.25, 100),"
    " (1, 2, 30, 'loss', 1.25, 200), (1, 2, 30, 'val_nll', 1.25, 200),"
    " (1, 2, 40, 'tokens', 4096, 300),"
    " (2, 1, 10, 'val_nll', 1.0, 0);"
    "UPDATE runs SET attempt = 2, base_attempt = 2, state = 'done' WHERE id = 1;"
    "UPDATE runs SET attempt = 1, state = 'running' WHERE id = 2;"
    "INSERT INTO evals (run, sweep_id, checkpoint_step, dataset, contract_sha256, n, correct,"
    " accuracy) VALUES (1, 1, 20, 'test', 'c', 4, 1, 0.25), (1, 1, 30, 'test', 'c', 4, 3, 0.75),"
    " (NULL, 1, NULL, 'test', 'c', 4, 0, 0.0);";

static void test_views(void)
{
    struct registry *reg = open_new("views.db");
    record_fixture(reg, "demo", 1);
    sqlite3 *db = raw_open("views.db");
    raw_exec(db, "PRAGMA foreign_keys = ON");
    raw_exec(db, view_fixture_sql);
    CHECK_ROWS(db, "SELECT run_id, state, attempt, last_step, last_train_loss, best_val_nll,"
               " best_val_step, eval_accuracy FROM v_runs WHERE sweep = 'demo' ORDER BY ord",
               "lr-att-3e-4|done|2|40|1.25|1.25|20|0.75;"
               "lr-base-1e-3|running|1|10|NULL|1.0|10|NULL;"
               "main-att-s1|waiting|0|NULL|NULL|NULL|NULL|NULL");
    CHECK_ROWS(db, "SELECT sweep, version, condition, lr, seed, run_dir, pending"
               " FROM v_runs ORDER BY ord",
               "demo|1|attention_only|0.0003|0|NULL|NULL;demo|1|NULL|0.001|0|NULL|NULL;"
               "demo|1|attention_only|NULL|1|NULL|{\"lr\":\"lr_select\"}");
    CHECK_ROWS(db, "SELECT sweep, version, stage, runs, waiting, planned, running, done,"
               " failed, cancelled, best_val_nll FROM v_stage_summary ORDER BY first_ord",
               "demo|1|lr_select|2|0|0|1|1|0|0|1.0;demo|1|main|1|1|0|0|0|0|0|NULL");
    CHECK_ROWS(db, "SELECT name, version, n_runs, git_commit FROM v_latest_sweeps",
               "demo|1|3|" COMMIT);
    /* Ingesting the same line twice is refused by the unique key. */
    CHECK(sqlite3_exec(db, "INSERT INTO metrics (run, attempt, step, name, value, src_offset)"
                       " VALUES (1, 2, 10, 'loss', 2.5, 0)", NULL, NULL, NULL)
          == SQLITE_CONSTRAINT);
    sqlite3_close(db);
    reg_free(reg);
}

/* ---- kept statements ---- */

/* Statements prepared on a connection, and those of them stepped but not reset. */
static int count_statements(sqlite3 *db, int only_busy)
{
    int n = 0;
    for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st; st = sqlite3_next_stmt(db, st))
        n += !only_busy || sqlite3_stmt_busy(st);
    return n;
}

struct nested {
    struct registry *reg;
    int rows;
    char *inner;   /* what the same query said from inside the walk */
};

static int summary_inside(const struct reg_stage_row *row, void *ud)
{
    struct nested *n = ud;
    (void)row;
    if (n->rows++ == 0) {
        enum reg_status st;
        n->inner = summary(n->reg, "demo", &st);
        CHECK_INT(st, REG_OK);
    }
    return 0;
}

static void test_kept_statements(void)
{
    struct registry *reg = open_new("kept.db");
    int64_t sweep = record_fixture(reg, "demo", 1);
    const char *want = "demo@1/lr_select w0 p2 r0 d0 f0 c0 =2;demo@1/main w1 p0 r0 d0 f0 c0 =1";
    CHECK_SUMMARY(reg, "demo", REG_OK, want);
    check_sweep_info(reg, sweep);
    int kept = count_statements(reg->db, 0);
    CHECK(kept > 0);
    CHECK_SUMMARY(reg, "demo", REG_OK, want);
    check_sweep_info(reg, sweep);
    CHECK_INT(count_statements(reg->db, 0), kept);   /* nothing compiled twice */
    struct reg_sweep_info info = { 0 };
    CHECK_INT(reg_sweep_latest(reg, "demo", &info), REG_OK);   /* one row of LIMIT 1 read */
    reg_sweep_info_free(&info);
    CHECK_INT(count_statements(reg->db, 1), 0);      /* every one reset after use */

    /* A walk whose callback runs the same query: the inner one gets its own. */
    struct nested n = { reg, 0, NULL };
    CHECK_INT(reg_stage_summary(reg, "demo", summary_inside, &n), REG_OK);
    CHECK_INT(n.rows, 2);
    CHECK_STR(n.inner, want);
    free(n.inner);
    CHECK_INT(count_statements(reg->db, 0), kept);

    /* Between calls the registry holds no snapshot: it sees another connection's
     * write, and that connection can checkpoint the whole log away. */
    sqlite3 *db = raw_open("kept.db");
    raw_exec(db, "UPDATE runs SET state = 'done' WHERE run_id = 'lr-att-3e-4'");
    CHECK_SUMMARY(reg, "demo", REG_OK,
                  "demo@1/lr_select w0 p1 r0 d1 f0 c0 =2;demo@1/main w1 p0 r0 d0 f0 c0 =1");
    CHECK_INT(reg_sweep_latest(reg, "demo", &info), REG_OK);
    reg_sweep_info_free(&info);
    CHECK_ROWS(db, "PRAGMA wal_checkpoint(TRUNCATE)", "0|0|0");
    sqlite3_close(db);
    reg_free(reg);
}

/* ---- ingesting metrics ---- */

/* reg_ingest inserts metrics 64 to a statement and the rest one by one: 150 rows
 * are two statements of 64 and 22 single rows. Sending rows 100-249 again keeps
 * the first values of 100-149 (the key is the source line) and adds 150-249. */
static void test_ingest_batches(void)
{
    struct registry *reg = open_new("ingest.db");
    record_fixture(reg, "demo", 1);
    struct got_runs g = { 0 };
    CHECK_INT(reg_query_runs(reg, NULL, collect_run, &g), REG_OK);
    int64_t run = g.r[0].rowid;
    got_runs_free(&g);

    enum { N = 250 };
    struct reg_metric_in m[N];
    for (int i = 0; i < N; i++)
        m[i] = (struct reg_metric_in){ i / 2, i % 2 ? "lr" : "loss", i + 0.5, 100 * (i / 2) };
    struct reg_ingest_in in = { .run = run, .attempt = 1, .file = "metrics", .offset = 7500,
                                .line = 75, .metrics = m, .n_metrics = 150 };
    CHECK_INT(reg_ingest(reg, &in), REG_OK);
    for (int i = 100; i < N; i++)
        m[i].value = -1;
    in.metrics = m + 100;
    in.offset = 12500;
    in.line = 125;
    CHECK_INT(reg_ingest(reg, &in), REG_OK);

    sqlite3 *db = raw_open("ingest.db");
    CHECK_ROWS(db, "SELECT count(*), sum(value = -1), min(step), max(step),"
               " count(DISTINCT src_offset) FROM metrics", "250|100|0|124|125");
    CHECK_ROWS(db, "SELECT step, name, value, src_offset FROM metrics"
               " WHERE step IN (0, 63, 74, 75) ORDER BY step, name",
               "0|loss|0.5|0;0|lr|1.5|0;63|loss|126.5|6300;63|lr|127.5|6300;"
               "74|loss|148.5|7400;74|lr|149.5|7400;75|loss|-1.0|7500;75|lr|-1.0|7500");
    CHECK_ROWS(db, "SELECT offset, line FROM ingest_offsets", "12500|125");
    sqlite3_close(db);
    reg_free(reg);
}

/* ---- a busy registry, and an evaluation recorded with its end ---- */

/* reg_run_batch_jobs rows as "ID aATTEMPT STATE REASON PARTITION NODES ELAPSED RSS
 * CONFIRMED;" ('-' for what is not known). */
struct got_batch_jobs {
    char *text;
};

static int collect_batch_job(const struct reg_batch_job_row *r, void *ud)
{
    struct got_batch_jobs *g = ud;
    struct strbuf sb = STRBUF_INIT;
    if (g->text)
        sb_adds(&sb, g->text);
    sb_addf(&sb, "%lld a%d %s %s %s %s ", (long long)r->job_id, r->attempt,
            r->state ? r->state : "-", r->reason ? r->reason : "-",
            r->partition ? r->partition : "-", r->nodes ? r->nodes : "-");
    sb_addf(&sb, r->has_elapsed ? "%lld " : "- ", (long long)r->elapsed_s);
    sb_addf(&sb, r->has_max_rss ? "%lld " : "- ", (long long)r->max_rss_bytes);
    sb_addf(&sb, "%d;", r->acct_confirmed);
    free(g->text);
    g->text = sb_detach(&sb);
    return 0;
}

/* Another connection holding the write lock past the busy timeout is REG_ERR_BUSY,
 * a status to wait on (reg_status_transient), not a failure of what was recorded. */
static void test_busy_is_transient(void)
{
    struct registry *reg = open_new("busy.db");
    record_fixture(reg, "demo", 1);
    struct got_runs g = { 0 };
    CHECK_INT(reg_query_runs(reg, NULL, collect_run, &g), REG_OK);
    int64_t run = g.r[0].rowid;
    got_runs_free(&g);
    sqlite3 *db = raw_open("busy.db");
    CHECK_INT(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    enum reg_status st = reg_run_start(reg, run, 1, 1, 0, 0, "h", "/d");
    CHECK_INT(st, REG_ERR_BUSY);
    CHECK(reg_status_transient(st));
    CHECK(strstr(reg_errmsg(reg), "locked") != NULL);
    CHECK_INT(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    CHECK_INT(reg_run_start(reg, run, 1, 1, 0, 0, "h", "/d"), REG_OK);
    struct reg_job_proc local = { 4242, 7, 0, "local", NULL, 1 };
    CHECK_INT(reg_run_set_proc(reg, run, &local), REG_OK);
    CHECK_ROWS(db, "SELECT state, pid, proc_start, job_id FROM runs WHERE id = 1",
               "running|4242|7|NULL");
    struct reg_job_proc batch = { 0, 0, 991, "slurm", "mainline/demo@v1/x/a1", 1 };
    CHECK_INT(reg_run_set_proc(reg, run, &batch), REG_OK);
    struct reg_batch_end end = { "TIMEOUT", "TimeLimit", "debug", "vm", 93784, 99041280, 1 };
    CHECK_INT(reg_batch_job_end(reg, 991, "mainline/demo@v1/x/a1", &end), REG_OK);
    CHECK_ROWS(db, "SELECT job_id, executor, run, eval_job IS NULL, attempt, name, state, reason,"
               " ended_at IS NOT NULL FROM batch_jobs",
               "991|slurm|1|1|1|mainline/demo@v1/x/a1|TIMEOUT|TimeLimit|1");
    CHECK_ROWS(db, "SELECT array_index, partition, nodes, elapsed_s, max_rss_bytes,"
               " acct_confirmed FROM batch_jobs", "NULL|debug|vm|93784|99041280|1");
    struct got_batch_jobs b = { 0 };
    CHECK_INT(reg_run_batch_jobs(reg, run, collect_batch_job, &b), REG_OK);
    CHECK_STR(b.text, "991 a1 TIMEOUT TimeLimit debug vm 93784 99041280 1;");
    free(b.text);
    /* not known: NULL, never 0 or "" */
    struct reg_batch_end unknown = { "LOST", "", NULL, "", -1, -1, 0 };
    CHECK_INT(reg_batch_job_end(reg, 991, "mainline/demo@v1/x/a1", &unknown), REG_OK);
    CHECK_ROWS(db, "SELECT state, reason, partition, nodes, elapsed_s, max_rss_bytes,"
               " acct_confirmed FROM batch_jobs", "LOST|NULL|NULL|NULL|NULL|NULL|0");
    CHECK_ROWS(db, "SELECT pid, job_id FROM runs WHERE id = 1", "0|991");
    CHECK(!reg_status_transient(REG_ERR_SQL) && !reg_status_transient(REG_ERR_CONFLICT));
    CHECK(reg_status_transient(REG_ERR_FULL));
    sqlite3_close(db);
    reg_free(reg);
}

/* reg_record_eval with a job ends it `done` in the same transaction: recording the
 * same evaluation again (a retry after a refused write) is refused whole and never
 * counts it twice. */
static void test_record_eval_with_its_end(void)
{
    struct registry *reg = open_new("evalend.db");
    int64_t sweep = record_fixture(reg, "demo", 1);
    CHECK_INT(reg_eval_job_add(reg, sweep, 0, -1, NULL), REG_OK);
    struct reg_eval_job *jobs;
    size_t n;
    CHECK_INT(reg_eval_jobs_load(reg, sweep, &jobs, &n), REG_OK);
    CHECK_INT((int)n, 1);
    int64_t job = jobs[0].rowid;
    reg_eval_jobs_free(jobs, n);
    CHECK_INT(reg_eval_job_start(reg, job, 1, 0, 0, "h", "/d"), REG_OK);
    struct reg_eval_in in = { .sweep = sweep, .run = 0, .step = -1, .job = job,
                              .dataset = "bench", .contract_sha256 = "c", .n = 2, .correct = 1,
                              .accuracy = 0.5 };
    CHECK_INT(reg_record_eval(reg, &in), REG_OK);
    CHECK_INT(reg_record_eval(reg, &in), REG_ERR_CONFLICT);
    sqlite3 *db = raw_open("evalend.db");
    CHECK_ROWS(db, "SELECT count(*) FROM evals", "1");
    CHECK_ROWS(db, "SELECT state, exit_status FROM eval_jobs", "done|0");
    sqlite3_close(db);
    reg_free(reg);
}

/* ---- the audit log ---- */

static void test_log_event(void)
{
    struct registry *reg = open_new("events.db");
    int64_t sweep = record_fixture(reg, "demo", 1);
    struct got_runs g = { 0 };
    CHECK_INT(reg_query_runs(reg, NULL, collect_run, &g), REG_OK);
    int64_t run = g.r[0].rowid;
    got_runs_free(&g);

    CHECK_INT(reg_log_event(reg, sweep, run, "start", "started run", "{\"pid\":42}"), REG_OK);
    CHECK_INT(reg_log_event(reg, 0, 0, "note", NULL, NULL), REG_OK);
    CHECK_INT(reg_log_event(reg, sweep, 0, "bad", "x", "{not json"), REG_ERR_INVALID);
    CHECK_INT(reg_log_event(reg, 424242, 0, "orphan", "x", NULL), REG_ERR_NOT_FOUND);
    CHECK_INT(reg_log_event(reg, 0, 424242, "orphan", "x", NULL), REG_ERR_NOT_FOUND);
    CHECK_INT(reg_log_event(reg, 0, 0, "", "x", NULL), REG_ERR_INVALID);
    CHECK_INT(reg_log_event(reg, 0, 0, NULL, "x", NULL), REG_ERR_INVALID);

    sqlite3 *db = raw_open("events.db");
    CHECK_ROWS(db, "SELECT kind, sweep_id, run, message, json_extract(data, '$.pid')"
               " FROM events WHERE kind <> 'plan' ORDER BY id",
               "start|1|1|started run|42;note|NULL|NULL|NULL|NULL");
    char *ts = raw_rows(db, "SELECT ts FROM events WHERE kind = 'start'");
    CHECK(is_utc_timestamp(ts));
    free(ts);
    sqlite3_close(db);
    reg_free(reg);
}

/* ---- names ---- */

static void test_names(void)
{
    CHECK_STR(reg_strerror(REG_OK), "success");
    CHECK_STR(reg_strerror(REG_ERR_CONFLICT), "already exists");
    CHECK_STR(reg_strerror(REG_ERR_NEWER_SCHEMA), "registry written by a newer mainline");
    CHECK_STR(reg_strerror(REG_ERR_BUSY), "registry busy");
    CHECK_STR(reg_strerror(REG_ERR_FULL), "registry disk full");
    CHECK_STR(reg_strerror((enum reg_status)77), "unknown registry status");
    CHECK_STR(reg_state_name(RUN_WAITING), "waiting");
    CHECK_STR(reg_state_name(RUN_PLANNED), "planned");
    CHECK_STR(reg_state_name(RUN_RUNNING), "running");
    CHECK_STR(reg_state_name(RUN_DONE), "done");
    CHECK_STR(reg_state_name(RUN_FAILED), "failed");
    CHECK_STR(reg_state_name(RUN_CANCELLED), "cancelled");
    CHECK_STR(reg_state_name(RUN_STATE_COUNT), "invalid");
    CHECK_INT(reg_state_parse("done"), RUN_DONE);
    CHECK_INT(reg_state_parse("DONE"), -1);
    CHECK_STR(reg_errmsg(NULL), "no registry");
    reg_free(NULL);
}

int main(void)
{
    make_tmpdir();
    TEST(test_create);
    TEST(test_reopen);
    TEST(test_open_missing);
    TEST(test_newer_schema);
    TEST(test_migrate_from_v0);
    TEST(test_migrate_from_v1);
    TEST(test_migrate_from_v3);
    TEST(test_migrate_from_v6);
    TEST(test_migrate_from_v7);
    TEST(test_migrate_from_v8);
    TEST(test_damaged_refused);
    TEST(test_metrics_rows_not_damage);
    TEST(test_record_and_read);
    TEST(test_git_nulls);
    TEST(test_conflict);
    TEST(test_filters);
    TEST(test_filters_text_columns);
    TEST(test_stage_summary);
    TEST(test_views);
    TEST(test_kept_statements);
    TEST(test_ingest_batches);
    TEST(test_busy_is_transient);
    TEST(test_record_eval_with_its_end);
    TEST(test_log_event);
    TEST(test_names);
    remove_tmpdir();
    return test_report();
}
