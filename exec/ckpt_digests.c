/* ckpt_digests.c - checkpoints.sha256, written by the supervisor (see ckpt_digests.h). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt_digest.h"
#include "ckpt_digests.h"
#include "fsutil.h"
#include "job.h"
#include "jsonl.h"

static void add_entry(struct ckpt_digests *d, const char *path, const struct file_digest *fd)
{
    d->v = xgrow(d->v, d->n + 1, &d->alloc, sizeof(*d->v));
    struct ckpt_digest_entry *e = &d->v[d->n++];
    e->path = xstrdup(path);
    memcpy(e->sha256, fd->sha256, sizeof(e->sha256));
    e->bytes = fd->bytes;
}

struct scan {
    const char *dir;
    struct ckpt_digests *d;
    char **seen;             /* every path looked at, listed or not */
    size_t n_seen, alloc_seen;
    struct strbuf *err;
};

static int was_seen(struct scan *sc, const char *path)
{
    for (size_t i = 0; i < sc->n_seen; i++)
        if (!strcmp(sc->seen[i], path))
            return 1;
    sc->seen = xgrow(sc->seen, sc->n_seen + 1, &sc->alloc_seen, sizeof(*sc->seen));
    sc->seen[sc->n_seen++] = xstrdup(path);
    return 0;
}

/* A line that is not a checkpoint event with a one-line path is not ours to judge:
 * the orchestrator's ingestion records it as malformed. */
static int scan_line(const char *line, long lineno, void *ud)
{
    (void)lineno;
    struct scan *sc = ud;
    json_t *obj = json_loads(line, 0, NULL);
    const char *event = json_string_value(json_object_get(obj, "event"));
    const char *path = json_string_value(json_object_get(obj, "path"));
    if (event && !strcmp(event, "checkpoint") && path && *path && !strchr(path, '\n') &&
        !was_seen(sc, path)) {
        char *full = path[0] == '/' ? xstrdup(path) : path_join(sc->dir, path);
        struct file_digest fd;
        struct strbuf why = STRBUF_INIT;
        int rc = ckpt_digest(full, &fd, &why);
        if (rc == 0)
            add_entry(sc->d, path, &fd);
        else if (rc < 0)
            sb_addf(sc->err, "%s%s", sc->err->len ? "; " : "", why.buf);
        sb_free(&why);
        free(full);
    }
    json_decref(obj);
    return 0;
}

int ckpt_digests_write(const char *dir, struct strbuf *err)
{
    struct ckpt_digests d = { 0 };
    struct scan sc = { .dir = dir, .d = &d, .err = err };
    char *metrics = path_join(dir, JOB_FILE_METRICS);
    /* No metrics.jsonl (a trainer that only prints): no checkpoint of its to hash. */
    enum jsonl_status js = access(metrics, F_OK) < 0 && errno == ENOENT
                               ? JSONL_OK : jsonl_each(metrics, scan_line, &sc, err);
    free(metrics);
    for (size_t i = 0; i < sc.n_seen; i++)
        free(sc.seen[i]);
    free(sc.seen);
    int rc = -1;
    if (js == JSONL_OK) {
        struct strbuf text = STRBUF_INIT;
        for (size_t i = 0; i < d.n; i++)
            sb_addf(&text, "%s  %" PRId64 "  %s\n", d.v[i].sha256, d.v[i].bytes, d.v[i].path);
        char *file = path_join(dir, JOB_FILE_CKPT_DIGESTS);
        rc = write_file_atomic(file, text.buf ? text.buf : "", text.len, err);
        free(file);
        sb_free(&text);
    }
    ckpt_digests_free(&d);
    return rc;
}

/* "HEX  BYTES  PATH" into *e (path borrowed from line). Returns 0, or the 1-based
 * column where it goes wrong. */
static int parse_line(char *line, struct ckpt_digest_entry *e)
{
    char *p = line;
    if (strlen(p) < SHA256_HEX_LEN + 2 || p[SHA256_HEX_LEN] != ' ')
        return 1;
    p[SHA256_HEX_LEN] = '\0';
    if (!is_sha256_hex(p))
        return 1;
    memcpy(e->sha256, p, sizeof(e->sha256));
    p += SHA256_HEX_LEN + 1;
    if (*p++ != ' ')
        return (int)(p - line);
    char *end;
    errno = 0;
    long long bytes = strtoll(p, &end, 10);
    if (end == p || errno || bytes < 0 || *p == '-' || *p == '+')
        return (int)(p - line) + 1;
    e->bytes = bytes;
    if (end[0] != ' ' || end[1] != ' ' || !end[2])
        return (int)(end - line) + 1;
    e->path = end + 2;
    return 0;
}

int ckpt_digests_read(const char *dir, struct ckpt_digests *out, struct strbuf *err)
{
    memset(out, 0, sizeof(*out));
    char *file = path_join(dir, JOB_FILE_CKPT_DIGESTS);
    char *text;
    size_t len;
    if (access(file, F_OK) < 0 && errno == ENOENT) {
        free(file);
        return 1;
    }
    if (read_file(file, &text, &len, err) < 0) {
        free(file);
        return -1;
    }
    int rc = 0;
    long lineno = 0;
    for (char *line = text; rc == 0 && line < text + len; lineno++) {
        char *nl = memchr(line, '\n', (size_t)(text + len - line));
        if (!nl) {
            sb_addf(err, "%s:%ld:%zu: the last line has no newline (cut short)", file,
                    lineno + 1, (size_t)(text + len - line) + 1);
            rc = -1;
            break;
        }
        *nl = '\0';
        struct ckpt_digest_entry e = { 0 };
        int col = parse_line(line, &e);
        if (col) {
            sb_addf(err, "%s:%ld:%d: expected \"SHA256  BYTES  PATH\"", file, lineno + 1, col);
            rc = -1;
        } else {
            struct file_digest fd = { .bytes = e.bytes };
            memcpy(fd.sha256, e.sha256, sizeof(fd.sha256));
            add_entry(out, e.path, &fd);
        }
        line = nl + 1;
    }
    free(text);
    free(file);
    if (rc < 0)
        ckpt_digests_free(out);
    return rc;
}

const struct ckpt_digest_entry *ckpt_digests_find(const struct ckpt_digests *d,
                                                  const char *path)
{
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->v[i].path, path))
            return &d->v[i];
    return NULL;
}

void ckpt_digests_free(struct ckpt_digests *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].path);
    free(d->v);
    memset(d, 0, sizeof(*d));
}
