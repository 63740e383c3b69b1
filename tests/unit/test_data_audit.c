/* test_data_audit.c - the integrity gates on small files: exact counts, the rows
 * they name, limits, waivers and skipped gates. */
#include <stdlib.h>
#include <unistd.h>

#include "audit.h"
#include "sweep.h"
#include "testhelp.h"

static struct data_file files[3];

/* Write text to a temporary file and read it as rows into files[i]. */
static void file_of(int i, const char *text)
{
    char path[] = "/tmp/test_data_audit.XXXXXX";
    int fd = mkstemp(path);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(data_file_read(path, &files[i], &err), 0);
    unlink(path);
    sb_free(&err);
}

/* The audit config of a sweep whose audit section is `audit` (YAML flow map). */
static void config(const char *audit, struct sweep *s)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), "sweep: t\ndatasets: {train: a, valid: b, bench: c}\n"
             "grid: {seed: [0]}\nevaluation: {dataset: bench}\n%s%s\n",
             audit ? "audit: " : "", audit ? audit : "");
    struct diag_list dl = { 0 };
    CHECK_INT(sweep_load_text("t.yaml", yaml, strlen(yaml), s, &dl), 0);
    for (size_t i = 0; i < dl.n; i++)
        fprintf(stderr, "    %s\n", dl.msgs[i]);
    diag_free(&dl);
}

static json_t *run(const char *audit)
{
    struct sweep s;
    config(audit, &s);
    struct audit_input in[3] = {
        { "train", ROLE_TRAIN, &files[0], NULL },
        { "valid", ROLE_VALID, &files[1], NULL },
        { "bench", ROLE_BENCH, &files[2], NULL },
    };
    json_t *report = NULL;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(audit_run(in, 3, &s.audit, &report, &err), 0);
    sb_free(&err);
    sweep_free(&s);
    return report;
}

static const json_t *gate(const json_t *report, const char *name)
{
    return json_object_get(json_object_get(report, "gates"), name);
}

static const char *status(const json_t *report, const char *name)
{
    return json_string_value(json_object_get(gate(report, name), "status"));
}

static long count(const json_t *report, const char *name)
{
    return (long)json_integer_value(json_object_get(gate(report, name), "count"));
}

static long row_line(const json_t *report, const char *name, size_t i)
{
    const json_t *r = json_array_get(json_object_get(gate(report, name), "rows"), i);
    return (long)json_integer_value(json_object_get(r, "line"));
}

#define ROW(p, s, a) "{\"problem\": \"" p "\", \"generated_solution\": \"" s \
                     "\", \"expected_answer\": \"" a "\"}\n"

static void load_files(void)
{
    file_of(0,
        ROW("Ava has 1,200 pens. How many pens?", "So \\\\boxed{1200}.", "1200")        /* 1 */
        ROW("one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen", "\\\\boxed{1}", "1")                                          /* 2 */
        ROW("zero one two three four five six seven eight nine ten eleven twelve",
            "\\\\boxed{1}", "1")                                                      /* 3 */
        ROW("Ben buys 3 hats.", "We need to set the value to 100. \\\\boxed{3}", "3") /* 4 */
        ROW("Ben buys 3 hats.", "We need to set the value to 100. \\\\boxed{3}", "3") /* 5 */
        ROW("Ben buys 3 hats.", "Another way: \\\\boxed{3}", "3")                     /* 6 */
        ROW("Cara has 5 cups.", "She has 5.", "5")                                    /* 7 */
        ROW("Dev has 7 toys.", "\\\\boxed{8}", "7")                                   /* 8 */
        "\n");
    file_of(1,
        ROW("DEV HAS 7 TOYS!", "\\\\boxed{7}", "7")                                   /* 1 */
        ROW("A new problem: Eli has 2 bags.", "\\\\boxed{2}", "2"));                  /* 2 */
    file_of(2,
        "{\"question\": \"ava has 1200 pens how many pens\", \"answer\": \"#### 1200\"}\n"
        "{\"question\": \"x one two three four five six seven eight nine ten eleven twelve "
        "thirteen y\", \"answer\": \"#### 1\"}\n"
        "{\"question\": \"one two three four five six seven eight nine ten eleven twelve "
        "zzz\", \"answer\": \"#### 1\"}\n");
}

