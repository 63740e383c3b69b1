/*
 * model_io.c - model_load() and model_save() (see model_io.h): llama2.c
 * checkpoints and the Hugging Face layouts of Llama, Qwen2, Qwen3 and Mistral in
 * (one safetensors file or a sharded set with model.safetensors.index.json),
 * Hugging Face layout out. What these architectures can say in config.json that
 * mainline's forward pass does not do (another activation, MoE, rope types other
 * than default and llama3, MLP biases, Qwen's use_sliding_window) is refused with
 * a message naming config.json and the key.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "gguf_read.h"
#include "hf_index.h"
#include "json_file.h"
#include "model_io.h"
#include "safetensors.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "model_io.c assumes a little-endian host"
#endif

#define HF_WEIGHTS "model.safetensors"
#define HF_INDEX HF_INDEX_NAME
#define HF_CONFIG "config.json"
#define NAME_MAX_LEN 128

/* Keys model_save() writes to config.json itself, in the order it writes them. */
static const char *const config_keys[] = {
    "architectures", "model_type", "hidden_size", "intermediate_size",
    "num_attention_heads", "num_key_value_heads", "num_hidden_layers", "vocab_size",
    "max_position_embeddings", "hidden_act", "rms_norm_eps", "rope_theta",
    "tie_word_embeddings", "bos_token_id", "eos_token_id", "torch_dtype",
    "head_dim", "attention_bias", "rope_scaling",
};

/* model_type, architectures[0] of each enum model_arch. */
static const char *const arch_names[][2] = {
    [ARCH_LLAMA] = { "llama", "LlamaForCausalLM" },
    [ARCH_QWEN2] = { "qwen2", "Qwen2ForCausalLM" },
    [ARCH_QWEN3] = { "qwen3", "Qwen3ForCausalLM" },
    [ARCH_MISTRAL] = { "mistral", "MistralForCausalLM" },
};

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int kind_is_vector(enum tensor_kind k)
{
    return k == TK_ATTN_NORM || k == TK_MLP_NORM || k == TK_FINAL_NORM || k >= TK_BQ;
}

/* Floats of kind k over all layers (what a llama2.c file stores for it). */
static size_t kind_floats(const struct model *m, enum tensor_kind k)
{
    struct tensor_ref t = model_tensor(m, k, 0);
    return t.rows * t.cols * (tensor_kind_is_per_layer(k) ? (size_t)m->cfg.n_layers : 1);
}

int model_load(const char *path, struct model *m, struct strbuf *err)
{
    if (gguf_is_file(path))
        return model_load_gguf(path, m, err);
    if (has_suffix(path, ".bin"))
        return model_load_llama2c(path, m, err);
    return model_load_hf(path, m, err);
}

/* ---- llama2.c checkpoints ---- */

/*
 * RoPE layout. llama2.c rotates adjacent pairs (2i, 2i+1) of each head by angle
 * pos * theta^(-2i/HS); mainline (like Hugging Face) rotates rotate_half pairs
 * (i, i + HS/2) by the same angle. Reordering each head's output rows of wq and
 * wk so that new row i = old row 2i and new row HS/2 + i = old row 2i + 1 makes
 * rotate_half on the permuted projection equal llama2.c's rotation on the
 * original, up to that same reordering of q and k. Since q and k get the same
 * reordering inside each head, every q.k score - and so the whole model - is
 * unchanged. This is the inverse of the `permute` in Hugging Face's
 * convert_llama_weights_to_hf.py. wv and wo are untouched.
 */
static void permute_heads_to_rotate_half(float *w, int n_heads, int hs, size_t cols)
{
    float *tmp = xmalloc((size_t)hs * cols * sizeof(float));
    for (int h = 0; h < n_heads; h++) {
        float *head = w + (size_t)h * (size_t)hs * cols;
        for (int i = 0; i < hs / 2; i++) {
            memcpy(tmp + (size_t)i * cols, head + (size_t)(2 * i) * cols, cols * sizeof(float));
            memcpy(tmp + (size_t)(hs / 2 + i) * cols, head + (size_t)(2 * i + 1) * cols,
                   cols * sizeof(float));
        }
        memcpy(head, tmp, (size_t)hs * cols * sizeof(float));
    }
    free(tmp);
}

