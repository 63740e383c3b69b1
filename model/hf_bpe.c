/*
 * hf_bpe.c - vocabulary, merges and the BPE merge loop of tokenizer.json models
 * (see hf_bpe.h).
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hf_bpe.h"
#include "u64map.h"

static uint32_t str_hash(const char *s, size_t len)
{
    return (uint32_t)(hash64(s, len) >> 16);
}

int hf_bpe_set_token(struct hf_bpe *b, int id, const char *s, size_t len)
{
    if (id >= b->n_ids) {
        int n = id + 1 > 2 * b->n_ids ? id + 1 : 2 * b->n_ids;
        b->token = xrealloc(b->token, (size_t)n * sizeof(char *));
        b->token_len = xrealloc(b->token_len, (size_t)n * sizeof(int));
        for (int i = b->n_ids; i < n; i++) {
            b->token[i] = NULL;
            b->token_len[i] = 0;
        }
        b->n_ids = n;
    }
    int same = b->token[id] && b->token_len[id] == (int)len && memcmp(b->token[id], s, len) == 0;
    if (same)
        return 0;
    free(b->token[id]);
    b->token[id] = xmalloc(len + 1);
    memcpy(b->token[id], s, len);
    b->token[id][len] = '\0';
    b->token_len[id] = (int)len;
    return 0;
}

void hf_bpe_index(struct hf_bpe *b)
{
    int last = b->n_ids - 1;
    while (last >= 0 && !b->token[last])
        last--;
    b->n_ids = last + 1;
    size_t cap = 16;
    while (cap < 2 * (size_t)b->n_ids)
        cap *= 2;
    free(b->vslot);
    b->vcap = cap;
    b->vslot = xmalloc(cap * sizeof(*b->vslot));
    for (size_t i = 0; i < cap; i++)
        b->vslot[i].id = -1;
    for (int id = 0; id < b->n_ids; id++) {
        if (!b->token[id])
            continue;
        uint32_t h = str_hash(b->token[id], (size_t)b->token_len[id]);
        size_t i = h & (cap - 1);
        while (b->vslot[i].id >= 0)
            i = (i + 1) & (cap - 1);
        b->vslot[i].id = id;
        b->vslot[i].hash = h;
    }
}

int hf_bpe_lookup(const struct hf_bpe *b, const char *s, size_t len)
{
    if (!b->vcap)
        return -1;
    uint32_t h = str_hash(s, len);
    for (size_t i = h & (b->vcap - 1);; i = (i + 1) & (b->vcap - 1)) {
        const struct hf_vocab_slot *v = &b->vslot[i];
        if (v->id < 0)
            return -1;
        if (v->hash == h && b->token_len[v->id] == (int)len &&
            memcmp(b->token[v->id], s, len) == 0)
            return v->id;
    }
}

static uint64_t pair_key(int a, int c)
{
    return ((uint64_t)(uint32_t)a << 32) | (uint32_t)c;
}

static size_t key_slot(uint64_t key, size_t cap)
{
    key ^= key >> 29;
    key *= 0xbf58476d1ce4e5b9ull;
    key ^= key >> 32;
    return (size_t)key & (cap - 1);
}

static void merge_put(struct hf_bpe *b, uint64_t key, int rank, int merged)
{
    size_t i = key_slot(key, b->mcap);
    while (b->mslot[i].rank >= 0) {
        if (b->mslot[i].key == key)
            return;                      /* the first (lowest) rank stays */
        i = (i + 1) & (b->mcap - 1);
    }
    b->mslot[i].key = key;
    b->mslot[i].rank = rank;
    b->mslot[i].merged = merged;
    b->n_merges++;
}

static void merge_grow(struct hf_bpe *b)
{
    struct hf_merge_slot *old = b->mslot;
    size_t oldcap = b->mcap;
    b->mcap = oldcap ? 2 * oldcap : 1024;
    b->mslot = xmalloc(b->mcap * sizeof(*b->mslot));
    for (size_t i = 0; i < b->mcap; i++)
        b->mslot[i].rank = -1;
    b->n_merges = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].rank >= 0)
            merge_put(b, old[i].key, old[i].rank, old[i].merged);
    free(old);
}

