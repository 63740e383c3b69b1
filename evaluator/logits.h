/*
 * logits.h - `mainline-eval --logits IDS.jsonl --base-model PATH`: a model's logits at
 * every position of given token sequences, computed by the KV-cache decoder the
 * evaluator generates with (decode.h; with a q8_0/q4_0 GGUF, its quantised products),
 * to compare with another runtime on the same ids (t6013 does with llama.cpp).
 *
 * Rows are {"ids": [id, ...]}: at least one id, each in [0, vocab), no more than the
 * model's max_seq_len. Each row gives {"ids": [...], "logits": [[V floats] per
 * position]}, logits[i] the prediction after ids[0..i].
 *
 * Errors: eval_logits() returns an enum train_data_status and appends one message
 * naming the file and line to *err. Nothing here prints or exits.
 *
 * Ownership: *out (a JSON array of the rows) is the caller's (json_decref).
 */
#ifndef MAINLINE_EVALUATOR_LOGITS_H
#define MAINLINE_EVALUATOR_LOGITS_H

#include <jansson.h>

#include "model.h"
#include "strbuf.h"
#include "train_data.h"

enum train_data_status eval_logits(const struct model *m, const char *path, int threads,
                                   json_t **out, struct strbuf *err);

#endif
