/* test_gguf_read.c - model/gguf_read.c: gguf_write_model() then model_load() of the file
 * gives back the configuration, the tensors (f32 bit for bit; f16, q8_0 and q4_0 as
 * exactly what quant_model_roundtrip() makes of them, and the q8_0/q4_0 blocks kept in
 * m->qw decode to the slab's rows), and the tokenizer (byte vocabulary; llama2.c's
 * tok512.bin from stories260K piece for piece when ../shared has it); what the reader
 * refuses names the file and the key or tensor. */
#include <ftw.h>
#include <math.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decode.h"
#include "fsutil.h"
#include "gguf.h"
#include "gguf_read.h"
#include "init.h"
#include "model_io.h"
#include "quant.h"
#include "stories260k.h"
#include "testhelp.h"
#include "tokenizer.h"

static char tmp_root[PATH_MAX];
static char shared_dir[PATH_MAX];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int contains(const struct strbuf *sb, const char *needle)
{
    int found = strstr(sb_str(sb), needle) != NULL;
    if (!found)
        fprintf(stderr, "    message: %s\n    missing: %s\n", sb_str(sb), needle);
    return found;
}

/* dim 64 and hidden 96 (multiples of 32: every 2-D weight quantises), GQA 4/2. */
static void random_model(struct model *m, int tied)
{
    struct model_config c = {
        .dim = 64, .hidden_dim = 96, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
        .vocab_size = 260, .max_seq_len = 48, .norm_eps = 1e-6f, .rope_theta = 500000.0f,
        .tied_embeddings = tied, .bos_id = BYTES_BOS_ID, .eos_id = BYTES_EOS_ID,
    };
    CHECK_INT(model_alloc(m, &c), 0);
    model_init_random(m, 7, 0.5);
    for (size_t i = 0; i < (size_t)c.n_layers * (size_t)c.dim; i++)
        m->w.attn_norm[i] = 1.0f + 0.01f * (float)(i % 7);   /* not all ones */
}

static char *write_gguf(const struct model *m, const struct tokenizer *tok, enum quant_type q,
                        const char *name)
{
    char *path = path_join(tmp_root, name);
    struct gguf_options opt = { .quant = q };
    struct gguf_info info;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(gguf_write_model(path, m, tok, &opt, &info, &err), 0);
    CHECK_STR(sb_str(&err), "");
    sb_free(&err);
    return path;
}

static void check_round_trip(int tied, enum quant_type q)
{
    struct model m, want, back;
    struct tokenizer tok, tback;
    struct strbuf err = STRBUF_INIT;
    random_model(&m, tied);
    random_model(&want, tied);
    quant_model_roundtrip(&want, q);
    CHECK_INT(tokenizer_init_bytes(&tok, 260, BYTES_BOS_ID, BYTES_EOS_ID, BYTES_PAD_ID), 0);
    char name[32];
    snprintf(name, sizeof(name), "m-%d-%s.gguf", tied, quant_name(q));
    char *path = write_gguf(&m, &tok, q, name);
    CHECK(gguf_is_file(path));
    CHECK_INT(model_load(path, &back, &err), 0);
    CHECK_STR(sb_str(&err), "");
    const struct model_config *a = &m.cfg, *b = &back.cfg;
    CHECK(a->dim == b->dim && a->hidden_dim == b->hidden_dim && a->n_layers == b->n_layers &&
          a->n_heads == b->n_heads && a->n_kv_heads == b->n_kv_heads &&
          a->vocab_size == b->vocab_size && a->max_seq_len == b->max_seq_len &&
          a->norm_eps == b->norm_eps && a->rope_theta == b->rope_theta &&
          a->tied_embeddings == b->tied_embeddings && a->bos_id == b->bos_id &&
          a->eos_id == b->eos_id);
    CHECK(back.n_params == want.n_params &&
          !memcmp(back.slab, want.slab, want.n_params * sizeof(float)));
    /* the kept blocks: every 2-D weight of a q8_0/q4_0 file, decoding to the slab */
    int quantised = q == QUANT_Q8_0 || q == QUANT_Q4_0, kept = 0, match = 0;
    for (int k = 0; k <= TK_LM_HEAD; k++) {
        int layers = tensor_kind_is_per_layer((enum tensor_kind)k) ? a->n_layers : 1;
        for (int l = 0; l < layers; l++) {
            struct tensor_ref r = model_tensor(&back, (enum tensor_kind)k, l);
            const struct qweight *w = model_qweight(&back, (enum tensor_kind)k, l);
            if (!w)
                continue;
            kept++;
            float *row = malloc(r.cols * sizeof(float));
            int same = w->rows == r.rows && w->cols == r.cols && w->type == (int)q;
            for (size_t i = 0; same && i < r.rows; i++) {
                dequant_row(q, w->data + i * w->row_bytes, r.cols, row);
                same = !memcmp(row, r.data + i * r.cols, r.cols * sizeof(float));
            }
            match += same;
            free(row);
        }
    }
    int want_kept = quantised ? 1 + 7 * a->n_layers + 1 : 0;   /* embed, 7 a layer, head */
    CHECK_INT(kept, want_kept);
    CHECK_INT(match, kept);
    CHECK_INT(tokenizer_for_model(path, &back.cfg, &tback, &err), 0);
    CHECK(tback.kind == TOKENIZER_BYTES && tback.vocab_size == 260 &&
          tback.bos_id == BYTES_BOS_ID && tback.eos_id == BYTES_EOS_ID &&
          tback.pad_id == BYTES_PAD_ID);
    model_drop_quant(&back);
    CHECK(model_qweight(&back, TK_WQ, 0) == NULL);
    tokenizer_free(&tback);
    tokenizer_free(&tok);
    model_free(&m);
    model_free(&want);
    model_free(&back);
    free(path);
    sb_free(&err);
}