int hf_bpe_add_merge(struct hf_bpe *b, const char *a, size_t alen, const char *c, size_t clen,
                     int rank, struct strbuf *err)
{
    int ia = hf_bpe_lookup(b, a, alen), ic = hf_bpe_lookup(b, c, clen);
    char *both = xmalloc(alen + clen + 1);
    memcpy(both, a, alen);
    memcpy(both + alen, c, clen);
    int im = hf_bpe_lookup(b, both, alen + clen);
    free(both);
    if (ia < 0 || ic < 0 || im < 0) {
        sb_addf(err, "merge %d (\"%.*s\" \"%.*s\"): %s is not in the vocabulary", rank,
                (int)alen, a, (int)clen, c,
                ia < 0 ? "its first token" : ic < 0 ? "its second token" : "the merged token");
        return -1;
    }
    if (2 * (b->n_merges + 1) > b->mcap)
        merge_grow(b);
    merge_put(b, pair_key(ia, ic), rank, im);
    return 0;
}

/* The merge of (a, c): its rank and merged id, or rank -1. */
static int merge_find(const struct hf_bpe *b, int a, int c, int *merged)
{
    if (!b->mcap || a < 0 || c < 0)
        return -1;
    uint64_t key = pair_key(a, c);
    for (size_t i = key_slot(key, b->mcap);; i = (i + 1) & (b->mcap - 1)) {
        const struct hf_merge_slot *m = &b->mslot[i];
        if (m->rank < 0)
            return -1;
        if (m->key == key) {
            *merged = m->merged;
            return m->rank;
        }
    }
}

struct cand {
    int rank, left, right_id, left_id, merged;
};

struct merge_run {
    const struct hf_bpe *b;
    int *ids, *next, *prev;
    struct cand *heap;
    size_t heap_len;
};

static int cand_before(const struct cand *x, const struct cand *y)
{
    return x->rank < y->rank || (x->rank == y->rank && x->left < y->left);
}

static void push(struct merge_run *r, int left)
{
    int right = left >= 0 ? r->next[left] : -1;
    if (right < 0)
        return;
    int merged, rank = merge_find(r->b, r->ids[left], r->ids[right], &merged);
    if (rank < 0)
        return;
    struct cand c = { rank, left, r->ids[right], r->ids[left], merged };
    size_t i = r->heap_len++;
    while (i > 0 && cand_before(&c, &r->heap[(i - 1) / 2])) {
        r->heap[i] = r->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    r->heap[i] = c;
}

static struct cand pop(struct merge_run *r)
{
    struct cand top = r->heap[0], last = r->heap[--r->heap_len];
    size_t i = 0, n = r->heap_len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && cand_before(&r->heap[c + 1], &r->heap[c]))
            c++;
        if (!cand_before(&r->heap[c], &last))
            break;
        r->heap[i] = r->heap[c];
        i = c;
    }
    if (n > 0)
        r->heap[i] = last;
    return top;
}

size_t hf_bpe_merge(const struct hf_bpe *b, int *ids, size_t n)
{
    if (n < 2)
        return n;
    int sbuf[3 * 64];
    struct cand hbuf[2 * 64];
    int *links = n <= 64 ? sbuf : xmalloc(2 * n * sizeof(int));
    /* each merge pushes at most two pairs, so n - 1 + 2 (n - 1) bounds the heap */
    struct cand *heap = n <= 43 ? hbuf : xmalloc(3 * n * sizeof(struct cand));
    struct merge_run r = { b, ids, links, links + n, heap, 0 };
    for (size_t i = 0; i < n; i++) {
        r.next[i] = i + 1 < n ? (int)i + 1 : -1;
        r.prev[i] = (int)i - 1;
    }
    for (size_t i = 0; i + 1 < n; i++)
        push(&r, (int)i);
    while (r.heap_len > 0) {
        struct cand c = pop(&r);
        int right = r.next[c.left];
        /* stale: the left symbol was merged away or changed, or its right one did */
        if (ids[c.left] != c.left_id || right < 0 || ids[right] != c.right_id)
            continue;
        ids[c.left] = c.merged;
        ids[right] = -1;
        int after = r.next[right];
        r.next[c.left] = after;
        if (after >= 0)
            r.prev[after] = c.left;
        push(&r, r.prev[c.left]);
        push(&r, c.left);
    }
    size_t out = 0;
    for (int i = 0; i >= 0; i = r.next[i])
        ids[out++] = ids[i];
    if (links != sbuf)
        free(links);
    if (heap != hbuf)
        free(heap);
    return out;
}

void hf_bpe_free(struct hf_bpe *b)
{
    for (int i = 0; b->token && i < b->n_ids; i++)
        free(b->token[i]);
    free(b->token);
    free(b->token_len);
    free(b->vslot);
    free(b->mslot);
    memset(b, 0, sizeof(*b));
}