static void test_gates(void)
{
    json_t *r = run(NULL);
    /* contamination: train 1 (exact after normalization), train 2 (a 13-gram); train 3
     * shares only 12 words; valid rows are training-side too but match nothing */
    CHECK_STR(status(r, "contamination"), "fail");
    CHECK_INT(count(r, "contamination"), 2);
    CHECK_INT(row_line(r, "contamination", 0), 1);
    CHECK_INT(row_line(r, "contamination", 1), 2);
    const json_t *row = json_array_get(json_object_get(gate(r, "contamination"), "rows"), 1);
    CHECK_STR(json_string_value(json_object_get(row, "match")), "ngram");
    CHECK_STR(json_string_value(json_object_get(row, "ngram_text")),
              "one two three four five six seven eight nine ten eleven twelve thirteen");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(row, "benchmark"), "line")), 2);
    /* leakage: valid 1 is train 8 after normalization */
    CHECK_STR(status(r, "leakage"), "fail");
    CHECK_INT(count(r, "leakage"), 1);
    CHECK_INT(row_line(r, "leakage", 0), 1);
    /* answers: train 7 has no box (7 of 8 boxed), train 8 says 8 but states 7 */
    CHECK_STR(status(r, "answers"), "fail");
    CHECK_INT(count(r, "answers"), 1);
    CHECK_INT(json_integer_value(json_object_get(gate(r, "answers"), "boxed")), 7);
    CHECK_NEAR(json_real_value(json_object_get(gate(r, "answers"), "boxed_share")), 0.875, 1e-12);
    CHECK_INT(row_line(r, "answers", 0), 7);
    CHECK_INT(row_line(r, "answers", 1), 8);
    /* suspicious (seed 001's defaults): train 4 and 5, valid 2 */
    CHECK_INT(count(r, "suspicious"), 3);
    CHECK_INT(row_line(r, "suspicious", 2), 2);
    /* duplicates: train 5 repeats train 4; train 6 has the same problem but another
     * solution and is not a duplicate */
    CHECK_INT(count(r, "duplicates"), 1);
    CHECK_INT(row_line(r, "duplicates", 0), 5);
    CHECK(!audit_passed(r));
    CHECK(json_is_false(json_object_get(r, "passed")));
    json_decref(r);
}

static void test_limits_and_waivers(void)
{
    json_t *r = run("{max_overlap: 2, max_leakage: 1, min_boxed: 0.8, max_answer_mismatch: 1,"
                    " suspicious: ['^zzz'], waive: [duplicates]}");
    CHECK_STR(status(r, "contamination"), "pass");
    CHECK_STR(status(r, "leakage"), "pass");
    CHECK_STR(status(r, "answers"), "pass");
    CHECK_STR(status(r, "suspicious"), "pass");
    CHECK_INT(count(r, "suspicious"), 0);
    CHECK_STR(status(r, "duplicates"), "waived");
    CHECK(audit_passed(r));
    json_decref(r);
    r = run("{min_boxed: 0.9, max_answer_mismatch: 1}");
    CHECK_STR(status(r, "answers"), "fail");   /* 87.5% boxed is under 90% */
    json_decref(r);
    r = run("{ngram: 12}");
    CHECK_INT(count(r, "contamination"), 3);   /* now train 3 shares 12 words */
    json_decref(r);
}

static void test_skipped(void)
{
    struct sweep s;
    config(NULL, &s);
    struct audit_input in[1] = { { "train", ROLE_TRAIN, &files[0], NULL } };
    json_t *r = NULL;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(audit_run(in, 1, &s.audit, &r, &err), 0);
    CHECK_STR(status(r, "contamination"), "skipped");
    CHECK_STR(status(r, "leakage"), "skipped");
    json_decref(r);
    /* a mapped field that is missing names file and line */
    struct render_fields f = { .prompt = "nope" };
    in[0].fields = &f;
    CHECK_INT(audit_run(in, 1, &s.audit, &r, &err), -1);
    CHECK(strstr(err.buf, ":1: the row has no string \"nope\" (fields.prompt)") != NULL);
    sb_free(&err);
    sweep_free(&s);
}

int main(void)
{
    load_files();
    TEST(test_gates);
    TEST(test_limits_and_waivers);
    TEST(test_skipped);
    for (int i = 0; i < 3; i++)
        data_file_free(&files[i]);
    return test_report();
}
