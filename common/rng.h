/*
 * rng.h - splitmix64, the small deterministic generator mainline's data tools draw
 * from (the same sequence on every platform, so a seed names one exact file).
 * Header-only; nothing to free.
 */
#ifndef MAINLINE_RNG_H
#define MAINLINE_RNG_H

#include <stdint.h>

static inline uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi] (hi - lo small: the modulo bias is below 2^-50). */
static inline long rng_range(uint64_t *state, long lo, long hi)
{
    return lo + (long)(rng_next(state) % (uint64_t)(hi - lo + 1));
}

#endif
