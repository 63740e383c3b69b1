/* gguf_write.c - a model as GGUF v3 for llama.cpp (see gguf.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "gguf.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf_write.c assumes a little-endian host"
#endif

/* GGUF metadata value types. */
enum gguf_vtype {
    GV_UINT32 = 4, GV_INT32 = 5, GV_FLOAT32 = 6, GV_BOOL = 7, GV_STRING = 8, GV_ARRAY = 9,
};

/* llama.cpp's token types (tokenizer.ggml.token_type). */
enum gguf_token_type {
    TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_UNUSED = 5, TT_BYTE = 6,
};

/* general.file_type: what most tensors are. */
static uint32_t file_type(enum quant_type q)
{
    switch (q) {
    case QUANT_F32: return 0;
    case QUANT_F16: return 1;
    case QUANT_Q4_0: return 2;
    case QUANT_Q8_0: return 7;
    }
    return 0;
}

/* The metadata section being built, and how many pairs it holds. */
struct kv {
    struct strbuf sb;
    uint64_t n;
};

static void put_u32(struct strbuf *sb, uint32_t v) { sb_add(sb, &v, 4); }
static void put_i32(struct strbuf *sb, int32_t v) { sb_add(sb, &v, 4); }
static void put_u64(struct strbuf *sb, uint64_t v) { sb_add(sb, &v, 8); }
static void put_f32(struct strbuf *sb, float v) { sb_add(sb, &v, 4); }

static void put_str(struct strbuf *sb, const char *s, size_t len)
{
    put_u64(sb, len);
    sb_add(sb, s, len);
}

static void kv_key(struct kv *kv, const char *key, enum gguf_vtype t)
{
    put_str(&kv->sb, key, strlen(key));
    put_u32(&kv->sb, t);
    kv->n++;
}

static void kv_u32(struct kv *kv, const char *key, uint32_t v)
{
    kv_key(kv, key, GV_UINT32);
    put_u32(&kv->sb, v);
}

static void kv_f32(struct kv *kv, const char *key, float v)
{
    kv_key(kv, key, GV_FLOAT32);
    put_f32(&kv->sb, v);
}

static void kv_bool(struct kv *kv, const char *key, int v)
{
    kv_key(kv, key, GV_BOOL);
    sb_addc(&kv->sb, (char)(v ? 1 : 0));
}

static void kv_str(struct kv *kv, const char *key, const char *v)
{
    kv_key(kv, key, GV_STRING);
    put_str(&kv->sb, v, strlen(v));
}

static void kv_array(struct kv *kv, const char *key, enum gguf_vtype elem, uint64_t n)
{
    kv_key(kv, key, GV_ARRAY);
    put_u32(&kv->sb, elem);
    put_u64(&kv->sb, n);
}

/* ---- the tokenizer ---- */

/* One token's text as llama.cpp's "llama" vocabulary spells it, and its type. */
struct vocab_entry {
    struct strbuf text;
    float score;
    int32_t type;
};

static int is_byte_piece(const char *p, int len)
{
    unsigned v;
    char end;
    return len == 6 && !strncmp(p, "<0x", 3) && sscanf(p + 3, "%2x%c", &v, &end) == 2 &&
           end == '>';
}

/* A llama2.c piece, spaces written U+2581 as SentencePiece stores them. */
static void spm_piece(struct strbuf *out, const char *p, int len)
{
    for (int i = 0; i < len; i++) {
        if (p[i] == ' ')
            sb_adds(out, "\xe2\x96\x81");
        else
            sb_addc(out, p[i]);
    }
}

static void vocab_llama2c(const struct tokenizer *tok, struct vocab_entry *v)
{
    for (int id = 0; id < tok->vocab_size; id++) {
        struct vocab_entry *e = &v[id];
        e->score = tok->scores[id];
        if (id == tok->bos_id || id == tok->eos_id) {
            sb_adds(&e->text, id == tok->bos_id ? "<s>" : "</s>");
            e->type = TT_CONTROL;
        } else if (id == 0) {
            sb_adds(&e->text, "<unk>");
            e->type = TT_UNKNOWN;
        } else if (is_byte_piece(tok->pieces[id], tok->piece_len[id])) {
            sb_add(&e->text, tok->pieces[id], (size_t)tok->piece_len[id]);
            e->type = TT_BYTE;
        } else {
            spm_piece(&e->text, tok->pieces[id], tok->piece_len[id]);
            e->type = TT_NORMAL;
        }
    }
}