static void test_round_trips(void)
{
    const enum quant_type types[] = { QUANT_F32, QUANT_F16, QUANT_Q8_0, QUANT_Q4_0 };
    for (int tied = 0; tied < 2; tied++)
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            check_round_trip(tied, types[i]);
}

/* llama2.c's tok512.bin: every piece, score and special id back from the GGUF. */
static void test_llama2c_tokenizer(void)
{
    struct model m;
    struct tokenizer tok, back;
    struct strbuf err = STRBUF_INIT;
    char *bin = path_join(shared_dir, "stories260K.bin");
    CHECK_INT(model_load(bin, &m, &err), 0);
    CHECK_INT(tokenizer_for_model(bin, &m.cfg, &tok, &err), 0);
    char *path = write_gguf(&m, &tok, QUANT_Q8_0, "stories.gguf");
    struct model mb;
    CHECK_INT(model_load(path, &mb, &err), 0);
    CHECK_INT(tokenizer_for_model(path, &mb.cfg, &back, &err), 0);
    CHECK_STR(sb_str(&err), "");
    CHECK(back.kind == TOKENIZER_LLAMA2C && back.vocab_size == tok.vocab_size &&
          back.bos_id == tok.bos_id && back.eos_id == tok.eos_id &&
          back.space_id == tok.space_id && back.max_piece_len == tok.max_piece_len);
    int same = 0;
    for (int id = 0; back.kind == TOKENIZER_LLAMA2C && id < tok.vocab_size; id++)
        same += back.piece_len[id] == tok.piece_len[id] &&
                !memcmp(back.pieces[id], tok.pieces[id], (size_t)tok.piece_len[id]) &&
                back.scores[id] == tok.scores[id];
    CHECK_INT(same, tok.vocab_size);
    const char *text = "Once upon a time, Lily saw a big dog. \xc3\xa9t\xc3\xa9 \xe4\xb8\xad!";
    int *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    CHECK_INT(tokenizer_encode(&tok, text, strlen(text), 1, 0, &a, &na), 0);
    CHECK_INT(tokenizer_encode(&back, text, strlen(text), 1, 0, &b, &nb), 0);
    CHECK(na == nb && na > 0 && !memcmp(a, b, na * sizeof(int)));
    free(a);
    free(b);
    tokenizer_free(&tok);
    tokenizer_free(&back);
    model_free(&m);
    model_free(&mb);
    free(path);
    free(bin);
    sb_free(&err);
}

/* Logits of the 6 tokens of slot 0, decoded alone (1 slot) or beside two other slots
 * (3 slots, the rows interleaved), into out (6, V). */
