/* train_data.c - JSONL rows -> tokenized examples -> padded batches (see train_data.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "train_data.h"
#include "jsonl.h"
#include "rng.h"

/* ---- loading ---- */

static void push_tokens(struct dataset *ds, const int *ids, size_t n)
{
    ds->tokens = xgrow(ds->tokens, ds->n_tokens + n, &ds->alloc_tokens, sizeof(int));
    memcpy(ds->tokens + ds->n_tokens, ids, n * sizeof(int));
    ds->n_tokens += n;
}

static size_t common_prefix(const int *a, size_t na, const int *b, size_t nb)
{
    size_t i = 0;
    while (i < na && i < nb && a[i] == b[i])
        i++;
    return i;
}

void train_data_add(struct dataset *ds, const struct train_data_spec *spec, const char *prompt,
                    size_t prompt_len, const char *completion, size_t completion_len)
{
    int *ids = NULL, *pids = NULL;
    size_t n = 0, np = 0;
    tokenizer_encode_example(spec->tok, render_writes_own_frame(spec->rc), prompt, prompt_len,
                             completion, completion_len, &ids, &n, &pids, &np);
    size_t plen = common_prefix(ids, n, pids, np);
    ds->rows++;
    if (n > (size_t)spec->max_seq_len) {
        n = (size_t)spec->max_seq_len;
        ds->truncated++;
    }
    if (plen >= n) {
        ds->dropped++;
    } else {
        ds->ex = xgrow(ds->ex, ds->n + 1, &ds->alloc_ex, sizeof(*ds->ex));
        ds->ex[ds->n++] = (struct example){ ds->n_tokens, (int)n, (int)plen };
        push_tokens(ds, ids, n);
        ds->input_tokens += (long)n - 1;
        ds->loss_tokens += (long)(n - plen);
        if ((int)n > ds->max_len)
            ds->max_len = (int)n;
    }
    free(ids);
    free(pids);
}

/* Render and add one JSONL line; -1 with "path:line: why" in err. */
static int add_line(struct dataset *ds, const struct train_data_spec *spec, const char *line,
                    const char *path, long lineno, struct strbuf *err)
{
    json_error_t je;
    json_t *row = json_loads(line, 0, &je);
    if (!row) {
        sb_addf(err, "%s:%ld:%d: not a JSON row: %s", path, lineno, je.column, je.text);
        return -1;
    }
    struct strbuf prompt = STRBUF_INIT, completion = STRBUF_INIT, why = STRBUF_INIT;
    int rc = render_row(row, spec->rc, 1, &prompt, &completion, &why);
    if (rc < 0)
        sb_addf(err, "%s:%ld: %s", path, lineno, why.buf);
    else
        train_data_add(ds, spec, sb_str(&prompt), prompt.len, sb_str(&completion), completion.len);
    sb_free(&prompt);
    sb_free(&completion);
    sb_free(&why);
    json_decref(row);
    return rc;
}

struct load_ctx {
    struct dataset *ds;
    const struct train_data_spec *spec;
    const char *path;
    struct strbuf *err;
};

static int load_line(const char *line, long lineno, void *ud)
{
    struct load_ctx *c = ud;
    if (add_line(c->ds, c->spec, line, c->path, lineno, c->err) < 0)
        return -1;
    return c->spec->max_rows > 0 && (long)c->ds->rows >= c->spec->max_rows;
}

enum train_data_status train_data_load(const char *path, const struct train_data_spec *spec,
                                       struct dataset *ds, struct strbuf *err)
{
    memset(ds, 0, sizeof(*ds));
    struct load_ctx c = { ds, spec, path, err };
    enum jsonl_status st = jsonl_each(path, load_line, &c, err);
    return st == JSONL_OK        ? TRAIN_DATA_OK
           : st == JSONL_STOPPED ? TRAIN_DATA_BAD_ROW
                                 : TRAIN_DATA_UNREADABLE;
}

void train_data_free(struct dataset *ds)
{
    free(ds->tokens);
    free(ds->ex);
    memset(ds, 0, sizeof(*ds));
}

/* ---- order ---- */

uint64_t data_rng_init(uint64_t seed)
{
    uint64_t s = seed ^ 0x6A09E667F3BCC909ull;   /* not the LoRA init/dropout streams */
    return rng_next(&s);
}

void train_data_shuffle(size_t *order, size_t n, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rng_next(rng) % (uint64_t)i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

long train_data_steps_per_epoch(size_t n, long batch_size)
{
    return (long)((n + (size_t)batch_size - 1) / (size_t)batch_size);
}

void train_data_batch_bounds(size_t n, long batch_size, long b, size_t *first, size_t *count)
{
    size_t start = (size_t)b * (size_t)batch_size;
    *first = start < n ? start : n;
    *count = start < n ? (n - start < (size_t)batch_size ? n - start : (size_t)batch_size) : 0;
}

/* ---- padded batches ---- */

void batch_alloc(struct batch *b, int B, int T)
{
    memset(b, 0, sizeof(*b));
    size_t N = (size_t)B * (size_t)T;
    b->B = B;
    b->T = T;
    b->tokens = xcalloc(N, sizeof(int));
    b->targets = xcalloc(N, sizeof(int));
    b->mask = xcalloc(N, 1);
}

void batch_free(struct batch *b)
{
    free(b->tokens);
    free(b->targets);
    free(b->mask);
    memset(b, 0, sizeof(*b));
}

void batch_fill(struct batch *b, const struct dataset *ds, const size_t *idx, int k, int pad_id)
{
    int T = 1;
    for (int i = 0; i < k; i++)
        if (ds->ex[idx[i]].len - 1 > T)
            T = ds->ex[idx[i]].len - 1;
    b->cur_B = k;
    b->cur_T = T;
    b->count = 0;
    b->n_tokens = 0;
    for (int i = 0; i < k; i++) {
        const struct example *e = &ds->ex[idx[i]];
        const int *s = ds->tokens + e->off;
        int n = e->len - 1;   /* inputs s[0..n), targets s[1..n] */
        int *tok = b->tokens + (size_t)i * T, *tgt = b->targets + (size_t)i * T;
        unsigned char *m = b->mask + (size_t)i * T;
        for (int t = 0; t < T; t++) {
            int real = t < n, learn = real && t + 1 >= e->prompt_len;
            tok[t] = real ? s[t] : pad_id;
            tgt[t] = learn ? s[t + 1] : 0;
            m[t] = (unsigned char)learn;
            b->count += learn;
        }
        b->n_tokens += n;
    }
}
