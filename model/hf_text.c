/*
 * hf_text.c - normalizers, pre-tokenizers and decoders of tokenizer.json (see
 * hf_text.h).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "error.h"
#include "hf_text.h"

/* ---- UTF-8 ---- */

size_t hf_utf8_len(const char *s, size_t len)
{
    unsigned char c = (unsigned char)s[0];
    size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (k > len)
        return 1;
    for (size_t i = 1; i < k; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            return 1;
    return k;
}

/* The code point at s (k bytes from hf_utf8_len), or the byte itself. */
static int32_t cp_at(const char *s, size_t k)
{
    utf8proc_int32_t cp;
    if (utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)k, &cp) != (long)k)
        return (unsigned char)s[0];
    return cp;
}

static int js_space(int32_t c)
{
    return (c >= 9 && c <= 13) || c == ' ' || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

size_t hf_trim_start(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t k = hf_utf8_len(s + i, len - i);
        if (!js_space(cp_at(s + i, k)))
            break;
        i += k;
    }
    return i;
}

/* The start of the character that ends at end (end > 0). */
static size_t char_start_before(const char *s, size_t end)
{
    size_t i = end - 1;
    while (i > 0 && end - i < 4 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    if (hf_utf8_len(s + i, end - i) != end - i)
        return end - 1;
    return i;
}

size_t hf_trim_end(const char *s, size_t len)
{
    while (len > 0) {
        size_t i = char_start_before(s, len);
        if (!js_space(cp_at(s + i, len - i)))
            break;
        len = i;
    }
    return len;
}

static int word_cp(int32_t c)
{
    if (c == '_')
        return 1;
    utf8proc_category_t cat = utf8proc_category(c);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
           (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

int hf_word_char_before(const char *s, size_t pos)
{
    if (pos == 0)
        return 0;
    size_t i = char_start_before(s, pos);
    return word_cp(cp_at(s + i, pos - i));
}

int hf_word_char_at(const char *s, size_t len, size_t pos)
{
    if (pos >= len)
        return 0;
    return word_cp(cp_at(s + pos, hf_utf8_len(s + pos, len - pos)));
}

void hf_replace_all(struct strbuf *sb, const char *from, const char *to)
{
    size_t flen = strlen(from), tlen = strlen(to);
    if (!sb->buf || flen == 0 || !memmem(sb->buf, sb->len, from, flen))
        return;
    struct strbuf out = STRBUF_INIT;
    const char *p = sb->buf, *end = sb->buf + sb->len, *hit;
    while ((hit = memmem(p, (size_t)(end - p), from, flen)) != NULL) {
        sb_add(&out, p, (size_t)(hit - p));
        sb_add(&out, to, tlen);
        p = hit + flen;
    }
    sb_add(&out, p, (size_t)(end - p));
    sb_free(sb);
    *sb = out;
}

/* Append s with every occurrence of from (non-empty) replaced by to. */
static void add_replaced(struct strbuf *out, const char *s, size_t len, const char *from,
                         size_t flen, const char *to, size_t tlen)
{
    const char *p = s, *end = s + len, *hit;
    while (flen && (hit = memmem(p, (size_t)(end - p), from, flen)) != NULL) {
        sb_add(out, p, (size_t)(hit - p));
        sb_add(out, to, tlen);
        p = hit + flen;
    }
    sb_add(out, p, (size_t)(end - p));
}

/* ---- GPT-2's byte <-> character map ---- */

static int byte_cp(int b)
{
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))
        return b;
    int n = 0;                            /* the others, in byte order, from 256 */
    for (int x = 0; x < b; x++)
        if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255)))
            n++;
    return 256 + n;
}

size_t hf_byte_char(int b, char *buf)
{
    static int table[256];
    static int ready;
    if (!ready) {                         /* idempotent: racing threads write the same */
        for (int x = 0; x < 256; x++)
            table[x] = byte_cp(x);
        ready = 1;
    }
    return (size_t)utf8proc_encode_char(table[b], (utf8proc_uint8_t *)buf);
}

