/*
 * test_decode.c - unit tests for model/decode.c, model/generate.c and their two
 * kernels: the batch-invariant matmul against the naive reference and bitwise
 * across batch sizes; the cached attention row against the naive attention;
 * decoder logits against model_forward's for the same sequence; logits bitwise
 * equal alone and in a batch, and whatever the prefill chunking; greedy results
 * identical for batch 1, 3, 8 and 2 threads; a merged LoRA against the unmerged
 * forward; EOS, stop strings, max_new_tokens and the end of the context.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "error.h"
#include "forward.h"
#include "generate.h"
#include "lora.h"
#include "matmul_rows.h"
#include "ops.h"
#include "testhelp.h"

static uint64_t rng_state = 7;

static float frand(void)   /* U(-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (2.0 / 16777216.0) - 1.0);
}

/* C 40 (HS 10, KV 20), H 60 (not a multiple of 8: the kernel's tail runs), byte vocab. */
static struct model_config test_config(void)
{
    struct model_config c = {
        .dim = 40, .hidden_dim = 60, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
        .vocab_size = 260, .max_seq_len = 48, .norm_eps = 1e-5f, .rope_theta = 10000.0f,
        .tied_embeddings = 1, .bos_id = 256, .eos_id = 257,
    };
    return c;
}

static void random_model(struct model *m)
{
    struct model_config cfg = test_config();
    CHECK(model_alloc(m, &cfg) == 0);
    for (size_t i = 0; i < m->n_params; i++)
        m->slab[i] = 0.4f * frand();
    for (int i = 0; i < cfg.n_layers * cfg.dim; i++) {
        m->w.attn_norm[i] = 1.0f + 0.1f * frand();
        m->w.mlp_norm[i] = 1.0f + 0.1f * frand();
    }
    for (int i = 0; i < cfg.dim; i++)
        m->w.final_norm[i] = 1.0f;
}

