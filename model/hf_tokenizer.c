/*
 * hf_tokenizer.c - tokenizer.json: loading, the encoding pipeline (added tokens,
 * normalizers, pre-tokenizers, BPE, post-processor) and the decoder chain. See
 * hf_tokenizer.h; the merge loop is in hf_bpe.c, the text steps in hf_text.c.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fsutil.h"
#include "hf_bpe.h"
#include "hf_text.h"
#include "hf_tokenizer.h"
#include "u64map.h"

#define MAX_STEPS 16

struct added {
    char *content;            /* as in the file */
    size_t len;
    char *norm;               /* normalized content (normalized tokens only) */
    size_t norm_len;
    int id, special, lstrip, rstrip, single_word, normalized;
};

/* Longest-first candidates per first byte. */
struct matcher {
    int *list[256];           /* indexes into added[] */
    int n[256];
    int use_norm;
};

struct template_item {
    int seq;                  /* 1: the sequence A; 0: ids */
    int *ids;
    int n;
};

struct hf_tokenizer {
    struct hf_bpe bpe;
    struct added *added;
    int n_added;
    char *is_added;           /* (n_ids) 1 for an added token, 2 for a special one */
    struct matcher raw, normd;
    struct hf_step norm[MAX_STEPS], pre[MAX_STEPS], dec[MAX_STEPS];
    int n_norm, n_pre, n_dec;
    int byte_level;           /* a ByteLevel pre-tokenizer: the model works on bytes */
    int byte_id[256];         /* byte-level: the id of each byte's symbol */
    int byte_fb[256];         /* byte fallback: the id of <0xNN>, or -1 */
    int byte_fallback, ignore_merges, fuse_unk, unk_id;
    struct template_item *tmpl;
    int n_tmpl;
    int bos, eos, pad, clean_up;
};

/* ---- loading ---- */

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int jbool(json_t *o, const char *key, int dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static int load_vocab(struct hf_tokenizer *h, json_t *model, const char *name,
                      struct strbuf *err)
{
    json_t *vocab = json_object_get(model, "vocab");
    const char *key;
    json_t *v;
    if (!json_is_object(vocab)) {
        sb_addf(err, "%s: model.vocab is not an object", name);
        return -1;
    }
    json_object_foreach(vocab, key, v) {
        json_int_t id = json_integer_value(v);
        if (!json_is_integer(v) || id < 0 || id > 16 * 1024 * 1024) {
            sb_addf(err, "%s: model.vocab[\"%s\"] is not a token id", name, key);
            return -1;
        }
        hf_bpe_set_token(&h->bpe, (int)id, key, strlen(key));
    }
    return 0;
}

static int load_merges(struct hf_tokenizer *h, json_t *model, const char *name,
                       struct strbuf *err)
{
    json_t *merges = json_object_get(model, "merges"), *m;
    size_t i;
    if (!merges)
        return 0;
    if (!json_is_array(merges)) {
        sb_addf(err, "%s: model.merges is not an array", name);
        return -1;
    }
    json_array_foreach(merges, i, m) {
        const char *a = NULL, *b = NULL;
        size_t alen = 0, blen = 0;
        if (json_is_string(m)) {             /* "a b" */
            a = json_string_value(m);
            const char *sp = strchr(a, ' ');
            if (sp) {
                alen = (size_t)(sp - a);
                b = sp + 1;
                blen = strlen(b);
            }
        } else if (json_is_array(m) && json_array_size(m) == 2 &&
                   json_is_string(json_array_get(m, 0)) &&
                   json_is_string(json_array_get(m, 1))) {   /* ["a", "b"] */
            a = json_string_value(json_array_get(m, 0));
            alen = json_string_length(json_array_get(m, 0));
            b = json_string_value(json_array_get(m, 1));
            blen = json_string_length(json_array_get(m, 1));
        }
        if (!b) {
            sb_addf(err, "%s: model.merges[%zu] is neither \"a b\" nor [\"a\", \"b\"]", name, i);
            return -1;
        }
        struct strbuf why = STRBUF_INIT;
        if (hf_bpe_add_merge(&h->bpe, a, alen, b, blen, (int)i, &why) < 0) {
            sb_addf(err, "%s: model.merges: %s", name, sb_str(&why));
            sb_free(&why);
            return -1;
        }
        sb_free(&why);
    }
    return 0;
}

/* A null or absent key, or one of the values that change nothing. */
static int plain(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return !v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v)) ||
           json_is_false(v);
}

