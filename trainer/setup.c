/*
 * setup.c - building a struct trainer from a config (see train.h): the model and
 * its tokenizer, the examples, what trains (adapter and/or trainable mask) as flat
 * segments for the optimizer, the step counts and the eval points, the buffers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "gguf_read.h"
#include "init.h"
#include "model_io.h"
#include "train.h"
#include "worker.h"

/* ---- model and data ---- */

/* init: random: params.model with weights drawn from the run seed; the byte
 * tokenizer, or the config's tokenizer file. */
static enum train_status new_model(struct trainer *t, struct strbuf *err)
{
    const struct train_config *c = t->cfg;
    if (model_alloc(&t->model, &c->arch) < 0) {
        sb_adds(err, "params.model: cannot build this model");
        return TRAIN_BAD_CONFIG;
    }
    if (c->tokenizer) {
        if (tokenizer_load_llama2c(c->tokenizer, c->arch.vocab_size, &t->tok, err) < 0) {
            sb_addf(err, " (tokenizer.path, for params.model.vocab_size %d)",
                    c->arch.vocab_size);
            return TRAIN_UNREADABLE;
        }
    } else if (tokenizer_init_bytes(&t->tok, c->arch.vocab_size, BYTES_BOS_ID, BYTES_EOS_ID,
                                    BYTES_PAD_ID) < 0) {
        sb_adds(err, "params.model: vocab_size does not fit the byte tokenizer");
        return TRAIN_BAD_CONFIG;
    }
    model_init_random(&t->model, c->seed, c->init_std);
    return TRAIN_OK;
}

static enum train_status load_model(struct trainer *t, struct strbuf *err)
{
    const struct train_config *c = t->cfg;
    if (c->init == INIT_RANDOM) {
        enum train_status st = new_model(t, err);
        if (st != TRAIN_OK)
            return st;
    } else if (gguf_is_file(c->base_model)) {
        sb_addf(err, "base_model.path: %s is a GGUF file: GGUF is read for evaluation only "
                "(mainline-eval); train from the Hugging Face or llama2.c model it came from",
                c->base_model);
        return TRAIN_BAD_CONFIG;
    } else if (model_load(c->base_model, &t->model, err) < 0 ||
               tokenizer_for_model(c->base_model, &t->model.cfg, &t->tok, err) < 0) {
        return TRAIN_UNREADABLE;
    }
    if (c->max_seq_len > t->model.cfg.max_seq_len) {
        sb_addf(err, "params.max_seq_len: %ld is more than the model's %d positions",
                c->max_seq_len, t->model.cfg.max_seq_len);
        return TRAIN_BAD_CONFIG;
    }
    int sw = t->model.cfg.sliding_window;
    long len = c->max_seq_len ? c->max_seq_len : t->model.cfg.max_seq_len;
    if (sw > 0 && len > sw) {
        sb_addf(err, "params.max_seq_len: %ld is more than the model's sliding_window %d "
                "(config.json): sliding-window attention is not implemented, set "
                "max_seq_len to at most %d", len, sw, sw);
        return TRAIN_BAD_CONFIG;
    }
    /* BOS is optional (Qwen has none); batches are padded with PAD, else EOS */
    if (t->tok.eos_id < 0 && t->tok.pad_id < 0) {
        sb_addf(err, "%s: the tokenizer has neither an EOS nor a PAD token to pad with",
                c->base_model);
        return TRAIN_UNREADABLE;
    }
    t->pad_id = t->tok.pad_id >= 0 ? t->tok.pad_id : t->tok.eos_id;
    return TRAIN_OK;
}

static enum train_status load_one(struct trainer *t, const char *path, long rows,
                                  const struct render_fields *fields, struct dataset *ds,
                                  struct strbuf *err)
{
    struct render_contract rc = { t->cfg->render_system, t->cfg->tmpl, fields,
                                  t->cfg->tmpl == TEMPLATE_CHAT ? &t->cfg->chat : NULL };
    long max_len = t->cfg->max_seq_len ? t->cfg->max_seq_len : t->model.cfg.max_seq_len;
    struct train_data_spec spec = { &rc, &t->tok, (int)max_len, rows };
    enum train_data_status st = train_data_load(path, &spec, ds, err);
    return st == TRAIN_DATA_OK           ? TRAIN_OK
           : st == TRAIN_DATA_UNREADABLE ? TRAIN_UNREADABLE
                                         : TRAIN_BAD_CONFIG;
}