static void llama2c_permute_qk(struct model *m)
{
    const struct model_config *c = &m->cfg;
    int hs = c->dim / c->n_heads;
    for (int l = 0; l < c->n_layers; l++) {
        struct tensor_ref q = model_tensor(m, TK_WQ, l), k = model_tensor(m, TK_WK, l);
        permute_heads_to_rotate_half(q.data, c->n_heads, hs, q.cols);
        permute_heads_to_rotate_half(k.data, c->n_kv_heads, hs, k.cols);
    }
}

/* The config a llama2.c header describes (vocab < 0: untied, wcls at the end). */
static int llama2c_config(const char *path, const int32_t hdr[7], struct model_config *c,
                          struct strbuf *err)
{
    char why[160];
    memset(c, 0, sizeof(*c));
    c->dim = hdr[0];
    c->hidden_dim = hdr[1];
    c->n_layers = hdr[2];
    c->n_heads = hdr[3];
    c->n_kv_heads = hdr[4];
    c->vocab_size = hdr[5] == INT32_MIN ? 0 : abs(hdr[5]);
    c->tied_embeddings = hdr[5] > 0;
    c->max_seq_len = hdr[6];
    c->norm_eps = LLAMA2C_NORM_EPS;
    c->rope_theta = LLAMA2C_ROPE_THETA;
    c->bos_id = LLAMA2C_BOS_ID;
    c->eos_id = LLAMA2C_EOS_ID;
    if (model_config_check(c, why, sizeof(why)) < 0) {
        sb_addf(err, "%s: not a llama2.c checkpoint: %s", path, why);
        return -1;
    }
    return 0;
}

/* Bytes a llama2.c file with this config has: header, weights, two RoPE tables. */
static size_t llama2c_file_size(const struct model_config *c)
{
    size_t rope = (size_t)c->max_seq_len * (size_t)(c->dim / c->n_heads);
    return 7 * sizeof(int32_t) + (model_config_param_count(c) + rope) * sizeof(float);
}

static int read_floats(FILE *fp, float *dst, size_t n)
{
    return fread(dst, sizeof(float), n, fp) == n ? 0 : -1;
}

/* The weights in file order: w1, w2, w3 are gate, down, up. */
static int llama2c_read_weights(FILE *fp, struct model *m)
{
    static const enum tensor_kind order[] = {
        TK_EMBED, TK_ATTN_NORM, TK_WQ, TK_WK, TK_WV, TK_WO, TK_MLP_NORM,
        TK_GATE, TK_DOWN, TK_UP, TK_FINAL_NORM,
    };
    const struct model_config *c = &m->cfg;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        if (read_floats(fp, model_tensor(m, order[i], 0).data, kind_floats(m, order[i])) < 0)
            return -1;
    }
    long rope_bytes = (long)c->max_seq_len * (c->dim / c->n_heads) * (long)sizeof(float);
    if (fseek(fp, rope_bytes, SEEK_CUR) < 0)
        return -1;
    if (!c->tied_embeddings)
        return read_floats(fp, m->w.lm_head, kind_floats(m, TK_LM_HEAD));
    return 0;
}