static int load_model(struct hf_tokenizer *h, json_t *root, const char *name,
                      struct strbuf *err)
{
    json_t *model = json_object_get(root, "model");
    const char *type = jstr(model, "type");
    if (!json_is_object(model) || !type) {
        sb_addf(err, "%s: no model", name);
        return -1;
    }
    if (strcmp(type, "BPE") != 0) {
        sb_addf(err, "%s: unsupported model type \"%s\" (mainline supports BPE)", name, type);
        return -1;
    }
    static const char *const unsupported[] = { "dropout", "continuing_subword_prefix",
                                               "end_of_word_suffix" };
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(*unsupported); i++) {
        if (!plain(model, unsupported[i])) {
            sb_addf(err, "%s: unsupported BPE setting model.%s", name, unsupported[i]);
            return -1;
        }
    }
    h->byte_fallback = jbool(model, "byte_fallback", 0);
    h->ignore_merges = jbool(model, "ignore_merges", 0);
    h->fuse_unk = jbool(model, "fuse_unk", 0);
    if (load_vocab(h, model, name, err) < 0)
        return -1;
    return 0;
}

static int load_added(struct hf_tokenizer *h, json_t *root, const char *name,
                      struct strbuf *err)
{
    json_t *arr = json_object_get(root, "added_tokens"), *t;
    size_t i;
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr)) {
        sb_addf(err, "%s: added_tokens is not an array", name);
        return -1;
    }
    h->added = xcalloc(json_array_size(arr) + 1, sizeof(*h->added));
    json_array_foreach(arr, i, t) {
        json_t *c = json_object_get(t, "content"), *id = json_object_get(t, "id");
        if (!json_is_string(c) || !json_is_integer(id) || json_integer_value(id) < 0 ||
            json_string_length(c) == 0 || json_integer_value(id) > 16 * 1024 * 1024) {
            sb_addf(err, "%s: added_tokens[%zu] has no content or id", name, i);
            return -1;
        }
        struct added *a = &h->added[h->n_added++];
        a->len = json_string_length(c);
        a->content = xmalloc(a->len + 1);
        memcpy(a->content, json_string_value(c), a->len + 1);
        a->id = (int)json_integer_value(id);
        a->special = jbool(t, "special", 0);
        a->lstrip = jbool(t, "lstrip", 0);
        a->rstrip = jbool(t, "rstrip", 0);
        a->single_word = jbool(t, "single_word", 0);
        a->normalized = jbool(t, "normalized", !a->special);
        hf_bpe_set_token(&h->bpe, a->id, a->content, a->len);
    }
    return 0;
}

static int cmp_len_desc(const void *x, const void *y, void *ctx)
{
    const struct hf_tokenizer *h = ctx;
    const struct added *a = &h->added[*(const int *)x], *b = &h->added[*(const int *)y];
    size_t la = a->norm ? a->norm_len : a->len, lb = b->norm ? b->norm_len : b->len;
    return la < lb ? 1 : la > lb ? -1 : *(const int *)x - *(const int *)y;
}

