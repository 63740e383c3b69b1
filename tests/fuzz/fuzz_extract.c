/*
 * fuzz_extract.c - libFuzzer target for answer extraction and normalization
 * (common/extract.c, common/answer_norm.c).
 *
 * Each input is a model output. It goes through the three extractors (boxed, a
 * GSM8K-style regex, a whole-match regex, last_number) and every extracted answer,
 * and the input itself, through answer_normalize(). Besides crashes, sanitizer
 * reports and slow inputs, a broken property is a finding: an extraction that
 * reports success with nothing (or failure with something), a normal form that
 * changes when normalized again, an answer that does not match itself. Build and
 * run with `make fuzz-extract`; findings go to tests/fuzz/extract-crashers/ and
 * tests/unit/test_fuzz_crashers.c replays them (it includes this file and calls
 * extract_properties()).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"

/* NULL when normalizing a twice gives the same as once and a matches itself
 * exactly when its normal form is not empty; else what broke. */
static const char *normal_form_properties(const char *a)
{
    struct strbuf once = STRBUF_INIT, twice = STRBUF_INIT;
    const char *broken = NULL;
    answer_normalize(a, &once);
    answer_normalize(sb_str(&once), &twice);
    if (strcmp(sb_str(&once), sb_str(&twice)))
        broken = "normalizing a normal form changed it";
    else if (answers_match(a, a) != (once.len > 0))
        broken = "an answer does not match itself";
    sb_free(&once);
    sb_free(&twice);
    return broken;
}

/* NULL when every property holds for text[0..len) (cut at a NUL, as the evaluator
 * sees C strings); else what broke. */
static const char *extract_properties(const char *data, size_t len)
{
    static const char *const kinds[][2] = {
        { "boxed", NULL }, { "regex", "#### (-?[0-9.,]+)" }, { "regex", "^[0-9]+$" },
        { "last_number", NULL },
    };
    char *text = xstrndup(data, len);
    struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
    const char *broken = normal_form_properties(text);
    for (size_t k = 0; !broken && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        struct extractor x;
        if (extractor_init(&x, kinds[k][0], kinds[k][1], &err) < 0)
            abort();   /* the patterns above are valid */
        int found = extract_answer(&x, text, &out);
        if (found != (out.len > 0))
            broken = "an extraction's result and its answer disagree";
        else if (found)
            broken = normal_form_properties(sb_str(&out));
        extractor_free(&x);
    }
    free(text);
    sb_free(&out);
    sb_free(&err);
    return broken;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *broken = extract_properties((const char *)data, size);
    if (broken) {
        fprintf(stderr, "fuzz_extract: %s\n", broken);
        __builtin_trap();
    }
    return 0;
}
