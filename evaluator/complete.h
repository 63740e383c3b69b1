/*
 * complete.h - greedy line completion: how often a model continues a text with
 * exactly the expected line. A probe of what a base model can do (copy a number
 * it saw earlier in the text, do a sum), where the benchmark's question ->
 * \boxed{} contract would measure the answer format instead.
 *
 * Rows are {"prompt": TEXT, "completion": TEXT}. The prompt is encoded as it is,
 * with no template (BOS first when the model has one); the model continues it
 * greedily up to the first "\n" (not part of the continuation) or
 * COMPLETE_MAX_NEW_TOKENS tokens; a row is correct when the continuation equals
 * the completion byte for byte. A completion holding "\n" could never match and
 * is refused.
 *
 * Errors: eval_complete() returns an enum train_data_status (TRAIN_DATA_UNREADABLE, or
 * TRAIN_DATA_BAD_ROW for a row that is not such an object) and appends one message
 * naming the file (and line) to *err. Nothing here prints or exits.
 *
 * Ownership: everything is borrowed; *out is filled.
 */
#ifndef MAINLINE_EVALUATOR_COMPLETE_H
#define MAINLINE_EVALUATOR_COMPLETE_H

#include <jansson.h>

#include "train_data.h"
#include "model.h"
#include "tokenizer.h"

#define COMPLETE_MAX_NEW_TOKENS 64

struct complete_result {
    long n;          /* rows */
    long correct;    /* rows continued with exactly their completion */
};

enum train_data_status eval_complete(const struct model *m, const struct tokenizer *tok,
                                     const char *path, int threads, struct complete_result *out,
                                     struct strbuf *err);

/*
 * --greedy: rows {"prompt": TEXT}, each encoded as it is (BOS first when the
 * model has one) and continued greedily for up to max_new_tokens tokens, with no
 * stop string (generate.h's end-of-sequence rule still ends a sequence). *out (a
 * new JSON array the caller releases) gets one object per row: prompt,
 * prompt_ids, ids (every generated id, the EOS included), finish and text.
 * What `mainline export`'s GGUF files are checked against in llama.cpp.
 */
enum train_data_status eval_greedy(const struct model *m, const struct tokenizer *tok,
                                   const char *path, int threads, int max_new_tokens,
                                   json_t **out, struct strbuf *err);

#endif
