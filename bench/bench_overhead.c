/*
 * bench_overhead.c - what mainline itself costs per run, for a trainer that does
 * nothing: plan + fork/exec (supervisor and trainer) + ingest + finish.
 *
 * It is a benchmark, not a test: it checks only that every run finished and every
 * value landed, and prints a table. Each repetition, in a fresh temporary
 * directory:
 *
 *   reference   the instant trainer run N times straight from this process, JOBS at
 *               a time, each appending its 20 values to its own metrics.jsonl
 *   mainline    `mainline plan` of a grid of N runs whose trainer is that same
 *               program, then `mainline run SWEEP -j JOBS -q`
 *
 * CPU is user + sys of every process involved (getrusage(RUSAGE_CHILDREN): the
 * orchestrator, its supervisors and the trainers). mainline's own cost per run is
 * (mainline - reference) / N. The table shows the median of REPS repetitions.
 *
 *   build/bench/bench_overhead MAINLINE INSTANT_TRAINER [N [REPS]]   (200 and 5)
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench_tmpdir.h"
#include "error.h"
#include "strbuf.h"
#include "table.h"

enum {
    JOBS = 2,              /* parallel jobs, for mainline (-j) and the reference alike */
    VALUES_PER_RUN = 20,   /* what instant_trainer writes */
    N_LR = 5,              /* the grid: N_LR learning rates x N / N_LR seeds */
};

/* The target from the issue, and the external figure it was set against. */
#define MAX_OWN_MS_PER_RUN 5.0
#define OPTUNA_MS_PER_TRIAL 56.0
#define OPTUNA_VALUES_PER_S 375.0

/* ---- measuring ---- */

struct cost {
    double wall, cpu;   /* seconds; cpu = user + sys of the children */
};

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double children_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static struct cost cost_start(void)
{
    struct cost c = { wall_now(), children_cpu() };
    return c;
}

static struct cost cost_since(struct cost t0)
{
    struct cost c = { wall_now() - t0.wall, children_cpu() - t0.cpu };
    return c;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct rep {
    struct cost ref, plan, run;
};

/* mainline's own CPU seconds in one repetition. */
static double own_cpu(const struct rep *r)
{
    return r->plan.cpu + r->run.cpu - r->ref.cpu;
}

/* The median of field `off` (a double) of n reps. */
static double median_of(const struct rep *reps, size_t n, size_t off)
{
    double *v = xcalloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        memcpy(&v[i], (const char *)&reps[i] + off, sizeof(double));
    qsort(v, n, sizeof(*v), by_value);
    double m = v[n / 2];
    free(v);
    return m;
}

/* ---- processes ---- */

/* Fork and exec argv with stdout and stderr to `log` (NULL: keep them), in `cwd`
 * (NULL: here), with `env` added (NULL-terminated "K=V" list, may be NULL). */
static pid_t spawn(char *const *argv, const char *log, const char *cwd, char *const *env)
{
    pid_t pid = fork();
    if (pid < 0)
        die("cannot fork: %s", strerror(errno));
    if (pid > 0)
        return pid;
    if (log) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
            _exit(127);
        close(fd);
    }
    if (cwd && chdir(cwd) < 0)
        _exit(127);
    for (size_t i = 0; env && env[i]; i++)
        putenv(env[i]);
    execv(argv[0], argv);
    _exit(127);
}

static int wait_exit(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid: %s", strerror(errno));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void show_log(const char *log)
{
    FILE *f = fopen(log, "r");
    char line[1024];
    while (f && fgets(line, sizeof(line), f))
        fprintf(stderr, "    | %s", line);
    if (f)
        fclose(f);
}

/* Run a mainline command to its end; its output goes to `log`, shown if it fails. */
static struct cost run_mainline(char *const *argv, const char *log)
{
    struct cost t0 = cost_start();
    int rc = wait_exit(spawn(argv, log, NULL, NULL));
    struct cost took = cost_since(t0);
    if (rc != 0) {
        show_log(log);
        die("'%s %s' exited %d", argv[3], argv[4], rc);
    }
    return took;
}

/* ---- the temporary directory ---- */

static const char *tmpdir;

static char *path_in(const char *dir, const char *name)
{
    struct strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "%s/%s", dir, name);
    return sb_detach(&sb);
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) < 0)
        die("cannot create '%s': %s", path, strerror(errno));
}