static void build_matchers(struct hf_tokenizer *h)
{
    h->normd.use_norm = 1;
    for (int i = 0; i < h->n_added; i++) {
        struct added *a = &h->added[i];
        struct matcher *m = &h->raw;
        const char *s = a->content;
        if (a->normalized && h->n_norm > 0) {
            struct strbuf sb = STRBUF_INIT;
            hf_normalize(h->norm, h->n_norm, a->content, a->len, &sb);
            a->norm_len = sb.len;
            a->norm = sb_detach(&sb);
            m = &h->normd;
            s = a->norm;
            if (a->norm_len == 0)
                continue;
        }
        unsigned char c = (unsigned char)s[0];
        m->list[c] = xrealloc(m->list[c], (size_t)(m->n[c] + 1) * sizeof(int));
        m->list[c][m->n[c]++] = i;
    }
    for (int c = 0; c < 256; c++) {
        if (h->raw.n[c] > 1)
            qsort_r(h->raw.list[c], (size_t)h->raw.n[c], sizeof(int), cmp_len_desc, h);
        if (h->normd.n[c] > 1)
            qsort_r(h->normd.list[c], (size_t)h->normd.n[c], sizeof(int), cmp_len_desc, h);
    }
}

/* The id of a token named in a config: a string or {"content": ...}. */
static int config_token_id(const struct hf_tokenizer *h, json_t *v)
{
    if (json_is_object(v))
        v = json_object_get(v, "content");
    if (!json_is_string(v))
        return -1;
    return hf_bpe_lookup(&h->bpe, json_string_value(v), json_string_length(v));
}

static int load_template(struct hf_tokenizer *h, json_t *pp, const char *name,
                         struct strbuf *err)
{
    json_t *single = json_object_get(pp, "single");
    json_t *special = json_object_get(pp, "special_tokens");
    json_t *it;
    size_t i;
    if (h->tmpl) {
        sb_addf(err, "%s: unsupported post_processor: two TemplateProcessing", name);
        return -1;
    }
    if (!json_is_array(single)) {
        sb_addf(err, "%s: post_processor TemplateProcessing has no \"single\"", name);
        return -1;
    }
    h->tmpl = xcalloc(json_array_size(single) + 1, sizeof(*h->tmpl));
    json_array_foreach(single, i, it) {
        struct template_item *t = &h->tmpl[h->n_tmpl++];
        json_t *seq = json_object_get(it, "Sequence"), *sp = json_object_get(it, "SpecialToken");
        if (seq && json_is_string(json_object_get(seq, "id")) &&
            strcmp(jstr(seq, "id"), "A") == 0) {
            t->seq = 1;
            continue;
        }
        const char *tid = sp ? jstr(sp, "id") : NULL;
        json_t *ids = tid ? json_object_get(json_object_get(special, tid), "ids") : NULL;
        if (!json_is_array(ids)) {
            sb_addf(err, "%s: post_processor: unsupported template piece %zu", name, i);
            return -1;
        }
        t->ids = xcalloc(json_array_size(ids) + 1, sizeof(int));
        for (size_t k = 0; k < json_array_size(ids); k++)
            t->ids[t->n++] = (int)json_integer_value(json_array_get(ids, k));
    }
    return 0;
}

static int load_post(struct hf_tokenizer *h, json_t *pp, const char *name, struct strbuf *err)
{
    const char *type = jstr(pp, "type");
    if (!pp || json_is_null(pp))
        return 0;
    if (!type) {
        sb_addf(err, "%s: post_processor has no type", name);
        return -1;
    }
    if (strcmp(type, "ByteLevel") == 0)
        return 0;                        /* offsets only: no ids change */
    if (strcmp(type, "TemplateProcessing") == 0)
        return load_template(h, pp, name, err);
    if (strcmp(type, "Sequence") == 0) {
        json_t *list = json_object_get(pp, "processors"), *p;
        size_t i;
        json_array_foreach(list, i, p) {
            if (load_post(h, p, name, err) < 0)
                return -1;
        }
        return 0;
    }
    sb_addf(err, "%s: unsupported post_processor type \"%s\"", name, type);
    return -1;
}

