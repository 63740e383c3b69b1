/* test_stdout_rules.c - parse_stdout on PCRE2: the syntax users paste from Python,
 * several events from one line, and the mlx-lm preset on lines in mlx_lm.lora's
 * format. */
#include <string.h>

#include "stdout_rules.h"
#include "testhelp.h"

/* The events of `line` under `rules_json`, as compact JSON text (caller frees). */
static char *events_of(const char *rules_json, const char *line)
{
    json_t *spec = rules_json[0] == '[' ? json_loads(rules_json, 0, NULL)
                                        : stdout_preset(rules_json);
    struct strbuf err = STRBUF_INIT;
    struct stdout_rules *r = stdout_rules_compile(spec, &err);
    CHECK(r != NULL);
    CHECK_INT(err.len, 0);
    json_t *ev = stdout_rules_match(r, line);
    char *text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
    json_decref(ev);
    stdout_rules_free(r);
    json_decref(spec);
    sb_free(&err);
    return text;
}

static void check_events(const char *rules, const char *line, const char *want)
{
    char *got = events_of(rules, line);
    CHECK_STR(got, want);
    free(got);
}

static void test_python_syntax(void)
{
    /* what failed silently under POSIX ERE: \d and \s */
    check_events("[{\"pattern\": \"Iter (\\\\d+): Val loss (\\\\d+\\\\.\\\\d+)\", \"event\": \"val\","
                 " \"fields\": [\"step\", \"nll\"]}]",
                 "Iter 10: Val loss 2.345, Val took 1.2s",
                 "[{\"event\":\"val\",\"nll\":2.345,\"step\":10}]");
    /* (?:...) is no field; named groups need no fields list */
    check_events("[{\"pattern\": \"(?:step|iter)\\\\s+(?P<step>\\\\d+)\\\\s+loss=(?<loss>[\\\\d.]+)\","
                 " \"event\": \"train\"}]",
                 "iter 7   loss=0.5",
                 "[{\"event\":\"train\",\"loss\":0.5,\"step\":7}]");
    check_events("[{\"pattern\": \"x(\\\\d+)\", \"event\": \"train\", \"fields\": [\"step\"]}]",
                 "no match here", "[]");
}

static void test_checks(void)
{
    struct strbuf err = STRBUF_INIT;
    size_t at = 0;
    CHECK_INT(stdout_pattern_check("Iter (\\d+", 1, NULL, &err, &at), -1);
    CHECK(strstr(err.buf, "missing closing parenthesis") != NULL);
    CHECK_INT((int)at, 9);
    sb_reset(&err);
    CHECK_INT(stdout_pattern_check("Iter (\\d+): (\\d+)", 1, NULL, &err, &at), -1);
    CHECK(strstr(err.buf, "2 capture groups but 1 field is listed") != NULL);
    sb_reset(&err);
    CHECK_INT(stdout_pattern_check("(?P<step>\\d+) (\\d+)", 0, NULL, &err, &at), -1);
    CHECK(strstr(err.buf, "capture group 2 has no name") != NULL);
    sb_reset(&err);
    json_t *groups = NULL;
    CHECK_INT(stdout_pattern_check("(?P<step>\\d+) (?P<loss>\\S+)", 0, &groups, &err, &at), 0);
    char *names = json_dumps(groups, JSON_COMPACT);
    CHECK_STR(names, "[\"step\",\"loss\"]");
    free(names);
    json_decref(groups);
    sb_free(&err);
}

/* Lines in the format of mlx_lm.lora (mlx_lm/tuner/trainer.py). */
static void test_mlx_lm(void)
{
    check_events("mlx-lm", "Iter 1: Val loss 2.931, Val took 1.634s",
                 "[{\"event\":\"val\",\"nll\":2.931,\"seconds\":1.634,\"step\":1}]");
    check_events("mlx-lm",
                 "Iter 10: Train loss 2.464, Learning Rate 1.000e-05, It/sec 0.583, "
                 "Tokens/sec 283.211, Trained Tokens 4859, Peak mem 5.364 GB",
                 "[{\"event\":\"train\",\"it_per_s\":0.583,\"loss\":2.464,\"lr\":1e-5,"
                 "\"peak_mem_gb\":5.364,\"step\":10,\"tok_per_s\":283.211,\"tokens\":4859},"
                 "{\"event\":\"memory\",\"peak_mem_gb\":5.364,\"step\":10}]");
    check_events("mlx-lm",
                 "Iter 100: Saved adapter weights to adapters/adapters.safetensors and "
                 "adapters/0000100_adapters.safetensors.",
                 "[{\"event\":\"checkpoint\",\"path\":\"adapters/0000100_adapters.safetensors\","
                 "\"step\":100}]");
    check_events("mlx-lm", "Iter 200: Saved adapter weights to adapters.npz.",
                 "[{\"event\":\"checkpoint\",\"path\":\"adapters.npz\",\"step\":200}]");
    check_events("mlx-lm", "Saved final weights to adapters/adapters.safetensors.",
                 "[{\"event\":\"saved\",\"path\":\"adapters/adapters.safetensors\"}]");
    check_events("mlx-lm", "Loading pretrained model", "[]");
    CHECK(stdout_preset("mlx") == NULL);
}

int main(void)
{
    TEST(test_python_syntax);
    TEST(test_checks);
    TEST(test_mlx_lm);
    return test_report();
}
