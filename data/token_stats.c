/* token_stats.c - rendered token counts per row, overall and per source (see token_stats.h). */
#include <stdlib.h>
#include <string.h>

#include "token_stats.h"

long example_tokens(const struct tokenizer *tok, const struct render_contract *rc,
                    const char *prompt, size_t prompt_len, const char *completion,
                    size_t completion_len, long *prompt_tokens)
{
    int *ids = NULL, *pids = NULL;
    size_t n = 0, np = 0;
    tokenizer_encode_example(tok, render_writes_own_frame(rc), prompt, prompt_len, completion,
                             completion_len, &ids, &n, prompt_tokens ? &pids : NULL, &np);
    if (prompt_tokens)
        *prompt_tokens = (long)np;
    free(ids);
    free(pids);
    return (long)n;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the value at position ceil(p/100 * n) (1-based) of the sorted list. */
static long percentile(const long *sorted, size_t n, int p)
{
    size_t rank = ((size_t)p * n + 99) / 100;
    return sorted[rank ? rank - 1 : 0];
}

void token_summary_of(long *tokens, size_t n, long max_seq_len, struct token_summary *out)
{
    memset(out, 0, sizeof(*out));
    out->rows = n;
    if (!n)
        return;
    qsort(tokens, n, sizeof(long), cmp_long);
    for (size_t i = 0; i < n; i++) {
        out->tokens += tokens[i];
        out->kept_tokens += max_seq_len > 0 && tokens[i] > max_seq_len ? max_seq_len : tokens[i];
        out->truncated += max_seq_len > 0 && tokens[i] > max_seq_len;
    }
    out->mean = (double)out->tokens / (double)n;
    out->p50 = percentile(tokens, n, 50);
    out->p90 = percentile(tokens, n, 90);
    out->p95 = percentile(tokens, n, 95);
    out->max = tokens[n - 1];
}

static int cmp_source(const void *a, const void *b)
{
    return strcmp(((const struct source_summary *)a)->source,
                  ((const struct source_summary *)b)->source);
}

/* Per-source summaries: rows grouped by label (labels kept in first-seen order,
 * then sorted). */
static void by_source(const struct data_file *f, const struct render_fields *fields,
                      struct data_stats *st)
{
    const char **label = xcalloc(f->n + 1, sizeof(*label));
    size_t n_labels = 0;
    size_t *which = xcalloc(f->n + 1, sizeof(*which));
    for (size_t i = 0; i < f->n; i++) {
        const char *src = render_source(f->rows[i].row, fields);
        if (!src)
            src = "(none)";
        size_t k = 0;
        while (k < n_labels && strcmp(label[k], src))
            k++;
        if (k == n_labels)
            label[n_labels++] = src;
        which[i] = k;
    }
    st->by_source = xcalloc(n_labels + 1, sizeof(*st->by_source));
    st->n_sources = n_labels;
    long *tmp = xcalloc(f->n + 1, sizeof(long));
    for (size_t k = 0; k < n_labels; k++) {
        size_t m = 0;
        for (size_t i = 0; i < f->n; i++)
            if (which[i] == k)
                tmp[m++] = st->tokens[i];
        st->by_source[k].source = xstrdup(label[k]);
        token_summary_of(tmp, m, st->max_seq_len, &st->by_source[k].s);
    }
    qsort(st->by_source, n_labels, sizeof(*st->by_source), cmp_source);
    free(tmp);
    free(which);
    free(label);
}

int data_stats_compute(const struct data_file *f, const struct render_contract *rc,
                       const struct tokenizer *tok, long max_seq_len, struct data_stats *out,
                       struct strbuf *err)
{
    memset(out, 0, sizeof(*out));
    out->max_seq_len = max_seq_len;
    out->tokens = xcalloc(f->n + 1, sizeof(long));
    out->rows = f->n;
    struct strbuf p = STRBUF_INIT, c = STRBUF_INIT, why = STRBUF_INIT;
    int rc_ = 0;
    for (size_t i = 0; i < f->n && rc_ == 0; i++) {
        sb_reset(&p);
        sb_reset(&c);
        if (render_row(f->rows[i].row, rc, 1, &p, &c, &why) < 0) {
            sb_addf(err, "%s:%ld: %s", f->path, f->rows[i].line, why.buf);
            rc_ = -1;
            break;
        }
        out->tokens[i] = example_tokens(tok, rc, sb_str(&p), p.len, sb_str(&c), c.len, NULL);
    }
    sb_free(&p);
    sb_free(&c);
    sb_free(&why);
    if (rc_ < 0) {
        data_stats_free(out);
        return -1;
    }
    long *sorted = xcalloc(f->n + 1, sizeof(long));
    memcpy(sorted, out->tokens, f->n * sizeof(long));
    token_summary_of(sorted, f->n, max_seq_len, &out->all);
    free(sorted);
    by_source(f, rc->fields, out);
    return 0;
}

long data_stats_kept_tokens(const struct data_stats *st, long rows, long max_seq_len)
{
    size_t n = rows > 0 && (size_t)rows < st->rows ? (size_t)rows : st->rows;
    long sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += max_seq_len > 0 && st->tokens[i] > max_seq_len ? max_seq_len : st->tokens[i];
    return sum;
}

void data_stats_free(struct data_stats *st)
{
    free(st->tokens);
    for (size_t i = 0; i < st->n_sources; i++)
        free(st->by_source[i].source);
    free(st->by_source);
    memset(st, 0, sizeof(*st));
}
