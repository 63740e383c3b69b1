/*
 * decode.h - the model's forward for generation: a KV cache of S sequence slots
 * and a step that runs any set of rows, each row one token of one slot at its own
 * position. The same pieces as forward.h (rmsnorm_forward, rope_forward at the
 * row's table row, swiglu_forward, residual_forward, embedding_forward) compose
 * the llama block; only the projections (matmul_rows_packed) and the attention
 * over the cache (attention_row_forward) are decoding kernels.
 *
 * Positions are per slot, never padded: a prompt of 7 tokens fills positions
 * 0..6 of its slot however long its neighbours' prompts are. A step's rows may
 * mix a prompt's tokens (prefill, several rows of one slot at consecutive
 * positions) with single generated tokens of other slots. Within a step every
 * row's key and value are written into the cache before any row attends, so a
 * row at position p sees positions 0..p of its slot and nothing else.
 *
 * Batch invariance: every computation of a row reads only that row and its own
 * slot's cache, in an order that does not depend on the other rows (see
 * matmul_rows.h), so a sequence's logits are the same bits whether it is
 * decoded alone, in a batch of 3 or of 64, and however its prompt was cut into
 * prefill chunks.
 *
 * LoRA: the decoder reads the base weights only; merge an adapter into them
 * first (lora_merge).
 *
 * Weights: decoder_alloc() copies the projections into the packed layout of
 * matmul_rows.h (as much memory again as the model's projections); a change to
 * the model's weights after decoder_alloc() is not seen by the decoder. A projection
 * the model keeps in q8_0 or q4_0 blocks (m->qw, a GGUF: gguf_read.h) is not copied:
 * it is multiplied in its blocks by qmatmul.h, each row of x rounded to q8_0 first as
 * llama.cpp does, so its logits are those of the quantised format, not of its float32
 * decoding (within qmatmul.h's rounding), and still batch invariant.
 *
 * Errors: decoder_alloc() and decoder_step() return -1 on misuse (shapes, a row
 * outside the cache, a token outside the vocabulary); nothing prints or exits.
 *
 * Ownership: decoder_alloc() allocates every buffer, decoder_free() releases them
 * and accepts a zeroed struct. The model and the pool are borrowed and must
 * outlive the decoder; one step at a time per pool.
 * Logits stay in d->logits until the next step.
 */
#ifndef MAINLINE_DECODE_H
#define MAINLINE_DECODE_H

#include <stddef.h>

#include "model.h"
#include "pool.h"

/* One token to run: `token` of slot `slot` at position `pos`. */
struct decode_row {
    int slot, pos, token;
};

struct decoder {
    const struct model *m;        /* borrowed */
    struct pool *pool;            /* borrowed, may be NULL: the threads a step uses */
    int S;                        /* slots (sequences the cache holds) */
    int P;                        /* positions per slot */
    int R;                        /* rows one step may run */
    int L, C, KV, H, V, NH, NKV, HS;
    int QD;                       /* NH * HS: the width of q and att */
    float *slab;                  /* owned: every float buffer below */
    size_t klen;                  /* floats of one slot's keys of one layer */
    float *kc;                    /* (L, S, klen) keys after RoPE, packed per kv head (ops.h) */
    float *vc;                    /* (L, S, P, KV) values */
    float *rope_cos, *rope_sin;   /* (P, HS/2) */
    float *x;                     /* (R, C) residual stream */
    float *xn;                    /* (R, C) a norm's output */
    float *q;                     /* (R, QD) */
    float *k, *v;                 /* (R, KV) */
    float *qpre, *kpre;           /* (R, QD), (R, KV) before q_norm, k_norm (qk_norm only) */
    float *hrstd;                 /* (R, NH) the per-head norms' rstd (qk_norm only) */
    float *att;                   /* (R, max(QD, C)) */
    float *tmp;                   /* (R, C) o_proj / down_proj output */
    float *g, *u, *h;             /* (R, H) */
    float *rstd;                  /* (R) */
    float *scores;                /* (R / 4 + 1, NH / NKV, P): one per attention chunk */
    float *logits;                /* (R, V) logits of the rows asked for, in that order */
    float *wpack;                 /* owned: the float32 projections packed (matmul_rows.h) */
    unsigned char *xq;            /* owned, NULL unless m->qw: (R, widest input) rows of x
                                   * in q8_0 blocks (qmatmul.h) */
    int qmode;                    /* enum qmatmul_mode for quantised projections: QM_INT8
                                   * (0, decoder_alloc's choice); bench sets QM_FMA */
    size_t *packed;               /* owned: (TK_COUNT, L) offset in wpack of kind k, layer l */
};

/* A cache of S slots x P positions (P <= the model's max_seq_len and its
 * sliding_window when it has one: refused, not implemented) and buffers for
 * steps of up to R rows. A step splits its work over the pool's threads (NULL:
 * the caller's thread only): each projection's output columns, and the rows'
 * attention; no result depends on the split. */
int decoder_alloc(struct decoder *d, const struct model *m, int S, int P, int R,
                  struct pool *pool);
void decoder_free(struct decoder *d);

/*
 * Run rows[0..n) through the model, writing their keys and values into the cache.
 * Rows of one slot must come in increasing position order, and every position
 * before a row's own must be in the cache already or in an earlier row of this
 * step. The logits of rows out[0..n_out) (indices into rows) land in
 * d->logits + j * V for j = 0..n_out-1; other rows compute no logits.
 */
int decoder_step(struct decoder *d, const struct decode_row *rows, int n, const int *out,
                 int n_out);

#endif
