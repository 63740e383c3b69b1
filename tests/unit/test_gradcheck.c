/*
 * test_gradcheck.c - the whole model's backward against finite differences.
 *
 * A tiny random llama (C 16, H 24, L 2, NH 4, NKV 2, V 32, B 2, T 7), untied and
 * tied, with LoRA adapters (B set random so A has a gradient) on all seven
 * projections of both layers. The objective is the SFT loss with a partial mask.
 * For every tensor of every kind the analytic gradient is compared with central
 * differences on a sample of entries (the largest gradients plus random ones);
 * the max relative error per tensor is printed.
 *
 * The loss is the trainer's: the head runs on the loss's positions only
 * (model_forward_masked, packed logits); test_masked_head checks it against logits of
 * every position. Also: frozen tensors get no gradient writes, the backward stops at the lowest
 * trainable layer yet gives bitwise the gradients of a full backward, dropout is
 * replayed exactly by the backward, results are bitwise repeatable (on one thread
 * and split over 3, parallel.h; the split agrees with one thread within rounding
 * and passes the same finite-difference checks), and a tiny model trained with
 * Adam (written here) memorizes four sequences.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "forward.h"
#include "lora.h"
#include "loss.h"
#include "parallel.h"
#include "testhelp.h"
#include "trainable.h"

#define GC_B 2
#define GC_T 7
#define GC_N (GC_B * GC_T)

/* finite-difference steps (see fd_tensor) and the tolerance on relative error */
static const float fd_steps[3] = { 4e-3f, 1.2e-2f, 3.6e-2f };
#define FD_TOL 1e-2

static uint64_t rng_state = 7;

static float frand(void)   /* U(-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (2.0 / 16777216.0) - 1.0);
}

static unsigned urand(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)((rng_state >> 33) % n);
}

/* When set, tiny_config() has every Hugging Face option (Qwen3's head_dim != C / NH
 * and q/k norms, biases on q, k, v and o, Llama 3 RoPE scaling). */
static int gc_hf_options;

static struct model_config tiny_config(int tied)
{
    struct model_config c = {
        .dim = 16, .hidden_dim = 24, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
        .vocab_size = 32, .max_seq_len = 16, .norm_eps = 1e-5f, .rope_theta = 10000.0f,
        .tied_embeddings = tied, .bos_id = -1, .eos_id = -1,
    };
    if (gc_hf_options) {
        c.arch = ARCH_QWEN3;
        c.head_dim = 6;
        c.qkv_bias = c.o_bias = c.qk_norm = 1;
        c.rope_scaling = ROPE_LLAMA3;
        c.rope_factor = 8;
        c.rope_low_freq_factor = 1;
        c.rope_high_freq_factor = 4;
        c.rope_original_max_pos = 16;
    }
    return c;
}

/* Random weights: matrices U(-0.4, 0.4), norm weights 1 + U(-0.3, 0.3). */
static void randomize(struct model *m)
{
    for (size_t i = 0; i < m->n_params; i++)
        m->slab[i] = 0.4f * frand();
    for (int k = 0; k < TK_COUNT; k++) {
        if (k != TK_ATTN_NORM && k != TK_MLP_NORM && k != TK_FINAL_NORM && k != TK_Q_NORM &&
            k != TK_K_NORM)
            continue;
        int layers = tensor_kind_is_per_layer((enum tensor_kind)k) ? m->cfg.n_layers : 1;
        for (int l = 0; l < layers; l++) {
            struct tensor_ref t = model_tensor(m, (enum tensor_kind)k, l);
            for (size_t i = 0; i < t.rows * t.cols; i++)
                t.data[i] = 1.0f + 0.3f * frand();
        }
    }
}

/* ---- the fixture ---- */

struct gc {
    struct model m, g;             /* weights, gradients */
    struct lora lo;
    struct trainable tr;
    struct model_acts a;
    int use_lora;
    uint64_t lora_rng;             /* dropout stream at the start of every forward */
    int tokens[GC_N], targets[GC_N];
    unsigned char mask[GC_N];
};

