/*
 * canon.h - the canonical form of a problem's text, used to compare problems
 * across files (contamination, split leakage, duplicates) and its word n-grams.
 *
 * canonical = ASCII letters lowercased; every number written one way (thousands
 * separators dropped: "1,250" -> "1250"; leading zeros dropped: "007" -> "7";
 * trailing decimal zeros dropped: "3.50" -> "3.5", "4.0" -> "4"); every other
 * punctuation character and every run of whitespace becomes one space; no space
 * at either end. Bytes >= 0x80 (UTF-8) are kept as letters.
 *   "Ava buys 1,200 pens at $3.50 each."  ->  "ava buys 1200 pens at 3.5 each"
 *
 * Words are the space-separated pieces of the canonical text, so an n-gram is a
 * substring of it: canon_ngrams() reports each by offset and length.
 *
 * Nothing here fails or prints; results go into caller-owned buffers.
 */
#ifndef MAINLINE_DATA_CANON_H
#define MAINLINE_DATA_CANON_H

#include <stddef.h>

#include "strbuf.h"

/* The canonical form of text, into *out (reset first). */
void text_canon(const char *text, struct strbuf *out);

/* Number of words of a canonical text. */
size_t canon_word_count(const char *canon);

/*
 * The n-grams of a canonical text: for each run of n consecutive words, fn(offset,
 * length, ud) with the substring's place in canon. Texts of fewer than n words
 * have none. Stops early and returns 1 when fn returns nonzero, else returns 0.
 */
int canon_ngrams(const char *canon, size_t n, int (*fn)(size_t off, size_t len, void *ud),
                 void *ud);

#endif
