/* test_data_estimate.c - tokens, steps and epochs of a run as the trainer counts
 * them; time formatting. */
#include "estimate.h"
#include "testhelp.h"

static void test_estimate_run(void)
{
    long tokens[4] = { 10, 20, 30, 40 };
    struct data_stats st = { .tokens = tokens, .rows = 4 };
    struct run_estimate e;
    json_t *p = json_pack("{s:i,s:i,s:i}", "train_rows", 2, "batch_size", 1, "epochs", 2);
    estimate_run(p, &st, 25, &e);
    CHECK_INT(e.examples, 2);
    CHECK_INT(e.steps, 4);
    CHECK_NEAR(e.epochs, 2, 0);
    CHECK_NEAR(e.tokens, 60, 0);
    CHECK_NEAR(e.positions, 56, 0);
    json_decref(p);
    /* only max_steps: epochs unbounded, 3 steps of 2 per epoch = 1.5 epochs */
    p = json_pack("{s:i,s:i,s:i}", "batch_size", 2, "max_steps", 3, "max_seq_len", 25);
    estimate_run(p, &st, 1000, &e);
    CHECK_INT(e.steps, 3);
    CHECK_NEAR(e.epochs, 1.5, 1e-12);
    CHECK_NEAR(e.tokens, 120, 1e-9);
    CHECK_NEAR(e.positions, 114, 1e-9);
    json_decref(p);
    /* defaults: batch 8, one epoch, the model's max_seq_len; max_steps above the
     * epochs' steps does not add any */
    p = json_pack("{s:i}", "max_steps", 50);
    json_object_set_new(p, "epochs", json_integer(3));
    estimate_run(p, &st, 1000, &e);
    CHECK_INT(e.steps, 3);
    CHECK_NEAR(e.tokens, 300, 0);
    json_decref(p);
    p = json_object();
    estimate_run(p, &st, 1000, &e);
    CHECK_INT(e.steps, 1);
    CHECK_NEAR(e.tokens, 100, 0);
    json_decref(p);
}

static void test_format_seconds(void)
{
    char b[32];
    format_seconds(0.2, b, sizeof(b));
    CHECK_STR(b, "<1s");
    format_seconds(42.4, b, sizeof(b));
    CHECK_STR(b, "42s");
    format_seconds(185, b, sizeof(b));
    CHECK_STR(b, "3m05s");
    format_seconds(3725, b, sizeof(b));
    CHECK_STR(b, "1h02m");
}

int main(void)
{
    TEST(test_estimate_run);
    TEST(test_format_seconds);
    return test_report();
}
