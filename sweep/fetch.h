/*
 * fetch.h - download one http(s) URL to a file with libcurl: resume, retries with
 * exponential backoff, timeouts, progress reports.
 *
 * The download goes to a "partial" file that survives failures: the next attempt
 * (in this process or a later one) asks for the rest with a Range request, guarded
 * by If-Range with the ETag or Last-Modified of the first response, so a file that
 * changed on the server is fetched again from the start rather than spliced.
 * Transient failures (connection errors, a broken transfer, timeouts, HTTP 408,
 * 429 and 5xx) are retried; anything else (404, 403, ...) fails at once.
 *
 * This layer never prints: progress and retry notes go to the observer, if any.
 * Errors: fetch_file returns 0, or -1 with a message naming the URL in *err.
 * Ownership: nothing returned needs freeing; opts and the observer are borrowed.
 */
#ifndef MAINLINE_FETCH_H
#define MAINLINE_FETCH_H

#include <stdint.h>

#include "strbuf.h"

struct fetch_observer {
    /* Bytes of `name` on disk so far and the total (-1 when unknown). */
    void (*progress)(void *ud, const char *name, int64_t done, int64_t total);
    /* The transfer of `name` is over (successfully or not): end the progress line. */
    void (*done)(void *ud, const char *name);
    /* A one-line notice, e.g. a retry about to happen. */
    void (*note)(void *ud, const char *msg);
    void *ud;
};

struct fetch_opts {
    int retries;               /* extra attempts after a transient failure */
    double backoff_s;          /* the first wait; doubled after each retry, capped */
    long connect_timeout_s;
    long stall_timeout_s;      /* give up when below 1 KiB/s for this long */
    const char *bearer_token;  /* sent as "Authorization: Bearer ..." when set */
    const struct fetch_observer *obs;   /* NULL: quiet */
};

/* Defaults, overridden by MAINLINE_FETCH_RETRIES, MAINLINE_FETCH_BACKOFF,
 * MAINLINE_FETCH_CONNECT_TIMEOUT and MAINLINE_FETCH_STALL_TIMEOUT. Returns 0, or
 * -1 naming the malformed variable in *err. */
int fetch_opts_from_env(struct fetch_opts *o, struct strbuf *err);

struct fetch_result {
    int64_t bytes;      /* size of the complete file */
    int attempts;       /* requests made */
    int resumed;        /* 1 if some bytes came from an earlier attempt */
    long http_status;   /* the last response's HTTP status (0: none, e.g. no connection) */
};

/*
 * Open and lock (flock, waiting for another process) the partial file of a
 * download. Returns 0 with the locked descriptor in *fd (the caller closes it
 * once the file is placed or removed), 1 when another process finished and placed
 * the same download while this one waited (look in the cache again), or -1.
 */
int fetch_open_partial(const char *partial, int *fd, struct strbuf *err);

/*
 * Fetch `url` into the partial file open as `fd` (empty, or the first bytes of an
 * earlier attempt). `name` labels progress reports. Returns 0 when the file is
 * complete (not fsynced: the caller verifies and places it), or -1.
 */
int fetch_file(const char *url, const char *name, int fd, const char *partial,
               const struct fetch_opts *o, struct fetch_result *res, struct strbuf *err);

/* Drop what fetch_file kept beside a partial file (its If-Range validator). */
void fetch_forget_partial(const char *partial);

#endif
