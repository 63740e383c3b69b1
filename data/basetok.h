/*
 * basetok.h - the tokenizer of a sweep's base model, for counting what the
 * trainer will see (stats, plan estimates), plus the model's context length.
 *
 * Errors: -1 with a message naming the file in *err; nothing here prints.
 * Ownership: *tok is filled for the caller, who releases it with tokenizer_free().
 */
#ifndef MAINLINE_DATA_BASETOK_H
#define MAINLINE_DATA_BASETOK_H

#include "strbuf.h"
#include "tokenizer.h"

/* Load the model at path (to learn its vocabulary and context) and its
 * tokenizer; *max_seq_len gets the model's positions. */
int base_tokenizer(const char *model_path, struct tokenizer *tok, long *max_seq_len,
                   struct strbuf *err);

#endif