static int llama2c_open(const char *path, FILE **fp, int32_t hdr[7], off_t *size,
                        struct strbuf *err)
{
    struct stat st;
    *fp = fopen(path, "rb");
    if (!*fp) {
        sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    const char *bad = NULL;
    if (fstat(fileno(*fp), &st) < 0 || !S_ISREG(st.st_mode))
        bad = "not a regular file";
    else if (fread(hdr, sizeof(int32_t), 7, *fp) != 7)
        bad = "truncated llama2.c header (need 28 bytes)";
    if (bad) {
        sb_addf(err, "%s: %s", path, bad);
        fclose(*fp);
        *fp = NULL;
        return -1;
    }
    *size = st.st_size;
    return 0;
}

int model_load_llama2c(const char *path, struct model *m, struct strbuf *err)
{
    FILE *fp;
    int32_t hdr[7];
    off_t size;
    struct model_config cfg;
    memset(m, 0, sizeof(*m));
    if (llama2c_open(path, &fp, hdr, &size, err) < 0)
        return -1;
    int rc = llama2c_config(path, hdr, &cfg, err);
    if (rc == 0 && (size_t)size != llama2c_file_size(&cfg)) {
        sb_addf(err, "%s: file is %lld bytes, a llama2.c checkpoint with this header has %zu",
                path, (long long)size, llama2c_file_size(&cfg));
        rc = -1;
    }
    if (rc == 0 && model_alloc(m, &cfg) < 0) {
        sb_addf(err, "%s: cannot allocate the model", path);
        rc = -1;
    }
    if (rc == 0 && llama2c_read_weights(fp, m) < 0) {
        sb_addf(err, "%s: cannot read the weights: %s", path,
                ferror(fp) ? strerror(errno) : "unexpected end of file");
        model_free(m);
        rc = -1;
    }
    fclose(fp);
    if (rc == 0)
        llama2c_permute_qk(m);
    return rc;
}

/* ---- Hugging Face config.json ---- */

void model_hf_paths(const char *path, char **config_json, char **safetensors)
{
    if (has_suffix(path, ".safetensors") || has_suffix(path, ".safetensors.index.json")) {
        char *dir = path_dirname(path);
        *config_json = path_join(dir, HF_CONFIG);
        *safetensors = xstrdup(path);
        free(dir);
    } else {
        *config_json = path_join(path, HF_CONFIG);
        *safetensors = path_join(path, HF_WEIGHTS);
    }
}

static int load_json_object(const char *path, json_t **out, struct strbuf *err)
{
    return json_file_load_object(path, out, err) == JSON_FILE_OK ? 0 : -1;
}

/* An int key; absent (or null) -> def, or an error when def is INT_MIN (required). */
static int cfg_int(json_t *root, const char *key, int def, int *out, const char **bad)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        *out = def;
        if (def == INT_MIN)
            *bad = key;
        return def == INT_MIN ? -1 : 0;
    }
    if (json_is_array(v))              /* eos_token_id may be a list: take the first */
        v = json_array_get(v, 0);
    if (!json_is_integer(v) || json_integer_value(v) < INT_MIN ||
        json_integer_value(v) > INT_MAX) {
        *bad = key;
        return -1;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

static int cfg_float(json_t *root, const char *key, float def, float *out, const char **bad)
{
    json_t *v = json_object_get(root, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_number(v)) {
        *bad = key;
        return -1;
    }
    *out = (float)json_number_value(v);
    return 0;
}

/* A boolean key: absent or null -> 0; -1 when it is something else. */
static int cfg_bool(json_t *root, const char *key, int *out, const char **bad)
{
    json_t *v = json_object_get(root, key);
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v)) {
        *bad = key;
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

/* model_type -> c->arch and what the architecture implies; NULL or a reason. */
static const char *cfg_arch(json_t *root, struct model_config *c, char *why, size_t len)
{
    json_t *mt = json_object_get(root, "model_type");
    if (!mt || json_is_null(mt)) {   /* older plain Llama configs */
        c->arch = ARCH_LLAMA;
        return NULL;
    }
    if (!json_is_string(mt))
        return "\"model_type\" is not a string";
    for (int a = 0; a < (int)(sizeof(arch_names) / sizeof(arch_names[0])); a++)
        if (strcmp(json_string_value(mt), arch_names[a][0]) == 0) {
            c->arch = a;
            c->qkv_bias = a == ARCH_QWEN2;   /* Qwen2's q/k/v always have biases */
            c->qk_norm = a == ARCH_QWEN3;
            return NULL;
        }
    snprintf(why, len, "\"model_type\": \"%s\" is not supported (llama, qwen2, qwen3, "
             "mistral)", json_string_value(mt));
    return why;
}

/* rope_scaling: null, {"rope_type" (or "type"): "default"} or llama3's. */
static const char *cfg_rope_scaling(json_t *root, struct model_config *c, char *why,
                                    size_t len)
{
    json_t *rs = json_object_get(root, "rope_scaling");
    if (!rs || json_is_null(rs))
        return NULL;
    json_t *type = json_object_get(rs, "rope_type");
    if (!type)
        type = json_object_get(rs, "type");
    if (!json_is_object(rs) || !json_is_string(type))
        return "\"rope_scaling\" must be null or an object with a \"rope_type\"";
    const char *t = json_string_value(type);
    if (strcmp(t, "default") == 0)
        return NULL;
    if (strcmp(t, "llama3") != 0) {
        snprintf(why, len, "\"rope_scaling\": rope_type \"%s\" is not supported (default, "
                 "llama3)", t);
        return why;
    }
    const char *bad = NULL;
    c->rope_scaling = ROPE_LLAMA3;
    if (cfg_float(rs, "factor", 8.0f, &c->rope_factor, &bad) < 0 ||
        cfg_float(rs, "low_freq_factor", 1.0f, &c->rope_low_freq_factor, &bad) < 0 ||
        cfg_float(rs, "high_freq_factor", 4.0f, &c->rope_high_freq_factor, &bad) < 0 ||
        cfg_int(rs, "original_max_position_embeddings", 8192, &c->rope_original_max_pos,
                &bad) < 0) {
        snprintf(why, len, "\"rope_scaling\": \"%s\" is not a number", bad);
        return why;
    }
    return NULL;
}

/* The architecture's options beyond a plain Llama, and what mainline refuses. */
static const char *cfg_arch_options(json_t *root, struct model_config *c, char *why,
                                    size_t len)
{
    json_t *act = json_object_get(root, "hidden_act");
    const char *bad = NULL, *r;
    int attn_bias = 0, mlp_bias = 0, use_sw = 0;
    if ((r = cfg_arch(root, c, why, len)) != NULL)
        return r;
    if (act && !json_is_null(act) && (!json_is_string(act) ||
                                      strcmp(json_string_value(act), "silu") != 0))
        return "\"hidden_act\" other than \"silu\" is not supported";
    if ((r = cfg_rope_scaling(root, c, why, len)) != NULL)
        return r;
    if (cfg_bool(root, "attention_bias", &attn_bias, &bad) < 0 ||
        cfg_bool(root, "mlp_bias", &mlp_bias, &bad) < 0 ||
        cfg_bool(root, "use_sliding_window", &use_sw, &bad) < 0 ||
        cfg_int(root, "head_dim", 0, &c->head_dim, &bad) < 0) {
        snprintf(why, len, "\"%s\" is not a %s", bad,
                 strcmp(bad, "head_dim") == 0 ? "number" : "boolean");
        return why;
    }
    if (mlp_bias)
        return "\"mlp_bias\": true is not supported";
    if (attn_bias && c->arch != ARCH_QWEN2) {
        c->qkv_bias = 1;
        c->o_bias = 1;
    }
    if (c->head_dim == c->dim / (c->n_heads > 0 ? c->n_heads : 1) &&
        c->dim % (c->n_heads > 0 ? c->n_heads : 1) == 0)
        c->head_dim = 0;   /* the default, as llama2.c and older configs say */
    static const char *const moe[] = { "num_experts", "num_local_experts", "n_routed_experts" };
    for (size_t i = 0; i < sizeof(moe) / sizeof(moe[0]); i++) {
        json_t *v = json_object_get(root, moe[i]);
        if (v && json_is_integer(v) && json_integer_value(v) > 0) {
            snprintf(why, len, "\"%s\": mixture-of-experts models are not supported", moe[i]);
            return why;
        }
    }
    if (c->arch == ARCH_MISTRAL) {
        int sw = 0;
        if (cfg_int(root, "sliding_window", 0, &sw, &bad) < 0 || sw < 0)
            return "\"sliding_window\" is not a positive integer or null";
        c->sliding_window = sw;
    } else if (use_sw) {
        return "\"use_sliding_window\": true is not supported";
    }
    return NULL;
}

static int hf_config(const char *path, json_t *root, struct model_config *c, struct strbuf *err)
{
    const char *bad = NULL;
    char why[200];
    json_t *tie = json_object_get(root, "tie_word_embeddings");
    memset(c, 0, sizeof(*c));
    if (cfg_int(root, "hidden_size", INT_MIN, &c->dim, &bad) < 0 ||
        cfg_int(root, "intermediate_size", INT_MIN, &c->hidden_dim, &bad) < 0 ||
        cfg_int(root, "num_hidden_layers", INT_MIN, &c->n_layers, &bad) < 0 ||
        cfg_int(root, "num_attention_heads", INT_MIN, &c->n_heads, &bad) < 0 ||
        cfg_int(root, "num_key_value_heads", c->n_heads, &c->n_kv_heads, &bad) < 0 ||
        cfg_int(root, "vocab_size", INT_MIN, &c->vocab_size, &bad) < 0 ||
        cfg_int(root, "max_position_embeddings", INT_MIN, &c->max_seq_len, &bad) < 0 ||
        cfg_float(root, "rms_norm_eps", 1e-6f, &c->norm_eps, &bad) < 0 ||
        cfg_float(root, "rope_theta", 10000.0f, &c->rope_theta, &bad) < 0 ||
        cfg_int(root, "bos_token_id", -1, &c->bos_id, &bad) < 0 ||
        cfg_int(root, "eos_token_id", -1, &c->eos_id, &bad) < 0) {
        sb_addf(err, "%s: \"%s\" is missing or not a number of the right kind", path, bad);
        return -1;
    }
    if (tie && !json_is_boolean(tie)) {
        sb_addf(err, "%s: \"tie_word_embeddings\" is not a boolean", path);
        return -1;
    }
    c->tied_embeddings = json_is_true(tie);
    const char *unsupported = cfg_arch_options(root, c, why, sizeof(why));
    if (unsupported) {
        sb_addf(err, "%s: %s", path, unsupported);
        return -1;
    }
    return 0;
}

/* ---- Hugging Face weights ---- */

/* One tensor of the Hugging Face layout: which slab view, its name and shape. */
struct hf_tensor {
    enum tensor_kind kind;
    int layer;
    char name[NAME_MAX_LEN];
    size_t shape[2];
    int ndim;                    /* 1 for the norm vectors, else 2 */
};

/* (rows, cols) of one layer's tensor of kind k. This mirrors tensor_shape() in
 * model.c, which is private; the save/load round-trip tests check they agree. */
static void kind_shape(const struct model_config *c, enum tensor_kind k, size_t shape[2])
{
    model_tensor_shape(c, k, &shape[0], &shape[1]);
}

/* Every tensor a model with config c has, in slab order, into out (room for
 * hf_tensor_cap(c)). Returns the count. */
static size_t hf_tensor_cap(const struct model_config *c)
{
    return (size_t)c->n_layers * TK_COUNT + TK_COUNT;
}

static size_t hf_tensors(const struct model_config *c, struct hf_tensor *out)
{
    size_t n = 0;
    for (int k = 0; k < TK_COUNT; k++) {
        int layers = tensor_kind_is_per_layer((enum tensor_kind)k) ? c->n_layers : 1;
        if (k == TK_LM_HEAD && c->tied_embeddings)
            continue;
        if (!model_has_kind(c, (enum tensor_kind)k))
            continue;
        for (int l = 0; l < layers; l++) {
            struct hf_tensor *t = &out[n++];
            t->kind = (enum tensor_kind)k;
            t->layer = l;
            model_tensor_name(t->kind, l, t->name, sizeof(t->name));
            kind_shape(c, t->kind, t->shape);
            t->ndim = kind_is_vector(t->kind) ? 1 : 2;
        }
    }
    return n;
}

/* The safetensors files a Hugging Face model's weights are in: one, or the shards
 * model.safetensors.index.json names. */
struct hf_files {
    struct sft_file *f;
    size_t n;
};

static void hf_files_free(struct hf_files *h)
{
    for (size_t i = 0; i < h->n; i++)
        sft_free(&h->f[i]);
    free(h->f);
    memset(h, 0, sizeof(*h));
}

/* The file and tensor called name, or NULL. */
static const struct sft_tensor *hf_find(const struct hf_files *h, const char *name,
                                        size_t *file)
{
    for (size_t i = 0; i < h->n; i++) {
        const struct sft_tensor *t = sft_find(&h->f[i], name);
        if (t) {
            *file = i;
            return t;
        }
    }
    return NULL;
}

static const char *path_basename_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Open the shards of index (a model.safetensors.index.json in dir). */
static int hf_open_index(const char *dir, const char *index, struct hf_files *h,
                         struct strbuf *err)
{
    struct hf_index ix;
    const char *key;
    json_t *v;
    if (hf_index_load(index, &ix, err) < 0)
        return -1;
    int rc = 0;
    h->f = xcalloc(ix.n_shards + 1, sizeof(*h->f));
    for (size_t i = 0; rc == 0 && i < ix.n_shards; i++) {
        char *path = path_join(dir, ix.shards[i]);
        rc = sft_open(path, &h->f[i], err);
        free(path);
        if (rc == 0)
            h->n++;
    }
    /* every tensor the index names is in the shard it names */
    json_object_foreach(ix.map, key, v) {
        size_t at;
        if (rc < 0)
            break;
        if (!hf_find(h, key, &at) || strcmp(path_basename_of(h->f[at].path),
                                             json_string_value(v)) != 0) {
            sb_addf(err, "%s: tensor '%s' is not in %s", index, key, json_string_value(v));
            rc = -1;
        }
    }
    hf_index_free(&ix);
    return rc;
}

/* Open the weights of a Hugging Face model path: the shards of the index when the
 * path names a *.safetensors.index.json; st_path when it exists (or the path is a
 * .safetensors file); else the shards of dir/model.safetensors.index.json. */
static int hf_open(const char *path, const char *st_path, struct hf_files *h,
                   struct strbuf *err)
{
    struct stat st;
    memset(h, 0, sizeof(*h));
    if (has_suffix(path, ".safetensors.index.json")) {   /* the index named itself */
        char *dir = path_dirname(path);
        int rc = hf_open_index(dir, path, h, err);
        free(dir);
        if (rc < 0)
            hf_files_free(h);
        return rc;
    }
    char *index = has_suffix(path, ".safetensors") ? NULL : path_join(path, HF_INDEX);
    if (index && stat(st_path, &st) < 0 && errno == ENOENT && stat(index, &st) == 0) {
        int rc = hf_open_index(path, index, h, err);
        free(index);
        if (rc < 0)
            hf_files_free(h);
        return rc;
    }
    free(index);
    h->f = xcalloc(1, sizeof(*h->f));
    if (sft_open(st_path, &h->f[0], err) < 0) {
        hf_files_free(h);
        return -1;
    }
    h->n = 1;
    return 0;
}

/* Before allocating anything: every expected tensor present with its exact shape
 * and a float dtype, and nothing else in the files. */
static int hf_check_tensors(const struct hf_files *h, const struct hf_tensor *want, size_t n,
                            struct strbuf *err)
{
    char **used = xcalloc(h->n, sizeof(*used));
    int rc = 0;
    for (size_t i = 0; i < h->n; i++)
        used[i] = xcalloc(h->f[i].n_tensors + 1, 1);
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t file = 0;
        const struct sft_tensor *st = hf_find(h, want[i].name, &file);
        if (!st) {
            sb_addf(err, "%s: missing tensor '%s'", h->f[0].path, want[i].name);
            rc = -1;
        } else if (sft_check_f32(&h->f[file], st, want[i].shape, want[i].ndim, err) < 0) {
            rc = -1;
        } else {
            used[file][st - h->f[file].tensors] = 1;
        }
    }
    for (size_t fi = 0; rc == 0 && fi < h->n; fi++)
        for (size_t i = 0; rc == 0 && i < h->f[fi].n_tensors; i++) {
            const char *name = h->f[fi].tensors[i].name;
            if (used[fi][i])
                continue;
            sb_addf(err, "%s: unexpected tensor '%s'%s", h->f[fi].path, name,
                    strcmp(name, "lm_head.weight") == 0
                    ? " (config.json says tie_word_embeddings)"
                    : " (not part of a model with this config.json)");
            rc = -1;
        }
    for (size_t i = 0; i < h->n; i++)
        free(used[i]);
    free(used);
    return rc;
}

