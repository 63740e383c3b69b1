/*
 * ingest.c - protocol lines -> registry rows (see ingest.h and docs/protocol.md).
 *
 * Event mapping:
 *   train       every numeric field but step -> a metric of that name (loss, lr, ...)
 *   val         every numeric field -> "val_<field>" (nll -> val_nll)
 *   eval        every numeric field -> "eval_<field>" (accuracy -> eval_accuracy)
 *   checkpoint  a checkpoints row (step, path, bytes, sha256)
 *   anything else (start, done, log, ...) -> an event row holding the line
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "ingest.h"

enum { READ_CHUNK = 1 << 20, BATCH_LINES = 20000, MAX_LINE = 1 << 20 };


/* ---- rows of one batch ---- */

struct batch {
    struct reg_metric_in *metrics;
    size_t n_metrics, alloc_metrics;
    struct reg_checkpoint_in *checkpoints;
    size_t n_checkpoints, alloc_checkpoints;
    struct reg_event_in *events;
    size_t n_events, alloc_events;
    char **strings;      /* owned copies the rows point to */
    size_t n_strings, alloc_strings;
    const char *names[32];   /* metric names seen in this batch (in strings) */
    size_t n_names;
};

static const char *keep(struct batch *b, char *s)
{
    b->strings = xgrow(b->strings, b->n_strings + 1, &b->alloc_strings, sizeof(char *));
    b->strings[b->n_strings++] = s;
    return s;
}

static void batch_reset(struct batch *b)
{
    for (size_t i = 0; i < b->n_strings; i++)
        free(b->strings[i]);
    b->n_strings = b->n_metrics = b->n_checkpoints = b->n_events = b->n_names = 0;
}

static void batch_free(struct batch *b)
{
    batch_reset(b);
    free(b->metrics);
    free(b->checkpoints);
    free(b->events);
    free(b->strings);
}

static void add_event(struct batch *b, const char *kind, char *message, char *data)
{
    b->events = xgrow(b->events, b->n_events + 1, &b->alloc_events, sizeof(*b->events));
    struct reg_event_in *e = &b->events[b->n_events++];
    e->kind = keep(b, xstrdup(kind));
    e->message = message ? keep(b, message) : NULL;
    e->data_json = data ? keep(b, data) : NULL;
}

static void add_malformed(struct batch *b, const char *file, int64_t line, int64_t offset,
                          const char *why)
{
    struct strbuf msg = STRBUF_INIT;
    sb_addf(&msg, "%s line %lld: %s", file, (long long)line, why);
    json_t *data = json_pack("{s:s,s:I,s:I}", "file", file, "line", (json_int_t)line,
                             "offset", (json_int_t)offset);
    add_event(b, "malformed_line", sb_detach(&msg), json_dumps(data, JSON_COMPACT));
    json_decref(data);
}

/* A metric name, kept once per batch: a file has a handful of names repeated on
 * every line, and a copy per row was a malloc per row. */
static const char *intern_name(struct batch *b, const char *prefix, const char *key)
{
    size_t plen = strlen(prefix);
    int add_prefix = plen && strncmp(key, prefix, plen) != 0;
    for (size_t i = b->n_names; i-- > 0;) {
        const char *n = b->names[i];
        if (add_prefix ? !strncmp(n, prefix, plen) && !strcmp(n + plen, key) : !strcmp(n, key))
            return n;
    }
    struct strbuf name = STRBUF_INIT;
    sb_addf(&name, "%s%s", add_prefix ? prefix : "", key);
    const char *kept = keep(b, sb_detach(&name));
    if (b->n_names < sizeof(b->names) / sizeof(b->names[0]))
        b->names[b->n_names++] = kept;
    return kept;
}

/* Metric names for an event's numeric fields: the prefix keeps val and eval apart. */
static void add_metrics(struct batch *b, json_t *obj, const char *prefix, int64_t step,
                        int64_t offset)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (!json_is_number(v) || !strcmp(key, "step"))
            continue;
        double value = json_number_value(v);
        if (!isfinite(value))
            continue;
        b->metrics = xgrow(b->metrics, b->n_metrics + 1, &b->alloc_metrics, sizeof(*b->metrics));
        struct reg_metric_in *m = &b->metrics[b->n_metrics++];
        m->name = intern_name(b, prefix, key);
        m->step = step;
        m->value = value;
        m->src_offset = offset;
    }
}

static void add_checkpoint(struct batch *b, json_t *obj, int64_t step)
{
    b->checkpoints = xgrow(b->checkpoints, b->n_checkpoints + 1, &b->alloc_checkpoints,
                           sizeof(*b->checkpoints));
    struct reg_checkpoint_in *c = &b->checkpoints[b->n_checkpoints++];
    const char *sha = json_string_value(json_object_get(obj, "sha256"));
    json_t *bytes = json_object_get(obj, "bytes");
    c->step = step;
    c->path = keep(b, xstrdup(json_string_value(json_object_get(obj, "path"))));
    c->sha256 = sha ? keep(b, xstrdup(sha)) : NULL;
    c->bytes = json_is_integer(bytes) ? json_integer_value(bytes) : -1;
}

