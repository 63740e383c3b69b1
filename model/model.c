/* model.c - configuration checks, the weight slab and tensor views (see model.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>

#include "error.h"
#include "model.h"
#include "ops.h"

static const char *const proj_names[TK_COUNT] = {
    [TK_WQ] = "q_proj", [TK_WK] = "k_proj", [TK_WV] = "v_proj", [TK_WO] = "o_proj",
    [TK_GATE] = "gate_proj", [TK_UP] = "up_proj", [TK_DOWN] = "down_proj",
};

int tensor_kind_is_per_layer(enum tensor_kind k)
{
    return k != TK_EMBED && k != TK_FINAL_NORM && k != TK_LM_HEAD;
}

const char *tensor_kind_proj_name(enum tensor_kind k)
{
    return k < TK_COUNT ? proj_names[k] : NULL;
}

int model_head_size(const struct model_config *c)
{
    return c->head_dim > 0 ? c->head_dim : (c->n_heads > 0 ? c->dim / c->n_heads : 0);
}

int model_q_dim(const struct model_config *c)
{
    return model_head_size(c) * c->n_heads;
}

int model_has_kind(const struct model_config *c, enum tensor_kind k)
{
    switch (k) {
    case TK_BQ: case TK_BK: case TK_BV: return c->qkv_bias != 0;
    case TK_BO: return c->o_bias != 0;
    case TK_Q_NORM: case TK_K_NORM: return c->qk_norm != 0;
    default: return k < TK_COUNT;
    }
}

void model_tensor_shape(const struct model_config *c, enum tensor_kind k, size_t *rows,
                        size_t *cols)
{
    size_t C = (size_t)c->dim, H = (size_t)c->hidden_dim, V = (size_t)c->vocab_size;
    size_t HS = (size_t)model_head_size(c), QD = HS * (size_t)c->n_heads;
    size_t KV = HS * (size_t)c->n_kv_heads;
    size_t r = 0, n = 0;
    switch (k) {
    case TK_EMBED: case TK_LM_HEAD: r = V; n = C; break;
    case TK_WQ: r = QD; n = C; break;
    case TK_WO: r = C; n = QD; break;
    case TK_WK: case TK_WV: r = KV; n = C; break;
    case TK_GATE: case TK_UP: r = H; n = C; break;
    case TK_DOWN: r = C; n = H; break;
    case TK_BQ: r = QD; n = 1; break;
    case TK_BK: case TK_BV: r = KV; n = 1; break;
    case TK_Q_NORM: case TK_K_NORM: r = HS; n = 1; break;
    default: r = C; n = 1; break;
    }
    if (!model_has_kind(c, k))
        r = 0;
    *rows = r;
    *cols = n;
}

/* Llama 3 (rope_type "llama3"): frequencies of wavelength beyond
 * original_max_pos / low_freq_factor divided by factor, below
 * original_max_pos / high_freq_factor kept, and in between interpolated. */
static double llama3_freq(const struct model_config *c, double freq)
{
    double old = c->rope_original_max_pos, lo = c->rope_low_freq_factor;
    double hi = c->rope_high_freq_factor, factor = c->rope_factor;
    double wavelen = 2.0 * M_PI / freq;
    if (wavelen < old / hi)
        return freq;
    if (wavelen > old / lo)
        return freq / factor;
    double smooth = (old / wavelen - lo) / (hi - lo);
    return (1.0 - smooth) * freq / factor + smooth * freq;
}

void model_rope_table(const struct model_config *c, float *cos_t, float *sin_t, int T)
{
    int HS = model_head_size(c), half = HS / 2;
    if (c->rope_scaling != ROPE_LLAMA3) {
        rope_table(cos_t, sin_t, T, HS, c->rope_theta);
        return;
    }
    for (int i = 0; i < half; i++) {
        double freq = llama3_freq(c, pow((double)c->rope_theta, -2.0 * i / HS));
        for (int t = 0; t < T; t++) {
            cos_t[(size_t)t * half + i] = (float)cos(t * freq);
            sin_t[(size_t)t * half + i] = (float)sin(t * freq);
        }
    }
}

/* Floats the slab holds for kind k over all layers (0 for a tied lm_head). */
static size_t kind_size(const struct model_config *c, enum tensor_kind k)
{
    if (k == TK_LM_HEAD && c->tied_embeddings)
        return 0;
    size_t r, n;
    model_tensor_shape(c, k, &r, &n);
    return r * n * (tensor_kind_is_per_layer(k) ? (size_t)c->n_layers : 1);
}

int model_config_check(const struct model_config *c, char *why, size_t errlen)
{
    const char *bad = NULL;
    if (c->dim <= 0 || c->hidden_dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 ||
        c->n_kv_heads <= 0 || c->vocab_size <= 0 || c->max_seq_len <= 0)
        bad = "every dimension must be positive";
    else if (c->dim > 65536 || c->hidden_dim > 262144 || c->n_layers > 1024 ||
             c->vocab_size > 1 << 22 || c->max_seq_len > 1 << 20)
        bad = "a dimension is implausibly large";
    else if (c->head_dim < 0 || c->head_dim > 4096)
        bad = "head_dim must be positive and at most 4096";
    else if (c->head_dim == 0 && c->dim % c->n_heads != 0)
        bad = "dim must be a multiple of n_heads";
    else if (c->n_heads % c->n_kv_heads != 0)
        bad = "n_heads must be a multiple of n_kv_heads";
    else if (model_head_size(c) % 2 != 0 || model_head_size(c) == 0)
        bad = "the head size must be even (RoPE rotates pairs)";
    else if (!(c->norm_eps > 0) || !(c->rope_theta > 0))
        bad = "norm_eps and rope_theta must be positive";
    else if (c->rope_scaling == ROPE_LLAMA3 &&
             (!(c->rope_factor > 0) || !(c->rope_low_freq_factor > 0) ||
              !(c->rope_high_freq_factor > c->rope_low_freq_factor) ||
              c->rope_original_max_pos <= 0))
        bad = "llama3 rope_scaling needs factor > 0, 0 < low_freq_factor < high_freq_factor "
              "and original_max_position_embeddings > 0";
    else if (c->rope_scaling != ROPE_DEFAULT && c->rope_scaling != ROPE_LLAMA3)
        bad = "unknown rope scaling";
    else if (c->sliding_window < 0)
        bad = "sliding_window must not be negative";
    if (bad && why)
        snprintf(why, errlen, "%s", bad);
    return bad ? -1 : 0;
}

