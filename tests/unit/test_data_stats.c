/* test_data_stats.c - rendered token counts: exact per row with the byte
 * tokenizer, nearest-rank percentiles, truncation, per-source summaries. */
#include <stdlib.h>
#include <unistd.h>

#include "rows.h"
#include "token_stats.h"
#include "testhelp.h"

static void test_percentiles(void)
{
    long v[10] = { 10, 1, 9, 2, 8, 3, 7, 4, 6, 5 };
    struct token_summary s;
    token_summary_of(v, 10, 8, &s);
    CHECK_INT(s.rows, 10);
    CHECK_NEAR(s.mean, 5.5, 1e-12);
    CHECK_INT(s.p50, 5);    /* rank ceil(5.0) = 5 */
    CHECK_INT(s.p90, 9);    /* rank 9 */
    CHECK_INT(s.p95, 10);   /* rank ceil(9.5) = 10 */
    CHECK_INT(s.max, 10);
    CHECK_INT(s.truncated, 2);
    CHECK_INT(s.tokens, 55);
    CHECK_INT(s.kept_tokens, 36 + 8 + 8);
    long one[1] = { 7 };
    token_summary_of(one, 1, 0, &s);
    CHECK_INT(s.p50, 7);
    CHECK_INT(s.p95, 7);
    CHECK_INT(s.truncated, 0);
    token_summary_of(NULL, 0, 0, &s);
    CHECK_INT(s.rows, 0);
}

static void test_file_stats(void)
{
    char path[] = "/tmp/test_data_stats.XXXXXX";
    int fd = mkstemp(path);
    const char *text =
        "{\"q\": \"ab\", \"a\": \"cde\", \"src\": \"x\"}\n"          /* 1+3+3+1 = 8 */
        "\n"
        "{\"q\": \"abcd\", \"a\": \"e\", \"src\": \"y\"}\n"          /* 1+5+1+1 = 8 */
        "{\"q\": \"a\", \"a\": \"bcdefghij\", \"src\": \"x\"}\n";   /* 1+2+9+1 = 13 */
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    struct data_file f;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(data_file_read(path, &f, &err), 0);
    CHECK_INT(f.n, 3);
    CHECK_INT(f.rows[2].line, 4);
    struct tokenizer tok;
    CHECK_INT(tokenizer_init_bytes(&tok, 260, 256, 257, 258), 0);
    struct render_fields fields = { .prompt = "q", .completion = "a", .source = "src" };
    struct render_contract rc = { NULL, TEMPLATE_PLAIN, &fields, NULL };
    struct data_stats st;
    CHECK_INT(data_stats_compute(&f, &rc, &tok, 10, &st, &err), 0);
    CHECK_INT(st.tokens[0], 8);
    CHECK_INT(st.tokens[1], 8);
    CHECK_INT(st.tokens[2], 13);
    CHECK_INT(st.all.truncated, 1);
    CHECK_INT(st.all.kept_tokens, 26);
    CHECK_INT(st.n_sources, 2);
    CHECK_STR(st.by_source[0].source, "x");
    CHECK_INT(st.by_source[0].s.rows, 2);
    CHECK_INT(st.by_source[0].s.max, 13);
    CHECK_STR(st.by_source[1].source, "y");
    CHECK_INT(data_stats_kept_tokens(&st, 2, 10), 16);
    CHECK_INT(data_stats_kept_tokens(&st, 0, 10), 26);
    CHECK_INT(data_stats_kept_tokens(&st, 0, 0), 29);
    data_stats_free(&st);
    /* a row that does not render names its line */
    fields.completion = "missing";
    CHECK_INT(data_stats_compute(&f, &rc, &tok, 10, &st, &err), -1);
    char want[128];
    snprintf(want, sizeof(want), "%s:1: the row has no string \"missing\" (fields.completion)",
             path);
    CHECK_STR(err.buf, want);
    data_file_free(&f);
    /* a line that is not a JSON object */
    FILE *fp = fopen(path, "w");
    fputs("{\"q\": \"a\"}\n[1, 2]\n", fp);
    fclose(fp);
    sb_reset(&err);
    CHECK_INT(data_file_read(path, &f, &err), -1);
    snprintf(want, sizeof(want), "%s:2: a row must be a JSON object", path);
    CHECK_STR(err.buf, want);
    unlink(path);
    tokenizer_free(&tok);
    sb_free(&err);
}

int main(void)
{
    TEST(test_percentiles);
    TEST(test_file_stats);
    return test_report();
}
