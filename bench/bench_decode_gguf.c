/*
 * bench_decode_gguf.c - greedy decoding from GGUF files: the built-in evaluator's speed
 * on f32, q8_0 and q4_0 of the same model (bench/bench_decode_gguf.sh runs llama.cpp on
 * the same files and prints the ratios).
 *
 *   build/bench/bench_decode_gguf write DIR            the model as DIR/{f32,q8_0,q4_0}.gguf
 *                                                      and DIR/prompts.jsonl ({"ids"})
 *   build/bench/bench_decode_gguf run DIR NEW THREADS BATCH...
 *                                                      one line per file and batch
 *   build/bench/bench_decode_gguf kernel DIR           the q8_0/q4_0 product alone, both
 *                                                      ways (qmatmul.h), 1 and 32 rows
 *
 * The model: llama-shaped with random weights (speed does not depend on their values),
 * dim 1024, hidden 2816, 6 layers, 16 heads, byte vocabulary (260): 76M parameters,
 * 300 MB as f32, so the weights, not the vocabulary or attention, are what each token
 * costs. `run` loads each file with model_load() (gguf_read.c: the q8_0/q4_0 blocks kept,
 * qmatmul.h's products) and decodes, for each batch size B, B prompts (8 random ids
 * after BOS) for NEW tokens each (EOS never ends one), with generate_greedy() as the
 * evaluator does; it prints the generated tokens, wall and CPU seconds of the process
 * (all its threads) as
 *   mainline FILE batch B threads T tokens N wall S cpu S
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "error.h"
#include "fsutil.h"
#include "generate.h"
#include "gguf.h"
#include "init.h"
#include "model_io.h"
#include "qmatmul.h"
#include "quant.h"
#include "tokenizer.h"

enum { PROMPT_LEN = 9, MAX_BATCH = 256 };

static const char *const files[] = { "f32", "q8_0", "q4_0" };

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 42;

static int rand_below(int n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (int)((rng >> 33) % (uint64_t)n);
}

static int write_files(const char *dir)
{
    struct model_config c = { .dim = 1024, .hidden_dim = 2816, .n_layers = 6, .n_heads = 16,
                              .n_kv_heads = 16, .vocab_size = 260, .max_seq_len = 1024,
                              .norm_eps = 1e-5f, .rope_theta = 10000.0f, .tied_embeddings = 1,
                              .bos_id = BYTES_BOS_ID, .eos_id = BYTES_EOS_ID };
    struct model m;
    struct tokenizer tok;
    struct strbuf err = STRBUF_INIT;
    if (model_alloc(&m, &c) < 0 || mkdir_p(dir, &err) < 0)
        die("bench_decode_gguf: %s", err.len ? err.buf : "cannot allocate the model");
    model_init_random(&m, 1, MODEL_INIT_STD_DEFAULT);
    tokenizer_init_bytes(&tok, c.vocab_size, BYTES_BOS_ID, BYTES_EOS_ID, BYTES_PAD_ID);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "%s.gguf", files[i]);
        char *path = path_join(dir, name);
        struct gguf_options opt = { .quant = (enum quant_type)quant_parse(files[i]),
                                    .name = "bench-76m" };
        struct gguf_info info;
        if (gguf_write_model(path, &m, &tok, &opt, &info, &err) < 0)
            die("%s", err.buf);
        printf("wrote %s: %.1f MB\n", path, (double)info.bytes / 1e6);
        free(path);
    }
    struct strbuf p = STRBUF_INIT;
    for (int i = 0; i < MAX_BATCH; i++) {
        sb_addf(&p, "{\"ids\": [%d", BYTES_BOS_ID);
        for (int t = 1; t < PROMPT_LEN; t++)
            sb_addf(&p, ", %d", 32 + rand_below(95));   /* printable bytes */
        sb_adds(&p, "]}\n");
    }
    char *path = path_join(dir, "prompts.jsonl");
    if (write_file_atomic(path, p.buf, p.len, &err) < 0)
        die("%s", err.buf);
    free(path);
    sb_free(&p);
    tokenizer_free(&tok);
    model_free(&m);
    sb_free(&err);
    return 0;
}

/* The prompts write_files() wrote, in the same order (the same generator). */
static struct gen_prompt *prompts(int n, int **store)
{
    rng = 42;
    struct gen_prompt *p = xcalloc((size_t)n, sizeof(*p));
    *store = xcalloc((size_t)n * PROMPT_LEN, sizeof(int));
    for (int i = 0; i < n; i++) {
        int *ids = *store + (size_t)i * PROMPT_LEN;
        ids[0] = BYTES_BOS_ID;
        for (int t = 1; t < PROMPT_LEN; t++)
            ids[t] = 32 + rand_below(95);
        p[i] = (struct gen_prompt){ ids, PROMPT_LEN };
    }
    return p;
}

