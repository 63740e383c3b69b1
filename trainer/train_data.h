/*
 * train_data.h - training and validation examples: JSONL rows rendered by the prompt
 * contract (common/render.h), tokenized once, and packed into padded batches.
 *
 * An example is BOS + prompt tokens + completion tokens + EOS, cut to max_seq_len
 * tokens. The forward reads every token but the last; position i is trained to
 * predict token i + 1 only where that token belongs to the completion (or is the
 * EOS): the prompt is masked out. The prompt/completion boundary is the longest
 * common prefix of encode(BOS + prompt) and encode(BOS + prompt + completion + EOS),
 * which for the byte tokenizer is exactly BOS + the prompt's bytes; with BPE a
 * merge across the boundary counts toward the completion. An example with no
 * completion token left after the cut is dropped (and counted).
 *
 * Rows: the first max_rows non-blank lines (a deterministic slice, never a sample).
 * Order: one Fisher-Yates permutation per epoch from a splitmix64 stream; batches
 * are consecutive slices of it and the last one of an epoch may be short (it is
 * kept, never filled up with rows of the next epoch).
 *
 * Errors: train_data_load() returns an enum train_data_status and appends one message
 * ("path:line: ...") to *err; nothing here prints or exits.
 *
 * Ownership: train_data_load() fills *ds, train_data_free() releases it (and accepts a zeroed
 * struct); batch_alloc()/batch_free() likewise for a struct batch.
 */
#ifndef MAINLINE_TRAIN_DATA_H
#define MAINLINE_TRAIN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "render.h"
#include "strbuf.h"
#include "tokenizer.h"

enum train_data_status {
    TRAIN_DATA_OK,
    TRAIN_DATA_UNREADABLE,     /* the file cannot be read: exit 4 */
    TRAIN_DATA_BAD_ROW,        /* a line is not JSON or does not render: exit 2 */
};

struct example {
    size_t off;          /* its first token in dataset.tokens */
    int len;             /* tokens, after the cut at max_seq_len */
    int prompt_len;      /* leading tokens not learned (BOS + prompt); < len */
};

struct dataset {
    int *tokens;         /* owned: every example's tokens, back to back */
    size_t n_tokens, alloc_tokens;
    struct example *ex;  /* owned: (n) */
    size_t n, alloc_ex;
    size_t rows;         /* rows read, dropped ones included */
    size_t truncated;    /* examples cut at max_seq_len */
    size_t dropped;      /* examples with no completion token left after the cut */
    long input_tokens;   /* sum of len - 1: positions the forward computes */
    long loss_tokens;    /* sum of len - prompt_len: positions the loss counts */
    int max_len;         /* longest example */
};

struct train_data_spec {
    const struct render_contract *rc;
    const struct tokenizer *tok;
    int max_seq_len;     /* tokens per example, >= 2 */
    long max_rows;       /* 0: every row */
};

enum train_data_status train_data_load(const char *path, const struct train_data_spec *spec,
                                       struct dataset *ds, struct strbuf *err);
void train_data_free(struct dataset *ds);

/* Tokenize one rendered row and append it to ds (or count it as dropped). */
void train_data_add(struct dataset *ds, const struct train_data_spec *spec, const char *prompt,
                    size_t prompt_len, const char *completion, size_t completion_len);

/* ---- order ---- */

/* The shuffle stream's first state for a run seed (apart from the LoRA streams). */
uint64_t data_rng_init(uint64_t seed);
/* order[0..n) = a uniformly random permutation of 0..n-1 (Fisher-Yates), advancing *rng. */
void train_data_shuffle(size_t *order, size_t n, uint64_t *rng);
/* ceil(n / batch_size) */
long train_data_steps_per_epoch(size_t n, long batch_size);
/* Batch b of an epoch of n examples: positions [*first, *first + *count) of the order. */
void train_data_batch_bounds(size_t n, long batch_size, long b, size_t *first, size_t *count);

/* ---- padded batches ---- */

struct batch {
    int B, T;            /* capacity: examples, positions */
    int cur_B, cur_T;    /* the last fill: examples, longest input */
    int *tokens;         /* owned: (B, T) inputs, right-padded */
    int *targets;        /* owned: (B, T) the next token (0 where masked) */
    unsigned char *mask; /* owned: (B, T) 1 where the loss counts */
    long count;          /* positions with mask 1 */
    long n_tokens;       /* positions that are not padding */
};

void batch_alloc(struct batch *b, int B, int T);
void batch_free(struct batch *b);
/* Pack examples idx[0..k) of ds (k <= b->B, every len - 1 <= b->T) into b as a
 * (k, longest) batch padded with pad_id. */
void batch_fill(struct batch *b, const struct dataset *ds, const size_t *idx, int k, int pad_id);

#endif
