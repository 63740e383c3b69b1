/*
 * bench_ingest.c - how fast mainline turns a large metrics.jsonl into registry rows.
 *
 * It is a benchmark, not a test: it checks only that every row landed, and prints
 * a table. It writes one metrics.jsonl the way a long training run would (train
 * lines with five numbers each, val lines, checkpoints), then times, each on a
 * fresh database in the same temporary directory:
 *
 *   reference   the plainest SQLite insert of the same metric rows: one prepared
 *               INSERT into a table without constraints, one transaction, no JSON
 *   registry    reg_ingest() fed the same rows already parsed, in batches as
 *               ingest.c makes them: the registry schema's cost without the parsing
 *   mainline    ingest_file() on the file: read, parse, map, insert, commit
 *   re-ingest   ingest_file() again on the same file: nothing new, so ~no work
 *
 * Each case runs REPS times; the table shows the median. Ratios are time against
 * the reference, measured in this process.
 *
 *   build/bench/bench_ingest [TRAIN_LINES [REPS]]     (defaults 200000 and 3)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench_tmpdir.h"
#include "error.h"
#include "ingest.h"
#include "reg_exec.h"
#include "registry.h"
#include "strbuf.h"
#include "table.h"

enum {
    TRAIN_FIELDS = 5,        /* loss, lr, tokens, tok_per_s, grad_norm */
    VAL_EVERY = 100,         /* a val line (nll, ppl) every this many steps */
    VAL_FIELDS = 2,
    CHECKPOINT_EVERY = 1000,
    REF_BATCH = 20000,       /* rows per reg_ingest() call, as ingest.c batches */
    MIN_ROWS_PER_S = 500000, /* the target from the issue */
};

/* ---- timing ---- */

struct span {
    double wall, cpu;   /* seconds */
};

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct span span_start(void)
{
    struct span s = { clock_s(CLOCK_MONOTONIC), clock_s(CLOCK_PROCESS_CPUTIME_ID) };
    return s;
}

static struct span span_since(struct span t0)
{
    struct span s = { clock_s(CLOCK_MONOTONIC) - t0.wall,
                      clock_s(CLOCK_PROCESS_CPUTIME_ID) - t0.cpu };
    return s;
}

static int by_wall(const void *a, const void *b)
{
    double x = ((const struct span *)a)->wall, y = ((const struct span *)b)->wall;
    return (x > y) - (x < y);
}

static struct span median(struct span *s, int n)
{
    qsort(s, (size_t)n, sizeof(*s), by_wall);
    return s[n / 2];
}

/* ---- the temporary directory ---- */

static const char *tmpdir;

static const char *tmp_path(const char *fmt, int rep)
{
    static char path[4400];
    char name[64];
    snprintf(name, sizeof(name), fmt, rep);
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    return path;
}


/* ---- the metrics file and the same rows in memory ---- */

struct rows {
    struct reg_metric_in *m;
    size_t n, alloc;
    int64_t checkpoints, events, bytes;
};

static void add_row(struct rows *r, int64_t step, const char *name, double value,
                    int64_t offset)
{
    r->m = xgrow(r->m, r->n + 1, &r->alloc, sizeof(*r->m));
    r->m[r->n++] = (struct reg_metric_in){ step, name, value, offset };
}

/* Write the file and keep the metric rows ingest.c will make of it (same names,
 * values as printed, byte offsets of their lines). */
