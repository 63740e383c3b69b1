/*
 * test_ingest.c - unit tests of ingest.c: protocol lines of metrics.jsonl become
 * metric, checkpoint and event rows exactly as docs/protocol.md says; reading is
 * idempotent, waits for a half-written line's newline, and keeps its place in the
 * registry, and reads an ended job's last line without one; checkpoints must be
 * inside the run directory; stdout rules turn printed lines into events; a line
 * over 1 MiB is reported and skipped. Each test records one planned sweep in its own registry in
 * a temporary directory (removed at the end) and reads what landed through a
 * second, plain sqlite3 connection.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "eval_result.h"
#include "ingest.h"
#include "reg_exec.h"
#include "strbuf.h"
#include "testhelp.h"

/* ---- temporary files ---- */

static char tmpdir[4096];

static void make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/mainline-test-ingest-XXXXXX",
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
    char path[4400];
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
    rmdir(tmpdir);
}

/* A path in the temporary directory. Caller frees. */
static char *tmp_path(const char *name)
{
    struct strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "%s/%s", tmpdir, name);
    return sb_detach(&sb);
}

static void write_text(const char *path, const char *mode, const char *text)
{
    FILE *f = fopen(path, mode);
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static long long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* ---- a registry holding one planned run ---- */

struct fixture {
    char *db_path, *metrics_path;
    struct registry *reg;
    sqlite3 *raw;         /* a second connection, as a user would have */
    int64_t run;
};

static const struct reg_run_in one_run[] = {
    { .run_id = "main-seed-0", .stage = "main", .has_seed = 1, .seed = 0,
      .params_json = "{\"seed\":0}", .state = RUN_PLANNED },
};

static void fixture_open_reg(struct fixture *fx)
{
    char err[512] = "";
    if (reg_open(fx->db_path, REG_OPEN_CREATE, &fx->reg, err, sizeof(err)) != REG_OK) {
        fprintf(stderr, "cannot open %s: %s\n", fx->db_path, err);
        exit(1);
    }
}

/* A new registry NAME.db with a sweep of one planned run; metrics file NAME.jsonl. */
static void fixture_init(struct fixture *fx, const char *name)
{
    memset(fx, 0, sizeof(*fx));
    struct strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "%s.db", name);
    fx->db_path = tmp_path(sb.buf);
    sb_reset(&sb);
    sb_addf(&sb, "%s.jsonl", name);
    fx->metrics_path = tmp_path(sb.buf);
    sb_free(&sb);
    fixture_open_reg(fx);
    struct reg_sweep_in in = {
        .name = "ingest", .version = 1, .spec_path = "ingest.yaml",
        .spec_text = "sweep: ingest\n",
        .spec_sha256 = "3333333333333333333333333333333333333333333333333333333333333333",
        .canon_json = "{\"sweep\":\"ingest\"}",
        .canon_sha256 = "4444444444444444444444444444444444444444444444444444444444444444",
        .git = { "not a git repository", NULL, NULL, NULL, 0, NULL },
        .runs = one_run, .n_runs = 1,
    };
    int64_t sweep = 0;
    if (reg_record_sweep(fx->reg, &in, &sweep) != REG_OK) {
        fprintf(stderr, "record: %s\n", reg_errmsg(fx->reg));
        exit(1);
    }
    struct reg_exec_run *runs;
    size_t n;
    if (reg_exec_load_runs(fx->reg, sweep, &runs, &n) != REG_OK || n != 1) {
        fprintf(stderr, "load runs: %s\n", reg_errmsg(fx->reg));
        exit(1);
    }
    fx->run = runs[0].rowid;
    reg_exec_runs_free(runs, n);
    if (sqlite3_open_v2(fx->db_path, &fx->raw, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "raw open: %s\n", sqlite3_errmsg(fx->raw));
        exit(1);
    }
    sqlite3_busy_timeout(fx->raw, 5000);
}

static void fixture_free(struct fixture *fx)
{
    sqlite3_close(fx->raw);
    reg_free(fx->reg);
    free(fx->db_path);
    free(fx->metrics_path);
    memset(fx, 0, sizeof(*fx));
}

/* ingest_file on the fixture's metrics file as "metrics", the job running or
 * `ended`; returns its result. */
static int ingest_metrics_ended(struct fixture *fx, int ended, struct ingest_stats *stats)
{
    struct strbuf err = STRBUF_INIT;
    int rc = ingest_file(fx->reg, fx->run, 1, fx->metrics_path, "metrics", NULL, ended, stats,
                         &err);
    if (rc < 0)
        fprintf(stderr, "  ingest_file: %s\n", err.buf);
    sb_free(&err);
    return rc;
}

