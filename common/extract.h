/*
 * extract.h - answer extraction and normalization for the evaluator's exact-match
 * scoring (the frozen evaluation contract of a sweep: `extract: boxed | regex |
 * last_number`, `pattern:` for regex). Every normalization rule is documented with
 * examples in docs/evaluation.md.
 *
 *   boxed        the LAST \boxed{...} of the text (nested braces balanced; `\boxed 5`
 *                takes the single token after the space; \fbox is not \boxed)
 *   regex        the first capture group of the LAST match of `pattern` (POSIX ERE),
 *                e.g. GSM8K's "#### (-?[0-9.,]+)"
 *   last_number  the last number in the text (sign, thousands separators, decimals,
 *                a simple a/b fraction)
 *
 * An extraction that finds nothing (or finds an empty box) is an extraction
 * failure, counted apart from a wrong answer.
 *
 * Errors: extractor_init() returns -1 and appends a message to *err (a bad regex);
 * the rest cannot fail. Nothing here prints or exits.
 *
 * Ownership: struct extractor owns its compiled regex; extractor_free() releases
 * it and accepts a zeroed struct. Results go into caller-owned strbufs.
 */
#ifndef MAINLINE_EVALUATOR_EXTRACT_H
#define MAINLINE_EVALUATOR_EXTRACT_H

#include <regex.h>

#include "strbuf.h"

enum extract_kind { EXTRACT_BOXED, EXTRACT_REGEX, EXTRACT_LAST_NUMBER };

struct extractor {
    enum extract_kind kind;
    int has_re;
    regex_t re;
};

/* kind: "boxed" (also for NULL), "regex" (needs pattern) or "last_number". */
int extractor_init(struct extractor *x, const char *kind, const char *pattern,
                   struct strbuf *err);
void extractor_free(struct extractor *x);

/* Extract the answer of text into *out (reset first). 1: found, 0: extraction
 * failure (*out empty). */
int extract_answer(const struct extractor *x, const char *text, struct strbuf *out);

/* The canonical form of an answer for exact match, into *out (reset first). */
void answer_normalize(const char *answer, struct strbuf *out);

/* 1 when the normalized forms of predicted and gold are equal. */
int answers_match(const char *predicted, const char *gold);

#endif
