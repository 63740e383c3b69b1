/*
 * extract.h - answer extraction and normalization for the evaluator's exact-match
 * scoring (the frozen evaluation contract of a sweep: `extract: boxed | regex |
 * last_number`, `pattern:` for regex). Every extraction and normalization rule is
 * documented with examples in docs/evaluation.md. Extraction is in extract.c,
 * normalization and matching in answer_norm.c.
 *
 *   boxed        the LAST top-level \boxed{...} of the text (nested braces balanced;
 *                `\boxed 5` takes the single token after the space; \fbox is not
 *                \boxed); an empty, unclosed or broken last box is a failure
 *   regex        the first capture group of the LAST match of `pattern` (POSIX ERE,
 *                compiled with REG_NEWLINE: `.` stops at a line end), or the whole
 *                match when there is no group, e.g. GSM8K's "#### (-?[0-9.,]+)"
 *   last_number  the last number in the text (sign, thousands separators, decimals,
 *                a simple a/b fraction), as written
 *
 * An extraction that finds nothing (or finds an empty box) is an extraction
 * failure, counted apart from a wrong answer. The extracted text is trimmed of
 * whitespace but otherwise raw: matching normalizes it.
 *
 * Errors: extractor_init() returns -1 and appends a message to *err (a bad regex);
 * the rest cannot fail. Nothing here prints or exits.
 *
 * Ownership: struct extractor owns its compiled regex; extractor_free() releases
 * it and accepts a zeroed struct. Results go into caller-owned strbufs.
 */
#ifndef MAINLINE_EXTRACT_H
#define MAINLINE_EXTRACT_H

#include <regex.h>

#include "strbuf.h"

enum extract_kind { EXTRACT_BOXED, EXTRACT_REGEX, EXTRACT_LAST_NUMBER };

struct extractor {
    enum extract_kind kind;
    int has_re;
    regex_t re;
};

/* kind: "boxed" (also for NULL), "regex" (needs pattern) or "last_number". The
 * pattern is ignored for the other kinds (a sweep may carry one anyway). */
int extractor_init(struct extractor *x, const char *kind, const char *pattern,
                   struct strbuf *err);
void extractor_free(struct extractor *x);

/* Extract the answer of text into *out (reset first). 1: found, 0: extraction
 * failure (*out empty). */
int extract_answer(const struct extractor *x, const char *text, struct strbuf *out);

/* The canonical form of an answer for exact match, into *out (reset first). NULL
 * is "". Normalizing a normal form changes nothing. */
void answer_normalize(const char *answer, struct strbuf *out);

/* 1 when the normalized forms of predicted and gold are equal and not empty
 * (nothing never matches, not even nothing). */
int answers_match(const char *predicted, const char *gold);

/* open points at '{': the length of the balanced group including both braces, or
 * 0 when the text ends first. A backslash escapes the next character, so \{ and
 * \} do not count. (Shared by the extractor and the normalizer.) */
size_t latex_group_len(const char *open);

#endif