static void note_progress(json_t *obj, int64_t step, struct ingest_stats *stats)
{
    json_t *loss = json_object_get(obj, "loss"), *tps = json_object_get(obj, "tok_per_s");
    stats->last_step = step;
    if (json_is_number(loss))
        stats->last_loss = json_number_value(loss);
    if (json_is_number(tps))
        stats->last_tok_s = json_number_value(tps);
}

/*
 * Whether a checkpoint's path names something inside run_dir, by its text:
 * relative without climbing out with "..", or absolute below run_dir. Symbolic
 * links are not followed: the run directory is the trainer's own, and a link it
 * makes there (checkpoints/ on another disk) is its choice.
 */
static int inside_run_dir(const char *run_dir, const char *path)
{
    const char *rel = path;
    if (path[0] == '/') {
        size_t n = strlen(run_dir);
        if (strncmp(path, run_dir, n) || path[n] != '/')
            return 0;
        rel = path + n;
    }
    return path_depth(rel, 0) > 0;
}

/* One parsed line. Returns 1 for a done event, 0 otherwise. */
static int map_line(struct batch *b, json_t *obj, const char *file, const char *run_dir,
                    int64_t line, int64_t offset, struct ingest_stats *stats)
{
    const char *event = json_string_value(json_object_get(obj, "event"));
    json_t *step_v = json_object_get(obj, "step");
    int has_step = json_is_integer(step_v) && json_integer_value(step_v) >= 0;
    int64_t step = has_step ? json_integer_value(step_v) : 0;
    int needs_step = event && (!strcmp(event, "train") || !strcmp(event, "val") ||
                               !strcmp(event, "checkpoint"));
    if (!event) {
        add_malformed(b, file, line, offset, "no \"event\" field");
        stats->malformed++;
    } else if (needs_step && !has_step) {
        add_malformed(b, file, line, offset, "needs an integer \"step\" >= 0");
        stats->malformed++;
    } else if (!strcmp(event, "train")) {
        add_metrics(b, obj, "", step, offset);
        note_progress(obj, step, stats);
    } else if (!strcmp(event, "val")) {
        add_metrics(b, obj, "val_", step, offset);
    } else if (!strcmp(event, "eval") && has_step) {
        add_metrics(b, obj, "eval_", step, offset);
    } else if (!strcmp(event, "checkpoint")) {
        const char *path = json_string_value(json_object_get(obj, "path"));
        if (!path) {
            add_malformed(b, file, line, offset, "a checkpoint needs a \"path\"");
            stats->malformed++;
        } else if (!inside_run_dir(run_dir, path)) {
            struct strbuf why = STRBUF_INIT;
            sb_addf(&why, "the checkpoint path '%s' is outside the run directory; not recorded",
                    path);
            add_malformed(b, file, line, offset, why.buf);
            sb_free(&why);
            stats->malformed++;
        } else {
            add_checkpoint(b, obj, step);
        }
    } else {
        json_t *total = json_object_get(obj, "total_steps");
        if (json_is_integer(total))
            stats->total_steps = json_integer_value(total);
        const char *msg = json_string_value(json_object_get(obj, "message"));
        add_event(b, event, msg ? xstrdup(msg) : NULL, json_dumps(obj, JSON_COMPACT));
    }
    return event && !strcmp(event, "done");
}

/* ---- reading ---- */

struct reader {
    struct registry *reg;
    int64_t run;
    int attempt;
    const char *file;
    char *run_dir;             /* the directory of the file read */
    const struct stdout_rules *rules;
    struct ingest_stats *stats;
    struct batch batch;
    int64_t offset, line;      /* committed position */
};

static int flush(struct reader *rd, int64_t offset, int64_t line, struct strbuf *err)
{
    struct batch *b = &rd->batch;
    struct reg_ingest_in in = {
        .run = rd->run, .attempt = rd->attempt, .file = rd->file, .offset = offset,
        .line = line, .metrics = b->metrics, .n_metrics = b->n_metrics,
        .checkpoints = b->checkpoints, .n_checkpoints = b->n_checkpoints,
        .events = b->events, .n_events = b->n_events,
    };
    enum reg_status st = reg_ingest(rd->reg, &in);
    if (st != REG_OK) {
        sb_addf(err, "cannot ingest %s of run %lld: %s", rd->file, (long long)rd->run,
                reg_errmsg(rd->reg));
        return -1;
    }
    rd->stats->metrics += (int64_t)b->n_metrics;
    rd->stats->checkpoints += (int64_t)b->n_checkpoints;
    rd->stats->events += (int64_t)b->n_events;
    rd->offset = offset;
    rd->line = line;
    batch_reset(b);
    return 0;
}

