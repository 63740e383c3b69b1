/*
 * test_lora.c - unit tests for model/lora.c and model/trainable.c: a fresh adapter
 * leaves the logits bitwise unchanged, merge matches the unmerged forward and
 * unmerge restores the weights, dropout behaves (off at p = 0 and at eval,
 * replayable, scaled), PEFT names, configuration errors, and trainable counts on
 * a config whose numbers are worked out by hand below.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "forward.h"
#include "lora.h"
#include "testhelp.h"
#include "trainable.h"

#define B_ 2
#define T_ 9
#define N_ (B_ * T_)

static uint64_t rng_state = 99;

static float frand(void)   /* U(-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (2.0 / 16777216.0) - 1.0);
}

/*
 * The known config: C 16, H 24, L 2, NH 4, NKV 2 (HS 4, KV 8), V 32.
 * Per layer: attn_norm 16 + wq 16*16=256 + wk 8*16=128 + wv 128 + wo 256
 *            + mlp_norm 16 + gate 24*16=384 + up 384 + down 384 = 1952.
 * Untied: 2 * 1952 + embed 32*16=512 + final_norm 16 + lm_head 512 = 4944.
 * Tied:   4944 - 512 = 4432.
 */
static struct model_config known_config(int tied)
{
    struct model_config c = {
        .dim = 16, .hidden_dim = 24, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
        .vocab_size = 32, .max_seq_len = 32, .norm_eps = 1e-5f, .rope_theta = 10000.0f,
        .tied_embeddings = tied, .bos_id = -1, .eos_id = -1,
    };
    return c;
}

static void random_model(struct model *m, int tied)
{
    struct model_config cfg = known_config(tied);
    CHECK(model_alloc(m, &cfg) == 0);
    for (size_t i = 0; i < m->n_params; i++)
        m->slab[i] = 0.3f * frand();
    for (int i = 0; i < 2 * 16; i++) {
        m->w.attn_norm[i] = 1.0f + 0.1f * frand();
        m->w.mlp_norm[i] = 1.0f + 0.1f * frand();
    }
    for (int i = 0; i < 16; i++)
        m->w.final_norm[i] = 1.0f;
}