/* ---- the reference: the trainer alone ---- */

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    int c;
    while (f && (c = getc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

static struct cost run_reference(const char *trainer, int n)
{
    char *root = path_in(tmpdir, "direct");
    make_dir(root);
    char **dirs = xcalloc((size_t)n, sizeof(*dirs));
    char **envs = xcalloc((size_t)n, sizeof(*envs));
    for (int i = 0; i < n; i++) {
        struct strbuf sb = STRBUF_INIT;
        sb_addf(&sb, "%s/run-%d", root, i);
        dirs[i] = sb_detach(&sb);
        make_dir(dirs[i]);
        sb_addf(&sb, "MAINLINE_METRICS=%s/metrics.jsonl", dirs[i]);
        envs[i] = sb_detach(&sb);
    }
    char *argv[] = { (char *)trainer, NULL };
    struct cost t0 = cost_start();
    int started = 0, running = 0;
    while (started < n || running > 0) {
        if (started < n && running < JOBS) {
            char *env[] = { envs[started], NULL };
            spawn(argv, NULL, dirs[started], env);
            started++;
            running++;
            continue;
        }
        int status;
        if (wait(&status) < 0)
            die("wait: %s", strerror(errno));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            die("the instant trainer failed (status %d)", status);
        running--;
    }
    struct cost took = cost_since(t0);
    for (int i = 0; i < n; i++) {
        char *metrics = path_in(dirs[i], "metrics.jsonl");
        if (count_lines(metrics) != VALUES_PER_RUN)
            die("%s: expected %d lines", metrics, VALUES_PER_RUN);
        free(metrics);
        free(dirs[i]);
        free(envs[i]);
    }
    free(dirs);
    free(envs);
    free(root);
    return took;
}

/* ---- mainline ---- */

static void write_sweep(const char *path, const char *trainer, int n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot create '%s': %s", path, strerror(errno));
    fprintf(f, "sweep: overhead\ngrid:\n  lr: [1.0e-4, 2.0e-4, 3.0e-4, 5.0e-4, 1.0e-3]\n"
               "  seed: [");
    for (int i = 0; i < n / N_LR; i++)
        fprintf(f, "%s%d", i ? ", " : "", i);
    fprintf(f, "]\ntrainer:\n  command: [\"%s\"]\n", trainer);
    if (fclose(f) != 0)
        die("cannot write '%s': %s", path, strerror(errno));
}

static long long query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Every run done, every value in the registry. */
static void check_registry(const char *db_path, int n)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die("cannot open '%s'", db_path);
    long long done = query_int(db, "SELECT count(*) FROM runs WHERE state = 'done'");
    long long values = query_int(db, "SELECT count(*) FROM metrics");
    sqlite3_close(db);
    if (done != n || values != (long long)n * VALUES_PER_RUN)
        die("after mainline run: %lld of %d runs done, %lld of %d values recorded", done, n,
            values, n * VALUES_PER_RUN);
}

static struct rep one_rep(const char *mainline, const char *trainer, int n)
{
    tmpdir = bench_tmpdir_create("overhead");
    struct rep r;
    r.ref = run_reference(trainer, n);

    char *sweep = path_in(tmpdir, "overhead.yaml"), *log = path_in(tmpdir, "mainline.log");
    char *db = path_in(tmpdir, "mainline.db");
    write_sweep(sweep, trainer, n);
    char *plan[] = { (char *)mainline, "-C", (char *)tmpdir, "plan", sweep, NULL };
    r.plan = run_mainline(plan, log);
    char jobs[16];
    snprintf(jobs, sizeof(jobs), "%d", JOBS);
    char *run[] = { (char *)mainline, "-C", (char *)tmpdir, "run", "overhead", "-j", jobs, "-q", NULL };
    r.run = run_mainline(run, log);
    check_registry(db, n);
    free(sweep);
    free(log);
    free(db);
    bench_tmpdir_remove();
    return r;
}

/* ---- the report ---- */

static void add_row(struct table *t, const char *name, double wall, double cpu, int n)
{
    char w[32], c[32], wn[32], cn[32];
    snprintf(w, sizeof(w), "%.1f", wall * 1e3);
    snprintf(c, sizeof(c), "%.1f", cpu * 1e3);
    snprintf(wn, sizeof(wn), "%.2f", wall * 1e3 / n);
    snprintf(cn, sizeof(cn), "%.2f", cpu * 1e3 / n);
    const char *cells[] = { name, w, c, wn, cn, NULL };
    table_add(t, cells);
}

static long parse_arg(const char *s, long lo, long hi, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi)
        die("%s must be an integer from %ld to %ld, not '%s'", what, lo, hi, s);
    return v;
}

