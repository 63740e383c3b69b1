/*
 * test_provenance.c - unit tests for sweep/provenance.c.
 *
 * Each test builds a throwaway repository with the git command line under one
 * mkdtemp directory and compares what provenance_collect() reports with what git
 * itself says. The environment is pinned first (HOME, author, no system config, a
 * ceiling above the temp dir) so the user's own git setup cannot leak in. Skips,
 * without failing, when there is no `git` binary.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "provenance.h"
#include "testhelp.h"

static char tmp_root[PATH_MAX];   /* everything the tests create lives under here */
static int dir_seq;               /* makes each test's directory name unique */

/* ---- helpers ---- */

static char *vformat(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        die("out of memory");
    return s;
}

/* Run a shell command; its exit status, or -1 when it did not exit normally. */
static int run(const char *fmt, ...) ATTR_PRINTF(1, 2);
static int run(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = vformat(fmt, ap);
    va_end(ap);
    int status = system(cmd);
    free(cmd);
    if (status == -1 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* The first line a shell command prints, without its newline. Caller frees. */
static char *capture(const char *fmt, ...) ATTR_PRINTF(1, 2);
static char *capture(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = vformat(fmt, ap);
    va_end(ap);
    char line[4096] = "";
    FILE *p = popen(cmd, "r");
    if (p) {
        if (!fgets(line, sizeof(line), p))
            line[0] = '\0';
        pclose(p);
    }
    free(cmd);
    line[strcspn(line, "\n")] = '\0';
    return xstrdup(line);
}

static void write_file(const char *dir, const char *rel, const char *content)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot create '%s'", path);
    fputs(content, f);
    if (fclose(f) != 0)
        die("cannot write '%s'", path);
}

/* A fresh empty directory under tmp_root. Caller frees. */
static char *new_dir(const char *name)
{
    char *dir = NULL;
    if (asprintf(&dir, "%s/%s-%d", tmp_root, name, ++dir_seq) < 0)
        die("out of memory");
    if (mkdir(dir, 0700) != 0)
        die("cannot create '%s'", dir);
    return dir;
}

/* A repository on branch main; with one commit holding a.txt when `commit` is set. */
static char *new_repo(const char *name, int commit)
{
    char *dir = new_dir(name);
    CHECK_INT(run("git -C '%s' -c init.defaultBranch=main init -q", dir), 0);
    if (commit) {
        write_file(dir, "a.txt", "hello\n");
        CHECK_INT(run("git -C '%s' add a.txt && git -C '%s' commit -q -m init", dir, dir), 0);
    }
    return dir;
}

static int contains(const char *haystack, const char *needle)
{
    return haystack && strstr(haystack, needle) != NULL;
}

/* Collect for `path`, expecting success and status "ok". */
static void collect_ok(const char *path, struct provenance *p)
{
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(provenance_collect(path, p, &err), 0);
    CHECK_STR(p->status, "ok");
    CHECK_STR(sb_str(&err), "");
    sb_free(&err);
}

/* ---- tests ---- */

static void test_clean_repo(void)
{
    char *repo = new_repo("clean", 1);
    char *head = capture("git -C '%s' rev-parse HEAD", repo);
    char real[PATH_MAX];
    CHECK(realpath(repo, real) != NULL);
    struct provenance p;
    collect_ok(repo, &p);
    CHECK_INT(strlen(head), 40);
    CHECK_STR(p.commit, head);
    CHECK_STR(p.branch, "main");
    CHECK_STR(p.root, real);
    CHECK_INT(p.dirty, 0);
    CHECK(p.diff == NULL);
    provenance_free(&p);
    CHECK(p.status == NULL && p.commit == NULL && p.branch == NULL && p.root == NULL);
    provenance_free(&p);   /* a released struct is a zeroed struct */
    free(head);
    free(repo);
}

static void test_modified_file(void)
{
    char *repo = new_repo("modified", 1);
    write_file(repo, "a.txt", "hello\na changed line\n");
    struct provenance p;
    collect_ok(repo, &p);
    CHECK_INT(p.dirty, 1);
    CHECK(contains(p.diff, "\n+a changed line\n"));
    CHECK(contains(p.diff, "diff --git a/a.txt b/a.txt\n"));
    provenance_free(&p);
    free(repo);
}

static void test_untracked_is_clean(void)
{
    char *repo = new_repo("untracked", 1);
    write_file(repo, "new.txt", "not added\n");
    write_file(repo, ".git/info/exclude", "*.log\n");
    write_file(repo, "run.log", "ignored\n");
    struct provenance p;
    collect_ok(repo, &p);
    CHECK_INT(p.dirty, 0);
    CHECK(p.diff == NULL);
    provenance_free(&p);
    free(repo);
}

static void test_touched_is_clean(void)
{
    char *repo = new_repo("touched", 1);
    CHECK_INT(run("touch -d '2030-01-01 00:00' '%s/a.txt'", repo), 0);
    struct provenance p;
    collect_ok(repo, &p);
    CHECK_INT(p.dirty, 0);
    CHECK(p.diff == NULL);
    provenance_free(&p);
    free(repo);
}

static void test_staged_new_file(void)
{
    char *repo = new_repo("staged", 1);
    write_file(repo, "new.txt", "staged content\n");
    CHECK_INT(run("git -C '%s' add new.txt", repo), 0);
    struct provenance p;
    collect_ok(repo, &p);
    CHECK_INT(p.dirty, 1);
    CHECK(contains(p.diff, "+staged content\n"));
    CHECK(contains(p.diff, "new file mode"));
    provenance_free(&p);
    free(repo);
}

static void test_deleted_and_renamed(void)
{
    char *repo = new_repo("deleted", 1);
    CHECK_INT(run("rm '%s/a.txt'", repo), 0);
    struct provenance p;
    collect_ok(repo, &p);
    CHECK_INT(p.dirty, 1);
    CHECK(contains(p.diff, "deleted file mode"));
    provenance_free(&p);
    free(repo);

    repo = new_repo("renamed", 1);
    CHECK_INT(run("git -C '%s' mv a.txt b.txt", repo), 0);
    collect_ok(repo, &p);
    CHECK_INT(p.dirty, 1);
    CHECK(contains(p.diff, "rename to b.txt"));
    provenance_free(&p);
    free(repo);
}

/* A symlink replaced by a regular file: the patch must still carry the new content. */
static void test_typechange(void)
{
    char *repo = new_repo("typechange", 1);
    CHECK_INT(run("cd '%s' && ln -s a.txt link && git add link && git commit -q -m link", repo), 0);
    CHECK_INT(run("rm '%s/link'", repo), 0);
    write_file(repo, "link", "now a file\n");
    struct provenance p;
    collect_ok(repo, &p);
    CHECK_INT(p.dirty, 1);
    CHECK(contains(p.diff, "+now a file\n"));
    CHECK(contains(p.diff, "deleted file mode 120000"));
    provenance_free(&p);
    free(repo);
}

static void test_detached_head(void)
{
    char *repo = new_repo("detached", 1);
    CHECK_INT(run("git -C '%s' checkout -q --detach", repo), 0);
    char *head = capture("git -C '%s' rev-parse HEAD", repo);
    struct provenance p;
    collect_ok(repo, &p);
    CHECK_STR(p.branch, "HEAD");
    CHECK_STR(p.commit, head);
    CHECK_INT(p.dirty, 0);
    provenance_free(&p);
    free(head);
    free(repo);
}

static void test_unborn_branch(void)
{
    char *repo = new_repo("unborn", 0);
    char real[PATH_MAX];
    CHECK(realpath(repo, real) != NULL);
    struct provenance p;
    collect_ok(repo, &p);
    CHECK(p.commit == NULL);
    CHECK_STR(p.branch, "main");
    CHECK_STR(p.root, real);
    CHECK_INT(p.dirty, 0);
    CHECK(p.diff == NULL);
    provenance_free(&p);

    write_file(repo, "first.txt", "first\n");
    CHECK_INT(run("git -C '%s' add first.txt", repo), 0);
    collect_ok(repo, &p);
    CHECK(p.commit == NULL);
    CHECK_INT(p.dirty, 1);
    CHECK(contains(p.diff, "+first\n"));
    provenance_free(&p);
    free(repo);
}

static void test_not_a_repository(void)
{
    char *dir = new_dir("plain");
    struct provenance p;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(provenance_collect(dir, &p, &err), 0);
    CHECK_STR(p.status, "not a git repository");
    CHECK(p.root == NULL && p.commit == NULL && p.branch == NULL && p.diff == NULL);
    CHECK_INT(p.dirty, 0);
    provenance_free(&p);
    sb_free(&err);
    free(dir);
}

static void test_missing_path(void)
{
    char *path = NULL;
    if (asprintf(&path, "%s/no-such-dir/file.c", tmp_root) < 0)
        die("out of memory");
    struct provenance p;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(provenance_collect(path, &p, &err), -1);
    CHECK(contains(sb_str(&err), path));
    CHECK(contains(sb_str(&err), "cannot stat"));
    CHECK(p.status == NULL);
    provenance_free(&p);
    sb_free(&err);
    free(path);
}

static void test_file_in_subdirectory(void)
{
    char *repo = new_repo("subdir", 1);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/src/deep", repo);
    CHECK_INT(run("mkdir -p '%s'", path), 0);
    write_file(repo, "src/deep/train.c", "int main(void) { return 0; }\n");
    CHECK_INT(run("git -C '%s' add src && git -C '%s' commit -q -m src", repo, repo), 0);
    char real[PATH_MAX];
    CHECK(realpath(repo, real) != NULL);
    strncat(path, "/train.c", sizeof(path) - strlen(path) - 1);
    struct provenance p;
    collect_ok(path, &p);
    CHECK_STR(p.root, real);
    CHECK_INT(p.dirty, 0);
    provenance_free(&p);
    free(repo);
}

static void test_huge_diff_is_truncated(void)
{
    char *repo = new_repo("huge", 1);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/big.txt", repo);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    for (int i = 0; f && i < 150000; i++)   /* 150000 lines of 64 bytes: about 9.2 MiB */
        fprintf(f, "%063d\n", i);
    CHECK(f && fclose(f) == 0);
    CHECK_INT(run("git -C '%s' add big.txt", repo), 0);
    struct provenance p;
    collect_ok(repo, &p);
    CHECK_INT(p.dirty, 1);
    const char *marker = "\n[mainline: diff truncated at 8 MiB]\n";
    size_t len = p.diff ? strlen(p.diff) : 0;
    CHECK(len <= ((size_t)8 << 20) + strlen(marker));
    CHECK(len > strlen(marker) && strcmp(p.diff + len - strlen(marker), marker) == 0);
    provenance_free(&p);
    free(repo);
}

/* ---- setup ---- */

/* Pin everything git reads from the environment to the temp dir. */
static void isolate_git(void)
{
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "%s", tmp_root);
    *strrchr(parent, '/') = '\0';
    setenv("GIT_CEILING_DIRECTORIES", parent[0] ? parent : "/", 1);
    setenv("HOME", tmp_root, 1);
    setenv("XDG_CONFIG_HOME", tmp_root, 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("GIT_AUTHOR_NAME", "Mainline Test", 1);
    setenv("GIT_AUTHOR_EMAIL", "test@mainline.invalid", 1);
    setenv("GIT_COMMITTER_NAME", "Mainline Test", 1);
    setenv("GIT_COMMITTER_EMAIL", "test@mainline.invalid", 1);
    /* Set when the suite runs from a git hook; they would redirect every command. */
    unsetenv("GIT_DIR");
    unsetenv("GIT_WORK_TREE");
    unsetenv("GIT_INDEX_FILE");
    unsetenv("GIT_OBJECT_DIRECTORY");
}

int main(void)
{
    if (run("git --version >/dev/null 2>&1") != 0) {
        printf("SKIP test_provenance: the git command is not installed\n");
        return test_report();
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(tmp_root, sizeof(tmp_root), "%s/mainline-prov.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmp_root))
        die("cannot create a temporary directory");
    isolate_git();

    TEST(test_clean_repo);
    TEST(test_modified_file);
    TEST(test_untracked_is_clean);
    TEST(test_touched_is_clean);
    TEST(test_staged_new_file);
    TEST(test_deleted_and_renamed);
    TEST(test_typechange);
    TEST(test_detached_head);
    TEST(test_unborn_branch);
    TEST(test_not_a_repository);
    TEST(test_missing_path);
    TEST(test_file_in_subdirectory);
    TEST(test_huge_diff_is_truncated);

    run("rm -rf '%s'", tmp_root);
    return test_report();
}