static void gc_init(struct gc *c, int tied, unsigned lora_targets, float dropout)
{
    memset(c, 0, sizeof(*c));
    struct model_config cfg = tiny_config(tied);
    CHECK(model_alloc(&c->m, &cfg) == 0);
    CHECK(model_alloc(&c->g, &cfg) == 0);
    randomize(&c->m);
    struct trainable_spec full = { .full = 1 };
    CHECK(trainable_init(&c->tr, &cfg, &full, NULL, 0) == 0);
    c->use_lora = lora_targets != 0;
    if (c->use_lora) {
        struct lora_config lc = { .rank = 2, .alpha = 4, .dropout = dropout,
                                  .targets = lora_targets, .seed = 11 };
        char why[128];
        CHECK(lora_init(&c->lo, &cfg, &lc, why, sizeof(why)) == 0);
        for (int i = 0; i < c->lo.n_adapters; i++) {   /* B random so A gets a gradient */
            struct lora_adapter *ad = &c->lo.ad[i];
            for (int j = 0; j < ad->out * c->lo.rank; j++)
                ad->B[j] = 0.5f * frand();
        }
        c->lo.training = dropout > 0;
        c->lora_rng = c->lo.rng;
    }
    CHECK(model_acts_alloc(&c->a, &cfg, c->use_lora ? &c->lo : NULL, GC_B, GC_T) == 0);
    for (int i = 0; i < GC_N; i++) {
        c->tokens[i] = (int)urand(32);
        c->targets[i] = (int)urand(32);
        c->mask[i] = i % GC_T >= 3;   /* the first three positions are the prompt */
    }
    c->targets[2] = -1;   /* masked positions are never read */
}

static void gc_free(struct gc *c)
{
    model_acts_free(&c->a);
    lora_free(&c->lo);
    trainable_free(&c->tr);
    model_free(&c->g);
    model_free(&c->m);
}

static struct lora *gc_lora(struct gc *c)
{
    if (!c->use_lora)
        return NULL;
    c->lo.rng = c->lora_rng;   /* every forward draws the same dropout masks */
    return &c->lo;
}

static double gc_loss(struct gc *c)
{
    struct loss_sum s = { 0 };
    if (model_forward_masked(&c->m, gc_lora(c), c->tokens, GC_B, GC_T, c->mask, &c->a) < 0 ||
        sft_loss_forward_packed(&s, c->a.logits, c->targets, c->mask, GC_N,
                                c->m.cfg.vocab_size) < 0)
        return NAN;   /* fails every comparison downstream */
    return loss_mean(&s);
}

/* The loss's backward, then the model's with trainable tr (after gc_loss). */
static void gc_backward(struct gc *c, const struct trainable *tr, struct model *grads)
{
    long count = sft_loss_count(c->mask, GC_N);
    sft_loss_backward_packed(c->a.logits, c->a.logits, c->targets, c->mask, GC_N,
                             c->m.cfg.vocab_size, count);
    CHECK(model_backward(&c->m, gc_lora(c), tr, &c->a, c->a.logits, grads) == 0);
}

/* Zero the gradients, then forward, loss, backward with trainable tr. */
static void gc_grads(struct gc *c, const struct trainable *tr, struct model *grads)
{
    if (grads)
        memset(grads->slab, 0, grads->n_params * sizeof(float));
    if (c->use_lora)
        memset(c->lo.grads, 0, c->lo.n_params * sizeof(float));
    gc_loss(c);
    gc_backward(c, tr, grads);
}

/* d loss / d *p by the five-point stencil with step eps (error O(eps^4)). */
static double fd_entry(struct gc *c, float *p, float eps)
{
    float keep = *p;
    double f[4];
    static const float steps[4] = { 2, 1, -1, -2 };
    for (int j = 0; j < 4; j++) {
        *p = keep + steps[j] * eps;
        f[j] = gc_loss(c);
    }
    *p = keep;
    return (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12.0 * (double)eps);
}

/* Compare grad (n) with finite differences of the loss over param, on every entry
 * when n <= 16, else on the 6 largest gradients and 10 random entries. Returns the
 * max relative error; with a name, also prints it and checks it. */
