/* test_ckpt_digests.c - checkpoints.sha256: what the supervisor writes from metrics.jsonl
 * (each checkpoint still there, once, as ckpt_digest() hashes it; none gone) and what
 * the orchestrator reads back, a bad line named at its file:line:column. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt_digest.h"
#include "ckpt_digests.h"
#include "fsutil.h"
#include "testhelp.h"

static char dir[] = "/tmp/mainline-test-ckdig-XXXXXX";

static void put(const char *rel, const char *text)
{
    char *path = path_join(dir, rel);
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(write_file_atomic(path, text, strlen(text), &err), 0);
    sb_free(&err);
    free(path);
}

static void test_absent(void)
{
    struct ckpt_digests d;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(ckpt_digests_read(dir, &d, &err), 1);
    CHECK_INT((int)d.n, 0);
    CHECK_INT((int)err.len, 0);
    sb_free(&err);
}

static void test_write_read(void)
{
    char *sub = path_join(dir, "ck");
    mkdir(sub, 0777);
    char *step1 = path_join(dir, "ck/step-1");
    mkdir(step1, 0777);
    put("ck/step-1/a", "hi\n");
    put("ck/two words.bin", "there\n");
    put("metrics.jsonl",
        "{\"event\":\"train\",\"step\":1,\"loss\":2}\n"
        "{\"event\":\"checkpoint\",\"step\":1,\"path\":\"ck/step-1\"}\n"
        "not json\n"
        "{\"event\":\"checkpoint\",\"step\":2,\"path\":\"ck/two words.bin\"}\n"
        "{\"event\":\"checkpoint\",\"step\":2,\"path\":\"ck/two words.bin\"}\n"
        "{\"event\":\"checkpoint\",\"step\":3,\"path\":\"ck/gone\"}");
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(ckpt_digests_write(dir, &err), 0);
    CHECK_INT((int)err.len, 0);
    struct ckpt_digests d;
    CHECK_INT(ckpt_digests_read(dir, &d, &err), 0);
    CHECK_INT((int)d.n, 2);
    const struct ckpt_digest_entry *e1 = ckpt_digests_find(&d, "ck/step-1");
    const struct ckpt_digest_entry *e2 = ckpt_digests_find(&d, "ck/two words.bin");
    CHECK(e1 && e2 && !ckpt_digests_find(&d, "ck/gone"));
    struct file_digest want;
    CHECK_INT(ckpt_digest(step1, &want, &err), 0);
    /* `sha256sum a | sha256sum` in ck/step-1 */
    CHECK_STR(want.sha256, "1a643f3f9d32ae75e9ccd0af193266ff923f91ccb53caff198071c30ca59ccaf");
    if (e1 && e2) {
        CHECK_STR(e1->sha256, want.sha256);
        CHECK_INT((int)e1->bytes, 3);
        CHECK_INT((int)e2->bytes, 6);
    }
    int64_t bytes = 0;
    CHECK_INT(ckpt_size(step1, &bytes, &err), 0);
    CHECK_INT((int)bytes, 3);
    CHECK_INT(ckpt_size(sub, &bytes, &err), 0);
    CHECK_INT((int)bytes, 9);
    char *gone = path_join(dir, "ck/gone");
    CHECK_INT(ckpt_size(gone, &bytes, &err), 1);
    free(gone);
    ckpt_digests_free(&d);
    sb_free(&err);
    free(step1);
    free(sub);
}

static void test_bad_lines(void)
{
    static const struct { const char *text; const char *where; } cases[] = {
        { "abc  3  x\n", ":1:1:" },
        { "1a643f3f9d32ae75e9ccd0af193266ff923f91ccb53caff198071c30ca59ccaf  -3  x\n", ":1:67:" },
        { "1a643f3f9d32ae75e9ccd0af193266ff923f91ccb53caff198071c30ca59ccaf  3 x\n", ":1:68:" },
        { "1a643f3f9d32ae75e9ccd0af193266ff923f91ccb53caff198071c30ca59ccaf  3  x\nzz", ":2:3:" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        put("checkpoints.sha256", cases[i].text);
        struct ckpt_digests d;
        struct strbuf err = STRBUF_INIT;
        CHECK_INT(ckpt_digests_read(dir, &d, &err), -1);
        CHECK_INT((int)d.n, 0);
        CHECK(err.buf && strstr(err.buf, "checkpoints.sha256") && strstr(err.buf, cases[i].where));
        if (err.buf && !strstr(err.buf, cases[i].where))
            fprintf(stderr, "case %zu: %s\n", i, err.buf);
        sb_free(&err);
    }
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    TEST(test_absent);
    TEST(test_write_read);
    TEST(test_bad_lines);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    return test_report();
}
