/*
 * token_stats.h - rendered token counts of a data file: what `mainline data stats`
 * prints and what `mainline plan` estimates training tokens from.
 *
 * A row's tokens are those of one training example exactly as the trainer builds
 * it (tokenizer_encode_example(), which the trainer calls too): BOS + rendered
 * prompt + completion + EOS, encoded by the base model's tokenizer, or the
 * rendering alone for `template: chat` (the model's template writes its own BOS
 * and turn ends). `tokens` is that length before the cut at max_seq_len;
 * the trainer keeps min(tokens, max_seq_len), and a row is "truncated" when
 * tokens > max_seq_len. Percentiles are nearest-rank: pXX is the smallest count
 * that at least XX% of rows do not exceed.
 *
 * Errors: data_stats_compute() returns -1 with "path:line: why" in *err for a row
 * that does not render; nothing here prints or exits.
 *
 * Ownership: struct data_stats owns its arrays and source names;
 * data_stats_free() releases them and accepts a zeroed struct.
 */
#ifndef MAINLINE_DATA_STATS_H
#define MAINLINE_DATA_STATS_H

#include <stddef.h>

#include "render.h"
#include "rows.h"
#include "tokenizer.h"

struct token_summary {
    size_t rows;
    double mean;
    long p50, p90, p95, max;
    size_t truncated;          /* rows with tokens > max_seq_len */
    long tokens;               /* sum of tokens */
    long kept_tokens;          /* sum of min(tokens, max_seq_len): what trains */
};

struct source_summary {
    char *source;              /* the row's source label, or "(none)" */
    struct token_summary s;
};

struct data_stats {
    long max_seq_len;
    long *tokens;              /* (rows) per row, in file order */
    size_t rows;
    struct token_summary all;
    struct source_summary *by_source;   /* sorted by label */
    size_t n_sources;
};

/* Tokens of one example as the trainer frames it under rc (may be NULL: BOS +
 * prompt + completion + EOS); *prompt_tokens (may be NULL) gets the prompt's,
 * framed as the trainer frames it to find where the completion starts. */
long example_tokens(const struct tokenizer *tok, const struct render_contract *rc,
                    const char *prompt, size_t prompt_len, const char *completion,
                    size_t completion_len, long *prompt_tokens);

int data_stats_compute(const struct data_file *f, const struct render_contract *rc,
                       const struct tokenizer *tok, long max_seq_len, struct data_stats *out,
                       struct strbuf *err);
void data_stats_free(struct data_stats *st);

/* Sum over the first `rows` rows (all when 0 or more than there are) of
 * min(tokens, max_seq_len). */
long data_stats_kept_tokens(const struct data_stats *st, long rows, long max_seq_len);

/* Summarize n counts (sorts them in place). */
void token_summary_of(long *tokens, size_t n, long max_seq_len, struct token_summary *out);

#endif
