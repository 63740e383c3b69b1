/*
 * model.h - a llama-style decoder's configuration and weights, shared by the
 * trainer and the evaluator (one forward implementation, not two).
 *
 * Weights live in one slab; named fields point into it, each tensor stacked over
 * layers. Every matrix is row-major (out, in), the layout of both Hugging Face
 * Linear weights and llama2.c, so y[i] = sum_j W[i*in + j] * x[j].
 *
 * RoPE convention inside mainline is Hugging Face's (rotate_half: element i pairs
 * with i + head_dim/2). llama2.c checkpoints rotate adjacent pairs; their q and k
 * rows are permuted on load so both formats run through the same code.
 *
 * Dimension names in numeric code: V vocab, C dim, H hidden_dim, L layers,
 * NH heads, NKV kv heads, HS head size (head_dim, C / NH unless config.json says
 * otherwise), QD query dim (HS * NH, C for every llama2.c model), KV kv dim (HS * NKV).
 *
 * Hugging Face architectures beyond the plain Llama (model_io.c reads them from
 * config.json): q/k/v (and o) projection biases (Qwen2, attention_bias), Qwen3's
 * per-head RMSNorm of q and k before RoPE, head_dim != C / NH, Llama 3 RoPE
 * frequency scaling. Their tensors are kinds after TK_LM_HEAD that hold no storage
 * (zero rows) when the config does not use them, so the slab of a plain Llama is
 * laid out exactly as before.
 *
 * Ownership: model_alloc() allocates the slab, model_free() releases it (and
 * accepts a zeroed struct). Tensor pointers are borrowed views into the slab.
 */
#ifndef MAINLINE_MODEL_H
#define MAINLINE_MODEL_H

#include <stddef.h>
#include <stdint.h>

struct model_config {
    int dim;              /* C */
    int hidden_dim;       /* H, SwiGLU inner size */
    int n_layers;         /* L */
    int n_heads;          /* NH */
    int n_kv_heads;       /* NKV, divides NH */
    int vocab_size;       /* V */
    int max_seq_len;      /* longest sequence RoPE is used for */
    float norm_eps;       /* RMSNorm epsilon (1e-5 for llama2.c models) */
    float rope_theta;     /* 10000 for llama2.c models */
    int tied_embeddings;  /* lm_head shares the token embedding */
    int bos_id, eos_id;   /* -1 when the model has none */
    /* Hugging Face architectures (all 0 for llama2.c and plain Llama models). */
    int arch;             /* enum model_arch: what config.json's model_type was */
    int head_dim;         /* HS; 0 means dim / n_heads */
    int qkv_bias;         /* q_proj, k_proj, v_proj have biases (Qwen2, attention_bias) */
    int o_bias;           /* o_proj has a bias (attention_bias) */
    int qk_norm;          /* per-head RMSNorm of q and k before RoPE (Qwen3) */
    int rope_scaling;     /* enum rope_scaling_kind */
    float rope_factor, rope_low_freq_factor, rope_high_freq_factor;   /* llama3 */
    int rope_original_max_pos;   /* llama3 original_max_position_embeddings */
    int sliding_window;   /* Mistral: > 0 refuses sequences longer than it (see model_io.h) */
};

enum model_arch { ARCH_LLAMA, ARCH_QWEN2, ARCH_QWEN3, ARCH_MISTRAL };
enum rope_scaling_kind { ROPE_DEFAULT, ROPE_LLAMA3 };

/* Every tensor kind, in slab order. */
enum tensor_kind {
    TK_EMBED,        /* (V, C) */
    TK_ATTN_NORM,    /* (L, C) */
    TK_WQ,           /* (L, QD, C)  q_proj */
    TK_WK,           /* (L, KV, C)  k_proj */
    TK_WV,           /* (L, KV, C)  v_proj */
    TK_WO,           /* (L, C, QD)  o_proj */
    TK_MLP_NORM,     /* (L, C) */
    TK_GATE,         /* (L, H, C)   gate_proj (llama2.c w1) */
    TK_UP,           /* (L, H, C)   up_proj (llama2.c w3) */
    TK_DOWN,         /* (L, C, H)   down_proj (llama2.c w2) */
    TK_FINAL_NORM,   /* (C) */
    TK_LM_HEAD,      /* (V, C); no storage of its own when tied */
    /* present only when the config says so (model_has_kind), else 0 rows: */
    TK_BQ,           /* (L, QD)  q_proj.bias   (qkv_bias) */
    TK_BK,           /* (L, KV)  k_proj.bias   (qkv_bias) */
    TK_BV,           /* (L, KV)  v_proj.bias   (qkv_bias) */
    TK_BO,           /* (L, C)   o_proj.bias   (o_bias) */
    TK_Q_NORM,       /* (L, HS)  q_norm.weight (qk_norm) */
    TK_K_NORM,       /* (L, HS)  k_norm.weight (qk_norm) */
    TK_COUNT
};

