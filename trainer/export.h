/*
 * export.h - the trained model as a complete model directory (mainline-train
 * --export DIR): config.json and model.safetensors in the Hugging Face layout
 * (model_io.h), and the tokenizer -- "tokenizer": "bytes" with pad_token_id in
 * config.json for a byte-level model, or the base model's llama2.c tokenizer file
 * copied beside the weights. A LoRA adapter is merged into the weights first.
 * Anything mainline loads as a base model (trainer, evaluator) loads the result.
 *
 * The directory is built under DIR.tmp, fsynced and renamed to DIR, so DIR is
 * either absent or complete. DIR must not exist yet: an export never replaces
 * a model.
 *
 * Errors: functions return 0 or -1 and append one message to *err; nothing here
 * prints or exits.
 *
 * Ownership: everything passed in is borrowed.
 */
#ifndef MAINLINE_TRAINER_EXPORT_H
#define MAINLINE_TRAINER_EXPORT_H

#include "train.h"

/* -1 with a message when dir cannot be an export target (it exists already). */
int export_check_target(const char *dir, struct strbuf *err);

/*
 * The model directory itself, for any model (mainline-train --export and
 * `mainline export --format hf` both write it): m's config.json (with the keys of
 * extra_json merged in, NULL for none) and model.safetensors, and the file
 * tokenizer_src (NULL: none) copied in as tokenizer_name. Built in tmp (what an
 * earlier attempt left there is removed first), fsynced and renamed to dir; on
 * failure tmp is removed and dir left absent.
 */
int export_model_dir(const char *dir, const char *tmp, const struct model *m,
                     const char *extra_json, const char *tokenizer_src,
                     const char *tokenizer_name, struct strbuf *err);

/* Write the trainer's current weights (merging its adapter, which changes
 * t->model: call it last) as a model directory at dir; an `export` event goes to
 * metrics.jsonl. */
int trainer_export(struct trainer *t, const char *dir, struct strbuf *err);

#endif