static void vocab_bytes(const struct tokenizer *tok, struct vocab_entry *v)
{
    for (int id = 0; id < tok->vocab_size; id++) {
        struct vocab_entry *e = &v[id];
        if (id == ' ') {
            sb_adds(&e->text, "\xe2\x96\x81");
            e->type = TT_NORMAL;
        } else if (id < 256) {
            sb_addf(&e->text, "<0x%02X>", id);
            e->type = TT_BYTE;
        } else if (id == tok->bos_id || id == tok->eos_id || id == tok->pad_id) {
            sb_adds(&e->text, id == tok->bos_id ? "<s>" : id == tok->eos_id ? "</s>" : "<pad>");
            e->type = TT_CONTROL;
        } else {
            sb_addf(&e->text, "<unused%d>", id);
            e->type = TT_UNUSED;
        }
    }
}

static int kv_tokenizer(struct kv *kv, const struct tokenizer *tok, const char *chat_template,
                        const char *path, struct strbuf *err)
{
    if (tok->kind != TOKENIZER_LLAMA2C && tok->kind != TOKENIZER_BYTES) {
        sb_addf(err, "%s: the model has no tokenizer GGUF can hold", path);
        return -1;
    }
    size_t V = (size_t)tok->vocab_size;
    struct vocab_entry *v = xcalloc(V, sizeof(*v));
    if (tok->kind == TOKENIZER_LLAMA2C)
        vocab_llama2c(tok, v);
    else
        vocab_bytes(tok, v);
    kv_str(kv, "tokenizer.ggml.model", "llama");
    kv_array(kv, "tokenizer.ggml.tokens", GV_STRING, V);
    for (size_t i = 0; i < V; i++)
        put_str(&kv->sb, v[i].text.buf ? v[i].text.buf : "", v[i].text.len);
    kv_array(kv, "tokenizer.ggml.scores", GV_FLOAT32, V);
    for (size_t i = 0; i < V; i++)
        put_f32(&kv->sb, v[i].score);
    kv_array(kv, "tokenizer.ggml.token_type", GV_INT32, V);
    for (size_t i = 0; i < V; i++)
        put_i32(&kv->sb, v[i].type);
    for (size_t i = 0; i < V; i++)
        sb_free(&v[i].text);
    free(v);
    if (tok->bos_id >= 0)
        kv_u32(kv, "tokenizer.ggml.bos_token_id", (uint32_t)tok->bos_id);
    if (tok->eos_id >= 0)
        kv_u32(kv, "tokenizer.ggml.eos_token_id", (uint32_t)tok->eos_id);
    if (tok->kind == TOKENIZER_LLAMA2C)
        kv_u32(kv, "tokenizer.ggml.unknown_token_id", 0);
    if (tok->pad_id >= 0)
        kv_u32(kv, "tokenizer.ggml.padding_token_id", (uint32_t)tok->pad_id);
    kv_bool(kv, "tokenizer.ggml.add_bos_token", tok->bos_id >= 0);
    kv_bool(kv, "tokenizer.ggml.add_eos_token", 0);
    kv_bool(kv, "tokenizer.ggml.add_space_prefix", tok->kind == TOKENIZER_LLAMA2C);
    if (chat_template)
        kv_str(kv, "tokenizer.chat_template", chat_template);
    return 0;
}

