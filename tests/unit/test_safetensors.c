/*
 * test_safetensors.c - unit tests for model/safetensors.c.
 *
 * A write/read round trip, F16/BF16 conversions, and one hand-made malformed file
 * per rule the reader enforces, each written as a small byte buffer under one
 * mkdtemp directory that is removed at the end.
 */
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "safetensors.h"
#include "testhelp.h"

static char tmp_root[PATH_MAX];

/* ---- helpers ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static char *tmp_path(const char *name)
{
    return path_join(tmp_root, name);
}

/* A file holding an 8-byte length prefix `hlen`, `header`, then data_len zero bytes. */
static char *write_raw(const char *name, uint64_t hlen, const char *header, size_t data_len)
{
    struct strbuf sb = STRBUF_INIT, err = STRBUF_INIT;
    char *path = tmp_path(name);
    for (int i = 0; i < 8; i++)
        sb_addc(&sb, (char)(hlen >> (8 * i)));
    sb_adds(&sb, header);
    for (size_t i = 0; i < data_len; i++)
        sb_addc(&sb, '\0');
    if (write_file_atomic(path, sb.buf, sb.len, &err) < 0)
        fprintf(stderr, "  setup: %s\n", sb_str(&err));
    sb_free(&sb);
    sb_free(&err);
    return path;
}

/* The same with the prefix matching the header. */
static char *write_st(const char *name, const char *header, size_t data_len)
{
    return write_raw(name, strlen(header), header, data_len);
}

/* sft_open must fail with a message containing every one of want[] (NULL-ended). */
static void expect_reject(const char *path, const char *const *want)
{
    struct sft_file f;
    struct strbuf err = STRBUF_INIT;
    int rc = sft_open(path, &f, &err);
    CHECK_INT(rc, -1);
    CHECK(f.n_tensors == 0 && f.path == NULL);
    for (int i = 0; want[i]; i++) {
        int found = strstr(sb_str(&err), want[i]) != NULL;
        CHECK(found);
        if (!found)
            fprintf(stderr, "    message: %s\n    missing: %s\n", sb_str(&err), want[i]);
    }
    sft_free(&f);
    sb_free(&err);
}

static int count_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* ---- tests ---- */

static void test_round_trip(void)
{
    float a[6] = { 1.5f, -2.25f, 3e-38f, 1e30f, -0.0f, 7.0f };
    float b[3] = { 0.1f, 0.2f, 0.3f };
    float s = 42.0f;
    struct sft_entry entries[] = {
        { "zeta.weight", 2, { 2, 3 }, a },
        { "alpha", 1, { 3 }, b },
        { "scalar", 0, { 0 }, &s },
        { "empty", 2, { 0, 5 }, NULL },
    };
    struct sft_meta meta[] = { { "format", "pt" }, { "note", "h\xc3\xa9llo \"q\"" } };
    struct strbuf err = STRBUF_INIT;
    char *path = tmp_path("rt.safetensors");
    int before = count_dir_entries(tmp_root);
    CHECK_INT(sft_write(path, entries, 4, meta, 2, &err), 0);
    CHECK_INT(count_dir_entries(tmp_root), before + 1);   /* no temporary left behind */

    struct sft_file f;
    CHECK_INT(sft_open(path, &f, &err), 0);
    CHECK_STR(sb_str(&err), "");
    CHECK_INT(f.n_tensors, 4);
    CHECK_INT(f.data_start % 8, 0);                       /* header padded to 8 */
    CHECK_INT(f.data_len, sizeof(a) + sizeof(b) + sizeof(s));
    CHECK_STR(f.tensors[0].name, "alpha");                /* sorted */
    CHECK_STR(f.tensors[3].name, "zeta.weight");
    CHECK_INT(f.tensors[0].begin, 0);                     /* data in name order */
    CHECK_STR(sft_meta_get(&f, "format"), "pt");
    CHECK_STR(sft_meta_get(&f, "note"), "h\xc3\xa9llo \"q\"");
    CHECK(sft_meta_get(&f, "absent") == NULL);

    float out[6];
    size_t shape23[] = { 2, 3 }, shape3[] = { 3 }, shape05[] = { 0, 5 };
    CHECK_INT(sft_read_f32_named(&f, "zeta.weight", shape23, 2, out, &err), 0);
    CHECK(memcmp(out, a, sizeof(a)) == 0);
    CHECK_INT(sft_read_f32_named(&f, "alpha", shape3, 1, out, &err), 0);
    CHECK(memcmp(out, b, sizeof(b)) == 0);
    CHECK_INT(sft_read_f32_named(&f, "scalar", NULL, 0, out, &err), 0);
    CHECK(out[0] == 42.0f);
    CHECK_INT(sft_read_f32_named(&f, "empty", shape05, 2, out, &err), 0);
    const struct sft_tensor *t = sft_find(&f, "zeta.weight");
    CHECK(t && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3 && t->numel == 6);
    CHECK(sft_find(&f, "nope") == NULL);

    /* copy-out refuses another shape, and a missing name */
    size_t shape32[] = { 3, 2 };
    CHECK_INT(sft_read_f32_named(&f, "zeta.weight", shape32, 2, out, &err), -1);
    CHECK(strstr(sb_str(&err), "shape [2, 3], expected [3, 2]") != NULL);
    CHECK(strstr(sb_str(&err), "zeta.weight") != NULL);
    sb_reset(&err);
    CHECK_INT(sft_read_f32_named(&f, "nope", shape3, 1, out, &err), -1);
    CHECK(strstr(sb_str(&err), "missing tensor 'nope'") != NULL);
    sft_free(&f);
    sb_free(&err);
    free(path);
}

