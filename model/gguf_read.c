/* gguf_read.c - a GGUF file as a mainline model and tokenizer (see gguf_read.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "gguf.h"
#include "gguf_read.h"
#include "quant.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf_read.c assumes a little-endian host"
#endif

/* GGUF metadata value types. */
enum {
    GV_UINT8, GV_INT8, GV_UINT16, GV_INT16, GV_UINT32, GV_INT32, GV_FLOAT32, GV_BOOL,
    GV_STRING, GV_ARRAY, GV_UINT64, GV_INT64, GV_FLOAT64, GV_COUNT
};

/* llama.cpp's token types. */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_BYTE = 6 };

struct gkv {
    const char *key;
    size_t klen;
    uint32_t type;
    size_t at;                   /* offset of the value */
};

struct gtensor {
    const char *name;
    size_t nlen;
    uint32_t ndims;
    uint64_t ne[4];
    uint32_t type;
    uint64_t offset;             /* in the data section */
};

/* A mapped GGUF file and its parsed directory. */
struct gfile {
    const char *path;
    const uint8_t *p;
    size_t size;
    size_t pos;                  /* the parser's cursor */
    struct gkv *kv;
    uint64_t nkv;
    struct gtensor *t;
    uint64_t nt;
    size_t data;                 /* start of the data section */
};

int gguf_is_file(const char *path)
{
    size_t n = strlen(path);
    if (n >= 5 && !strcmp(path + n - 5, ".gguf"))
        return 1;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    char magic[4];
    int yes = read(fd, magic, 4) == 4 && !memcmp(magic, "GGUF", 4);
    close(fd);
    return yes;
}

/* ---- parsing ---- */

static int need(struct gfile *f, size_t n, const char *what, struct strbuf *err)
{
    if (n > f->size || f->pos > f->size - n) {
        sb_addf(err, "%s: byte %zu: the file ends inside %s", f->path, f->pos, what);
        return -1;
    }
    return 0;
}

static int rd(struct gfile *f, void *dst, size_t n, const char *what, struct strbuf *err)
{
    if (need(f, n, what, err) < 0)
        return -1;
    memcpy(dst, f->p + f->pos, n);
    f->pos += n;
    return 0;
}

static int rd_str(struct gfile *f, const char **s, size_t *len, const char *what,
                  struct strbuf *err)
{
    uint64_t n;
    if (rd(f, &n, 8, what, err) < 0 || need(f, (size_t)n, what, err) < 0)
        return -1;
    *s = (const char *)f->p + f->pos;
    *len = (size_t)n;
    f->pos += (size_t)n;
    return 0;
}

static size_t scalar_size(uint32_t t)
{
    static const size_t sizes[GV_COUNT] = {
        [GV_UINT8] = 1, [GV_INT8] = 1, [GV_UINT16] = 2, [GV_INT16] = 2, [GV_UINT32] = 4,
        [GV_INT32] = 4, [GV_FLOAT32] = 4, [GV_BOOL] = 1, [GV_UINT64] = 8, [GV_INT64] = 8,
        [GV_FLOAT64] = 8,
    };
    return t < GV_COUNT ? sizes[t] : 0;
}

/* Step over one value of type t. */
static int skip_value(struct gfile *f, uint32_t t, int depth, struct strbuf *err)
{
    if (t == GV_STRING) {
        const char *s;
        size_t n;
        return rd_str(f, &s, &n, "a string value", err);
    }
    if (t == GV_ARRAY) {
        uint32_t et;
        uint64_t n;
        if (depth > 2) {
            sb_addf(err, "%s: byte %zu: arrays nested too deep", f->path, f->pos);
            return -1;
        }
        if (rd(f, &et, 4, "an array", err) < 0 || rd(f, &n, 8, "an array", err) < 0)
            return -1;
        if (scalar_size(et)) {
            if (n > f->size / scalar_size(et))
                return need(f, f->size + 1, "an array", err);
            if (need(f, (size_t)n * scalar_size(et), "an array", err) < 0)
                return -1;
            f->pos += (size_t)n * scalar_size(et);
            return 0;
        }
        for (uint64_t i = 0; i < n; i++)
            if (skip_value(f, et, depth + 1, err) < 0)
                return -1;
        return 0;
    }
    if (!scalar_size(t)) {
        sb_addf(err, "%s: byte %zu: unknown metadata value type %u", f->path, f->pos, t);
        return -1;
    }
    if (need(f, scalar_size(t), "a value", err) < 0)
        return -1;
    f->pos += scalar_size(t);
    return 0;
}

