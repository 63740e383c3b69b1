/*
 * test_trainer_data.c - examples and batches: exact tokens and loss masks of a
 * two-row file under the byte tokenizer (BOS + prompt + completion + EOS, prompt
 * masked), truncation and dropping, the first-N-rows slice, file:line errors,
 * padded batches, and the epoch order: seeded, a permutation, different each
 * epoch, with the last short batch kept (10 rows, batch 4 -> 4, 4, 2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train_data.h"
#include "testhelp.h"

#define BOS 256
#define EOS 257
#define PAD 258

static char path[64];

static void write_rows(const char *text)
{
    snprintf(path, sizeof(path), "/tmp/test_trainer_data.XXXXXX");
    int fd = mkstemp(path);
    size_t len = strlen(text);
    CHECK(fd >= 0 && write(fd, text, len) == (ssize_t)len);
    close(fd);
}

static enum train_data_status load(const char *system, int max_seq_len, long rows,
                                   struct dataset *ds, struct strbuf *err)
{
    struct tokenizer tok;
    tokenizer_init_bytes(&tok, 260, BOS, EOS, PAD);
    struct render_contract rc = { system, TEMPLATE_PLAIN, NULL, NULL };
    struct train_data_spec spec = { &rc, &tok, max_seq_len, rows };
    enum train_data_status st = train_data_load(path, &spec, ds, err);
    tokenizer_free(&tok);
    return st;
}

static const char two_rows[] =
    "{\"prompt\": \"ab\", \"completion\": \"cd\"}\n"
    "\n"
    "{\"text\": \"xyz\"}\n";

static void test_tokens_and_mask(void)
{
    struct dataset ds;
    struct strbuf err = STRBUF_INIT;
    write_rows(two_rows);
    CHECK_INT(load(NULL, 64, 0, &ds, &err), TRAIN_DATA_OK);
    CHECK_INT(ds.n, 2);
    CHECK_INT(ds.rows, 2);
    /* BOS a b \n | c d EOS: the prompt "ab\n" (plain template) is not learned */
    static const int want0[] = { BOS, 'a', 'b', '\n', 'c', 'd', EOS };
    CHECK_INT(ds.ex[0].len, 7);
    CHECK_INT(ds.ex[0].prompt_len, 4);
    CHECK(memcmp(ds.tokens + ds.ex[0].off, want0, sizeof(want0)) == 0);
    /* a text row is all completion: BOS | x y z EOS */
    static const int want1[] = { BOS, 'x', 'y', 'z', EOS };
    CHECK_INT(ds.ex[1].len, 5);
    CHECK_INT(ds.ex[1].prompt_len, 1);
    CHECK(memcmp(ds.tokens + ds.ex[1].off, want1, sizeof(want1)) == 0);
    CHECK_INT(ds.input_tokens, 6 + 4);
    CHECK_INT(ds.loss_tokens, 3 + 4);
    CHECK_INT(ds.max_len, 7);

    struct batch b;
    batch_alloc(&b, 2, 8);
    size_t idx[2] = { 1, 0 };
    batch_fill(&b, &ds, idx, 2, PAD);
    CHECK_INT(b.cur_B, 2);
    CHECK_INT(b.cur_T, 6);   /* the longest input: 7 tokens - 1 */
    static const int tok[12] = { BOS, 'x', 'y', 'z', PAD, PAD, BOS, 'a', 'b', '\n', 'c', 'd' };
    static const int tgt[12] = { 'x', 'y', 'z', EOS, 0, 0, 0, 0, 0, 'c', 'd', EOS };
    static const unsigned char mask[12] = { 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1 };
    CHECK(memcmp(b.tokens, tok, sizeof(tok)) == 0);
    CHECK(memcmp(b.targets, tgt, sizeof(tgt)) == 0);
    CHECK(memcmp(b.mask, mask, sizeof(mask)) == 0);
    CHECK_INT(b.count, 7);
    CHECK_INT(b.n_tokens, 10);
    batch_free(&b);
    train_data_free(&ds);
    unlink(path);
    sb_free(&err);
}

static void test_system_prompt(void)
{
    struct dataset ds;
    struct strbuf err = STRBUF_INIT;
    write_rows(two_rows);
    CHECK_INT(load("S", 64, 1, &ds, &err), TRAIN_DATA_OK);   /* first row only */
    CHECK_INT(ds.n, 1);
    /* BOS S \n \n a b \n | c d EOS */
    CHECK_INT(ds.ex[0].len, 10);
    CHECK_INT(ds.ex[0].prompt_len, 7);
    CHECK_INT(ds.tokens[1], 'S');
    train_data_free(&ds);
    unlink(path);
    sb_free(&err);
}