/* The byte of a ByteLevel character, or -1. */
static int char_byte(int32_t cp)
{
    static int inv[324];
    static int ready;
    if (!ready) {
        for (int i = 0; i < 324; i++)
            inv[i] = -1;
        for (int b = 0; b < 256; b++)
            inv[byte_cp(b)] = b;
        ready = 1;
    }
    return cp >= 0 && cp < 324 ? inv[cp] : -1;
}

/* ---- loading ---- */

static const char *str_of(json_t *o, const char *key, size_t *len)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return NULL;
    if (len)
        *len = json_string_length(v);
    return json_string_value(v);
}

static char *dup_n(const char *s, size_t len)
{
    char *d = xmalloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

/* A {"String": s} pattern into step->a; a {"Regex": r} one compiled when re_ok. */
static int load_pattern(json_t *cfg, struct hf_step *st, int re_ok, const char *what,
                        const char *name, struct strbuf *err)
{
    json_t *pat = json_object_get(cfg, "pattern");
    size_t len;
    const char *s = str_of(pat, "String", &len);
    if (s) {
        st->a = dup_n(s, len);
        st->alen = len;
        if (len == 0) {
            sb_addf(err, "%s: %s with an empty pattern", name, what);
            return -1;
        }
        if (!re_ok)
            return 0;
    } else if ((s = str_of(pat, "Regex", &len)) == NULL || !re_ok) {
        sb_addf(err, "%s: unsupported %s pattern (mainline supports %s)", name, what,
                re_ok ? "String and Regex" : "String");
        return -1;
    }
    int code;
    PCRE2_SIZE off;
    uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    opts |= str_of(pat, "String", NULL) ? PCRE2_LITERAL : PCRE2_UCP;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)s, len, opts, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof(msg));
        sb_addf(err, "%s: %s regex /%s/ at offset %zu: %s", name, what, s, (size_t)off,
                (const char *)msg);
        return -1;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);     /* optional: the interpreter is the same */
    st->re = re;
    return 0;
}

static const char *gpt2_regex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static int load_prepend_scheme(json_t *cfg, struct hf_step *st, const char *name,
                               struct strbuf *err)
{
    const char *ps = str_of(cfg, "prepend_scheme", NULL);
    if (!ps) {
        json_t *aps = json_object_get(cfg, "add_prefix_space");
        st->prepend_scheme = aps && json_is_false(aps) ? HF_PREPEND_NEVER : HF_PREPEND_ALWAYS;
    } else if (strcmp(ps, "always") == 0) {
        st->prepend_scheme = HF_PREPEND_ALWAYS;
    } else if (strcmp(ps, "first") == 0) {
        st->prepend_scheme = HF_PREPEND_FIRST;
    } else if (strcmp(ps, "never") == 0) {
        st->prepend_scheme = HF_PREPEND_NEVER;
    } else {
        sb_addf(err, "%s: unsupported Metaspace prepend_scheme \"%s\"", name, ps);
        return -1;
    }
    size_t len;
    const char *r = str_of(cfg, "replacement", &len);
    if (!r) {
        r = "\xe2\x96\x81";
        len = 3;
    }
    st->a = dup_n(r, len);
    st->alen = len;
    return 0;
}

/* A Replace normalizer or decoder: its pattern, and "content" put in each match's place. */
static int load_replace(json_t *cfg, struct hf_step *st, enum hf_step_type type, const char *what,
                        const char *name, struct strbuf *err)
{
    size_t len = 0;
    const char *c = str_of(cfg, "content", &len);
    st->type = type;
    st->b = dup_n(c ? c : "", len);
    st->blen = len;
    return load_pattern(cfg, st, 0, what, name, err);
}