static int hf_read_tensors(const struct hf_files *h, struct model *m,
                           const struct hf_tensor *want, size_t n, struct strbuf *err)
{
    for (size_t i = 0; i < n; i++) {
        struct tensor_ref t = model_tensor(m, want[i].kind, want[i].layer);
        size_t file = 0;
        const struct sft_tensor *st = hf_find(h, want[i].name, &file);
        if (!st || sft_read_f32(&h->f[file], st, want[i].shape, want[i].ndim, t.data, err) < 0)
            return -1;
    }
    return 0;
}

static int hf_read_weights(const struct hf_files *h, const char *cfg_path,
                           const struct model_config *cfg, struct model *m,
                           struct strbuf *err)
{
    char why[200];
    if (model_config_check(cfg, why, sizeof(why)) < 0) {
        sb_addf(err, "%s: unusable model configuration: %s", cfg_path, why);
        return -1;
    }
    struct hf_tensor *want = xcalloc(hf_tensor_cap(cfg), sizeof(*want));
    size_t n = hf_tensors(cfg, want);
    int rc = hf_check_tensors(h, want, n, err);
    if (rc == 0 && model_alloc(m, cfg) < 0) {
        sb_addf(err, "%s: cannot allocate the model", cfg_path);
        rc = -1;
    }
    if (rc == 0)
        rc = hf_read_tensors(h, m, want, n, err);
    free(want);
    return rc;
}