static void load_specials(struct hf_tokenizer *h, json_t *tcfg, json_t *mcfg)
{
    static const char *const names[3] = { "bos_token", "eos_token", "pad_token" };
    static const char *const id_names[3] = { "bos_token_id", "eos_token_id", "pad_token_id" };
    int *slot[3] = { &h->bos, &h->eos, &h->pad };
    for (int k = 0; k < 3; k++) {
        *slot[k] = tcfg ? config_token_id(h, json_object_get(tcfg, names[k])) : -1;
        json_t *v = mcfg ? json_object_get(mcfg, id_names[k]) : NULL;
        if (json_is_array(v))
            v = json_array_get(v, 0);
        if (*slot[k] < 0 && json_is_integer(v))
            *slot[k] = (int)json_integer_value(v);
        if (*slot[k] >= h->bpe.n_ids)
            *slot[k] = -1;
    }
    h->clean_up = tcfg ? jbool(tcfg, "clean_up_tokenization_spaces", 1) : 1;
}

static void set_byte_tables(struct hf_tokenizer *h)
{
    for (int b = 0; b < 256; b++) {
        char buf[8];
        size_t n = hf_byte_char(b, buf);
        h->byte_id[b] = hf_bpe_lookup(&h->bpe, buf, n);
        snprintf(buf, sizeof(buf), "<0x%02X>", b);
        h->byte_fb[b] = hf_bpe_lookup(&h->bpe, buf, 6);
    }
}

static int check_top(json_t *root, const char *name, struct strbuf *err)
{
    static const char *const must_be_null[] = { "truncation", "padding" };
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(root, must_be_null[i]);
        if (v && !json_is_null(v)) {
            sb_addf(err, "%s: unsupported %s (mainline needs it null)", name, must_be_null[i]);
            return -1;
        }
    }
    return 0;
}

static int load_all(struct hf_tokenizer *h, json_t *root, json_t *tcfg, json_t *mcfg,
                    const char *name, struct strbuf *err)
{
    h->unk_id = -1;
    if (check_top(root, name, err) < 0 || load_model(h, root, name, err) < 0 ||
        load_added(h, root, name, err) < 0)
        return -1;
    hf_bpe_index(&h->bpe);
    const char *unk = jstr(json_object_get(root, "model"), "unk_token");
    if (unk)
        h->unk_id = hf_bpe_lookup(&h->bpe, unk, strlen(unk));
    if (load_merges(h, json_object_get(root, "model"), name, err) < 0)
        return -1;
    if (hf_steps_load(json_object_get(root, "normalizer"), HF_NORMALIZER, h->norm, &h->n_norm,
                      MAX_STEPS, name, err) < 0 ||
        hf_steps_load(json_object_get(root, "pre_tokenizer"), HF_PRE_TOKENIZER, h->pre,
                      &h->n_pre, MAX_STEPS, name, err) < 0 ||
        hf_steps_load(json_object_get(root, "decoder"), HF_DECODER, h->dec, &h->n_dec,
                      MAX_STEPS, name, err) < 0 ||
        load_post(h, json_object_get(root, "post_processor"), name, err) < 0)
        return -1;
    for (int i = 0; i < h->n_pre; i++) {
        if (h->pre[i].type == HF_BYTE_LEVEL && i != h->n_pre - 1) {
            sb_addf(err, "%s: unsupported pre_tokenizer: ByteLevel before another step", name);
            return -1;
        }
        if (h->pre[i].type == HF_BYTE_LEVEL)
            h->byte_level = 1;
    }
    h->is_added = xcalloc((size_t)h->bpe.n_ids + 1, 1);
    for (int i = 0; i < h->n_added; i++)
        if (h->added[i].id < h->bpe.n_ids)
            h->is_added[h->added[i].id] = h->added[i].special ? 2 : 1;
    build_matchers(h);
    set_byte_tables(h);
    load_specials(h, tcfg, mcfg);
    return 0;
}