static double fd_tensor(struct gc *c, const char *name, float *param, const float *grad,
                        size_t n)
{
    size_t idx[16];
    size_t k = 0;
    double gmax = 0;
    for (size_t i = 0; i < n; i++)
        gmax = fmax(gmax, fabs(grad[i]));
    if (n <= 16) {
        for (; k < n; k++)
            idx[k] = k;
    } else {
        for (; k < 6; k++) {   /* the largest |grad| not taken yet */
            size_t best = 0;
            double bv = -1;
            for (size_t i = 0; i < n; i++) {
                int taken = 0;
                for (size_t j = 0; j < k; j++)
                    taken |= idx[j] == i;
                if (!taken && fabs(grad[i]) > bv) {
                    bv = fabs(grad[i]);
                    best = i;
                }
            }
            idx[k] = best;
        }
        for (; k < 16; k++)
            idx[k] = urand((unsigned)n);
    }
    double worst = 0;
    for (size_t j = 0; j < k; j++) {
        size_t i = idx[j];
        /* A float forward rounds: small steps drown in noise, large ones in curvature
         * (a random tiny model is far from linear). Take the best of three steps: a
         * wrong sign or a missing term is far off at every step. */
        double ana = grad[i], best = INFINITY;
        for (int e = 0; e < 3; e++) {
            double num = fd_entry(c, param + i, fd_steps[e]);
            double den = fmax(fmax(fabs(ana), fabs(num)), 1e-2 * gmax);
            best = fmin(best, den > 0 ? fabs(ana - num) / den : 0);
        }
        worst = fmax(worst, best);
    }
    if (name) {
        fprintf(stderr, "    %-40s max rel err %.2e  (max |g| %.1e)\n", name, worst, gmax);
        CHECK(gmax > 0);   /* a tensor with no gradient at all is a missing term */
        CHECK(worst < FD_TOL);
    }
    return worst;
}

static void check_all(struct gc *c, const char *tag)
{
    gc_grads(c, &c->tr, &c->g);
    char name[128];
    for (int k = 0; k < TK_COUNT; k++) {
        if (k == TK_LM_HEAD && c->m.cfg.tied_embeddings)
            continue;   /* one tensor with the embedding: checked there */
        if (!model_has_kind(&c->m.cfg, (enum tensor_kind)k))
            continue;
        int layers = tensor_kind_is_per_layer((enum tensor_kind)k) ? c->m.cfg.n_layers : 1;
        for (int l = 0; l < layers; l++) {
            struct tensor_ref w = model_tensor(&c->m, (enum tensor_kind)k, l);
            struct tensor_ref g = model_tensor(&c->g, (enum tensor_kind)k, l);
            char tn[96];
            model_tensor_name((enum tensor_kind)k, l, tn, sizeof(tn));
            snprintf(name, sizeof(name), "%s %s", tag, tn);
            fd_tensor(c, name, w.data, g.data, w.rows * w.cols);
        }
    }
    for (int i = 0; c->use_lora && i < c->lo.n_adapters; i++) {
        struct lora_adapter *ad = &c->lo.ad[i];
        char tn[128];
        lora_tensor_name(&c->lo, i, 'A', tn, sizeof(tn));
        snprintf(name, sizeof(name), "%s %s", tag, tn + strlen("base_model.model.model."));
        fd_tensor(c, name, ad->A, ad->dA, (size_t)c->lo.rank * ad->in);
        lora_tensor_name(&c->lo, i, 'B', tn, sizeof(tn));
        snprintf(name, sizeof(name), "%s %s", tag, tn + strlen("base_model.model.model."));
        fd_tensor(c, name, ad->B, ad->dB, (size_t)ad->out * c->lo.rank);
    }
}

/* ---- tests ---- */

static void test_gradcheck_untied(void)
{
    struct gc c;
    gc_init(&c, 0, LORA_TARGETS_ALL_LINEAR, 0.0f);
    check_all(&c, "untied");
    gc_free(&c);
}

static void test_gradcheck_hf_options(void)
{
    /* head_dim 6 (q 24 wide, C 16), q/k/v/o biases, per-head q/k norms, llama3 RoPE */
    struct gc c;
    gc_hf_options = 1;
    gc_init(&c, 0, LORA_TARGETS_ALL_LINEAR, 0.0f);
    CHECK(c.m.cfg.qk_norm && model_q_dim(&c.m.cfg) == 24);
    check_all(&c, "hf");
    gc_free(&c);
    gc_init(&c, 1, LORA_TARGETS_ATTN, 0.0f);
    check_all(&c, "hf-tied");
    gc_free(&c);
    gc_hf_options = 0;
}

static void test_gradcheck_catches_errors(void)
{
    /* the checker itself: a flipped sign, or a gradient missing one of its terms
     * (here: the lm_head contribution of a tied embedding), is far outside FD_TOL */
    struct gc c;
    gc_init(&c, 1, 0, 0.0f);
    gc_grads(&c, &c.tr, &c.g);
    struct tensor_ref w = model_tensor(&c.m, TK_WQ, 1), g = model_tensor(&c.g, TK_WQ, 1);
    size_t n = w.rows * w.cols;
    for (size_t i = 0; i < n; i++)
        g.data[i] = -g.data[i];
    double flipped = fd_tensor(&c, NULL, w.data, g.data, n);
    struct tensor_ref e = model_tensor(&c.g, TK_EMBED, 0);
    float *emb_only = xcalloc(e.rows * e.cols, sizeof(float));
    c.tr.mask[TK_LM_HEAD * c.tr.n_layers] = 0;   /* pretend the head does not share it */
    gc_grads(&c, &c.tr, &c.g);
    memcpy(emb_only, e.data, e.rows * e.cols * sizeof(float));
    double missing = fd_tensor(&c, NULL, c.m.w.embed, emb_only, e.rows * e.cols);
    fprintf(stderr, "    flipped sign: max rel err %.2e; missing term: %.2e\n", flipped,
            missing);
    CHECK(flipped > 10 * FD_TOL);
    CHECK(missing > 10 * FD_TOL);
    free(emb_only);
    gc_free(&c);
}

