/*
 * test_bundle.c - the member names a bundle may hold (cli/bundle_read.c) and the
 * results digest that tells two registries' copies of a run apart (reg_bundle.c).
 */
#include <jansson.h>
#include <stdlib.h>

#include "bundle_read.h"
#include "reg_bundle.h"
#include "testhelp.h"

/* 0 and the part below the top, or -1 and the start of the reason. */
static void check_member(const char *name, const char *top, int want, const char *rel_or_why)
{
    struct strbuf err = STRBUF_INIT;
    const char *rel = NULL;
    int got = bundle_member_path(name, top, &rel, &err);
    CHECK_INT(got, want);
    if (want == 0)
        CHECK_STR(rel, rel_or_why);
    else
        CHECK(strstr(err.buf, rel_or_why) != NULL);
    if (got != want || (want < 0 && !strstr(err.buf, rel_or_why)))
        fprintf(stderr, "    member '%s': %s\n", name, err.buf);
    sb_free(&err);
}

static void test_member_paths(void)
{
    check_member("b/manifest.json", "b", 0, "manifest.json");
    check_member("b/runs/r/checkpoints/step-4/x", "b", 0, "runs/r/checkpoints/step-4/x");
    check_member("b/", "b", 0, "");
    check_member("b", NULL, 0, "");
    check_member("b/dir/", "b", 0, "dir/");
    check_member("b/..x/y..", "b", 0, "..x/y..");
    check_member("/etc/passwd", "b", -1, "is an absolute path");
    check_member("b/../x", "b", -1, "has a '..' component");
    check_member("..", NULL, -1, "has a '..' component");
    check_member("b/runs/..", "b", -1, "has a '..' component");
    check_member("b/./x", "b", -1, "has a '.' component");
    check_member("b//x", "b", -1, "has an empty component");
    check_member("", "b", -1, "empty name");
    check_member("c/x", "b", -1, "not under the bundle's top directory 'b'");
    check_member("bb/x", "b", -1, "not under the bundle's top directory 'b'");
}

static json_t *run_entry(double val, const char *host, const char *created)
{
    return json_pack("{s:{s:s, s:s, s:s, s:i}, s:[{s:i, s:s, s:f, s:i}], "
                     "s:[{s:i, s:s, s:s, s:i}], s:[]}",
                     "run", "run_id", "r", "host", host, "state", "done", "attempt", 1,
                     "metrics", "step", 2, "name", "val_nll", "value", val, "attempt", 1,
                     "checkpoints", "step", 2, "path", "checkpoints/step-2",
                     "created_at", created, "kept", 1, "evals");
}

static void test_results_digest(void)
{
    json_t *a = run_entry(1.25, "cluster-node-7", "2026-01-01T00:00:00Z");
    json_t *b = run_entry(1.25, "laptop", "2026-02-02T00:00:00Z");
    json_t *c = run_entry(1.2500001, "cluster-node-7", "2026-01-01T00:00:00Z");
    char da[65], db[65], dc[65];
    reg_bundle_run_digest(a, da);
    reg_bundle_run_digest(b, db);
    reg_bundle_run_digest(c, dc);
    CHECK_STR(da, db);           /* hosts, times, paths, kept: not results */
    CHECK(strcmp(da, dc) != 0);  /* a metric is */
    CHECK_INT(strlen(da), 64);
    json_object_set_new(json_object_get(b, "run"), "state", json_string("failed"));
    reg_bundle_run_digest(b, db);
    CHECK(strcmp(da, db) != 0);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

int main(void)
{
    TEST(test_member_paths);
    TEST(test_results_digest);
    return test_report();
}
