/*
 * tokenizer.c - llama2.c BPE and byte-level tokenizers (see tokenizer.h).
 *
 * The llama2.c encoder follows run.c's encode() step for step: BOS, a dummy " "
 * when the text is not empty, one token per UTF-8 codepoint (byte fallback to
 * byte + 3), then repeated merges of the adjacent pair whose concatenation is in
 * the vocabulary with the highest score, the leftmost pair winning ties. run.c
 * rescans every pair after each merge (quadratic); here the candidate pairs sit
 * in a max-heap ordered by (score, position) and stale entries are skipped, which
 * picks the same pair every step in O(n log n).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fsutil.h"
#include "gguf_read.h"
#include "hf_tokenizer.h"
#include "json_file.h"
#include "model_io.h"
#include "tokenizer.h"

#define LLAMA2C_BYTE_BASE 3          /* id of <0x00> */
#define LLAMA2C_MAX_PIECE 65536      /* longer pieces mean a corrupt file */

/* ---- vocabulary lookup ---- */

/* Order of two byte strings: memcmp on the common prefix, then shorter first. */
static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int cmp_ids_by_piece(const void *a, const void *b, void *ctx)
{
    const struct tokenizer *tok = ctx;
    int x = *(const int *)a, y = *(const int *)b;
    int c = bytes_cmp(tok->pieces[x], (size_t)tok->piece_len[x], tok->pieces[y],
                      (size_t)tok->piece_len[y]);
    return c != 0 ? c : (x > y) - (x < y);
}

static void build_sorted(struct tokenizer *tok)
{
    tok->sorted = xmalloc((size_t)tok->vocab_size * sizeof(int));
    for (int i = 0; i < tok->vocab_size; i++)
        tok->sorted[i] = i;
    qsort_r(tok->sorted, (size_t)tok->vocab_size, sizeof(int), cmp_ids_by_piece, tok);
}

