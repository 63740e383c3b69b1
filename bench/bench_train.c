/*
 * bench_train.c - training throughput of the built-in trainer, on the configs and
 * update strategies of issue 4, next to PyTorch's figures and the SGEMM ceiling.
 *
 * It is a benchmark, not a test. For each model it writes a random-weight model
 * (Hugging Face layout, byte tokenizer) and a JSONL of 64 "text" rows of 300 bytes
 * into a temporary directory, then builds a real trainer on them (trainer_setup, the
 * code mainline-train runs: batch 8 of 256 positions, every position a completion
 * token) and times whole optimizer steps (trainer_step: forward, SFT loss, backward,
 * clipping, AdamW). Models:
 *
 *   s15m    dim 288, 6 layers, 6 heads, hidden 768, vocab 512, tied embeddings
 *   s260k   dim 64, 5 layers, 8 heads, 4 kv heads, hidden 172, vocab 512, tied
 *           (the shape of ../shared/models/stories260K; its weights do not change
 *           the speed, so random ones stand in)
 *   qwen3   Qwen3-0.6B's layer shape with 2 layers: dim 1024, 16 heads of 128 (q 2048
 *           wide), 8 kv heads, q/k norms, hidden 3072, the real 151,669-token
 *           vocabulary, tied; batch 2 x 256 (the lm_head is most of the work), SFT
 *           rows: the first 114 positions of each are prompt, out of the loss. Its
 *           PyTorch figure is measured in the same run by bench/bench_qwen3.sh
 *           (bench/torch_qwen3.py), so this table leaves it out.
 *
 * and strategies LoRA r 8 on q,k,v,o; LoRA r 8 on all seven projections; full.
 * tokens/s is positions trained per second over STEPS steps after one warm-up step,
 * best of REPS repetitions (the spread is printed too). GFLOP/s counts the useful
 * matmul work of a step (flops_per_token below): the projections, the lm_head and
 * the causal half of attention, forward and the backward the trainer does (no
 * weight gradient for a frozen weight), next to cblas_sgemm measured in this
 * process on a 512^3 product and on the (2048 x 64) x (64 x 64) shape of s260k.
 *
 * OpenBLAS must not run on its slow "Prescott" path: when OPENBLAS_CORETYPE is not
 * set and the CPU calls for one, the program sets it and re-executes itself.
 *
 *   build/bench/bench_train [-s STEPS] [-r REPS] [-t THREADS] [-m MODEL] [-k KIND]
 *     defaults 4 steps, 3 reps, threads 1 and 2, s15m and s260k, every kind
 *     (KIND: lora-qkvo, lora-all, full; -t, -m, -k may repeat)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_tmpdir.h"
#include "blas_env.h"
#include "clock.h"
#include "error.h"
#include "fsutil.h"
#include "model_io.h"
#include "parallel.h"
#include "table.h"
#include "train.h"

char *openblas_get_corename(void);

enum { BATCH = 8, SEQ = 256, ROWS = 64, ROW_BYTES = 300, RANK = 8 };
/* qwen3's SFT rows: BOS + 114 prompt bytes (not learned) + 141 completion bytes + EOS = 257
 * tokens, so 142 of the 256 positions are in the loss (55%): the proportion of the
 * project's demo row in docs/data.md (151 prompt : 178 completion tokens) */
enum { QWEN3_PROMPT = 114 };

struct bench_model {
    const char *name;
    struct model_config cfg;
    double torch[3];       /* PyTorch 1.13 tokens/s at 2 threads, per kind (issue 4); 0:
                            * measured elsewhere */
    double goal[3];        /* the goal as a multiple of torch */
    int batch, seq;        /* examples per step, positions per example */
    int only_asked;        /* run only when -m names it */
    int prompt_bytes;      /* 0: "text" rows, every position in the loss; else SFT rows of
                            * this many prompt bytes and seq - 1 - prompt completion bytes */
};

enum kind { LORA_QKVO, LORA_ALL, FULL, KINDS };
static const char *const kind_names[KINDS] = { "lora-qkvo", "lora-all", "full" };
static const char *const kind_params[KINDS] = {
    "\"rank\": 8, \"alpha\": 16, \"targets\": [\"q_proj\", \"k_proj\", \"v_proj\", \"o_proj\"]",
    "\"rank\": 8, \"alpha\": 16, \"targets\": [\"all-linear\"]",
    "\"full\": true",
};