static void run(const char *dir, int new_tok, int threads, int argc, char **argv)
{
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        char name[32];
        snprintf(name, sizeof(name), "%s.gguf", files[f]);
        char *path = path_join(dir, name);
        struct model m;
        struct tokenizer tok;
        struct strbuf err = STRBUF_INIT;
        if (model_load(path, &m, &err) < 0)
            die("%s", err.buf);
        tokenizer_init_bytes(&tok, m.cfg.vocab_size, -1, -1, -1);   /* no EOS: NEW tokens */
        for (int a = 0; a < argc; a++) {
            int batch = atoi(argv[a]);
            if (batch < 1 || batch > MAX_BATCH)
                die("bench_decode_gguf: batch %s", argv[a]);
            int *store;
            struct gen_prompt *p = prompts(batch, &store);
            struct gen_result *res = xcalloc((size_t)batch, sizeof(*res));
            struct gen_options o = { new_tok, NULL, 0, batch, threads, 0 };
            double t0 = clock_now_s(), c0 = cpu_s();
            if (generate_greedy(&m, &tok, p, (size_t)batch, &o, res, &err) < 0)
                die("%s", err.buf);
            double wall = clock_now_s() - t0, cpu = cpu_s() - c0;
            long tokens = 0;
            for (int k = 0; k < batch; k++)
                tokens += res[k].tokens;
            printf("mainline %s batch %d threads %d tokens %ld wall %.3f cpu %.3f\n", files[f],
                   batch, threads, tokens, wall, cpu);
            fflush(stdout);
            gen_results_free(res, (size_t)batch);
            free(res);
            free(p);
            free(store);
        }
        tokenizer_free(&tok);
        model_free(&m);
        free(path);
        sb_free(&err);
    }
}

/* The projection kernel alone: the q8_0 and q4_0 ffn_gate of layer 0 (2816 x 1024) at
 * 1 and 32 rows, both ways, on one thread: rows x weights per CPU second. */
static void kernel(const char *dir)
{
    printf("qmatmul (%s), one thread, ffn_gate 2816 x 1024: weight rows x input rows per "
           "CPU us\n", qmatmul_isa_name(qmatmul_isa()));
    for (size_t f = 1; f < sizeof(files) / sizeof(files[0]); f++) {
        char name[32];
        snprintf(name, sizeof(name), "%s.gguf", files[f]);
        char *path = path_join(dir, name);
        struct model m;
        struct strbuf err = STRBUF_INIT;
        if (model_load(path, &m, &err) < 0)
            die("%s", err.buf);
        const struct qweight *w = model_qweight(&m, TK_GATE, 0);
        int in = (int)w->cols, out = (int)w->rows;
        float *x = xmalloc((size_t)32 * in * sizeof(float));
        float *y = xmalloc((size_t)32 * out * sizeof(float));
        uint8_t *xq = xmalloc((size_t)32 * qmatmul_xq_bytes(in));
        for (int i = 0; i < 32 * in; i++)
            x[i] = (float)rand_below(2001) / 1000.0f - 1.0f;
        const int rows[] = { 1, 32 };
        for (int r = 0; r < 2; r++)
            for (int mode = QM_INT8; mode <= QM_FMA; mode++) {
                int reps = 0;
                double c0 = cpu_s(), c1;
                do {
                    if (mode == QM_INT8)
                        qmatmul_quantize(xq, x, rows[r], in);
                    qmatmul_rows(y, x, xq, w, (enum qmatmul_mode)mode, rows[r], 0, out);
                    reps++;
                    c1 = cpu_s();
                } while (c1 - c0 < 0.5);
                printf("  %-5s %2d rows %-4s %8.1f\n", files[f], rows[r],
                       mode == QM_INT8 ? "int8" : "fma",
                       (double)reps * rows[r] * out / ((c1 - c0) * 1e6));
            }
        free(x);
        free(y);
        free(xq);
        model_free(&m);
        free(path);
        sb_free(&err);
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "write"))
        return write_files(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "kernel")) {
        kernel(argv[2]);
        return 0;
    }
    if (argc >= 6 && !strcmp(argv[1], "run")) {
        run(argv[2], atoi(argv[3]), atoi(argv[4]), argc - 5, argv + 5);
        return 0;
    }
    die("usage: bench_decode_gguf write DIR | run DIR NEW THREADS BATCH... | kernel DIR");
}
