/*
 * bench_decode.c - greedy decoding throughput of model/generate.c.
 *
 * A benchmark, not a test: it checks only that every case generated the same
 * tokens as batch 1 (batch invariance), and prints a table. For each model it
 * decodes NP prompts (random token ids, 8 to 23 tokens after BOS) for NEW tokens
 * each (EOS disabled, so every case does the same work), at batch sizes 1, 8, 32
 * and 64, with 1 and 2 threads, and reports generated tokens per second of wall
 * time (prefill included), per CPU second of the process (all its threads: on a
 * shared machine, what the cores it got did), against the plain decoder and
 * against batch 1 at 1 thread (one sequence at a time).
 *
 * The reference, measured in the same process, is a plain single-sequence C
 * decoder written here in the manner of llama2.c's run.c: one token at a time, a
 * KV cache, every projection a scalar matrix-vector loop, prompt tokens fed one
 * by one. It runs on the first NREF prompts (its rate does not depend on how many).
 *
 * Models: s15m (dim 288, 6 layers, 6 heads, hidden 768, vocab 512, tied, 256
 * positions; random weights: speed does not depend on their values) and llama2.c's
 * stories260K when ../shared/models has it.
 *
 * First, the projection kernel alone (GFLOP/s at 1, 8 and 64 rows, each version
 * this CPU runs, and OpenBLAS SGEMM for comparison).
 *
 *   build/bench/bench_decode [NP [NEW]]     (defaults 256 and 32)
 *   build/bench/bench_decode kernel         (the kernel table only)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "clock.h"
#include "error.h"
#include "generate.h"
#include "matmul_rows.h"
#include "model_io.h"
#include "ops.h"
#include "table.h"
#include "tokenizer.h"

#define STORIES "../shared/models/stories260K"
enum { NREF = 32 };

/* CPU seconds of the whole process (every thread): on a shared machine the wall
 * clock also counts the time other processes held the cores. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Tokens per wall second and per CPU second. */
struct rate {
    double wall, cpu;
};

static uint64_t rng = 42;

static float frand(void)   /* U(-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) * (2.0 / 16777216.0) - 1.0);
}

/* ---- the plain reference decoder (run.c style) ---- */

struct plain {
    const struct model *m;
    float *x, *xb, *xb2, *hb, *hb2, *q, *k, *v, *att, *logits;
    float *kc, *vc;           /* (L, P, KV) */
    float *cos_t, *sin_t;     /* (P, HS/2) */
};

/* y (out) = W (out, in) x (in), one scalar dot product per row */
static void matvec(float *y, const float *x, const float *w, int in, int out)
{
    for (int i = 0; i < out; i++) {
        float s = 0.0f;
        for (int j = 0; j < in; j++)
            s += w[(size_t)i * in + j] * x[j];
        y[i] = s;
    }
}

static void plain_rmsnorm(float *o, const float *x, const float *w, int n, float eps)
{
    float ss = 0.0f;
    for (int j = 0; j < n; j++)
        ss += x[j] * x[j];
    ss = 1.0f / sqrtf(ss / n + eps);
    for (int j = 0; j < n; j++)
        o[j] = w[j] * (ss * x[j]);
}

static void plain_rope(float *v, int nh, int hs, const float *c, const float *s)
{
    for (int h = 0; h < nh; h++)
        for (int i = 0; i < hs / 2; i++) {
            float *p = v + h * hs;
            float a = p[i], b = p[i + hs / 2];
            p[i] = a * c[i] - b * s[i];
            p[i + hs / 2] = b * c[i] + a * s[i];
        }
}

static void plain_init(struct plain *p, const struct model *m)
{
    const struct model_config *c = &m->cfg;
    int C = c->dim, H = c->hidden_dim, HS = C / c->n_heads, KV = HS * c->n_kv_heads;
    int P = c->max_seq_len;
    p->m = m;
    p->x = xcalloc((size_t)C, 4);
    p->xb = xcalloc((size_t)C, 4);
    p->xb2 = xcalloc((size_t)C, 4);
    p->hb = xcalloc((size_t)H, 4);
    p->hb2 = xcalloc((size_t)H, 4);
    p->q = xcalloc((size_t)C, 4);
    p->k = xcalloc((size_t)KV, 4);
    p->v = xcalloc((size_t)KV, 4);
    p->att = xcalloc((size_t)P, 4);
    p->logits = xcalloc((size_t)c->vocab_size, 4);
    p->kc = xcalloc((size_t)c->n_layers * P * KV, 4);
    p->vc = xcalloc((size_t)c->n_layers * P * KV, 4);
    p->cos_t = xcalloc((size_t)P * HS / 2, 4);
    p->sin_t = xcalloc((size_t)P * HS / 2, 4);
    rope_table(p->cos_t, p->sin_t, P, HS, c->rope_theta);
}

