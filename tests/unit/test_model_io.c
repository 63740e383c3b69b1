/*
 * test_model_io.c - unit tests for model/model_io.c.
 *
 * The real llama2.c stories260K checkpoint (skipped with a "skip:" line when it is
 * absent: stories260k.h), the example tiny-base safetensors model, save/load
 * round trips that must be bit-exact, Hugging Face files with a missing, extra or
 * misshapen tensor, and the RoPE row permutation applied to llama2.c q/k weights,
 * checked numerically against both RoPE conventions on a small hand-written
 * checkpoint. Everything written lives under one mkdtemp directory.
 */
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "model_io.h"
#include "safetensors.h"
#include "stories260k.h"
#include "testhelp.h"
#include "tokenizer.h"

#define TINY_BASE "sweeps/models/tiny-base"

static char tmp_root[PATH_MAX];
static char shared_dir[PATH_MAX];   /* .../models/stories260K, "" when absent */
static uint32_t rng_state = 42;

/* ---- helpers ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static char *tmp_path(const char *name)
{
    return path_join(tmp_root, name);
}

static char *stories_path(const char *name)
{
    return path_join(shared_dir, name);
}

static float rand_float(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void fill_random(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = rand_float();
}

static int contains(const struct strbuf *sb, const char *needle)
{
    int found = strstr(sb_str(sb), needle) != NULL;
    if (!found)
        fprintf(stderr, "    message: %s\n    missing: %s\n", sb_str(sb), needle);
    return found;
}

static int config_equal(const struct model_config *a, const struct model_config *b)
{
    return a->dim == b->dim && a->hidden_dim == b->hidden_dim && a->n_layers == b->n_layers &&
           a->n_heads == b->n_heads && a->n_kv_heads == b->n_kv_heads &&
           a->vocab_size == b->vocab_size && a->max_seq_len == b->max_seq_len &&
           a->norm_eps == b->norm_eps && a->rope_theta == b->rope_theta &&
           a->tied_embeddings == b->tied_embeddings && a->bos_id == b->bos_id &&
           a->eos_id == b->eos_id;
}

/* Save m to tmp/name, load it back, and require the same config and slab bytes. */
static void check_save_load(const struct model *m, const char *name)
{
    struct model back;
    struct strbuf err = STRBUF_INIT;
    char *dir = tmp_path(name);
    CHECK_INT(model_save(dir, m, &err), 0);
    CHECK_INT(model_load(dir, &back, &err), 0);
    CHECK_STR(sb_str(&err), "");
    CHECK(config_equal(&m->cfg, &back.cfg));
    CHECK_INT(back.n_params, m->n_params);
    CHECK(back.n_params == m->n_params &&
          memcmp(back.slab, m->slab, m->n_params * sizeof(float)) == 0);
    CHECK((back.w.lm_head == back.w.embed) == (m->cfg.tied_embeddings != 0));
    model_free(&back);
    free(dir);
    sb_free(&err);
}

static struct model_config small_config(int tied)
{
    struct model_config c = {
        .dim = 16, .hidden_dim = 24, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
        .vocab_size = 11, .max_seq_len = 32, .norm_eps = 1e-6f, .rope_theta = 500000.0f,
        .tied_embeddings = tied, .bos_id = 1, .eos_id = -1,
    };
    return c;
}

/* ---- llama2.c checkpoints ---- */

