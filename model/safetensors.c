/*
 * safetensors.c - the safetensors reader and writer (see safetensors.h).
 *
 * Layout: u64le header length N | N bytes of JSON | data section. The JSON maps
 * each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}, offsets
 * relative to the data section, plus an optional "__metadata__" string map.
 * This file is not a tensor library and never maps or reads the data section
 * except to copy out one tensor on request.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fsutil.h"
#include "safetensors.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif

#define META_KEY "__metadata__"

static const struct {
    const char *name;
    size_t size;
} dtypes[SFT_DTYPE_COUNT] = {
    [SFT_F32] = { "F32", 4 }, [SFT_F16] = { "F16", 2 }, [SFT_BF16] = { "BF16", 2 },
    [SFT_F64] = { "F64", 8 }, [SFT_I64] = { "I64", 8 }, [SFT_U64] = { "U64", 8 },
    [SFT_I32] = { "I32", 4 }, [SFT_U32] = { "U32", 4 }, [SFT_I16] = { "I16", 2 },
    [SFT_U16] = { "U16", 2 }, [SFT_I8] = { "I8", 1 }, [SFT_U8] = { "U8", 1 },
    [SFT_BOOL] = { "BOOL", 1 }, [SFT_F8_E4M3] = { "F8_E4M3", 1 },
    [SFT_F8_E5M2] = { "F8_E5M2", 1 },
};

const char *sft_dtype_name(enum sft_dtype d)
{
    return d < SFT_DTYPE_COUNT ? dtypes[d].name : "?";
}

size_t sft_dtype_size(enum sft_dtype d)
{
    return d < SFT_DTYPE_COUNT ? dtypes[d].size : 0;
}

static int dtype_from_name(const char *s, enum sft_dtype *out)
{
    for (int d = 0; d < SFT_DTYPE_COUNT; d++) {
        if (strcmp(s, dtypes[d].name) == 0) {
            *out = (enum sft_dtype)d;
            return 0;
        }
    }
    return -1;
}

/* ---- float conversions ---- */

static float f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

float sft_bf16_to_f32(uint16_t h)
{
    return f32_from_bits((uint32_t)h << 16);
}

/* IEEE half: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Exact in float32. */
float sft_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0x1f)                     /* inf or nan, keep the payload */
        return f32_from_bits(sign | 0x7f800000u | (mant << 13));
    if (exp != 0)                        /* normal: rebias 15 -> 127 */
        return f32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
    float v = (float)mant * (1.0f / 16777216.0f);   /* subnormal: mant * 2^-24 */
    return sign ? -v : v;
}

/* ---- low-level I/O ---- */

/* Read exactly len bytes at off; -1 with errno set (0 on a short file). */
static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = 0;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static const char *io_reason(void)
{
    return errno ? strerror(errno) : "unexpected end of file";
}

/* ---- header parsing ---- */

static void shape_str(struct strbuf *sb, const size_t *shape, int ndim)
{
    sb_addc(sb, '[');
    for (int i = 0; i < ndim; i++)
        sb_addf(sb, "%s%zu", i ? ", " : "", shape[i]);
    sb_addc(sb, ']');
}

static int json_size(json_t *v, size_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (size_t)json_integer_value(v);
    return 0;
}

static int parse_shape(struct sft_tensor *t, json_t *shape, const char **why)
{
    size_t n = json_array_size(shape);
    if (!json_is_array(shape) || n > SFT_MAX_DIMS) {
        *why = json_is_array(shape) ? "has too many dimensions" : "shape is not an array";
        return -1;
    }
    t->ndim = (int)n;
    t->numel = 1;
    for (size_t i = 0; i < n; i++) {
        if (json_size(json_array_get(shape, i), &t->shape[i]) < 0) {
            *why = "shape entries must be non-negative integers";
            return -1;
        }
        if (__builtin_mul_overflow(t->numel, t->shape[i], &t->numel)) {
            *why = "shape product overflows";
            return -1;
        }
    }
    return 0;
}

/* data_offsets of t: inside the data section and exactly numel * dtype size long.
 * On failure the reason goes to why. */
