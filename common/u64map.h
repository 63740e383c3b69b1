/*
 * u64map.h - a multimap from 64-bit hashes to indexes (open addressing, linear
 * probing). Several values may share a key; callers that need exactness compare
 * the underlying data of each candidate, so a hash collision can never produce a
 * false match, only a little extra work.
 *
 * Ownership: the map owns its table; u64map_free() releases it and accepts a
 * zeroed struct. Nothing here fails except by running out of memory (fatal).
 */
#ifndef MAINLINE_U64MAP_H
#define MAINLINE_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map_entry {
    uint64_t key;
    size_t value;
    int used;
};

struct u64map {
    struct u64map_entry *e;
    size_t cap, n;     /* cap is 0 or a power of two */
};

void u64map_add(struct u64map *m, uint64_t key, size_t value);

/* Iterate the values of `key`: start with *pos = 0; returns 1 and sets *value while
 * there is another one. */
int u64map_next(const struct u64map *m, uint64_t key, size_t *pos, size_t *value);

void u64map_free(struct u64map *m);

/* FNV-1a, 64 bits. */
uint64_t hash64(const void *data, size_t len);

#endif