size_t model_config_param_count(const struct model_config *c)
{
    size_t n = 0;
    for (int k = 0; k < TK_COUNT; k++)
        n += kind_size(c, (enum tensor_kind)k);
    return n;
}

int model_alloc(struct model *m, const struct model_config *cfg)
{
    memset(m, 0, sizeof(*m));
    if (model_config_check(cfg, NULL, 0) < 0)
        return -1;
    m->cfg = *cfg;
    m->n_params = model_config_param_count(cfg);
    m->slab = xcalloc(m->n_params, sizeof(float));
    float **fields[TK_COUNT] = { &m->w.embed, &m->w.attn_norm, &m->w.wq, &m->w.wk, &m->w.wv,
                                 &m->w.wo, &m->w.mlp_norm, &m->w.gate, &m->w.up, &m->w.down,
                                 &m->w.final_norm, &m->w.lm_head, &m->w.bq, &m->w.bk,
                                 &m->w.bv, &m->w.bo, &m->w.q_norm, &m->w.k_norm };
    float *p = m->slab;
    for (int k = 0; k < TK_COUNT; k++) {
        *fields[k] = p;
        p += kind_size(cfg, (enum tensor_kind)k);
    }
    if (cfg->tied_embeddings)
        m->w.lm_head = m->w.embed;
    return 0;
}

void model_drop_quant(struct model *m)
{
    if (!m->qw)
        return;
    for (size_t i = 0; i < (size_t)TK_COUNT * (size_t)m->cfg.n_layers; i++)
        if (!(i == (size_t)TK_LM_HEAD * (size_t)m->cfg.n_layers && m->cfg.tied_embeddings))
            free(m->qw[i].data);   /* a tied lm_head shares the embedding's blocks */
    free(m->qw);
    m->qw = NULL;
}

const struct qweight *model_qweight(const struct model *m, enum tensor_kind k, int layer)
{
    if (!m->qw)
        return NULL;
    const struct qweight *q = &m->qw[(size_t)k * (size_t)m->cfg.n_layers +
                                     (size_t)(tensor_kind_is_per_layer(k) ? layer : 0)];
    return q->type != 0 && q->data ? q : NULL;
}

void model_free(struct model *m)
{
    model_drop_quant(m);
    free(m->slab);
    memset(m, 0, sizeof(*m));
}

struct tensor_ref model_tensor(const struct model *m, enum tensor_kind k, int layer)
{
    const float *base[TK_COUNT] = { m->w.embed, m->w.attn_norm, m->w.wq, m->w.wk, m->w.wv,
                                    m->w.wo, m->w.mlp_norm, m->w.gate, m->w.up, m->w.down,
                                    m->w.final_norm, m->w.lm_head, m->w.bq, m->w.bk,
                                    m->w.bv, m->w.bo, m->w.q_norm, m->w.k_norm };
    struct tensor_ref t = { .kind = k, .layer = tensor_kind_is_per_layer(k) ? layer : -1 };
    model_tensor_shape(&m->cfg, k, &t.rows, &t.cols);
    size_t offset = t.layer >= 0 ? (size_t)t.layer * t.rows * t.cols : 0;
    t.data = (float *)base[k] + offset;
    return t;
}

void model_tensor_name(enum tensor_kind k, int layer, char *buf, size_t len)
{
    static const char *const names[TK_COUNT] = {
        [TK_EMBED] = "model.embed_tokens.weight",
        [TK_ATTN_NORM] = "input_layernorm.weight",
        [TK_WQ] = "self_attn.q_proj.weight", [TK_WK] = "self_attn.k_proj.weight",
        [TK_WV] = "self_attn.v_proj.weight", [TK_WO] = "self_attn.o_proj.weight",
        [TK_MLP_NORM] = "post_attention_layernorm.weight",
        [TK_GATE] = "mlp.gate_proj.weight", [TK_UP] = "mlp.up_proj.weight",
        [TK_DOWN] = "mlp.down_proj.weight",
        [TK_FINAL_NORM] = "model.norm.weight", [TK_LM_HEAD] = "lm_head.weight",
        [TK_BQ] = "self_attn.q_proj.bias", [TK_BK] = "self_attn.k_proj.bias",
        [TK_BV] = "self_attn.v_proj.bias", [TK_BO] = "self_attn.o_proj.bias",
        [TK_Q_NORM] = "self_attn.q_norm.weight", [TK_K_NORM] = "self_attn.k_norm.weight",
    };
    if (tensor_kind_is_per_layer(k))
        snprintf(buf, len, "model.layers.%d.%s", layer, names[k]);
    else
        snprintf(buf, len, "%s", names[k]);
}
