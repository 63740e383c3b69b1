/*
 * train_config.h - the run's config.json (docs/protocol.md) as a struct train_config:
 * every training parameter with its default filled in and its value checked.
 *
 * The parameter names and value forms are those of protocol/params.c
 * (the orchestrator already checked each value on its own); this layer adds the
 * trainer's defaults, the checks of combinations, and a message naming the key
 * ("params.rank: must be an integer >= 1, not 0") for hand-written configs.
 *
 * Defaults: adapter lora (none when `full` or `train` is given), rank 8, alpha 16,
 * dropout 0, targets [q_proj, v_proj], layers all, lr 1e-4, min_lr 0, warmup 0,
 * lr_schedule cosine, epochs 1 (unbounded when only max_steps is given),
 * batch_size 8, micro_batch_size = batch_size, weight_decay 0, beta1 0.9,
 * beta2 0.999, eps 1e-8, grad_clip 1.0, max_seq_len the model's, seed 0, every
 * train/valid row, eval_at [epoch, end], report_every 10, keep best+last,
 * init pretrained.
 *
 * `init: random` trains a new model from scratch: no base_model, full training
 * (implied; an adapter or a train: list is refused), and `model:` describes it:
 *   {dim, n_layers, n_heads, hidden_dim, max_seq_len}    required
 *   n_kv_heads (n_heads), vocab_size (260), tied (true), rope_theta (10000),
 *   norm_eps (1e-5), init_std (0.02)                     optional
 * with the byte vocabulary (BOS 256, EOS 257, PAD 258 of tokenizer.h), or, when the
 * config's top level names `tokenizer: {path: FILE}`, with that llama2.c tokenizer.bin
 * (BOS 1, EOS 2; model.vocab_size must be its size). `tokenizer` is refused with
 * init: pretrained (a base model brings its own).
 *
 * Errors: the loaders return an enum config_status and append one message to *err;
 * nothing here prints or exits.
 *
 * Ownership: train_config_load()/_parse() fill *c (strings and arrays owned by it),
 * partly on failure; train_config_free() releases them, after a failure too, and
 * accepts a zeroed struct.
 */
#ifndef MAINLINE_TRAIN_CONFIG_H
#define MAINLINE_TRAIN_CONFIG_H

#include <stdint.h>

#include <jansson.h>

#include "model.h"
#include "render.h"
#include "strbuf.h"

enum config_status {
    CONFIG_OK,
    CONFIG_BAD,          /* a missing or invalid value: exit 2 */
    CONFIG_UNREADABLE,   /* the file cannot be read: exit 4 */
};

/* The next four enums follow the order of their choices in protocol/params.c. */
enum model_init {
    INIT_PRETRAINED,     /* start from base_model */
    INIT_RANDOM,         /* build params.model and draw its weights (model/init.h) */
};

enum train_adapter { ADAPTER_LORA, ADAPTER_NONE };
enum lr_schedule_kind { SCHED_COSINE, SCHED_LINEAR, SCHED_CONSTANT };
enum keep_policy { KEEP_ALL, KEEP_LAST, KEEP_BEST, KEEP_BEST_LAST };

enum eval_point_kind {
    EVAL_STEP,           /* at step n */
    EVAL_EPOCH,          /* at every epoch boundary */
    EVAL_END,            /* at the last step */
    EVAL_EVERY,          /* at every multiple of n */
};

struct eval_point {
    enum eval_point_kind kind;
    long n;
};

/* "all" | {"last": N} | [i, ...]: which layers (LoRA layers, trained blocks). */
struct layer_pick {
    int all;             /* every layer */
    int last;            /* > 0: the last `last` layers */
    int *idx;            /* owned: (n) layer indices */
    int n;
};

struct train_config {
    /* where the weights come from */
    enum model_init init;
    struct model_config arch;     /* INIT_RANDOM: params.model, byte vocabulary */
    double init_std;              /* INIT_RANDOM: params.model.init_std */

    /* inputs (absolute, or resolved against the config's directory) */
    char *base_model;             /* NULL with INIT_RANDOM */
    char *tokenizer;              /* INIT_RANDOM: a llama2.c tokenizer.bin; NULL: bytes */
    char *train_path;
    char *valid_path;             /* NULL: no validation set */
    char *render_system;          /* NULL: no system prompt */
    enum render_template tmpl;
    struct render_chat chat;      /* TEMPLATE_CHAT: the base model's chat template */
    struct render_fields train_fields, valid_fields;   /* datasets.NAME.fields */
    char *params_sha256;          /* canonical params digest: a resume must match it */

    /* what trains */
    enum train_adapter adapter;
    int rank;
    double alpha, dropout;
    unsigned targets;             /* LORA_TARGET() bits */
    struct layer_pick layers;     /* LoRA layers */
    int full;                     /* every base weight */
    unsigned parts;               /* TRAIN_* bits of trainable.h */
    struct layer_pick blocks;     /* with TRAIN_BLOCKS */

    /* optimization */
    double lr, min_lr;
    long warmup_steps;
    enum lr_schedule_kind schedule;
    long epochs;                  /* 0: as many as max_steps needs */
    long max_steps;               /* 0: no cap */
    long batch_size, micro_batch_size;
    double weight_decay, beta1, beta2, eps, grad_clip;
    long max_seq_len;             /* 0: the model's */
    uint64_t seed;

    /* data, visibility, retention */
    long train_rows, valid_rows;  /* 0: every row */
    struct eval_point *eval_at;   /* owned: (n_eval_at) */
    size_t n_eval_at;
    long report_every;
    enum keep_policy keep;
};

/* Read and check config.json at path. */
enum config_status train_config_load(const char *path, struct train_config *c,
                                     struct strbuf *err);
/* Check a parsed config.json; relative paths in it resolve against base_dir. */
enum config_status train_config_parse(const json_t *root, const char *base_dir,
                                      struct train_config *c, struct strbuf *err);
void train_config_free(struct train_config *c);

const char *keep_policy_name(enum keep_policy k);

#endif
