/*
 * suggest.h - "did you mean": the closest of a list of words to a misspelt one.
 */
#ifndef MAINLINE_SUGGEST_H
#define MAINLINE_SUGGEST_H

#include <stddef.h>

/* The candidate closest to `word` when it is close enough to be a likely typo,
 * else NULL (a pointer into `candidates`). */
const char *closest_word(const char *word, const char *const *candidates, size_t n);

#endif