static void plain_free(struct plain *p)
{
    float *bufs[] = { p->x, p->xb, p->xb2, p->hb, p->hb2, p->q, p->k, p->v, p->att, p->logits,
                      p->kc, p->vc, p->cos_t, p->sin_t };
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        free(bufs[i]);
}

static void plain_attention(struct plain *p, int l, int pos)
{
    const struct model_config *c = &p->m->cfg;
    int C = c->dim, HS = C / c->n_heads, KV = HS * c->n_kv_heads, P = c->max_seq_len;
    int group = c->n_heads / c->n_kv_heads;
    for (int h = 0; h < c->n_heads; h++) {
        const float *q = p->q + h * HS;
        for (int t = 0; t <= pos; t++) {
            const float *k = p->kc + ((size_t)l * P + t) * KV + (h / group) * HS;
            float s = 0.0f;
            for (int i = 0; i < HS; i++)
                s += q[i] * k[i];
            p->att[t] = s / sqrtf((float)HS);
        }
        float mx = p->att[0], sum = 0.0f;
        for (int t = 1; t <= pos; t++)
            mx = p->att[t] > mx ? p->att[t] : mx;
        for (int t = 0; t <= pos; t++) {
            p->att[t] = expf(p->att[t] - mx);
            sum += p->att[t];
        }
        float *o = p->xb + h * HS;
        memset(o, 0, (size_t)HS * 4);
        for (int t = 0; t <= pos; t++) {
            const float *v = p->vc + ((size_t)l * P + t) * KV + (h / group) * HS;
            for (int i = 0; i < HS; i++)
                o[i] += p->att[t] / sum * v[i];
        }
    }
}

static float *plain_forward(struct plain *p, int token, int pos)
{
    const struct model *m = p->m;
    const struct model_config *c = &m->cfg;
    int C = c->dim, H = c->hidden_dim, HS = C / c->n_heads, KV = HS * c->n_kv_heads;
    int P = c->max_seq_len;
    memcpy(p->x, m->w.embed + (size_t)token * C, (size_t)C * 4);
    for (int l = 0; l < c->n_layers; l++) {
        plain_rmsnorm(p->xb, p->x, m->w.attn_norm + l * C, C, c->norm_eps);
        matvec(p->q, p->xb, m->w.wq + (size_t)l * C * C, C, C);
        matvec(p->k, p->xb, m->w.wk + (size_t)l * KV * C, C, KV);
        matvec(p->v, p->xb, m->w.wv + (size_t)l * KV * C, C, KV);
        plain_rope(p->q, c->n_heads, HS, p->cos_t + pos * HS / 2, p->sin_t + pos * HS / 2);
        plain_rope(p->k, c->n_kv_heads, HS, p->cos_t + pos * HS / 2, p->sin_t + pos * HS / 2);
        memcpy(p->kc + ((size_t)l * P + pos) * KV, p->k, (size_t)KV * 4);
        memcpy(p->vc + ((size_t)l * P + pos) * KV, p->v, (size_t)KV * 4);
        plain_attention(p, l, pos);
        matvec(p->xb2, p->xb, m->w.wo + (size_t)l * C * C, C, C);
        for (int i = 0; i < C; i++)
            p->x[i] += p->xb2[i];
        plain_rmsnorm(p->xb, p->x, m->w.mlp_norm + l * C, C, c->norm_eps);
        matvec(p->hb, p->xb, m->w.gate + (size_t)l * H * C, C, H);
        matvec(p->hb2, p->xb, m->w.up + (size_t)l * H * C, C, H);
        for (int i = 0; i < H; i++)
            p->hb[i] = p->hb[i] / (1.0f + expf(-p->hb[i])) * p->hb2[i];
        matvec(p->xb2, p->hb, m->w.down + (size_t)l * C * H, H, C);
        for (int i = 0; i < C; i++)
            p->x[i] += p->xb2[i];
    }
    plain_rmsnorm(p->xb, p->x, m->w.final_norm, C, c->norm_eps);
    matvec(p->logits, p->xb, m->w.lm_head, C, c->vocab_size);
    return p->logits;
}

