/* fetch.c - resumable, retrying downloads with libcurl (see fetch.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fetch.h"
#include "fsutil.h"

#define FETCH_USER_AGENT "mainline/0.1 (libcurl)"
#define FETCH_MAX_WAIT_S 60.0

enum attempt_outcome {
    ATTEMPT_OK,
    ATTEMPT_TRANSIENT,   /* worth retrying */
    ATTEMPT_RESTART,     /* the partial file is unusable: start from byte 0, now */
    ATTEMPT_FATAL,
};

/* ---- options ---- */

static int env_number(const char *var, double min, double *out, struct strbuf *err)
{
    const char *s = getenv(var);
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < min) {
        sb_addf(err, "%s='%s' is not a number >= %g", var, s, min);
        return -1;
    }
    *out = v;
    return 0;
}

int fetch_opts_from_env(struct fetch_opts *o, struct strbuf *err)
{
    double retries = 4, backoff = 1, connect = 30, stall = 60;
    if (env_number("MAINLINE_FETCH_RETRIES", 0, &retries, err) < 0 ||
        env_number("MAINLINE_FETCH_BACKOFF", 0, &backoff, err) < 0 ||
        env_number("MAINLINE_FETCH_CONNECT_TIMEOUT", 1, &connect, err) < 0 ||
        env_number("MAINLINE_FETCH_STALL_TIMEOUT", 1, &stall, err) < 0)
        return -1;
    memset(o, 0, sizeof(*o));
    o->retries = (int)fmin(retries, 100);
    o->backoff_s = backoff;
    o->connect_timeout_s = (long)connect;
    o->stall_timeout_s = (long)stall;
    return 0;
}

/* ---- one attempt ---- */

struct transfer {
    int fd;
    const char *name;
    int64_t offset;          /* bytes on disk when the request was made */
    int64_t written;         /* bytes written by this attempt */
    int decided;             /* the response status was looked at */
    long http_code;          /* the response's HTTP status, 0 before one */
    int keep_body;           /* 200 or 206 with the right start */
    int bad_range;           /* 206 starting elsewhere than asked */
    int write_errno;
    int64_t range_start;     /* from Content-Range, -1 when absent */
    char validator[256];     /* ETag or Last-Modified of the response */
    CURL *curl;
    const struct fetch_observer *obs;
};

static void trim_value(const char *v, size_t n, char *out, size_t cap)
{
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n >= cap)
        n = 0;   /* absurdly long: ignore rather than truncate a validator */
    memcpy(out, v, n);
    out[n] = '\0';
}

/* Headers of every response (redirects included): keep those of the last one. */
static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
    struct transfer *t = ud;
    size_t len = size * n;
    char value[256];
    if (len >= 5 && !strncmp(line, "HTTP/", 5)) {
        t->range_start = -1;
        t->validator[0] = '\0';
    } else if (len > 14 && !strncasecmp(line, "Content-Range:", 14)) {
        trim_value(line + 14, len - 14, value, sizeof(value));
        long long start;
        if (sscanf(value, "bytes %lld-", &start) == 1)
            t->range_start = start;
    } else if (len > 5 && !strncasecmp(line, "ETag:", 5)) {
        trim_value(line + 5, len - 5, t->validator, sizeof(t->validator));
    } else if (len > 14 && !strncasecmp(line, "Last-Modified:", 14) && !t->validator[0]) {
        trim_value(line + 14, len - 14, t->validator, sizeof(t->validator));
    }
    return len;
}

/* The first body bytes: decide whether this response is the file (or its rest). */
static int decide(struct transfer *t)
{
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    t->decided = 1;
    if (code == 206 && t->range_start != t->offset) {
        t->bad_range = 1;
        return -1;
    }
    if (code == 200 && t->offset > 0) {
        /* The server sent the whole file (no Range support, or If-Range failed). */
        if (ftruncate(t->fd, 0) < 0 || lseek(t->fd, 0, SEEK_SET) < 0) {
            t->write_errno = errno;
            return -1;
        }
        t->offset = 0;
    }
    t->keep_body = code == 200 || code == 206;
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    struct transfer *t = ud;
    size_t len = size * n;
    if (!t->decided && decide(t) < 0)
        return 0;
    if (!t->keep_body)
        return len;   /* an error page: read and drop it */
    for (size_t done = 0; done < len;) {
        ssize_t w = write(t->fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            t->write_errno = errno;
            return 0;
        }
        done += (size_t)w;
    }
    t->written += (int64_t)len;
    return len;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    struct transfer *t = ud;
    if (t->obs && t->obs->progress && t->keep_body)
        t->obs->progress(t->obs->ud, t->name, t->offset + t->written,
                         dltotal > 0 ? t->offset + (int64_t)dltotal : -1);
    return 0;
}

