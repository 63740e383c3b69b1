/*
 * tokenizer.h - text <-> token ids for the three vocabularies mainline knows:
 *
 *   - llama2.c tokenizer.bin (SentencePiece BPE exported by llama2.c: per token a
 *     score and a byte string; ids 3..258 are the byte-fallback pieces <0x00>..
 *     <0xFF>, 1 is BOS, 2 is EOS). Encoding reproduces llama2.c run.c exactly,
 *     including the dummy-prefix space and byte fallback.
 *   - byte-level: ids 0..255 are the bytes themselves, plus special ids (BOS, EOS,
 *     PAD) taken from the model config (tiny-base: 256, 257, 258 in a vocab of 260).
 *   - Hugging Face tokenizer.json (BPE: byte-level as GPT-2, Llama 3, Qwen; or
 *     SentencePiece-style as Llama 2, Gemma 3), through hf_tokenizer.h. Added and
 *     special tokens written in the text ("<|im_start|>") encode as their ids.
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
    TOKENIZER_HF,
};

struct hf_tokenizer;

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

    /* Hugging Face only */
    struct hf_tokenizer *hf;      /* owned */
};

/* Load a llama2.c tokenizer.bin holding exactly vocab_size tokens. */
int tokenizer_load_llama2c(const char *path, int vocab_size, struct tokenizer *tok,
                           struct strbuf *err);

/* A llama2.c tokenizer from its parts (pieces, their lengths and scores, V each, all
 * malloc'd: the tokenizer owns them from here on, also on failure): ids 3..258 must be
 * the byte pieces <0x00>..<0xFF>, else -1 naming path. For gguf_read.c. */
int tokenizer_init_pieces(struct tokenizer *tok, int vocab_size, char **pieces, int *lens,
                          float *scores, int bos, int eos, const char *path,
                          struct strbuf *err);

/* A byte-level tokenizer: ids 0..255 are bytes; bos, eos, pad are ids in
 * [256, vocab_size) or -1. Returns -1 when the ids do not fit the vocabulary. */
int tokenizer_init_bytes(struct tokenizer *tok, int vocab_size, int bos, int eos, int pad);

/* Load dir/tokenizer.json (with tokenizer_config.json and config.json beside it for
 * BOS, EOS and PAD) as a TOKENIZER_HF. vocab_size is the tokenizer's own (its
 * largest id + 1). */
int tokenizer_load_hf(const char *dir, struct tokenizer *tok, struct strbuf *err);

/*
 * The tokenizer that goes with a model (cfg as model_load() filled it):
 *   - a llama2.c checkpoint (".bin"): tok<V>.bin, else tokenizer.bin, beside it;
 *   - a Hugging Face model: the byte tokenizer when its config.json says
 *     "tokenizer": "bytes" (PAD from "pad_token_id"), else tokenizer.json beside
 *     it (its ids must fit cfg->vocab_size; tok->vocab_size becomes
 *     cfg->vocab_size, ids past the tokenizer's decode to nothing), else
 *     tok<V>.bin or tokenizer.bin beside it.
 */
int tokenizer_for_model(const char *model_path, const struct model_config *cfg,
                        struct tokenizer *tok, struct strbuf *err);

/* The tokenizer file tokenizer_for_model() would load for this model: tokenizer.json
 * or the llama2.c file (malloc'd, caller frees), or NULL when it has none (a
 * byte-level model). */
char *tokenizer_file_for_model(const char *model_path, int vocab_size);

/*
 * Encode len bytes of text (any bytes; need not be NUL-terminated), with BOS
 * first and/or EOS last when asked. *ids (malloc'd, caller frees) holds *n ids.
 * Returns -1 (and no array) only when BOS or EOS is asked of a tokenizer without
 * one. A Hugging Face tokenizer matches its added and special tokens in the text
 * (so rendered chat text with <|im_start|> in it gets that token's id) and adds
 * nothing but the BOS/EOS asked for here (not its post_processor's template).
 */
int tokenizer_encode(const struct tokenizer *tok, const char *text, size_t len, int add_bos,
                     int add_eos, int **ids, size_t *n);

/* What tokenizer_encode_framed() adds around a text. */
enum token_frame {
    FRAME_NONE,       /* nothing: the text is a chat template's rendering, which writes
                         its own BOS ({{ bos_token }}) and turn ends, as Hugging Face's
                         apply_chat_template(tokenize=True) adds nothing */
    FRAME_PROMPT,     /* BOS first */
    FRAME_SEQUENCE,   /* BOS first and EOS last: a training sequence */
};

/*
 * A model input or training sequence, framed as `frame` says: BOS only when the
 * vocabulary has one and the text does not already begin with it, EOS only when the
 * vocabulary has one and the text does not already end with it (a vocabulary without
 * BOS, as Qwen's, gets none). *ids (malloc'd, caller frees) holds *n ids; -1 only
 * for a zeroed tokenizer.
 */
int tokenizer_encode_framed(const struct tokenizer *tok, const char *text, size_t len,
                            enum token_frame frame, int **ids, size_t *n);

/*
 * One training example as the trainer builds it: *ids the full text (prompt then
 * completion) framed FRAME_SEQUENCE and *pids the prompt framed FRAME_PROMPT, or
 * both FRAME_NONE when `own_frame` (the text is a model's own chat template's,
 * which writes its BOS and turn ends itself). pids may be NULL (not wanted). The
 * trainer learns the tokens of *ids past its common prefix with *pids; `mainline
 * data stats` and the plan's estimate count them, so their counts are the trainer's.
 * The arrays are malloc'd and the caller's.
 */
void tokenizer_encode_example(const struct tokenizer *tok, int own_frame, const char *prompt,
                              size_t prompt_len, const char *completion, size_t completion_len,
                              int **ids, size_t *n, int **pids, size_t *np);

/*
 * Append the text of token id, which followed prev_id (-1 at the start), to out.
 * After BOS a llama2.c piece loses its leading space (the dummy prefix);
 * <0xHH> pieces become the raw byte. BOS, EOS and PAD append nothing. Returns -1
 * for an id outside the vocabulary.
 */
int tokenizer_decode_append(const struct tokenizer *tok, int prev_id, int id,
                            struct strbuf *out);

/*
 * Encode text as Hugging Face's encode(text, add_special_tokens=True) does: a
 * tokenizer.json's post_processor template decides what is added (Llama 3:
 * <|begin_of_text|> first; Qwen: nothing); llama2.c and byte tokenizers add BOS
 * when they have one. *ids malloc'd, caller frees. Returns 0.
 */
int tokenizer_encode_special(const struct tokenizer *tok, const char *text, size_t len,
                             int **ids, size_t *n);

/*
 * Append the text of ids[0..n) to out as a whole: for tokenizer.json Hugging
 * Face's decode(ids) (special tokens kept unless skip_special, the decoder chain,
 * clean_up_tokenization_spaces as tokenizer_config.json says); for the others the
 * pieces of tokenizer_decode_append() with BOS, EOS and PAD written as nothing,
 * the first as if after BOS (llama2.c's dummy-prefix space dropped, so that
 * decoding what tokenizer_encode() gave returns the text).
 * Returns -1 for an id outside the vocabulary (out then holds what came before).
 */
int tokenizer_decode(const struct tokenizer *tok, const int *ids, size_t n, int skip_special,
                     struct strbuf *out);

void tokenizer_free(struct tokenizer *tok);

#endif