static void decode_logits(const struct model *m, int with_others, float *out)
{
    static const int toks[3][6] = { { 256, 72, 105, 33, 32, 97 }, { 256, 1, 2, 3, 4, 5 },
                                    { 256, 200, 100, 50, 25, 12 } };
    struct decoder d;
    int S = with_others ? 3 : 1, V = m->cfg.vocab_size;
    CHECK_INT(decoder_alloc(&d, m, S, 8, 18, NULL), 0);
    struct decode_row rows[18];
    int outs[18], n = 0, slot0[6];
    for (int p = 0; p < 6; p++)
        for (int s = S - 1; s >= 0; s--) {
            if (s == 0)
                slot0[p] = n;
            outs[n] = n;
            rows[n++] = (struct decode_row){ s, p, toks[s][p] };
        }
    CHECK_INT(decoder_step(&d, rows, n, outs, n), 0);
    for (int p = 0; p < 6; p++)
        memcpy(out + (size_t)p * V, d.logits + (size_t)slot0[p] * V, (size_t)V * sizeof(float));
    decoder_free(&d);
}

/* The decoder on a q8_0/q4_0 GGUF multiplies the blocks (qmatmul.h): batch invariant,
 * and within x's q8_0 rounding of the float32 decoding of the same weights. */
static void test_decoder_quantised(void)
{
    const enum quant_type types[] = { QUANT_Q8_0, QUANT_Q4_0 };
    for (size_t i = 0; i < 2; i++) {
        struct model m, back;
        struct tokenizer tok;
        struct strbuf err = STRBUF_INIT;
        random_model(&m, 1);
        CHECK_INT(tokenizer_init_bytes(&tok, 260, BYTES_BOS_ID, BYTES_EOS_ID, BYTES_PAD_ID), 0);
        char name[32];
        snprintf(name, sizeof(name), "dec-%s.gguf", quant_name(types[i]));
        char *path = write_gguf(&m, &tok, types[i], name);
        CHECK_INT(model_load(path, &back, &err), 0);
        CHECK(back.qw != NULL);
        int V = back.cfg.vocab_size;
        float *alone = malloc((size_t)6 * V * sizeof(float));
        float *mixed = malloc((size_t)6 * V * sizeof(float));
        float *f32 = malloc((size_t)6 * V * sizeof(float));
        decode_logits(&back, 0, alone);
        decode_logits(&back, 1, mixed);
        CHECK(!memcmp(alone, mixed, (size_t)6 * V * sizeof(float)));
        model_drop_quant(&back);
        decode_logits(&back, 0, f32);
        double worst = 0, scale = 0;
        for (int j = 0; j < 6 * V; j++) {
            worst = fmax(worst, fabs((double)alone[j] - f32[j]));
            scale = fmax(scale, fabs((double)f32[j]));
        }
        /* x rounded to 8 bits (relative error up to 1/254 a value) through 2 layers:
         * of these random weights (std 0.5, chaotic): a few percent of the largest logit */
        fprintf(stderr, "    %s: decoder on blocks vs float32, max |diff| %.4f of max |logit| "
                "%.2f\n", quant_name(types[i]), worst, scale);
        CHECK(worst > 0 && worst < 0.1 * scale);   /* measured: 3.8% and 4.4% */
        free(alone);
        free(mixed);
        free(f32);
        free(path);
        tokenizer_free(&tok);
        model_free(&m);
        model_free(&back);
        sb_free(&err);
    }
}

/* Overwrite the bytes `from` (first occurrence after `after`) in a file with `to`. */
static void patch_file(const char *path, const char *after, const void *from, const void *to,
                       size_t n)
{
    char *data;
    size_t len;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(read_file(path, &data, &len, &err), 0);
    char *at = memmem(data, len, after, strlen(after));
    CHECK(at != NULL);
    char *hit = at ? memmem(at, len - (size_t)(at - data), from, n) : NULL;
    CHECK(hit != NULL);
    if (hit)
        memcpy(hit, to, n);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, len, f) == len);
    if (f)
        fclose(f);
    free(data);
    sb_free(&err);
}

static void check_refused(const char *path, const char *needle)
{
    struct model m;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(model_load(path, &m, &err), -1);
    CHECK(contains(&err, path));
    CHECK(contains(&err, needle));
    CHECK(m.slab == NULL && m.qw == NULL);
    sb_free(&err);
}

