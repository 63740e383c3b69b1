/* test_data_synth.c - the demo task generator: arithmetic that checks out, numbers
 * that keep the benchmark apart, no 13-gram shared across the split. */
#include <ctype.h>
#include <stdlib.h>

#include "canon.h"
#include "rng.h"
#include "synth_math.h"
#include "testhelp.h"
#include "u64map.h"

/* Every "A op B = C" of a solution holds; returns the last C. */
static long check_steps(const char *sol, int *bad)
{
    long last = -1;
    for (const char *p = sol; *p; p++) {
        long a, b, c;
        char op;
        int used;
        if (!isdigit((unsigned char)*p) || (p > sol && isdigit((unsigned char)p[-1])))
            continue;
        if (sscanf(p, "%ld %c %ld = %ld%n", &a, &op, &b, &c, &used) != 4 ||
            !strchr("+-*/", op))
            continue;
        long want = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : a / b;
        if (want != c || (op == '/' && a % b))
            (*bad)++;
        last = c;
        p += used - 1;
    }
    return last;
}

static int numbers_on_side(const char *text, int held_out)
{
    for (const char *p = text; *p; p++) {
        if (!isdigit((unsigned char)*p) || (p > text && isdigit((unsigned char)p[-1])))
            continue;
        if ((atol(p) % 5 == 3) != held_out)
            return 0;
    }
    return 1;
}

static void test_rows_check_out(void)
{
    for (int side = 0; side < 2; side++) {
        uint64_t rng = 12345 + (uint64_t)side;
        int bad = 0, wrong_side = 0, unboxed = 0;
        for (int i = 0; i < 2000; i++) {
            json_t *row = synth_math_problem(&rng, side);
            const char *prob = json_string_value(json_object_get(row, "problem"));
            const char *sol = json_string_value(json_object_get(row, "generated_solution"));
            const char *ans = json_string_value(json_object_get(row, "expected_answer"));
            long last = check_steps(sol, &bad);
            char boxed[64];
            snprintf(boxed, sizeof(boxed), "The answer is \\boxed{%s}.", ans);
            unboxed += strcmp(sol + strlen(sol) - strlen(boxed), boxed) != 0 ||
                       last != atol(ans) || atol(ans) <= 0;
            wrong_side += !numbers_on_side(prob, side);
            json_decref(row);
        }
        CHECK_INT(bad, 0);
        CHECK_INT(unboxed, 0);
        CHECK_INT(wrong_side, 0);
    }
}

static int add_gram(size_t off, size_t len, void *ud)
{
    void **c = ud;
    const char *text = c[0];
    u64map_add(c[1], hash64(text + off, len), 0);
    return 0;
}

static int find_gram(size_t off, size_t len, void *ud)
{
    void **c = ud;
    const char *text = c[0];
    size_t pos = 0, v;
    return u64map_next(c[1], hash64(text + off, len), &pos, &v);
}

static void test_no_shared_13gram(void)
{
    struct u64map grams = { 0 };
    struct strbuf sb = STRBUF_INIT;
    uint64_t rng = 7;
    for (int i = 0; i < 3000; i++) {
        json_t *row = synth_math_problem(&rng, 0);
        text_canon(json_string_value(json_object_get(row, "problem")), &sb);
        void *c[2] = { sb.buf, &grams };
        canon_ngrams(sb.buf, 13, add_gram, c);
        json_decref(row);
    }
    int shared = 0;
    for (int i = 0; i < 3000; i++) {
        json_t *row = synth_math_problem(&rng, 1);
        text_canon(json_string_value(json_object_get(row, "problem")), &sb);
        void *c[2] = { sb.buf, &grams };
        shared += canon_ngrams(sb.buf, 13, find_gram, c);
        json_decref(row);
    }
    CHECK(grams.n > 10000);
    CHECK_INT(shared, 0);
    /* the same side shares plenty: the test can fail */
    int same = 0;
    for (int i = 0; i < 100; i++) {
        json_t *row = synth_math_problem(&rng, 0);
        text_canon(json_string_value(json_object_get(row, "problem")), &sb);
        void *c[2] = { sb.buf, &grams };
        same += canon_ngrams(sb.buf, 13, find_gram, c);
        json_decref(row);
    }
    CHECK(same > 10);
    sb_free(&sb);
    u64map_free(&grams);
}

static void test_deterministic(void)
{
    uint64_t a = 99, b = 99;
    for (int i = 0; i < 50; i++) {
        json_t *x = synth_math_problem(&a, i & 1), *y = synth_math_problem(&b, i & 1);
        CHECK(json_equal(x, y));
        json_decref(x);
        json_decref(y);
    }
}

int main(void)
{
    TEST(test_rows_check_out);
    TEST(test_no_shared_13gram);
    TEST(test_deterministic);
    return test_report();
}