static void random_tokens(int *tok)
{
    for (int i = 0; i < N_; i++)
        tok[i] = (int)((frand() + 1.0f) * 15.99f);
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

/* logits of m (with lo, may be NULL) into out (N_, V) */
static void logits_of(const struct model *m, struct lora *lo, struct model_acts *a,
                      const int *tok, float *out)
{
    CHECK(model_forward(m, lo, tok, B_, T_, a) == 0);
    memcpy(out, a->logits, (size_t)N_ * m->cfg.vocab_size * sizeof(float));
}

/* ---- tests ---- */

static void test_fresh_adapter_is_exact(void)
{
    for (int tied = 0; tied <= 1; tied++) {
        struct model m;
        random_model(&m, tied);
        struct lora lo;
        struct lora_config lc = { .rank = 4, .alpha = 8, .dropout = 0.1f,
                                  .targets = LORA_TARGETS_ALL_LINEAR, .seed = 5 };
        CHECK(lora_init(&lo, &m.cfg, &lc, NULL, 0) == 0);
        struct model_acts a;
        CHECK(model_acts_alloc(&a, &m.cfg, &lo, B_, T_) == 0);
        int tok[N_];
        random_tokens(tok);
        size_t nl = (size_t)N_ * m.cfg.vocab_size;
        float *base = xmalloc(nl * sizeof(float)), *with = xmalloc(nl * sizeof(float));
        logits_of(&m, NULL, &a, tok, base);
        logits_of(&m, &lo, &a, tok, with);
        CHECK(memcmp(base, with, nl * sizeof(float)) == 0);
        lo.training = 1;   /* dropout draws masks, but B = 0 still adds exact zeros */
        logits_of(&m, &lo, &a, tok, with);
        CHECK(memcmp(base, with, nl * sizeof(float)) == 0);
        /* A is PEFT's kaiming-uniform: within +-1/sqrt(in), not all zero */
        const struct lora_adapter *down = &lo.ad[lora_find(&lo, TK_DOWN, 1)];
        double amax = 0;
        for (int i = 0; i < lo.rank * down->in; i++)
            amax = fmax(amax, fabs(down->A[i]));
        CHECK(amax > 0.5 / sqrt(24.0) && amax <= 1.0 / sqrt(24.0));
        /* and the adapter path does run: a non-zero B changes the logits */
        lo.training = 0;
        lo.ad[0].B[0] = 0.5f;
        logits_of(&m, &lo, &a, tok, with);
        CHECK(max_abs_diff(base, with, nl) > 1e-6);
        free(base);
        free(with);
        model_acts_free(&a);
        lora_free(&lo);
        model_free(&m);
    }
}

static void test_merge_unmerge(void)
{
    struct model m;
    random_model(&m, 0);
    struct lora lo;
    struct lora_config lc = { .rank = 3, .alpha = 6, .targets = LORA_TARGETS_ALL_LINEAR,
                              .seed = 8 };
    CHECK(lora_init(&lo, &m.cfg, &lc, NULL, 0) == 0);
    for (int i = 0; i < lo.n_adapters; i++)
        for (int j = 0; j < lo.ad[i].out * lo.rank; j++)
            lo.ad[i].B[j] = 0.2f * frand();
    struct model_acts a;
    CHECK(model_acts_alloc(&a, &m.cfg, &lo, B_, T_) == 0);
    int tok[N_];
    random_tokens(tok);
    size_t nl = (size_t)N_ * m.cfg.vocab_size;
    float *unmerged = xmalloc(nl * sizeof(float)), *merged = xmalloc(nl * sizeof(float));
    float *plain = xmalloc(nl * sizeof(float));
    float *w0 = xmalloc(m.n_params * sizeof(float));
    memcpy(w0, m.slab, m.n_params * sizeof(float));
    logits_of(&m, &lo, &a, tok, unmerged);

    CHECK(lora_unmerge(&lo, &m) == -1);   /* not merged yet */
    CHECK(lora_merge(&lo, &m) == 0);
    CHECK(lora_merge(&lo, &m) == -1);     /* twice is refused */
    logits_of(&m, &lo, &a, tok, merged);  /* a merged lora is skipped by the forward */
    logits_of(&m, NULL, &a, tok, plain);
    double d = max_abs_diff(unmerged, merged, nl);
    fprintf(stderr, "    merged vs unmerged logits: max abs diff %.2e\n", d);
    CHECK(d < 1e-4);
    CHECK(memcmp(merged, plain, nl * sizeof(float)) == 0);
    /* the merge really changed the projections, and only them */
    CHECK(max_abs_diff(w0, m.slab, m.n_params) > 1e-3);
    struct tensor_ref e = model_tensor(&m, TK_EMBED, 0);
    CHECK(memcmp(e.data, w0, e.rows * e.cols * sizeof(float)) == 0);

    CHECK(lora_unmerge(&lo, &m) == 0);
    double dw = max_abs_diff(w0, m.slab, m.n_params);
    fprintf(stderr, "    unmerged weights vs base: max abs diff %.2e\n", dw);
    CHECK(dw < 1e-6);
    free(unmerged);
    free(merged);
    free(plain);
    free(w0);
    model_acts_free(&a);
    lora_free(&lo);
    model_free(&m);
}

static void test_dropout(void)
{
    struct model m;
    random_model(&m, 1);
    int tok[N_];
    random_tokens(tok);
    size_t nl = (size_t)N_ * m.cfg.vocab_size;
    float *l_p0 = xmalloc(nl * sizeof(float)), *l_p0t = xmalloc(nl * sizeof(float));
    float *l_eval = xmalloc(nl * sizeof(float)), *l_t1 = xmalloc(nl * sizeof(float));
    float *l_t2 = xmalloc(nl * sizeof(float)), *l_t1again = xmalloc(nl * sizeof(float));
    const float p = 0.25f;
    for (int pass = 0; pass < 2; pass++) {
        struct lora lo;
        struct lora_config lc = { .rank = 4, .alpha = 4, .dropout = pass ? p : 0.0f,
                                  .targets = LORA_TARGET(TK_WQ) | LORA_TARGET(TK_UP),
                                  .seed = 21 };
        CHECK(lora_init(&lo, &m.cfg, &lc, NULL, 0) == 0);
        for (size_t i = 0; i < lo.n_params; i++)   /* same A and B in both passes */
            lo.params[i] = 0.3f * sinf((float)i);
        struct model_acts a;
        CHECK(model_acts_alloc(&a, &m.cfg, &lo, B_, T_) == 0);
        if (pass == 0) {
            /* p = 0: training mode changes nothing and draws nothing */
            uint64_t r0 = lo.rng;
            logits_of(&m, &lo, &a, tok, l_p0);
            lo.training = 1;
            logits_of(&m, &lo, &a, tok, l_p0t);
            CHECK(memcmp(l_p0, l_p0t, nl * sizeof(float)) == 0);
            CHECK(lo.rng == r0);
        } else {
            /* p > 0 at eval: the same as p = 0 */
            logits_of(&m, &lo, &a, tok, l_eval);
            CHECK(memcmp(l_eval, l_p0, nl * sizeof(float)) == 0);
            /* training: masks differ per forward, and replay from a saved stream */
            lo.training = 1;
            uint64_t r0 = lo.rng;
            logits_of(&m, &lo, &a, tok, l_t1);
            logits_of(&m, &lo, &a, tok, l_t2);
            CHECK(max_abs_diff(l_t1, l_eval, nl) > 1e-6);
            CHECK(max_abs_diff(l_t1, l_t2, nl) > 1e-6);
            lo.rng = r0;
            logits_of(&m, &lo, &a, tok, l_t1again);
            CHECK(memcmp(l_t1, l_t1again, nl * sizeof(float)) == 0);
            /* the keep fraction is about 1 - p and kept inputs are scaled by 1/(1-p) */
            int idx = lora_find(&lo, TK_UP, 0);
            const unsigned char *keep = a.lc.keepv[idx];
            size_t n = (size_t)N_ * lo.ad[idx].in, kept = 0, scaled_ok = 1;
            const float *x = a.xn2;   /* layer 0's up_proj input */
            for (size_t i = 0; i < n; i++) {
                kept += keep[i];
                float want = keep[i] ? x[i] / (1.0f - p) : 0.0f;
                scaled_ok &= fabsf(a.lc.xd[idx][i] - want) <= 1e-6f * (1 + fabsf(want));
            }
            double frac = (double)kept / (double)n;
            fprintf(stderr, "    dropout p %.2f: kept %.3f of %zu adapter inputs\n", p, frac, n);
            CHECK(fabs(frac - (1 - p)) < 0.05);
            CHECK(scaled_ok);
        }
        model_acts_free(&a);
        lora_free(&lo);
    }
    free(l_p0);
    free(l_p0t);
    free(l_eval);
    free(l_t1);
    free(l_t2);
    free(l_t1again);
    model_free(&m);
}

static void test_names_and_shapes(void)
{
    struct model_config cfg = known_config(0);
    struct lora lo;
    static const int last[1] = { -1 };
    struct lora_config lc = { .rank = 4, .alpha = 8, .targets = LORA_TARGET(TK_WK) |
                              LORA_TARGET(TK_DOWN), .layers = last, .n_layers = 1 };
    CHECK(lora_init(&lo, &cfg, &lc, NULL, 0) == 0);
    CHECK_INT(lo.n_adapters, 2);
    CHECK_INT(lora_find(&lo, TK_WK, 0), -1);
    int k = lora_find(&lo, TK_WK, 1), d = lora_find(&lo, TK_DOWN, 1);
    CHECK(k >= 0 && d >= 0);
    char name[128];
    lora_tensor_name(&lo, k, 'A', name, sizeof(name));
    CHECK_STR(name, "base_model.model.model.layers.1.self_attn.k_proj.lora_A.weight");
    lora_tensor_name(&lo, d, 'B', name, sizeof(name));
    CHECK_STR(name, "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight");
    /* lora_A (r, in), lora_B (out, r) */
    CHECK_INT(lo.ad[k].in, 16);
    CHECK_INT(lo.ad[k].out, 8);
    CHECK_INT(lo.ad[d].in, 24);
    CHECK_INT(lo.ad[d].out, 16);
    CHECK(lo.ad[k].B == lo.ad[k].A + 4 * 16);   /* one slab: A then B */
    CHECK_NEAR(lo.scale, 2.0, 0);
    CHECK_INT(lora_target_kind("gate_proj"), TK_GATE);
    CHECK_INT(lora_target_kind("input_layernorm"), -1);
    lora_free(&lo);
    lora_free(&lo);   /* accepts a zeroed struct */
}

static void test_config_errors(void)
{
    struct model_config cfg = known_config(0);
    struct lora lo;
    char why[128];
    struct lora_config ok = { .rank = 4, .alpha = 8, .targets = LORA_TARGETS_ATTN };
    struct lora_config bad = ok;
    bad.rank = 0;
    CHECK(lora_init(&lo, &cfg, &bad, why, sizeof(why)) == -1);
    CHECK_STR(why, "lora rank must be positive");
    bad = ok;
    bad.dropout = 1.0f;
    CHECK(lora_init(&lo, &cfg, &bad, why, sizeof(why)) == -1);
    bad = ok;
    bad.targets = LORA_TARGET(TK_ATTN_NORM);
    CHECK(lora_init(&lo, &cfg, &bad, why, sizeof(why)) == -1);
    static const int far[1] = { 2 };
    bad = ok;
    bad.layers = far;
    bad.n_layers = 1;
    CHECK(lora_init(&lo, &cfg, &bad, why, sizeof(why)) == -1);
    CHECK_STR(why, "lora layer index out of range");
    bad = ok;
    bad.layers_last = 3;
    CHECK(lora_init(&lo, &cfg, &bad, why, sizeof(why)) == -1);

    struct trainable tr;
    struct trainable_spec s = { .parts = TRAIN_BLOCKS };
    CHECK(trainable_init(&tr, &cfg, &s, why, sizeof(why)) == -1);
    CHECK_STR(why, "blocks: no layers given");
    s.blocks = far;
    s.n_blocks = 1;
    CHECK(trainable_init(&tr, &cfg, &s, why, sizeof(why)) == -1);
    s.blocks_last = 5;
    CHECK(trainable_init(&tr, &cfg, &s, why, sizeof(why)) == -1);
    trainable_free(&tr);   /* zeroed by the failed init */
}

static void test_trainable_counts(void)
{
    struct model_config cfg = known_config(0), tcfg = known_config(1);
    CHECK_INT(model_config_param_count(&cfg), 4944);
    CHECK_INT(model_config_param_count(&tcfg), 4432);
    struct trainable tr;

    struct trainable_spec full = { .full = 1 };
    CHECK(trainable_init(&tr, &cfg, &full, NULL, 0) == 0);
    CHECK_INT(trainable_count(&tr, &cfg), 4944);
    CHECK_NEAR(trainable_percent(trainable_count(&tr, &cfg), 4944), 100.0, 1e-12);
    trainable_free(&tr);
    CHECK(trainable_init(&tr, &tcfg, &full, NULL, 0) == 0);
    CHECK_INT(trainable_count(&tr, &tcfg), 4432);   /* tied: embedding counted once */
    trainable_free(&tr);

    /* partial [norm, blocks: last 1]: norms 2*16 + 2*16 + 16 = 80, layer 1's 1952
     * of which its two norms (32) are already counted: 80 + 1952 - 32 = 2000 */
    struct trainable_spec partial = { .parts = TRAIN_NORM | TRAIN_BLOCKS, .blocks_last = 1 };
    CHECK(trainable_init(&tr, &cfg, &partial, NULL, 0) == 0);
    CHECK_INT(trainable_count(&tr, &cfg), 2000);
    CHECK_NEAR(trainable_percent(2000, 4944), 40.4530744, 1e-6);
    CHECK(trainable_on(&tr, TK_ATTN_NORM, 0) && trainable_on(&tr, TK_FINAL_NORM, 0));
    CHECK(!trainable_on(&tr, TK_WQ, 0) && trainable_on(&tr, TK_WQ, 1));
    CHECK(!trainable_on(&tr, TK_EMBED, 0) && !trainable_on(&tr, TK_LM_HEAD, 0));
    trainable_free(&tr);
    /* the same layer named by index (-1 = last) */
    static const int last[1] = { -1 };
    struct trainable_spec partial2 = { .parts = TRAIN_NORM | TRAIN_BLOCKS, .blocks = last,
                                       .n_blocks = 1 };
    CHECK(trainable_init(&tr, &cfg, &partial2, NULL, 0) == 0);
    CHECK_INT(trainable_count(&tr, &cfg), 2000);
    trainable_free(&tr);

    /* lm_head alone: 512 untied; tied it is the embedding, 512 once */
    struct trainable_spec head = { .parts = TRAIN_LM_HEAD };
    CHECK(trainable_init(&tr, &cfg, &head, NULL, 0) == 0);
    CHECK_INT(trainable_count(&tr, &cfg), 512);
    trainable_free(&tr);
    struct trainable_spec head_emb = { .parts = TRAIN_LM_HEAD | TRAIN_EMBEDDINGS };
    CHECK(trainable_init(&tr, &tcfg, &head_emb, NULL, 0) == 0);
    CHECK_INT(trainable_count(&tr, &tcfg), 512);
    CHECK(trainable_on(&tr, TK_EMBED, 0));
    trainable_free(&tr);
    CHECK(trainable_init(&tr, &cfg, &head_emb, NULL, 0) == 0);
    CHECK_INT(trainable_count(&tr, &cfg), 1024);
    trainable_free(&tr);

    /* LoRA attention-only, r 4, every layer, no base tensor:
     * q 4*(16+16)=128, k 4*(16+8)=96, v 96, o 128: 448 per layer, 896 in all;
     * 896 / 4944 = 18.12% of the base, 896 / (4944 + 896) = 15.34% PEFT-style */
    struct trainable_spec none = { 0 };
    CHECK(trainable_init(&tr, &cfg, &none, NULL, 0) == 0);
    CHECK_INT(trainable_count(&tr, &cfg), 0);
    trainable_free(&tr);
    struct lora lo;
    struct lora_config attn = { .rank = 4, .alpha = 8, .targets = LORA_TARGETS_ATTN };
    CHECK(lora_init(&lo, &cfg, &attn, NULL, 0) == 0);
    CHECK_INT(lora_param_count(&lo), 896);
    CHECK_NEAR(trainable_percent(lora_param_count(&lo), 4944), 18.1229773, 1e-6);
    CHECK_NEAR(trainable_percent(896, 4944 + 896), 15.3424658, 1e-6);
    lora_free(&lo);
    /* all-linear on the last layer: 448 + gate 4*(16+24)=160 + up 160 + down 160 = 928 */
    struct lora_config all_last = { .rank = 4, .alpha = 8, .targets = LORA_TARGETS_ALL_LINEAR,
                                    .layers_last = 1 };
    CHECK(lora_init(&lo, &cfg, &all_last, NULL, 0) == 0);
    CHECK_INT(lora_param_count(&lo), 928);
    CHECK_INT(lo.n_adapters, 7);
    lora_free(&lo);
}

int main(void)
{
    TEST(test_fresh_adapter_is_exact);
    TEST(test_merge_unmerge);
    TEST(test_dropout);
    TEST(test_names_and_shapes);
    TEST(test_config_errors);
    TEST(test_trainable_counts);
    return test_report();
}
