/* blas_env.c - choosing OPENBLAS_CORETYPE from the CPU's features (see blas_env.h). */
#include <stdlib.h>
#include <time.h>

#include <cblas.h>

#include "blas_env.h"
#include "clock.h"
#include "error.h"

void openblas_set_num_threads(int n);

const char *blas_coretype_for_cpu(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
    return NULL;
}

const char *blas_coretype_for_jobs(void)
{
    const char *user = getenv("OPENBLAS_CORETYPE");
    return user && *user ? user : blas_coretype_for_cpu();
}

double blas_sgemm_gflops(int m, int n, int k, int threads)
{
    openblas_set_num_threads(threads);
    size_t na = (size_t)m * k, nb = (size_t)n * k;
    float *a = xmalloc(na * sizeof(float)), *b = xmalloc(nb * sizeof(float));
    float *c = xmalloc((size_t)m * n * sizeof(float));
    for (size_t i = 0; i < na; i++)
        a[i] = 1.0f / (float)(i % 7 + 1);
    for (size_t i = 0; i < nb; i++)
        b[i] = 1.0f / (float)(i % 5 + 1);
    double best = 1e30;
    for (int rep = 0; rep < 6; rep++) {   /* the first call warms the threads up */
        double t0 = clock_now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, 0.0f, c,
                    n);
        double t = clock_now_s() - t0;
        if (rep > 0 && t < best)
            best = t;
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * m * n * (double)k / best / 1e9;
}
