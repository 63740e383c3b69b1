/*
 * test_hf_archs.c - Hugging Face architectures (Llama 3 with llama3 RoPE scaling,
 * Qwen2, Qwen3, Mistral) against an independent PyTorch reference.
 *
 * The reference is made by tests/shell/hf_archs_ref.py (PyTorch, float64, written
 * from the Hugging Face model definitions): a directory per case with the model in
 * the Hugging Face layout (F32, BF16 or F16; some sharded) and
 * reference.safetensors (see that script). tests/shell/t3012-hf-archs.sh makes it
 * and runs this binary with MAINLINE_HF_REF set to its directory; without the
 * variable (make check's unit pass) there is nothing to compare and the binary
 * says so.
 *
 * For each case: the loaded configuration; the logits of the model alone and with
 * LoRA on all seven projections (within 1e-4 of the reference); the gradients of
 * the mean cross-entropy with respect to every base tensor (full fine-tuning:
 * biases and q/k norms included) and every LoRA A and B, in one backward (max
 * |diff| / max |reference| per tensor within 1e-4, float32 noise); the KV-cache
 * decoder (prefill then one token a step), alone and with the adapters merged,
 * against the full forward; and a save/load round trip of the model.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "error.h"
#include "forward.h"
#include "fsutil.h"
#include "lora.h"
#include "loss.h"
#include "model_io.h"
#include "safetensors.h"
#include "testhelp.h"
#include "trainable.h"

#define LOGIT_TOL 1e-4
#define GRAD_TOL 1e-4

static const char *ref_root;

struct ref {
    struct sft_file f;
    int B, T, V;
    int *tokens, *targets;
};

/* A tensor of the reference into a fresh buffer (caller frees), NULL if absent. */
static float *ref_tensor(const struct ref *r, const char *name, size_t *n)
{
    struct strbuf err = STRBUF_INIT;
    const struct sft_tensor *t = sft_find(&r->f, name);
    float *out = NULL;
    if (t) {
        out = xmalloc((t->numel ? t->numel : 1) * sizeof(float));
        if (sft_read_f32(&r->f, t, t->shape, t->ndim, out, &err) < 0) {
            fprintf(stderr, "  %s\n", sb_str(&err));
            free(out);
            out = NULL;
        }
        *n = t->numel;
    }
    sb_free(&err);
    return out;
}

static int *ref_ints(const struct ref *r, const char *name, size_t *n)
{
    float *f = ref_tensor(r, name, n);
    int *out = xcalloc(*n ? *n : 1, sizeof(int));
    for (size_t i = 0; f && i < *n; i++)
        out[i] = (int)f[i];
    free(f);
    return out;
}

static double max_abs_diff(const float *a, const float *b, size_t n, double *bmax)
{
    double d = 0;
    *bmax = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        *bmax = fmax(*bmax, fabs((double)b[i]));
    }
    return d;
}

/* got (n) against reference tensor `name`: max |diff| within tol (relative to the
 * reference's largest entry when rel). Returns the measured difference. */
static double compare(const struct ref *r, const char *name, const float *got, size_t n,
                      double tol, int rel)
{
    size_t rn = 0;
    float *want = ref_tensor(r, name, &rn);
    CHECK(want != NULL);
    if (!want)
        return INFINITY;
    CHECK_INT(rn, n);
    double wmax, d = max_abs_diff(got, want, rn < n ? rn : n, &wmax);
    double m = rel ? d / (wmax > 0 ? wmax : 1) : d;
    if (!(m <= tol))
        fprintf(stderr, "  %s: %s %.3e > %.1e\n", name, rel ? "rel diff" : "max |diff|", m, tol);
    CHECK(m <= tol);
    free(want);
    return m;
}

static void set_lora_from_ref(struct lora *lo, const struct ref *r)
{
    char name[160], key[200];
    for (int i = 0; i < lo->n_adapters; i++) {
        struct lora_adapter *a = &lo->ad[i];
        size_t n = 0;
        for (int which = 0; which < 2; which++) {
            lora_tensor_name(lo, i, which ? 'B' : 'A', name, sizeof(name));
            snprintf(key, sizeof(key), "lora.%s", name);
            float *v = ref_tensor(r, key, &n);
            size_t want = which ? (size_t)a->out * lo->rank : (size_t)lo->rank * a->in;
            CHECK(v != NULL && n == want);
            if (v && n == want)
                memcpy(which ? a->B : a->A, v, n * sizeof(float));
            free(v);
        }
    }
}

