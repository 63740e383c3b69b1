/*
 * blas_env.h - keep jobs off OpenBLAS's slow path.
 *
 * Debian's OpenBLAS picks its kernels by looking at the CPU; on some virtual CPUs
 * it sees "Prescott" and runs SGEMM about 5x slower. The CPU's own feature flags
 * say which kernels it can run, so the orchestrator names them for every job
 * (OPENBLAS_CORETYPE) unless the user already chose.
 */
#ifndef MAINLINE_BLAS_ENV_H
#define MAINLINE_BLAS_ENV_H

/* The OPENBLAS_CORETYPE this CPU should use ("SkylakeX", "Haswell"), or NULL when
 * its features do not call for one. */
const char *blas_coretype_for_cpu(void);

/* What jobs get: the user's OPENBLAS_CORETYPE if set, else blas_coretype_for_cpu(). */
const char *blas_coretype_for_jobs(void);

/* Measured GFLOP/s of y (m, n) = x (m, k) W (n, k)^T with cblas_sgemm at `threads`
 * OpenBLAS threads (which stay set afterwards), best of 5 after a warm-up call.
 * The SGEMM ceiling `mainline doctor` and bench/bench_train.c report. */
double blas_sgemm_gflops(int m, int n, int k, int threads);

#endif