static void test_refusals(void)
{
    struct model m;
    struct tokenizer tok;
    random_model(&m, 0);
    CHECK_INT(tokenizer_init_bytes(&tok, 260, BYTES_BOS_ID, BYTES_EOS_ID, BYTES_PAD_ID), 0);
    char *p = write_gguf(&m, &tok, QUANT_Q8_0, "arch.gguf");
    patch_file(p, "general.architecture", "llama", "gemma", 5);
    check_refused(p, "general.architecture 'gemma'");
    free(p);
    /* a tensor type mainline does not read: ffn_up of layer 1 as ggml type 12 (q4_K) */
    p = write_gguf(&m, &tok, QUANT_Q8_0, "type.gguf");
    uint32_t q8 = QUANT_Q8_0, k4 = 12;
    patch_file(p, "blk.1.ffn_up.weight", &q8, &k4, 4);
    check_refused(p, "tensor blk.1.ffn_up.weight has ggml type 12");
    free(p);
    /* an unknown tensor name */
    p = write_gguf(&m, &tok, QUANT_F32, "name.gguf");
    patch_file(p, "blk.0.ffn_down.weight", "ffn_down", "ffn_dowX", 8);
    check_refused(p, "tensor blk.0.ffn_down.weight is missing");
    free(p);
    /* cut short: the data section ends early */
    p = write_gguf(&m, &tok, QUANT_Q4_0, "cut.gguf");
    struct stat st;
    CHECK_INT(stat(p, &st), 0);
    CHECK_INT(truncate(p, st.st_size - 100), 0);
    check_refused(p, "lies past the end of the file");
    free(p);
    tokenizer_free(&tok);
    model_free(&m);
}

/* Damaged files: random bytes of the header, metadata and tensor directory changed, or the
 * file cut anywhere: model_load() and tokenizer_load_gguf() return 0 or -1 (with a message
 * naming the file), never read outside the file (ASan builds check that). */
static void test_corrupt_files(void)
{
    struct model m;
    struct tokenizer tok;
    random_model(&m, 0);
    CHECK_INT(tokenizer_init_bytes(&tok, 260, BYTES_BOS_ID, BYTES_EOS_ID, BYTES_PAD_ID), 0);
    char *good = write_gguf(&m, &tok, QUANT_Q4_0, "good.gguf");
    char *bad = path_join(tmp_root, "bad.gguf");
    char *data;
    size_t len;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(read_file(good, &data, &len, &err), 0);
    uint32_t r = 7;
    int loaded = 0, refused = 0, named = 0, tries = 300;
    char *copy = malloc(len);
    for (int i = 0; i < tries; i++) {
        memcpy(copy, data, len);
        size_t n = len;
        r = r * 1664525u + 1013904223u;
        if (i % 4 == 3) {
            n = (r >> 8) % len;                       /* cut short */
        } else {
            for (int k = 0; k < 1 + i % 3; k++) {     /* bytes of the first 8 KB changed */
                r = r * 1664525u + 1013904223u;
                copy[(r >> 8) % (len < 8192 ? len : 8192)] = (char)(r >> 24);
            }
        }
        FILE *f = fopen(bad, "wb");
        CHECK(f && fwrite(copy, 1, n, f) == n);
        if (f)
            fclose(f);
        struct model back;
        struct tokenizer tback;
        sb_reset(&err);
        if (model_load(bad, &back, &err) == 0) {
            loaded++;
            if (tokenizer_load_gguf(bad, back.cfg.vocab_size, &tback, &err) == 0)
                tokenizer_free(&tback);
            model_free(&back);
        } else {
            refused++;
            named += strstr(sb_str(&err), bad) != NULL;
        }
    }
    fprintf(stderr, "    %d damaged files: %d loaded, %d refused\n", tries, loaded, refused);
    CHECK_INT(loaded + refused, tries);
    CHECK_INT(named, refused);
    CHECK(refused > tries / 4);
    free(copy);
    free(data);
    free(good);
    free(bad);
    sb_free(&err);
    tokenizer_free(&tok);
    model_free(&m);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_root, sizeof(tmp_root), "%s/mainline-gguf-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    TEST(test_round_trips);
    TEST(test_refusals);
    TEST(test_decoder_quantised);
    TEST(test_corrupt_files);
    if (stories260k_dir(shared_dir, sizeof(shared_dir), "stories260K: test_llama2c_tokenizer") ==
        0)
        TEST(test_llama2c_tokenizer);
    if (!getenv("KEEP_TMP"))
        nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return test_report();
}