static int transient_curl_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

static int transient_status(long code)
{
    return code == 408 || code == 429 || code >= 500;
}

static void setup(CURL *c, const char *url, struct transfer *t, const struct fetch_opts *o,
                  struct curl_slist **headers, const char *validator)
{
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, FETCH_USER_AGENT);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o->stall_timeout_s);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    if (t->offset > 0) {
        /* CURLOPT_RANGE, not CURLOPT_RESUME_FROM: libcurl fails a resumed transfer
         * the server answers with 200 (CURLE_RANGE_ERROR); decide() takes that
         * 200 as the whole file instead. */
        char range[32];
        snprintf(range, sizeof(range), "%lld-", (long long)t->offset);
        curl_easy_setopt(c, CURLOPT_RANGE, range);
        if (validator && *validator) {
            struct strbuf h = STRBUF_INIT;
            sb_addf(&h, "If-Range: %s", validator);
            *headers = curl_slist_append(*headers, h.buf);
            sb_free(&h);
        }
    }
    if (o->bearer_token && *o->bearer_token) {
        struct strbuf h = STRBUF_INIT;
        sb_addf(&h, "Authorization: Bearer %s", o->bearer_token);
        *headers = curl_slist_append(*headers, h.buf);
        sb_free(&h);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *headers);
}

/* What went wrong, for the message: "HTTP 404" or curl's words. */
static void describe(struct strbuf *why, CURLcode rc, long code, const char *curl_msg,
                     const struct transfer *t)
{
    sb_reset(why);
    if (t->write_errno)
        sb_addf(why, "cannot write the download: %s", strerror(t->write_errno));
    else if (rc == CURLE_OK || rc == CURLE_HTTP_RETURNED_ERROR)
        sb_addf(why, "HTTP %ld", code);
    else
        sb_addf(why, "%s", curl_msg[0] ? curl_msg : curl_easy_strerror(rc));
}

static enum attempt_outcome attempt(const char *url, struct transfer *t,
                                    const struct fetch_opts *o, const char *validator,
                                    struct strbuf *why, double *retry_after)
{
    CURL *c = curl_easy_init();
    if (!c) {
        sb_adds(why, "libcurl could not start a transfer");
        return ATTEMPT_FATAL;
    }
    char curl_msg[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    t->curl = c;
    setup(c, url, t, o, &headers, validator);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_msg);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_off_t after = -1;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    t->http_code = code;
    curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &after);
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    t->curl = NULL;
    *retry_after = after > 0 ? (double)after : -1;
    describe(why, rc, code, curl_msg, t);
    if (t->bad_range || rc == CURLE_RANGE_ERROR || (code == 416 && t->offset > 0))
        return ATTEMPT_RESTART;
    if (t->write_errno)
        return ATTEMPT_FATAL;
    if (rc == CURLE_OK && (code == 200 || code == 206))
        return ATTEMPT_OK;
    if (rc == CURLE_OK || rc == CURLE_WRITE_ERROR)
        return transient_status(code) ? ATTEMPT_TRANSIENT : ATTEMPT_FATAL;
    return transient_curl_error(rc) ? ATTEMPT_TRANSIENT : ATTEMPT_FATAL;
}

/* ---- the retry loop ---- */

static void sleep_seconds(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static char *validator_path(const char *partial)
{
    struct strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "%s.validator", partial);
    return sb_detach(&sb);
}

static char *load_validator(const char *partial)
{
    char *path = validator_path(partial), *text = NULL;
    size_t len;
    struct strbuf ignored = STRBUF_INIT;
    if (read_file(path, &text, &len, &ignored) < 0)
        text = NULL;
    sb_free(&ignored);
    free(path);
    return text;
}