int hf_tokenizer_load_json(const char *json, size_t len, const char *config_json,
                           const char *name, struct hf_tokenizer **out, struct strbuf *err)
{
    json_error_t jerr;
    *out = NULL;
    json_t *root = json_loadb(json, len, JSON_ALLOW_NUL, &jerr), *tcfg = NULL;
    if (!json_is_object(root)) {
        sb_addf(err, "%s:%d:%d: %s", name, jerr.line, jerr.column,
                root ? "not a JSON object" : jerr.text);
        json_decref(root);
        return -1;
    }
    if (config_json)
        tcfg = json_loads(config_json, JSON_DECODE_INT_AS_REAL, &jerr);
    struct hf_tokenizer *h = xcalloc(1, sizeof(*h));
    int rc = load_all(h, root, json_is_object(tcfg) ? tcfg : NULL, NULL, name, err);
    json_decref(root);
    json_decref(tcfg);
    if (rc < 0) {
        hf_tokenizer_free(h);
        return -1;
    }
    *out = h;
    return 0;
}

/* dir/file as a JSON object, NULL when the file does not exist; -1 on a bad file. */
static int load_optional(const char *dir, const char *file, size_t flags, json_t **out,
                         struct strbuf *err)
{
    char *path = path_join(dir, file);
    json_error_t jerr;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    int rc = 0;
    if (f) {
        fclose(f);
        *out = json_load_file(path, JSON_ALLOW_NUL | flags, &jerr);
        if (!json_is_object(*out)) {
            sb_addf(err, "%s:%d:%d: %s", path, jerr.line, jerr.column,
                    *out ? "not a JSON object" : jerr.text);
            json_decref(*out);
            *out = NULL;
            rc = -1;
        }
    }
    free(path);
    return rc;
}

int hf_tokenizer_load(const char *dir, struct hf_tokenizer **out, struct strbuf *err)
{
    json_t *root = NULL, *tcfg = NULL, *mcfg = NULL;
    char *path = path_join(dir, "tokenizer.json");
    int rc = -1;
    *out = NULL;
    /* tokenizer_config.json may hold integers past 64 bits (model_max_length 1e30):
     * only its strings and booleans are read */
    if (load_optional(dir, "tokenizer.json", 0, &root, err) < 0 ||
        load_optional(dir, "tokenizer_config.json", JSON_DECODE_INT_AS_REAL, &tcfg, err) < 0 ||
        load_optional(dir, "config.json", 0, &mcfg, err) < 0)
        goto done;
    if (!root) {
        sb_addf(err, "%s: no such file", path);
        goto done;
    }
    struct hf_tokenizer *h = xcalloc(1, sizeof(*h));
    if (load_all(h, root, tcfg, mcfg, path, err) < 0) {
        hf_tokenizer_free(h);
        goto done;
    }
    *out = h;
    rc = 0;
done:
    json_decref(root);
    json_decref(tcfg);
    json_decref(mcfg);
    free(path);
    return rc;
}

int hf_vocab_size(const struct hf_tokenizer *h) { return h->bpe.n_ids; }
int hf_bos_id(const struct hf_tokenizer *h) { return h->bos; }
int hf_eos_id(const struct hf_tokenizer *h) { return h->eos; }
int hf_pad_id(const struct hf_tokenizer *h) { return h->pad; }

int hf_is_special(const struct hf_tokenizer *h, int id)
{
    return id >= 0 && id < h->bpe.n_ids && h->is_added[id] == 2;
}