static void test_writer_refuses(void)
{
    float x = 1;
    struct sft_entry dup[] = { { "a", 1, { 1 }, &x }, { "a", 1, { 1 }, &x } };
    struct sft_entry reserved[] = { { "__metadata__", 1, { 1 }, &x } };
    struct strbuf err = STRBUF_INIT;
    char *path = tmp_path("refused.safetensors");
    CHECK_INT(sft_write(path, dup, 2, NULL, 0, &err), -1);
    CHECK(strstr(sb_str(&err), "'a' appears twice") != NULL);
    sb_reset(&err);
    CHECK_INT(sft_write(path, reserved, 1, NULL, 0, &err), -1);
    CHECK(access(path, F_OK) != 0);
    sb_free(&err);
    free(path);
}

static void test_half_conversions(void)
{
    CHECK(sft_f16_to_f32(0x3C00) == 1.0f);
    CHECK(sft_f16_to_f32(0xC000) == -2.0f);
    CHECK(sft_f16_to_f32(0x7BFF) == 65504.0f);
    CHECK(sft_f16_to_f32(0x3555) == 0.333251953125f);
    CHECK(sft_f16_to_f32(0x0001) == 0x1p-24f);            /* smallest subnormal */
    CHECK(sft_f16_to_f32(0x03FF) == 1023 * 0x1p-24f);     /* largest subnormal */
    CHECK(sft_f16_to_f32(0x0400) == 0x1p-14f);            /* smallest normal */
    float nz = sft_f16_to_f32(0x8000);
    CHECK(nz == 0.0f && signbit(nz));
    CHECK(isinf(sft_f16_to_f32(0x7C00)) && sft_f16_to_f32(0x7C00) > 0);
    CHECK(isinf(sft_f16_to_f32(0xFC00)) && sft_f16_to_f32(0xFC00) < 0);
    CHECK(isnan(sft_f16_to_f32(0x7E00)));
    CHECK(sft_bf16_to_f32(0x3F80) == 1.0f);
    CHECK(sft_bf16_to_f32(0xC040) == -3.0f);
    CHECK(sft_bf16_to_f32(0x4049) == 3.140625f);
    CHECK(isinf(sft_bf16_to_f32(0x7F80)));
}

/* An F16 and a BF16 tensor in a real file, read back as float32. */
static void test_half_file(void)
{
    const char *hdr = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                      "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]}}";
    unsigned char data[8] = { 0x00, 0x3C, 0x00, 0xC0, 0x80, 0x3F, 0x49, 0x40 };
    struct strbuf sb = STRBUF_INIT, err = STRBUF_INIT;
    char *path = tmp_path("half.safetensors");
    uint64_t n = strlen(hdr);
    for (int i = 0; i < 8; i++)
        sb_addc(&sb, (char)(n >> (8 * i)));
    sb_adds(&sb, hdr);
    sb_add(&sb, data, sizeof(data));
    CHECK_INT(write_file_atomic(path, sb.buf, sb.len, &err), 0);
    struct sft_file f;
    float out[2];
    size_t shape[] = { 2 };
    CHECK_INT(sft_open(path, &f, &err), 0);
    CHECK_INT(sft_read_f32_named(&f, "h", shape, 1, out, &err), 0);
    CHECK(out[0] == 1.0f && out[1] == -2.0f);
    CHECK_INT(sft_read_f32_named(&f, "b", shape, 1, out, &err), 0);
    CHECK(out[0] == 1.0f && out[1] == 3.140625f);
    sft_free(&f);
    sb_free(&sb);
    sb_free(&err);
    free(path);
}

