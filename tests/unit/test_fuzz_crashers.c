/*
 * test_fuzz_crashers.c - replay the fuzz inputs of the sweep loader and of answer
 * extraction as regression tests.
 *
 * Every file in tests/fuzz/crashers/ (inputs that once crashed, leaked, tripped
 * UBSan or ran for seconds) and in tests/fuzz/corpus/ (the seed corpus) goes
 * through the same path as tests/fuzz/fuzz_sweep.c: sweep_load_text(), then
 * sweep_expand() when loading succeeded, then release. Each must end in 0 or -1,
 * with at least one diagnostic for -1, within a few seconds; under `make asan` any
 * memory error or leak fails the binary itself. A few crashers also pin the
 * message that now refuses them.
 *
 * Every file in tests/fuzz/extract-crashers/ and tests/fuzz/extract-corpus/ goes
 * through tests/fuzz/fuzz_extract.c's extract_properties() (the file is included
 * here), which must hold. Run from the repository root (paths are relative).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fsutil.h"
#include "strbuf.h"
#include "sweep.h"
#include "testhelp.h"
#include "../fuzz/fuzz_extract.c"

#define CRASHERS_DIR "tests/fuzz/crashers"
#define CORPUS_DIR "tests/fuzz/corpus"
#define EXTRACT_CRASHERS_DIR "tests/fuzz/extract-crashers"
#define EXTRACT_CORPUS_DIR "tests/fuzz/extract-corpus"
/* The slowest input takes ~0.2 s under ASan; the bugs these files caught took
 * from 8 s to minutes (or ran out of memory). */
#define MAX_SECONDS 5.0

/* ---- helpers ---- */

struct outcome {
    int load_rc;        /* sweep_load_text() */
    int expand_rc;      /* sweep_expand(), or 1 when not reached */
    size_t runs;
    size_t diags;       /* all diagnostics, kept or not */
    char *first;        /* first diagnostic, or NULL; caller frees */
    double seconds;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What the fuzz target does with one input, recorded instead of ignored. */
static void replay(const char *text, size_t len, struct outcome *o)
{
    struct diag_list diags = { 0 };
    struct sweep s;
    double t0 = now();
    memset(o, 0, sizeof(*o));
    o->expand_rc = 1;
    o->load_rc = sweep_load_text("fuzz.yaml", text, len, &s, &diags);
    if (o->load_rc == 0) {
        struct plan_runs runs;
        size_t before = diags.count;
        o->expand_rc = sweep_expand(&s, &runs, &diags);
        if (o->expand_rc == 0)
            o->runs = runs.n;
        else
            CHECK(diags.count > before);   /* a failed expansion says why */
        plan_runs_free(&runs);
        json_decref(ynode_to_json(s.doc->root));
        sweep_free(&s);
    }
    o->seconds = now() - t0;
    o->diags = diags.count;
    o->first = diags.n ? xstrdup(diags.msgs[0]) : NULL;
    diag_free(&diags);
}

static int replay_file(const char *path, struct outcome *o)
{
    struct strbuf err = STRBUF_INIT;
    char *text;
    size_t len;
    if (read_file(path, &text, &len, &err) < 0) {
        fprintf(stderr, "  cannot read %s: %s\n", path, err.buf);
        sb_free(&err);
        return -1;
    }
    replay(text, len, o);
    free(text);
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files in dir, sorted, dotfiles skipped; *n of them. NULL when dir cannot
 * be opened. Caller frees each name and the array. */
static char **list_files(const char *dir, size_t *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **names = NULL;
    size_t alloc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        struct strbuf path = STRBUF_INIT;
        sb_addf(&path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path.buf, &st) == 0 && S_ISREG(st.st_mode)) {
            names = xgrow(names, *n + 1, &alloc, sizeof(*names));
            names[(*n)++] = sb_detach(&path);
        }
        sb_free(&path);
    }
    closedir(d);
    if (*n)
        qsort(names, *n, sizeof(*names), name_cmp);
    return names ? names : xcalloc(1, sizeof(*names));
}