static int parse_kv(struct gfile *f, struct strbuf *err)
{
    if (f->nkv > f->size / 12) {
        sb_addf(err, "%s: %llu metadata pairs cannot fit the file", f->path,
                (unsigned long long)f->nkv);
        return -1;
    }
    f->kv = xcalloc((size_t)f->nkv + 1, sizeof(*f->kv));
    for (uint64_t i = 0; i < f->nkv; i++) {
        struct gkv *kv = &f->kv[i];
        if (rd_str(f, &kv->key, &kv->klen, "a metadata key", err) < 0 ||
            rd(f, &kv->type, 4, "a metadata key", err) < 0)
            return -1;
        kv->at = f->pos;
        if (skip_value(f, kv->type, 0, err) < 0)
            return -1;
    }
    return 0;
}

static int parse_tensors(struct gfile *f, struct strbuf *err)
{
    if (f->nt > f->size / 24) {
        sb_addf(err, "%s: %llu tensors cannot fit the file", f->path, (unsigned long long)f->nt);
        return -1;
    }
    f->t = xcalloc((size_t)f->nt + 1, sizeof(*f->t));
    for (uint64_t i = 0; i < f->nt; i++) {
        struct gtensor *t = &f->t[i];
        if (rd_str(f, &t->name, &t->nlen, "a tensor's name", err) < 0 ||
            rd(f, &t->ndims, 4, "a tensor's dimensions", err) < 0)
            return -1;
        if (t->ndims < 1 || t->ndims > 4) {
            sb_addf(err, "%s: tensor '%.*s' has %u dimensions", f->path, (int)t->nlen, t->name,
                    t->ndims);
            return -1;
        }
        if (rd(f, t->ne, 8 * (size_t)t->ndims, "a tensor's dimensions", err) < 0 ||
            rd(f, &t->type, 4, "a tensor's type", err) < 0 ||
            rd(f, &t->offset, 8, "a tensor's offset", err) < 0)
            return -1;
    }
    return 0;
}

static const struct gkv *find_kv(const struct gfile *f, const char *key)
{
    size_t n = strlen(key);
    for (uint64_t i = 0; i < f->nkv; i++)
        if (f->kv[i].klen == n && !memcmp(f->kv[i].key, key, n))
            return &f->kv[i];
    return NULL;
}

static void gfile_close(struct gfile *f)
{
    if (f->p)
        munmap((void *)f->p, f->size);
    free(f->kv);
    free(f->t);
    memset(f, 0, sizeof(*f));
}

