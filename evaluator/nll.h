/*
 * nll.h - the mean per-token negative log-likelihood of a dataset's completion
 * tokens under a model: the trainer's validation path exactly (trainer/data.h
 * renders and tokenizes the rows and masks the prompt, model_forward, the SFT
 * loss of model/loss.h), so a retention NLL is comparable with the trainer's
 * val_nll on the same data.
 *
 * Errors: eval_nll() returns an enum train_data_status (TRAIN_DATA_UNREADABLE, TRAIN_DATA_BAD_ROW:
 * a row that is not JSON or does not render) and appends one message naming the
 * file and line to *err. Nothing here prints or exits.
 *
 * Ownership: everything is borrowed; *acc is added to.
 */
#ifndef MAINLINE_EVALUATOR_NLL_H
#define MAINLINE_EVALUATOR_NLL_H

#include "train_data.h"
#include "loss.h"
#include "model.h"
#include "render.h"
#include "tokenizer.h"

#define EVAL_NLL_BATCH 8

/* Sum and count of the NLL of every completion token of path's rows, cut at
 * max_seq_len tokens per example (0: the model's), into *acc. */
enum train_data_status eval_nll(const struct model *m, const struct tokenizer *tok,
                                const struct render_contract *rc, const char *path,
                                long max_seq_len, struct loss_sum *acc, struct strbuf *err);

#endif