static void test_stories260k(void)
{
    struct model m;
    struct strbuf err = STRBUF_INIT;
    char *path = stories_path("stories260K.bin");
    char *raw = NULL;
    size_t raw_len = 0;
    CHECK_INT(model_load(path, &m, &err), 0);
    CHECK_STR(sb_str(&err), "");
    CHECK(m.cfg.dim == 64 && m.cfg.hidden_dim == 172 && m.cfg.n_layers == 5);
    CHECK(m.cfg.n_heads == 8 && m.cfg.n_kv_heads == 4 && m.cfg.vocab_size == 512);
    CHECK_INT(m.cfg.max_seq_len, 512);
    CHECK_INT(m.n_params, 260032);
    CHECK(m.cfg.tied_embeddings && m.w.lm_head == m.w.embed);
    CHECK(m.cfg.norm_eps == 1e-5f && m.cfg.rope_theta == 10000.0f);
    CHECK(m.cfg.bos_id == 1 && m.cfg.eos_id == 2);
    /* spot checks against the raw file: embedding first, then wq row 1 == file row 2 */
    CHECK_INT(read_file(path, &raw, &raw_len, &err), 0);
    const float *file = (const float *)(raw + 28);
    size_t C = 64, wq_at = 512 * C + 5 * C;
    CHECK(memcmp(m.w.embed, file, 512 * C * sizeof(float)) == 0);
    CHECK(memcmp(m.w.wq + 1 * C, file + wq_at + 2 * C, C * sizeof(float)) == 0);
    CHECK(memcmp(m.w.wq + 4 * C, file + wq_at + 1 * C, C * sizeof(float)) == 0);
    CHECK(memcmp(m.w.final_norm, file + 260032 - C, C * sizeof(float)) == 0);
    check_save_load(&m, "stories-hf");
    model_free(&m);
    free(raw);
    free(path);
    sb_free(&err);
}

static void test_size_mismatch(void)
{
    struct model m;
    struct strbuf err = STRBUF_INIT;
    char *src = stories_path("stories260K.bin"), *dst = tmp_path("cut.bin");
    char *data = NULL;
    size_t len = 0;
    CHECK_INT(read_file(src, &data, &len, &err), 0);
    CHECK_INT(write_file_atomic(dst, data, len - 4, &err), 0);
    CHECK_INT(model_load(dst, &m, &err), -1);
    CHECK(contains(&err, "cut.bin: file is 1056536 bytes"));
    CHECK(contains(&err, "has 1056540"));
    CHECK(m.slab == NULL);
    sb_reset(&err);
    CHECK_INT(write_file_atomic(dst, data, 20, &err), 0);
    CHECK_INT(model_load(dst, &m, &err), -1);
    CHECK(contains(&err, "truncated llama2.c header"));
    sb_reset(&err);
    memset(data + 4, 0xff, 4);   /* hidden_dim -1 */
    CHECK_INT(write_file_atomic(dst, data, len, &err), 0);
    CHECK_INT(model_load(dst, &m, &err), -1);
    CHECK(contains(&err, "not a llama2.c checkpoint"));
    free(data);
    free(src);
    free(dst);
    sb_free(&err);
}

/* ---- RoPE permutation ---- */

/* llama2.c run.c: rotate adjacent pairs (2i, 2i+1) of each head. */
static void rope_llama2c(double *v, int n, int hs, int pos)
{
    for (int i = 0; i < n; i += 2) {
        double freq = 1.0 / pow(10000.0, (double)(i % hs) / hs);
        double c = cos(pos * freq), s = sin(pos * freq), v0 = v[i], v1 = v[i + 1];
        v[i] = v0 * c - v1 * s;
        v[i + 1] = v0 * s + v1 * c;
    }
}

/* Hugging Face rotate_half: element i pairs with i + hs/2 in each head. */
static void rope_hf(double *v, int n, int hs, int pos)
{
    for (int h = 0; h < n / hs; h++) {
        double *x = v + h * hs;
        for (int i = 0; i < hs / 2; i++) {
            double freq = 1.0 / pow(10000.0, 2.0 * i / hs);
            double c = cos(pos * freq), s = sin(pos * freq), a = x[i], b = x[i + hs / 2];
            x[i] = a * c - b * s;
            x[i + hs / 2] = b * c + a * s;
        }
    }
}

static void matvec(const float *w, const float *x, int rows, int cols, double *out)
{
    for (int r = 0; r < rows; r++) {
        out[r] = 0;
        for (int c = 0; c < cols; c++)
            out[r] += (double)w[r * cols + c] * x[c];
    }
}

enum { RC = 32, RH = 24, RNH = 4, RNKV = 2, RV = 10, RSEQ = 8, RHS = RC / RNH,
       RKV = RHS * RNKV };

/* Floats of each llama2.c section of the hand-made checkpoint, in file order. */
static const size_t rope_sections[] = {
    RV * RC, RC, RC * RC, RKV * RC, RKV * RC, RC * RC, RC, RH * RC, RC * RH, RH * RC, RC,
    RSEQ * RHS, RV * RC,
};
enum { S_EMBED, S_ATT_NORM, S_WQ, S_WK, S_WV, S_WO, S_FFN_NORM, S_W1, S_W2, S_W3,
       S_FINAL, S_ROPE, S_WCLS, S_COUNT };