static int gfile_open(struct gfile *f, const char *path, struct strbuf *err)
{
    memset(f, 0, sizeof(*f));
    f->path = path;
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        sb_addf(err, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (st.st_size < 24) {
        sb_addf(err, "%s: %lld bytes, too short for GGUF", path, (long long)st.st_size);
        close(fd);
        return -1;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        sb_addf(err, "%s: mmap: %s", path, strerror(errno));
        return -1;
    }
    f->p = p;
    f->size = (size_t)st.st_size;
    uint32_t version;
    if (memcmp(f->p, "GGUF", 4)) {
        sb_addf(err, "%s: not a GGUF file (no GGUF magic)", path);
        goto fail;
    }
    f->pos = 4;
    if (rd(f, &version, 4, "the header", err) < 0)
        goto fail;
    if (version != 2 && version != 3) {
        sb_addf(err, "%s: GGUF version %u (2 and 3 are read)", path, version);
        goto fail;
    }
    if (rd(f, &f->nt, 8, "the header", err) < 0 || rd(f, &f->nkv, 8, "the header", err) < 0 ||
        parse_kv(f, err) < 0 || parse_tensors(f, err) < 0)
        goto fail;
    uint64_t align = GGUF_ALIGNMENT;
    const struct gkv *a = find_kv(f, "general.alignment");
    if (a && a->type == GV_UINT32) {
        uint32_t v;
        memcpy(&v, f->p + a->at, 4);
        align = v;
    }
    if (align == 0 || (align & (align - 1))) {
        sb_addf(err, "%s: general.alignment %llu is not a power of two", path,
                (unsigned long long)align);
        goto fail;
    }
    f->data = (size_t)((f->pos + align - 1) / align * align);
    return 0;
fail:
    gfile_close(f);
    return -1;
}

/* ---- typed metadata ---- */

/* An unsigned integer key into *v; absent: 1 and *v untouched unless required. */
static int kv_uint(const struct gfile *f, const char *key, int required, uint64_t *v,
                   struct strbuf *err)
{
    const struct gkv *kv = find_kv(f, key);
    if (!kv) {
        if (required)
            sb_addf(err, "%s: metadata key %s is missing", f->path, key);
        return required ? -1 : 1;
    }
    const uint8_t *p = f->p + kv->at;
    switch (kv->type) {
    case GV_UINT8: *v = p[0]; return 0;
    case GV_UINT16: { uint16_t x; memcpy(&x, p, 2); *v = x; return 0; }
    case GV_UINT32: { uint32_t x; memcpy(&x, p, 4); *v = x; return 0; }
    case GV_UINT64: memcpy(v, p, 8); return 0;
    case GV_INT32: {
        int32_t x;
        memcpy(&x, p, 4);
        if (x >= 0) {
            *v = (uint64_t)x;
            return 0;
        }
        break;
    }
    default: break;
    }
    sb_addf(err, "%s: metadata key %s is not a non-negative integer", f->path, key);
    return -1;
}

/* An int key that must fit [1, INT32_MAX]. */
static int kv_int(const struct gfile *f, const char *key, int *out, struct strbuf *err)
{
    uint64_t v;
    if (kv_uint(f, key, 1, &v, err) < 0)
        return -1;
    if (v < 1 || v > INT32_MAX) {
        sb_addf(err, "%s: metadata key %s = %llu is out of range", f->path, key,
                (unsigned long long)v);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int kv_float(const struct gfile *f, const char *key, float *out, struct strbuf *err)
{
    const struct gkv *kv = find_kv(f, key);
    if (!kv)
        return 1;
    if (kv->type == GV_FLOAT32) {
        memcpy(out, f->p + kv->at, 4);
        return 0;
    }
    if (kv->type == GV_FLOAT64) {
        double d;
        memcpy(&d, f->p + kv->at, 8);
        *out = (float)d;
        return 0;
    }
    sb_addf(err, "%s: metadata key %s is not a float", f->path, key);
    return -1;
}

/* A string key: 0 and *s, *len; 1 when absent; -1 when not a string. */
static int kv_string(const struct gfile *f, const char *key, const char **s, size_t *len,
                     struct strbuf *err)
{
    const struct gkv *kv = find_kv(f, key);
    if (!kv)
        return 1;
    if (kv->type != GV_STRING) {
        sb_addf(err, "%s: metadata key %s is not a string", f->path, key);
        return -1;
    }
    uint64_t n;
    memcpy(&n, f->p + kv->at, 8);
    *s = (const char *)f->p + kv->at + 8;
    *len = (size_t)n;
    return 0;
}

static int kv_bool(const struct gfile *f, const char *key, int dflt)
{
    const struct gkv *kv = find_kv(f, key);
    return kv && kv->type == GV_BOOL ? f->p[kv->at] != 0 : dflt;
}

/* An array key of element type et: its count and first element's offset. */
static int kv_array(const struct gfile *f, const char *key, uint32_t et, uint64_t *n,
                    size_t *at, struct strbuf *err)
{
    const struct gkv *kv = find_kv(f, key);
    uint32_t t;
    if (!kv) {
        sb_addf(err, "%s: metadata key %s is missing", f->path, key);
        return -1;
    }
    if (kv->type == GV_ARRAY)
        memcpy(&t, f->p + kv->at, 4);
    if (kv->type != GV_ARRAY || t != et) {
        sb_addf(err, "%s: metadata key %s is not an array of type %u", f->path, key, et);
        return -1;
    }
    memcpy(n, f->p + kv->at + 4, 8);
    *at = kv->at + 12;
    return 0;
}

static int str_is(const char *s, size_t n, const char *want)
{
    return n == strlen(want) && !memcmp(s, want, n);
}

/* ---- the model ---- */

/* An optional token id below n, else -1. */
static int special_id(const struct gfile *f, const char *key, uint64_t n)
{
    uint64_t v;
    struct strbuf ignore = STRBUF_INIT;
    int rc = kv_uint(f, key, 0, &v, &ignore);
    sb_free(&ignore);
    return rc == 0 && v < n ? (int)v : -1;
}


/* Keys a llama GGUF may carry that mainline does not model: refused when set. */
static int refuse_unsupported(const struct gfile *f, struct strbuf *err)
{
    static const char *const counts[] = { "llama.expert_count", "llama.expert_used_count" };
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        uint64_t v = 0;
        int rc = kv_uint(f, counts[i], 0, &v, err);
        if (rc < 0)
            return -1;
        if (rc == 0 && v > 0) {
            sb_addf(err, "%s: metadata key %s = %llu: mixture-of-experts models are not "
                    "supported", f->path, counts[i], (unsigned long long)v);
            return -1;
        }
    }
    const char *s;
    size_t n;
    int rc = kv_string(f, "llama.rope.scaling.type", &s, &n, err);
    if (rc < 0)
        return -1;
    if (rc == 0 && !str_is(s, n, "none")) {
        sb_addf(err, "%s: metadata key llama.rope.scaling.type = '%.*s': rope scaling is not "
                "supported", f->path, (int)n, s);
        return -1;
    }
    return 0;
}

static int read_config(const struct gfile *f, struct model_config *c, struct strbuf *err)
{
    const char *arch;
    size_t alen;
    int rc = kv_string(f, "general.architecture", &arch, &alen, err);
    if (rc != 0) {
        if (rc > 0)
            sb_addf(err, "%s: metadata key general.architecture is missing", f->path);
        return -1;
    }
    if (!str_is(arch, alen, "llama")) {
        sb_addf(err, "%s: general.architecture '%.*s' is not supported (only llama)", f->path,
                (int)alen, arch);
        return -1;
    }
    memset(c, 0, sizeof(*c));
    c->arch = ARCH_LLAMA;
    c->norm_eps = 1e-5f;
    c->rope_theta = 10000.0f;
    if (kv_int(f, "llama.embedding_length", &c->dim, err) < 0 ||
        kv_int(f, "llama.block_count", &c->n_layers, err) < 0 ||
        kv_int(f, "llama.feed_forward_length", &c->hidden_dim, err) < 0 ||
        kv_int(f, "llama.attention.head_count", &c->n_heads, err) < 0 ||
        kv_int(f, "llama.context_length", &c->max_seq_len, err) < 0 ||
        kv_float(f, "llama.attention.layer_norm_rms_epsilon", &c->norm_eps, err) < 0 ||
        kv_float(f, "llama.rope.freq_base", &c->rope_theta, err) < 0 ||
        refuse_unsupported(f, err) < 0)
        return -1;
    c->n_kv_heads = c->n_heads;
    if (find_kv(f, "llama.attention.head_count_kv") &&
        kv_int(f, "llama.attention.head_count_kv", &c->n_kv_heads, err) < 0)
        return -1;
    uint64_t v;
    int hs = c->dim / c->n_heads;
    static const char *const hs_keys[] = { "llama.rope.dimension_count",
                                           "llama.attention.key_length",
                                           "llama.attention.value_length" };
    for (size_t i = 0; i < sizeof(hs_keys) / sizeof(hs_keys[0]); i++) {
        rc = kv_uint(f, hs_keys[i], 0, &v, err);
        if (rc < 0)
            return -1;
        if (rc == 0 && v != (uint64_t)hs) {
            sb_addf(err, "%s: metadata key %s = %llu, not embedding_length / head_count = %d: "
                    "not supported", f->path, hs_keys[i], (unsigned long long)v, hs);
            return -1;
        }
    }
    uint64_t ntok;
    size_t at;
    if (kv_array(f, "tokenizer.ggml.tokens", GV_STRING, &ntok, &at, err) < 0)
        return -1;
    c->vocab_size = (int)ntok;
    if (find_kv(f, "llama.vocab_size") && kv_int(f, "llama.vocab_size", &c->vocab_size, err) < 0)
        return -1;
    if ((uint64_t)c->vocab_size != ntok) {
        sb_addf(err, "%s: llama.vocab_size %d but tokenizer.ggml.tokens holds %llu", f->path,
                c->vocab_size, (unsigned long long)ntok);
        return -1;
    }
    c->bos_id = special_id(f, "tokenizer.ggml.bos_token_id", ntok);
    c->eos_id = special_id(f, "tokenizer.ggml.eos_token_id", ntok);
    return 0;
}

static const struct gtensor *find_tensor(const struct gfile *f, const char *name)
{
    size_t n = strlen(name);
    for (uint64_t i = 0; i < f->nt; i++)
        if (f->t[i].nlen == n && !memcmp(f->t[i].name, name, n))
            return &f->t[i];
    return NULL;
}

/* Tensor `name` of shape (rows, cols) (cols 1: a vector) in a supported type, inside
 * the file; its bytes into *at. */
static int check_tensor(const struct gfile *f, const struct gtensor *t, const char *name,
                        size_t rows, size_t cols, const uint8_t **at, struct strbuf *err)
{
    int vec = cols == 1;
    if (t->ndims != (vec ? 1u : 2u) || t->ne[0] != (vec ? rows : cols) ||
        (!vec && t->ne[1] != rows)) {
        sb_addf(err, "%s: tensor %s has shape [", f->path, name);
        for (uint32_t d = 0; d < t->ndims; d++)
            sb_addf(err, "%s%llu", d ? ", " : "", (unsigned long long)t->ne[d]);
        if (vec)
            sb_addf(err, "], the model needs [%zu]", rows);
        else
            sb_addf(err, "], the model needs [%zu, %zu]", cols, rows);
        return -1;
    }
    if (t->type != QUANT_F32 && t->type != QUANT_F16 && t->type != QUANT_Q8_0 &&
        t->type != QUANT_Q4_0) {
        sb_addf(err, "%s: tensor %s has ggml type %u (f32, f16, q8_0 and q4_0 are read)",
                f->path, name, t->type);
        return -1;
    }
    if (!quant_row_ok((enum quant_type)t->type, cols)) {
        sb_addf(err, "%s: tensor %s is %s with rows of %zu values (not a multiple of %d)",
                f->path, name, quant_name((enum quant_type)t->type), cols, QUANT_BLOCK);
        return -1;
    }
    size_t bytes = quant_row_bytes((enum quant_type)t->type, cols) * rows;
    if (t->offset > f->size || f->data > f->size - t->offset ||
        bytes > f->size - f->data - t->offset) {
        sb_addf(err, "%s: tensor %s's data (offset %llu, %zu bytes) lies past the end of "
                "the file", f->path, name, (unsigned long long)t->offset, bytes);
        return -1;
    }
    *at = f->p + f->data + t->offset;
    return 0;
}

/* Rows of a q or k projection from llama.cpp's adjacent pairs back to rotate_half
 * (new row i = row 2i, new row HS/2 + i = row 2i + 1 within each head): rows of any
 * type, row_bytes each, from src into dst. */
static void unpermute_rows(uint8_t *dst, const uint8_t *src, int heads, int hs,
                           size_t row_bytes)
{
    for (int h = 0; h < heads; h++) {
        const uint8_t *s = src + (size_t)h * (size_t)hs * row_bytes;
        uint8_t *d = dst + (size_t)h * (size_t)hs * row_bytes;
        for (int i = 0; i < hs / 2; i++) {
            memcpy(d + (size_t)i * row_bytes, s + (size_t)(2 * i) * row_bytes, row_bytes);
            memcpy(d + (size_t)(hs / 2 + i) * row_bytes, s + (size_t)(2 * i + 1) * row_bytes,
                   row_bytes);
        }
    }
}

/* Tensor kind k of layer l from the file into the slab (and m->qw when quantised). */
static int load_tensor(const struct gfile *f, struct model *m, enum tensor_kind k, int l,
                       const struct gtensor *t, const char *name, struct strbuf *err)
{
    struct tensor_ref r = model_tensor(m, k, l);
    const uint8_t *src;
    if (check_tensor(f, t, name, r.rows, r.cols, &src, err) < 0)
        return -1;
    enum quant_type type = (enum quant_type)t->type;
    size_t row_bytes = quant_row_bytes(type, r.cols), bytes = row_bytes * r.rows;
    uint8_t *blocks = xmalloc(bytes ? bytes : 1);
    const struct model_config *c = &m->cfg;
    if (k == TK_WQ || k == TK_WK)
        unpermute_rows(blocks, src, k == TK_WQ ? c->n_heads : c->n_kv_heads,
                       model_head_size(c), row_bytes);
    else
        memcpy(blocks, src, bytes);
    for (size_t i = 0; i < r.rows; i++)
        dequant_row(type, blocks + i * row_bytes, r.cols, r.data + i * r.cols);
    if (type != QUANT_Q8_0 && type != QUANT_Q4_0) {
        free(blocks);
        return 0;
    }
    if (!m->qw)
        m->qw = xcalloc((size_t)TK_COUNT * (size_t)c->n_layers, sizeof(*m->qw));
    m->qw[(size_t)k * (size_t)c->n_layers + (size_t)(l < 0 ? 0 : l)] = (struct qweight){
        .type = type, .rows = r.rows, .cols = r.cols, .row_bytes = row_bytes, .data = blocks,
    };
    return 0;
}

static int load_tensors(const struct gfile *f, struct model *m, struct strbuf *err)
{
    static const enum tensor_kind kinds[] = {
        TK_EMBED, TK_ATTN_NORM, TK_WQ, TK_WK, TK_WV, TK_WO, TK_MLP_NORM, TK_GATE, TK_UP,
        TK_DOWN, TK_FINAL_NORM, TK_LM_HEAD,
    };
    uint8_t *used = xcalloc((size_t)f->nt + 1, 1);
    int rc = 0;
    char name[96];
    for (size_t i = 0; rc == 0 && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        enum tensor_kind k = kinds[i];
        if (k == TK_LM_HEAD && m->cfg.tied_embeddings)
            continue;
        int layers = tensor_kind_is_per_layer(k) ? m->cfg.n_layers : 1;
        for (int l = 0; rc == 0 && l < layers; l++) {
            gguf_tensor_name(k, l, name, sizeof(name));
            const struct gtensor *t = find_tensor(f, name);
            if (!t) {
                sb_addf(err, "%s: tensor %s is missing", f->path, name);
                rc = -1;
                break;
            }
            used[t - f->t] = 1;
            rc = load_tensor(f, m, k, tensor_kind_is_per_layer(k) ? l : -1, t, name, err);
        }
    }
    for (uint64_t i = 0; rc == 0 && i < f->nt; i++) {
        if (!used[i]) {
            sb_addf(err, "%s: tensor %.*s is not part of a llama model mainline reads",
                    f->path, (int)f->t[i].nlen, f->t[i].name);
            rc = -1;
        }
    }
    free(used);
    if (rc == 0 && m->cfg.tied_embeddings && m->qw)
        m->qw[(size_t)TK_LM_HEAD * (size_t)m->cfg.n_layers] =
            m->qw[(size_t)TK_EMBED * (size_t)m->cfg.n_layers];
    return rc;
}

int model_load_gguf(const char *path, struct model *m, struct strbuf *err)
{
    struct gfile f;
    memset(m, 0, sizeof(*m));
    if (gfile_open(&f, path, err) < 0)
        return -1;
    struct model_config c;
    int rc = read_config(&f, &c, err);
    if (rc == 0) {
        c.tied_embeddings = find_tensor(&f, "output.weight") == NULL;
        char why[256];
        if (model_config_check(&c, why, sizeof(why)) < 0) {
            sb_addf(err, "%s: %s", path, why);
            rc = -1;
        } else if (model_alloc(m, &c) < 0) {
            sb_addf(err, "%s: cannot allocate the model", path);
            rc = -1;
        }
    }
    if (rc == 0 && load_tensors(&f, m, err) < 0) {
        model_free(m);
        rc = -1;
    }
    gfile_close(&f);
    return rc;
}

/* ---- the tokenizer ---- */

/* A SentencePiece piece as llama2.c stores it: U+2581 back to spaces. */
static void spm_text(struct strbuf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i + 2 < n && (unsigned char)s[i] == 0xe2 && (unsigned char)s[i + 1] == 0x96 &&
            (unsigned char)s[i + 2] == 0x81) {
            sb_addc(out, ' ');
            i += 2;
        } else {
            sb_addc(out, s[i]);
        }
    }
}

