/*
 * hf_text.h - the text steps of a tokenizer.json: normalizers (NFC, Replace,
 * Prepend), pre-tokenizers (Split, ByteLevel, Metaspace), decoders (ByteLevel,
 * Replace, ByteFallback, Fuse, Strip, Metaspace), and the UTF-8 helpers they share.
 *
 * Regexes are PCRE2 with UTF, UCP and MATCH_INVALID_UTF (JIT-compiled when the
 * library can); NFC is utf8proc's.
 *
 * Ownership: hf_steps_load() fills caller-provided steps whose strings and regexes
 * hf_steps_free() releases. hf_tokens owns its token strings (hf_tokens_free).
 * Errors: 0/-1 with a message naming the file in err; nothing prints.
 */
#ifndef MAINLINE_HF_TEXT_H
#define MAINLINE_HF_TEXT_H

#include <jansson.h>
#include <stddef.h>

#include "strbuf.h"

enum hf_step_kind { HF_NORMALIZER, HF_PRE_TOKENIZER, HF_DECODER };

enum hf_step_type {
    HF_NFC, HF_REPLACE, HF_PREPEND,                       /* normalizers */
    HF_SPLIT, HF_BYTE_LEVEL, HF_METASPACE,                /* pre-tokenizers */
    HF_DEC_BYTE_LEVEL, HF_DEC_REPLACE, HF_DEC_BYTE_FALLBACK, HF_DEC_FUSE, HF_DEC_STRIP,
    HF_DEC_METASPACE,                                     /* decoders */
};

enum hf_split_behavior { HF_ISOLATED, HF_REMOVED, HF_MERGED_PREV, HF_MERGED_NEXT };

enum hf_prepend_scheme { HF_PREPEND_ALWAYS, HF_PREPEND_FIRST, HF_PREPEND_NEVER };

struct hf_step {
    enum hf_step_type type;
    char *a, *b;                  /* pattern/content, replacement...; owned */
    size_t alen, blen;
    void *re;                     /* pcre2_code *, owned */
    int behavior, add_prefix_space, use_regex, prepend_scheme, split, start, stop;
};

/* The steps of one tokenizer.json key (null: none; Sequence: flattened). */
int hf_steps_load(json_t *cfg, enum hf_step_kind kind, struct hf_step *steps, int *n, int max,
                  const char *name, struct strbuf *err);
void hf_steps_free(struct hf_step *steps, int n);

/* Append the normalized s to out. */
void hf_normalize(const struct hf_step *steps, int n, const char *s, size_t len,
                  struct strbuf *out);

/* Pre-tokenize s and call piece() for each pre-token in order. first_section: s
 * starts the text (Metaspace's prepend_scheme "first"). *scratch is the caller's
 * regex scratch (NULL at first; free with hf_regex_scratch_free). */
void hf_pre_tokenize(const struct hf_step *steps, int n, const char *s, size_t len,
                     int first_section, void **scratch,
                     void (*piece)(void *ctx, const char *s, size_t len), void *ctx);
void hf_regex_scratch_free(void *scratch);

/* Tokens on their way through the decoders. */
struct hf_tokens {
    struct strbuf *t;
    char *added;                  /* added tokens pass ByteLevel untouched */
    size_t n, alloc;
};
void hf_tokens_push(struct hf_tokens *tk, const char *s, size_t len, int added);
void hf_tokens_free(struct hf_tokens *tk);

/* Run the decoders over tk (consumed) and append the text to out. first: the
 * tokens start the text (Strip's start, Metaspace's prefix apply). */
void hf_decode_chain(const struct hf_step *steps, int n, struct hf_tokens *tk, int first,
                     struct strbuf *out);

/* GPT-2's byte-to-character map: the UTF-8 of byte b's character in buf (<= 2
 * bytes); returns its length. */
size_t hf_byte_char(int b, char *buf);

/* The length of the UTF-8 sequence at s (1 for an invalid byte), at most len. */
size_t hf_utf8_len(const char *s, size_t len);

/* Whitespace trimming as JavaScript's trimEnd/trimStart: the new length, or the
 * number of bytes to cut from the start. */
size_t hf_trim_end(const char *s, size_t len);
size_t hf_trim_start(const char *s, size_t len);

/* Is the character before pos / at pos a word character (letter, number, '_')? */
int hf_word_char_before(const char *s, size_t pos);
int hf_word_char_at(const char *s, size_t len, size_t pos);

/* Replace every occurrence of from by to in sb. */
void hf_replace_all(struct strbuf *sb, const char *from, const char *to);

#endif