/* Write a one-layer untied llama2.c checkpoint of random floats; *sec points at
 * each section of the returned buffer (caller frees). */
static float *write_rope_checkpoint(const char *path, float *sec[S_COUNT])
{
    int32_t hdr[7] = { RC, RH, 1, RNH, RNKV, -RV, RSEQ };
    size_t total = 0;
    for (int s = 0; s < S_COUNT; s++)
        total += rope_sections[s];
    float *all = xmalloc(total * sizeof(float));
    fill_random(all, total);
    for (int s = 0, off = 0; s < S_COUNT; off += (int)rope_sections[s], s++)
        sec[s] = all + off;
    struct strbuf sb = STRBUF_INIT, err = STRBUF_INIT;
    sb_add(&sb, hdr, sizeof(hdr));
    sb_add(&sb, all, total * sizeof(float));
    if (write_file_atomic(path, sb.buf, sb.len, &err) < 0)
        fprintf(stderr, "  setup: %s\n", sb_str(&err));
    sb_free(&sb);
    sb_free(&err);
    return all;
}

/* Row j of a permuted head came from this row of the llama2.c head. */
static int source_row(int j)
{
    return j < RHS / 2 ? 2 * j : 2 * (j - RHS / 2) + 1;
}

/* q (or k) at pos through both conventions: the same vector up to source_row(). */
static double rope_max_diff(const float *w_file, const float *w_loaded, int rows,
                            const float *x, int pos, double *l2c, double *hf)
{
    double diff = 0;
    matvec(w_file, x, rows, RC, l2c);
    matvec(w_loaded, x, rows, RC, hf);
    rope_llama2c(l2c, rows, RHS, pos);
    rope_hf(hf, rows, RHS, pos);
    for (int h = 0; h < rows / RHS; h++) {
        for (int j = 0; j < RHS; j++)
            diff = fmax(diff, fabs(hf[h * RHS + j] - l2c[h * RHS + source_row(j)]));
    }
    return diff;
}

/* Attention scores q_h . k_g (query head h reads kv head h / (NH / NKV)). */
static double score_max_diff(const double *q1, const double *k1, const double *q2,
                             const double *k2)
{
    double diff = 0;
    for (int h = 0; h < RNH; h++) {
        int g = h / (RNH / RNKV);
        double s1 = 0, s2 = 0;
        for (int j = 0; j < RHS; j++) {
            s1 += q1[h * RHS + j] * k1[g * RHS + j];
            s2 += q2[h * RHS + j] * k2[g * RHS + j];
        }
        diff = fmax(diff, fabs(s1 - s2));
    }
    return diff;
}

static void test_rope_permutation(void)
{
    float *sec[S_COUNT], x[RC], y[RC];
    double ql[RC], qh[RC], kl[RKV], kh[RKV];
    struct model m;
    struct strbuf err = STRBUF_INIT;
    char *path = tmp_path("rope.bin");
    float *all = write_rope_checkpoint(path, sec);
    CHECK_INT(model_load(path, &m, &err), 0);
    CHECK_STR(sb_str(&err), "");
    CHECK(!m.cfg.tied_embeddings && m.cfg.vocab_size == RV);
    /* every other tensor lands unpermuted, w1/w2/w3 as gate/down/up, wcls last */
    CHECK(memcmp(m.w.embed, sec[S_EMBED], RV * RC * sizeof(float)) == 0);
    CHECK(memcmp(m.w.wv, sec[S_WV], RKV * RC * sizeof(float)) == 0);
    CHECK(memcmp(m.w.wo, sec[S_WO], RC * RC * sizeof(float)) == 0);
    CHECK(memcmp(m.w.gate, sec[S_W1], RH * RC * sizeof(float)) == 0);
    CHECK(memcmp(m.w.down, sec[S_W2], RC * RH * sizeof(float)) == 0);
    CHECK(memcmp(m.w.up, sec[S_W3], RH * RC * sizeof(float)) == 0);
    CHECK(memcmp(m.w.final_norm, sec[S_FINAL], RC * sizeof(float)) == 0);
    CHECK(memcmp(m.w.lm_head, sec[S_WCLS], RV * RC * sizeof(float)) == 0);
    CHECK(memcmp(m.w.wq, sec[S_WQ], RC * RC * sizeof(float)) != 0);
    fill_random(x, RC);
    fill_random(y, RC);
    for (int pos = 0; pos < RSEQ; pos++) {
        CHECK_NEAR(rope_max_diff(sec[S_WQ], m.w.wq, RC, x, pos, ql, qh), 0, 1e-12);
        CHECK_NEAR(rope_max_diff(sec[S_WK], m.w.wk, RKV, y, 3, kl, kh), 0, 1e-12);
        CHECK_NEAR(score_max_diff(ql, kl, qh, kh), 0, 1e-9);
    }
    check_save_load(&m, "rope-hf");
    model_free(&m);
    free(all);
    free(path);
    sb_free(&err);
}

