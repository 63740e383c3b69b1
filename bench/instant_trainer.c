/*
 * instant_trainer.c - the trainer bench_overhead runs: it appends 20 values to
 * $MAINLINE_METRICS (16 train lines with a loss, 4 val lines with an nll, one
 * value per line, like an Optuna trial that reports 20 intermediate values) and
 * exits 0 at once. It is not a trainer and reads nothing else; it links only libc
 * so that its own cost is the floor any trainer pays.
 */
#include <stdio.h>
#include <stdlib.h>

enum { VALUES = 20, VAL_EVERY = 5 };

int main(void)
{
    const char *path = getenv("MAINLINE_METRICS");
    if (!path) {
        fprintf(stderr, "instant_trainer: MAINLINE_METRICS is not set\n");
        return 2;
    }
    FILE *f = fopen(path, "a");
    if (!f) {
        perror(path);
        return 4;
    }
    for (int i = 1; i <= VALUES; i++) {
        if (i % VAL_EVERY == 0)
            fprintf(f, "{\"event\":\"val\",\"step\":%d,\"nll\":%.6f}\n", i, 1.0 + 1.0 / i);
        else
            fprintf(f, "{\"event\":\"train\",\"step\":%d,\"loss\":%.6f}\n", i, 2.0 / i);
    }
    if (fclose(f) != 0) {
        perror(path);
        return 4;
    }
    return 0;
}