static enum train_status load_data(struct trainer *t, struct strbuf *err)
{
    const struct train_config *c = t->cfg;
    enum train_status st = load_one(t, c->train_path, c->train_rows, &c->train_fields,
                                     &t->train, err);
    if (st == TRAIN_OK && c->valid_path)
        st = load_one(t, c->valid_path, c->valid_rows, &c->valid_fields, &t->valid, err);
    if (st == TRAIN_OK && t->train.n == 0) {
        sb_addf(err, "%s: no example to train on (%zu rows, %zu with no completion token "
                "within max_seq_len)", c->train_path, t->train.rows, t->train.dropped);
        st = TRAIN_BAD_CONFIG;
    }
    return st;
}

/* ---- what trains ---- */

static void layer_pick_lora(const struct layer_pick *p, struct lora_config *lc)
{
    lc->layers_last = p->last;
    lc->layers = p->idx;
    lc->n_layers = p->n;
}

static enum train_status init_what_trains(struct trainer *t, struct strbuf *err)
{
    const struct train_config *c = t->cfg;
    char why[200];
    if (c->adapter == ADAPTER_LORA) {
        struct lora_config lc = { .rank = c->rank, .alpha = (float)c->alpha,
                                  .dropout = (float)c->dropout, .targets = c->targets,
                                  .seed = c->seed };
        layer_pick_lora(&c->layers, &lc);
        if (lora_init(&t->lo, &t->model.cfg, &lc, why, sizeof(why)) < 0) {
            sb_addf(err, "params.layers: %s (the model has %d layers)", why,
                    t->model.cfg.n_layers);
            return TRAIN_BAD_CONFIG;
        }
        t->lora = &t->lo;
    }
    if (c->full || c->parts) {
        const struct layer_pick *b = &c->blocks;
        struct trainable_spec spec = { .full = c->full, .parts = c->parts,
                                       .blocks_last = b->all ? t->model.cfg.n_layers : b->last,
                                       .blocks = b->idx, .n_blocks = b->n };
        if (trainable_init(&t->tr, &t->model.cfg, &spec, why, sizeof(why)) < 0) {
            sb_addf(err, "params.train: %s (the model has %d layers)", why,
                    t->model.cfg.n_layers);
            return TRAIN_BAD_CONFIG;
        }
        t->mask = &t->tr;
        model_alloc(&t->grads, &t->model.cfg);
    }
    return TRAIN_OK;
}

static void add_seg(struct trainer *t, size_t *alloc, float *p, float *g, size_t n)
{
    struct param_seg *last = t->n_segs ? &t->segs[t->n_segs - 1] : NULL;
    if (last && last->p + last->n == p && last->g + last->n == g) {
        last->n += n;   /* the next layer of the same kind: one run of floats */
    } else {
        t->segs = xgrow(t->segs, t->n_segs + 1, alloc, sizeof(*t->segs));
        t->segs[t->n_segs++] = (struct param_seg){ p, g, n };
    }
    t->n_trainable += n;
}

/* Segments in a fixed order: the LoRA slab, then base tensors in slab order. */
static void build_segments(struct trainer *t)
{
    size_t alloc = 0;
    const struct model_config *cfg = &t->model.cfg;
    if (t->lora)
        add_seg(t, &alloc, t->lo.params, t->lo.grads, t->lo.n_params);
    for (int k = 0; k < TK_COUNT && t->mask; k++) {
        int per_layer = tensor_kind_is_per_layer((enum tensor_kind)k);
        if (k == TK_LM_HEAD && cfg->tied_embeddings)
            continue;
        for (int l = 0; l < (per_layer ? cfg->n_layers : 1); l++) {
            if (!trainable_on(t->mask, (enum tensor_kind)k, l))
                continue;
            struct tensor_ref w = model_tensor(&t->model, (enum tensor_kind)k, l);
            struct tensor_ref g = model_tensor(&t->grads, (enum tensor_kind)k, l);
            add_seg(t, &alloc, w.data, g.data, w.rows * w.cols);
        }
    }
}

/* ---- steps ---- */