/* ---- Hugging Face layout ---- */

static void test_tiny_base(void)
{
    struct model m;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(model_load(TINY_BASE, &m, &err), 0);
    CHECK_STR(sb_str(&err), "");
    CHECK(m.cfg.dim == 32 && m.cfg.hidden_dim == 64 && m.cfg.n_layers == 2);
    CHECK(m.cfg.n_heads == 4 && m.cfg.n_kv_heads == 2 && m.cfg.vocab_size == 260);
    CHECK(m.cfg.max_seq_len == 256 && m.cfg.tied_embeddings);
    CHECK(m.cfg.bos_id == 256 && m.cfg.eos_id == 257);
    CHECK(m.cfg.norm_eps == 1e-5f && m.cfg.rope_theta == 10000.0f);
    CHECK(m.w.attn_norm[0] == 1.0f && m.w.final_norm[31] == 1.0f);
    CHECK(m.w.embed[0] != 0.0f && fabsf(m.w.embed[0]) < 0.2f);
    struct model m2;
    CHECK_INT(model_load(TINY_BASE "/model.safetensors", &m2, &err), 0);
    CHECK(m2.n_params == m.n_params &&
          memcmp(m2.slab, m.slab, m.n_params * sizeof(float)) == 0);
    check_save_load(&m, "tiny-base-copy");
    model_free(&m2);
    model_free(&m);
    sb_free(&err);
}

static void test_round_trip(void)
{
    for (int tied = 0; tied <= 1; tied++) {
        struct model_config cfg = small_config(tied);
        struct model m;
        CHECK_INT(model_alloc(&m, &cfg), 0);
        fill_random(m.slab, m.n_params);
        check_save_load(&m, tied ? "rt-tied" : "rt-untied");
        check_save_load(&m, tied ? "rt-tied" : "rt-untied");   /* over an existing dir */
        model_free(&m);
    }
    struct model_config cfg = small_config(0);
    struct model m;
    struct strbuf err = STRBUF_INIT;
    char *nested = tmp_path("a/b/c");
    CHECK_INT(model_alloc(&m, &cfg), 0);
    CHECK_INT(model_save(nested, &m, &err), 0);   /* creates parents */
    model_free(&m);
    free(nested);
    sb_free(&err);
}

/* Rewrite dir/model.safetensors from m, dropping `skip`, giving `bad` a wrong
 * shape and adding `extra` (each may be NULL). */
static void write_variant(const char *dir, const struct model *m, const char *skip,
                          const char *bad, const char *extra)
{
    struct sft_entry e[64];
    char names[64][128];
    size_t n = 0;
    struct strbuf err = STRBUF_INIT;
    for (int k = 0; k < TK_COUNT; k++) {
        int layers = tensor_kind_is_per_layer((enum tensor_kind)k) ? m->cfg.n_layers : 1;
        if (!model_has_kind(&m->cfg, (enum tensor_kind)k))
            continue;
        for (int l = 0; l < layers && !(k == TK_LM_HEAD && m->cfg.tied_embeddings); l++) {
            struct tensor_ref t = model_tensor(m, (enum tensor_kind)k, l);
            model_tensor_name(t.kind, l, names[n], sizeof(names[n]));
            if (skip && strcmp(names[n], skip) == 0)
                continue;
            int vec = t.cols == 1;
            int swap = bad && strcmp(names[n], bad) == 0;
            e[n] = (struct sft_entry){ names[n], vec ? 1 : 2,
                                       { swap ? t.cols : t.rows, swap ? t.rows : t.cols },
                                       t.data };
            n++;
        }
    }
    if (extra)
        e[n++] = (struct sft_entry){ extra, 1, { 1 }, m->slab };
    char *path = path_join(dir, "model.safetensors");
    if (sft_write(path, e, n, NULL, 0, &err) < 0)
        fprintf(stderr, "  setup: %s\n", sb_str(&err));
    free(path);
    sb_free(&err);
}