static void write_metrics(const char *path, long train_lines, struct rows *r)
{
    static const char *const train_names[TRAIN_FIELDS] = {
        "loss", "lr", "tokens", "tok_per_s", "grad_norm"
    };
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot create '%s': %s", path, strerror(errno));
    char line[512];
    int len = snprintf(line, sizeof(line), "{\"event\":\"start\",\"total_steps\":%ld}\n",
                       train_lines);
    fwrite(line, 1, (size_t)len, f);
    r->bytes += len;
    r->events++;
    for (long step = 1; step <= train_lines; step++) {
        char text[TRAIN_FIELDS][32];
        snprintf(text[0], 32, "%.6f", 2.0 / (double)step + 0.5);
        snprintf(text[1], 32, "%.6g", 3e-4 * (1.0 - (double)step / (double)(train_lines + 1)));
        snprintf(text[2], 32, "%ld", step * 2048);
        snprintf(text[3], 32, "%.1f", 5000.0 + (double)(step % 97));
        snprintf(text[4], 32, "%.5f", 1.0 + (double)(step % 13) / 10.0);
        len = snprintf(line, sizeof(line),
                       "{\"event\":\"train\",\"step\":%ld,\"loss\":%s,\"lr\":%s,\"tokens\":%s,"
                       "\"tok_per_s\":%s,\"grad_norm\":%s}\n",
                       step, text[0], text[1], text[2], text[3], text[4]);
        for (int k = 0; k < TRAIN_FIELDS; k++)
            add_row(r, step, train_names[k], strtod(text[k], NULL), r->bytes);
        fwrite(line, 1, (size_t)len, f);
        r->bytes += len;
        if (step % VAL_EVERY == 0) {
            char nll[32], ppl[32];
            snprintf(nll, sizeof(nll), "%.6f", 1.0 + 100.0 / (double)step);
            snprintf(ppl, sizeof(ppl), "%.4f", 2.718 + 300.0 / (double)step);
            len = snprintf(line, sizeof(line),
                           "{\"event\":\"val\",\"step\":%ld,\"nll\":%s,\"ppl\":%s}\n", step, nll,
                           ppl);
            add_row(r, step, "val_nll", strtod(nll, NULL), r->bytes);
            add_row(r, step, "val_ppl", strtod(ppl, NULL), r->bytes);
            fwrite(line, 1, (size_t)len, f);
            r->bytes += len;
        }
        if (step % CHECKPOINT_EVERY == 0) {
            len = snprintf(line, sizeof(line), "{\"event\":\"checkpoint\",\"step\":%ld,"
                           "\"path\":\"checkpoints/step-%ld\"}\n", step, step);
            fwrite(line, 1, (size_t)len, f);
            r->bytes += len;
            r->checkpoints++;
        }
    }
    len = snprintf(line, sizeof(line), "{\"event\":\"done\",\"steps\":%ld}\n", train_lines);
    fwrite(line, 1, (size_t)len, f);
    r->bytes += len;
    r->events++;
    if (fclose(f) != 0)
        die("cannot write '%s': %s", path, strerror(errno));
}

/* ---- a registry with one planned sweep of one run ---- */

static const size_t no_artifacts[] = { 0 };

static struct registry *open_registry(const char *path, int64_t *run)
{
    struct registry *reg = NULL;
    char err[512] = "";
    if (reg_open(path, REG_OPEN_CREATE, &reg, err, sizeof(err)) != REG_OK)
        die("%s", err);
    static const struct reg_run_in runs[] = {
        { .run_id = "main-seed-0", .stage = "main", .has_seed = 1, .seed = 0,
          .params_json = "{\"seed\":0}", .state = RUN_PLANNED, .artifacts = no_artifacts,
          .n_artifacts = 0 },
    };
    struct reg_sweep_in in = {
        .name = "bench", .version = 1, .spec_path = "bench.yaml",
        .spec_text = "sweep: bench\n",
        .spec_sha256 = "3333333333333333333333333333333333333333333333333333333333333333",
        .canon_json = "{\"sweep\":\"bench\"}",
        .canon_sha256 = "4444444444444444444444444444444444444444444444444444444444444444",
        .git = { "not a git repository", NULL, NULL, NULL, 0, NULL },
        .runs = runs, .n_runs = 1,
    };
    int64_t sweep = 0;
    if (reg_record_sweep(reg, &in, &sweep) != REG_OK)
        die("cannot record the sweep: %s", reg_errmsg(reg));
    struct reg_exec_run *loaded;
    size_t n;
    if (reg_exec_load_runs(reg, sweep, &loaded, &n) != REG_OK || n != 1)
        die("cannot read the run back: %s", reg_errmsg(reg));
    *run = loaded[0].rowid;
    reg_exec_runs_free(loaded, n);
    if (reg_run_start(reg, *run, 1, 1, getpid(), 0, "bench", tmpdir) != REG_OK)
        die("cannot start the run: %s", reg_errmsg(reg));
    return reg;
}

static long long count_rows(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long n = -1;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void expect_rows(const char *db_path, const char *sql, long long want, const char *what)
{
    long long got = count_rows(db_path, sql);
    if (got != want)
        die("%s: %lld rows in the database, expected %lld", what, got, want);
}

/* ---- the cases ---- */

static void sql_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        die("reference: %s: %s", sql, msg ? msg : "?");
}