#define MEDIAN(reps, n, field) median_of((reps), (n), offsetof(struct rep, field))

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: bench_overhead MAINLINE INSTANT_TRAINER [N [REPS]]\n");
        return EXIT_USAGE;
    }
    char *mainline = realpath(argv[1], NULL), *trainer = realpath(argv[2], NULL);
    if (!mainline || !trainer)
        die("cannot find '%s': %s", mainline ? argv[2] : argv[1], strerror(errno));
    int n = argc > 3 ? (int)parse_arg(argv[3], N_LR, 100000, "N") : 200;
    int reps = argc > 4 ? (int)parse_arg(argv[4], 1, 100, "REPS") : 5;
    n -= n % N_LR;

    struct rep *r = xcalloc((size_t)reps, sizeof(*r));
    for (int i = 0; i < reps; i++)
        r[i] = one_rep(mainline, trainer, n);
    double ref_w = MEDIAN(r, reps, ref.wall), ref_c = MEDIAN(r, reps, ref.cpu);
    double plan_w = MEDIAN(r, reps, plan.wall), plan_c = MEDIAN(r, reps, plan.cpu);
    double run_w = MEDIAN(r, reps, run.wall), run_c = MEDIAN(r, reps, run.cpu);
    double all_w = plan_w + run_w, all_c = plan_c + run_c;
    double own_w = all_w - ref_w, own_c = all_c - ref_c;

    printf("orchestration: %d runs (a grid of %d lr x %d seeds), each an instant trainer that"
           " writes\n%d values; %d jobs at a time; wall and CPU (user + sys of every process);"
           " median of %d\n\n", n, N_LR, n / N_LR, VALUES_PER_RUN, JOBS, reps);
    static const char *const header[] = {
        "CASE", "WALL MS", "CPU MS", "WALL MS/RUN", "CPU MS/RUN", NULL
    };
    struct table t;
    table_init(&t, header);
    t.right_align = 0x1e;
    add_row(&t, "reference: the trainer alone, 2 at a time", ref_w, ref_c, n);
    add_row(&t, "mainline plan", plan_w, plan_c, n);
    add_row(&t, "mainline run -j 2 -q", run_w, run_c, n);
    add_row(&t, "mainline plan + run", all_w, all_c, n);
    add_row(&t, "mainline's own (plan + run - reference)", own_w, own_c, n);
    table_print(&t, stdout, "");
    table_free(&t);

    double lo = own_cpu(&r[0]), hi = lo;
    for (int i = 1; i < reps; i++) {
        lo = own_cpu(&r[i]) < lo ? own_cpu(&r[i]) : lo;
        hi = own_cpu(&r[i]) > hi ? own_cpu(&r[i]) : hi;
    }
    double own_ms = own_c * 1e3 / n, values_s = n * VALUES_PER_RUN / all_w;
    printf("\nthroughput: %.0f runs/s, %.0f values ingested/s (plan + run, wall)\n", n / all_w,
           values_s);
    printf("target: own CPU < %.0f ms per run: %s (%.2f ms; %.2f to %.2f over the %d reps)\n",
           MAX_OWN_MS_PER_RUN, own_ms < MAX_OWN_MS_PER_RUN ? "met" : "MISSED", own_ms,
           lo * 1e3 / n, hi * 1e3 / n, reps);
    printf("external reference (not measured here): Optuna 3.1 with SQLite storage, %.0f ms per"
           " trial\nthat reports 20 values, one trial at a time (%.0f values/s), on this machine"
           " class.\nmainline, everything included: %.2f ms CPU per run (%.1fx less), %.0f"
           " values/s (%.1fx more)\n", OPTUNA_MS_PER_TRIAL, OPTUNA_VALUES_PER_S,
           all_c * 1e3 / n, OPTUNA_MS_PER_TRIAL / (all_c * 1e3 / n), values_s,
           values_s / OPTUNA_VALUES_PER_S);
    free(r);
    free(mainline);
    free(trainer);
    if (fflush(stdout) != 0 || ferror(stdout))
        die("cannot write the report: %s", strerror(errno));
    return EXIT_OK;   /* a missed target is reported, not an error */
}
