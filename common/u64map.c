/* u64map.c - a hash multimap of 64-bit keys to indexes (see u64map.h). */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "u64map.h"

/* Keys are already hashes, but mix them so that structured keys still spread. */
static size_t slot_of(uint64_t key, size_t cap)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

static void put(struct u64map_entry *tab, size_t cap, uint64_t key, size_t value)
{
    size_t i = slot_of(key, cap);
    while (tab[i].used)
        i = (i + 1) & (cap - 1);
    tab[i] = (struct u64map_entry){ key, value, 1 };
}

void u64map_add(struct u64map *m, uint64_t key, size_t value)
{
    if ((m->n + 1) * 4 > m->cap * 3) {   /* keep the load under 3/4 */
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct u64map_entry *tab = xcalloc(cap, sizeof(*tab));
        for (size_t i = 0; i < m->cap; i++)
            if (m->e[i].used)
                put(tab, cap, m->e[i].key, m->e[i].value);
        free(m->e);
        m->e = tab;
        m->cap = cap;
    }
    put(m->e, m->cap, key, value);
    m->n++;
}

/* *pos counts probes from the key's home slot (0 = not started). */
int u64map_next(const struct u64map *m, uint64_t key, size_t *pos, size_t *value)
{
    if (!m->cap)
        return 0;
    size_t home = slot_of(key, m->cap);
    for (size_t k = *pos; k < m->cap; k++) {
        const struct u64map_entry *e = &m->e[(home + k) & (m->cap - 1)];
        if (!e->used)
            return 0;
        if (e->key == key) {
            *pos = k + 1;
            *value = e->value;
            return 1;
        }
    }
    return 0;
}

void u64map_free(struct u64map *m)
{
    free(m->e);
    memset(m, 0, sizeof(*m));
}

uint64_t hash64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
