/*
 * cmd_doctor.c - `mainline doctor`: is this machine set up to train fast? Prints
 * the BLAS core OpenBLAS chose, the one mainline gives jobs, the threads, and a
 * measured SGEMM rate, so a slow path shows up as a number, not a suspicion.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "blas_env.h"
#include "cli.h"

char *openblas_get_corename(void);
void openblas_set_num_threads(int n);
int openblas_get_num_threads(void);

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* GFLOP/s of an n x n x n SGEMM (the shape of a large projection), best of reps. */
static double sgemm_gflops(int n, int threads)
{
    openblas_set_num_threads(threads);
    size_t sz = (size_t)n * (size_t)n;
    float *a = xmalloc(sz * sizeof(float)), *b = xmalloc(sz * sizeof(float));
    float *c = xmalloc(sz * sizeof(float));
    for (size_t i = 0; i < sz; i++) {
        a[i] = 1.0f / (float)(i % 7 + 1);
        b[i] = 1.0f / (float)(i % 5 + 1);
    }
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                    n);
        double t = seconds() - t0;
        if (t < best)
            best = t;
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * n * n * (double)n / best / 1e9;
}

int cmd_doctor(int argc, char **argv, struct cli *cli)
{
    (void)argv;
    (void)cli;
    if (argc != 1)
        return cli_usage("usage: mainline doctor\n");
    const char *cpu = blas_coretype_for_cpu(), *jobs = blas_coretype_for_jobs();
    const char *user = getenv("OPENBLAS_CORETYPE");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("cpu cores          %ld\n", cores);
    printf("blas core (here)   %s%s\n", openblas_get_corename(),
           user && *user ? " (OPENBLAS_CORETYPE set by you)" : "");
    printf("cpu features call  %s\n", cpu ? cpu : "no particular core");
    printf("jobs get           OPENBLAS_CORETYPE=%s\n", jobs ? jobs : "(unset: OpenBLAS decides)");
    printf("blas threads       %d by default; mainline run gives each job "
           "--threads-per-run (default 1)\n", openblas_get_num_threads());
    double g1 = sgemm_gflops(512, 1);
    double gn = sgemm_gflops(512, cores > 1 ? (int)cores : 1);
    printf("sgemm 512x512x512  %.1f GFLOP/s at 1 thread, %.1f at %ld\n", g1, gn,
           cores > 1 ? cores : 1);
    int slow = strstr(openblas_get_corename(), "Prescott") != NULL ||
               (jobs && strcasecmp(openblas_get_corename(), jobs) != 0);
    if (slow)
        printf("note: OpenBLAS chose %s here, but this CPU can run %s kernels; jobs started by "
               "mainline run get OPENBLAS_CORETYPE=%s\n", openblas_get_corename(), jobs, jobs);
    return EXIT_OK;
}