int model_load_hf(const char *path, struct model *m, struct strbuf *err)
{
    char *cfg_path, *st_path;
    json_t *root = NULL;
    struct hf_files h;
    struct model_config cfg;
    memset(m, 0, sizeof(*m));
    memset(&h, 0, sizeof(h));
    model_hf_paths(path, &cfg_path, &st_path);
    int rc = load_json_object(cfg_path, &root, err);
    if (rc == 0)
        rc = hf_config(cfg_path, root, &cfg, err);
    json_decref(root);
    if (rc == 0)
        rc = hf_open(path, st_path, &h, err);
    if (rc == 0) {
        size_t file;
        if (!hf_find(&h, "lm_head.weight", &file))
            cfg.tied_embeddings = 1;
        rc = hf_read_weights(&h, cfg_path, &cfg, m, err);
        if (rc < 0)
            model_free(m);
        hf_files_free(&h);
    }
    free(cfg_path);
    free(st_path);
    return rc;
}

/* ---- saving ---- */

static int save_weights(const char *path, const struct model *m, struct strbuf *err)
{
    static const struct sft_meta meta[] = { { "format", "pt" } };
    struct hf_tensor *t = xcalloc(hf_tensor_cap(&m->cfg), sizeof(*t));
    struct sft_entry *e = xcalloc(hf_tensor_cap(&m->cfg), sizeof(*e));
    size_t n = hf_tensors(&m->cfg, t);
    for (size_t i = 0; i < n; i++) {
        e[i].name = t[i].name;
        e[i].ndim = t[i].ndim;
        e[i].shape[0] = t[i].shape[0];
        e[i].shape[1] = t[i].shape[1];
        e[i].data = model_tensor(m, t[i].kind, t[i].layer).data;
    }
    int rc = sft_write(path, e, n, meta, 1, err);
    free(e);
    free(t);
    return rc;
}