/* Save m, rewrite its weights as write_variant() does, and load it back. */
static int load_variant(const struct model *m, const char *skip, const char *bad,
                        const char *extra, struct strbuf *err)
{
    struct model back;
    char *dir = tmp_path("variant");
    CHECK_INT(model_save(dir, m, err), 0);
    write_variant(dir, m, skip, bad, extra);
    int rc = model_load(dir, &back, err);
    CHECK(rc == 0 || back.slab == NULL);
    model_free(&back);
    free(dir);
    return rc;
}

/* model_load of a variant of m must fail with a message containing want. */
static void expect_hf_reject(const struct model *m, const char *skip, const char *bad,
                             const char *extra, const char *want)
{
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(load_variant(m, skip, bad, extra, &err), -1);
    CHECK(contains(&err, want));
    CHECK(contains(&err, "variant/model.safetensors"));
    sb_free(&err);
}

static void test_hf_refuses(void)
{
    struct model_config cfg = small_config(0);
    struct model m;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(model_alloc(&m, &cfg), 0);
    fill_random(m.slab, m.n_params);
    CHECK_INT(load_variant(&m, NULL, NULL, NULL, &err), 0);   /* the helper itself is sound */
    CHECK_STR(sb_str(&err), "");
    expect_hf_reject(&m, "model.layers.1.mlp.up_proj.weight", NULL, NULL,
                     "missing tensor 'model.layers.1.mlp.up_proj.weight'");
    expect_hf_reject(&m, NULL, "model.layers.0.self_attn.k_proj.weight", NULL,
                     "tensor 'model.layers.0.self_attn.k_proj.weight': shape [16, 8], "
                     "expected [8, 16]");
    expect_hf_reject(&m, NULL, NULL, "model.layers.0.self_attn.q_proj.bias",
                     "unexpected tensor 'model.layers.0.self_attn.q_proj.bias'");
    expect_hf_reject(&m, NULL, NULL, "model.layers.2.mlp.up_proj.weight",
                     "unexpected tensor 'model.layers.2.mlp.up_proj.weight'");
    model_free(&m);
    sb_free(&err);
}

/* lm_head.weight absent means tied whatever config.json says; present while the
 * config says tied is an error that names it. */
static void test_hf_tying(void)
{
    struct model_config cfg = small_config(0);
    struct model m, back;
    struct strbuf err = STRBUF_INIT;
    char *dir = tmp_path("untie");
    CHECK_INT(model_alloc(&m, &cfg), 0);
    fill_random(m.slab, m.n_params);
    CHECK_INT(model_save(dir, &m, &err), 0);
    write_variant(dir, &m, "lm_head.weight", NULL, NULL);
    CHECK_INT(model_load(dir, &back, &err), 0);
    CHECK_STR(sb_str(&err), "");
    CHECK(back.cfg.tied_embeddings && back.w.lm_head == back.w.embed);
    CHECK(memcmp(back.w.embed, m.w.embed, 11 * 16 * sizeof(float)) == 0);
    model_free(&back);
    model_free(&m);
    cfg = small_config(1);
    CHECK_INT(model_alloc(&m, &cfg), 0);
    expect_hf_reject(&m, NULL, NULL, "lm_head.weight",
                     "unexpected tensor 'lm_head.weight' (config.json says tie_word_embeddings)");
    model_free(&m);
    free(dir);
    sb_free(&err);
}

static void write_config(const char *dir, const char *json)
{
    struct strbuf err = STRBUF_INIT;
    char *path = path_join(dir, "config.json");
    if (write_file_atomic(path, json, strlen(json), &err) < 0)
        fprintf(stderr, "  setup: %s\n", sb_str(&err));
    free(path);
    sb_free(&err);
}

/* Every Hugging Face option round-trips through model_save / model_load, and the
 * config.json written names the architecture and its options. */
