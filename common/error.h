/*
 * error.h - the one error convention of mainline's command-line layer.
 *
 * die()    prints "fatal: ..." to stderr and exits with EXIT_FATAL (128).
 * error()  prints "error: ..." to stderr and returns -1, so callers write
 *          `return error("cannot open '%s'", path);`.
 * warning() prints "warning: ..." and returns nothing.
 *
 * Only the CLI layer (cli/, the mains of mainline-train, mainline-eval and
 * mainline-supervise) calls these. Library code (every other room) returns status
 * codes and leaves the message in the caller's buffer; it never prints or exits,
 * with two exceptions that any code may use:
 *
 * die_oom() prints "fatal: out of memory: ..." and exits 128: running out of
 *          memory is fatal everywhere in mainline (the x* allocators call it).
 * BUG()    prints "BUG: ..." and aborts: a broken invariant of mainline's own
 *          code (a bad format string), never bad input.
 *
 * tests/shell/t0009-layers.sh checks that die() is called nowhere else.
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
void die_oom(const char *fmt, ...) ATTR_PRINTF(1, 2) __attribute__((noreturn));
void BUG(const char *fmt, ...) ATTR_PRINTF(1, 2) __attribute__((noreturn));
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
