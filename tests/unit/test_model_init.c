/*
 * test_model_init.c - random initialization (model/init.h): the same seed gives
 * the same bits and another seed other bits; every tensor of the declared shapes
 * is drawn, with mean ~0 and the declared standard deviation (the residual
 * projections scaled by 1/sqrt(2 L)), norms exactly 1, an untied lm_head drawn
 * apart from the embeddings.
 */
#include <math.h>
#include <string.h>

#include "init.h"
#include "model.h"
#include "testhelp.h"

static const struct model_config cfg = {
    .dim = 64, .hidden_dim = 160, .n_layers = 3, .n_heads = 4, .n_kv_heads = 2,
    .vocab_size = 260, .max_seq_len = 128, .norm_eps = 1e-5f, .rope_theta = 10000.0f,
    .tied_embeddings = 0, .bos_id = 256, .eos_id = 257,
};

static void make(struct model *m, uint64_t seed)
{
    CHECK_INT(model_alloc(m, &cfg), 0);
    model_init_random(m, seed, 0.02);
}

static void test_deterministic_by_seed(void)
{
    struct model a, b, c;
    make(&a, 7);
    make(&b, 7);
    make(&c, 8);
    CHECK_INT(a.n_params, b.n_params);
    CHECK(memcmp(a.slab, b.slab, a.n_params * sizeof(float)) == 0);
    size_t same = 0;
    for (size_t i = 0; i < a.n_params; i++)
        same += a.slab[i] == c.slab[i];
    /* only the norm weights (all 1) agree between seeds */
    CHECK_INT(same, (size_t)(2 * cfg.n_layers + 1) * (size_t)cfg.dim);
    model_free(&a);
    model_free(&b);
    model_free(&c);
}

/* mean and standard deviation of every element of kind k over all layers */
static void moments(const struct model *m, enum tensor_kind k, double *mean, double *sd,
                    size_t *n)
{
    double s = 0, s2 = 0;
    *n = 0;
    int layers = tensor_kind_is_per_layer(k) ? m->cfg.n_layers : 1;
    for (int l = 0; l < layers; l++) {
        struct tensor_ref t = model_tensor(m, k, l);
        for (size_t i = 0; i < t.rows * t.cols; i++) {
            s += t.data[i];
            s2 += (double)t.data[i] * t.data[i];
        }
        *n += t.rows * t.cols;
    }
    *mean = s / (double)*n;
    *sd = sqrt(s2 / (double)*n - *mean * *mean);
}

static void test_shapes_and_statistics(void)
{
    struct model m;
    make(&m, 1);
    double resid = 0.02 / sqrt(2.0 * cfg.n_layers);
    for (int k = 0; k < TK_COUNT; k++) {
        if (!model_has_kind(&cfg, (enum tensor_kind)k))
            continue;
        double mean, sd, want = model_init_std(&cfg, (enum tensor_kind)k, 0.02);
        size_t n, rows, cols;
        moments(&m, (enum tensor_kind)k, &mean, &sd, &n);
        model_tensor_shape(&cfg, (enum tensor_kind)k, &rows, &cols);
        CHECK_INT(n, rows * cols * (tensor_kind_is_per_layer((enum tensor_kind)k) ? 3u : 1u));
        if (want == 0) {                       /* a norm: exactly ones */
            CHECK_NEAR(mean, 1.0, 0);
            CHECK_NEAR(sd, 0.0, 1e-9);
            continue;
        }
        /* within 5 standard errors: of the sd, sd / sqrt(2 n); of the mean, sd / sqrt(n) */
        CHECK_NEAR(sd / want, 1.0, 5 / sqrt(2.0 * (double)n));
        CHECK_NEAR(mean, 0.0, 5 * want / sqrt((double)n));
    }
    CHECK_NEAR(model_init_std(&cfg, TK_WO, 0.02), resid, 1e-15);
    CHECK_NEAR(model_init_std(&cfg, TK_DOWN, 0.02), resid, 1e-15);
    CHECK_NEAR(model_init_std(&cfg, TK_WQ, 0.02), 0.02, 0);
    CHECK(memcmp(m.w.lm_head, m.w.embed, 64 * sizeof(float)) != 0);   /* untied: its own draw */
    model_free(&m);
}

static void test_tied_draws_no_lm_head(void)
{
    struct model_config tied = cfg;
    tied.tied_embeddings = 1;
    struct model a, b;
    CHECK_INT(model_alloc(&a, &tied), 0);
    CHECK_INT(model_alloc(&b, &cfg), 0);
    model_init_random(&a, 3, 0.02);
    model_init_random(&b, 3, 0.02);
    CHECK(a.w.lm_head == a.w.embed);
    /* the same stream up to final_norm: everything but the untied lm_head agrees */
    CHECK(memcmp(a.slab, b.slab, a.n_params * sizeof(float)) == 0);
    model_free(&a);
    model_free(&b);
}

int main(void)
{
    TEST(test_deterministic_by_seed);
    TEST(test_shapes_and_statistics);
    TEST(test_tied_draws_no_lm_head);
    return test_report();
}