#define CFG(C, L, NH, NKV, H) { .dim = C, .hidden_dim = H, .n_layers = L, .n_heads = NH,      \
                                .n_kv_heads = NKV, .vocab_size = 512, .max_seq_len = 512,     \
                                .norm_eps = 1e-5f, .rope_theta = 10000.0f,                    \
                                .tied_embeddings = 1, .bos_id = 256, .eos_id = 257 }
static const struct bench_model models[] = {
    { "s15m", CFG(288, 6, 6, 6, 768), { 3010, 2670, 2950 }, { 2, 2, 1.5 }, BATCH, SEQ, 0, 0 },
    { "s260k", CFG(64, 5, 8, 4, 172), { 12830, 12400, 12840 }, { 3, 3, 3 }, BATCH, SEQ, 0, 0 },
    { "qwen3", { .dim = 1024, .hidden_dim = 3072, .n_layers = 2, .n_heads = 16,
                 .n_kv_heads = 8, .vocab_size = 151669, .max_seq_len = 512, .norm_eps = 1e-6f,
                 .rope_theta = 1000000.0f, .tied_embeddings = 1, .bos_id = 256, .eos_id = 257,
                 .arch = ARCH_QWEN3, .head_dim = 128, .qk_norm = 1 },
      { 0, 0, 0 }, { 2, 2, 2 }, 2, SEQ, 1, QWEN3_PROMPT },
};
#define N_MODELS (sizeof(models) / sizeof(models[0]))

/* ---- the work of a step ---- */

/* FLOPs of y (N, out) = x (N, in) W^T per row: forward, and backward as asked. */
static double proj_flops(int in, int out, int need_dx, int need_dw)
{
    return 2.0 * in * out * (1 + need_dx + need_dw);
}

/* A rank-r adapter on (in, out): u = x A^T, y += u B^T; backward dB, du, dA, dx. */
static double lora_flops(int in, int out, int need_dx)
{
    return 2.0 * RANK * (in + out) + 2.0 * RANK * (2.0 * out + in + (need_dx ? in : 0));
}

/*
 * Useful matmul FLOPs per position of one training step (the lm_head only on the
 * positions in the loss, seq - prompt of seq). Every layer trains (an
 * adapter or its weights), so every input gradient is needed except below the
 * lowest trained tensor: layer 0's q/k/v input when only adapters train. The
 * attention counts the causal half: position t attends to t + 1 keys, (T + 1) / 2
 * on average, 4 C FLOPs each forward (scores, values) and 8 C backward.
 */
static double flops_per_token(const struct model_config *c, enum kind kind, int seq,
                              int prompt)
{
    int C = c->dim, H = c->hidden_dim, KV = model_head_size(c) * c->n_kv_heads;
    int QD = model_q_dim(c), full = kind == FULL;
    struct { int in, out, lora; } proj[7] = {
        { C, QD, 1 }, { C, KV, 1 }, { C, KV, 1 }, { QD, C, 1 },
        { C, H, kind == LORA_ALL }, { C, H, kind == LORA_ALL }, { H, C, kind == LORA_ALL },
    };
    /* lm_head (tied: the embedding), useful on the loss's positions only */
    double f = proj_flops(C, c->vocab_size, 1, full) * (seq - prompt) / seq;
    for (int l = 0; l < c->n_layers; l++) {
        for (int p = 0; p < 7; p++) {
            int need_dx = full || l > 0 || p > 2;
            f += proj_flops(proj[p].in, proj[p].out, need_dx, full);
            if (!full && proj[p].lora)
                f += lora_flops(proj[p].in, proj[p].out, need_dx);
        }
        f += 12.0 * QD * (seq + 1) / 2.0;
    }
    return f;
}

/* ---- inputs ---- */