/* The byte vocabulary gguf_write.c writes: ids below 256 are <0xNN> BYTE tokens, the
 * space the NORMAL token U+2581. 1 when the file's vocabulary is that. */
static int is_byte_vocab(const struct gfile *f, size_t at, const uint8_t *types, uint64_t n)
{
    if (n < 256)
        return 0;
    size_t pos = at;
    for (int id = 0; id < 256; id++) {
        uint64_t len;
        memcpy(&len, f->p + pos, 8);
        const char *s = (const char *)f->p + pos + 8;
        char want[8];
        int32_t type;
        memcpy(&type, types + 4 * (size_t)id, 4);
        if (id == ' ')
            memcpy(want, "\xe2\x96\x81", 4);
        else
            snprintf(want, sizeof(want), "<0x%02X>", id);
        if (!str_is(s, (size_t)len, want) || type != (id == ' ' ? TT_NORMAL : TT_BYTE))
            return 0;
        pos += 8 + (size_t)len;
    }
    return 1;
}

static int spm_vocab(const struct gfile *f, size_t at, const uint8_t *types, uint64_t n,
                     struct tokenizer *tok, struct strbuf *err)
{
    size_t sat;
    uint64_t ns;
    if (kv_array(f, "tokenizer.ggml.scores", GV_FLOAT32, &ns, &sat, err) < 0)
        return -1;
    if (ns != n) {
        sb_addf(err, "%s: tokenizer.ggml.scores holds %llu values for %llu tokens", f->path,
                (unsigned long long)ns, (unsigned long long)n);
        return -1;
    }
    char **pieces = xcalloc((size_t)n, sizeof(char *));
    int *lens = xcalloc((size_t)n, sizeof(int));
    float *scores = xcalloc((size_t)n, sizeof(float));
    int bos = special_id(f, "tokenizer.ggml.bos_token_id", n);
    int eos = special_id(f, "tokenizer.ggml.eos_token_id", n);
    size_t pos = at;
    for (uint64_t id = 0; id < n; id++) {
        uint64_t len;
        memcpy(&len, f->p + pos, 8);
        const char *s = (const char *)f->p + pos + 8;
        int32_t type;
        memcpy(&type, types + 4 * id, 4);
        struct strbuf text = STRBUF_INIT;
        if ((int)id == bos && type == TT_CONTROL)
            sb_adds(&text, "\n<s>\n");            /* what llama2.c's tokenizer.bin holds */
        else if ((int)id == eos && type == TT_CONTROL)
            sb_adds(&text, "\n</s>\n");
        else if (type == TT_BYTE)
            sb_add(&text, s, (size_t)len);
        else
            spm_text(&text, s, (size_t)len);
        lens[id] = (int)text.len;
        pieces[id] = xmalloc(text.len + 1);
        memcpy(pieces[id], text.buf ? text.buf : "", text.len);
        pieces[id][text.len] = 0;
        sb_free(&text);
        memcpy(&scores[id], f->p + sat + 4 * id, 4);
        pos += 8 + (size_t)len;
    }
    return tokenizer_init_pieces(tok, (int)n, pieces, lens, scores, bos, eos, f->path, err);
}