struct model_weights {
    float *embed, *attn_norm, *wq, *wk, *wv, *wo, *mlp_norm, *gate, *up, *down;
    float *final_norm, *lm_head;   /* lm_head == embed when tied */
    float *bq, *bk, *bv, *bo, *q_norm, *k_norm;   /* zero-length when absent */
};

/* A 2-D weight kept in a GGUF block format (quant.h's enum quant_type: q8_0 or q4_0)
 * beside its float32 decoding in the slab, for the decoder's quantised products. */
struct qweight {
    int type;             /* enum quant_type; QUANT_F32 (0): not kept, use the slab */
    size_t rows, cols;    /* (out, in) */
    size_t row_bytes;     /* bytes of one row of blocks */
    unsigned char *data;  /* owned: rows * row_bytes */
};

struct model {
    struct model_config cfg;
    struct model_weights w;
    float *slab;          /* owned: every parameter, in tensor_kind order */
    size_t n_params;      /* floats in the slab (lm_head counted once when tied) */
    /* owned, NULL unless loaded from a q8_0/q4_0 GGUF (gguf_read.h): (TK_COUNT, L),
     * kind k layer l at k * L + l (layer 0 for global kinds); the lm_head's entry is
     * the embedding's blocks when tied. Only valid while the slab holds exactly their
     * decoding: whoever changes the weights calls model_drop_quant(). */
    struct qweight *qw;
};

/* One tensor of one layer (or a global one), as a view into the slab. */
struct tensor_ref {
    enum tensor_kind kind;
    int layer;            /* -1 for embed, final_norm, lm_head */
    size_t rows, cols;    /* cols == 1 for vectors */
    float *data;
};

/* 0 when the configuration is usable, else -1 and a reason in why (errlen bytes). */
int model_config_check(const struct model_config *cfg, char *why, size_t errlen);
size_t model_config_param_count(const struct model_config *cfg);

/* Allocate zeroed weights for cfg (which must pass model_config_check). */
int model_alloc(struct model *m, const struct model_config *cfg);
void model_free(struct model *m);
/* Forget m->qw (the slab's float32 weights stay): after the weights change. */
void model_drop_quant(struct model *m);
/* m->qw's entry for kind k of layer l, or NULL when that weight is float32 only. */
const struct qweight *model_qweight(const struct model *m, enum tensor_kind k, int layer);

/* HS (head_dim, else dim / n_heads) and QD (HS * n_heads). */
int model_head_size(const struct model_config *cfg);
int model_q_dim(const struct model_config *cfg);
/* Does a model with cfg have tensors of kind k? (the lm_head: yes, even when tied) */
int model_has_kind(const struct model_config *cfg, enum tensor_kind k);
/* The RoPE tables cos, sin (T, HS/2) of cfg: rope_table() of ops.h, with the Llama 3
 * frequency scaling when cfg->rope_scaling is ROPE_LLAMA3. */
void model_rope_table(const struct model_config *cfg, float *cos_t, float *sin_t, int T);

/* Rows and columns of one layer's tensor of kind k (cols 1 for vectors; rows 0 when
 * the config has no such tensor). */
void model_tensor_shape(const struct model_config *cfg, enum tensor_kind k, size_t *rows,
                        size_t *cols);

/* The tensor of kind k in layer `layer` (ignored for global kinds). */
struct tensor_ref model_tensor(const struct model *m, enum tensor_kind k, int layer);

/* Hugging Face name of a tensor: "model.layers.3.self_attn.q_proj.weight",
 * "model.embed_tokens.weight", "lm_head.weight"... into buf. */
void model_tensor_name(enum tensor_kind k, int layer, char *buf, size_t len);
/* Short projection name for LoRA targets ("q_proj"...), NULL for non-projections. */
const char *tensor_kind_proj_name(enum tensor_kind k);
int tensor_kind_is_per_layer(enum tensor_kind k);

#endif