static int load_normalizer(json_t *cfg, const char *type, struct hf_step *st,
                           const char *name, struct strbuf *err)
{
    if (strcmp(type, "NFC") == 0) {
        st->type = HF_NFC;
        return 0;
    }
    if (strcmp(type, "Replace") == 0)
        return load_replace(cfg, st, HF_REPLACE, "Replace normalizer", name, err);
    if (strcmp(type, "Prepend") == 0) {
        size_t len = 0;
        const char *p = str_of(cfg, "prepend", &len);
        st->type = HF_PREPEND;
        st->a = dup_n(p ? p : "", len);
        st->alen = len;
        return 0;
    }
    sb_addf(err, "%s: unsupported normalizer type \"%s\"", name, type);
    return -1;
}

static int load_pre_tokenizer(json_t *cfg, const char *type, struct hf_step *st,
                              const char *name, struct strbuf *err)
{
    if (strcmp(type, "Split") == 0) {
        static const char *const behaviors[] = { "Isolated", "Removed", "MergedWithPrevious",
                                                 "MergedWithNext" };
        const char *b = str_of(cfg, "behavior", NULL);
        st->type = HF_SPLIT;
        st->behavior = -1;
        for (int i = 0; b && i < 4; i++)
            if (strcmp(b, behaviors[i]) == 0)
                st->behavior = i;
        if (st->behavior < 0) {
            sb_addf(err, "%s: unsupported Split behavior \"%s\"", name, b ? b : "(none)");
            return -1;
        }
        if (json_is_true(json_object_get(cfg, "invert"))) {
            sb_addf(err, "%s: unsupported Split with \"invert\": true", name);
            return -1;
        }
        return load_pattern(cfg, st, 1, "Split", name, err);
    }
    if (strcmp(type, "ByteLevel") == 0) {
        json_t *ur = json_object_get(cfg, "use_regex");
        st->type = HF_BYTE_LEVEL;
        st->add_prefix_space = json_is_true(json_object_get(cfg, "add_prefix_space"));
        st->use_regex = !(ur && json_is_false(ur));
        if (st->use_regex) {
            json_t *pat = json_pack("{s:{s:s}}", "pattern", "Regex", gpt2_regex);
            int rc = load_pattern(pat, st, 1, "ByteLevel", name, err);
            json_decref(pat);
            return rc;
        }
        return 0;
    }
    if (strcmp(type, "Metaspace") == 0) {
        json_t *sp = json_object_get(cfg, "split");
        st->type = HF_METASPACE;
        st->split = !(sp && json_is_false(sp));
        return load_prepend_scheme(cfg, st, name, err);
    }
    sb_addf(err, "%s: unsupported pre_tokenizer type \"%s\"", name, type);
    return -1;
}

static int load_decoder(json_t *cfg, const char *type, struct hf_step *st, const char *name,
                        struct strbuf *err)
{
    if (strcmp(type, "ByteLevel") == 0) {
        st->type = HF_DEC_BYTE_LEVEL;
        return 0;
    }
    if (strcmp(type, "ByteFallback") == 0) {
        st->type = HF_DEC_BYTE_FALLBACK;
        return 0;
    }
    if (strcmp(type, "Fuse") == 0) {
        st->type = HF_DEC_FUSE;
        return 0;
    }
    if (strcmp(type, "Replace") == 0)
        return load_replace(cfg, st, HF_DEC_REPLACE, "Replace decoder", name, err);
    if (strcmp(type, "Strip") == 0) {
        size_t len = 0;
        const char *c = str_of(cfg, "content", &len);
        json_t *start = json_object_get(cfg, "start"), *stop = json_object_get(cfg, "stop");
        st->type = HF_DEC_STRIP;
        if (!c || len == 0 || hf_utf8_len(c, len) != len) {
            sb_addf(err, "%s: Strip decoder content must be one character", name);
            return -1;
        }
        st->a = dup_n(c, len);
        st->alen = len;
        st->start = json_is_integer(start) ? (int)json_integer_value(start) : 0;
        st->stop = json_is_integer(stop) ? (int)json_integer_value(stop) : 0;
        return 0;
    }
    if (strcmp(type, "Metaspace") == 0) {
        st->type = HF_DEC_METASPACE;
        return load_prepend_scheme(cfg, st, name, err);
    }
    sb_addf(err, "%s: unsupported decoder type \"%s\"", name, type);
    return -1;
}