/* The gradients of one backward: every base tensor and every adapter. */
static void check_grads(const struct model *m, const struct model *g, const struct lora *lo,
                        const struct ref *r, const char *tag)
{
    char name[160], key[200];
    double worst = 0;
    int compared = 0;
    for (int k = 0; k < TK_COUNT; k++) {
        if (!model_has_kind(&m->cfg, (enum tensor_kind)k) ||
            (k == TK_LM_HEAD && m->cfg.tied_embeddings))
            continue;
        int layers = tensor_kind_is_per_layer((enum tensor_kind)k) ? m->cfg.n_layers : 1;
        for (int l = 0; l < layers; l++) {
            struct tensor_ref t = model_tensor(g, (enum tensor_kind)k, l);
            model_tensor_name((enum tensor_kind)k, l, name, sizeof(name));
            snprintf(key, sizeof(key), "grad.%s", name);
            worst = fmax(worst, compare(r, key, t.data, t.rows * t.cols, GRAD_TOL, 1));
            compared++;
        }
    }
    for (int i = 0; i < lo->n_adapters; i++) {
        const struct lora_adapter *a = &lo->ad[i];
        lora_tensor_name(lo, i, 'A', name, sizeof(name));
        snprintf(key, sizeof(key), "grad.%s", name);
        worst = fmax(worst, compare(r, key, a->dA, (size_t)lo->rank * a->in, GRAD_TOL, 1));
        lora_tensor_name(lo, i, 'B', name, sizeof(name));
        snprintf(key, sizeof(key), "grad.%s", name);
        worst = fmax(worst, compare(r, key, a->dB, (size_t)a->out * lo->rank, GRAD_TOL, 1));
        compared += 2;
    }
    size_t in_ref = 0;
    for (size_t i = 0; i < r->f.n_tensors; i++)
        in_ref += strncmp(r->f.tensors[i].name, "grad.", 5) == 0;
    CHECK_INT(compared, (int)in_ref);   /* every gradient of the reference, no more */
    fprintf(stderr, "  %-8s gradients: %d tensors, worst max|diff|/max|ref| %.2e\n", tag,
            compared, worst);
}

/* Decode every position of the reference's sequences: the first 4 tokens of each
 * as one prefill step, then one token of each sequence a step. Logits against
 * `want` (B*T, V). */
static double check_decode(const struct model *m, const struct ref *r, const float *want)
{
    struct decoder d;
    int B = r->B, T = r->T, V = r->V;
    CHECK_INT(decoder_alloc(&d, m, B, T, B * T, NULL), 0);
    struct decode_row *rows = xcalloc((size_t)B * T, sizeof(*rows));
    int *out = xcalloc((size_t)B * T, sizeof(int));
    float *got = xcalloc((size_t)B * T * V, sizeof(float));
    int pre = 4, n = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < pre; t++)
            rows[n++] = (struct decode_row){ b, t, r->tokens[b * T + t] };
    for (int i = 0; i < n; i++)
        out[i] = i;
    CHECK_INT(decoder_step(&d, rows, n, out, n), 0);
    for (int i = 0; i < n; i++)
        memcpy(got + ((size_t)rows[i].slot * T + rows[i].pos) * V, d.logits + (size_t)i * V,
               (size_t)V * sizeof(float));
    for (int t = pre; t < T; t++) {
        for (int b = 0; b < B; b++)
            rows[b] = (struct decode_row){ b, t, r->tokens[b * T + t] };
        CHECK_INT(decoder_step(&d, rows, B, out, B), 0);
        for (int b = 0; b < B; b++)
            memcpy(got + ((size_t)b * T + t) * V, d.logits + (size_t)b * V,
                   (size_t)V * sizeof(float));
    }
    double wmax, diff = max_abs_diff(got, want, (size_t)B * T * V, &wmax);
    free(got);
    free(out);
    free(rows);
    decoder_free(&d);
    return diff;
}

static void check_round_trip(const struct model *m, const char *name)
{
    struct strbuf err = STRBUF_INIT;
    char tmpl[] = "/tmp/mainline-hfarch-XXXXXX";
    CHECK(mkdtemp(tmpl) != NULL);
    char *dir = path_join(tmpl, name);
    struct model back;
    CHECK_INT(model_save(dir, m, &err), 0);
    CHECK_INT(model_load(dir, &back, &err), 0);
    CHECK_STR(sb_str(&err), "");
    CHECK(memcmp(&back.cfg, &m->cfg, sizeof(m->cfg)) == 0);
    CHECK(back.n_params == m->n_params &&
          memcmp(back.slab, m->slab, m->n_params * sizeof(float)) == 0);
    model_free(&back);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
    CHECK(system(cmd) == 0);
    free(dir);
    sb_free(&err);
}