int tokenizer_load_gguf(const char *path, int vocab_size, struct tokenizer *tok,
                        struct strbuf *err)
{
    struct gfile f;
    memset(tok, 0, sizeof(*tok));
    if (gfile_open(&f, path, err) < 0)
        return -1;
    int rc = -1;
    const char *model;
    size_t mlen, at, tat;
    uint64_t n, nt;
    int k = kv_string(&f, "tokenizer.ggml.model", &model, &mlen, err);
    if (k > 0)
        sb_addf(err, "%s: metadata key tokenizer.ggml.model is missing", path);
    else if (k == 0 && !str_is(model, mlen, "llama"))
        sb_addf(err, "%s: tokenizer.ggml.model '%.*s' is not supported (only llama, "
                "SentencePiece-style)", path, (int)mlen, model);
    else if (k == 0 && kv_array(&f, "tokenizer.ggml.tokens", GV_STRING, &n, &at, err) == 0 &&
             kv_array(&f, "tokenizer.ggml.token_type", GV_INT32, &nt, &tat, err) == 0) {
        if (nt != n || n != (uint64_t)vocab_size) {
            sb_addf(err, "%s: %llu tokens and %llu token types for a model of %d", path,
                    (unsigned long long)n, (unsigned long long)nt, vocab_size);
        } else if (!kv_bool(&f, "tokenizer.ggml.add_space_prefix", 1) &&
                   is_byte_vocab(&f, at, f.p + tat, n)) {
            int bos = special_id(&f, "tokenizer.ggml.bos_token_id", n);
            int eos = special_id(&f, "tokenizer.ggml.eos_token_id", n);
            int pad = special_id(&f, "tokenizer.ggml.padding_token_id", n);
            rc = tokenizer_init_bytes(tok, vocab_size, bos, eos, pad);
            if (rc < 0)
                sb_addf(err, "%s: byte vocabulary with BOS %d, EOS %d, PAD %d below 256",
                        path, bos, eos, pad);
        } else if (kv_bool(&f, "tokenizer.ggml.add_space_prefix", 1)) {
            rc = spm_vocab(&f, at, f.p + tat, n, tok, err);
        } else {
            sb_addf(err, "%s: tokenizer.ggml.add_space_prefix is false but the vocabulary is "
                    "not mainline's byte vocabulary (<0x00>..<0xFF>, U+2581 for the space)",
                    path);
        }
    }
    gfile_close(&f);
    return rc;
}