int hf_steps_load(json_t *cfg, enum hf_step_kind kind, struct hf_step *steps, int *n, int max,
                  const char *name, struct strbuf *err)
{
    static const char *const what[] = { "normalizer", "pre_tokenizer", "decoder" };
    static const char *const list_key[] = { "normalizers", "pretokenizers", "decoders" };
    if (!cfg || json_is_null(cfg))
        return 0;
    const char *type = str_of(cfg, "type", NULL);
    if (!type) {
        sb_addf(err, "%s: a %s without a type", name, what[kind]);
        return -1;
    }
    if (strcmp(type, "Sequence") == 0) {
        json_t *list = json_object_get(cfg, list_key[kind]), *it;
        size_t i;
        if (!json_is_array(list)) {
            sb_addf(err, "%s: %s Sequence without \"%s\"", name, what[kind], list_key[kind]);
            return -1;
        }
        json_array_foreach(list, i, it) {
            if (hf_steps_load(it, kind, steps, n, max, name, err) < 0)
                return -1;
        }
        return 0;
    }
    if (*n >= max) {
        sb_addf(err, "%s: more than %d %s steps", name, max, what[kind]);
        return -1;
    }
    struct hf_step *st = &steps[(*n)++];
    memset(st, 0, sizeof(*st));
    if (kind == HF_NORMALIZER)
        return load_normalizer(cfg, type, st, name, err);
    if (kind == HF_PRE_TOKENIZER)
        return load_pre_tokenizer(cfg, type, st, name, err);
    return load_decoder(cfg, type, st, name, err);
}

void hf_steps_free(struct hf_step *steps, int n)
{
    for (int i = 0; i < n; i++) {
        free(steps[i].a);
        free(steps[i].b);
        pcre2_code_free(steps[i].re);
        memset(&steps[i], 0, sizeof(steps[i]));
    }
}

/* ---- normalizing ---- */

static void nfc(const char *s, size_t len, struct strbuf *out)
{
    /* Text of characters below U+0300 (lead bytes below 0xCC) is already NFC: they
     * all have NFC_Quick_Check=Yes and every canonical composition needs a second
     * character at U+0300 or above. */
    size_t i = 0;
    while (i < len && (unsigned char)s[i] < 0xCC)
        i++;
    if (i == len) {
        sb_add(out, s, len);
        return;
    }
    utf8proc_uint8_t *res = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &res,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (n < 0)
        sb_add(out, s, len);              /* not UTF-8: left as it is */
    else
        sb_add(out, res, (size_t)n);
    free(res);
}

void hf_normalize(const struct hf_step *steps, int n, const char *s, size_t len,
                  struct strbuf *out)
{
    struct strbuf cur = STRBUF_INIT, next = STRBUF_INIT;
    sb_add(&cur, s, len);
    for (int i = 0; i < n; i++) {
        const struct hf_step *st = &steps[i];
        sb_reset(&next);
        if (st->type == HF_NFC)
            nfc(cur.buf, cur.len, &next);
        else if (st->type == HF_REPLACE)
            add_replaced(&next, cur.buf, cur.len, st->a, st->alen, st->b, st->blen);
        else if (st->type == HF_PREPEND && cur.len > 0) {
            sb_add(&next, st->a, st->alen);
            sb_add(&next, cur.buf, cur.len);
        } else
            sb_add(&next, cur.buf, cur.len);
        struct strbuf t = cur;
        cur = next;
        next = t;
    }
    sb_add(out, cur.buf, cur.len);
    sb_free(&cur);
    sb_free(&next);
}

/* ---- pre-tokenizing ---- */

struct plist {
    struct strbuf text;
    size_t *off, *len;
    size_t n, alloc;
    int *starts_text;             /* the piece starts the section */
};

