/*
 * error.h - the one error convention of mainline's command-line layer.
 *
 * die()    prints "fatal: ..." to stderr and exits with EXIT_FATAL (128).
 * error()  prints "error: ..." to stderr and returns -1, so callers write
 *          `return error("cannot open '%s'", path);`.
 * warning() prints "warning: ..." and returns nothing.
 *
 * Only the CLI layer (orchestrator/, the trainer and evaluator mains) calls these.
 * Library layers (registry/, sweep loading, provenance) return status codes and
 * leave the message in a buffer; they never print or exit.
 */
#ifndef MAINLINE_ERROR_H
#define MAINLINE_ERROR_H

enum exit_code {
    EXIT_OK = 0,
    EXIT_FAILURES = 1,   /* the command ran and found failures */
    EXIT_FATAL = 128,    /* the command could not do its job */
    EXIT_USAGE = 129,    /* the command line was wrong */
};

#define ATTR_PRINTF(a, b) __attribute__((format(printf, a, b)))

void die(const char *fmt, ...) ATTR_PRINTF(1, 2) __attribute__((noreturn));
int error(const char *fmt, ...) ATTR_PRINTF(1, 2);
void warning(const char *fmt, ...) ATTR_PRINTF(1, 2);

/* Allocation that dies on failure: out of memory is fatal everywhere in mainline. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Grow *p (an array of *alloc elements of size `size`) to hold at least `need`. */
void *xgrow(void *p, size_t need, size_t *alloc, size_t size);

#endif