/* Tokens/s of the plain decoder over prompts[0..n), NEW tokens each. */
static struct rate plain_rate(const struct model *m, const struct gen_prompt *pr, int n,
                              int new_tok)
{
    struct plain p;
    plain_init(&p, m);
    long tokens = 0;
    double t0 = clock_now_s(), c0 = cpu_s();
    for (int i = 0; i < n; i++) {
        int pos = 0, tok = pr[i].ids[0];
        for (; pos < pr[i].n + new_tok - 1; pos++) {
            float *logits = plain_forward(&p, tok, pos);
            if (pos + 1 < pr[i].n) {
                tok = pr[i].ids[pos + 1];
            } else {
                tok = logits_argmax(logits, m->cfg.vocab_size);
                tokens++;
            }
        }
        (void)plain_forward(&p, tok, pos);   /* the last token's logits, as generate does */
        tokens++;
    }
    struct rate r = { tokens / (clock_now_s() - t0), tokens / (cpu_s() - c0) };
    plain_free(&p);
    return r;
}

/* ---- the projection kernel alone ---- */

/* GFLOP/s of y (N, out) = x (N, in) W^T: the decoding kernel in each version this
 * CPU runs, and OpenBLAS SGEMM (not batch invariant) as the ceiling to compare. */
static void bench_kernel(int in, int out)
{
    float *w = xmalloc((size_t)in * out * sizeof(float));
    float *wp = xmalloc(matmul_rows_packed_len(in, out) * sizeof(float));
    float *x = xmalloc((size_t)64 * in * sizeof(float));
    float *y = xmalloc((size_t)64 * out * sizeof(float));
    for (size_t i = 0; i < (size_t)in * out; i++)
        w[i] = frand();
    for (size_t i = 0; i < (size_t)64 * in; i++)
        x[i] = frand();
    matmul_rows_pack(wp, w, in, out);
    enum matmul_isa was = matmul_rows_isa();
    openblas_set_num_threads(1);
    printf("projection kernel, %d -> %d, 1 thread, GFLOP/s:", in, out);
    const int rows[] = { 1, 8, 64 };
    for (int v = -1; v <= MM_AVX512; v++) {
        if (v >= 0 && matmul_rows_use((enum matmul_isa)v) < 0)
            continue;
        printf("\n  %-8s", v < 0 ? "openblas" : matmul_rows_isa_name((enum matmul_isa)v));
        for (int r = 0; r < 3; r++) {
            int N = rows[r], reps = 0;
            double t0 = clock_now_s(), t;
            do {
                for (int k = 0; k < 20; k++, reps++)
                    if (v < 0)
                        matmul_forward(y, x, w, N, in, out);
                    else
                        matmul_rows_packed(y, x, wp, N, in, out, 0, matmul_rows_blocks(out));
                t = clock_now_s() - t0;
            } while (t < 0.2);
            printf("  N=%-2d %6.1f", N, 2.0 * N * in * out * reps / t * 1e-9);
        }
    }
    printf("\n\n");
    matmul_rows_use(was);
    free(w);
    free(wp);
    free(x);
    free(y);
}

/* ---- cases ---- */

struct bench_model {
    const char *name;
    struct model m;
    struct tokenizer tok;
};

static void random_s15m(struct bench_model *b)
{
    struct model_config c = { .dim = 288, .hidden_dim = 768, .n_layers = 6, .n_heads = 6,
                              .n_kv_heads = 6, .vocab_size = 512, .max_seq_len = 256,
                              .norm_eps = 1e-5f, .rope_theta = 10000.0f, .tied_embeddings = 1,
                              .bos_id = -1, .eos_id = -1 };
    b->name = "s15m (random)";
    model_alloc(&b->m, &c);
    for (size_t i = 0; i < b->m.n_params; i++)
        b->m.slab[i] = 0.05f * frand();
    for (int i = 0; i < c.n_layers * c.dim; i++)
        b->m.w.attn_norm[i] = b->m.w.mlp_norm[i] = 1.0f;
    for (int i = 0; i < c.dim; i++)
        b->m.w.final_norm[i] = 1.0f;
    tokenizer_init_bytes(&b->tok, 512, -1, -1, -1);
}

static int load_stories(struct bench_model *b)
{
    struct strbuf err = STRBUF_INIT;
    b->name = "stories260K";
    int rc = model_load(STORIES "/stories260K.bin", &b->m, &err);
    if (rc == 0)
        rc = tokenizer_load_llama2c(STORIES "/tok512.bin", b->m.cfg.vocab_size, &b->tok, &err);
    sb_free(&err);
    b->tok.bos_id = b->tok.eos_id = -1;   /* every sequence generates NEW tokens */
    return rc;
}

static struct gen_prompt *make_prompts(int n, int V, int **store)
{
    struct gen_prompt *p = xcalloc((size_t)n, sizeof(*p));
    *store = xcalloc((size_t)n * 24, sizeof(int));
    for (int i = 0; i < n; i++) {
        int *ids = *store + (size_t)i * 24, len = 9 + i % 16;
        ids[0] = 1;
        for (int t = 1; t < len; t++)
            ids[t] = 3 + (int)((frand() + 1.0f) * 0.5f * (float)(V - 4));
        p[i] = (struct gen_prompt){ ids, len };
    }
    return p;
}