struct scratch {
    pcre2_match_data *md;
    struct plist a, b;
};

static void pl_reset(struct plist *p)
{
    sb_reset(&p->text);
    p->n = 0;
}

static void pl_push(struct plist *p, const char *s, size_t len, int starts)
{
    if (len == 0)
        return;
    if (p->n + 1 > p->alloc) {
        p->alloc = p->alloc ? 2 * p->alloc : 64;
        p->off = xrealloc(p->off, p->alloc * sizeof(size_t));
        p->len = xrealloc(p->len, p->alloc * sizeof(size_t));
        p->starts_text = xrealloc(p->starts_text, p->alloc * sizeof(int));
    }
    p->off[p->n] = p->text.len;
    p->len[p->n] = len;
    p->starts_text[p->n] = starts;
    p->n++;
    sb_add(&p->text, s, len);
}

static void pl_free(struct plist *p)
{
    sb_free(&p->text);
    free(p->off);
    free(p->len);
    free(p->starts_text);
}

void hf_regex_scratch_free(void *scratch)
{
    struct scratch *sc = scratch;
    if (!sc)
        return;
    pcre2_match_data_free(sc->md);
    pl_free(&sc->a);
    pl_free(&sc->b);
    free(sc);
}

/* The next match of re in s at or after *pos: 1 with [*ms, *me), 0 when none. */
static int next_match(const struct hf_step *st, struct scratch *sc, const char *s, size_t len,
                      size_t pos, size_t *ms, size_t *me)
{
    while (pos <= len) {
        int rc = pcre2_match(st->re, (PCRE2_SPTR)s, len, pos, 0, sc->md, NULL);
        if (rc < -1 && rc != PCRE2_ERROR_NOMATCH)
            rc = pcre2_match(st->re, (PCRE2_SPTR)s, len, pos, PCRE2_NO_JIT, sc->md, NULL);
        if (rc < 0)
            return 0;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sc->md);
        if (ov[1] > ov[0]) {
            *ms = ov[0];
            *me = ov[1];
            return 1;
        }
        if (ov[0] >= len)                  /* an empty match at the end */
            return 0;
        pos = ov[0] + hf_utf8_len(s + ov[0], len - ov[0]);
    }
    return 0;
}

static void split_piece(const struct hf_step *st, struct scratch *sc, const char *s,
                        size_t len, int starts, struct plist *out)
{
    size_t pos = 0, ms, me, pend = 0;      /* pend: start of text not yet pushed */
    while (next_match(st, sc, s, len, pos, &ms, &me)) {
        switch (st->behavior) {
        case HF_ISOLATED:
            pl_push(out, s + pend, ms - pend, starts && pend == 0);
            pl_push(out, s + ms, me - ms, starts && ms == 0);
            pend = me;
            break;
        case HF_REMOVED:
            pl_push(out, s + pend, ms - pend, starts && pend == 0);
            pend = me;
            break;
        case HF_MERGED_PREV:
            pl_push(out, s + pend, me - pend, starts && pend == 0);
            pend = me;
            break;
        case HF_MERGED_NEXT:
            pl_push(out, s + pend, ms - pend, starts && pend == 0);
            pend = ms;
            break;
        }
        pos = me;
    }
    pl_push(out, s + pend, len - pend, starts && pend == 0);
}

