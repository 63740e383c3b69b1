/* jsonl.c - the JSONL reading loop (see jsonl.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"

static int blank(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    return *s == '\0';
}

enum jsonl_status jsonl_each(const char *path, jsonl_fn fn, void *ud, struct strbuf *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
        return JSONL_UNREADABLE;
    }
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = 0;
    while (rc == 0) {
        errno = 0;
        if (getline(&line, &cap, f) < 0)
            break;
        lineno++;
        if (!blank(line))
            rc = fn(line, lineno, ud);
    }
    enum jsonl_status st = rc < 0 ? JSONL_STOPPED : JSONL_OK;
    if (st == JSONL_OK && ferror(f)) {
        sb_addf(err, "cannot read '%s': %s", path, strerror(errno));
        st = JSONL_UNREADABLE;
    }
    free(line);
    fclose(f);
    return st;
}
