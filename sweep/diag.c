/* diag.c - collecting input diagnostics (see diag.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "diag.h"
#include "strbuf.h"

void diag_add(struct diag_list *dl, const char *file, int line, int col, const char *fmt, ...)
{
    dl->count++;
    if (dl->n >= DIAG_MAX)
        return;
    struct strbuf sb = STRBUF_INIT;
    if (line > 0)
        sb_addf(&sb, "%s:%d:%d: ", file, line, col);
    else
        sb_addf(&sb, "%s: ", file);
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        die_oom("a diagnostic");
    va_end(ap);
    sb_adds(&sb, msg);
    free(msg);
    dl->msgs = xgrow(dl->msgs, dl->n + 1, &dl->alloc, sizeof(*dl->msgs));
    dl->msgs[dl->n++] = sb_detach(&sb);
}

void diag_free(struct diag_list *dl)
{
    for (size_t i = 0; i < dl->n; i++)
        free(dl->msgs[i]);
    free(dl->msgs);
    dl->msgs = NULL;
    dl->n = dl->alloc = dl->count = 0;
}
