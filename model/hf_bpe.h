/*
 * hf_bpe.h - the BPE model of a Hugging Face tokenizer.json: the vocabulary (token
 * string <-> id), the merges as a hash from a pair of ids to (rank, merged id), and
 * the merge loop that turns one pre-token into ids.
 *
 * A pre-token is given as its symbols' ids (one per byte for byte-level
 * vocabularies, one per code point otherwise, byte fallback done by the caller);
 * hf_bpe_merge() applies the merges lowest rank first, the leftmost pair winning
 * ties, with a heap over the pairs and a linked list over the symbols: O(n log n)
 * per pre-token.
 *
 * Ownership: struct hf_bpe owns every array and string in it; hf_bpe_free()
 * releases them and accepts a zeroed struct. Nothing here prints or exits; errors
 * are 0/-1 with a message in a strbuf.
 */
#ifndef MAINLINE_HF_BPE_H
#define MAINLINE_HF_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

struct hf_vocab_slot {
    int id;                        /* -1: empty */
    uint32_t hash;
};

struct hf_merge_slot {
    uint64_t key;                  /* (left id << 32) | right id; 0 with rank -1: empty */
    int rank, merged;
};

struct hf_bpe {
    int n_ids;                     /* ids are 0..n_ids-1; gaps have no token */
    char **token;                  /* (n_ids) the token strings, NULL for a gap; owned */
    int *token_len;                /* (n_ids) */
    struct hf_vocab_slot *vslot;   /* string -> id, open addressing */
    size_t vcap;
    struct hf_merge_slot *mslot;   /* pair -> merge, open addressing */
    size_t mcap, n_merges;
};

/* Set id's token string (copied), replacing any earlier one (an added token wins over
 * the vocabulary's, as in Hugging Face). Grows the id space. Returns 0. */
int hf_bpe_set_token(struct hf_bpe *b, int id, const char *s, size_t len);

/* Build the string -> id index after every hf_bpe_set_token(). */
void hf_bpe_index(struct hf_bpe *b);

/* The id of token string s, or -1. */
int hf_bpe_lookup(const struct hf_bpe *b, const char *s, size_t len);

/* Add the merge of a and b (token strings) at rank; -1 with a message in err when a,
 * b or their concatenation is not in the vocabulary. A pair already present keeps its
 * first (lowest) rank, as Hugging Face does. */
int hf_bpe_add_merge(struct hf_bpe *b, const char *a, size_t alen, const char *bs, size_t blen,
                     int rank, struct strbuf *err);

/* Merge ids[0..n) in place; returns the new count. */
size_t hf_bpe_merge(const struct hf_bpe *b, int *ids, size_t n);

void hf_bpe_free(struct hf_bpe *b);

#endif