/* A JSON real that prints as the shortest decimal reading back as the same float. */
static json_t *json_float(float f)
{
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f)
            break;
    }
    return json_real(strtod(buf, NULL));
}

static json_t *json_token_id(int id)
{
    return id >= 0 ? json_integer(id) : json_null();
}

static json_t *config_json(const struct model_config *c)
{
    json_t *o = json_object();
    int arch = c->arch >= 0 && c->arch <= ARCH_MISTRAL ? c->arch : ARCH_LLAMA;
    json_object_set_new(o, "architectures", json_pack("[s]", arch_names[arch][1]));
    json_object_set_new(o, "model_type", json_string(arch_names[arch][0]));
    json_object_set_new(o, "hidden_size", json_integer(c->dim));
    json_object_set_new(o, "intermediate_size", json_integer(c->hidden_dim));
    json_object_set_new(o, "num_attention_heads", json_integer(c->n_heads));
    json_object_set_new(o, "num_key_value_heads", json_integer(c->n_kv_heads));
    json_object_set_new(o, "num_hidden_layers", json_integer(c->n_layers));
    json_object_set_new(o, "vocab_size", json_integer(c->vocab_size));
    json_object_set_new(o, "max_position_embeddings", json_integer(c->max_seq_len));
    json_object_set_new(o, "hidden_act", json_string("silu"));
    json_object_set_new(o, "rms_norm_eps", json_float(c->norm_eps));
    json_object_set_new(o, "rope_theta", json_float(c->rope_theta));
    json_object_set_new(o, "tie_word_embeddings", json_boolean(c->tied_embeddings));
    json_object_set_new(o, "bos_token_id", json_token_id(c->bos_id));
    json_object_set_new(o, "eos_token_id", json_token_id(c->eos_id));
    json_object_set_new(o, "torch_dtype", json_string("float32"));
    if (c->head_dim > 0 || arch != ARCH_LLAMA)
        json_object_set_new(o, "head_dim", json_integer(model_head_size(c)));
    if (arch != ARCH_QWEN2 && (c->o_bias || arch != ARCH_LLAMA))
        json_object_set_new(o, "attention_bias", json_boolean(c->o_bias));
    if (c->rope_scaling == ROPE_LLAMA3)
        json_object_set_new(o, "rope_scaling",
                            json_pack("{s:s,s:o,s:o,s:o,s:i}", "rope_type", "llama3",
                                      "factor", json_float(c->rope_factor),
                                      "low_freq_factor", json_float(c->rope_low_freq_factor),
                                      "high_freq_factor", json_float(c->rope_high_freq_factor),
                                      "original_max_position_embeddings",
                                      c->rope_original_max_pos));
    if (arch == ARCH_MISTRAL)
        json_object_set_new(o, "sliding_window", c->sliding_window > 0
                            ? json_integer(c->sliding_window) : json_null());
    return o;
}