static void test_gradcheck_tied(void)
{
    struct gc c;
    gc_init(&c, 1, LORA_TARGETS_ALL_LINEAR, 0.0f);
    check_all(&c, "tied");
    gc_free(&c);
}

static void test_gradcheck_dropout(void)
{
    /* dropout 0.3 in training mode: the backward must replay the forward's masks */
    struct gc c;
    gc_init(&c, 0, LORA_TARGET(TK_WV) | LORA_TARGET(TK_DOWN), 0.3f);
    gc_grads(&c, NULL, NULL);
    char name[128];
    for (int i = 0; i < c.lo.n_adapters; i++) {
        struct lora_adapter *ad = &c.lo.ad[i];
        snprintf(name, sizeof(name), "dropout L%d %s lora_A", ad->layer,
                 tensor_kind_proj_name(ad->kind));
        fd_tensor(&c, name, ad->A, ad->dA, (size_t)c.lo.rank * ad->in);
        snprintf(name, sizeof(name), "dropout L%d %s lora_B", ad->layer,
                 tensor_kind_proj_name(ad->kind));
        fd_tensor(&c, name, ad->B, ad->dB, (size_t)ad->out * c.lo.rank);
    }
    /* the masks really drop: a different stream gives a different loss */
    double l0 = gc_loss(&c);
    c.lora_rng ^= 0x5555;
    CHECK(gc_loss(&c) != l0);
    gc_free(&c);
}

/* Bitwise equality of tensor (k, l) of two gradient models. */
static int same_tensor(const struct model *a, const struct model *b, enum tensor_kind k, int l)
{
    struct tensor_ref x = model_tensor(a, k, l), y = model_tensor(b, k, l);
    return memcmp(x.data, y.data, x.rows * x.cols * sizeof(float)) == 0;
}

/* Every entry of tensor (k, l) still holds the sentinel. */
static int untouched(const struct model *g, enum tensor_kind k, int l, float sentinel)
{
    struct tensor_ref t = model_tensor(g, k, l);
    for (size_t i = 0; i < t.rows * t.cols; i++)
        if (memcmp(&t.data[i], &sentinel, sizeof(float)) != 0)
            return 0;
    return 1;
}

/* Backward with trainable spec s (and c's LoRA) into a sentinel-filled gradient
 * model whose trainable tensors start at zero; compare with full (a full
 * backward's gradients): trainable tensors bitwise equal, frozen ones untouched. */
static void partial_case(struct gc *c, const struct model *full, const struct trainable_spec *s,
                         const char *tag, int want_lowest, int want_layers)
{
    const float sentinel = -12345.0f;
    struct trainable tr;
    CHECK(trainable_init(&tr, &c->m.cfg, s, NULL, 0) == 0);
    for (size_t i = 0; i < c->g.n_params; i++)
        c->g.slab[i] = sentinel;
    int L = c->m.cfg.n_layers;
    for (int k = 0; k < TK_COUNT; k++)
        for (int l = 0; l < L; l++)
            if (trainable_on(&tr, (enum tensor_kind)k, l)) {
                struct tensor_ref t = model_tensor(&c->g, (enum tensor_kind)k, l);
                memset(t.data, 0, t.rows * t.cols * sizeof(float));
            }
    /* gc_grads zeroes the slab first: run its steps by hand */
    if (c->use_lora)
        memset(c->lo.grads, 0, c->lo.n_params * sizeof(float));
    gc_loss(c);
    gc_backward(c, &tr, &c->g);
    int lowest = model_backward_lowest_layer(&c->m.cfg, c->use_lora ? &c->lo : NULL, &tr);
    fprintf(stderr, "    %-28s lowest layer %d, layers visited %d\n", tag, lowest,
            c->a.bw_layers);
    CHECK_INT(lowest, want_lowest);
    CHECK_INT(c->a.bw_layers, want_layers);
    int bad_frozen = 0, bad_trained = 0;
    for (int k = 0; k < TK_COUNT; k++) {
        int layers = tensor_kind_is_per_layer((enum tensor_kind)k) ? L : 1;
        for (int l = 0; l < layers; l++) {
            if (k == TK_LM_HEAD && c->m.cfg.tied_embeddings)
                continue;
            if (trainable_on(&tr, (enum tensor_kind)k, l))
                bad_trained += !same_tensor(&c->g, full, (enum tensor_kind)k, l);
            else
                bad_frozen += !untouched(&c->g, (enum tensor_kind)k, l, sentinel);
        }
    }
    CHECK_INT(bad_frozen, 0);
    CHECK_INT(bad_trained, 0);
    trainable_free(&tr);
}

