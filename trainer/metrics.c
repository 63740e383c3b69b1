/* metrics.c - appending protocol events to metrics.jsonl (see metrics.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

int metrics_open(struct metrics *mx, const char *path, struct strbuf *err)
{
    mx->f = fopen(path, "a+");
    if (!mx->f) {
        sb_addf(err, "cannot open '%s' for appending: %s", path, strerror(errno));
        return -1;
    }
    /* a line cut short by a kill stays one malformed line, not the start of ours */
    if (fseek(mx->f, -1, SEEK_END) == 0 && fgetc(mx->f) != '\n')
        fputc('\n', mx->f);
    return 0;
}

int metrics_emit(struct metrics *mx, json_t *event)
{
    if (!mx->f) {
        json_decref(event);
        return 0;
    }
    char *line = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    json_decref(event);
    if (!line)
        return -1;
    int rc = fputs(line, mx->f) < 0 || fputc('\n', mx->f) == EOF || fflush(mx->f) != 0;
    free(line);
    return rc ? -1 : 0;
}

int metrics_close(struct metrics *mx)
{
    if (!mx->f)
        return 0;
    int rc = ferror(mx->f) | fclose(mx->f);
    mx->f = NULL;
    return rc ? -1 : 0;
}

json_t *metrics_event(const char *kind)
{
    return json_pack("{s:s}", "event", kind);
}

json_t *metrics_real(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}
