/* table.c - aligned text tables (see table.h). */
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "table.h"

void table_init(struct table *t, const char *const *header)
{
    memset(t, 0, sizeof(*t));
    while (header[t->n_cols])
        t->n_cols++;
    table_add(t, header);
}

void table_add(struct table *t, const char *const *cells)
{
    size_t need = (t->n_rows + 1) * t->n_cols;
    t->cells = xgrow(t->cells, need, &t->alloc, sizeof(*t->cells));
    for (size_t c = 0; c < t->n_cols; c++)
        t->cells[t->n_rows * t->n_cols + c] = xstrdup(cells[c] ? cells[c] : "-");
    t->n_rows++;
}

void table_print(const struct table *t, FILE *out, const char *indent)
{
    size_t *width = xcalloc(t->n_cols, sizeof(*width));
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++) {
        size_t len = strlen(t->cells[i]);
        if (len > width[i % t->n_cols])
            width[i % t->n_cols] = len;
    }
    struct strbuf line = STRBUF_INIT;
    for (size_t r = 0; r < t->n_rows; r++) {
        sb_reset(&line);
        sb_adds(&line, indent ? indent : "");
        for (size_t c = 0; c < t->n_cols; c++) {
            int right = (t->right_align >> c) & 1;
            sb_addf(&line, right ? "%*s  " : "%-*s  ", (int)width[c],
                    t->cells[r * t->n_cols + c]);
        }
        while (line.len && line.buf[line.len - 1] == ' ')
            line.buf[--line.len] = '\0';
        fprintf(out, "%s\n", line.buf);
    }
    sb_free(&line);
    free(width);
}

void table_free(struct table *t)
{
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}
