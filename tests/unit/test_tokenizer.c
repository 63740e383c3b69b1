/*
 * test_tokenizer.c - unit tests for model/tokenizer.c.
 *
 * With the real llama2.c tok512.bin (stories260k.h says where): the known encoding from the shared README,
 * decode(encode(s)) == s for ASCII, UTF-8, bytes outside the vocabulary and
 * invalid UTF-8, and the heap-based merge against a literal transcription of
 * run.c's quadratic loop on random text. Without the shared models those tests
 * are skipped with a "skip:" line and the byte-level tests still run.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "model_io.h"
#include "stories260k.h"
#include "testhelp.h"
#include "tokenizer.h"

static char shared_dir[PATH_MAX];   /* .../models/stories260K, "" when absent */

/* ---- helpers ---- */

static int load_tok512(struct tokenizer *tok)
{
    struct strbuf err = STRBUF_INIT;
    char *path = path_join(shared_dir, "tok512.bin");
    int rc = tokenizer_load_llama2c(path, 512, tok, &err);
    if (rc < 0)
        fprintf(stderr, "  %s\n", sb_str(&err));
    free(path);
    sb_free(&err);
    return rc;
}

/* Decode ids[0..n) the way a generation loop would, each after its predecessor. */
static void decode_all(const struct tokenizer *tok, const int *ids, size_t n,
                       struct strbuf *out)
{
    for (size_t i = 0; i < n; i++)
        CHECK_INT(tokenizer_decode_append(tok, i ? ids[i - 1] : -1, ids[i], out), 0);
}

static void check_round_trip(const struct tokenizer *tok, const char *s, size_t len)
{
    int *ids;
    size_t n;
    struct strbuf out = STRBUF_INIT;
    CHECK_INT(tokenizer_encode(tok, s, len, 1, 1, &ids, &n), 0);
    CHECK_INT(ids[0], tok->bos_id);
    CHECK_INT(ids[n - 1], tok->eos_id);
    decode_all(tok, ids, n, &out);
    int same = out.len == len && memcmp(out.buf ? out.buf : "", s, len) == 0;
    CHECK(same);
    if (!same)
        fprintf(stderr, "    round trip of '%.*s' gave '%s'\n", (int)len, s, sb_str(&out));
    free(ids);
    sb_free(&out);
}

/* The id of piece s[0..len) by linear scan, -1 if none. */
static int linear_lookup(const struct tokenizer *tok, const char *s, size_t len)
{
    for (int id = 0; id < tok->vocab_size; id++) {
        if ((size_t)tok->piece_len[id] == len && memcmp(tok->pieces[id], s, len) == 0)
            return id;
    }
    return -1;
}

/* run.c's merge loop, transcribed literally: rescan every pair after each merge. */
static size_t reference_merge(const struct tokenizer *tok, int *ids, size_t n)
{
    char buf[64];
    for (;;) {
        float best = -1e10f;
        int best_id = -1;
        size_t best_i = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            int a = ids[i], b = ids[i + 1];
            memcpy(buf, tok->pieces[a], (size_t)tok->piece_len[a]);
            memcpy(buf + tok->piece_len[a], tok->pieces[b], (size_t)tok->piece_len[b]);
            int id = linear_lookup(tok, buf, (size_t)(tok->piece_len[a] + tok->piece_len[b]));
            if (id >= 0 && tok->scores[id] > best) {
                best = tok->scores[id];
                best_id = id;
                best_i = i;
            }
        }
        if (best_id < 0)
            return n;
        ids[best_i] = best_id;
        memmove(ids + best_i + 1, ids + best_i + 2, (n - best_i - 2) * sizeof(int));
        n--;
    }
}

/* run.c's encode(text, bos=1, eos=0) for a NUL-terminated text, transcribed. */
static size_t reference_encode(const struct tokenizer *tok, const char *text, int *ids)
{
    char buf[8];
    size_t n = 0, str_len = 0;
    ids[n++] = 1;
    if (text[0] != '\0')
        ids[n++] = linear_lookup(tok, " ", 1);
    for (const char *c = text; *c != '\0'; c++) {
        if ((*c & 0xC0) != 0x80)
            str_len = 0;
        buf[str_len++] = *c;
        if ((*(c + 1) & 0xC0) == 0x80 && str_len < 4)
            continue;
        int id = linear_lookup(tok, buf, str_len);
        if (id != -1) {
            ids[n++] = id;
        } else {
            for (size_t i = 0; i < str_len; i++)
                ids[n++] = (unsigned char)buf[i] + 3;
        }
        str_len = 0;
    }
    return reference_merge(tok, ids, n);
}

/* ---- llama2.c tokenizer ---- */

