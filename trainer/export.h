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

/* Write the trainer's current weights (merging its adapter, which changes
 * t->model: call it last) as a model directory at dir; an `export` event goes to
 * metrics.jsonl. */
int trainer_export(struct trainer *t, const char *dir, struct strbuf *err);

#endif
