/* rows.c - JSONL files as arrays of rows with line numbers (see rows.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rows.h"

static int blank(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    return *s == '\0';
}

static int add_line(struct data_file *f, const char *line, long lineno, struct strbuf *err)
{
    json_error_t je;
    json_t *row = json_loads(line, JSON_REJECT_DUPLICATES, &je);
    if (!row) {
        sb_addf(err, "%s:%ld:%d: not a JSON row: %s", f->path, lineno, je.column, je.text);
        return -1;
    }
    if (!json_is_object(row)) {
        sb_addf(err, "%s:%ld: a row must be a JSON object", f->path, lineno);
        json_decref(row);
        return -1;
    }
    f->rows = xgrow(f->rows, f->n + 1, &f->alloc, sizeof(*f->rows));
    f->rows[f->n++] = (struct data_row){ row, lineno };
    return 0;
}

int data_file_read(const char *path, struct data_file *f, struct strbuf *err)
{
    memset(f, 0, sizeof(*f));
    FILE *fp = fopen(path, "r");
    if (!fp) {
        sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    f->path = xstrdup(path);
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &cap, fp) >= 0) {
        lineno++;
        if (!blank(line))
            rc = add_line(f, line, lineno, err);
    }
    if (rc == 0 && ferror(fp)) {
        sb_addf(err, "cannot read '%s': %s", path, strerror(errno));
        rc = -1;
    }
    free(line);
    fclose(fp);
    if (rc < 0)
        data_file_free(f);
    return rc;
}

void data_file_free(struct data_file *f)
{
    for (size_t i = 0; i < f->n; i++)
        json_decref(f->rows[i].row);
    free(f->rows);
    free(f->path);
    memset(f, 0, sizeof(*f));
}