static void test_known_encoding(void)
{
    struct tokenizer tok;
    int *ids;
    size_t n;
    if (load_tok512(&tok) < 0) {
        CHECK(0);
        return;
    }
    const char *s = "Once upon a time";
    CHECK_INT(tokenizer_encode(&tok, s, strlen(s), 1, 0, &ids, &n), 0);
    int want[] = { 1, 403, 407, 261, 378 };
    CHECK_INT(n, 5);
    CHECK(n == 5 && memcmp(ids, want, sizeof(want)) == 0);
    free(ids);
    CHECK_INT(tokenizer_encode(&tok, "", 0, 1, 1, &ids, &n), 0);   /* no dummy prefix */
    CHECK(n == 2 && ids[0] == 1 && ids[1] == 2);
    free(ids);
    CHECK_INT(tokenizer_encode(&tok, "a", 1, 0, 0, &ids, &n), 0);  /* " a" is a merge */
    CHECK(n == 1 && ids[0] == 261);
    free(ids);
    tokenizer_free(&tok);
}

static void test_round_trips(void)
{
    static const char *const texts[] = {
        "Once upon a time, there was a little girl named Lily.",
        "  two leading spaces and trailing ",
        "tabs\tand\nnewlines\r\n",
        "h\xc3\xa9llo w\xc3\xb6rld",                       /* UTF-8, maybe in the vocab */
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",           /* CJK: byte fallback */
        "emoji \xf0\x9f\x99\x82!",
        "\xff\xfe invalid \x80\x80\x80\x80\x80 utf-8 \xc3",
        "<0x41> looks like a byte piece",
        "{\"json\": [1, 2.5e-3]} ~`|\\",
    };
    struct tokenizer tok;
    if (load_tok512(&tok) < 0) {
        CHECK(0);
        return;
    }
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        check_round_trip(&tok, texts[i], strlen(texts[i]));
    check_round_trip(&tok, "nul\0byte", 8);
    check_round_trip(&tok, "", 0);
    tokenizer_free(&tok);
}

/* Byte fallback: a codepoint missing from the vocabulary becomes byte + 3. */
static void test_byte_fallback(void)
{
    struct tokenizer tok;
    int *ids;
    size_t n;
    if (load_tok512(&tok) < 0) {
        CHECK(0);
        return;
    }
    const char *s = "\xe6\x97\xa5";    /* U+65E5 */
    CHECK_INT(tokenizer_encode(&tok, s, 3, 0, 0, &ids, &n), 0);
    CHECK(n == 4 && ids[1] == 0xe6 + 3 && ids[2] == 0x97 + 3 && ids[3] == 0xa5 + 3);
    struct strbuf out = STRBUF_INIT;
    CHECK_INT(tokenizer_decode_append(&tok, 1, 0x41 + 3, &out), 0);     /* <0x41> */
    CHECK_INT(tokenizer_decode_append(&tok, 1, 403, &out), 0);          /* " Once" after BOS */
    CHECK_INT(tokenizer_decode_append(&tok, 403, 407, &out), 0);        /* " upon" */
    CHECK_STR(sb_str(&out), "AOnce upon");
    CHECK_INT(tokenizer_decode_append(&tok, 1, 512, &out), -1);
    free(ids);
    sb_free(&out);
    tokenizer_free(&tok);
}