static void test_hf_arch_round_trip(void)
{
    static const int archs[] = { ARCH_LLAMA, ARCH_QWEN2, ARCH_QWEN3, ARCH_MISTRAL };
    for (size_t i = 0; i < sizeof(archs) / sizeof(archs[0]); i++) {
        struct model_config cfg = small_config((int)i % 2);
        cfg.arch = archs[i];
        cfg.head_dim = archs[i] == ARCH_QWEN3 ? 6 : 0;
        cfg.qkv_bias = archs[i] == ARCH_QWEN2 || archs[i] == ARCH_LLAMA;
        cfg.o_bias = archs[i] == ARCH_LLAMA;
        cfg.qk_norm = archs[i] == ARCH_QWEN3;
        cfg.sliding_window = archs[i] == ARCH_MISTRAL ? 4 : 0;
        if (archs[i] == ARCH_LLAMA) {
            cfg.rope_scaling = ROPE_LLAMA3;
            cfg.rope_factor = 32;
            cfg.rope_low_freq_factor = 1;
            cfg.rope_high_freq_factor = 4;
            cfg.rope_original_max_pos = 8192;
        }
        struct model m, back;
        struct strbuf err = STRBUF_INIT;
        char *dir = tmp_path("arch");
        CHECK_INT(model_alloc(&m, &cfg), 0);
        fill_random(m.slab, m.n_params);
        CHECK_INT(model_save(dir, &m, &err), 0);
        CHECK_INT(model_load(dir, &back, &err), 0);
        CHECK_STR(sb_str(&err), "");
        CHECK(memcmp(&back.cfg, &m.cfg, sizeof(cfg)) == 0);
        CHECK(back.n_params == m.n_params &&
              memcmp(back.slab, m.slab, m.n_params * sizeof(float)) == 0);
        CHECK(!model_has_kind(&cfg, TK_BO) || back.w.bo[0] == m.w.bo[0]);
        model_free(&back);
        model_free(&m);
        free(dir);
        sb_free(&err);
    }
}

static void test_hf_config_refuses(void)
{
    static const char *const cases[][2] = {
        { "{\"hidden_size\": 16}", "\"intermediate_size\" is missing" },
        { "{\"hidden_size\": 16, \"intermediate_size\": \"24\"}", "\"intermediate_size\"" },
        { "[1]", "not a JSON object" },
        { "{\"hidden_size\": 16, \"intermediate_size\": 24, \"num_hidden_layers\": 2, "
          "\"num_attention_heads\": 4, \"vocab_size\": 11, \"max_position_embeddings\": 8, "
          "\"rope_scaling\": {\"type\": \"linear\"}}",
          "\"rope_scaling\": rope_type \"linear\" is not supported" },
        { "{\"hidden_size\": 16, \"intermediate_size\": 24, \"num_hidden_layers\": 2, "
          "\"num_attention_heads\": 4, \"vocab_size\": 11, \"max_position_embeddings\": 8, "
          "\"model_type\": \"qwen3_moe\", \"num_experts\": 8}",
          "\"model_type\": \"qwen3_moe\" is not supported" },
        { "{\"hidden_size\": 16, \"intermediate_size\": 24, \"num_hidden_layers\": 2, "
          "\"num_attention_heads\": 4, \"vocab_size\": 11, \"max_position_embeddings\": 8, "
          "\"model_type\": \"mistral\", \"num_local_experts\": 8}",
          "\"num_local_experts\": mixture-of-experts models are not supported" },
        { "{\"hidden_size\": 16, \"intermediate_size\": 24, \"num_hidden_layers\": 2, "
          "\"num_attention_heads\": 4, \"vocab_size\": 11, \"max_position_embeddings\": 8, "
          "\"mlp_bias\": true}", "\"mlp_bias\": true is not supported" },
        { "{\"hidden_size\": 16, \"intermediate_size\": 24, \"num_hidden_layers\": 2, "
          "\"num_attention_heads\": 4, \"vocab_size\": 11, \"max_position_embeddings\": 8, "
          "\"model_type\": \"qwen2\", \"use_sliding_window\": true}",
          "\"use_sliding_window\": true is not supported" },
        { "{\"hidden_size\": 16, \"intermediate_size\": 24, \"num_hidden_layers\": 2, "
          "\"num_attention_heads\": 4, \"vocab_size\": 11, \"max_position_embeddings\": 8, "
          "\"num_key_value_heads\": 2, \"model_type\": \"qwen3\"}",
          "missing tensor 'model.layers.0.self_attn.q_norm.weight'" },
        { "{\"hidden_size\": 16, \"intermediate_size\": 24, \"num_hidden_layers\": 2, "
          "\"num_attention_heads\": 3, \"vocab_size\": 11, \"max_position_embeddings\": 8}",
          "dim must be a multiple of n_heads" },
        /* a huge config over a tiny file fails on shapes, before any allocation */
        { "{\"hidden_size\": 65536, \"intermediate_size\": 262144, \"num_hidden_layers\": "
          "1024, \"num_attention_heads\": 4, \"vocab_size\": 4194304, "
          "\"max_position_embeddings\": 8}",
          "tensor 'model.embed_tokens.weight': shape [11, 16], expected [4194304, 65536]" },
    };
    struct model_config cfg = small_config(1);
    struct model m, back;
    struct strbuf err = STRBUF_INIT;
    char *dir = tmp_path("badcfg");
    CHECK_INT(model_alloc(&m, &cfg), 0);
    CHECK_INT(model_save(dir, &m, &err), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sb_reset(&err);
        write_config(dir, cases[i][0]);
        CHECK_INT(model_load(dir, &back, &err), -1);
        CHECK(contains(&err, cases[i][1]));
        CHECK(contains(&err, "badcfg/"));
    }
    model_free(&m);
    free(dir);
    sb_free(&err);
}