static void metaspace_piece(const struct hf_step *st, const char *s, size_t len, int starts,
                            int first_section, struct plist *out)
{
    struct strbuf t = STRBUF_INIT;
    int prepend = st->prepend_scheme == HF_PREPEND_ALWAYS ||
                  (st->prepend_scheme == HF_PREPEND_FIRST && first_section && starts);
    add_replaced(&t, s, len, " ", 1, st->a, st->alen);
    if (prepend && !(t.len >= st->alen && memcmp(t.buf, st->a, st->alen) == 0)) {
        struct strbuf u = STRBUF_INIT;
        sb_add(&u, st->a, st->alen);
        sb_add(&u, t.buf, t.len);
        sb_free(&t);
        t = u;
    }
    if (!st->split) {
        pl_push(out, t.buf, t.len, starts);
    } else {                              /* each piece starts at a replacement */
        size_t pend = 0;
        const char *hit;
        for (size_t pos = 1; pos < t.len &&
             (hit = memmem(t.buf + pos, t.len - pos, st->a, st->alen)) != NULL;) {
            size_t at = (size_t)(hit - t.buf);
            pl_push(out, t.buf + pend, at - pend, starts && pend == 0);
            pend = at;
            pos = at + st->alen;
        }
        pl_push(out, t.buf + pend, t.len - pend, starts && pend == 0);
    }
    sb_free(&t);
}

void hf_pre_tokenize(const struct hf_step *steps, int n, const char *s, size_t len,
                     int first_section, void **scratch,
                     void (*piece)(void *ctx, const char *s, size_t len), void *ctx)
{
    struct scratch *sc = *scratch;
    if (!sc) {
        sc = *scratch = xcalloc(1, sizeof(*sc));
        sc->md = pcre2_match_data_create(16, NULL);
    }
    struct plist *cur = &sc->a, *next = &sc->b;
    pl_reset(cur);
    pl_push(cur, s, len, 1);
    for (int i = 0; i < n; i++) {
        const struct hf_step *st = &steps[i];
        pl_reset(next);
        for (size_t k = 0; k < cur->n; k++) {
            const char *p = cur->text.buf + cur->off[k];
            size_t plen = cur->len[k];
            int starts = cur->starts_text[k];
            if (st->type == HF_SPLIT) {
                split_piece(st, sc, p, plen, starts, next);
            } else if (st->type == HF_METASPACE) {
                metaspace_piece(st, p, plen, starts, first_section, next);
            } else {                      /* ByteLevel: bytes stay bytes (the model maps) */
                struct strbuf t = STRBUF_INIT;
                if (st->add_prefix_space && p[0] != ' ')
                    sb_addc(&t, ' ');
                sb_add(&t, p, plen);
                if (st->use_regex) {
                    struct hf_step iso = *st;
                    iso.behavior = HF_ISOLATED;
                    split_piece(&iso, sc, t.buf, t.len, starts, next);
                } else {
                    pl_push(next, t.buf, t.len, starts);
                }
                sb_free(&t);
            }
        }
        struct plist *tmp = cur;
        cur = next;
        next = tmp;
    }
    for (size_t k = 0; k < cur->n; k++)
        piece(ctx, cur->text.buf + cur->off[k], cur->len[k]);
}

/* ---- decoding ---- */

void hf_tokens_push(struct hf_tokens *tk, const char *s, size_t len, int added)
{
    if (tk->n + 1 > tk->alloc) {
        tk->alloc = tk->alloc ? 2 * tk->alloc : 16;
        tk->t = xrealloc(tk->t, tk->alloc * sizeof(*tk->t));
        tk->added = xrealloc(tk->added, tk->alloc);
    }
    struct strbuf sb = STRBUF_INIT;
    sb_add(&sb, s, len);
    tk->t[tk->n] = sb;
    tk->added[tk->n] = (char)added;
    tk->n++;
}

void hf_tokens_free(struct hf_tokens *tk)
{
    for (size_t i = 0; i < tk->n; i++)
        sb_free(&tk->t[i]);
    free(tk->t);
    free(tk->added);
    memset(tk, 0, sizeof(*tk));
}

/* Append ByteLevel characters' bytes (other characters as they are). */
static void bytes_of_chars(const struct strbuf *t, struct strbuf *out)
{
    for (size_t i = 0; i < t->len;) {
        size_t k = hf_utf8_len(t->buf + i, t->len - i);
        int b = char_byte(cp_at(t->buf + i, k));
        if (b >= 0)
            sb_addc(out, (char)b);
        else
            sb_add(out, t->buf + i, k);
        i += k;
    }
}