void hf_tokenizer_free(struct hf_tokenizer *h)
{
    if (!h)
        return;
    hf_bpe_free(&h->bpe);
    for (int i = 0; i < h->n_added; i++) {
        free(h->added[i].content);
        free(h->added[i].norm);
    }
    free(h->added);
    free(h->is_added);
    for (int c = 0; c < 256; c++) {
        free(h->raw.list[c]);
        free(h->normd.list[c]);
    }
    hf_steps_free(h->norm, h->n_norm);
    hf_steps_free(h->pre, h->n_pre);
    hf_steps_free(h->dec, h->n_dec);
    for (int i = 0; i < h->n_tmpl; i++)
        free(h->tmpl[i].ids);
    free(h->tmpl);
    free(h);
}

/* ---- encoding ---- */

struct ids {
    int *v;
    size_t n, alloc;
};

static void ids_push(struct ids *o, int id)
{
    o->v = xgrow(o->v, o->n + 1, &o->alloc, sizeof(int));
    o->v[o->n++] = id;
}

/* A cache of pre-token -> ids for one encode call (direct-mapped). */
#define CACHE_SLOTS 8192
#define CACHE_MAX_KEY 64

struct cache_slot {
    uint64_t hash;
    unsigned key_len, n;           /* n == 0: empty */
    char key[CACHE_MAX_KEY];
    int *ids;
};

struct enc {
    const struct hf_tokenizer *h;
    struct ids out;
    struct cache_slot *cache;
    struct ids sym;                /* scratch symbols */
    struct strbuf mapped;          /* scratch: a byte-level piece in vocabulary form */
    void *regex_scratch;
};

/* The model on one pre-token. */
static void model_piece(struct enc *e, const char *s, size_t len)
{
    const struct hf_tokenizer *h = e->h;
    if (len == 0)
        return;
    struct cache_slot *slot = NULL;
    uint64_t hash = 0;
    if (len <= CACHE_MAX_KEY) {
        hash = hash64(s, len);
        if (!e->cache)
            e->cache = xcalloc(CACHE_SLOTS, sizeof(*e->cache));
        slot = &e->cache[hash & (CACHE_SLOTS - 1)];
        if (slot->n && slot->hash == hash && slot->key_len == len &&
            memcmp(slot->key, s, len) == 0) {
            for (unsigned i = 0; i < slot->n; i++)
                ids_push(&e->out, slot->ids[i]);
            return;
        }
    }
    e->sym.n = 0;
    if (h->ignore_merges) {
        int whole;
        if (h->byte_level) {
            sb_reset(&e->mapped);
            for (size_t i = 0; i < len; i++) {
                char buf[4];
                sb_add(&e->mapped, buf, hf_byte_char((unsigned char)s[i], buf));
            }
            whole = hf_bpe_lookup(&h->bpe, e->mapped.buf, e->mapped.len);
        } else {
            whole = hf_bpe_lookup(&h->bpe, s, len);
        }
        if (whole >= 0)
            ids_push(&e->sym, whole);
    }
    if (e->sym.n == 0) {
        if (h->byte_level) {
            for (size_t i = 0; i < len; i++)
                ids_push(&e->sym, h->byte_id[(unsigned char)s[i]]);
        } else {
            for (size_t i = 0; i < len;) {
                size_t k = hf_utf8_len(s + i, len - i);
                int id = hf_bpe_lookup(&h->bpe, s + i, k);
                int fb_ok = h->byte_fallback;
                for (size_t j = 0; id < 0 && fb_ok && j < k; j++)
                    fb_ok = h->byte_fb[(unsigned char)s[i + j]] >= 0;
                if (id >= 0)
                    ids_push(&e->sym, id);
                else if (fb_ok)
                    for (size_t j = 0; j < k; j++)
                        ids_push(&e->sym, h->byte_fb[(unsigned char)s[i + j]]);
                else if (h->unk_id >= 0 &&
                         !(h->fuse_unk && e->sym.n && e->sym.v[e->sym.n - 1] == h->unk_id))
                    ids_push(&e->sym, h->unk_id);
                i += k;
            }
        }
        e->sym.n = hf_bpe_merge(&h->bpe, e->sym.v, e->sym.n);
    }
    size_t k = 0;
    for (size_t i = 0; i < e->sym.n; i++)
        if (e->sym.v[i] >= 0)
            e->sym.v[k++] = e->sym.v[i];
    e->sym.n = k;
    for (size_t i = 0; i < e->sym.n; i++)
        ids_push(&e->out, e->sym.v[i]);
    if (slot) {
        free(slot->ids);
        slot->hash = hash;
        slot->key_len = (unsigned)len;
        memcpy(slot->key, s, len);
        slot->n = (unsigned)e->sym.n;
        slot->ids = xmalloc((e->sym.n + 1) * sizeof(int));
        memcpy(slot->ids, e->sym.v, e->sym.n * sizeof(int));
        if (slot->n == 0) {
            free(slot->ids);
            slot->ids = NULL;
        }
    }
}