/* The heap merge picks the same pair as run.c's rescan at every step. */
static void test_matches_run_c(void)
{
    static const char alphabet[] = " etaoinshrdlu.,\nTOL\xc3\xa9\xe6\x97\xa5\x80";
    struct tokenizer tok;
    unsigned seed = 12345;
    int mismatches = 0;
    if (load_tok512(&tok) < 0) {
        CHECK(0);
        return;
    }
    for (int round = 0; round < 300; round++) {
        char text[160];
        int *ids, ref[170];
        size_t n, len = (size_t)(round % 150) + 1;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            text[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        text[len] = '\0';
        tokenizer_encode(&tok, text, len, 1, 0, &ids, &n);
        size_t n_ref = reference_encode(&tok, text, ref);
        mismatches += n != n_ref || memcmp(ids, ref, n * sizeof(int)) != 0;
        free(ids);
    }
    CHECK_INT(mismatches, 0);
    tokenizer_free(&tok);
}

static void test_bad_tokenizer_files(void)
{
    struct tokenizer tok;
    struct strbuf err = STRBUF_INIT;
    char *path = path_join(shared_dir, "tok512.bin");
    CHECK_INT(tokenizer_load_llama2c(path, 511, &tok, &err), -1);     /* bytes left over */
    CHECK(strstr(sb_str(&err), "does not match the model's vocab_size") != NULL);
    sb_reset(&err);
    CHECK_INT(tokenizer_load_llama2c(path, 600, &tok, &err), -1);     /* runs out */
    CHECK(strstr(sb_str(&err), "token 512 is truncated") != NULL);
    sb_reset(&err);
    CHECK_INT(tokenizer_load_llama2c("/nonexistent/tok.bin", 512, &tok, &err), -1);
    CHECK(strstr(sb_str(&err), "/nonexistent/tok.bin") != NULL);
    CHECK(tok.kind == TOKENIZER_NONE);
    tokenizer_free(&tok);
    free(path);
    sb_free(&err);
}

static void test_for_model_llama2c(void)
{
    struct model_config cfg = { .vocab_size = 512, .bos_id = 1, .eos_id = 2 };
    struct tokenizer tok;
    struct strbuf err = STRBUF_INIT;
    char *path = path_join(shared_dir, "stories260K.bin");
    CHECK_INT(tokenizer_for_model(path, &cfg, &tok, &err), 0);
    CHECK_STR(sb_str(&err), "");
    CHECK(tok.kind == TOKENIZER_LLAMA2C && tok.vocab_size == 512);
    tokenizer_free(&tok);
    free(path);
    sb_free(&err);
}

/* ---- byte-level tokenizer ---- */

static void test_bytes_round_trip(void)
{
    struct tokenizer tok;
    char all[256];
    int *ids;
    size_t n;
    CHECK_INT(tokenizer_init_bytes(&tok, 260, 256, 257, 258), 0);
    for (int i = 0; i < 256; i++)
        all[i] = (char)(255 - i);
    CHECK_INT(tokenizer_encode(&tok, all, 256, 1, 1, &ids, &n), 0);
    CHECK_INT(n, 258);
    CHECK(ids[0] == 256 && ids[1] == 255 && ids[256] == 0 && ids[257] == 257);
    free(ids);
    check_round_trip(&tok, all, 256);
    check_round_trip(&tok, "\0\xff\0", 3);
    check_round_trip(&tok, "", 0);
    struct strbuf out = STRBUF_INIT;
    CHECK_INT(tokenizer_decode_append(&tok, -1, 258, &out), 0);    /* PAD: nothing */
    CHECK_INT(tokenizer_decode_append(&tok, -1, 259, &out), 0);    /* unused id: nothing */
    CHECK_INT(out.len, 0);
    CHECK_INT(tokenizer_decode_append(&tok, -1, 260, &out), -1);
    CHECK_INT(tokenizer_decode_append(&tok, -1, -3, &out), -1);
    sb_free(&out);
    tokenizer_free(&tok);
    tokenizer_free(&tok);   /* accepts a zeroed struct */
}

static void test_bytes_refuses(void)
{
    struct tokenizer tok;
    int *ids;
    size_t n;
    CHECK_INT(tokenizer_init_bytes(&tok, 255, -1, -1, -1), -1);
    CHECK_INT(tokenizer_init_bytes(&tok, 260, 100, 257, 258), -1);   /* bos is a byte */
    CHECK_INT(tokenizer_init_bytes(&tok, 260, 256, 260, 258), -1);   /* eos too large */
    CHECK_INT(tokenizer_init_bytes(&tok, 256, -1, -1, -1), 0);
    CHECK_INT(tokenizer_encode(&tok, "x", 1, 1, 0, &ids, &n), -1);   /* no BOS to add */
    CHECK(ids == NULL && n == 0);
    CHECK_INT(tokenizer_encode(&tok, "x", 1, 0, 0, &ids, &n), 0);
    CHECK(n == 1 && ids[0] == 'x');
    free(ids);
    tokenizer_free(&tok);
}

static void test_for_model_bytes(void)
{
    struct model_config cfg = { .vocab_size = 260, .bos_id = 256, .eos_id = 257 };
    struct tokenizer tok;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(tokenizer_for_model("sweeps/models/tiny-base", &cfg, &tok, &err), 0);
    CHECK_STR(sb_str(&err), "");
    CHECK(tok.kind == TOKENIZER_BYTES && tok.bos_id == 256 && tok.eos_id == 257 &&
          tok.pad_id == 258);
    tokenizer_free(&tok);
    CHECK_INT(tokenizer_for_model("sweeps/models/tiny-base/model.safetensors", &cfg, &tok,
                                  &err), 0);
    CHECK(tok.kind == TOKENIZER_BYTES);
    tokenizer_free(&tok);
    CHECK_INT(tokenizer_for_model("tests/unit/no-such-model", &cfg, &tok, &err), -1);
    CHECK(strstr(sb_str(&err), "tests/unit/no-such-model") != NULL);
    sb_free(&err);
}

int main(void)
{
    if (stories260k_dir(shared_dir, sizeof(shared_dir),
                        "tok512.bin: 6 tests of the llama2.c tokenizer") == 0) {
        TEST(test_known_encoding);
        TEST(test_round_trips);
        TEST(test_byte_fallback);
        TEST(test_matches_run_c);
        TEST(test_bad_tokenizer_files);
        TEST(test_for_model_llama2c);
    }
    TEST(test_bytes_round_trip);
    TEST(test_bytes_refuses);
    TEST(test_for_model_bytes);
    return test_report();
}
