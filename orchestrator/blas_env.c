/* blas_env.c - choosing OPENBLAS_CORETYPE from the CPU's features (see blas_env.h). */
#include <stdlib.h>

#include "blas_env.h"

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