/* Keys mainline does not model survive a load/save cycle through the extras. */
static void test_config_extras(void)
{
    struct model m, back;
    struct tokenizer tok;
    struct strbuf err = STRBUF_INIT;
    char *extra = NULL, *dir = tmp_path("tiny-extras"), *text = NULL;
    size_t len;
    CHECK_INT(model_load(TINY_BASE, &m, &err), 0);
    CHECK_INT(model_config_extras(TINY_BASE, &extra, &err), 0);
    CHECK(extra && strstr(extra, "\"tokenizer\":\"bytes\"") && strstr(extra, "pad_token_id"));
    CHECK(extra && !strstr(extra, "hidden_size") && !strstr(extra, "architectures"));
    CHECK_INT(model_save_extra(dir, &m, extra, &err), 0);
    CHECK_STR(sb_str(&err), "");
    CHECK_INT(model_load(dir, &back, &err), 0);
    CHECK_INT(tokenizer_for_model(dir, &back.cfg, &tok, &err), 0);
    CHECK(tok.kind == TOKENIZER_BYTES && tok.pad_id == 258);
    char *cfg_path = path_join(dir, "config.json");
    CHECK_INT(read_file(cfg_path, &text, &len, &err), 0);
    CHECK(text && strstr(text, "\"architectures\": [\n    \"LlamaForCausalLM\"\n  ]"));
    CHECK(text && strstr(text, "\"torch_dtype\": \"float32\""));
    CHECK(text && strstr(text, "\"tie_word_embeddings\": true"));
    CHECK_INT(model_save_extra(dir, &m, "{\"hidden_size\": 3}", &err), -1);
    CHECK(contains(&err, "\"hidden_size\" is one model_save() writes itself"));
    free(extra);
    CHECK_INT(model_config_extras("x/stories260K.bin", &extra, &err), 0);
    CHECK_STR(extra, "{}");
    tokenizer_free(&tok);
    model_free(&back);
    model_free(&m);
    free(cfg_path);
    free(text);
    free(extra);
    free(dir);
    sb_free(&err);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_root, sizeof(tmp_root), "%s/mainline-mio-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    if (stories260k_dir(shared_dir, sizeof(shared_dir),
                        "stories260K: test_stories260k, test_size_mismatch") == 0) {
        TEST(test_stories260k);
        TEST(test_size_mismatch);
    }
    TEST(test_rope_permutation);
    TEST(test_tiny_base);
    TEST(test_round_trip);
    TEST(test_hf_refuses);
    TEST(test_hf_tying);
    TEST(test_hf_config_refuses);
    TEST(test_hf_arch_round_trip);
    TEST(test_config_extras);
    if (!getenv("KEEP_TMP"))
        nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return test_report();
}