static void test_partial_backward(void)
{
    struct gc c;
    gc_init(&c, 0, 0, 0.0f);
    struct model full;
    CHECK(model_alloc(&full, &c.m.cfg) == 0);
    gc_grads(&c, &c.tr, &full);
    static const int last[1] = { -1 };
    struct trainable_spec s1 = { .parts = TRAIN_BLOCKS | TRAIN_LM_HEAD, .blocks = last,
                                 .n_blocks = 1 };
    partial_case(&c, &full, &s1, "blocks[-1] + lm_head", 1, 1);
    struct trainable_spec s2 = { .parts = TRAIN_NORM };
    partial_case(&c, &full, &s2, "norm", 0, 2);
    struct trainable_spec s3 = { .parts = TRAIN_LM_HEAD };
    partial_case(&c, &full, &s3, "lm_head", 2, 0);
    struct trainable_spec s4 = { .parts = TRAIN_EMBEDDINGS };
    partial_case(&c, &full, &s4, "embeddings", -1, 2);
    struct trainable_spec s5 = { 0 };
    partial_case(&c, &full, &s5, "nothing", 3, 0);
    model_free(&full);
    gc_free(&c);
}

static void test_lora_partial_backward(void)
{
    /* LoRA on layer 1's q and v only, no base tensor trains: the backward visits
     * layer 1 alone and the adapter gradients equal those of a full backward. */
    struct gc c;
    gc_init(&c, 0, 0, 0.0f);
    static const int one[1] = { 1 };
    struct lora_config lc = { .rank = 2, .alpha = 4, .targets = LORA_TARGET(TK_WQ) |
                              LORA_TARGET(TK_WV), .layers = one, .n_layers = 1, .seed = 3 };
    CHECK(lora_init(&c.lo, &c.m.cfg, &lc, NULL, 0) == 0);
    for (size_t i = 0; i < c.lo.n_params; i++)
        c.lo.params[i] = frand();
    c.use_lora = 1;
    c.lora_rng = c.lo.rng;
    model_acts_free(&c.a);
    CHECK(model_acts_alloc(&c.a, &c.m.cfg, &c.lo, GC_B, GC_T) == 0);
    gc_grads(&c, &c.tr, &c.g);
    float *full = xmalloc(c.lo.n_params * sizeof(float));
    memcpy(full, c.lo.grads, c.lo.n_params * sizeof(float));
    CHECK_INT(c.a.bw_layers, 2);
    gc_grads(&c, NULL, NULL);
    CHECK_INT(c.a.bw_layers, 1);
    CHECK_INT(model_backward_lowest_layer(&c.m.cfg, &c.lo, NULL), 1);
    CHECK(memcmp(full, c.lo.grads, c.lo.n_params * sizeof(float)) == 0);
    free(full);
    gc_free(&c);
}

static float *snapshot(const float *p, size_t n)
{
    float *copy = xmalloc(n * sizeof(float));
    memcpy(copy, p, n * sizeof(float));
    return copy;
}

/* Gradients again: bitwise those of the last gc_grads() (g, l). */
static void check_repeats(struct gc *c, const float *g, const float *l)
{
    gc_grads(c, &c->tr, &c->g);
    CHECK(memcmp(g, c->g.slab, c->g.n_params * sizeof(float)) == 0);
    CHECK(memcmp(l, c->lo.grads, c->lo.n_params * sizeof(float)) == 0);
}

static void test_deterministic(void)
{
    struct gc c;
    gc_init(&c, 0, LORA_TARGETS_ALL_LINEAR, 0.1f);
    gc_grads(&c, &c.tr, &c.g);
    float *g1 = snapshot(c.g.slab, c.g.n_params), *l1 = snapshot(c.lo.grads, c.lo.n_params);
    check_repeats(&c, g1, l1);
    free(g1);
    free(l1);
    gc_free(&c);
}