static int parse_offsets(const struct sft_file *f, struct sft_tensor *t, json_t *offs,
                         struct strbuf *why)
{
    size_t bytes;
    if (!json_is_array(offs) || json_array_size(offs) != 2 ||
        json_size(json_array_get(offs, 0), &t->begin) < 0 ||
        json_size(json_array_get(offs, 1), &t->end) < 0) {
        sb_adds(why, "data_offsets must be two non-negative integers");
        return -1;
    }
    if (t->begin > t->end || t->end > f->data_len) {
        sb_addf(why, "data_offsets [%zu, %zu] lie outside the data section (%llu bytes)",
                t->begin, t->end, (unsigned long long)f->data_len);
        return -1;
    }
    if (__builtin_mul_overflow(t->numel, dtypes[t->dtype].size, &bytes)) {
        sb_adds(why, "shape product overflows");
        return -1;
    }
    if (t->end - t->begin != bytes) {
        sb_addf(why, "data_offsets [%zu, %zu] hold %zu bytes, but shape ", t->begin, t->end,
                t->end - t->begin);
        shape_str(why, t->shape, t->ndim);
        sb_addf(why, " of %s needs %zu", dtypes[t->dtype].name, bytes);
        return -1;
    }
    return 0;
}

static int parse_tensor(struct sft_file *f, const char *name, json_t *v, struct strbuf *err)
{
    struct sft_tensor *t = &f->tensors[f->n_tensors];
    struct strbuf why = STRBUF_INIT;
    const char *shape_why = NULL;
    json_t *dt = json_object_get(v, "dtype");
    memset(t, 0, sizeof(*t));
    if (!json_is_object(v))
        sb_adds(&why, "entry is not an object");
    else if (!json_is_string(dt))
        sb_adds(&why, "dtype is missing or not a string");
    else if (dtype_from_name(json_string_value(dt), &t->dtype) < 0)
        sb_addf(&why, "unknown dtype '%s'", json_string_value(dt));
    else if (parse_shape(t, json_object_get(v, "shape"), &shape_why) < 0)
        sb_adds(&why, shape_why);
    else
        parse_offsets(f, t, json_object_get(v, "data_offsets"), &why);
    int rc = why.len ? -1 : 0;
    if (rc < 0)
        sb_addf(err, "%s: tensor '%s': %s", f->path, name, why.buf);
    else
        t->name = xstrdup(name);
    f->n_tensors += rc == 0;
    sb_free(&why);
    return rc;
}

static int parse_meta(struct sft_file *f, json_t *v, struct strbuf *err)
{
    const char *key;
    json_t *val;
    if (!json_is_object(v)) {
        sb_addf(err, "%s: %s is not an object", f->path, META_KEY);
        return -1;
    }
    f->meta = xcalloc(json_object_size(v) + 1, sizeof(*f->meta));
    json_object_foreach(v, key, val) {
        if (!json_is_string(val)) {
            sb_addf(err, "%s: %s value for '%s' is not a string", f->path, META_KEY, key);
            return -1;
        }
        f->meta[f->n_meta].key = xstrdup(key);
        f->meta[f->n_meta].value = xstrdup(json_string_value(val));
        f->n_meta++;
    }
    return 0;
}

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp(((const struct sft_tensor *)a)->name, ((const struct sft_tensor *)b)->name);
}

static int cmp_meta_key(const void *a, const void *b)
{
    return strcmp(((const struct sft_meta *)a)->key, ((const struct sft_meta *)b)->key);
}

