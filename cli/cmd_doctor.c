/*
 * cmd_doctor.c - `mainline doctor`: is this machine set up to train fast? Prints
 * the BLAS core OpenBLAS chose, the one mainline gives jobs, the threads, and a
 * measured SGEMM rate, so a slow path shows up as a number, not a suspicion.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas_env.h"
#include "cli.h"

char *openblas_get_corename(void);
int openblas_get_num_threads(void);

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
    double g1 = blas_sgemm_gflops(512, 512, 512, 1);
    double gn = blas_sgemm_gflops(512, 512, 512, cores > 1 ? (int)cores : 1);
    printf("sgemm 512x512x512  %.1f GFLOP/s at 1 thread, %.1f at %ld\n", g1, gn,
           cores > 1 ? cores : 1);
    int slow = strstr(openblas_get_corename(), "Prescott") != NULL ||
               (jobs && strcasecmp(openblas_get_corename(), jobs) != 0);
    if (slow)
        printf("note: OpenBLAS chose %s here, but this CPU can run %s kernels; jobs started by "
               "mainline run get OPENBLAS_CORETYPE=%s\n", openblas_get_corename(), jobs, jobs);
    return EXIT_OK;
}