static int ingest_metrics(struct fixture *fx, struct ingest_stats *stats)
{
    return ingest_metrics_ended(fx, 0, stats);
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

/* Metric rows as name|step|value|offset, in file order. */
#define METRIC_ROWS \
    "SELECT name, step, printf('%.10g', value), src_offset FROM metrics" \
    " ORDER BY src_offset, name"

/* The line numbers of the malformed_line events, "1,2,...". */
#define MALFORMED_LINES \
    "SELECT group_concat(json_extract(data, '$.line'), ',') FROM" \
    " (SELECT data FROM events WHERE kind = 'malformed_line' ORDER BY id)"

/* Whether the malformed_line event of line `line` names it ("line N") and says `text`. */
static int malformed_says(sqlite3 *db, int line, const char *text)
{
    char sql[160], name[32];
    snprintf(sql, sizeof(sql), "SELECT message FROM events WHERE kind = 'malformed_line'"
             " AND json_extract(data, '$.line') = %d", line);
    snprintf(name, sizeof(name), "line %d", line);
    char *msg = raw_rows(db, sql);
    int says = strstr(msg, name) && strstr(msg, text);
    free(msg);
    return says;
}

/* ---- the protocol's lines ---- */

static const char line_start[] = "{\"event\":\"start\",\"total_steps\":6}\n";
static const char line_train[] =
    "{\"event\":\"train\",\"step\":1,\"loss\":2.5,\"lr\":0.0003,\"tokens\":64,"
    "\"tok_per_s\":1000,\"note\":\"text is not a metric\"}\n";
static const char line_broken[] = "this is not json\n";
static const char line_val[] = "{\"event\":\"val\",\"step\":2,\"nll\":1.25}\n";
static const char line_ckpt[] =
    "{\"event\":\"checkpoint\",\"step\":2,\"path\":\"checkpoints/step-2\",\"bytes\":10,"
    "\"sha256\":\"abababababababababababababababababababababababababababababababab\"}\n";
static const char line_eval[] = "{\"event\":\"eval\",\"step\":2,\"accuracy\":0.5,\"n\":6}\n";
static const char line_log[] = "{\"event\":\"log\",\"message\":\"hello\"}\n";
static const char line_done[] = "{\"event\":\"done\",\"steps\":6}\n";

static void test_protocol_lines(void)
{
    struct fixture fx;
    fixture_init(&fx, "protocol");
    struct strbuf text = STRBUF_INIT;
    sb_adds(&text, line_start);
    long long o_train = (long long)text.len;
    sb_adds(&text, line_train);
    sb_adds(&text, line_broken);
    long long o_val = (long long)text.len;
    sb_adds(&text, line_val);
    sb_adds(&text, line_ckpt);
    long long o_eval = (long long)text.len;
    sb_adds(&text, line_eval);
    sb_adds(&text, line_log);
    sb_adds(&text, line_done);
    write_text(fx.metrics_path, "w", text.buf);

    struct ingest_stats stats = { 0 };
    CHECK_INT(ingest_metrics(&fx, &stats), 0);

    /* train fields as they are, val_ and eval_ prefixed; step itself is no metric */
    char want[1024];
    snprintf(want, sizeof(want),
             "loss|1|2.5|%lld;lr|1|0.0003|%lld;tok_per_s|1|1000|%lld;tokens|1|64|%lld;"
             "val_nll|2|1.25|%lld;eval_accuracy|2|0.5|%lld;eval_n|2|6|%lld",
             o_train, o_train, o_train, o_train, o_val, o_eval, o_eval);
    CHECK_ROWS(fx.raw, METRIC_ROWS, want);
    snprintf(want, sizeof(want), "SELECT count(*) FROM metrics WHERE run = %lld AND attempt = 1",
             (long long)fx.run);
    CHECK_INT(raw_int(fx.raw, want), 7);

    CHECK_ROWS(fx.raw, "SELECT attempt, step, path, bytes, sha256 FROM checkpoints",
               "1|2|checkpoints/step-2|10|"
               "abababababababababababababababababababababababababababababababab");

    CHECK_ROWS(fx.raw, "SELECT kind, coalesce(message, 'NULL') FROM events"
               " WHERE run IS NOT NULL AND kind <> 'malformed_line' ORDER BY id",
               "start|NULL;log|hello;done|NULL");
    CHECK_ROWS(fx.raw, "SELECT json_extract(data, '$.total_steps') FROM events"
               " WHERE kind = 'start'", "6");
    CHECK_ROWS(fx.raw, "SELECT json_extract(data, '$.steps') FROM events WHERE kind = 'done'",
               "6");
    char *msg = raw_rows(fx.raw, "SELECT message FROM events WHERE kind = 'malformed_line'");
    CHECK(strstr(msg, "line 3") != NULL);
    CHECK(strstr(msg, "metrics") != NULL);
    free(msg);
    CHECK_ROWS(fx.raw, "SELECT json_extract(data, '$.line') FROM events"
               " WHERE kind = 'malformed_line'", "3");
    /* events belong to the run and its sweep */
    CHECK_INT(raw_int(fx.raw, "SELECT count(*) FROM events WHERE run IS NOT NULL"
                      " AND sweep_id = (SELECT sweep_id FROM runs)"), 4);

    CHECK_INT(stats.lines, 8);
    CHECK_INT(stats.metrics, 7);
    CHECK_INT(stats.checkpoints, 1);
    CHECK_INT(stats.events, 4);
    CHECK_INT(stats.malformed, 1);
    CHECK_INT(stats.done_seen, 1);
    CHECK_INT(stats.total_steps, 6);
    CHECK_INT(stats.last_step, 1);
    CHECK_NEAR(stats.last_loss, 2.5, 0);
    CHECK_NEAR(stats.last_tok_s, 1000, 0);

    int64_t off = -1, line = -1;
    CHECK_INT(reg_ingest_offset(fx.reg, fx.run, "metrics", &off, &line), REG_OK);
    CHECK_INT(off, (long long)text.len);
    CHECK_INT(line, 8);
    sb_free(&text);
    fixture_free(&fx);
}

/* Lines the protocol calls malformed, each named by its line number. */
static void test_malformed_kinds(void)
{
    struct fixture fx;
    fixture_init(&fx, "malformed");
    write_text(fx.metrics_path, "w",
               "[1, 2]\n"                                        /* 1: not an object */
               "{\"step\":1,\"loss\":1}\n"                       /* 2: no event */
               "{\"event\":\"train\",\"loss\":1}\n"              /* 3: no step */
               "{\"event\":\"val\",\"step\":-1,\"nll\":1}\n"     /* 4: negative step */
               "{\"event\":\"checkpoint\",\"step\":1}\n"         /* 5: no path */
               "\n"                                              /* 6: empty, skipped */
               "{\"event\":\"train\",\"step\":7,\"loss\":0.5}\n" /* 7: fine */
               "{\"event\":\"train\",\"step\":8,\"loss\":0.5,\"loss\":1}\n"); /* 8: dup key */
    struct ingest_stats stats = { 0 };
    CHECK_INT(ingest_metrics(&fx, &stats), 0);
    CHECK_ROWS(fx.raw, MALFORMED_LINES, "1,2,3,4,5,8");
    CHECK_ROWS(fx.raw, "SELECT name, step, value FROM metrics", "loss|7|0.5");
    CHECK_INT(raw_int(fx.raw, "SELECT count(*) FROM checkpoints"), 0);
    CHECK_INT(stats.malformed, 6);
    CHECK(malformed_says(fx.raw, 5, "path"));
    fixture_free(&fx);
}

static void test_idempotent(void)
{
    struct fixture fx;
    fixture_init(&fx, "idem");
    struct strbuf text = STRBUF_INIT;
    sb_adds(&text, line_start);
    sb_adds(&text, line_train);
    sb_adds(&text, line_broken);
    sb_adds(&text, line_ckpt);
    write_text(fx.metrics_path, "w", text.buf);
    struct ingest_stats first = { 0 }, second = { 0 };
    CHECK_INT(ingest_metrics(&fx, &first), 0);
    char *before = raw_rows(fx.raw, "SELECT (SELECT count(*) FROM metrics),"
                            " (SELECT count(*) FROM events), (SELECT count(*) FROM checkpoints)");
    CHECK_STR(before, "4|3|1");   /* + the sweep's plan event */
    CHECK_INT(ingest_metrics(&fx, &second), 0);
    CHECK_INT(ingest_metrics(&fx, &second), 0);
    CHECK_ROWS(fx.raw, "SELECT (SELECT count(*) FROM metrics), (SELECT count(*) FROM events),"
               " (SELECT count(*) FROM checkpoints)", before);
    CHECK_INT(second.lines, 0);
    CHECK_INT(second.metrics, 0);
    CHECK_INT(second.events, 0);
    CHECK_INT(second.malformed, 0);
    free(before);
    sb_free(&text);
    fixture_free(&fx);
}

/* A fixture NAME whose metrics file holds the start line, then `tail` without a
 * newline, read once while the job runs: nothing of the tail is read. */
static void fixture_half_line(struct fixture *fx, const char *name, const char *tail,
                              struct ingest_stats *stats)
{
    fixture_init(fx, name);
    write_text(fx->metrics_path, "w", line_start);
    write_text(fx->metrics_path, "a", tail);
    CHECK_INT(ingest_metrics(fx, stats), 0);
    CHECK_INT(raw_int(fx->raw, "SELECT count(*) FROM metrics"), 0);
    CHECK_INT(stats->malformed, 0);
}

/* A line without its newline is not read; once the newline comes it is, once. */
static void test_half_written_line(void)
{
    struct fixture fx;
    struct ingest_stats stats = { 0 };
    fixture_half_line(&fx, "half", "{\"event\":\"train\",\"step\":3,\"lo", &stats);
    int64_t off = -1, line = -1;
    CHECK_INT(reg_ingest_offset(fx.reg, fx.run, "metrics", &off, &line), REG_OK);
    CHECK_INT(off, (long long)strlen(line_start));
    CHECK_INT(line, 1);

    write_text(fx.metrics_path, "a", "ss\":0.75}");   /* still no newline */
    CHECK_INT(ingest_metrics(&fx, &stats), 0);
    CHECK_INT(raw_int(fx.raw, "SELECT count(*) FROM metrics"), 0);

    write_text(fx.metrics_path, "a", "\n");
    CHECK_INT(ingest_metrics(&fx, &stats), 0);
    CHECK_INT(ingest_metrics(&fx, &stats), 0);
    char want[128];
    snprintf(want, sizeof(want), "loss|3|0.75|%zu", strlen(line_start));
    CHECK_ROWS(fx.raw, METRIC_ROWS, want);
    CHECK_INT(raw_int(fx.raw, "SELECT count(*) FROM events WHERE kind = 'malformed_line'"), 0);
    CHECK_INT(reg_ingest_offset(fx.reg, fx.run, "metrics", &off, &line), REG_OK);
    CHECK_INT(off, file_size(fx.metrics_path));
    CHECK_INT(line, 2);
    fixture_free(&fx);
}

/* Once the job has ended its last line is read without a newline, once; a line
 * it was cut in the middle of is a malformed line. */
static void test_last_line_when_ended(void)
{
    struct fixture fx;
    struct ingest_stats stats = { 0 };
    fixture_half_line(&fx, "ended", "{\"event\":\"train\",\"step\":3,\"loss\":0.75}", &stats);
    /* the size is what the last look saw: an ended job is read all the same */
    int64_t seen = file_size(fx.metrics_path);
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(ingest_file_if_grown(fx.reg, fx.run, 1, fx.metrics_path, "metrics", NULL, 0,
                                   &stats, &seen, &err), 0);
    CHECK_INT(raw_int(fx.raw, "SELECT count(*) FROM metrics"), 0);
    CHECK_INT(ingest_file_if_grown(fx.reg, fx.run, 1, fx.metrics_path, "metrics", NULL, 1,
                                   &stats, &seen, &err), 0);
    CHECK_INT(err.len, 0);
    CHECK_INT(ingest_metrics_ended(&fx, 1, &stats), 0);
    char want[128];
    snprintf(want, sizeof(want), "loss|3|0.75|%zu", strlen(line_start));
    CHECK_ROWS(fx.raw, METRIC_ROWS, want);
    CHECK_INT(stats.lines, 2);
    CHECK_INT(stats.malformed, 0);
    int64_t off = -1, line = -1;
    CHECK_INT(reg_ingest_offset(fx.reg, fx.run, "metrics", &off, &line), REG_OK);
    CHECK_INT(off, file_size(fx.metrics_path));
    CHECK_INT(line, 2);
    fixture_free(&fx);

    struct ingest_stats cut = { 0 };
    fixture_half_line(&fx, "cut", "{\"event\":\"train\",\"st", &cut);
    CHECK_INT(ingest_metrics_ended(&fx, 1, &cut), 0);
    CHECK_INT(raw_int(fx.raw, "SELECT count(*) FROM metrics"), 0);
    CHECK_ROWS(fx.raw, MALFORMED_LINES, "2");
    CHECK_INT(cut.malformed, 1);
    CHECK_INT(reg_ingest_offset(fx.reg, fx.run, "metrics", &off, &line), REG_OK);
    CHECK_INT(off, file_size(fx.metrics_path));
    sb_free(&err);
    fixture_free(&fx);
}

/* A checkpoint must name something inside the run directory (the metrics file's):
 * one that climbs out or points elsewhere is a malformed line, not a checkpoint. */
static void test_checkpoint_outside_run_dir(void)
{
    struct fixture fx;
    fixture_init(&fx, "escape");
    char *inside = tmp_path("checkpoints/step-8"), *beside = tmp_path("../elsewhere/step-4");
    struct strbuf text = STRBUF_INIT;
    sb_addf(&text,
            "{\"event\":\"checkpoint\",\"step\":1,\"path\":\"../../../../etc/passwd\"}\n"
            "{\"event\":\"checkpoint\",\"step\":2,\"path\":\"/etc/passwd\"}\n"
            "{\"event\":\"checkpoint\",\"step\":3,\"path\":\"checkpoints/../../x\"}\n"
            "{\"event\":\"checkpoint\",\"step\":4,\"path\":\"%s\"}\n"
            "{\"event\":\"checkpoint\",\"step\":5,\"path\":\"%s-evil/ck\"}\n"
            "{\"event\":\"checkpoint\",\"step\":6,\"path\":\"./checkpoints/step-6\"}\n"
            "{\"event\":\"checkpoint\",\"step\":7,\"path\":\"checkpoints/a/../step-7\"}\n"
            "{\"event\":\"checkpoint\",\"step\":8,\"path\":\"%s\"}\n",
            beside, tmpdir, inside);
    write_text(fx.metrics_path, "w", text.buf);
    struct ingest_stats stats = { 0 };
    CHECK_INT(ingest_metrics(&fx, &stats), 0);
    char want[4400];
    snprintf(want, sizeof(want), "6|./checkpoints/step-6;7|checkpoints/a/../step-7;8|%s", inside);
    CHECK_ROWS(fx.raw, "SELECT step, path FROM checkpoints ORDER BY step", want);
    CHECK_ROWS(fx.raw, MALFORMED_LINES, "1,2,3,4,5");
    CHECK_INT(stats.checkpoints, 3);
    CHECK_INT(stats.malformed, 5);
    CHECK(malformed_says(fx.raw, 1, "'../../../../etc/passwd' is outside the run directory"));
    free(inside);
    free(beside);
    sb_free(&text);
    fixture_free(&fx);
}

/* The offset lives in the registry: a new connection (a new orchestrator) reads on. */
static void test_offset_persisted(void)
{
    struct fixture fx;
    fixture_init(&fx, "persist");
    write_text(fx.metrics_path, "w", line_start);
    write_text(fx.metrics_path, "a", line_train);
    struct ingest_stats stats = { 0 };
    CHECK_INT(ingest_metrics(&fx, &stats), 0);
    reg_free(fx.reg);
    fx.reg = NULL;

    fixture_open_reg(&fx);
    int64_t off = -1, line = -1;
    CHECK_INT(reg_ingest_offset(fx.reg, fx.run, "metrics", &off, &line), REG_OK);
    CHECK_INT(off, (long long)(strlen(line_start) + strlen(line_train)));
    CHECK_INT(line, 2);
    CHECK_INT(reg_ingest_offset(fx.reg, fx.run, "stdout", &off, &line), REG_OK);
    CHECK_INT(off, 0);
    CHECK_INT(line, 0);
    write_text(fx.metrics_path, "a", line_val);
    struct ingest_stats again = { 0 };
    CHECK_INT(ingest_metrics(&fx, &again), 0);
    CHECK_INT(again.lines, 1);
    CHECK_INT(again.metrics, 1);
    CHECK_INT(raw_int(fx.raw, "SELECT count(*) FROM metrics"), 5);
    CHECK_INT(raw_int(fx.raw, "SELECT count(*) FROM events WHERE kind = 'start'"), 1);
    CHECK_INT(reg_ingest_offset(fx.reg, fx.run, "metrics", &off, &line), REG_OK);
    CHECK_INT(off, file_size(fx.metrics_path));
    CHECK_INT(line, 3);

    /* a missing file is nothing yet, not an error */
    struct strbuf err = STRBUF_INIT;
    char *missing = tmp_path("no-such-file.jsonl");
    CHECK_INT(ingest_file(fx.reg, fx.run, 1, missing, "other", NULL, 0, &again, &err), 0);
    CHECK_INT(err.len, 0);
    free(missing);
    sb_free(&err);
    fixture_free(&fx);
}

/* ---- trainers that only print ---- */

static void test_stdout_rules(void)
{
    struct fixture fx;
    fixture_init(&fx, "stdout");
    json_t *spec = json_loads("[{\"pattern\": \"Iter ([0-9]+): Val loss ([0-9.]+)\","
                              "  \"event\": \"val\", \"fields\": [\"step\", \"nll\"]}]", 0, NULL);
    CHECK(spec != NULL);
    struct strbuf err = STRBUF_INIT;
    struct stdout_rules *rules = stdout_rules_compile(spec, &err);
    CHECK(rules != NULL);
    CHECK_INT(err.len, 0);

    char *out = tmp_path("stdout.log");
    write_text(out, "w", "Loading model...\n"
                         "Iter 100: Train loss 2.000\n"
                         "{\"event\":\"train\",\"step\":5,\"loss\":9}\n"
                         "Iter 200: Val loss 1.241\n"
                         "not json {\n");
    struct ingest_stats stats = { 0 };
    CHECK_INT(ingest_file(fx.reg, fx.run, 1, out, "stdout", rules, 0, &stats, &err), 0);
    CHECK_ROWS(fx.raw, "SELECT name, step, value FROM metrics", "val_nll|200|1.241");
    CHECK_INT(raw_int(fx.raw, "SELECT count(*) FROM events WHERE run IS NOT NULL"), 0);
    CHECK_INT(stats.malformed, 0);
    int64_t off = -1, line = -1;
    CHECK_INT(reg_ingest_offset(fx.reg, fx.run, "stdout", &off, &line), REG_OK);
    CHECK_INT(off, file_size(out));
    CHECK_INT(line, 5);
    CHECK_INT(reg_ingest_offset(fx.reg, fx.run, "metrics", &off, &line), REG_OK);
    CHECK_INT(off, 0);

    /* more output later: only the new lines are matched */
    write_text(out, "a", "Iter 300: Val loss 1.100\n");
    CHECK_INT(ingest_file(fx.reg, fx.run, 1, out, "stdout", rules, 0, &stats, &err), 0);
    CHECK_ROWS(fx.raw, "SELECT name, step, value FROM metrics ORDER BY step",
               "val_nll|200|1.241;val_nll|300|1.1");
    free(out);
    stdout_rules_free(rules);
    json_decref(spec);

    /* no rules at all, and a pattern that does not compile */
    CHECK(stdout_rules_compile(NULL, &err) == NULL);
    json_t *empty = json_array();
    CHECK(stdout_rules_compile(empty, &err) == NULL);
    CHECK_INT(err.len, 0);
    json_decref(empty);
    json_t *bad = json_loads("[{\"pattern\": \"Iter ([0-9]+\", \"event\": \"val\","
                             "  \"fields\": [\"step\"]}]", 0, NULL);
    CHECK(stdout_rules_compile(bad, &err) == NULL);
    CHECK(strstr(sb_str(&err), "Iter ([0-9]+") != NULL);
    json_decref(bad);
    sb_free(&err);
    fixture_free(&fx);
}

/* ---- sizes ---- */

enum { MIB = 1 << 20 };

/* A line longer than 1 MiB is one malformed event; the lines around it are read. */
static void test_long_line(void)
{
    struct fixture fx;
    fixture_init(&fx, "long");
    write_text(fx.metrics_path, "w", "{\"event\":\"train\",\"step\":1,\"loss\":1}\n");
    size_t n = MIB + MIB / 2;
    char *big = malloc(n + 64);
    CHECK(big != NULL);
    int len = snprintf(big, 64, "{\"event\":\"log\",\"message\":\"");
    memset(big + len, 'x', n);
    big[len + n] = '\0';
    write_text(fx.metrics_path, "a", big);   /* no closing quote or newline yet */

    struct ingest_stats stats = { 0 };
    CHECK_INT(ingest_metrics(&fx, &stats), 0);
    CHECK_ROWS(fx.raw, "SELECT name, step FROM metrics", "loss|1");
    CHECK_INT(raw_int(fx.raw, "SELECT count(*) FROM events WHERE kind = 'malformed_line'"), 0);

    write_text(fx.metrics_path, "a", "\"}\n{\"event\":\"train\",\"step\":3,\"loss\":0.5}\n");
    CHECK_INT(ingest_metrics(&fx, &stats), 0);
    CHECK_INT(ingest_metrics(&fx, &stats), 0);
    CHECK_ROWS(fx.raw, "SELECT name, step, value FROM metrics ORDER BY step",
               "loss|1|1.0;loss|3|0.5");
    CHECK_INT(raw_int(fx.raw, "SELECT count(*) FROM events WHERE kind = 'malformed_line'"), 1);
    char *msg = raw_rows(fx.raw, "SELECT message FROM events WHERE kind = 'malformed_line'");
    CHECK(strstr(msg, "line 2") != NULL);
    CHECK(strstr(msg, "1 MiB") != NULL);
    free(msg);
    CHECK_INT(raw_int(fx.raw, "SELECT count(*) FROM events WHERE kind = 'log'"), 0);
    CHECK_INT(stats.malformed, 1);
    int64_t off = -1, line = -1;
    CHECK_INT(reg_ingest_offset(fx.reg, fx.run, "metrics", &off, &line), REG_OK);
    CHECK_INT(off, file_size(fx.metrics_path));
    CHECK_INT(line, 3);
    free(big);
    fixture_free(&fx);
}

/* Many lines: reads cross the 1 MiB chunk and the 20000-row batch; none lost or doubled. */
static void test_many_lines(void)
{
    struct fixture fx;
    fixture_init(&fx, "many");
    enum { LINES = 30000 };
    struct strbuf text = STRBUF_INIT;
    long long at_17000 = -1;
    for (int i = 1; i <= LINES; i++) {
        if (i == 17000)
            at_17000 = (long long)text.len;
        sb_addf(&text, "{\"event\":\"train\",\"step\":%d,\"loss\":%d.5,\"pad\":\"%040d\"}\n",
                i, i % 7, i);
    }
    CHECK(text.len > 2 * MIB);
    write_text(fx.metrics_path, "w", text.buf);
    struct ingest_stats stats = { 0 };
    CHECK_INT(ingest_metrics(&fx, &stats), 0);
    CHECK_INT(raw_int(fx.raw, "SELECT count(*) FROM metrics"), LINES);
    CHECK_INT(raw_int(fx.raw, "SELECT count(DISTINCT step) FROM metrics"), LINES);
    CHECK_INT(raw_int(fx.raw, "SELECT sum(step) FROM metrics"),
              (long long)LINES * (LINES + 1) / 2);
    CHECK_ROWS(fx.raw, "SELECT step, value FROM metrics WHERE step IN (1, 17000, 30000)"
               " ORDER BY step", "1|1.5;17000|4.5;30000|5.5");
    CHECK_INT(raw_int(fx.raw, "SELECT count(*) FROM events WHERE kind = 'malformed_line'"), 0);
    CHECK_INT(stats.lines, LINES);
    int64_t off = -1, line = -1;
    CHECK_INT(reg_ingest_offset(fx.reg, fx.run, "metrics", &off, &line), REG_OK);
    CHECK_INT(off, (long long)text.len);
    CHECK_INT(line, LINES);
    /* each row's offset is where its line starts */
    CHECK_INT(raw_int(fx.raw, "SELECT src_offset FROM metrics WHERE step = 17000"), at_17000);
    CHECK_INT(raw_int(fx.raw, "SELECT count(*) FROM (SELECT src_offset,"
                      " lag(src_offset) OVER (ORDER BY step) AS prev FROM metrics)"
                      " WHERE src_offset <= prev"), 0);
    sb_free(&text);
    fixture_free(&fx);
}

/* ---- an evaluator's outputs ---- */

/* Read the outputs in dir (metrics file fx->metrics_path) and record them for
 * step 5 of the fixture's run; returns eval_result_read's result. */
static int record_eval_dir(struct fixture *fx, const char *dir, struct strbuf *err)
{
    struct eval_result er;
    int rc = eval_result_read(&er, fx->metrics_path, dir, err);
    if (rc == 0) {
        er.in.sweep = 1;
        er.in.run = fx->run;
        er.in.step = 5;
        er.in.contract_sha256 = "c";
        CHECK_INT(reg_record_eval(fx->reg, &er.in), REG_OK);
    }
    eval_result_free(&er);
    return rc;
}

/* A fixture, its directory as an evaluator's, the paths of the files it writes there. */
struct eval_fixture {
    struct fixture fx;
    char *dir, *preds, *probes;
    struct strbuf err;
};

static void eval_fixture_init(struct eval_fixture *e, const char *name)
{
    fixture_init(&e->fx, name);
    e->dir = tmp_path("");
    e->preds = tmp_path("predictions.jsonl");
    e->probes = tmp_path("probes.jsonl");
    e->err = (struct strbuf)STRBUF_INIT;
}

static void eval_fixture_free(struct eval_fixture *e)
{
    unlink(e->preds);
    unlink(e->probes);
    free(e->preds);
    free(e->probes);
    free(e->dir);
    sb_free(&e->err);
    fixture_free(&e->fx);
}

static void test_eval_outputs(void)
{
    struct eval_fixture e;
    eval_fixture_init(&e, "evalout");

    write_text(e.fx.metrics_path, "w",
               "{\"event\":\"start\"}\n"
               "{\"event\":\"eval\",\"dataset\":\"old\",\"n\":1,\"correct\":0}\n"
               "{\"event\":\"eval\",\"dataset\":\"bench\",\"n\":2,\"correct\":1,"
               "\"accuracy\":0.5,\"retention_nll\":1.25,\"tok_per_s\":100}\n");
    CHECK_INT(record_eval_dir(&e.fx, e.dir, &e.err), -1);   /* no predictions.jsonl */
    CHECK(strstr(e.err.buf, "predictions.jsonl") != NULL);

    write_text(e.preds, "w",
               "{\"id\":7,\"output\":\"\\\\boxed{3}\",\"extracted\":\"3\",\"gold\":\"3\","
               "\"correct\":true,\"tokens\":4}\n"
               "{\"id\":\"b\",\"extracted\":\"\",\"gold\":\"9\",\"correct\":false,"
               "\"extraction_failed\":true}\n");
    write_text(e.probes, "w", "{\"idx\":0,\"prompt\":\"Hello\",\"output\":\" hi\",\"tokens\":2}\n");
    sb_reset(&e.err);
    CHECK_INT(record_eval_dir(&e.fx, e.dir, &e.err), 0);
    CHECK_ROWS(e.fx.raw, "SELECT checkpoint_step, dataset, n, correct, accuracy, tok_per_s,"
               " summary ->> '$.retention_nll' FROM evals", "5|bench|2|1|0.5|100.0|1.25");
    CHECK_ROWS(e.fx.raw, "SELECT example_id, extracted, correct, extraction_failed, tokens"
               " FROM predictions ORDER BY example_id", "7|3|1|0|4;b||0|1|0");
    CHECK_ROWS(e.fx.raw, "SELECT idx, prompt, output, tokens FROM probe_answers", "0|Hello| hi|2");

    /* A damaged line is an error naming the file and line; nothing is recorded. */
    write_text(e.probes, "a", "{\"idx\":1,\"prompt\":\"Bye\"\n");
    sb_reset(&e.err);
    CHECK_INT(record_eval_dir(&e.fx, e.dir, &e.err), -1);
    CHECK(strstr(e.err.buf, "probes.jsonl:2") != NULL);
    CHECK_INT(raw_int(e.fx.raw, "SELECT count(*) FROM evals"), 1);

    write_text(e.fx.metrics_path, "w", "{\"event\":\"done\"}\n");
    sb_reset(&e.err);
    CHECK_INT(record_eval_dir(&e.fx, e.dir, &e.err), -1);
    CHECK(strstr(e.err.buf, "no {\"event\":\"eval\"} summary") != NULL);

    eval_fixture_free(&e);
}

/* A model gone wrong generates byte 0; its evaluator writes \u0000. The evaluation is
 * recorded with U+FFFD in its place, and the summary counts the lines that held one. */
static void test_eval_nul_outputs(void)
{
    struct eval_fixture e;
    eval_fixture_init(&e, "evalnul");

    write_text(e.fx.metrics_path, "w",
               "{\"event\":\"eval\",\"dataset\":\"bench\",\"n\":3,\"correct\":0}\n");
    write_text(e.preds, "w",
               "{\"id\":\"a\",\"output\":\"x\\u0000y\\u0000\",\"extracted\":\"\","
               "\"gold\":\"1\",\"correct\":false}\n"
               "{\"id\":\"b\",\"output\":\"fine\",\"gold\":\"2\",\"correct\":false}\n"
               "{\"id\":\"c\",\"output\":\"\\u0000\",\"extracted\":\"\\u0000\","
               "\"gold\":\"3\",\"correct\":false}\n");
    write_text(e.probes, "w", "{\"idx\":0,\"prompt\":\"Hi\",\"output\":\"\\u0000!\"}\n");
    CHECK_INT(record_eval_dir(&e.fx, e.dir, &e.err), 0);
    CHECK(e.err.len == 0);
    CHECK_ROWS(e.fx.raw, "SELECT example_id, hex(output), length(output), hex(extracted)"
               " FROM predictions ORDER BY example_id",
               "a|78EFBFBD79EFBFBD|4|;b|66696E65|4|;c|EFBFBD|1|EFBFBD");
    CHECK_ROWS(e.fx.raw, "SELECT hex(output) FROM probe_answers", "EFBFBD21");
    CHECK_ROWS(e.fx.raw, "SELECT summary ->> '$.nul_outputs' FROM evals", "3");

    eval_fixture_free(&e);
}

int main(void)
{
    make_tmpdir();
    TEST(test_protocol_lines);
    TEST(test_malformed_kinds);
    TEST(test_idempotent);
    TEST(test_half_written_line);
    TEST(test_last_line_when_ended);
    TEST(test_checkpoint_outside_run_dir);
    TEST(test_offset_persisted);
    TEST(test_stdout_rules);
    TEST(test_long_line);
    TEST(test_many_lines);
    TEST(test_eval_outputs);
    TEST(test_eval_nul_outputs);
    remove_tmpdir();
    return test_report();
}
