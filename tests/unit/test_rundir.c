/* test_rundir.c - run directories, archiving, command expansion, durations. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "rundir.h"
#include "sweep.h"
#include "testhelp.h"

static void test_paths(void)
{
    char *p = rundir_path("/r", "lora", 1, "main-a-seed-0");
    CHECK_STR(p, "/r/runs/lora/main-a-seed-0");
    free(p);
    p = rundir_path("/r", "lora", 3, "main-a-seed-0");
    CHECK_STR(p, "/r/runs/lora@v3/main-a-seed-0");
    free(p);
}

static char **expand(const char *cmd_json, const char *vars_json, const char *params_json,
                     struct strbuf *err)
{
    json_t *cmd = json_loads(cmd_json, 0, NULL), *vars = json_loads(vars_json, 0, NULL);
    json_t *params = json_loads(params_json, 0, NULL);
    char **argv = command_expand(cmd, vars, params, err);
    json_decref(cmd);
    json_decref(vars);
    json_decref(params);
    return argv;
}

static void test_command_expand(void)
{
    struct strbuf err = STRBUF_INIT;
    char **argv = expand("[\"train.py\", \"--lr\", \"{lr}\", \"--out={run_dir}/x\", \"{{lit}\","
                         " \"{learning_rate}\", \"{targets}\", \"{base_model}\"]",
                         "{\"run_dir\": \"/d\"}",
                         "{\"lr\": 0.0003, \"targets\": [\"q_proj\", \"v_proj\"],"
                         " \"base_model\": {\"path\": \"m.safetensors\", \"sha256\": \"x\"}}",
                         &err);
    CHECK(argv != NULL);
    if (argv) {
        CHECK_STR(argv[0], "train.py");
        CHECK_STR(argv[2], "0.0003");       /* shortest text that reads back the same */
        CHECK_STR(argv[3], "--out=/d/x");
        CHECK_STR(argv[4], "{lit}");
        CHECK_STR(argv[5], "0.0003");       /* an alias names the same parameter */
        CHECK_STR(argv[6], "q_proj+v_proj");
        CHECK_STR(argv[7], "m.safetensors");
        CHECK(argv[8] == NULL);
    }
    argv_free(argv);
    argv = expand("[\"x\", \"{seed}\"]", "{}", "{\"lr\": 1}", &err);
    CHECK(argv == NULL);
    CHECK_STR(err.buf, "the command uses {seed}, which this run does not have");
    sb_reset(&err);
    argv = expand("[\"x\", \"{lr\"]", "{}", "{\"lr\": 1}", &err);
    CHECK(argv == NULL);
    CHECK_STR(err.buf, "unclosed '{' in '{lr'");
    sb_free(&err);
}

static void test_durations(void)
{
    CHECK_NEAR(parse_duration("90"), 90, 0);
    CHECK_NEAR(parse_duration("90s"), 90, 0);
    CHECK_NEAR(parse_duration("30m"), 1800, 0);
    CHECK_NEAR(parse_duration("2h"), 7200, 0);
    CHECK_NEAR(parse_duration("1h30m"), 5400, 0);
    CHECK_NEAR(parse_duration("1d"), 86400, 0);
    CHECK_NEAR(parse_duration("1.5h"), 5400, 0);
    CHECK(parse_duration("") < 0);
    CHECK(parse_duration("2 h") < 0);
    CHECK(parse_duration("h") < 0);
    CHECK(parse_duration("-1s") < 0);
    CHECK(parse_duration("nan") < 0);
    CHECK(parse_duration("inf") < 0);
    CHECK(parse_duration("1x") < 0);
    CHECK(parse_duration("5m3") < 0);
}

static int exists(const char *dir, const char *name)
{
    struct strbuf p = STRBUF_INIT;
    sb_addf(&p, "%s/%s", dir, name);
    int ok = access(p.buf, F_OK) == 0;
    sb_free(&p);
    return ok;
}

static void touch(const char *dir, const char *name)
{
    struct strbuf p = STRBUF_INIT;
    sb_addf(&p, "%s/%s", dir, name);
    FILE *f = fopen(p.buf, "w");
    if (f)
        fclose(f);
    sb_free(&p);
}

static void test_mkdir_and_archive(void)
{
    char tmpl[] = "/tmp/mainline-rundir-XXXXXX";
    char *root = mkdtemp(tmpl);
    CHECK(root != NULL);
    if (!root)
        return;
    struct strbuf dir = STRBUF_INIT, err = STRBUF_INIT;
    sb_addf(&dir, "%s/runs/s/r", root);
    CHECK_INT(mkdir_p(dir.buf, &err), 0);
    CHECK_INT(mkdir_p(dir.buf, &err), 0);   /* again: fine */
    touch(dir.buf, "metrics.jsonl");
    touch(dir.buf, "stdout.log");
    touch(dir.buf, "config.json");
    CHECK_INT(rundir_archive(dir.buf, 1, &err), 0);
    CHECK(exists(dir.buf, "attempt-1/metrics.jsonl"));
    CHECK(exists(dir.buf, "attempt-1/stdout.log"));
    CHECK(!exists(dir.buf, "metrics.jsonl"));
    CHECK(exists(dir.buf, "config.json"));   /* rewritten by the next attempt anyway */
    /* A path through a regular file cannot be made: a clear error. */
    struct strbuf bad = STRBUF_INIT;
    sb_addf(&bad, "%s/config.json/sub", dir.buf);
    CHECK_INT(mkdir_p(bad.buf, &err), -1);
    CHECK(strstr(err.buf, "cannot create directory") != NULL);
    struct strbuf cmd = STRBUF_INIT;
    sb_addf(&cmd, "rm -rf '%s'", root);
    CHECK_INT(system(cmd.buf), 0);
    sb_free(&cmd);
    sb_free(&bad);
    sb_free(&dir);
    sb_free(&err);
}

int main(void)
{
    TEST(test_paths);
    TEST(test_command_expand);
    TEST(test_durations);
    TEST(test_mkdir_and_archive);
    return test_report();
}
