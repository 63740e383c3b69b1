/*
 * hf_tokenizer.h - a Hugging Face tokenizer.json: load it, encode text to ids and
 * decode ids to text, byte for byte as Hugging Face's tokenizers do for the BPE
 * files of GPT-2, Llama 2/3/3.1, Mistral, TinyLlama, Qwen2.5, Qwen3, SmolLM2 and
 * Gemma 3 (model/README.md lists exactly what is supported).
 *
 * Encoding: added tokens (special or not) are found in the text first, longest
 * match leftmost, honoring lstrip/rstrip/single_word/normalized; the text between
 * them is normalized (NFC by utf8proc, Replace, Prepend), pre-tokenized (Split with
 * PCRE2 UTF+UCP regexes, ByteLevel, Metaspace) and merged by the BPE model
 * (hf_bpe.h). Anything in a file that is not supported is an error at load naming
 * the file and the type, never a silent difference.
 *
 * Errors: 0/-1 with a message in err; nothing here prints or exits. An encoder is
 * read-only after loading: several threads may encode with one at once.
 *
 * Ownership: hf_tokenizer_load() gives the caller a tokenizer to release with
 * hf_tokenizer_free(). hf_encode() gives a malloc'd id array the caller frees.
 * Decoding appends to a caller's strbuf.
 */
#ifndef MAINLINE_HF_TOKENIZER_H
#define MAINLINE_HF_TOKENIZER_H

#include <stddef.h>

#include "strbuf.h"

struct hf_tokenizer;

/*
 * Load dir/tokenizer.json, with bos/eos/pad tokens from dir/tokenizer_config.json
 * ("bos_token", "eos_token", "pad_token": a string or {"content": ...}) and, for
 * those it does not name, dir/config.json ("bos_token_id", "eos_token_id",
 * "pad_token_id"). *out is the new tokenizer (caller frees with hf_tokenizer_free).
 */
int hf_tokenizer_load(const char *dir, struct hf_tokenizer **out, struct strbuf *err);

/* The same from the texts of tokenizer.json and tokenizer_config.json (NULL: none);
 * `name` is what messages call the file. For tests. */
int hf_tokenizer_load_json(const char *json, size_t len, const char *config_json,
                           const char *name, struct hf_tokenizer **out, struct strbuf *err);

/* Ids are 0..hf_vocab_size()-1 (added tokens included). */
int hf_vocab_size(const struct hf_tokenizer *h);

/* The special ids the configs name, -1 when they name none. */
int hf_bos_id(const struct hf_tokenizer *h);
int hf_eos_id(const struct hf_tokenizer *h);
int hf_pad_id(const struct hf_tokenizer *h);

/* Is id an added token marked "special" (what skip_special_tokens drops)? */
int hf_is_special(const struct hf_tokenizer *h, int id);

/*
 * Encode len bytes of text. Added and special tokens in the text (such as
 * "<|im_start|>" in a rendered chat) become their ids. With add_special the
 * post_processor's template adds its tokens (Llama 3: <|begin_of_text|>; Qwen:
 * none). *ids (malloc'd, caller frees) holds *n ids. Text that is not valid UTF-8
 * is encoded byte by byte where a regex or NFC cannot read it. Never fails.
 */
void hf_encode(const struct hf_tokenizer *h, const char *text, size_t len, int add_special,
               int **ids, size_t *n);

/*
 * Decode ids as Hugging Face's decode(ids) does: the decoder chain over the tokens,
 * special tokens kept unless skip_special, then clean_up_tokenization_spaces when
 * tokenizer_config.json asks for it (absent: yes, as Hugging Face's JavaScript
 * tokenizers do). Bytes that are not valid UTF-8 are kept as they are (Hugging
 * Face would write U+FFFD). Returns -1 for an id outside the vocabulary.
 */
int hf_decode(const struct hf_tokenizer *h, const int *ids, size_t n, int skip_special,
              struct strbuf *out);

/* The text of one token for streaming: the decoder chain on that token alone, with
 * the start-of-text rules (Strip, Metaspace's prefix) when first is set. No
 * clean-up. Returns -1 for an id outside the vocabulary. */
int hf_decode_token(const struct hf_tokenizer *h, int id, int first, struct strbuf *out);

void hf_tokenizer_free(struct hf_tokenizer *h);

#endif
