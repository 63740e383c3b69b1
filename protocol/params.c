/*
 * params.c - the parameter table (see params.h): every parameter a run can have,
 * its type, its choices and its aliases. The trainer checks a job's config against
 * it; the sweep loader checks a sweep file against it.
 */
#include <stdlib.h>
#include <string.h>

#include "params.h"

static const char *const adapters[] = { "lora", "none", NULL };
static const char *const modules[] = { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                       "up_proj", "down_proj", "all-linear", NULL };
static const char *const objectives[] = { "sft", NULL };
static const char *const schedules[] = { "cosine", "linear", "constant", NULL };
static const char *const inits[] = { "pretrained", "random", NULL };
static const char *const keep_policies[] = { "all", "last", "best", "best+last", NULL };

static const struct param_def params[] = {
    { "adapter", PT_CHOICE, adapters, "update strategy: lora or none" },
    { "alpha", PT_POS_NUM, NULL, "LoRA alpha (scale = alpha / rank)" },
    { "base_model", PT_SOURCE, NULL,
      "the model to fine-tune: path, URL or {path|url, sha256, member}" },
    { "batch_size", PT_COUNT, NULL, "effective batch size in examples per optimizer step" },
    { "beta1", PT_FRACTION, NULL, "AdamW beta1" },
    { "beta2", PT_FRACTION, NULL, "AdamW beta2" },
    { "condition", PT_NAME, NULL, "name of a bundle under conditions:" },
    { "dropout", PT_FRACTION, NULL, "LoRA dropout probability" },
    { "epochs", PT_COUNT, NULL, "passes over the training rows" },
    { "eps", PT_POS_NUM, NULL, "AdamW epsilon" },
    { "eval_at", PT_EVAL_AT, NULL, "validation+checkpoint steps: N, epoch, end, {every: K}" },
    { "full", PT_BOOL, NULL, "true trains every weight (full fine-tuning)" },
    { "grad_clip", PT_NONNEG_NUM, NULL, "clip the global gradient norm (0 = off)" },
    { "init", PT_CHOICE, inits, "pretrained (from base_model) or random (from model:)" },
    { "keep", PT_CHOICE, keep_policies, "checkpoint retention: all, last, best, best+last" },
    { "layers", PT_LAYERS, NULL, "where adapters go: all, {last: N} or [indices]" },
    { "lr", PT_POS_NUM, NULL, "peak learning rate" },
    { "lr_schedule", PT_CHOICE, schedules, "after warmup: cosine, linear or constant" },
    { "max_seq_len", PT_COUNT, NULL, "tokens per example; longer ones are truncated" },
    { "max_steps", PT_COUNT, NULL, "stop after this many optimizer steps" },
    { "micro_batch_size", PT_COUNT, NULL, "examples per forward pass (accumulation)" },
    { "min_lr", PT_NONNEG_NUM, NULL, "learning rate at the end of the decay" },
    { "model", PT_MODEL_SPEC, NULL, "with init: random: {dim, n_layers, n_heads, ...}" },
    { "objective", PT_CHOICE, objectives, "teaching signal: sft" },
    { "rank", PT_COUNT, NULL, "LoRA rank r" },
    { "report_every", PT_COUNT, NULL, "steps between progress reports" },
    { "seed", PT_NONNEG_INT, NULL, "seed for init, dropout and data order" },
    { "targets", PT_CHOICE_LIST, modules, "projections that get adapters, or all-linear" },
    { "train", PT_TRAIN_PARTS, NULL, "partial FT: [norm, lm_head, embeddings, blocks: last N]" },
    { "train_rows", PT_COUNT, NULL, "use only the first N training rows" },
    { "valid_rows", PT_COUNT, NULL, "use only the first N validation rows" },
    { "warmup_steps", PT_NONNEG_INT, NULL, "linear warmup steps" },
    { "weight_decay", PT_NONNEG_NUM, NULL, "AdamW decoupled weight decay" },
};

static const struct param_def any_param = { "x_*", PT_ANY, NULL, "user parameter, passed on" };

static const struct {
    const char *alias, *name;
} aliases[] = {
    { "learning_rate", "lr" },
    { "lora_alpha", "alpha" },
    { "lora_dropout", "dropout" },
    { "r", "rank" },
    { "target_modules", "targets" },
};

#define N_PARAMS (sizeof(params) / sizeof(params[0]))
#define N_ALIASES (sizeof(aliases) / sizeof(aliases[0]))

const char *param_canonical_name(const char *name)
{
    for (size_t i = 0; i < N_ALIASES; i++)
        if (strcmp(aliases[i].alias, name) == 0)
            return aliases[i].name;
    return name;
}

const struct param_def *param_find(const char *name)
{
    name = param_canonical_name(name);
    if (strncmp(name, "x_", 2) == 0 && name[2])
        return &any_param;
    for (size_t i = 0; i < N_PARAMS; i++)
        if (strcmp(params[i].name, name) == 0)
            return &params[i];
    return NULL;
}

const char *const *param_names(void)
{
    static const char *names[N_PARAMS + N_ALIASES + 1];
    if (!names[0]) {
        size_t k = 0;
        for (size_t i = 0; i < N_PARAMS; i++)
            names[k++] = params[i].name;
        for (size_t i = 0; i < N_ALIASES; i++)
            names[k++] = aliases[i].alias;
        names[k] = NULL;
    }
    return names;
}

const char *const *param_choices(const char *name)
{
    const struct param_def *def = param_find(name);
    return def && (def->type == PT_CHOICE || def->type == PT_CHOICE_LIST) ? def->choices : NULL;
}