static void kv_model(struct kv *kv, const struct model_config *c, const struct gguf_options *o)
{
    kv_str(kv, "general.architecture", "llama");
    kv_str(kv, "general.name", o->name ? o->name : "mainline");
    kv_u32(kv, "general.file_type", file_type(o->quant));
    kv_u32(kv, "general.quantization_version", 2);
    kv_u32(kv, "general.alignment", GGUF_ALIGNMENT);
    kv_u32(kv, "llama.context_length", (uint32_t)c->max_seq_len);
    kv_u32(kv, "llama.embedding_length", (uint32_t)c->dim);
    kv_u32(kv, "llama.block_count", (uint32_t)c->n_layers);
    kv_u32(kv, "llama.feed_forward_length", (uint32_t)c->hidden_dim);
    kv_u32(kv, "llama.attention.head_count", (uint32_t)c->n_heads);
    kv_u32(kv, "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads);
    kv_f32(kv, "llama.attention.layer_norm_rms_epsilon", c->norm_eps);
    kv_f32(kv, "llama.rope.freq_base", c->rope_theta);
    kv_u32(kv, "llama.rope.dimension_count", (uint32_t)(c->dim / c->n_heads));
    kv_u32(kv, "llama.vocab_size", (uint32_t)c->vocab_size);
}

/* ---- tensors ---- */

void gguf_tensor_name(enum tensor_kind k, int layer, char *buf, size_t len)
{
    static const char *const names[TK_COUNT] = {
        [TK_EMBED] = "token_embd", [TK_ATTN_NORM] = "attn_norm", [TK_WQ] = "attn_q",
        [TK_WK] = "attn_k", [TK_WV] = "attn_v", [TK_WO] = "attn_output",
        [TK_MLP_NORM] = "ffn_norm", [TK_GATE] = "ffn_gate", [TK_UP] = "ffn_up",
        [TK_DOWN] = "ffn_down", [TK_FINAL_NORM] = "output_norm", [TK_LM_HEAD] = "output",
    };
    if (tensor_kind_is_per_layer(k))
        snprintf(buf, len, "blk.%d.%s.weight", layer, names[k]);
    else
        snprintf(buf, len, "%s.weight", names[k]);
}

struct out_tensor {
    enum tensor_kind kind;
    int layer;
    char name[96];
    size_t rows, cols;
    enum quant_type type;
    uint64_t offset;             /* in the data section */
};

static uint64_t align_up(uint64_t x)
{
    return (x + GGUF_ALIGNMENT - 1) / GGUF_ALIGNMENT * GGUF_ALIGNMENT;
}

/* llama.cpp's order: the embedding, each block, the final norm and output. */
static size_t plan_tensors(const struct model *m, enum quant_type q, struct out_tensor *out,
                           struct gguf_info *info)
{
    static const enum tensor_kind block[] = {
        TK_ATTN_NORM, TK_WQ, TK_WK, TK_WV, TK_WO, TK_MLP_NORM, TK_GATE, TK_UP, TK_DOWN,
    };
    size_t n = 0;
    const struct model_config *c = &m->cfg;
    out[n++] = (struct out_tensor){ .kind = TK_EMBED, .layer = -1 };
    for (int l = 0; l < c->n_layers; l++)
        for (size_t i = 0; i < sizeof(block) / sizeof(block[0]); i++)
            out[n++] = (struct out_tensor){ .kind = block[i], .layer = l };
    out[n++] = (struct out_tensor){ .kind = TK_FINAL_NORM, .layer = -1 };
    if (!c->tied_embeddings)
        out[n++] = (struct out_tensor){ .kind = TK_LM_HEAD, .layer = -1 };
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        struct out_tensor *t = &out[i];
        gguf_tensor_name(t->kind, t->layer, t->name, sizeof(t->name));
        model_tensor_shape(c, t->kind, &t->rows, &t->cols);
        if (t->cols == 1) {
            t->type = QUANT_F32;
        } else if (quant_row_ok(q, t->cols)) {
            t->type = q;
            info->quantized++;
        } else {
            t->type = QUANT_F16;
            if (!info->kept++)
                snprintf(info->kept_example, sizeof(info->kept_example), "%s", t->name);
        }
        t->offset = off;
        off = align_up(off + quant_row_bytes(t->type, t->rows * t->cols));
    }
    return n;
}

static void put_tensor_info(struct strbuf *sb, const struct out_tensor *t)
{
    put_str(sb, t->name, strlen(t->name));
    if (t->cols == 1) {              /* ggml's ne[0] is the innermost (row) length */
        put_u32(sb, 1);
        put_u64(sb, t->rows);
    } else {
        put_u32(sb, 2);
        put_u64(sb, t->cols);
        put_u64(sb, t->rows);
    }
    put_u32(sb, t->type);
    put_u64(sb, t->offset);
}

/* The rows of a q or k projection reordered per head from rotate_half pairs
 * (i, i + HS/2) to adjacent pairs (2i, 2i + 1): the inverse of model_io.c's
 * permutation of llama2.c checkpoints. */