static double max_abs(const float *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

/* Over 3 threads: the finite-difference checks pass, two runs agree bitwise, and
 * the gradients agree with one thread's within rounding. */
static void test_threads(void)
{
    struct gc c;
    gc_init(&c, 1, LORA_TARGETS_ALL_LINEAR, 0.1f);
    gc_grads(&c, &c.tr, &c.g);
    float *g1 = snapshot(c.g.slab, c.g.n_params), *l1 = snapshot(c.lo.grads, c.lo.n_params);
    par_set_threads(3);
    check_all(&c, "3 threads");
    gc_grads(&c, &c.tr, &c.g);
    double diff = fmax(max_diff(g1, c.g.slab, c.g.n_params),
                       max_diff(l1, c.lo.grads, c.lo.n_params));
    double mag = fmax(max_abs(g1, c.g.n_params), max_abs(l1, c.lo.n_params));
    fprintf(stderr, "    3 threads vs 1: max abs diff %.2e (max |g| %.2e)\n", diff, mag);
    CHECK(diff <= 1e-5 * mag);
    float *g3 = snapshot(c.g.slab, c.g.n_params), *l3 = snapshot(c.lo.grads, c.lo.n_params);
    check_repeats(&c, g3, l3);
    par_set_threads(1);
    free(g1);
    free(l1);
    free(g3);
    free(l3);
    gc_free(&c);
}

static void test_smaller_batch_and_misuse(void)
{
    /* buffers for (3, 12) run a (2, 7) batch exactly like buffers made for (2, 7) */
    struct gc c;
    gc_init(&c, 0, LORA_TARGETS_ALL_LINEAR, 0.0f);
    gc_grads(&c, &c.tr, &c.g);
    size_t nl = (size_t)GC_N * c.m.cfg.vocab_size;
    float *g1 = xmalloc(c.g.n_params * sizeof(float));
    float *l1 = xmalloc(c.lo.n_params * sizeof(float));
    float *logits = xmalloc(nl * sizeof(float));
    memcpy(g1, c.g.slab, c.g.n_params * sizeof(float));
    memcpy(l1, c.lo.grads, c.lo.n_params * sizeof(float));
    CHECK(model_forward(&c.m, &c.lo, c.tokens, GC_B, GC_T, &c.a) == 0);
    memcpy(logits, c.a.logits, nl * sizeof(float));
    model_acts_free(&c.a);
    CHECK(model_acts_alloc(&c.a, &c.m.cfg, &c.lo, 3, 12) == 0);
    CHECK(model_forward(&c.m, &c.lo, c.tokens, GC_B, GC_T, &c.a) == 0);
    CHECK(memcmp(logits, c.a.logits, nl * sizeof(float)) == 0);
    gc_grads(&c, &c.tr, &c.g);
    CHECK(memcmp(g1, c.g.slab, c.g.n_params * sizeof(float)) == 0);
    CHECK(memcmp(l1, c.lo.grads, c.lo.n_params * sizeof(float)) == 0);

    /* misuse is refused, not undefined */
    CHECK(model_forward(&c.m, &c.lo, c.tokens, 4, GC_T, &c.a) == -1);    /* B too big */
    CHECK(model_forward(&c.m, &c.lo, c.tokens, GC_B, 13, &c.a) == -1);   /* T too big */
    int bad[GC_N];
    memcpy(bad, c.tokens, sizeof(bad));
    bad[5] = 32;
    CHECK(model_forward(&c.m, &c.lo, bad, GC_B, GC_T, &c.a) == -1);      /* token >= V */
    struct lora other;
    struct lora_config lc = { .rank = 2, .alpha = 4, .targets = LORA_TARGETS_ATTN };
    CHECK(lora_init(&other, &c.m.cfg, &lc, NULL, 0) == 0);
    CHECK(model_forward(&c.m, &other, c.tokens, GC_B, GC_T, &c.a) == -1); /* caches differ */
    CHECK(model_backward(&c.m, &c.lo, &c.tr, &c.a, c.a.logits, NULL) == -1); /* no grads */
    struct model_acts none;
    CHECK(model_acts_alloc(&none, &c.m.cfg, NULL, 1, 17) == -1);          /* > max_seq_len */
    model_acts_free(&none);
    lora_free(&other);
    free(g1);
    free(l1);
    free(logits);
    gc_free(&c);
}

/* max |a - b| over n, relative to max |b| (absolute when b is all zero) */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double d = 0, mag = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        mag = fmax(mag, fabs((double)b[i]));
    }
    return mag > 0 ? d / mag : d;
}