static int fallback_byte(const struct strbuf *t)
{
    static const char hex[] = "0123456789ABCDEF";
    if (t->len != 6 || memcmp(t->buf, "<0x", 3) != 0 || t->buf[5] != '>')
        return -1;
    const char *h = strchr(hex, t->buf[3]), *l = strchr(hex, t->buf[4]);
    if (!h || !l || !t->buf[3] || !t->buf[4])
        return -1;
    return (int)(h - hex) * 16 + (int)(l - hex);
}

static void dec_step(const struct hf_step *st, struct hf_tokens *in, int first,
                     struct hf_tokens *out)
{
    struct strbuf cur = STRBUF_INIT;
    int have = 0;
    for (size_t i = 0; i < in->n; i++) {
        struct strbuf *t = &in->t[i];
        const char *p = t->buf ? t->buf : "";
        switch (st->type) {
        case HF_DEC_BYTE_LEVEL:
            if (in->added[i]) {
                if (have)
                    hf_tokens_push(out, cur.buf ? cur.buf : "", cur.len, 0);
                sb_reset(&cur);
                have = 0;
                hf_tokens_push(out, p, t->len, 1);
            } else {
                bytes_of_chars(t, &cur);
                have = 1;
            }
            break;
        case HF_DEC_BYTE_FALLBACK: {
            int b = fallback_byte(t);
            if (b >= 0) {
                sb_addc(&cur, (char)b);
                have = 1;
            } else {
                if (have)
                    hf_tokens_push(out, cur.buf, cur.len, 0);
                sb_reset(&cur);
                have = 0;
                hf_tokens_push(out, p, t->len, in->added[i]);
            }
            break;
        }
        case HF_DEC_FUSE:
            sb_add(&cur, p, t->len);
            have = 1;
            break;
        case HF_DEC_REPLACE: {
            struct strbuf r = STRBUF_INIT;
            add_replaced(&r, p, t->len, st->a, st->alen, st->b, st->blen);
            hf_tokens_push(out, r.buf ? r.buf : "", r.len, in->added[i]);
            sb_free(&r);
            break;
        }
        case HF_DEC_STRIP: {
            size_t a = 0, z = t->len;
            for (int k = 0; first && k < st->start && z - a >= st->alen &&
                 memcmp(p + a, st->a, st->alen) == 0; k++)
                a += st->alen;
            for (int k = 0; first && k < st->stop && z - a >= st->alen &&
                 memcmp(p + z - st->alen, st->a, st->alen) == 0; k++)
                z -= st->alen;
            hf_tokens_push(out, p + a, z - a, in->added[i]);
            break;
        }
        case HF_DEC_METASPACE: {
            struct strbuf r = STRBUF_INIT;
            add_replaced(&r, p, t->len, st->a, st->alen, " ", 1);
            size_t cut = i == 0 && first && st->prepend_scheme != HF_PREPEND_NEVER &&
                         r.len > 0 && r.buf[0] == ' ';
            hf_tokens_push(out, r.buf ? r.buf + cut : "", r.len - cut, in->added[i]);
            sb_free(&r);
            break;
        }
        default:
            hf_tokens_push(out, p, t->len, in->added[i]);
        }
    }
    if (have)
        hf_tokens_push(out, cur.buf ? cur.buf : "", cur.len, 0);
    sb_free(&cur);
}

void hf_decode_chain(const struct hf_step *steps, int n, struct hf_tokens *tk, int first,
                     struct strbuf *out)
{
    for (int i = 0; i < n; i++) {
        struct hf_tokens next = { 0 };
        dec_step(&steps[i], tk, first, &next);
        hf_tokens_free(tk);
        *tk = next;
    }
    for (size_t i = 0; i < tk->n; i++) {
        if (n == 0 && (i > 0 || !first))
            sb_addc(out, ' ');            /* no decoder: tokens joined by spaces */
        sb_add(out, tk->t[i].buf ? tk->t[i].buf : "", tk->t[i].len);
    }
}
