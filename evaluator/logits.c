/* logits.c - the decoder's logits at every position of token sequences (see logits.h). */
#include <jansson.h>
#include <stdlib.h>

#include "decode.h"
#include "error.h"
#include "jsonl.h"
#include "logits.h"
#include "pool.h"

struct logits_run {
    const struct model *m;
    struct pool *pool;
    const char *path;
    json_t *rows;
    struct strbuf *err;
};

/* The ids of a row, or -1 with a message. */
static int row_ids(const struct logits_run *r, const char *line, long lineno, int **ids,
                   int *n)
{
    json_t *row = json_loads(line, 0, NULL), *a = row ? json_object_get(row, "ids") : NULL;
    size_t len = json_is_array(a) ? json_array_size(a) : 0;
    if (len == 0 || len > (size_t)r->m->cfg.max_seq_len) {
        sb_addf(r->err, "%s:%ld: needs \"ids\", an array of 1 to %d token ids", r->path,
                lineno, r->m->cfg.max_seq_len);
        json_decref(row);
        return -1;
    }
    *ids = xmalloc(len * sizeof(int));
    *n = (int)len;
    for (size_t i = 0; i < len; i++) {
        json_t *v = json_array_get(a, i);
        json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
        if (id < 0 || id >= r->m->cfg.vocab_size) {
            sb_addf(r->err, "%s:%ld: ids[%zu] is not a token id below %d", r->path, lineno, i,
                    r->m->cfg.vocab_size);
            free(*ids);
            json_decref(row);
            return -1;
        }
        (*ids)[i] = (int)id;
    }
    json_decref(row);
    return 0;
}

static int add_row(const char *line, long lineno, void *ud)
{
    struct logits_run *r = ud;
    int *ids, n, V = r->m->cfg.vocab_size;
    if (row_ids(r, line, lineno, &ids, &n) < 0)
        return -1;
    struct decoder d;
    struct decode_row *rows = xmalloc((size_t)n * sizeof(*rows));
    int *out = xmalloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) {
        rows[i] = (struct decode_row){ .slot = 0, .pos = i, .token = ids[i] };
        out[i] = i;
    }
    int rc = decoder_alloc(&d, r->m, 1, n, n, r->pool);
    if (rc == 0)
        rc = decoder_step(&d, rows, n, out, n);
    if (rc < 0) {
        sb_addf(r->err, "%s:%ld: the decoder refused the row", r->path, lineno);
    } else {
        json_t *ja = json_array(), *jl = json_array();
        for (int i = 0; i < n; i++) {
            json_array_append_new(ja, json_integer(ids[i]));
            json_t *pos = json_array();
            for (int v = 0; v < V; v++)
                json_array_append_new(pos, json_real(d.logits[(size_t)i * V + v]));
            json_array_append_new(jl, pos);
        }
        json_array_append_new(r->rows, json_pack("{s:o,s:o}", "ids", ja, "logits", jl));
    }
    decoder_free(&d);
    free(rows);
    free(out);
    free(ids);
    return rc < 0 ? -1 : 0;
}

enum train_data_status eval_logits(const struct model *m, const char *path, int threads,
                                   json_t **out, struct strbuf *err)
{
    struct logits_run r = { m, threads > 1 ? pool_new(threads) : NULL, path, json_array(), err };
    enum jsonl_status js = jsonl_each(path, add_row, &r, err);
    pool_free(r.pool);
    if (js != JSONL_OK) {
        json_decref(r.rows);
        *out = NULL;
        return js == JSONL_STOPPED ? TRAIN_DATA_BAD_ROW : TRAIN_DATA_UNREADABLE;
    }
    *out = r.rows;
    return TRAIN_DATA_OK;
}