static void check_case(const char *name)
{
    char *dir = path_join(ref_root, name), *refp = path_join(dir, "reference.safetensors");
    struct strbuf err = STRBUF_INIT;
    struct model m, g;
    struct ref r = { 0 };
    size_t n = 0;
    CHECK_INT(model_load(dir, &m, &err), 0);
    CHECK_STR(sb_str(&err), "");
    CHECK_INT(sft_open(refp, &r.f, &err), 0);
    CHECK_STR(sb_str(&err), "");
    if (!m.slab || r.f.fd < 0)
        goto out;
    const struct sft_tensor *tt = sft_find(&r.f, "tokens");
    CHECK(tt && tt->ndim == 2);
    r.B = (int)tt->shape[0];
    r.T = (int)tt->shape[1];
    r.V = m.cfg.vocab_size;
    r.tokens = ref_ints(&r, "tokens", &n);
    r.targets = ref_ints(&r, "targets", &n);
    const struct model_config *c = &m.cfg;
    if (!strcmp(name, "llama3"))
        CHECK(c->arch == ARCH_LLAMA && c->rope_scaling == ROPE_LLAMA3 && !c->tied_embeddings);
    if (!strcmp(name, "qwen2"))
        CHECK(c->arch == ARCH_QWEN2 && c->qkv_bias && !c->o_bias && c->tied_embeddings);
    if (!strcmp(name, "qwen3"))
        CHECK(c->arch == ARCH_QWEN3 && c->qk_norm && model_head_size(c) == 12 &&
              model_q_dim(c) != c->dim);
    if (!strcmp(name, "mistral"))
        CHECK(c->arch == ARCH_MISTRAL && c->sliding_window == 32);

    /* the model alone */
    int B = r.B, T = r.T, N = B * T, V = r.V;
    struct lora lo;
    struct lora_config lc = { .rank = 0, .targets = LORA_TARGETS_ALL_LINEAR, .seed = 1 };
    const char *rank = sft_meta_get(&r.f, "lora_rank"), *alpha = sft_meta_get(&r.f, "lora_alpha");
    lc.rank = rank ? atoi(rank) : 0;
    lc.alpha = alpha ? strtof(alpha, NULL) : 0;
    char why[160];
    CHECK_INT(lora_init(&lo, c, &lc, why, sizeof(why)), 0);
    set_lora_from_ref(&lo, &r);
    struct model_acts a;
    CHECK_INT(model_acts_alloc(&a, c, &lo, B, T), 0);
    CHECK_INT(model_forward(&m, NULL, r.tokens, B, T, &a), 0);
    double d_plain = compare(&r, "logits", a.logits, (size_t)N * V, LOGIT_TOL, 0);
    size_t nref;
    float *want_plain = ref_tensor(&r, "logits", &nref);
    double d_dec = want_plain ? check_decode(&m, &r, want_plain) : INFINITY;
    CHECK(d_dec <= LOGIT_TOL);

    /* with LoRA on every projection; full fine-tuning gradients in the same backward */
    CHECK_INT(model_forward(&m, &lo, r.tokens, B, T, &a), 0);
    double d_lora = compare(&r, "logits_lora", a.logits, (size_t)N * V, LOGIT_TOL, 0);
    unsigned char *mask = xmalloc((size_t)N);
    memset(mask, 1, (size_t)N);
    struct loss_sum ls = { 0 };
    CHECK_INT(sft_loss_forward(&ls, a.logits, r.targets, mask, N, V), 0);
    const char *loss_s = sft_meta_get(&r.f, "loss");
    double want_loss = loss_s ? strtod(loss_s, NULL) : NAN;
    CHECK_NEAR(loss_mean(&ls), want_loss, 1e-5);
    sft_loss_backward(a.logits, a.logits, r.targets, mask, N, V, sft_loss_count(mask, N));
    struct trainable tr;
    struct trainable_spec full = { .full = 1 };
    CHECK_INT(trainable_init(&tr, c, &full, why, sizeof(why)), 0);
    CHECK_INT(model_alloc(&g, c), 0);
    CHECK_INT(model_backward(&m, &lo, &tr, &a, a.logits, &g), 0);
    fprintf(stderr, "  %-8s logits: max|diff| %.2e alone, %.2e with LoRA; decoder %.2e; "
            "loss %.6f (torch %.6f)\n", name, d_plain, d_lora, d_dec, loss_mean(&ls), want_loss);
    check_grads(&m, &g, &lo, &r, name);

    /* the adapters merged, through the decoder */
    float *want_lora = ref_tensor(&r, "logits_lora", &nref);
    CHECK_INT(lora_merge(&lo, &m), 0);
    double d_merged = want_lora ? check_decode(&m, &r, want_lora) : INFINITY;
    fprintf(stderr, "  %-8s merged LoRA decoder vs torch: max|diff| %.2e\n", name, d_merged);
    CHECK(d_merged <= LOGIT_TOL);
    CHECK_INT(lora_unmerge(&lo, &m), 0);
    check_round_trip(&m, name);

    free(want_lora);
    free(want_plain);
    free(mask);
    trainable_free(&tr);
    model_free(&g);
    model_acts_free(&a);
    lora_free(&lo);
out:
    free(r.tokens);
    free(r.targets);
    sft_free(&r.f);
    model_free(&m);
    sb_free(&err);
    free(refp);
    free(dir);
}

static void test_llama3(void) { check_case("llama3"); }
static void test_qwen2(void) { check_case("qwen2"); }
static void test_qwen3(void) { check_case("qwen3"); }
static void test_mistral(void) { check_case("mistral"); }

int main(void)
{
    ref_root = getenv("MAINLINE_HF_REF");
    if (!ref_root || !*ref_root) {
        printf("(no MAINLINE_HF_REF: the comparison runs in tests/shell/t3012-hf-archs.sh)\n");
        return test_report();
    }
    TEST(test_llama3);
    TEST(test_qwen2);
    TEST(test_qwen3);
    TEST(test_mistral);
    return test_report();
}
