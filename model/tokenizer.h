/*
 * tokenizer.h - text <-> token ids for the two vocabularies mainline knows:
 *
 *   - llama2.c tokenizer.bin (SentencePiece BPE exported by llama2.c: per token a
 *     score and a byte string; ids 3..258 are the byte-fallback pieces <0x00>..
 *     <0xFF>, 1 is BOS, 2 is EOS). Encoding reproduces llama2.c run.c exactly,
 *     including the dummy-prefix space and byte fallback.
 *   - byte-level: ids 0..255 are the bytes themselves, plus special ids (BOS, EOS,
 *     PAD) taken from the model config (tiny-base: 256, 257, 258 in a vocab of 260).
 *
 * Not a SentencePiece or Hugging Face tokenizers.json implementation.
 *
 * Errors: loaders return 0 or -1 with a message naming the file in *err; nothing
 * here prints or exits.
 *
 * Ownership: a loader or tokenizer_init_bytes() fills *tok, tokenizer_free()
 * releases it (and accepts a zeroed struct). tokenizer_encode() gives the caller
 * a malloc'd id array to free(). Decoding appends to a caller's strbuf.
 */
#ifndef MAINLINE_TOKENIZER_H
#define MAINLINE_TOKENIZER_H

#include <stddef.h>

#include "model.h"
#include "strbuf.h"

/* The special ids of the byte vocabulary models mainline makes itself (vocab 260:
 * 256 bytes, BOS, EOS, PAD and one unused id). */
#define BYTES_BOS_ID 256
#define BYTES_EOS_ID 257
#define BYTES_PAD_ID 258

enum tokenizer_kind {
    TOKENIZER_NONE,       /* a zeroed struct */
    TOKENIZER_LLAMA2C,
    TOKENIZER_BYTES,
};

struct tokenizer {
    enum tokenizer_kind kind;
    int vocab_size;
    int bos_id, eos_id, pad_id;   /* -1 when the vocabulary has none */

    /* llama2.c only */
    char **pieces;                /* (V) byte strings, NUL-terminated for convenience */
    int *piece_len;               /* (V) their lengths (pieces may hold any byte) */
    float *scores;                /* (V) merge priority: higher merges first */
    int *sorted;                  /* (V) ids ordered by piece bytes, for binary search */
    int max_piece_len;
    int space_id;                 /* the " " piece (dummy prefix), or -1 */
};

/* Load a llama2.c tokenizer.bin holding exactly vocab_size tokens. */
int tokenizer_load_llama2c(const char *path, int vocab_size, struct tokenizer *tok,
                           struct strbuf *err);

/* A byte-level tokenizer: ids 0..255 are bytes; bos, eos, pad are ids in
 * [256, vocab_size) or -1. Returns -1 when the ids do not fit the vocabulary. */
int tokenizer_init_bytes(struct tokenizer *tok, int vocab_size, int bos, int eos, int pad);

/*
 * The tokenizer that goes with a model (cfg as model_load() filled it):
 *   - a llama2.c checkpoint (".bin"): tok<V>.bin, else tokenizer.bin, beside it;
 *   - a Hugging Face model: the byte tokenizer when its config.json says
 *     "tokenizer": "bytes" (PAD from "pad_token_id"), else tok<V>.bin or
 *     tokenizer.bin beside it.
 */
int tokenizer_for_model(const char *model_path, const struct model_config *cfg,
                        struct tokenizer *tok, struct strbuf *err);

/* The llama2.c tokenizer file tokenizer_for_model() would load for this model
 * (malloc'd, caller frees), or NULL when it has none (a byte-level model). */
char *tokenizer_file_for_model(const char *model_path, int vocab_size);

/*
 * Encode len bytes of text (any bytes; need not be NUL-terminated), with BOS
 * first and/or EOS last when asked. *ids (malloc'd, caller frees) holds *n ids.
 * Returns -1 (and no array) only when BOS or EOS is asked of a tokenizer without
 * one.
 */
int tokenizer_encode(const struct tokenizer *tok, const char *text, size_t len, int add_bos,
                     int add_eos, int **ids, size_t *n);

/*
 * Append the text of token id, which followed prev_id (-1 at the start), to out.
 * After BOS a llama2.c piece loses its leading space (the dummy prefix);
 * <0xHH> pieces become the raw byte. BOS, EOS and PAD append nothing. Returns -1
 * for an id outside the vocabulary.
 */
int tokenizer_decode_append(const struct tokenizer *tok, int prev_id, int id,
                            struct strbuf *out);

void tokenizer_free(struct tokenizer *tok);

#endif