static void take_line(struct reader *rd, char *text, int64_t line, int64_t offset)
{
    if (rd->rules) {
        /* a printed line: the events the sweep's rules make of it, if any */
        json_t *events = stdout_rules_match(rd->rules, text), *obj;
        size_t i;
        json_array_foreach(events, i, obj)
            if (map_line(&rd->batch, obj, rd->file, rd->run_dir, line, offset, rd->stats))
                rd->stats->done_seen = 1;
        json_decref(events);
        return;
    }
    json_error_t jerr;
    json_t *obj = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj || !json_is_object(obj)) {
        add_malformed(&rd->batch, rd->file, line, offset, obj ? "not a JSON object" : jerr.text);
        rd->stats->malformed++;
        json_decref(obj);
        return;
    }
    if (map_line(&rd->batch, obj, rd->file, rd->run_dir, line, offset, rd->stats))
        rd->stats->done_seen = 1;
    json_decref(obj);
}

/* Line number `line` at `offset`, its newline cut: read unless it is blank. */
static void take_numbered(struct reader *rd, char *text, size_t len, int64_t line,
                          int64_t offset)
{
    rd->stats->lines++;
    if (len > 0 && !(len == 1 && text[0] == '\r'))
        take_line(rd, text, line, offset);
}

/* Lines of buf[0..len) that end in '\n'; returns the bytes consumed. */
static size_t take_lines(struct reader *rd, char *buf, size_t len, int64_t base,
                         int64_t *line, struct strbuf *err, int *failed)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        buf[i] = '\0';
        take_numbered(rd, buf + start, i - start, ++*line, base + (int64_t)start);
        start = i + 1;
        if (rd->batch.n_metrics + rd->batch.n_events >= BATCH_LINES &&
            flush(rd, base + (int64_t)start, *line, err) < 0) {
            *failed = 1;
            return start;
        }
    }
    return start;
}

int ingest_file_if_grown(struct registry *reg, int64_t run, int attempt, const char *path,
                         const char *file, const struct stdout_rules *rules, int ended,
                         struct ingest_stats *stats, int64_t *seen_size, struct strbuf *err)
{
    struct stat sb;
    if (stat(path, &sb) < 0)
        return errno == ENOENT ? 0 : ingest_file(reg, run, attempt, path, file, rules, ended,
                                                 stats, err);
    if ((int64_t)sb.st_size == *seen_size && !ended)
        return 0;   /* (an ended job's last line may have been there, without its newline) */
    int rc = ingest_file(reg, run, attempt, path, file, rules, ended, stats, err);
    if (rc == 0)
        *seen_size = (int64_t)sb.st_size;
    return rc;
}

/* Bytes up to and including the next newline (counting `have` already read),
 * or -1 when the file ends first. */
static int64_t skip_long_line(FILE *f, int64_t have)
{
    int c;
    while ((c = fgetc(f)) != EOF) {
        have++;
        if (c == '\n')
            return have;
    }
    return -1;
}

int ingest_file(struct registry *reg, int64_t run, int attempt, const char *path,
                const char *file, const struct stdout_rules *rules, int ended,
                struct ingest_stats *stats, struct strbuf *err)
{
    struct reader rd = { .reg = reg, .run = run, .attempt = attempt, .file = file,
                         .rules = rules, .stats = stats };
    if (reg_ingest_offset(reg, run, file, &rd.offset, &rd.line) != REG_OK) {
        sb_addf(err, "cannot read the ingest offset: %s", reg_errmsg(reg));
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f && errno == ENOENT)
        return 0;
    if (!f) {
        sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) < 0 || sb.st_size <= rd.offset ||
        fseeko(f, rd.offset, SEEK_SET) < 0) {
        fclose(f);
        return 0;
    }
    rd.run_dir = path_dirname(path);
    char *buf = xmalloc(READ_CHUNK + 1);
    size_t have = 0;
    int64_t base = rd.offset, line = rd.line;
    int failed = 0, long_tail = 0;
    while (!failed) {
        size_t n = fread(buf + have, 1, READ_CHUNK - have, f);
        if (n == 0)
            break;
        have += n;
        size_t used = take_lines(&rd, buf, have, base, &line, err, &failed);
        if (used == 0 && have == READ_CHUNK) {
            /* A line longer than the buffer: skip it once it is complete. */
            int64_t skipped = skip_long_line(f, (int64_t)have);
            if (skipped < 0) {
                long_tail = 1;
                break;   /* not finished yet: come back later */
            }
            add_malformed(&rd.batch, file, ++line, base, "line longer than 1 MiB");
            stats->malformed++;
            base += skipped;
            have = 0;
            continue;
        }
        memmove(buf, buf + used, have - used);
        base += (int64_t)used;
        have -= used;
    }
    /* The job has ended: its last line will never get a newline. */
    off_t end = ftello(f);
    if (ended && !failed && long_tail && end > base) {
        add_malformed(&rd.batch, file, ++line, base, "line longer than 1 MiB");
        stats->malformed++;
        base = (int64_t)end;
    } else if (ended && !failed && have > 0) {
        buf[have] = '\0';
        take_numbered(&rd, buf, have, ++line, base);
        base += (int64_t)have;
    }
    fclose(f);
    free(buf);
    int rc = failed ? -1 : 0;
    if (!failed && (base != rd.offset || rd.batch.n_events || rd.batch.n_metrics))
        rc = flush(&rd, base, line, err);
    batch_free(&rd.batch);
    free(rd.run_dir);
    return rc;
}