/* The head on the loss's positions only (gc_grads) against logits of every position
 * (model_forward, sft_loss_forward/backward): the same loss, logits and gradients to
 * rounding; a mask keeping every position is model_forward's path, bit for bit; a
 * micro-batch without a loss position adds nothing to the gradients. */
static void masked_head_case(int tied)
{
    struct gc c;
    gc_init(&c, tied, LORA_TARGETS_ALL_LINEAR, 0.0f);
    int V = c.m.cfg.vocab_size;
    long count = sft_loss_count(c.mask, GC_N);
    gc_grads(&c, &c.tr, &c.g);
    double packed_loss = gc_loss(&c);
    CHECK_INT(c.a.n_head, (int)count);
    CHECK_INT(c.a.head_all, 0);
    float *packed = snapshot(c.a.logits, (size_t)count * V);
    float *g1 = snapshot(c.g.slab, c.g.n_params), *l1 = snapshot(c.lo.grads, c.lo.n_params);

    memset(c.g.slab, 0, c.g.n_params * sizeof(float));
    memset(c.lo.grads, 0, c.lo.n_params * sizeof(float));
    struct loss_sum s = { 0 };
    CHECK(model_forward(&c.m, gc_lora(&c), c.tokens, GC_B, GC_T, &c.a) == 0);
    CHECK(sft_loss_forward(&s, c.a.logits, c.targets, c.mask, GC_N, V) == 0);
    double rows = 0;
    for (int i = 0, j = 0; i < GC_N; i++)
        if (c.mask[i])
            rows = fmax(rows, rel_diff(packed + (size_t)j++ * V, c.a.logits + (size_t)i * V,
                                       (size_t)V));
    sft_loss_backward(c.a.logits, c.a.logits, c.targets, c.mask, GC_N, V, count);
    CHECK(model_backward(&c.m, gc_lora(&c), &c.tr, &c.a, c.a.logits, &c.g) == 0);
    double dg = rel_diff(g1, c.g.slab, c.g.n_params), dl = rel_diff(l1, c.lo.grads,
                                                                     c.lo.n_params);
    fprintf(stderr, "    %s: loss %.9f packed, %.9f every row; logits %.1e, model grads "
            "%.1e, LoRA grads %.1e (relative)\n", tied ? "tied" : "untied", packed_loss,
            loss_mean(&s), rows, dg, dl);
    CHECK(fabs(packed_loss - loss_mean(&s)) <= 1e-6 * fabs(loss_mean(&s)));
    CHECK(rows <= 1e-6 && dg <= 1e-6 && dl <= 1e-6);

    /* every position kept: model_forward's path, the same bits */
    unsigned char all[GC_N];
    memset(all, 1, sizeof(all));
    CHECK(model_forward(&c.m, gc_lora(&c), c.tokens, GC_B, GC_T, &c.a) == 0);
    float *want = snapshot(c.a.logits, (size_t)GC_N * V);
    CHECK(model_forward_masked(&c.m, gc_lora(&c), c.tokens, GC_B, GC_T, all, &c.a) == 0);
    CHECK(c.a.head_all && c.a.n_head == GC_N);
    CHECK(memcmp(want, c.a.logits, (size_t)GC_N * V * sizeof(float)) == 0);

    /* no loss position: no logits, and the backward adds zeros */
    unsigned char none[GC_N] = { 0 };
    memset(c.g.slab, 0, c.g.n_params * sizeof(float));
    memset(c.lo.grads, 0, c.lo.n_params * sizeof(float));
    struct loss_sum z = { 0 };
    CHECK(model_forward_masked(&c.m, gc_lora(&c), c.tokens, GC_B, GC_T, none, &c.a) == 0);
    CHECK_INT(c.a.n_head, 0);
    CHECK(sft_loss_forward_packed(&z, c.a.logits, c.targets, none, GC_N, V) == 0);
    CHECK(z.count == 0 && z.sum == 0.0);
    sft_loss_backward_packed(c.a.logits, c.a.logits, c.targets, none, GC_N, V, 5);
    CHECK(model_backward(&c.m, gc_lora(&c), &c.tr, &c.a, c.a.logits, &c.g) == 0);
    int nonzero = 0;
    for (size_t i = 0; i < c.g.n_params; i++)
        nonzero += c.g.slab[i] != 0.0f;
    for (size_t i = 0; i < c.lo.n_params; i++)
        nonzero += c.lo.grads[i] != 0.0f;
    CHECK_INT(nonzero, 0);
    free(packed);
    free(g1);
    free(l1);
    free(want);
    gc_free(&c);
}