static void permute_to_adjacent(const float *w, float *out, int heads, int hs, size_t cols)
{
    for (int h = 0; h < heads; h++) {
        const float *src = w + (size_t)h * (size_t)hs * cols;
        float *dst = out + (size_t)h * (size_t)hs * cols;
        for (int i = 0; i < hs / 2; i++) {
            memcpy(dst + (size_t)(2 * i) * cols, src + (size_t)i * cols, cols * sizeof(float));
            memcpy(dst + (size_t)(2 * i + 1) * cols, src + (size_t)(hs / 2 + i) * cols,
                   cols * sizeof(float));
        }
    }
}

/* Append tensor t's bytes (and the padding after it) to the file. */
static void write_tensor(struct atomic_file *af, const struct model *m,
                         const struct out_tensor *t, float *scratch, uint8_t *buf)
{
    const struct model_config *c = &m->cfg;
    const float *src = model_tensor(m, t->kind, t->layer).data;
    if (t->kind == TK_WQ || t->kind == TK_WK) {
        permute_to_adjacent(src, scratch, t->kind == TK_WQ ? c->n_heads : c->n_kv_heads,
                            c->dim / c->n_heads, t->cols);
        src = scratch;
    }
    size_t row_bytes = quant_row_bytes(t->type, t->cols);
    for (size_t r = 0; r < t->rows; r++)
        quant_row(t->type, src + r * t->cols, t->cols, buf + r * row_bytes);
    size_t bytes = row_bytes * t->rows;
    size_t pad = (size_t)(align_up(bytes) - bytes);
    memset(buf + bytes, 0, pad);
    atomic_write(af, buf, bytes + pad);
}

static size_t largest_tensor(const struct out_tensor *t, size_t n)
{
    size_t most = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i].rows * t[i].cols > most)
            most = t[i].rows * t[i].cols;
    return most;
}

int gguf_write_model(const char *path, const struct model *m, const struct tokenizer *tok,
                     const struct gguf_options *opt, struct gguf_info *info,
                     struct strbuf *err)
{
    memset(info, 0, sizeof(*info));
    const struct model_config *c = &m->cfg;
    if (tok->vocab_size != c->vocab_size) {
        sb_addf(err, "%s: the tokenizer has %d tokens, the model %d", path, tok->vocab_size,
                c->vocab_size);
        return -1;
    }
    struct kv kv = { STRBUF_INIT, 0 };
    kv_model(&kv, c, opt);
    if (kv_tokenizer(&kv, tok, opt->chat_template, path, err) < 0) {
        sb_free(&kv.sb);
        return -1;
    }
    struct out_tensor *t = xcalloc((size_t)c->n_layers * 9 + 3, sizeof(*t));
    size_t n = plan_tensors(m, opt->quant, t, info);

    struct strbuf head = STRBUF_INIT;
    sb_add(&head, "GGUF", 4);
    put_u32(&head, GGUF_VERSION);
    put_u64(&head, n);
    put_u64(&head, kv.n);
    sb_add(&head, kv.sb.buf, kv.sb.len);
    sb_free(&kv.sb);
    for (size_t i = 0; i < n; i++)
        put_tensor_info(&head, &t[i]);
    size_t pad = (size_t)(align_up(head.len) - head.len);
    for (size_t i = 0; i < pad; i++)
        sb_addc(&head, 0);

    struct atomic_file af;
    int rc = atomic_open(&af, path, err);
    if (rc == 0) {
        size_t most = largest_tensor(t, n);
        float *scratch = xmalloc(most * sizeof(float));
        uint8_t *buf = xmalloc(quant_row_bytes(QUANT_F32, most) + GGUF_ALIGNMENT);
        atomic_write(&af, head.buf, head.len);
        uint64_t total = head.len;
        for (size_t i = 0; i < n; i++) {
            write_tensor(&af, m, &t[i], scratch, buf);
            total += align_up(quant_row_bytes(t[i].type, t[i].rows * t[i].cols));
        }
        free(scratch);
        free(buf);
        rc = atomic_commit(&af, err);
        info->tensors = n;
        info->bytes = total;
    }
    sb_free(&head);
    free(t);
    return rc;
}