static int is_config_key(const char *key)
{
    for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
        if (strcmp(key, config_keys[i]) == 0)
            return 1;
    }
    return 0;
}

/* Add the keys of extra_json (a JSON object text) to cfg. */
static int merge_extra(json_t *cfg, const char *extra_json, struct strbuf *err)
{
    json_error_t jerr;
    json_t *extra = json_loads(extra_json, JSON_REJECT_DUPLICATES, &jerr);
    const char *key;
    json_t *v;
    int rc = 0;
    if (!json_is_object(extra)) {
        sb_addf(err, "extra config is not a JSON object%s%s", extra ? "" : ": ",
                extra ? "" : jerr.text);
        json_decref(extra);
        return -1;
    }
    json_object_foreach(extra, key, v) {
        if (is_config_key(key)) {
            sb_addf(err, "extra config key \"%s\" is one model_save() writes itself", key);
            rc = -1;
            break;
        }
        json_object_set(cfg, key, v);
    }
    json_decref(extra);
    return rc;
}

static int save_config(const char *path, const struct model_config *c, const char *extra_json,
                       struct strbuf *err)
{
    json_t *root = config_json(c);
    int rc = extra_json ? merge_extra(root, extra_json, err) : 0;
    char *text = rc == 0 ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (rc < 0)
        return -1;
    if (!text) {
        sb_addf(err, "cannot encode '%s'", path);
        return -1;
    }
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, text);
    sb_addc(&sb, '\n');
    rc = write_file_atomic(path, sb.buf, sb.len, err);
    sb_free(&sb);
    free(text);
    return rc;
}