static void piece_cb(void *ctx, const char *s, size_t len)
{
    model_piece(ctx, s, len);
}

/* A segment of text: [start, start+len), an added token (its index) or -1. */
struct seg {
    size_t start, len;
    int added;
};

struct segs {
    struct seg *v;
    size_t n, alloc;
};

static void seg_push(struct segs *s, size_t start, size_t len, int added)
{
    s->v = xgrow(s->v, s->n + 1, &s->alloc, sizeof(*s->v));
    s->v[s->n++] = (struct seg){ start, len, added };
}

/* Does added token a match text at pos (single_word: not inside a word)? */
static int added_at(const struct added *a, int use_norm, const char *text, size_t len,
                    size_t pos)
{
    const char *c = use_norm ? a->norm : a->content;
    size_t n = use_norm ? a->norm_len : a->len;
    if (n > len - pos || memcmp(text + pos, c, n) != 0)
        return 0;
    if (a->single_word && (hf_word_char_before(text, pos) || hf_word_char_at(text, len, pos + n)))
        return 0;
    return 1;
}

/* Split text by the matcher's tokens (longest at the leftmost position), then apply
 * lstrip/rstrip to the neighbors of each token found. */
static void split_added(const struct hf_tokenizer *h, const struct matcher *m,
                        const char *text, size_t len, struct segs *out)
{
    size_t gap = 0;
    out->n = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)text[i];
        int found = -1;
        for (int k = 0; k < m->n[c]; k++) {
            if (added_at(&h->added[m->list[c][k]], m->use_norm, text, len, i)) {
                found = m->list[c][k];
                break;
            }
        }
        if (found < 0) {
            i++;
            continue;
        }
        if (i > gap)
            seg_push(out, gap, i - gap, -1);
        size_t n = m->use_norm ? h->added[found].norm_len : h->added[found].len;
        seg_push(out, i, n, found);
        i += n;
        gap = i;
    }
    if (gap < len)
        seg_push(out, gap, len - gap, -1);
    for (size_t k = 0; k < out->n; k++) {
        if (out->v[k].added < 0)
            continue;
        const struct added *a = &h->added[out->v[k].added];
        if (a->lstrip && k > 0 && out->v[k - 1].added < 0)
            out->v[k - 1].len = hf_trim_end(text + out->v[k - 1].start, out->v[k - 1].len);
        if (a->rstrip && k + 1 < out->n && out->v[k + 1].added < 0) {
            size_t cut = hf_trim_start(text + out->v[k + 1].start, out->v[k + 1].len);
            out->v[k + 1].start += cut;
            out->v[k + 1].len -= cut;
        }
    }
}

