/*
 * model_io.c - model_load() and model_save() (see model_io.h): llama2.c
 * checkpoints and the Hugging Face Llama layout in, Hugging Face layout out.
 * Not a converter for other architectures: anything that is not a plain Llama
 * (RoPE scaling, biases, another activation) is refused with a message.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "json_file.h"
#include "model_io.h"
#include "safetensors.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "model_io.c assumes a little-endian host"
#endif

#define HF_WEIGHTS "model.safetensors"
#define HF_CONFIG "config.json"
#define NAME_MAX_LEN 128

/* Keys model_save() writes to config.json itself, in the order it writes them. */
static const char *const config_keys[] = {
    "architectures", "model_type", "hidden_size", "intermediate_size",
    "num_attention_heads", "num_key_value_heads", "num_hidden_layers", "vocab_size",
    "max_position_embeddings", "hidden_act", "rms_norm_eps", "rope_theta",
    "tie_word_embeddings", "bos_token_id", "eos_token_id", "torch_dtype",
};

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int kind_is_vector(enum tensor_kind k)
{
    return k == TK_ATTN_NORM || k == TK_MLP_NORM || k == TK_FINAL_NORM;
}

/* Floats of kind k over all layers (what a llama2.c file stores for it). */
static size_t kind_floats(const struct model *m, enum tensor_kind k)
{
    struct tensor_ref t = model_tensor(m, k, 0);
    return t.rows * t.cols * (tensor_kind_is_per_layer(k) ? (size_t)m->cfg.n_layers : 1);
}

int model_load(const char *path, struct model *m, struct strbuf *err)
{
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
    if (has_suffix(path, ".safetensors")) {
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

/* Refuse what a plain Llama with mainline's forward pass cannot represent. */
static const char *cfg_unsupported(json_t *root, const struct model_config *c)
{
    json_t *act = json_object_get(root, "hidden_act");
    json_t *head_dim = json_object_get(root, "head_dim");
    json_t *scaling = json_object_get(root, "rope_scaling");
    if (act && !json_is_null(act) && (!json_is_string(act) ||
                                      strcmp(json_string_value(act), "silu") != 0))
        return "hidden_act other than \"silu\" is not supported";
    if (scaling && !json_is_null(scaling))
        return "rope_scaling is not supported";
    if (json_is_true(json_object_get(root, "attention_bias")) ||
        json_is_true(json_object_get(root, "mlp_bias")))
        return "biases are not supported";
    if (head_dim && !json_is_null(head_dim) && c->n_heads > 0 &&
        (!json_is_integer(head_dim) || json_integer_value(head_dim) != c->dim / c->n_heads))
        return "head_dim other than hidden_size / num_attention_heads is not supported";
    return NULL;
}

static int hf_config(const char *path, json_t *root, struct model_config *c, struct strbuf *err)
{
    const char *bad = NULL;
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
    const char *unsupported = cfg_unsupported(root, c);
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

/* The index in f of expected tensor t, or -1 with a message when it is missing or
 * has another shape or a non-float dtype. */
static long hf_find_checked(const struct sft_file *f, const struct hf_tensor *t,
                            struct strbuf *err)
{
    const struct sft_tensor *st = sft_find(f, t->name);
    if (!st) {
        sb_addf(err, "%s: missing tensor '%s'", f->path, t->name);
        return -1;
    }
    if (sft_check_f32(f, st, t->shape, t->ndim, err) < 0)
        return -1;
    return st - f->tensors;
}

/* Before allocating anything: every expected tensor present with its exact shape
 * and a float dtype, and nothing else in the file. */
static int hf_check_tensors(const struct sft_file *f, const struct hf_tensor *want, size_t n,
                            struct strbuf *err)
{
    char *used = xcalloc(f->n_tensors + 1, 1);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        long at = hf_find_checked(f, &want[i], err);
        if (at < 0)
            rc = -1;
        else
            used[at] = 1;
    }
    for (size_t i = 0; rc == 0 && i < f->n_tensors; i++) {
        const char *name = f->tensors[i].name;
        if (used[i])
            continue;
        sb_addf(err, "%s: unexpected tensor '%s'%s", f->path, name,
                strcmp(name, "lm_head.weight") == 0 ? " (config.json says tie_word_embeddings)"
                : " (not part of a Llama model with this config)");
        rc = -1;
    }
    free(used);
    return rc;
}

static int hf_read_tensors(const struct sft_file *f, struct model *m,
                           const struct hf_tensor *want, size_t n, struct strbuf *err)
{
    for (size_t i = 0; i < n; i++) {
        struct tensor_ref t = model_tensor(m, want[i].kind, want[i].layer);
        if (sft_read_f32_named(f, want[i].name, want[i].shape, want[i].ndim, t.data, err) < 0)
            return -1;
    }
    return 0;
}

static int hf_read_weights(const struct sft_file *f, const char *cfg_path,
                           const struct model_config *cfg, struct model *m,
                           struct strbuf *err)
{
    char why[160];
    if (model_config_check(cfg, why, sizeof(why)) < 0) {
        sb_addf(err, "%s: unusable model configuration: %s", cfg_path, why);
        return -1;
    }
    struct hf_tensor *want = xcalloc(hf_tensor_cap(cfg), sizeof(*want));
    size_t n = hf_tensors(cfg, want);
    int rc = hf_check_tensors(f, want, n, err);
    if (rc == 0 && model_alloc(m, cfg) < 0) {
        sb_addf(err, "%s: cannot allocate the model", cfg_path);
        rc = -1;
    }
    if (rc == 0)
        rc = hf_read_tensors(f, m, want, n, err);
    free(want);
    return rc;
}

int model_load_hf(const char *path, struct model *m, struct strbuf *err)
{
    char *cfg_path, *st_path;
    json_t *root = NULL;
    struct sft_file f;
    struct model_config cfg;
    memset(m, 0, sizeof(*m));
    model_hf_paths(path, &cfg_path, &st_path);
    int rc = load_json_object(cfg_path, &root, err);
    if (rc == 0)
        rc = hf_config(cfg_path, root, &cfg, err);
    json_decref(root);
    if (rc == 0)
        rc = sft_open(st_path, &f, err);
    if (rc == 0) {
        if (!sft_find(&f, "lm_head.weight"))
            cfg.tied_embeddings = 1;
        rc = hf_read_weights(&f, cfg_path, &cfg, m, err);
        if (rc < 0)
            model_free(m);
        sft_free(&f);
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
    json_object_set_new(o, "architectures", json_pack("[s]", "LlamaForCausalLM"));
    json_object_set_new(o, "model_type", json_string("llama"));
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