/* Remember what identifies the version being downloaded, for If-Range next time. */
static void save_validator(const char *partial, const char *validator)
{
    char *path = validator_path(partial);
    struct strbuf ignored = STRBUF_INIT;
    if (*validator)
        write_file_atomic(path, validator, strlen(validator), &ignored);
    else
        unlink(path);
    sb_free(&ignored);
    free(path);
}

static void note(const struct fetch_opts *o, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void note(const struct fetch_opts *o, const char *fmt, ...)
{
    if (!o->obs || !o->obs->note)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    o->obs->note(o->obs->ud, buf);
}

static int64_t file_size(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* Attempts until success, a permanent failure, or the retries are spent. */
static int fetch_loop(const char *url, const char *name, int fd, const char *partial,
                      const struct fetch_opts *o, struct fetch_result *res, struct strbuf *err)
{
    struct strbuf why = STRBUF_INIT;
    double wait = o->backoff_s;
    int restarts = 0, retry = 0;
    memset(res, 0, sizeof(*res));
    for (;;) {
        struct transfer t = { .fd = fd, .name = name, .range_start = -1, .obs = o->obs };
        t.offset = file_size(fd);
        lseek(fd, 0, SEEK_END);
        char *validator = t.offset > 0 ? load_validator(partial) : NULL;
        double retry_after = -1;
        res->attempts++;
        enum attempt_outcome out = attempt(url, &t, o, validator, &why, &retry_after);
        free(validator);
        if (t.keep_body && t.offset == 0)
            save_validator(partial, t.validator);
        res->resumed |= t.keep_body && t.offset > 0;
        res->http_status = t.http_code;
        if (out == ATTEMPT_OK) {
            res->bytes = file_size(fd);
            sb_free(&why);
            return 0;
        }
        if (out == ATTEMPT_RESTART && restarts++ < 2) {
            if (ftruncate(fd, 0) < 0)
                out = ATTEMPT_FATAL;
            else
                continue;
        }
        if (out != ATTEMPT_TRANSIENT || retry >= o->retries) {
            sb_addf(err, "cannot fetch '%s': %s", url, why.buf);
            if (out == ATTEMPT_TRANSIENT && retry > 0)
                sb_addf(err, " (gave up after %d attempts)", res->attempts);
            else if (out == ATTEMPT_FATAL)
                sb_adds(err, " (not retried)");
            sb_free(&why);
            return -1;
        }
        retry++;
        double pause = retry_after > 0 ? fmin(retry_after, FETCH_MAX_WAIT_S) : wait;
        note(o, "fetching '%s': %s; retry %d of %d in %.1f s", url, why.buf, retry, o->retries,
             pause);
        sleep_seconds(pause);
        wait = fmin(wait * 2, FETCH_MAX_WAIT_S);
    }
}

int fetch_open_partial(const char *partial, int *fd_out, struct strbuf *err)
{
    int fd = open(partial, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        sb_addf(err, "cannot open '%s': %s", partial, strerror(errno));
        return -1;
    }
    /* Two plans fetching the same URL take turns. When the first one placed the
     * file while the second waited, the name no longer leads to this inode. */
    struct stat held, now;
    if (flock(fd, LOCK_EX) < 0) {
        sb_addf(err, "cannot lock '%s': %s", partial, strerror(errno));
        close(fd);
        return -1;
    }
    if (fstat(fd, &held) < 0 || stat(partial, &now) < 0 || held.st_ino != now.st_ino ||
        held.st_dev != now.st_dev) {
        close(fd);
        return 1;
    }
    *fd_out = fd;
    return 0;
}

int fetch_file(const char *url, const char *name, int fd, const char *partial,
               const struct fetch_opts *o, struct fetch_result *res, struct strbuf *err)
{
    static int curl_ready;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            sb_adds(err, "libcurl failed to initialize");
            return -1;
        }
        curl_ready = 1;
    }
    int rc = fetch_loop(url, name, fd, partial, o, res, err);
    if (o->obs && o->obs->done)
        o->obs->done(o->obs->ud, name);
    if (rc == 0)
        fetch_forget_partial(partial);
    return rc;
}

void fetch_forget_partial(const char *partial)
{
    char *vpath = validator_path(partial);
    unlink(vpath);
    free(vpath);
}
