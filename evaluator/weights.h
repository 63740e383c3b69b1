/*
 * weights.h - the model an evaluation scores: the base model (llama2.c .bin or
 * Hugging Face safetensors + config.json), its tokenizer, and a checkpoint the
 * built-in trainer wrote, applied on top:
 *   - a PEFT LoRA adapter (adapter_model.safetensors + adapter_config.json):
 *     every A and B read with the shapes the base model implies, then merged
 *     into the base weights (W += alpha/r B A) so decoding runs at base speed;
 *   - changed tensors (model.safetensors, partial or full fine-tuning): each
 *     tensor, under its Hugging Face name, replaces the base one.
 * A tensor shaped for another model, a name the base model does not have, or
 * an adapter file whose tensors do not match its adapter_config.json is refused
 * with the file and the tensor named.
 *
 * Errors: eval_weights_load() returns -1 and appends one message to *err.
 * Nothing here prints or exits.
 *
 * Ownership: on success *m and *tok are the caller's (model_free,
 * tokenizer_free); on failure both are left zeroed.
 */
#ifndef MAINLINE_EVALUATOR_WEIGHTS_H
#define MAINLINE_EVALUATOR_WEIGHTS_H

#include "model.h"
#include "strbuf.h"
#include "tokenizer.h"

/* Load base (and checkpoint, a step directory, unless NULL). */
int eval_weights_load(const char *base, const char *checkpoint, struct model *m,
                      struct tokenizer *tok, struct strbuf *err);

/* Apply the checkpoint directory dir to m (exposed for tests). */
int eval_apply_checkpoint(struct model *m, const char *dir, struct strbuf *err);

#endif
