/* digest.c - streamed sha256 of files and buffers via OpenSSL's EVP interface. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "digest.h"

enum { DIGEST_CHUNK = 64 * 1024 };

static void hex_encode(const unsigned char *md, char out[SHA256_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[SHA256_HEX_LEN] = '\0';
}

void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL))
        die_oom("sha256 of %zu bytes", len);   /* it fails only to allocate its context */
    hex_encode(md, out);
}

struct sha256_stream {
    EVP_MD_CTX *ctx;
};

struct sha256_stream *sha256_begin(void)
{
    struct sha256_stream *s = xcalloc(1, sizeof(*s));
    if (!(s->ctx = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL))
        die_oom("a sha256 context");   /* it fails only to allocate */
    return s;
}

void sha256_add(struct sha256_stream *s, const void *data, size_t len)
{
    EVP_DigestUpdate(s->ctx, data, len);
}

void sha256_end(struct sha256_stream *s, char out[SHA256_HEX_LEN + 1])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(s->ctx, md, &mdlen);
    EVP_MD_CTX_free(s->ctx);
    free(s);
    hex_encode(md, out);
}

int is_sha256_hex(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        int ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!ok)
            return 0;
    }
    return n == SHA256_HEX_LEN;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Count non-blank lines across chunk boundaries: `in_line` carries whether the
 * current line has seen a non-space byte. */
static int64_t count_rows(const unsigned char *p, size_t n, int *in_line)
{
    int64_t rows = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            rows += *in_line;
            *in_line = 0;
        } else if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
            *in_line = 1;
        }
    }
    return rows;
}

int digest_file(const char *path, struct file_digest *out, struct strbuf *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        sb_addf(err, "cannot hash '%s': libcrypto has no sha256", path);
        EVP_MD_CTX_free(ctx);
        fclose(f);
        return -1;
    }
    static unsigned char buf[DIGEST_CHUNK];
    int jsonl = ends_with(path, ".jsonl");
    int in_line = 0;
    out->bytes = 0;
    out->rows = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        EVP_DigestUpdate(ctx, buf, n);
        out->bytes += (int64_t)n;
        if (jsonl)
            out->rows += count_rows(buf, n, &in_line);
    }
    int failed = ferror(f);
    int saved = errno;
    fclose(f);
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (failed) {
        sb_addf(err, "cannot read '%s': %s", path, strerror(saved));
        return -1;
    }
    hex_encode(md, out->sha256);
    out->rows = jsonl ? out->rows + in_line : -1;
    return 0;
}