static void random_ids(int *ids, int n)
{
    ids[0] = 256;   /* BOS */
    for (int i = 1; i < n; i++)
        ids[i] = 'a' + (int)((frand() + 1.0f) * 12.99f);
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

/* ---- kernels ---- */

/* y by every version this CPU runs; 0 when they all gave the bits of the first. */
static int all_isas_agree(const float *x, const float *wp, int N, int in, int out, float *y,
                          float *other)
{
    enum matmul_isa was = matmul_rows_isa();
    int agree = 1;
    CHECK(matmul_rows_use(MM_PORTABLE) == 0);
    matmul_rows_packed(y, x, wp, N, in, out, 0, matmul_rows_blocks(out));
    for (int isa = MM_AVX2; isa <= MM_AVX512; isa++) {
        if (matmul_rows_use((enum matmul_isa)isa) < 0) {
            fprintf(stderr, "  matmul_rows: this CPU has no %s\n",
                    matmul_rows_isa_name((enum matmul_isa)isa));
            continue;
        }
        matmul_rows_packed(other, x, wp, N, in, out, 0, matmul_rows_blocks(out));
        fprintf(stderr, "  matmul_rows: %s gives the portable bits: %s\n",
                matmul_rows_isa_name((enum matmul_isa)isa),
                memcmp(y, other, (size_t)N * out * sizeof(float)) == 0 ? "yes" : "NO");
        agree &= memcmp(y, other, (size_t)N * out * sizeof(float)) == 0;
    }
    CHECK(matmul_rows_use(was) == 0);
    return agree;
}

static void test_matmul_rows(void)
{
    /* 21 rows: tiles of 8, 4, 2 and 1; 53 outputs: blocks of 16 in threes and a
     * partial last block; in 37 is no multiple of any vector width */
    enum { N = 21, IN = 37, OUT = 53 };
    float x[N * IN], w[OUT * IN], y[N * OUT], ref[N * OUT], one[OUT], yb[N * OUT];
    for (int i = 0; i < N * IN; i++)
        x[i] = frand();
    for (int i = 0; i < OUT * IN; i++)
        w[i] = frand();
    matmul_rows_forward(y, x, w, N, IN, OUT);
    matmul_forward_naive(ref, x, w, N, IN, OUT);
    double d = max_abs_diff(y, ref, N * OUT);
    fprintf(stderr, "  matmul_rows_forward (%s) vs naive: max |diff| %.3g\n",
            matmul_rows_isa_name(matmul_rows_isa()), d);
    CHECK(d < 1e-5);
    /* each row alone, and every batch size: the same bits */
    for (int n = 0; n < N; n++) {
        matmul_rows_forward(one, x + n * IN, w, 1, IN, OUT);
        CHECK(memcmp(one, y + n * OUT, sizeof(one)) == 0);
    }
    for (int b = 1; b <= N; b++) {
        matmul_rows_forward(yb, x + (N - b) * IN, w, b, IN, OUT);
        CHECK(memcmp(yb, y + (N - b) * OUT, (size_t)b * OUT * sizeof(float)) == 0);
    }
    /* the columns in any split over block ranges (as threads cut them) */
    float *wp = xmalloc(matmul_rows_packed_len(IN, OUT) * sizeof(float));
    matmul_rows_pack(wp, w, IN, OUT);
    int nb = matmul_rows_blocks(OUT);
    for (int cut = 0; cut <= nb; cut++) {
        memset(yb, 0, sizeof(yb));
        matmul_rows_packed(yb, x, wp, N, IN, OUT, 0, cut);
        matmul_rows_packed(yb, x, wp, N, IN, OUT, cut, nb);
        CHECK(memcmp(yb, y, sizeof(y)) == 0);
    }
    /* every instruction set this CPU has: the same bits as the portable fmaf chain */
    CHECK(all_isas_agree(x, wp, N, IN, OUT, yb, ref));
    CHECK(memcmp(yb, y, sizeof(y)) == 0);
    free(wp);
}

static void test_attention_row(void)
{
    enum { T = 9, NH = 4, NKV = 2, HS = 6, C = NH * HS, KV = NKV * HS };
    float q[T * C], k[T * KV], v[T * KV], ref[T * C], out[C], scores[NH / NKV * T];
    for (int i = 0; i < T * C; i++)
        q[i] = frand();
    for (int i = 0; i < T * KV; i++) {
        k[i] = frand();
        v[i] = frand();
    }
    attention_forward_naive(ref, q, k, v, 1, T, NH, NKV, HS);
    float *kp = xcalloc(attention_keys_len(T, NKV, HS), sizeof(float));
    double d = 0;
    for (int t = 0; t < T; t++) {
        attention_key_store(kp, k + t * KV, t, T, NKV, HS);
        attention_row_forward(out, scores, q + t * C, kp, v, t + 1, T, KV, NH, NKV, HS);
        d = fmax(d, max_abs_diff(out, ref + t * C, C));
    }
    fprintf(stderr, "  attention_row_forward vs naive: max |diff| %.3g\n", d);
    CHECK(d < 1e-5);
    free(kp);
}

/* ---- the decoder against the training forward ---- */

/* logits (T, V) of ids through the decoder: prefill in chunks of `chunk` rows. */
static void decode_all(struct decoder *d, int slot, const int *ids, int T, int chunk,
                       float *logits)
{
    int V = d->V;
    struct decode_row rows[64];
    int out[64];
    for (int t0 = 0; t0 < T; t0 += chunk) {
        int n = T - t0 < chunk ? T - t0 : chunk;
        for (int i = 0; i < n; i++) {
            rows[i] = (struct decode_row){ slot, t0 + i, ids[t0 + i] };
            out[i] = i;
        }
        CHECK(decoder_step(d, rows, n, out, n) == 0);
        memcpy(logits + (size_t)t0 * V, d->logits, (size_t)n * V * sizeof(float));
    }
}

static void test_decode_matches_forward(void)
{
    struct model m;
    random_model(&m);
    enum { T = 30 };
    int V = m.cfg.vocab_size, ids[T];
    random_ids(ids, T);
    struct model_acts a;
    CHECK(model_acts_alloc(&a, &m.cfg, NULL, 1, T) == 0);
    CHECK(model_forward(&m, NULL, ids, 1, T, &a) == 0);
    struct decoder d;
    CHECK(decoder_alloc(&d, &m, 1, T, T, NULL) == 0);
    float *whole = xmalloc((size_t)T * V * sizeof(float));
    float *steps = xmalloc((size_t)T * V * sizeof(float));
    decode_all(&d, 0, ids, T, T, whole);
    double diff = max_abs_diff(whole, a.logits, (size_t)T * V);
    fprintf(stderr, "  decoder vs model_forward logits: max |diff| %.3g\n", diff);
    CHECK(diff < 1e-4);
    /* token by token, and in chunks of 7: the same bits as one prefill */
    decode_all(&d, 0, ids, T, 1, steps);
    CHECK(memcmp(whole, steps, (size_t)T * V * sizeof(float)) == 0);
    decode_all(&d, 0, ids, T, 7, steps);
    CHECK(memcmp(whole, steps, (size_t)T * V * sizeof(float)) == 0);
    /* misuse is refused */
    struct decode_row bad = { 0, T, ids[0] };
    int zero = 0;
    CHECK(decoder_step(&d, &bad, 1, &zero, 1) == -1);
    bad = (struct decode_row){ 1, 0, ids[0] };
    CHECK(decoder_step(&d, &bad, 1, &zero, 1) == -1);
    bad = (struct decode_row){ 0, 0, V };
    CHECK(decoder_step(&d, &bad, 1, &zero, 1) == -1);
    free(whole);
    free(steps);
    decoder_free(&d);
    model_acts_free(&a);
    model_free(&m);
}

/* A sequence's logits alone in a 1-slot decoder and in slot 2 of 5, while the
 * other slots decode other sequences (different lengths) in the same steps, the
 * batched decoder splitting its steps over 3 threads. */
static void test_logits_batch_invariant(void)
{
    struct model m;
    random_model(&m);
    enum { T = 20, S = 5 };
    int V = m.cfg.vocab_size, ids[S][T];
    for (int s = 0; s < S; s++)
        random_ids(ids[s], T);
    struct decoder alone, many;
    CHECK(decoder_alloc(&alone, &m, 1, T, T, NULL) == 0);
    struct pool *pool = pool_new(3);
    CHECK(decoder_alloc(&many, &m, S, T, S * T, pool) == 0);
    float *ref = xmalloc((size_t)T * V * sizeof(float));
    decode_all(&alone, 0, ids[2], T, 1, ref);
    int same = 1;
    for (int t = 0; t < T; t++) {
        struct decode_row rows[S];
        int out[S], n = 0, mine = -1;
        for (int s = 0; s < S; s++) {
            if (t >= T - 3 * s && s != 2)
                continue;   /* shorter sequences end early: the batch shrinks */
            if (s == 2)
                mine = n;
            rows[n] = (struct decode_row){ s, t, ids[s][t] };
            out[n] = n;
            n++;
        }
        CHECK(decoder_step(&many, rows, n, out, n) == 0);
        same &= memcmp(many.logits + (size_t)mine * V, ref + (size_t)t * V,
                       (size_t)V * sizeof(float)) == 0;
    }
    CHECK(same);
    free(ref);
    decoder_free(&alone);
    decoder_free(&many);
    pool_free(pool);
    model_free(&m);
}

/* ---- LoRA merged into the base ---- */

static void test_merged_lora(void)
{
    struct model m;
    random_model(&m);
    struct lora lo;
    struct lora_config lc = { .rank = 4, .alpha = 8, .targets = LORA_TARGETS_ALL_LINEAR,
                              .seed = 3 };
    char why[200];
    CHECK(lora_init(&lo, &m.cfg, &lc, why, sizeof(why)) == 0);
    for (size_t i = 0; i < lo.n_params; i++)
        lo.params[i] = 0.3f * frand();   /* B too: a trained adapter */
    enum { T = 25 };
    int V = m.cfg.vocab_size, ids[T];
    random_ids(ids, T);
    struct model_acts a, base;
    CHECK(model_acts_alloc(&a, &m.cfg, &lo, 1, T) == 0);
    CHECK(model_acts_alloc(&base, &m.cfg, NULL, 1, T) == 0);
    CHECK(model_forward(&m, &lo, ids, 1, T, &a) == 0);
    CHECK(model_forward(&m, NULL, ids, 1, T, &base) == 0);
    CHECK(max_abs_diff(a.logits, base.logits, (size_t)T * V) > 1e-2);   /* it does something */
    CHECK(lora_merge(&lo, &m) == 0);
    struct decoder d;
    CHECK(decoder_alloc(&d, &m, 1, T, T, NULL) == 0);
    float *logits = xmalloc((size_t)T * V * sizeof(float));
    decode_all(&d, 0, ids, T, T, logits);
    double diff = max_abs_diff(logits, a.logits, (size_t)T * V);
    fprintf(stderr, "  merged decoder vs unmerged forward: max |diff| %.3g\n", diff);
    CHECK(diff < 1e-4);
    free(logits);
    decoder_free(&d);
    model_acts_free(&a);
    model_acts_free(&base);
    lora_free(&lo);
    model_free(&m);
}

/* ---- generation ---- */

enum { NP = 10 };

struct prompts {
    int ids[NP][24];
    struct gen_prompt p[NP];
};

static void make_prompts(struct prompts *ps)
{
    for (int i = 0; i < NP; i++) {
        int n = 3 + (i * 7) % 20;   /* 3 .. 22 tokens */
        random_ids(ps->ids[i], n);
        ps->p[i] = (struct gen_prompt){ ps->ids[i], n };
    }
}

static void generate(const struct model *m, const struct tokenizer *tok, const struct prompts *ps,
                     struct gen_options *o, struct gen_result *res)
{
    struct strbuf err = STRBUF_INIT;
    CHECK(generate_greedy(m, tok, ps->p, NP, o, res, &err) == 0);
    if (err.len)
        fprintf(stderr, "  %s\n", err.buf);
    sb_free(&err);
}

static int same_results(const struct gen_result *a, const struct gen_result *b)
{
    for (int i = 0; i < NP; i++)
        if (a[i].tokens != b[i].tokens || a[i].finish != b[i].finish ||
            a[i].text.len != b[i].text.len ||
            memcmp(sb_str(&a[i].text), sb_str(&b[i].text), a[i].text.len) != 0)
            return 0;
    return 1;
}

static void test_generation_batch_invariant(void)
{
    struct model m;
    random_model(&m);
    struct tokenizer tok;
    CHECK(tokenizer_init_bytes(&tok, 260, 256, 257, 258) == 0);
    struct prompts ps;
    make_prompts(&ps);
    struct gen_options o = { .max_new_tokens = 16, .batch = 1, .threads = 1 };
    struct gen_result ref[NP], got[NP];
    generate(&m, &tok, &ps, &o, ref);
    long total = 0;
    for (int i = 0; i < NP; i++)
        total += ref[i].tokens;
    CHECK(total > NP);
    const int batches[] = { 3, 8, 64 };
    for (int b = 0; b < 3; b++) {
        o.batch = batches[b];
        generate(&m, &tok, &ps, &o, got);
        CHECK(same_results(ref, got));
        gen_results_free(got, NP);
    }
    o = (struct gen_options){ .max_new_tokens = 16, .batch = 8, .threads = 2,
                              .prefill_chunk = 5 };
    generate(&m, &tok, &ps, &o, got);
    CHECK(same_results(ref, got));
    gen_results_free(got, NP);
    gen_results_free(ref, NP);
    tokenizer_free(&tok);
    model_free(&m);
}

/* A sequence whose every generated token was a byte (one token, one character). */
static int all_bytes(const struct gen_result *r)
{
    for (int i = 0; i < NP; i++)
        if (r[i].text.len == (size_t)r[i].tokens)
            return i;
    return -1;
}

static void test_stop_rules(void)
{
    struct model m;
    random_model(&m);
    struct tokenizer tok;
    CHECK(tokenizer_init_bytes(&tok, 260, 256, 257, 258) == 0);
    tok.bos_id = tok.eos_id = -1;   /* only the EOS set below ends a sequence */
    struct prompts ps;
    make_prompts(&ps);
    struct gen_options o = { .max_new_tokens = 12, .batch = 4, .threads = 1 };
    struct gen_result ref[NP], got[NP];
    generate(&m, &tok, &ps, &o, ref);
    for (int i = 0; i < NP; i++) {
        CHECK_INT(ref[i].tokens, 12);
        CHECK_INT(ref[i].finish, GEN_LENGTH);
    }
    int k = all_bytes(ref);
    CHECK(k >= 0);
    if (k < 0)
        return;
    const char *t = ref[k].text.buf;
    /* a stop string of three bytes from the middle: cut where it first starts */
    char stop[4];
    memcpy(stop, t + 4, 3);
    stop[3] = '\0';
    const char *stops[] = { "never-generated", stop };
    o.stop = stops;
    o.n_stop = 2;
    generate(&m, &tok, &ps, &o, got);
    size_t cut = (size_t)(strstr(t, stop) - t);
    CHECK_INT(got[k].finish, GEN_STOP);
    CHECK_INT(got[k].text.len, cut);
    CHECK(strncmp(got[k].text.buf, t, cut) == 0);
    CHECK_INT(got[k].tokens, cut + 3);   /* bytes: a token each, the stop string's included */
    gen_results_free(got, NP);
    /* EOS: make the 4th generated token of sequence k the end */
    o.stop = NULL;
    o.n_stop = 0;
    tok.eos_id = (unsigned char)t[3];
    generate(&m, &tok, &ps, &o, got);
    CHECK_INT(got[k].finish, GEN_EOS);
    CHECK_INT(got[k].text.len, strchr(t, t[3]) - t);
    gen_results_free(got, NP);
    tok.eos_id = -1;   /* nothing but the context ends it */
    /* the end of the context: a prompt of max_seq_len - 2 tokens generates 3 */
    int ids[46];
    random_ids(ids, 46);
    struct gen_prompt p = { ids, 46 };
    struct strbuf err = STRBUF_INIT;
    CHECK(generate_greedy(&m, &tok, &p, 1, &o, got, &err) == 0);
    CHECK_INT(got[0].finish, GEN_CONTEXT);
    CHECK_INT(got[0].tokens, 3);
    gen_results_free(got, 1);
    /* a prompt that fills the context is refused, naming it */
    int full[48];
    random_ids(full, 48);
    struct gen_prompt two[2] = { p, { full, 48 } };
    CHECK(generate_greedy(&m, &tok, two, 2, &o, got, &err) == -1);
    CHECK(strstr(sb_str(&err), "prompt 2 has 48 tokens") != NULL);
    gen_results_free(got, 2);
    sb_free(&err);
    gen_results_free(ref, NP);
    tokenizer_free(&tok);
    model_free(&m);
}

int main(void)
{
    TEST(test_matmul_rows);
    TEST(test_attention_row);
    TEST(test_decode_matches_forward);
    TEST(test_logits_batch_invariant);
    TEST(test_merged_lora);
    TEST(test_generation_batch_invariant);
    TEST(test_stop_rules);
    return test_report();
}