/* Replay every file of dir; returns how many there were. */
static size_t replay_dir(const char *dir)
{
    size_t n;
    char **files = list_files(dir, &n);
    CHECK(files != NULL);   /* the directory exists (run from the repository root) */
    for (size_t i = 0; i < n; i++) {
        struct outcome o;
        int failed_before = th_failed;
        CHECK(replay_file(files[i], &o) == 0);
        CHECK(o.load_rc == 0 || o.load_rc == -1);
        CHECK(o.expand_rc == 0 || o.expand_rc == -1 || (o.load_rc == -1 && o.expand_rc == 1));
        CHECK(o.load_rc == 0 || o.diags > 0);   /* a refusal says why */
        CHECK(o.seconds < MAX_SECONDS);
        if (th_failed != failed_before)
            fprintf(stderr, "    (input %s: load %d, expand %d, %zu diagnostics, %.2f s)\n",
                    files[i], o.load_rc, o.expand_rc, o.diags, o.seconds);
        free(o.first);
        free(files[i]);
    }
    free(files);
    return n;
}

/* Replay every file of dir through the extraction properties; how many there were. */
static size_t replay_extract_dir(const char *dir)
{
    size_t n;
    char **files = list_files(dir, &n);
    CHECK(files != NULL);
    for (size_t i = 0; i < n; i++) {
        struct strbuf err = STRBUF_INIT;
        char *text = NULL;
        size_t len = 0;
        CHECK(read_file(files[i], &text, &len, &err) == 0);
        const char *broken = text ? extract_properties(text, len) : "unreadable";
        CHECK(broken == NULL);
        if (broken)
            fprintf(stderr, "    (input %s: %s)\n", files[i], broken);
        free(text);
        sb_free(&err);
        free(files[i]);
    }
    free(files);
    return n;
}

/* One crasher's outcome: the step that refuses it (0 = none) and the message. */
static void expect(const char *name, int fails_at, const char *want)
{
    struct strbuf path = STRBUF_INIT;
    sb_addf(&path, "%s/%s", CRASHERS_DIR, name);
    struct outcome o;
    int failed_before = th_failed;
    CHECK(replay_file(path.buf, &o) == 0);
    if (fails_at == 0) {
        CHECK_INT(o.load_rc, 0);
        CHECK_INT(o.expand_rc, 0);
        CHECK(o.runs > 0);
    } else {
        CHECK_INT(fails_at == 1 ? o.load_rc : o.expand_rc, -1);
        CHECK(o.first && strstr(o.first, want));
    }
    if (th_failed != failed_before)
        fprintf(stderr, "    (input %s: first diagnostic %s)\n", path.buf,
                o.first ? o.first : "(none)");
    free(o.first);
    sb_free(&path);
}

enum { PASSES = 0, LOAD_FAILS = 1, EXPAND_FAILS = 2 };

/* ---- tests ---- */

static void test_corpus_replays(void)
{
    size_t n = replay_dir(CORPUS_DIR);
    CHECK(n > 0);   /* the seed corpus is committed: an empty one means a wrong cwd */
}

static void test_crashers_replay(void)
{
    replay_dir(CRASHERS_DIR);   /* none is fine: nothing has crashed yet */
}

static void test_crashers_are_refused_for_the_right_reason(void)
{
    expect("x-param-path-not-string.yaml", PASSES, NULL);
    expect("no-stages-memcpy-null.yaml", LOAD_FAILS, "the sweep has no runs");
    expect("stage-grid-key-with-nul.yaml", LOAD_FAILS, "mapping keys cannot contain NUL");
    expect("stage-pick-key-with-nul.yaml", LOAD_FAILS, "mapping keys cannot contain NUL");
    expect("expand-big-x-default-every-run.yaml", EXPAND_FAILS, "parameters add up to more");
    expect("expand-big-x-value-in-run-ids.yaml", EXPAND_FAILS, "parameters add up to more");
    expect("expand-from-check-runs-squared.yaml", EXPAND_FAILS, "which has no runs with");
}

static void test_extract_inputs_replay(void)
{
    CHECK(replay_extract_dir(EXTRACT_CORPUS_DIR) > 0);
    CHECK(replay_extract_dir(EXTRACT_CRASHERS_DIR) > 0);
}

int main(void)
{
    TEST(test_corpus_replays);
    TEST(test_crashers_replay);
    TEST(test_crashers_are_refused_for_the_right_reason);
    TEST(test_extract_inputs_replay);
    return test_report();
}