static void test_masked_head(void)
{
    masked_head_case(0);
    masked_head_case(1);
}

/* ---- overfit: Adam on a tiny model memorizes four sequences ---- */

static void adam_step(float *p, const float *g, float *m1, float *m2, size_t n, int t, float lr)
{
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    float c1 = 1.0f - powf(b1, (float)t), c2 = 1.0f - powf(b2, (float)t);
    for (size_t i = 0; i < n; i++) {
        m1[i] = b1 * m1[i] + (1 - b1) * g[i];
        m2[i] = b2 * m2[i] + (1 - b2) * g[i] * g[i];
        p[i] -= lr * (m1[i] / c1) / (sqrtf(m2[i] / c2) + eps);
    }
}

static void test_overfit(void)
{
    enum { B = 4, T = 8, N = B * T };
    struct model_config cfg = {
        .dim = 32, .hidden_dim = 64, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
        .vocab_size = 16, .max_seq_len = T, .norm_eps = 1e-5f, .rope_theta = 10000.0f,
        .tied_embeddings = 1, .bos_id = -1, .eos_id = -1,
    };
    struct model m, g;
    CHECK(model_alloc(&m, &cfg) == 0);
    CHECK(model_alloc(&g, &cfg) == 0);
    rng_state = 2024;   /* the same weights and sequences whatever ran before */
    for (size_t i = 0; i < m.n_params; i++)
        m.slab[i] = 0.1f * frand();
    for (int l = 0; l < cfg.n_layers; l++)
        for (int i = 0; i < cfg.dim; i++) {
            m.w.attn_norm[l * cfg.dim + i] = 1.0f;
            m.w.mlp_norm[l * cfg.dim + i] = 1.0f;
        }
    for (int i = 0; i < cfg.dim; i++)
        m.w.final_norm[i] = 1.0f;
    struct trainable tr;
    struct trainable_spec full = { .full = 1 };
    CHECK(trainable_init(&tr, &cfg, &full, NULL, 0) == 0);
    struct model_acts a;
    CHECK(model_acts_alloc(&a, &cfg, NULL, B, T) == 0);
    float *m1 = xcalloc(m.n_params, sizeof(float)), *m2 = xcalloc(m.n_params, sizeof(float));
    int seq[B][T + 1], tokens[N], targets[N];
    unsigned char mask[N];
    for (int b = 0; b < B; b++)   /* distinct first tokens: every prefix is unambiguous */
        for (int t = 0; t <= T; t++)
            seq[b][t] = t == 0 ? b : (int)urand(16);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            tokens[b * T + t] = seq[b][t];
            targets[b * T + t] = seq[b][t + 1];
            mask[b * T + t] = 1;
        }
    clock_t t0 = clock();
    double loss = 0;
    int step;
    for (step = 1; step <= 400; step++) {
        struct loss_sum s = { 0 };
        CHECK(model_forward(&m, NULL, tokens, B, T, &a) == 0);
        sft_loss_forward(&s, a.logits, targets, mask, N, cfg.vocab_size);
        loss = loss_mean(&s);
        if (loss < 0.05)
            break;
        memset(g.slab, 0, g.n_params * sizeof(float));
        sft_loss_backward(a.logits, a.logits, targets, mask, N, cfg.vocab_size, s.count);
        model_backward(&m, NULL, &tr, &a, a.logits, &g);
        adam_step(m.slab, g.slab, m1, m2, m.n_params, step, 1e-2f);
    }
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    fprintf(stderr, "    overfit: loss %.4f after %d steps (%.2f s)\n", loss, step, secs);
    CHECK(loss < 0.05);
    free(m1);
    free(m2);
    model_acts_free(&a);
    trainable_free(&tr);
    model_free(&g);
    model_free(&m);
}

int main(void)
{
    TEST(test_gradcheck_untied);
    TEST(test_gradcheck_tied);
    TEST(test_gradcheck_hf_options);
    TEST(test_gradcheck_catches_errors);
    TEST(test_gradcheck_dropout);
    TEST(test_partial_backward);
    TEST(test_lora_partial_backward);
    TEST(test_deterministic);
    TEST(test_threads);
    TEST(test_smaller_batch_and_misuse);
    TEST(test_masked_head);
    TEST(test_overfit);
    return test_report();
}
