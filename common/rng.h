/*
 * rng.h - splitmix64 (Steele, Lea and Flood 2014), the one small deterministic
 * generator mainline draws from: the same sequence on every platform, so a seed
 * names one exact data file, data order, LoRA init or random model. Each stream
 * of a run (data order, LoRA init and dropout, model init) starts from the seed
 * xor a constant of its own. Header-only; nothing to free, nothing fails.
 */
#ifndef MAINLINE_RNG_H
#define MAINLINE_RNG_H

#include <math.h>
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

/* Uniform in [0, 1) with 24 bits. */
static inline float rng_uniform01(uint64_t *state)
{
    return (float)(rng_next(state) >> 40) * (1.0f / 16777216.0f);
}

/* Standard normal by Box-Muller in double precision: two draws per value (the
 * second normal of the pair is not kept, so a value depends only on its two
 * draws). u1 is in (0, 1], so the log is finite. */
static inline double rng_normal(uint64_t *state)
{
    double u1 = (double)((rng_next(state) >> 11) + 1) * (1.0 / 9007199254740992.0);
    double u2 = (double)(rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