static void encode_text(struct enc *e, const char *text, size_t len)
{
    const struct hf_tokenizer *h = e->h;
    struct segs outer = { 0 }, inner = { 0 };
    struct strbuf normed = STRBUF_INIT;
    split_added(h, &h->raw, text, len, &outer);
    for (size_t k = 0; k < outer.n; k++) {
        const struct seg *s = &outer.v[k];
        if (s->added >= 0) {
            ids_push(&e->out, h->added[s->added].id);
            continue;
        }
        if (s->len == 0)
            continue;
        sb_reset(&normed);
        hf_normalize(h->norm, h->n_norm, text + s->start, s->len, &normed);
        if (normed.len == 0)
            continue;
        split_added(h, &h->normd, normed.buf, normed.len, &inner);
        for (size_t j = 0; j < inner.n; j++) {
            const struct seg *t = &inner.v[j];
            if (t->added >= 0)
                ids_push(&e->out, h->added[t->added].id);
            else if (t->len > 0)
                hf_pre_tokenize(h->pre, h->n_pre, normed.buf + t->start, t->len, k == 0,
                                &e->regex_scratch, piece_cb, e);
        }
    }
    free(outer.v);
    free(inner.v);
    sb_free(&normed);
}

void hf_encode(const struct hf_tokenizer *h, const char *text, size_t len, int add_special,
               int **ids, size_t *n)
{
    struct enc e = { .h = h };
    struct enc *ep = &e;
    if (add_special && h->tmpl) {
        for (int i = 0; i < h->n_tmpl; i++) {
            if (h->tmpl[i].seq)
                encode_text(ep, text, len);
            for (int k = 0; k < h->tmpl[i].n; k++)
                ids_push(&e.out, h->tmpl[i].ids[k]);
        }
    } else {
        encode_text(ep, text, len);
    }
    if (e.cache) {
        for (size_t i = 0; i < CACHE_SLOTS; i++)
            free(e.cache[i].ids);
        free(e.cache);
    }
    free(e.sym.v);
    sb_free(&e.mapped);
    hf_regex_scratch_free(e.regex_scratch);
    if (!e.out.v)
        e.out.v = xmalloc(sizeof(int));
    *ids = e.out.v;
    *n = e.out.n;
}

/* ---- decoding ---- */

static const char *token_text(const struct hf_tokenizer *h, int id, size_t *len)
{
    *len = (size_t)h->bpe.token_len[id];
    return h->bpe.token[id] ? h->bpe.token[id] : "";
}

/* clean_up_tokenization: the replacements Hugging Face makes, in its order. */
static void clean_up(struct strbuf *sb)
{
    static const char *const from[] = { " .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's",
                                        " 've", " 're" };
    static const char *const to[] = { ".", "?", "!", ",", "'", "n't", "'m", "'s", "'ve", "'re" };
    for (size_t r = 0; r < sizeof(from) / sizeof(*from); r++)
        hf_replace_all(sb, from[r], to[r]);
}

int hf_decode(const struct hf_tokenizer *h, const int *ids, size_t n, int skip_special,
              struct strbuf *out)
{
    struct hf_tokens toks = { 0 };
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= h->bpe.n_ids) {
            hf_tokens_free(&toks);
            return -1;
        }
        if (skip_special && h->is_added[ids[i]] == 2)
            continue;
        size_t len;
        const char *t = token_text(h, ids[i], &len);
        hf_tokens_push(&toks, t, len, h->is_added[ids[i]] != 0);
    }
    struct strbuf text = STRBUF_INIT;
    hf_decode_chain(h->dec, h->n_dec, &toks, 1, &text);
    if (h->clean_up)
        clean_up(&text);
    sb_add(out, text.buf ? text.buf : "", text.len);
    sb_free(&text);
    hf_tokens_free(&toks);
    return 0;
}

int hf_decode_token(const struct hf_tokenizer *h, int id, int first, struct strbuf *out)
{
    if (id < 0 || id >= h->bpe.n_ids)
        return -1;
    struct hf_tokens toks = { 0 };
    size_t len;
    const char *t = token_text(h, id, &len);
    hf_tokens_push(&toks, t, len, h->is_added[id] != 0);
    hf_decode_chain(h->dec, h->n_dec, &toks, first, out);
    hf_tokens_free(&toks);
    return 0;
}