static void test_truncation(void)
{
    struct dataset ds;
    struct strbuf err = STRBUF_INIT;
    write_rows(two_rows);
    CHECK_INT(load(NULL, 5, 0, &ds, &err), TRAIN_DATA_OK);
    CHECK_INT(ds.truncated, 1);   /* row 1 loses d and EOS; row 2 fits exactly */
    CHECK_INT(ds.ex[0].len, 5);
    CHECK_INT(ds.loss_tokens, 1 + 4);
    train_data_free(&ds);
    CHECK_INT(load(NULL, 4, 0, &ds, &err), TRAIN_DATA_OK);
    CHECK_INT(ds.rows, 2);
    CHECK_INT(ds.dropped, 1);     /* row 1: only its prompt fits */
    CHECK_INT(ds.n, 1);
    CHECK_INT(ds.ex[0].len, 4);   /* BOS x y z */
    CHECK_INT(ds.truncated, 2);
    train_data_free(&ds);
    unlink(path);
    sb_free(&err);
}

static void test_errors(void)
{
    struct dataset ds;
    struct strbuf err = STRBUF_INIT;
    write_rows("{\"text\": \"ok\"}\n{\"prompt\": \"no answer\"}\n");
    CHECK_INT(load(NULL, 64, 0, &ds, &err), TRAIN_DATA_BAD_ROW);
    char want[128];
    snprintf(want, sizeof(want), "%s:2: the row has a prompt but no completion to learn from",
             path);
    CHECK_STR(err.buf, want);
    train_data_free(&ds);
    unlink(path);
    sb_reset(&err);
    write_rows("{\"text\": \"ok\"}\nnot json\n");
    CHECK_INT(load(NULL, 64, 1, &ds, &err), TRAIN_DATA_OK);   /* row 2 is never read */
    train_data_free(&ds);
    CHECK_INT(load(NULL, 64, 0, &ds, &err), TRAIN_DATA_BAD_ROW);
    snprintf(want, sizeof(want), "%s:2:", path);
    CHECK(strncmp(err.buf, want, strlen(want)) == 0);
    train_data_free(&ds);
    unlink(path);
    sb_reset(&err);
    CHECK_INT(load(NULL, 64, 0, &ds, &err), TRAIN_DATA_UNREADABLE);
    CHECK(strstr(err.buf, "cannot open") != NULL);
    train_data_free(&ds);
    sb_free(&err);
}

static int is_permutation(const size_t *order, size_t n)
{
    unsigned char seen[64] = { 0 };
    for (size_t i = 0; i < n; i++) {
        if (order[i] >= n || seen[order[i]])
            return 0;
        seen[order[i]] = 1;
    }
    return 1;
}

static void test_order(void)
{
    size_t a[10], b[10], c[10];
    uint64_t r1 = data_rng_init(7), r2 = data_rng_init(7), r3 = data_rng_init(8);
    train_data_shuffle(a, 10, &r1);
    train_data_shuffle(b, 10, &r2);
    train_data_shuffle(c, 10, &r3);
    CHECK(is_permutation(a, 10));
    CHECK(memcmp(a, b, sizeof(a)) == 0);    /* same seed, same order */
    CHECK(memcmp(a, c, sizeof(a)) != 0);    /* another seed, another order */
    CHECK(r1 == r2);
    train_data_shuffle(b, 10, &r2);               /* the next epoch draws again */
    CHECK(is_permutation(b, 10));
    CHECK(memcmp(a, b, sizeof(a)) != 0);

    /* 10 rows, batch 4: three steps of 4, 4 and 2 -- the short batch is kept */
    CHECK_INT(train_data_steps_per_epoch(10, 4), 3);
    size_t first, count;
    train_data_batch_bounds(10, 4, 0, &first, &count);
    CHECK_INT(first, 0);
    CHECK_INT(count, 4);
    train_data_batch_bounds(10, 4, 1, &first, &count);
    CHECK_INT(first, 4);
    CHECK_INT(count, 4);
    train_data_batch_bounds(10, 4, 2, &first, &count);
    CHECK_INT(first, 8);
    CHECK_INT(count, 2);
    CHECK_INT(train_data_steps_per_epoch(8, 4), 2);
    CHECK_INT(train_data_steps_per_epoch(3, 8), 1);
}

int main(void)
{
    TEST(test_tokens_and_mask);
    TEST(test_system_prompt);
    TEST(test_truncation);
    TEST(test_errors);
    TEST(test_order);
    return test_report();
}