/* The id of the piece equal to s[0..len), the lowest one if several; -1 if none. */
static int piece_lookup(const struct tokenizer *tok, const char *s, size_t len)
{
    size_t lo = 0, hi = (size_t)tok->vocab_size;
    while (lo < hi) {    /* lower bound */
        size_t mid = lo + (hi - lo) / 2;
        int id = tok->sorted[mid];
        if (bytes_cmp(tok->pieces[id], (size_t)tok->piece_len[id], s, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == (size_t)tok->vocab_size)
        return -1;
    int id = tok->sorted[lo];
    return bytes_cmp(tok->pieces[id], (size_t)tok->piece_len[id], s, len) == 0 ? id : -1;
}

/* ---- loading ---- */

struct reader {
    const unsigned char *p, *end;
};

static int rd_bytes(struct reader *r, void *dst, size_t n)
{
    if ((size_t)(r->end - r->p) < n)
        return -1;
    memcpy(dst, r->p, n);
    r->p += n;
    return 0;
}

static int read_piece(struct tokenizer *tok, struct reader *r, int id)
{
    int32_t len;
    if (rd_bytes(r, &tok->scores[id], 4) < 0 || rd_bytes(r, &len, 4) < 0 || len < 0 ||
        len > LLAMA2C_MAX_PIECE)
        return -1;
    tok->pieces[id] = xmalloc((size_t)len + 1);
    tok->piece_len[id] = len;
    if (rd_bytes(r, tok->pieces[id], (size_t)len) < 0)
        return -1;
    tok->pieces[id][len] = '\0';
    if (len > tok->max_piece_len)
        tok->max_piece_len = len;
    return 0;
}

/* Ids 3..258 must be <0x00>..<0xFF>: encoding falls back to them. */
static int check_byte_pieces(const struct tokenizer *tok)
{
    for (int b = 0; b < 256; b++) {
        char want[8];
        int id = LLAMA2C_BYTE_BASE + b;
        snprintf(want, sizeof(want), "<0x%02X>", b);
        if (tok->piece_len[id] != 6 || memcmp(tok->pieces[id], want, 6) != 0)
            return -1;
    }
    return 0;
}

static int parse_llama2c(struct tokenizer *tok, const char *data, size_t len, const char *path,
                         struct strbuf *err)
{
    struct reader r = { (const unsigned char *)data, (const unsigned char *)data + len };
    int32_t max_len;
    if (rd_bytes(&r, &max_len, 4) < 0) {
        sb_addf(err, "%s: truncated tokenizer header", path);
        return -1;
    }
    for (int id = 0; id < tok->vocab_size; id++) {
        if (read_piece(tok, &r, id) < 0) {
            sb_addf(err, "%s: token %d is truncated or corrupt (vocab_size %d)", path, id,
                    tok->vocab_size);
            return -1;
        }
    }
    if (r.p != r.end) {
        sb_addf(err, "%s: %zu bytes left after %d tokens: the tokenizer does not match the "
                "model's vocab_size", path, (size_t)(r.end - r.p), tok->vocab_size);
        return -1;
    }
    if (check_byte_pieces(tok) < 0) {
        sb_addf(err, "%s: ids 3..258 are not the byte pieces <0x00>..<0xFF>", path);
        return -1;
    }
    return 0;
}

int tokenizer_load_llama2c(const char *path, int vocab_size, struct tokenizer *tok,
                           struct strbuf *err)
{
    char *data = NULL;
    size_t len = 0;
    memset(tok, 0, sizeof(*tok));
    if (vocab_size < LLAMA2C_BYTE_BASE + 256) {
        sb_addf(err, "%s: vocab_size %d is too small for a byte-fallback tokenizer", path,
                vocab_size);
        return -1;
    }
    if (read_file(path, &data, &len, err) < 0)
        return -1;
    tok->kind = TOKENIZER_LLAMA2C;
    tok->vocab_size = vocab_size;
    tok->bos_id = 1;
    tok->eos_id = 2;
    tok->pad_id = -1;
    tok->pieces = xcalloc((size_t)vocab_size, sizeof(char *));
    tok->piece_len = xcalloc((size_t)vocab_size, sizeof(int));
    tok->scores = xcalloc((size_t)vocab_size, sizeof(float));
    int rc = parse_llama2c(tok, data, len, path, err);
    free(data);
    if (rc < 0) {
        tokenizer_free(tok);
        return -1;
    }
    build_sorted(tok);
    tok->space_id = piece_lookup(tok, " ", 1);
    return 0;
}

int tokenizer_init_pieces(struct tokenizer *tok, int vocab_size, char **pieces, int *lens,
                          float *scores, int bos, int eos, const char *path,
                          struct strbuf *err)
{
    memset(tok, 0, sizeof(*tok));
    tok->kind = TOKENIZER_LLAMA2C;
    tok->vocab_size = vocab_size;
    tok->bos_id = bos;
    tok->eos_id = eos;
    tok->pad_id = -1;
    tok->pieces = pieces;
    tok->piece_len = lens;
    tok->scores = scores;
    for (int id = 0; id < vocab_size; id++)
        if (lens[id] > tok->max_piece_len)
            tok->max_piece_len = lens[id];
    if (vocab_size < LLAMA2C_BYTE_BASE + 256 || check_byte_pieces(tok) < 0) {
        sb_addf(err, "%s: ids %d..%d are not the byte pieces <0x00>..<0xFF> a llama2.c "
                "tokenizer falls back to", path, LLAMA2C_BYTE_BASE, LLAMA2C_BYTE_BASE + 255);
        tokenizer_free(tok);
        return -1;
    }
    build_sorted(tok);
    tok->space_id = piece_lookup(tok, " ", 1);
    return 0;
}

static int special_ok(int id, int vocab_size)
{
    return id == -1 || (id >= 256 && id < vocab_size);
}

int tokenizer_init_bytes(struct tokenizer *tok, int vocab_size, int bos, int eos, int pad)
{
    memset(tok, 0, sizeof(*tok));
    if (vocab_size < 256 || !special_ok(bos, vocab_size) || !special_ok(eos, vocab_size) ||
        !special_ok(pad, vocab_size))
        return -1;
    tok->kind = TOKENIZER_BYTES;
    tok->vocab_size = vocab_size;
    tok->bos_id = bos;
    tok->eos_id = eos;
    tok->pad_id = pad;
    tok->space_id = -1;
    return 0;
}

int tokenizer_load_hf(const char *dir, struct tokenizer *tok, struct strbuf *err)
{
    memset(tok, 0, sizeof(*tok));
    if (hf_tokenizer_load(dir, &tok->hf, err) < 0)
        return -1;
    tok->kind = TOKENIZER_HF;
    tok->vocab_size = hf_vocab_size(tok->hf);
    tok->bos_id = hf_bos_id(tok->hf);
    tok->eos_id = hf_eos_id(tok->hf);
    tok->pad_id = hf_pad_id(tok->hf);
    tok->space_id = -1;
    return 0;
}

void tokenizer_free(struct tokenizer *tok)
{
    hf_tokenizer_free(tok->hf);
    for (int i = 0; tok->pieces && i < tok->vocab_size; i++)
        free(tok->pieces[i]);
    free(tok->pieces);
    free(tok->piece_len);
    free(tok->scores);
    free(tok->sorted);
    memset(tok, 0, sizeof(*tok));
}

/* ---- llama2.c encoding ---- */

/* Step 2 of run.c: one token per UTF-8 codepoint (at most 4 bytes: a lead byte and
 * its continuation bytes), unknown ones as byte + 3. Appends to ids. */
static size_t encode_codepoints(const struct tokenizer *tok, const unsigned char *s,
                                size_t len, int *ids, size_t n)
{
    size_t i = 0;
    while (i < len) {
        size_t k = 1;
        while (i + k < len && (s[i + k] & 0xC0) == 0x80 && k < 4)
            k++;
        int id = piece_lookup(tok, (const char *)s + i, k);
        if (id >= 0) {
            ids[n++] = id;
        } else {
            for (size_t j = 0; j < k; j++)
                ids[n++] = s[i + j] + LLAMA2C_BYTE_BASE;
        }
        i += k;
    }
    return n;
}

struct merge_cand {
    float score;
    int left, right;             /* positions in the token list */
    int id;                      /* the merged token */
    unsigned gen_left, gen_right;
};

struct merge_state {
    const struct tokenizer *tok;
    int *ids, *next, *prev;      /* a doubly linked list over positions; -1 ends */
    unsigned *gen;               /* bumped whenever a position's token changes */
    char *alive;
    char *buf;                   /* two pieces concatenated */
    struct merge_cand *heap;
    size_t heap_len, heap_alloc;
};

/* Does a outrank b: higher score, then the leftmost pair. */
static int cand_before(const struct merge_cand *a, const struct merge_cand *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void heap_push(struct merge_state *st, struct merge_cand c)
{
    st->heap = xgrow(st->heap, st->heap_len + 1, &st->heap_alloc, sizeof(*st->heap));
    size_t i = st->heap_len++;
    while (i > 0 && cand_before(&c, &st->heap[(i - 1) / 2])) {
        st->heap[i] = st->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    st->heap[i] = c;
}

static struct merge_cand heap_pop(struct merge_state *st)
{
    struct merge_cand top = st->heap[0], last = st->heap[--st->heap_len];
    size_t i = 0, n = st->heap_len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && cand_before(&st->heap[c + 1], &st->heap[c]))
            c++;
        if (!cand_before(&st->heap[c], &last))
            break;
        st->heap[i] = st->heap[c];
        i = c;
    }
    if (n > 0)
        st->heap[i] = last;
    return top;
}

/* Queue the pair (left, its next) when their concatenation is a piece. */
static void consider_pair(struct merge_state *st, int left)
{
    const struct tokenizer *tok = st->tok;
    int right = left >= 0 ? st->next[left] : -1;
    if (right < 0)
        return;
    int a = st->ids[left], b = st->ids[right];
    size_t la = (size_t)tok->piece_len[a], lb = (size_t)tok->piece_len[b];
    memcpy(st->buf, tok->pieces[a], la);
    memcpy(st->buf + la, tok->pieces[b], lb);
    int id = piece_lookup(tok, st->buf, la + lb);
    if (id < 0)
        return;
    struct merge_cand c = { tok->scores[id], left, right, id, st->gen[left], st->gen[right] };
    heap_push(st, c);
}

static int cand_valid(const struct merge_state *st, const struct merge_cand *c)
{
    return st->alive[c->left] && st->alive[c->right] && st->next[c->left] == c->right &&
           st->gen[c->left] == c->gen_left && st->gen[c->right] == c->gen_right;
}

static void apply_merge(struct merge_state *st, const struct merge_cand *c)
{
    int after = st->next[c->right];
    st->ids[c->left] = c->id;
    st->gen[c->left]++;
    st->alive[c->right] = 0;
    st->next[c->left] = after;
    if (after >= 0)
        st->prev[after] = c->left;
    consider_pair(st, st->prev[c->left]);
    consider_pair(st, c->left);
}

/* Step 3 of run.c on ids[0..n); returns the new count. */
static size_t merge_pairs(const struct tokenizer *tok, int *ids, size_t n)
{
    struct merge_state st = { .tok = tok, .ids = ids };
    size_t out = 0;
    st.next = xmalloc((n + 1) * sizeof(int));
    st.prev = xmalloc((n + 1) * sizeof(int));
    st.gen = xcalloc(n + 1, sizeof(unsigned));
    st.alive = xmalloc(n + 1);
    st.buf = xmalloc(2 * (size_t)tok->max_piece_len + 1);
    for (size_t i = 0; i < n; i++) {
        st.next[i] = i + 1 < n ? (int)i + 1 : -1;
        st.prev[i] = (int)i - 1;
        st.alive[i] = 1;
    }
    for (size_t i = 0; i + 1 < n; i++)
        consider_pair(&st, (int)i);
    while (st.heap_len > 0) {
        struct merge_cand c = heap_pop(&st);
        if (cand_valid(&st, &c))
            apply_merge(&st, &c);
    }
    for (int i = n > 0 ? 0 : -1; i >= 0; i = st.next[i])
        ids[out++] = ids[i];
    free(st.next);
    free(st.prev);
    free(st.gen);
    free(st.alive);
    free(st.buf);
    free(st.heap);
    return out;
}

static size_t encode_llama2c(const struct tokenizer *tok, const char *text, size_t len,
                             int add_bos, int *ids)
{
    size_t n = 0;
    if (add_bos)
        ids[n++] = tok->bos_id;
    if (len > 0)
        ids[n++] = tok->space_id >= 0 ? tok->space_id : ' ' + LLAMA2C_BYTE_BASE;
    n = encode_codepoints(tok, (const unsigned char *)text, len, ids, n);
    return merge_pairs(tok, ids, n);
}

/* ---- encode / decode ---- */

/* *ids (malloc'd) = BOS when bos, body's nb ids, EOS when eos; takes body over. */
static void wrap_ids(const struct tokenizer *tok, int *body, size_t nb, int bos, int eos,
                     int **ids, size_t *n)
{
    if (!bos && !eos) {
        *ids = body;
        *n = nb;
        return;
    }
    int *out = xmalloc((nb + 2) * sizeof(int));
    size_t k = 0;
    if (bos)
        out[k++] = tok->bos_id;
    if (nb > 0)
        memcpy(out + k, body, nb * sizeof(int));
    k += nb;
    if (eos)
        out[k++] = tok->eos_id;
    free(body);
    *ids = out;
    *n = k;
}

int tokenizer_encode(const struct tokenizer *tok, const char *text, size_t len, int add_bos,
                     int add_eos, int **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    if ((add_bos && tok->bos_id < 0) || (add_eos && tok->eos_id < 0) ||
        tok->kind == TOKENIZER_NONE)
        return -1;
    if (tok->kind == TOKENIZER_HF) {
        int *body;
        size_t nb;
        hf_encode(tok->hf, text, len, 0, &body, &nb);
        wrap_ids(tok, body, nb, add_bos, add_eos, ids, n);
        return 0;
    }
    int *out = xmalloc((len + 3) * sizeof(int));
    size_t k = 0;
    if (tok->kind == TOKENIZER_LLAMA2C) {
        k = encode_llama2c(tok, text, len, add_bos, out);
    } else {
        if (add_bos)
            out[k++] = tok->bos_id;
        for (size_t i = 0; i < len; i++)
            out[k++] = (unsigned char)text[i];
    }
    if (add_eos)
        out[k++] = tok->eos_id;
    *ids = out;
    *n = k;
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The byte a "<0xHH>" piece stands for, or -1. */
static int byte_piece_value(const char *p, size_t len)
{
    if (len != 6 || memcmp(p, "<0x", 3) != 0 || p[5] != '>')
        return -1;
    int hi = hex_digit(p[3]), lo = hex_digit(p[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

int tokenizer_decode_append(const struct tokenizer *tok, int prev_id, int id,
                            struct strbuf *out)
{
    if (id < 0 || id >= tok->vocab_size || tok->kind == TOKENIZER_NONE)
        return -1;
    if (id == tok->bos_id || id == tok->eos_id || id == tok->pad_id)
        return 0;
    if (tok->kind == TOKENIZER_HF) {
        if (id >= hf_vocab_size(tok->hf))
            return 0;             /* a model id past the tokenizer's: no text */
        int first = prev_id < 0 || prev_id == tok->bos_id || hf_is_special(tok->hf, prev_id);
        return hf_decode_token(tok->hf, id, first, out);
    }
    if (tok->kind == TOKENIZER_BYTES) {
        if (id < 256)
            sb_addc(out, (char)id);
        return 0;
    }
    const char *p = tok->pieces[id];
    size_t len = (size_t)tok->piece_len[id];
    if (prev_id == tok->bos_id && len > 0 && p[0] == ' ') {
        p++;
        len--;
    }
    int byte = byte_piece_value(p, len);
    if (byte >= 0)
        sb_addc(out, (char)byte);
    else
        sb_add(out, p, len);
    return 0;
}

int tokenizer_encode_framed(const struct tokenizer *tok, const char *text, size_t len,
                            enum token_frame frame, int **ids, size_t *n)
{
    int *body;
    size_t nb;
    if (tokenizer_encode(tok, text, len, 0, 0, &body, &nb) < 0) {
        *ids = NULL;
        *n = 0;
        return -1;
    }
    int bos = frame != FRAME_NONE && tok->bos_id >= 0 &&
              (nb == 0 || body[0] != tok->bos_id);
    int eos = frame == FRAME_SEQUENCE && tok->eos_id >= 0 &&
              (nb == 0 || body[nb - 1] != tok->eos_id);
    if (tok->kind == TOKENIZER_LLAMA2C && (bos || eos)) {
        /* its BOS also decides the dummy prefix: encode again rather than prepend */
        free(body);
        return tokenizer_encode(tok, text, len, bos, eos, ids, n);
    }
    wrap_ids(tok, body, nb, bos, eos, ids, n);
    return 0;
}

void tokenizer_encode_example(const struct tokenizer *tok, int own_frame, const char *prompt,
                              size_t prompt_len, const char *completion, size_t completion_len,
                              int **ids, size_t *n, int **pids, size_t *np)
{
    struct strbuf full = STRBUF_INIT;
    sb_add(&full, prompt, prompt_len);
    sb_add(&full, completion, completion_len);
    tokenizer_encode_framed(tok, sb_str(&full), full.len, own_frame ? FRAME_NONE : FRAME_SEQUENCE,
                            ids, n);
    if (pids)
        tokenizer_encode_framed(tok, prompt, prompt_len, own_frame ? FRAME_NONE : FRAME_PROMPT,
                                pids, np);
    sb_free(&full);
}

int tokenizer_encode_special(const struct tokenizer *tok, const char *text, size_t len,
                             int **ids, size_t *n)
{
    if (tok->kind == TOKENIZER_HF) {
        hf_encode(tok->hf, text, len, 1, ids, n);
        return 0;
    }
    return tokenizer_encode(tok, text, len, tok->bos_id >= 0, 0, ids, n);
}

int tokenizer_decode(const struct tokenizer *tok, const int *ids, size_t n, int skip_special,
                     struct strbuf *out)
{
    if (tok->kind == TOKENIZER_HF) {
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0 || ids[i] >= tok->vocab_size)
                return -1;
        return hf_decode(tok->hf, ids, n, skip_special, out);
    }
    /* the text starts as after BOS: llama2.c's dummy-prefix space goes */
    for (size_t i = 0; i < n; i++)
        if (tokenizer_decode_append(tok, i ? ids[i - 1] : tok->bos_id, ids[i], out) < 0)
            return -1;
    return 0;
}

/* ---- which tokenizer goes with a model ---- */

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

/* tok<V>.bin or tokenizer.bin in dir; caller frees; NULL when neither exists. */
static char *find_llama2c_tokenizer(const char *dir, int vocab_size)
{
    char name[32];
    snprintf(name, sizeof(name), "tok%d.bin", vocab_size);
    char *path = path_join(dir, name);
    if (file_exists(path))
        return path;
    free(path);
    path = path_join(dir, "tokenizer.bin");
    if (file_exists(path))
        return path;
    free(path);
    return NULL;
}

/* What config.json says: 1 for "tokenizer": "bytes" (with *pad), 0 when it names
 * no tokenizer, -1 on error. */
static int config_says_bytes(const char *config_path, int *pad, struct strbuf *err)
{
    json_t *root;
    if (json_file_load_object(config_path, &root, err) != JSON_FILE_OK)
        return -1;
    json_t *kind = json_object_get(root, "tokenizer");
    json_t *pad_v = json_object_get(root, "pad_token_id");
    int rc = 0;
    if (kind && !(json_is_string(kind) && strcmp(json_string_value(kind), "bytes") == 0)) {
        sb_addf(err, "%s: unknown \"tokenizer\" (mainline knows \"bytes\")", config_path);
        rc = -1;
    } else if (kind) {
        rc = 1;
        *pad = json_is_integer(pad_v) ? (int)json_integer_value(pad_v) : -1;
    }
    json_decref(root);
    return rc;
}

static int bytes_for_model(const char *config_path, const struct model_config *cfg, int pad,
                           struct tokenizer *tok, struct strbuf *err)
{
    if (tokenizer_init_bytes(tok, cfg->vocab_size, cfg->bos_id, cfg->eos_id, pad) < 0) {
        sb_addf(err, "%s: a byte tokenizer needs vocab_size >= 256 and special ids in "
                "[256, vocab_size) (vocab %d, bos %d, eos %d, pad %d)", config_path,
                cfg->vocab_size, cfg->bos_id, cfg->eos_id, pad);
        return -1;
    }
    return 0;
}

/* tok<V>.bin or tokenizer.bin in dir, or an error naming the model. */
static int llama2c_beside(const char *model_path, const char *dir,
                          const struct model_config *cfg, struct tokenizer *tok,
                          struct strbuf *err)
{
    char *path = find_llama2c_tokenizer(dir, cfg->vocab_size);
    int rc = -1;
    if (path)
        rc = tokenizer_load_llama2c(path, cfg->vocab_size, tok, err);
    else
        sb_addf(err, "no tokenizer for '%s': no \"tokenizer\": \"bytes\" in its config and "
                "no tok%d.bin or tokenizer.bin in '%s'", model_path, cfg->vocab_size, dir);
    free(path);
    return rc;
}

static int has_tokenizer_json(const char *dir)
{
    char *path = path_join(dir, "tokenizer.json");
    int yes = file_exists(path);
    free(path);
    return yes;
}

/* dir/tokenizer.json for a model whose vocabulary must hold its ids. */
static int hf_for_model(const char *dir, const struct model_config *cfg, struct tokenizer *tok,
                        struct strbuf *err)
{
    if (tokenizer_load_hf(dir, tok, err) < 0)
        return -1;
    if (tok->vocab_size > cfg->vocab_size) {
        sb_addf(err, "%s/tokenizer.json: its ids go up to %d but the model's vocab_size is %d",
                dir, tok->vocab_size - 1, cfg->vocab_size);
        tokenizer_free(tok);
        return -1;
    }
    tok->vocab_size = cfg->vocab_size;
    return 0;
}

char *tokenizer_file_for_model(const char *model_path, int vocab_size)
{
    char *config_path, *weights_path, *dir, *path = NULL;
    struct strbuf err = STRBUF_INIT;
    int pad;
    model_hf_paths(model_path, &config_path, &weights_path);
    dir = path_dirname(has_suffix(model_path, ".bin") ? model_path : config_path);
    if (has_suffix(model_path, ".bin") || config_says_bytes(config_path, &pad, &err) == 0) {
        char *json = path_join(dir, "tokenizer.json");
        if (!has_suffix(model_path, ".bin") && file_exists(json))
            path = json;
        else
            free(json);
        if (!path)
            path = find_llama2c_tokenizer(dir, vocab_size);
    }
    sb_free(&err);
    free(dir);
    free(config_path);
    free(weights_path);
    return path;
}

int tokenizer_for_model(const char *model_path, const struct model_config *cfg,
                        struct tokenizer *tok, struct strbuf *err)
{
    char *config_path, *weights_path, *dir;
    int pad = -1, says_bytes = 0, rc;
    memset(tok, 0, sizeof(*tok));
    if (gguf_is_file(model_path))
        return tokenizer_load_gguf(model_path, cfg->vocab_size, tok, err);
    model_hf_paths(model_path, &config_path, &weights_path);
    if (has_suffix(model_path, ".bin")) {
        dir = path_dirname(model_path);
    } else {
        dir = path_dirname(config_path);
        says_bytes = config_says_bytes(config_path, &pad, err);
    }
    if (says_bytes < 0)
        rc = -1;
    else if (says_bytes == 1)
        rc = bytes_for_model(config_path, cfg, pad, tok, err);
    else if (!has_suffix(model_path, ".bin") && has_tokenizer_json(dir))
        rc = hf_for_model(dir, cfg, tok, err);
    else
        rc = llama2c_beside(model_path, dir, cfg, tok, err);
    free(dir);
    free(config_path);
    free(weights_path);
    return rc;
}