static void add_eval_step(struct trainer *t, size_t *alloc, long s)
{
    if (s < 1 || s > t->total_steps)
        return;
    for (size_t i = 0; i < t->n_eval_steps; i++)
        if (t->eval_steps[i] == s)
            return;
    t->eval_steps = xgrow(t->eval_steps, t->n_eval_steps + 1, alloc, sizeof(long));
    t->eval_steps[t->n_eval_steps++] = s;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Every eval_at point as a step; the last step always validates and checkpoints, so
 * a run's final weights are never lost. */
static void plan_eval_steps(struct trainer *t)
{
    size_t alloc = 0;
    long spe = t->steps_per_epoch, total = t->total_steps;
    for (size_t i = 0; i < t->cfg->n_eval_at; i++) {
        const struct eval_point *e = &t->cfg->eval_at[i];
        if (e->kind == EVAL_STEP)
            add_eval_step(t, &alloc, e->n);
        for (long s = spe; e->kind == EVAL_EPOCH && s <= total; s += spe)
            add_eval_step(t, &alloc, s);
        for (long s = e->n; e->kind == EVAL_EVERY && s <= total; s += e->n)
            add_eval_step(t, &alloc, s);
    }
    add_eval_step(t, &alloc, total);
    qsort(t->eval_steps, t->n_eval_steps, sizeof(long), cmp_long);
}

static void plan_steps(struct trainer *t)
{
    const struct train_config *c = t->cfg;
    t->steps_per_epoch = train_data_steps_per_epoch(t->train.n, c->batch_size);
    t->total_steps = c->epochs ? c->epochs * t->steps_per_epoch : c->max_steps;
    if (c->max_steps && c->max_steps < t->total_steps)
        t->total_steps = c->max_steps;
    t->sched = (struct lr_schedule){ c->schedule, c->lr, c->min_lr, c->warmup_steps,
                                     t->total_steps };
    plan_eval_steps(t);
}

/* ---- buffers ---- */

static int cmp_by_len(const void *a, const void *b, void *ds)
{
    const struct example *ex = ((const struct dataset *)ds)->ex;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int lx = ex[x].len, ly = ex[y].len;
    return lx != ly ? (lx > ly) - (lx < ly) : (x > y) - (x < y);
}

static enum train_status alloc_buffers(struct trainer *t, struct strbuf *err)
{
    int longest = t->train.max_len > t->valid.max_len ? t->train.max_len : t->valid.max_len;
    int B = (int)t->cfg->micro_batch_size, T = longest - 1 > 0 ? longest - 1 : 1;
    if (model_acts_alloc(&t->acts, &t->model.cfg, t->lora, B, T) < 0) {
        sb_addf(err, "cannot allocate activations for %d x %d tokens", B, T);
        return TRAIN_FAILED;
    }
    batch_alloc(&t->batch, B, T);
    t->order = xcalloc(t->train.n, sizeof(size_t));
    t->valid_order = xcalloc(t->valid.n ? t->valid.n : 1, sizeof(size_t));
    for (size_t i = 0; i < t->valid.n; i++)
        t->valid_order[i] = i;
    qsort_r(t->valid_order, t->valid.n, sizeof(size_t), cmp_by_len, &t->valid);
    adamw_init(&t->opt, t->n_trainable, t->cfg->beta1, t->cfg->beta2, t->cfg->eps,
               t->cfg->weight_decay);
    return TRAIN_OK;
}

static void init_progress(struct trainer *t)
{
    memset(&t->pr, 0, sizeof(t->pr));
    t->pr.epoch_rng = data_rng_init(t->cfg->seed);
    t->pr.dropout_rng = t->lora ? t->lo.rng : 0;
    t->pr.best_nll = NAN;
    trainer_begin_epoch(t);
}

enum train_status trainer_setup(struct trainer *t, const struct train_config *cfg,
                                const char *run_dir, struct strbuf *err)
{
    memset(t, 0, sizeof(*t));
    t->cfg = cfg;
    t->run_dir = run_dir;
    t->t_start = clock_now_s();
    enum train_status st = load_model(t, err);
    if (st == TRAIN_OK)
        st = load_data(t, err);
    if (st == TRAIN_OK)
        st = init_what_trains(t, err);
    if (st != TRAIN_OK)
        return st;
    build_segments(t);
    plan_steps(t);
    st = alloc_buffers(t, err);
    init_progress(t);
    return st;
}

void trainer_free(struct trainer *t)
{
    workers_free(t);
    free(t->eval_steps);
    free(t->valid_order);
    free(t->order);
    batch_free(&t->batch);
    model_acts_free(&t->acts);
    train_data_free(&t->valid);
    train_data_free(&t->train);
    adamw_free(&t->opt);
    free(t->segs);
    trainable_free(&t->tr);
    lora_free(&t->lo);
    tokenizer_free(&t->tok);
    model_free(&t->grads);
    model_free(&t->model);
    memset(t, 0, sizeof(*t));
}
