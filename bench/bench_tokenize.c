/*
 * bench_tokenize.c - encoding throughput of a tokenizer.json (model/hf_tokenizer.c).
 *
 *   build/bench/bench_tokenize TOKENIZER_DIR TEXT_FILE [REPS [IDS_OUT]]
 *
 * Loads the tokenizer (timed apart), encodes the whole file as one text REPS times
 * (default 5) on one thread, and prints one line: the load time, the median encode
 * time and MB/s (10^6 bytes of text per second of wall time), the median CPU
 * seconds and MB per CPU second (on a shared, loaded machine the fairer figure),
 * and the number of ids. IDS_OUT gets
 * the ids, one a line, so that bench/bench_tokenize.sh can check them against the
 * references it times. A benchmark, not a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "error.h"
#include "fsutil.h"
#include "tokenizer.h"

/* CPU seconds of this process (all threads): what the cores it got did. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_tokenize TOKENIZER_DIR TEXT_FILE [REPS [IDS_OUT]]\n");
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    struct strbuf err = STRBUF_INIT;
    struct tokenizer tok;
    char *text;
    size_t len;
    if (read_file(argv[2], &text, &len, &err) < 0)
        die("%s", sb_str(&err));
    double t0 = clock_now_s();
    if (tokenizer_load_hf(argv[1], &tok, &err) < 0)
        die("%s", sb_str(&err));
    double load = clock_now_s() - t0;
    if (reps < 1)
        reps = 1;
    double *secs = xcalloc((size_t)reps, sizeof(double));
    double *cpu = xcalloc((size_t)reps, sizeof(double));
    int *ids = NULL;
    size_t n = 0;
    for (int r = 0; r < reps; r++) {
        free(ids);
        t0 = clock_now_s();
        double c0 = cpu_now();
        tokenizer_encode(&tok, text, len, 0, 0, &ids, &n);
        secs[r] = clock_now_s() - t0;
        cpu[r] = cpu_now() - c0;
    }
    qsort(secs, (size_t)reps, sizeof(double), cmp_double);
    qsort(cpu, (size_t)reps, sizeof(double), cmp_double);
    double med = secs[reps / 2], cmed = cpu[reps / 2];
    printf("mainline  load %.2f s  encode %.3f s  %.2f MB/s  cpu %.3f s  %.2f MB/cpu-s  "
           "%zu ids\n", load, med, (double)len / med / 1e6, cmed, (double)len / cmed / 1e6, n);
    if (argc > 4) {
        FILE *f = fopen(argv[4], "w");
        for (size_t i = 0; f && i < n; i++)
            fprintf(f, "%d\n", ids[i]);
        if (f)
            fclose(f);
    }
    free(ids);
    free(secs);
    free(cpu);
    free(text);
    tokenizer_free(&tok);
    sb_free(&err);
    return 0;
}