static const char *tmpdir;

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Weights uniform in [-0.05, 0.05], norms 1, saved with a byte tokenizer. */
static void write_model(const char *dir, const struct model_config *cfg)
{
    struct model m;
    struct strbuf err = STRBUF_INIT;
    if (model_alloc(&m, cfg) < 0)
        die("bench_train: model_alloc failed");
    uint64_t rng = 42;
    for (size_t i = 0; i < m.n_params; i++)
        m.slab[i] = ((float)(splitmix64(&rng) >> 40) / 16777216.0f - 0.5f) * 0.1f;
    for (int k = 0; k < TK_COUNT; k++) {
        if (k != TK_ATTN_NORM && k != TK_MLP_NORM && k != TK_FINAL_NORM && k != TK_Q_NORM &&
            k != TK_K_NORM)
            continue;
        for (int l = 0; l < (tensor_kind_is_per_layer((enum tensor_kind)k) ? cfg->n_layers : 1);
             l++) {
            struct tensor_ref t = model_tensor(&m, (enum tensor_kind)k, l);
            for (size_t i = 0; i < t.rows * t.cols; i++)
                t.data[i] = 1.0f;
        }
    }
    if (model_save_extra(dir, &m, "{\"tokenizer\": \"bytes\", \"pad_token_id\": 258}", &err) < 0)
        die("bench_train: %s", err.buf);
    model_free(&m);
    sb_free(&err);
}

static void add_letters(struct strbuf *s, uint64_t *rng, int n)
{
    for (int i = 0; i < n; i++) {
        int c = (int)(splitmix64(rng) % 27);
        sb_addf(s, "%c", c == 26 ? ' ' : 'a' + c);
    }
}

/* ROWS rows of lowercase letters and spaces: {"text": ROW_BYTES of them} when prompt is
 * 0, else {"prompt": prompt of them, "completion": seq - 1 - prompt} (with BOS and EOS,
 * seq + 1 tokens: one example of seq positions). */
static void write_data(const char *path, int prompt, int seq)
{
    struct strbuf s = STRBUF_INIT, err = STRBUF_INIT;
    uint64_t rng = 7;
    for (int r = 0; r < ROWS; r++) {
        if (prompt) {
            sb_adds(&s, "{\"prompt\": \"");
            add_letters(&s, &rng, prompt);
            sb_adds(&s, "\", \"completion\": \"");
            add_letters(&s, &rng, seq - 1 - prompt);
        } else {
            sb_adds(&s, "{\"text\": \"");
            add_letters(&s, &rng, ROW_BYTES);
        }
        sb_adds(&s, "\"}\n");
    }
    if (write_file_atomic(path, s.buf, s.len, &err) < 0)
        die("bench_train: %s", err.buf);
    sb_free(&s);
    sb_free(&err);
}

/* ---- timing ---- */

struct result {
    double best, worst;    /* tokens/s over the repetitions */
    double per_cpu;        /* tokens per CPU-second of the process (every thread), best rep */
};

static void setup_trainer(struct trainer *t, struct train_config *cfg, const char *model_dir,
                          const char *data, enum kind kind, int batch, int seq)
{
    struct strbuf text = STRBUF_INIT, err = STRBUF_INIT;
    sb_addf(&text, "{\"base_model\": {\"path\": \"%s\"}, \"datasets\": {\"train\": {\"path\": "
            "\"%s\"}}, \"params\": {%s, \"batch_size\": %d, \"max_seq_len\": %d, "
            "\"lr\": 1e-4, \"epochs\": 1000}}", model_dir, data, kind_params[kind], batch,
            seq + 1);
    json_t *root = json_loads(text.buf, 0, NULL);
    if (!root || train_config_parse(root, tmpdir, cfg, &err) != CONFIG_OK ||
        trainer_setup(t, cfg, tmpdir, &err) != TRAIN_OK)
        die("bench_train: setup: %s", err.buf);
    if (t->acts.B != batch || t->acts.T != seq)
        die("bench_train: expected %d x %d batches, got %d x %d", batch, seq, t->acts.B,
            t->acts.T);
    json_decref(root);
    sb_free(&text);
    sb_free(&err);
}

