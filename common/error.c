/* error.c - die/error/warning, out of memory, BUG and the x* allocators (see error.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
    fflush(stdout);
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("fatal: ", fmt, ap);
    va_end(ap);
    exit(EXIT_FATAL);
}

void die_oom(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("fatal: out of memory: ", fmt, ap);
    va_end(ap);
    exit(EXIT_FATAL);
}

void BUG(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("BUG: ", fmt, ap);
    va_end(ap);
    abort();
}

int error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("error: ", fmt, ap);
    va_end(ap);
    return -1;
}

void warning(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("warning: ", fmt, ap);
    va_end(ap);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die_oom("%zu bytes", n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        die_oom("%zu x %zu bytes", n, size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die_oom("%zu bytes", n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void *xgrow(void *p, size_t need, size_t *alloc, size_t size)
{
    if (need <= *alloc)
        return p;
    size_t n = *alloc ? *alloc : 8;
    while (n < need)
        n *= 2;
    if (n > ((size_t)-1) / size)
        die_oom("an array of %zu", n);
    *alloc = n;
    return xrealloc(p, n * size);
}
