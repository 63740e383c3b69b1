/*
 * eval_config.h - an evaluator job's eval.json (docs/protocol.md, "Evaluators") as a
 * struct eval_config: the base model, the checkpoint (null for the baseline), the
 * benchmark and the frozen evaluation contract, the render contract, and the
 * optional retention dataset and probe prompts, and the quantisation the mainline's
 * usable.quantized asks for.
 *
 * Used keys: base_model.path, checkpoint, step, datasets.NAME.path and .fields, render,
 * params.max_seq_len, metrics, and under "evaluation": dataset, max_new_tokens
 * (default 256), extract (default boxed), pattern, stop, limit, retention (a
 * dataset name), probes (a list of prompts); quantized.quant (f16, q8_0, q4_0: also
 * evaluate the model written as a GGUF of that type). Paths resolve against the
 * config's directory.
 *
 * Errors: eval_config_load() returns an enum eval_config_status and appends one
 * message naming the file and key to *err; nothing here prints or exits.
 *
 * Ownership: eval_config_load() fills *c, whose strings and arrays it owns, partly
 * on failure; eval_config_free() releases them and accepts a zeroed struct.
 */
#ifndef MAINLINE_EVALUATOR_CONFIG_H
#define MAINLINE_EVALUATOR_CONFIG_H

#include <stddef.h>

#include "render.h"
#include "strbuf.h"

#define EVAL_DEFAULT_MAX_NEW_TOKENS 256

enum eval_config_status {
    EVAL_CONFIG_OK,
    EVAL_CONFIG_BAD,          /* a missing or invalid value: exit 2 */
    EVAL_CONFIG_UNREADABLE,   /* the file cannot be read: exit 4 */
};

struct eval_config {
    char *base_model;
    char *checkpoint;         /* NULL: the base model alone (the baseline) */
    long step;                /* -1 for the baseline */
    char *dataset;            /* the benchmark's name under datasets */
    char *dataset_path;
    struct render_fields dataset_fields;   /* datasets.NAME.fields of the benchmark */
    char *render_system;      /* NULL: no system prompt */
    enum render_template tmpl;
    struct render_chat chat;  /* TEMPLATE_CHAT: the base model's chat template */
    char *extract;            /* boxed | regex | last_number */
    char *pattern;            /* NULL unless regex */
    char **stop;              /* (n_stop) */
    size_t n_stop;
    long max_new_tokens;
    long limit;               /* 0: every row */
    long max_seq_len;         /* params.max_seq_len, 0: the model's */
    char *retention;          /* NULL, or a dataset name */
    char *retention_path;
    struct render_fields retention_fields;
    char **probes;            /* (n_probes) */
    size_t n_probes;
    char *metrics;            /* NULL: <out>/metrics.jsonl */
    int quantized;            /* 1: evaluate again as a GGUF of type quant */
    int quant;                /* enum quant_type (model/quant.h), not QUANT_F32 */
};

enum eval_config_status eval_config_load(const char *path, struct eval_config *c,
                                         struct strbuf *err);
void eval_config_free(struct eval_config *c);

#endif