static void step(struct trainer *t)
{
    struct strbuf err = STRBUF_INIT;
    double loss;
    if (trainer_step(t, &loss, &err) != TRAIN_OK)
        die("bench_train: step %ld: %s", t->pr.step + 1, err.buf);
    sb_free(&err);
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct result run_case(const char *model_dir, const char *data, enum kind kind,
                              int threads, int steps, int reps, int batch, int seq)
{
    struct train_config cfg;
    struct trainer t;
    struct result r = { 0, 1e300, 0 };
    par_set_threads(threads);
    setup_trainer(&t, &cfg, model_dir, data, kind, batch, seq);
    t.threads = threads;
    step(&t);   /* warm-up: first touch of every buffer, BLAS threads started */
    for (int rep = 0; rep < reps; rep++) {
        long tok0 = t.pr.tokens;
        double t0 = clock_now_s(), c0 = cpu_seconds();
        for (int s = 0; s < steps; s++)
            step(&t);
        double rate = (double)(t.pr.tokens - tok0) / (clock_now_s() - t0);
        double per_cpu = (double)(t.pr.tokens - tok0) / (cpu_seconds() - c0);
        r.per_cpu = per_cpu > r.per_cpu ? per_cpu : r.per_cpu;
        r.best = rate > r.best ? rate : r.best;
        r.worst = rate < r.worst ? rate : r.worst;
    }
    trainer_free(&t);
    train_config_free(&cfg);
    return r;
}

/* ---- output ---- */

static void fmt_int(char *buf, size_t len, double v)
{
    char digits[32], *o = buf;
    snprintf(digits, sizeof(digits), "%.0f", v);
    size_t n = strlen(digits);
    for (size_t i = 0; i < n && (size_t)(o - buf) + 2 < len; i++) {
        if (i && (n - i) % 3 == 0)
            *o++ = ',';
        *o++ = digits[i];
    }
    *o = '\0';
}

struct opts {
    int steps, reps;
    int threads[4], n_threads;
    int model_on[N_MODELS], kind_on[KINDS];
};

static void add_row(struct table *tb, const struct bench_model *bm, enum kind kind, int threads,
                    struct result r, double ceiling)
{
    char rate[32], spread[64], torch[32], ratio[32], goal[32], gf[32], pct[32], cpu[32];
    double gflops = r.best * flops_per_token(&bm->cfg, kind, bm->seq, bm->prompt_bytes) / 1e9;
    fmt_int(rate, sizeof(rate), r.best);
    fmt_int(cpu, sizeof(cpu), r.per_cpu);
    snprintf(spread, sizeof(spread), "%.0f%%", 100.0 * (r.best - r.worst) / r.best);
    int compare = threads == 2 && bm->torch[kind] > 0;   /* PyTorch was measured at 2 threads */
    fmt_int(torch, sizeof(torch), bm->torch[kind]);
    snprintf(ratio, sizeof(ratio), "%.2fx", r.best / bm->torch[kind]);
    snprintf(goal, sizeof(goal), "%.1fx %s", bm->goal[kind],
             r.best >= bm->goal[kind] * bm->torch[kind] ? "met" : "not met");
    snprintf(gf, sizeof(gf), "%.1f", gflops);
    snprintf(pct, sizeof(pct), "%.0f%%", 100.0 * gflops / ceiling);
    char th[8];
    snprintf(th, sizeof(th), "%d", threads);
    const char *row[] = { bm->name, kind_names[kind], th, rate, spread, cpu,
                          compare ? torch : NULL, compare ? ratio : NULL,
                          compare ? goal : NULL, gf, pct, NULL };
    table_add(tb, row);
}

static int parse_int(const char *s, int lo, int hi, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v < lo || v > hi)
        die("bench_train: %s must be an integer in %d..%d, not '%s'", what, lo, hi, s);
    return (int)v;
}

static int lookup(const char *s, const char *const *names, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i]))
            return i;
    die("bench_train: unknown %s '%s'", what, s);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
    const char *model_names[N_MODELS];
    int any_model = 0, any_kind = 0, c;
    for (size_t i = 0; i < N_MODELS; i++)
        model_names[i] = models[i].name;
    memset(o, 0, sizeof(*o));
    o->steps = 4;
    o->reps = 3;
    while ((c = getopt(argc, argv, "s:r:t:m:k:")) != -1) {
        if (c == 's')
            o->steps = parse_int(optarg, 1, 100000, "-s STEPS");
        else if (c == 'r')
            o->reps = parse_int(optarg, 1, 1000, "-r REPS");
        else if (c == 't' && o->n_threads < 4)
            o->threads[o->n_threads++] = parse_int(optarg, 1, 256, "-t THREADS");
        else if (c == 'm')
            any_model = o->model_on[lookup(optarg, model_names, N_MODELS, "model")] = 1;
        else if (c == 'k')
            any_kind = o->kind_on[lookup(optarg, kind_names, KINDS, "kind")] = 1;
        else
            die("usage: bench_train [-s STEPS] [-r REPS] [-t THREADS] [-m s15m|s260k|qwen3] "
                "[-k lora-qkvo|lora-all|full]");
    }
    if (!o->n_threads) {
        o->threads[o->n_threads++] = 1;
        o->threads[o->n_threads++] = 2;
    }
    for (size_t i = 0; i < N_MODELS; i++)
        o->model_on[i] |= !any_model && !models[i].only_asked;
    for (int k = 0; k < KINDS; k++)
        o->kind_on[k] |= !any_kind;
}