/* A known non-float dtype passes validation but cannot be read as float. */
static void test_int_dtype(void)
{
    char *path = write_st("i32.safetensors",
                          "{\"ids\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    struct sft_file f;
    struct strbuf err = STRBUF_INIT;
    float out[2];
    size_t shape[] = { 2 };
    CHECK_INT(sft_open(path, &f, &err), 0);
    CHECK_INT(sft_read_f32_named(&f, "ids", shape, 1, out, &err), -1);
    CHECK(strstr(sb_str(&err), "dtype I32 cannot be read as float32") != NULL);
    sft_free(&f);
    sb_free(&err);
    free(path);
}

#define T(name, rest) "{\"" name "\":{" rest "}}"

static void test_malformed(void)
{
    char *p;
    p = write_raw("short.st", 0, "", 0);
    CHECK_INT(truncate(p, 5), 0);
    expect_reject(p, (const char *const[]){ p, "truncated", NULL });
    free(p);
    p = write_raw("beyond.st", 1000, "{}", 0);
    expect_reject(p, (const char *const[]){ p, "header length 1000 exceeds the file size",
                                            NULL });
    free(p);
    p = write_raw("huge.st", (uint64_t)200 << 20, "{}", 0);
    expect_reject(p, (const char *const[]){ p, "100 MiB", NULL });
    free(p);
    p = write_st("badjson.st", "{\"a\": [1, 2", 0);
    expect_reject(p, (const char *const[]){ p, "not valid JSON", NULL });
    free(p);
    p = write_st("array.st", "[1, 2]", 0);
    expect_reject(p, (const char *const[]){ p, "not a JSON object", NULL });
    free(p);
    p = write_st("dupkey.st", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
                 "\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0);
    expect_reject(p, (const char *const[]){ p, "not valid JSON", "duplicate", NULL });
    free(p);
    p = write_st("range.st", T("w", "\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]"), 8);
    expect_reject(p, (const char *const[]){ p, "tensor 'w'",
                                            "[0, 16] lie outside the data section (8 bytes)",
                                            NULL });
    free(p);
    p = write_st("reversed.st", T("w", "\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]"),
                 8);
    expect_reject(p, (const char *const[]){ p, "tensor 'w'", "outside the data section", NULL });
    free(p);
    p = write_st("overlap.st",
                 "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
    expect_reject(p, (const char *const[]){ p, "tensor 'b'", "[4, 12] overlap tensor 'a' [0, 8]",
                                            NULL });
    free(p);
    p = write_st("size.st", T("w", "\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]"), 8);
    expect_reject(p, (const char *const[]){ p, "tensor 'w'",
                                            "hold 8 bytes, but shape [3] of F32 needs 12", NULL });
    free(p);
    p = write_st("dtype.st", T("w", "\"dtype\":\"F12\",\"shape\":[2],\"data_offsets\":[0,8]"), 8);
    expect_reject(p, (const char *const[]){ p, "tensor 'w'", "unknown dtype 'F12'", NULL });
    free(p);
    p = write_st("neg.st", T("w", "\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]"), 8);
    expect_reject(p, (const char *const[]){ p, "tensor 'w'", "non-negative", NULL });
    free(p);
    p = write_st("overflow.st", T("w", "\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],"
                                  "\"data_offsets\":[0,8]"), 8);
    expect_reject(p, (const char *const[]){ p, "tensor 'w'", "overflows", NULL });
    free(p);
    p = write_st("bytes-overflow.st", T("w", "\"dtype\":\"F32\",\"shape\":[4611686018427387904],"
                                        "\"data_offsets\":[0,8]"), 8);
    expect_reject(p, (const char *const[]){ p, "tensor 'w'", "overflows", NULL });
    free(p);
    p = write_st("float-shape.st", T("w", "\"dtype\":\"F32\",\"shape\":[2.0],"
                                     "\"data_offsets\":[0,8]"), 8);
    expect_reject(p, (const char *const[]){ p, "tensor 'w'", "non-negative integers", NULL });
    free(p);
    p = write_st("no-offsets.st", T("w", "\"dtype\":\"F32\",\"shape\":[2]"), 8);
    expect_reject(p, (const char *const[]){ p, "tensor 'w'", "data_offsets", NULL });
    free(p);
    p = write_st("meta.st", "{\"__metadata__\":{\"k\":3}}", 0);
    expect_reject(p, (const char *const[]){ p, "__metadata__", "'k'", NULL });
    free(p);
    p = tmp_path("does-not-exist.st");
    expect_reject(p, (const char *const[]){ "cannot open", p, NULL });
    free(p);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_root, sizeof(tmp_root), "%s/mainline-sft-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    TEST(test_round_trip);
    TEST(test_writer_refuses);
    TEST(test_half_conversions);
    TEST(test_half_file);
    TEST(test_int_dtype);
    TEST(test_malformed);
    if (!getenv("KEEP_TMP"))
        nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return test_report();
}