static int cmp_tensor_begin(const void *a, const void *b)
{
    const struct sft_tensor *x = *(const struct sft_tensor *const *)a;
    const struct sft_tensor *y = *(const struct sft_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* No two non-empty byte ranges may share a byte. */
static int check_overlaps(const struct sft_file *f, struct strbuf *err)
{
    const struct sft_tensor **by_begin = xcalloc(f->n_tensors + 1, sizeof(*by_begin));
    const struct sft_tensor *reach = NULL;   /* non-empty tensor ending furthest so far */
    int rc = 0;
    for (size_t i = 0; i < f->n_tensors; i++)
        by_begin[i] = &f->tensors[i];
    qsort(by_begin, f->n_tensors, sizeof(*by_begin), cmp_tensor_begin);
    for (size_t i = 0; i < f->n_tensors && rc == 0; i++) {
        const struct sft_tensor *t = by_begin[i];
        if (t->begin == t->end)
            continue;
        if (reach && t->begin < reach->end) {
            sb_addf(err, "%s: tensor '%s': data_offsets [%zu, %zu] overlap tensor '%s' "
                    "[%zu, %zu]", f->path, t->name, t->begin, t->end, reach->name,
                    reach->begin, reach->end);
            rc = -1;
        }
        if (!reach || t->end > reach->end)
            reach = t;
    }
    free(by_begin);
    return rc;
}

static int parse_header(struct sft_file *f, const char *text, size_t len, struct strbuf *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *key;
    json_t *v;
    int rc = 0;
    if (!json_is_object(root)) {
        if (root)
            sb_addf(err, "%s: header is not a JSON object", f->path);
        else
            sb_addf(err, "%s: header is not valid JSON: %s (at byte %d)", f->path, jerr.text,
                    jerr.position);
        json_decref(root);
        return -1;
    }
    f->tensors = xcalloc(json_object_size(root) + 1, sizeof(*f->tensors));
    json_object_foreach(root, key, v) {
        if (strcmp(key, META_KEY) == 0)
            rc = parse_meta(f, v, err);
        else
            rc = parse_tensor(f, key, v, err);
        if (rc < 0)
            break;
    }
    json_decref(root);
    if (rc < 0)
        return -1;
    qsort(f->tensors, f->n_tensors, sizeof(*f->tensors), cmp_tensor_name);
    if (f->meta)
        qsort(f->meta, f->n_meta, sizeof(*f->meta), cmp_meta_key);
    return check_overlaps(f, err);
}

/* Read the length prefix and the header text. Caller frees *text. */
static int read_header(struct sft_file *f, char **text, uint64_t *hlen, struct strbuf *err)
{
    struct stat st;
    unsigned char prefix[8];
    uint64_t n = 0;
    if (fstat(f->fd, &st) < 0) {
        sb_addf(err, "%s: cannot stat: %s", f->path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        sb_addf(err, "%s: not a regular file", f->path);
        return -1;
    }
    if (st.st_size < 8 || pread_full(f->fd, prefix, 8, 0) < 0) {
        sb_addf(err, "%s: truncated: no 8-byte header length", f->path);
        return -1;
    }
    for (int i = 7; i >= 0; i--)
        n = n << 8 | prefix[i];
    if (n > SFT_MAX_HEADER || n > (uint64_t)st.st_size - 8) {
        sb_addf(err, "%s: header length %llu exceeds %s", f->path, (unsigned long long)n,
                n > SFT_MAX_HEADER ? "the 100 MiB limit" : "the file size");
        return -1;
    }
    *text = xmalloc((size_t)n + 1);
    if (pread_full(f->fd, *text, (size_t)n, 8) < 0) {
        sb_addf(err, "%s: cannot read the header: %s", f->path, io_reason());
        free(*text);
        *text = NULL;
        return -1;
    }
    *hlen = n;
    f->data_start = 8 + n;
    f->data_len = (uint64_t)st.st_size - 8 - n;
    return 0;
}

int sft_open(const char *path, struct sft_file *f, struct strbuf *err)
{
    char *text = NULL;
    uint64_t hlen = 0;
    memset(f, 0, sizeof(*f));
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    f->path = xstrdup(path);
    int rc = read_header(f, &text, &hlen, err);
    if (rc == 0)
        rc = parse_header(f, text, (size_t)hlen, err);
    free(text);
    if (rc < 0)
        sft_free(f);
    return rc;
}

void sft_free(struct sft_file *f)
{
    if (f->path && f->fd >= 0)
        close(f->fd);
    for (size_t i = 0; i < f->n_tensors; i++)
        free(f->tensors[i].name);
    for (size_t i = 0; i < f->n_meta; i++) {
        free((char *)f->meta[i].key);
        free((char *)f->meta[i].value);
    }
    free(f->tensors);
    free(f->meta);
    free(f->path);
    memset(f, 0, sizeof(*f));
    f->fd = -1;
}

/* ---- lookups and copy-out ---- */

const struct sft_tensor *sft_find(const struct sft_file *f, const char *name)
{
    size_t lo = 0, hi = f->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, f->tensors[mid].name);
        if (c == 0)
            return &f->tensors[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *sft_meta_get(const struct sft_file *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++) {
        if (strcmp(f->meta[i].key, key) == 0)
            return f->meta[i].value;
    }
    return NULL;
}

static int shape_equal(const struct sft_tensor *t, const size_t *shape, int ndim)
{
    if (t->ndim != ndim)
        return 0;
    for (int i = 0; i < ndim; i++) {
        if (t->shape[i] != shape[i])
            return 0;
    }
    return 1;
}

/* Read a 16-bit tensor in chunks and widen each element. */
static int read_half(const struct sft_file *f, const struct sft_tensor *t, float *out)
{
    enum { CHUNK = 8192 };
    uint16_t buf[CHUNK];
    uint64_t off = f->data_start + t->begin;
    for (size_t done = 0; done < t->numel;) {
        size_t n = t->numel - done < CHUNK ? t->numel - done : CHUNK;
        if (pread_full(f->fd, buf, n * 2, off) < 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            out[done + i] = t->dtype == SFT_F16 ? sft_f16_to_f32(buf[i])
                                                : sft_bf16_to_f32(buf[i]);
        done += n;
        off += n * 2;
    }
    return 0;
}

int sft_check_f32(const struct sft_file *f, const struct sft_tensor *t, const size_t *shape,
                  int ndim, struct strbuf *err)
{
    if (!shape_equal(t, shape, ndim)) {
        sb_addf(err, "%s: tensor '%s': shape ", f->path, t->name);
        shape_str(err, t->shape, t->ndim);
        sb_adds(err, ", expected ");
        shape_str(err, shape, ndim);
        return -1;
    }
    if (t->dtype != SFT_F32 && t->dtype != SFT_F16 && t->dtype != SFT_BF16) {
        sb_addf(err, "%s: tensor '%s': dtype %s cannot be read as float32", f->path, t->name,
                sft_dtype_name(t->dtype));
        return -1;
    }
    return 0;
}

int sft_read_f32(const struct sft_file *f, const struct sft_tensor *t, const size_t *shape,
                 int ndim, float *out, struct strbuf *err)
{
    int rc;
    if (sft_check_f32(f, t, shape, ndim, err) < 0)
        return -1;
    if (t->dtype == SFT_F32)
        rc = pread_full(f->fd, out, t->end - t->begin, f->data_start + t->begin);
    else
        rc = read_half(f, t, out);
    if (rc < 0)
        sb_addf(err, "%s: tensor '%s': cannot read: %s", f->path, t->name, io_reason());
    return rc;
}

int sft_read_f32_named(const struct sft_file *f, const char *name, const size_t *shape,
                       int ndim, float *out, struct strbuf *err)
{
    const struct sft_tensor *t = sft_find(f, name);
    if (!t) {
        sb_addf(err, "%s: missing tensor '%s'", f->path, name);
        return -1;
    }
    return sft_read_f32(f, t, shape, ndim, out, err);
}

/* ---- writer ---- */

static int entry_bytes(const struct sft_entry *e, size_t *bytes)
{
    size_t n = 1;
    if (e->ndim < 0 || e->ndim > SFT_MAX_DIMS)
        return -1;
    for (int i = 0; i < e->ndim; i++) {
        if (__builtin_mul_overflow(n, e->shape[i], &n))
            return -1;
    }
    return __builtin_mul_overflow(n, sizeof(float), bytes) ? -1 : 0;
}

/* Bytes of an entry already checked by sort_entries(). */
static size_t entry_nbytes(const struct sft_entry *e)
{
    size_t bytes = 0;
    return entry_bytes(e, &bytes) == 0 ? bytes : 0;
}

static json_t *entry_json(const struct sft_entry *e, size_t begin, size_t end)
{
    json_t *shape = json_array();
    for (int i = 0; i < e->ndim; i++)
        json_array_append_new(shape, json_integer((json_int_t)e->shape[i]));
    return json_pack("{s:s, s:o, s:[I, I]}", "dtype", "F32", "shape", shape, "data_offsets",
                     (json_int_t)begin, (json_int_t)end);
}

static json_t *meta_json(const struct sft_meta *meta, size_t n_meta, struct strbuf *err)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < n_meta; i++) {
        json_t *v = json_string(meta[i].value);
        if (!v || json_object_get(obj, meta[i].key) ||
            json_object_set_new(obj, meta[i].key, v) < 0) {
            sb_addf(err, "metadata key '%s' is duplicated or not valid UTF-8", meta[i].key);
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

static int cmp_entry_ptr(const void *a, const void *b)
{
    const struct sft_entry *x = *(const struct sft_entry *const *)a;
    const struct sft_entry *y = *(const struct sft_entry *const *)b;
    return strcmp(x->name, y->name);
}

/* Check the entries and sort pointers to them by name into order[]. */
static int sort_entries(const struct sft_entry *entries, size_t n,
                        const struct sft_entry **order, struct strbuf *err)
{
    for (size_t i = 0; i < n; i++) {
        size_t bytes;
        order[i] = &entries[i];
        if (!entries[i].name || !*entries[i].name || !strcmp(entries[i].name, META_KEY)) {
            sb_addf(err, "tensor %zu has an empty or reserved name", i);
            return -1;
        }
        if (entry_bytes(&entries[i], &bytes) < 0 || (bytes && !entries[i].data)) {
            sb_addf(err, "tensor '%s': bad shape or no data", entries[i].name);
            return -1;
        }
    }
    qsort(order, n, sizeof(*order), cmp_entry_ptr);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(order[i - 1]->name, order[i]->name) == 0) {
            sb_addf(err, "tensor '%s' appears twice", order[i]->name);
            return -1;
        }
    }
    return 0;
}

/* The padded header text with its 8-byte length prefix, in *out. */
static int build_header(const struct sft_entry **order, size_t n, const struct sft_meta *meta,
                        size_t n_meta, struct strbuf *out, struct strbuf *err)
{
    json_t *root = json_object();
    size_t off = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t bytes = entry_nbytes(order[i]);
        json_t *e = entry_json(order[i], off, off + bytes);
        rc = e ? json_object_set_new(root, order[i]->name, e) : -1;
        if (rc < 0)
            sb_addf(err, "tensor '%s': name is not valid UTF-8", order[i]->name);
        off += bytes;
    }
    if (rc == 0 && n_meta > 0) {
        json_t *m = meta_json(meta, n_meta, err);
        rc = m ? json_object_set_new(root, META_KEY, m) : -1;
    }
    char *text = rc == 0 ? json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(root);
    if (!text) {
        if (rc == 0)
            sb_adds(err, "cannot encode the JSON header");
        return -1;
    }
    size_t len = strlen(text), padded = (len + 7) / 8 * 8;
    unsigned char prefix[8];
    for (int i = 0; i < 8; i++)
        prefix[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    sb_add(out, prefix, 8);
    sb_add(out, text, len);
    while (out->len < 8 + padded)
        sb_addc(out, ' ');
    free(text);
    return 0;
}

/* Header then data, streamed: a model need not fit in one more buffer. */
static int write_stream_atomic(const char *path, const struct strbuf *header,
                               const struct sft_entry **order, size_t n, struct strbuf *err)
{
    struct atomic_file af;
    if (atomic_open(&af, path, err) < 0)
        return -1;
    atomic_write(&af, header->buf, header->len);
    for (size_t i = 0; i < n; i++) {
        size_t bytes = entry_nbytes(order[i]);
        if (bytes)
            atomic_write(&af, order[i]->data, bytes);
    }
    return atomic_commit(&af, err);
}

int sft_write(const char *path, const struct sft_entry *entries, size_t n,
              const struct sft_meta *meta, size_t n_meta, struct strbuf *err)
{
    const struct sft_entry **order = xcalloc(n + 1, sizeof(*order));
    struct strbuf header = STRBUF_INIT;
    struct strbuf why = STRBUF_INIT;
    int rc = sort_entries(entries, n, order, &why);
    if (rc == 0)
        rc = build_header(order, n, meta, n_meta, &header, &why);
    if (rc < 0)
        sb_addf(err, "cannot write '%s': %s", path, sb_str(&why));
    else
        rc = write_stream_atomic(path, &header, order, n, err);
    sb_free(&why);
    sb_free(&header);
    free(order);
    return rc;
}