/* One prepared INSERT, one transaction, a table without constraints; WAL like the
 * registry so both commit the same way. */
static struct span run_reference(const char *db_path, const struct rows *r)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL)
        != SQLITE_OK)
        die("reference: cannot open '%s'", db_path);
    sql_exec(db, "PRAGMA journal_mode = WAL");
    sql_exec(db, "CREATE TABLE metrics (run INTEGER, attempt INTEGER, step INTEGER,"
                 " name TEXT, value REAL, src_offset INTEGER)");
    struct span t0 = span_start();
    sqlite3_stmt *st = NULL;
    sql_exec(db, "BEGIN");
    if (sqlite3_prepare_v2(db, "INSERT INTO metrics VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &st,
                           NULL) != SQLITE_OK)
        die("reference: %s", sqlite3_errmsg(db));
    for (size_t i = 0; i < r->n; i++) {
        sqlite3_bind_int64(st, 1, 1);
        sqlite3_bind_int(st, 2, 1);
        sqlite3_bind_int64(st, 3, r->m[i].step);
        sqlite3_bind_text(st, 4, r->m[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 5, r->m[i].value);
        sqlite3_bind_int64(st, 6, r->m[i].src_offset);
        if (sqlite3_step(st) != SQLITE_DONE)
            die("reference: %s", sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sql_exec(db, "COMMIT");
    struct span took = span_since(t0);
    sqlite3_close(db);
    expect_rows(db_path, "SELECT count(*) FROM metrics", (long long)r->n, "reference");
    return took;
}

/* The registry's own insert path with the rows already parsed. */
static struct span run_registry_rows(const char *db_path, const struct rows *r)
{
    int64_t run;
    struct registry *reg = open_registry(db_path, &run);
    struct span t0 = span_start();
    for (size_t i = 0; i < r->n; i += REF_BATCH) {
        size_t n = r->n - i < REF_BATCH ? r->n - i : REF_BATCH;
        size_t end = i + n;
        struct reg_ingest_in in = {
            .run = run, .attempt = 1, .file = "metrics",
            .offset = end < r->n ? r->m[end].src_offset : r->bytes, .line = (int64_t)end,
            .metrics = r->m + i, .n_metrics = n,
        };
        if (reg_ingest(reg, &in) != REG_OK)
            die("reg_ingest: %s", reg_errmsg(reg));
    }
    struct span took = span_since(t0);
    reg_free(reg);
    expect_rows(db_path, "SELECT count(*) FROM metrics", (long long)r->n, "registry rows");
    return took;
}

/* ingest_file twice on a fresh registry: everything, then nothing new. */
static void run_mainline(const char *db_path, const char *metrics, const struct rows *r,
                         struct span *first, struct span *again)
{
    int64_t run;
    struct registry *reg = open_registry(db_path, &run);
    struct strbuf err = STRBUF_INIT;
    struct ingest_stats stats = { 0 };
    struct span t0 = span_start();
    if (ingest_file(reg, run, 1, metrics, "metrics", NULL, 1, &stats, &err) < 0)
        die("ingest_file: %s", err.buf);
    *first = span_since(t0);
    if (stats.metrics != (int64_t)r->n || stats.checkpoints != r->checkpoints ||
        stats.events != r->events || stats.malformed != 0)
        die("ingest_file read %lld metrics, %lld checkpoints, %lld events, %lld malformed;"
            " expected %zu, %lld, %lld, 0", (long long)stats.metrics,
            (long long)stats.checkpoints, (long long)stats.events, (long long)stats.malformed,
            r->n, (long long)r->checkpoints, (long long)r->events);
    struct ingest_stats none = { 0 };
    t0 = span_start();
    if (ingest_file(reg, run, 1, metrics, "metrics", NULL, 1, &none, &err) < 0)
        die("ingest_file again: %s", err.buf);
    *again = span_since(t0);
    if (none.metrics || none.lines)
        die("re-ingesting read %lld lines again", (long long)none.lines);
    sb_free(&err);
    reg_free(reg);
    expect_rows(db_path, "SELECT count(*) FROM metrics", (long long)r->n, "mainline");
}

/* ---- the report ---- */

static void add_case(struct table *t, const char *name, struct span s, size_t rows,
                     struct span ref)
{
    char wall[32], cpu[32], rate[32], ratio[32];
    snprintf(wall, sizeof(wall), "%.2f", s.wall * 1e3);
    snprintf(cpu, sizeof(cpu), "%.2f", s.cpu * 1e3);
    snprintf(rate, sizeof(rate), "%.0f", (double)rows / s.wall);
    snprintf(ratio, sizeof(ratio), "%.2fx", s.wall / ref.wall);
    const char *cells[] = { name, wall, cpu, rows ? rate : "-", ratio, NULL };
    table_add(t, cells);
}

static long parse_arg(const char *s, long lo, long hi, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi)
        die("%s must be an integer from %ld to %ld, not '%s'", what, lo, hi, s);
    return v;
}

int main(int argc, char **argv)
{
    if (argc > 3) {
        fprintf(stderr, "usage: bench_ingest [TRAIN_LINES [REPS]]\n");
        return EXIT_USAGE;
    }
    long train_lines = argc > 1 ? parse_arg(argv[1], 1000, 100000000, "TRAIN_LINES") : 200000;
    int reps = argc > 2 ? (int)parse_arg(argv[2], 1, 100, "REPS") : 3;
    tmpdir = bench_tmpdir_create("ingest");

    struct rows rows = { 0 };
    char metrics[4400];
    snprintf(metrics, sizeof(metrics), "%s/metrics.jsonl", tmpdir);
    write_metrics(metrics, train_lines, &rows);

    struct span *ref = xcalloc((size_t)reps, sizeof(*ref));
    struct span *reg_rows = xcalloc((size_t)reps, sizeof(*reg_rows));
    struct span *first = xcalloc((size_t)reps, sizeof(*first));
    struct span *again = xcalloc((size_t)reps, sizeof(*again));
    for (int i = 0; i < reps; i++) {
        ref[i] = run_reference(tmp_path("ref-%d.db", i), &rows);
        reg_rows[i] = run_registry_rows(tmp_path("rows-%d.db", i), &rows);
        run_mainline(tmp_path("mainline-%d.db", i), metrics, &rows, &first[i], &again[i]);
    }
    struct span m_ref = median(ref, reps), m_rows = median(reg_rows, reps);
    struct span m_first = median(first, reps), m_again = median(again, reps);

    printf("ingestion: %zu metric rows (%ld train lines x %d fields + val), %lld checkpoints,"
           " %lld events\nfrom a %.1f MB metrics.jsonl; SQLite %s; median of %d\n\n",
           rows.n, train_lines, TRAIN_FIELDS, (long long)rows.checkpoints,
           (long long)rows.events, (double)rows.bytes / 1e6, sqlite3_libversion(), reps);
    static const char *const header[] = {
        "CASE", "WALL MS", "CPU MS", "ROWS/S", "TIME VS REF", NULL
    };
    struct table t;
    table_init(&t, header);
    t.right_align = 0x1e;
    add_case(&t, "reference: plain INSERT, 1 transaction", m_ref, rows.n, m_ref);
    add_case(&t, "registry rows, no JSON (reg_ingest)", m_rows, rows.n, m_ref);
    add_case(&t, "mainline ingest_file", m_first, rows.n, m_ref);
    add_case(&t, "re-ingest, nothing new (ingest_file)", m_again, 0, m_ref);
    table_print(&t, stdout, "");
    table_free(&t);

    double rate = (double)rows.n / m_first.wall;   /* median() left first[] fastest first */
    printf("\ntarget: >= %d rows/s: %s (%.0f rows/s; %.0f to %.0f over the %d reps)\n",
           MIN_ROWS_PER_S, rate >= MIN_ROWS_PER_S ? "met" : "MISSED", rate,
           (double)rows.n / first[reps - 1].wall, (double)rows.n / first[0].wall, reps);
    printf("reading, parsing and mapping the JSON: %.0f%% of ingest_file's time; the registry's"
           " inserts: %.0f%%\n", 100.0 * (m_first.wall - m_rows.wall) / m_first.wall,
           100.0 * m_rows.wall / m_first.wall);
    free(ref);
    free(reg_rows);
    free(first);
    free(again);
    free(rows.m);
    if (fflush(stdout) != 0 || ferror(stdout))
        die("cannot write the report: %s", strerror(errno));
    return EXIT_OK;   /* a missed target is reported, not an error */
}