static double load_average(void)
{
    double l[1] = { -1 };
    return getloadavg(l, 1) == 1 ? l[0] : -1;
}

/* Re-execute with OPENBLAS_CORETYPE set when the CPU calls for a core and it is unset. */
static void ensure_blas_core(char **argv)
{
    const char *core = blas_coretype_for_cpu(), *user = getenv("OPENBLAS_CORETYPE");
    if (user && *user)
        return;
    if (!core)
        return;
    setenv("OPENBLAS_CORETYPE", core, 1);
    execv("/proc/self/exe", argv);
    die("bench_train: cannot re-execute itself with OPENBLAS_CORETYPE=%s", core);
}

int main(int argc, char **argv)
{
    ensure_blas_core(argv);
    struct opts o;
    parse_opts(argc, argv, &o);
    tmpdir = bench_tmpdir_create("train");

    printf("training throughput (bench/bench_train.c): batch %d x %d positions, %d steps after "
           "a warm-up, best of %d; OpenBLAS core %s\n", BATCH, SEQ, o.steps, o.reps,
           openblas_get_corename());
    double ceil512[4], ceil64[4];
    for (int i = 0; i < o.n_threads; i++) {
        ceil512[i] = blas_sgemm_gflops(512, 512, 512, o.threads[i]);
        ceil64[i] = blas_sgemm_gflops(BATCH * SEQ, 64, 64, o.threads[i]);
        printf("sgemm ceiling at %d thread%s: %.1f GFLOP/s (512 x 512 x 512), %.1f "
               "(2048 x 64 x 64)\n", o.threads[i], o.threads[i] > 1 ? "s" : "", ceil512[i],
               ceil64[i]);
    }
    printf("\n");
    double load0 = load_average();
    static const char *const header[] = { "model", "kind", "threads", "tokens/s", "spread",
                                          "per CPU-s",
                                          "PyTorch", "ratio", "goal", "GFLOP/s", "of ceiling",
                                          NULL };
    struct table tb;
    table_init(&tb, header);
    tb.right_align = 0x7fcu;
    for (size_t m = 0; m < N_MODELS; m++) {
        if (!o.model_on[m])
            continue;
        char dir[4200], data[4200];
        snprintf(dir, sizeof(dir), "%s/%s", tmpdir, models[m].name);
        snprintf(data, sizeof(data), "%s/%s.jsonl", tmpdir, models[m].name);
        write_model(dir, &models[m].cfg);
        write_data(data, models[m].prompt_bytes, models[m].seq);
        for (int k = 0; k < KINDS; k++)
            for (int i = 0; o.kind_on[k] && i < o.n_threads; i++) {
                struct result r = run_case(dir, data, (enum kind)k, o.threads[i], o.steps,
                                           o.reps, models[m].batch, models[m].seq);
                /* s15m's products are wide; s260k's are 64 wide */
                add_row(&tb, &models[m], (enum kind)k, o.threads[i], r,
                        models[m].cfg.dim >= 256 ? ceil512[i] : ceil64[i]);
            }
    }
    table_print(&tb, stdout, "");
    table_free(&tb);
    printf("\nspread: (best - worst) / best over the repetitions. per CPU-s: tokens per second\n"
           "of CPU time, every thread counted (at 1 thread: the speed a busy machine leaves).\n"
           "PyTorch: 1.13, 2 threads, OPENBLAS_CORETYPE=SkylakeX, its best settings (issue 4).\n"
           "of ceiling: GFLOP/s over the SGEMM ceiling of the model's width (512^3 for s15m,\n"
           "2048 x 64 x 64 for s260k). Load average %.2f before, %.2f after (%ld cores).\n",
           load0, load_average(), sysconf(_SC_NPROCESSORS_ONLN));
    return 0;
}