int model_save_extra(const char *dir, const struct model *m, const char *extra_json,
                     struct strbuf *err)
{
    char *st_path = path_join(dir, HF_WEIGHTS), *cfg_path = path_join(dir, HF_CONFIG);
    int rc = mkdir_p(dir, err);
    if (rc == 0)
        rc = save_weights(st_path, m, err);
    if (rc == 0)
        rc = save_config(cfg_path, &m->cfg, extra_json, err);
    free(st_path);
    free(cfg_path);
    return rc;
}

int model_save(const char *dir, const struct model *m, struct strbuf *err)
{
    return model_save_extra(dir, m, NULL, err);
}

int model_config_extras(const char *path, char **json, struct strbuf *err)
{
    char *cfg_path, *st_path;
    json_t *root = NULL;
    *json = NULL;
    if (has_suffix(path, ".bin")) {
        *json = xstrdup("{}");
        return 0;
    }
    model_hf_paths(path, &cfg_path, &st_path);
    int rc = load_json_object(cfg_path, &root, err);
    free(cfg_path);
    free(st_path);
    if (rc < 0)
        return -1;
    for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++)
        json_object_del(root, config_keys[i]);
    *json = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!*json) {
        sb_addf(err, "%s: cannot encode the extra keys", path);
        return -1;
    }
    return 0;
}
