/* init.c - random initialization of a model's weights (see init.h). */
#include <math.h>

#include "init.h"
#include "rng.h"

/* Apart from the data order (0x6A09...) and LoRA (0xD1B5...) streams. */
#define INIT_STREAM 0xBB67AE8584CAA73Bull

static int kind_is_norm(enum tensor_kind k)
{
    return k == TK_ATTN_NORM || k == TK_MLP_NORM || k == TK_FINAL_NORM || k == TK_Q_NORM ||
           k == TK_K_NORM;
}

double model_init_std(const struct model_config *cfg, enum tensor_kind k, double std)
{
    if (kind_is_norm(k))
        return 0.0;
    if (k == TK_BQ || k == TK_BK || k == TK_BV || k == TK_BO)
        return -1.0;
    if (k == TK_WO || k == TK_DOWN)
        return std / sqrt(2.0 * cfg->n_layers);
    return std;
}

static void fill(float *w, size_t n, double sd, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++)
        w[i] = sd > 0 ? (float)(sd * rng_normal(rng)) : sd == 0 ? 1.0f : 0.0f;
}

void model_init_random(struct model *m, uint64_t seed, double std)
{
    const struct model_config *c = &m->cfg;
    uint64_t rng = seed ^ INIT_STREAM;
    for (int k = 0; k < TK_COUNT; k++) {
        if (k == TK_LM_HEAD && c->tied_embeddings)
            continue;
        int layers = tensor_kind_is_per_layer((enum tensor_kind)k) ? c->n_layers : 1;
        double sd = model_init_std(c, (enum tensor_kind)k, std);
        for (int l = 0; l < layers; l++) {
            struct tensor_ref t = model_tensor(m, (enum tensor_kind)k, l);
            fill(t.data, t.rows * t.cols, sd, &rng);
        }
    }
}