static int same(const struct gen_result *a, const struct gen_result *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i].tokens != b[i].tokens || a[i].text.len != b[i].text.len ||
            memcmp(sb_str(&a[i].text), sb_str(&b[i].text), a[i].text.len) != 0)
            return 0;
    return 1;
}

static void bench_one(struct bench_model *b, int np, int new_tok)
{
    int *store;
    struct gen_prompt *p = make_prompts(np, b->m.cfg.vocab_size, &store);
    struct rate ref = plain_rate(&b->m, p, NREF < np ? NREF : np, new_tok), one = { 0, 0 };
    struct table t;
    static const char *const head[] = { "model", "batch", "threads", "tok/s", "tok/CPU-s",
                                        "vs plain C", "vs batch 1", "same tokens", NULL };
    table_init(&t, head);
    t.right_align = 0x7e;
    char buf[7][64];
    snprintf(buf[0], 64, "%.0f", ref.wall);
    snprintf(buf[1], 64, "%.0f", ref.cpu);
    const char *ref_row[] = { b->name, "1 (plain C)", "1", buf[0], buf[1], "1.00x", "-", "-" };
    table_add(&t, ref_row);
    struct gen_result *first = xcalloc((size_t)np, sizeof(*first));
    struct gen_result *res = xcalloc((size_t)np, sizeof(*res));
    const int batches[] = { 1, 8, 32, 64 };
    for (int th = 1; th <= 2; th++)
        for (int i = 0; i < 4; i++) {
            struct gen_options o = { new_tok, NULL, 0, batches[i], th, 0 };
            struct strbuf err = STRBUF_INIT;
            int is_first = th == 1 && i == 0;
            double t0 = clock_now_s(), c0 = cpu_s();
            if (generate_greedy(&b->m, &b->tok, p, (size_t)np, &o, is_first ? first : res,
                                &err) < 0)
                die("%s", err.buf);
            double secs = clock_now_s() - t0, cpu = cpu_s() - c0;
            long tokens = 0;
            for (int k = 0; k < np; k++)
                tokens += (is_first ? first : res)[k].tokens;
            if (is_first)
                one = (struct rate){ tokens / secs, tokens / cpu };
            snprintf(buf[0], 64, "%d", batches[i]);
            snprintf(buf[1], 64, "%d", th);
            snprintf(buf[2], 64, "%.0f", tokens / secs);
            snprintf(buf[3], 64, "%.0f", tokens / cpu);
            snprintf(buf[4], 64, "%.2fx", tokens / secs / ref.wall);
            snprintf(buf[5], 64, "%.2fx", tokens / secs / one.wall);
            snprintf(buf[6], 64, "%s", is_first ? "-" : same(first, res, np) ? "yes" : "NO");
            const char *row[] = { b->name, buf[0], buf[1], buf[2], buf[3], buf[4], buf[5],
                                  buf[6] };
            table_add(&t, row);
            if (!is_first)
                gen_results_free(res, (size_t)np);
            sb_free(&err);
        }
    table_print(&t, stdout, "");
    table_free(&t);
    gen_results_free(first, (size_t)np);
    free(first);
    free(res);
    free(p);
    free(store);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "kernel") == 0) {
        bench_kernel(288, 768);
        bench_kernel(768, 288);
        return 0;
    }
    int np = argc > 1 ? atoi(argv[1]) : 256, new_tok = argc > 2 ? atoi(argv[2]) : 32;
    if (np < 1 || new_tok < 1)
        die("usage: bench_decode [PROMPTS [NEW_TOKENS]]");
    printf("greedy decoding: %d prompts of 9-24 tokens, %d new tokens each; tok/s = generated "
           "tokens / wall s (prefill included); plain C on the first %d prompts\n\n", np,
           new_tok, NREF);
    bench_kernel(288, 768);
    struct bench_model b;
    memset(&b, 0, sizeof(b));
    if (access(STORIES "/stories260K.bin", R_OK) == 0 && load_stories(&b) == 0) {
        bench_one(&b, np, new_tok);
        printf("\n");
    } else {
        printf("stories260K: skipped (../shared/models/stories260K not found)\n\n");
    }
    tokenizer_free(&b.tok);
    model_free(&b.m);
    memset(&b, 0, sizeof(b));
    random_s15m(&b);
    bench_one(&b, np, new_tok);
    tokenizer_free(&b.tok);
    model_free(&b.m);
    return 0;
}
