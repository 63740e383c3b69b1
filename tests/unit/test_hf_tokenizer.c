/*
 * test_hf_tokenizer.c - unit tests for model/hf_tokenizer.c, hf_bpe.c and
 * hf_text.c on small tokenizer.json files written here: both forms of merges,
 * ignore_merges, byte-level pre-tokens and decoding, SentencePiece-style
 * normalizers with byte fallback and the Strip decoder, Metaspace, added tokens
 * with lstrip/rstrip and single_word, TemplateProcessing, the errors for
 * unsupported types, and tokenizer_load_hf() through struct tokenizer. The real
 * files are compared with Hugging Face's own tokenizers in t3010.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "error.h"
#include "fsutil.h"
#include "hf_text.h"
#include "hf_tokenizer.h"
#include "testhelp.h"
#include "tokenizer.h"

/* GPT-2's byte characters: 'Ġ' is the space (U+0120). */
#define BL_VOCAB "\"a\": 0, \"b\": 1, \"c\": 2, \"ab\": 3, \"abc\": 4, \"\\u0120\": 5, " \
                 "\"\\u0120a\": 6, \"<m>\": 7, \"!\": 8"

static struct hf_tokenizer *load(const char *json, const char *cfg, struct strbuf *err)
{
    struct hf_tokenizer *h = NULL;
    sb_reset(err);
    if (hf_tokenizer_load_json(json, strlen(json), cfg, "t.json", &h, err) < 0)
        return NULL;
    return h;
}

/* The ids of text as "1,2,3". */
static char *enc(const struct hf_tokenizer *h, const char *text, int add_special)
{
    int *ids;
    size_t n;
    struct strbuf sb = STRBUF_INIT;
    hf_encode(h, text, strlen(text), add_special, &ids, &n);
    for (size_t i = 0; i < n; i++)
        sb_addf(&sb, i ? ",%d" : "%d", ids[i]);
    free(ids);
    if (!sb.buf)
        sb_adds(&sb, "");
    return sb_detach(&sb);
}

static char *dec(const struct hf_tokenizer *h, const char *text)
{
    int *ids;
    size_t n;
    struct strbuf sb = STRBUF_INIT;
    hf_encode(h, text, strlen(text), 0, &ids, &n);
    CHECK_INT(hf_decode(h, ids, n, 0, &sb), 0);
    free(ids);
    if (!sb.buf)
        sb_adds(&sb, "");
    return sb_detach(&sb);
}

#define CHECK_ENC(h, text, want) do { char *g = enc(h, text, 0); CHECK_STR(g, want); \
    free(g); } while (0)
#define CHECK_ROUND(h, text) do { char *g = dec(h, text); CHECK_STR(g, text); free(g); } \
    while (0)

static char *byte_level(const char *merges, const char *extra, const char *added)
{
    struct strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "{\"version\": \"1.0\", \"added_tokens\": [%s], \"normalizer\": null,"
            " \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false,"
            " \"use_regex\": true}, \"post_processor\": null,"
            " \"decoder\": {\"type\": \"ByteLevel\"},"
            " \"model\": {\"type\": \"BPE\", \"vocab\": {" BL_VOCAB "}, \"merges\": [%s]%s}}",
            added, merges, extra);
    return sb_detach(&sb);
}

static void test_merge_forms(void)
{
    struct strbuf err = STRBUF_INIT;
    char *s1 = byte_level("\"a b\", \"ab c\", \"\\u0120 a\"", "", "");
    char *s2 = byte_level("[\"a\", \"b\"], [\"ab\", \"c\"], [\"\\u0120\", \"a\"]", "", "");
    struct hf_tokenizer *h1 = load(s1, NULL, &err), *h2 = load(s2, NULL, &err);
    CHECK(h1 && h2);
    if (h1 && h2) {
        /* " ab": a b (rank 0) first, so Ġ a (rank 2) never meets */
        CHECK_ENC(h1, "abc ab", "4,5,3");
        CHECK_ENC(h2, "abc ab", "4,5,3");
        CHECK_ENC(h1, " a", "6");
        CHECK_ENC(h1, "", "");
        CHECK_ROUND(h1, "abc ab  a");
        CHECK_INT(hf_vocab_size(h1), 9);
    }
    hf_tokenizer_free(h1);
    hf_tokenizer_free(h2);
    free(s1);
    free(s2);
    sb_free(&err);
}

static void test_ignore_merges(void)
{
    struct strbuf err = STRBUF_INIT;
    char *with = byte_level("\"a b\"", ", \"ignore_merges\": true", "");
    char *without = byte_level("\"a b\"", ", \"ignore_merges\": false", "");
    struct hf_tokenizer *h1 = load(with, NULL, &err), *h2 = load(without, NULL, &err);
    CHECK(h1 && h2);
    if (h1 && h2) {
        CHECK_ENC(h1, "abc", "4");          /* a whole word in the vocabulary */
        CHECK_ENC(h2, "abc", "3,2");        /* no "ab c" merge */
    }
    hf_tokenizer_free(h1);
    hf_tokenizer_free(h2);
    free(with);
    free(without);
    sb_free(&err);
}

static const char *added_m(int lstrip, int rstrip, int single_word)
{
    static char buf[256];
    snprintf(buf, sizeof(buf), "{\"id\": 7, \"content\": \"<m>\", \"single_word\": %s,"
             " \"lstrip\": %s, \"rstrip\": %s, \"normalized\": false, \"special\": true}",
             single_word ? "true" : "false", lstrip ? "true" : "false",
             rstrip ? "true" : "false");
    return buf;
}

static void test_added_tokens(void)
{
    struct strbuf err = STRBUF_INIT;
    char *plain = byte_level("\"a b\"", "", added_m(0, 0, 0));
    char *strip = byte_level("\"a b\"", "", added_m(1, 1, 0));
    char *word = byte_level("\"a b\"", "", added_m(0, 0, 1));
    struct hf_tokenizer *hp = load(plain, NULL, &err), *hs = load(strip, NULL, &err);
    struct hf_tokenizer *hw = load(word, NULL, &err);
    CHECK(hp && hs && hw);
    if (hp && hs && hw) {
        CHECK_ENC(hp, "ab <m> ab", "3,5,7,5,3");
        CHECK_ENC(hs, "ab <m> ab", "3,7,3");   /* the spaces around it go */
        CHECK_ENC(hp, "<m><m>", "7,7");
        CHECK_ENC(hw, "ab <m> ab", "3,5,7,5,3");
        /* inside a word it is not the token, and its characters are not in this
         * vocabulary: nothing */
        CHECK_ENC(hw, "ab<m>", "3");
        CHECK(hf_is_special(hp, 7));
        CHECK(!hf_is_special(hp, 3));
        struct strbuf sb = STRBUF_INIT;
        int ids[] = { 3, 7, 3 };
        CHECK_INT(hf_decode(hp, ids, 3, 0, &sb), 0);
        CHECK_STR(sb_str(&sb), "ab<m>ab");
        sb_reset(&sb);
        CHECK_INT(hf_decode(hp, ids, 3, 1, &sb), 0);
        CHECK_STR(sb_str(&sb), "abab");
        sb_free(&sb);
    }
    hf_tokenizer_free(hp);
    hf_tokenizer_free(hs);
    hf_tokenizer_free(hw);
    free(plain);
    free(strip);
    free(word);
    sb_free(&err);
}

/* Llama 2's layout: normalizers, byte fallback, the decoder sequence. */
static const char sp_json[] =
    "{\"added_tokens\": [{\"id\": 1, \"content\": \"<s>\", \"special\": true}],"
    " \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": ["
    "   {\"type\": \"Prepend\", \"prepend\": \"\\u2581\"},"
    "   {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"\\u2581\"}]},"
    " \"pre_tokenizer\": null,"
    " \"post_processor\": {\"type\": \"TemplateProcessing\","
    "   \"single\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}},"
    "                {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}],"
    "   \"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [1], \"tokens\": [\"<s>\"]}}},"
    " \"decoder\": {\"type\": \"Sequence\", \"decoders\": ["
    "   {\"type\": \"Replace\", \"pattern\": {\"String\": \"\\u2581\"}, \"content\": \" \"},"
    "   {\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"},"
    "   {\"type\": \"Strip\", \"content\": \" \", \"start\": 1, \"stop\": 0}]},"
    " \"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"byte_fallback\": true,"
    "   \"fuse_unk\": true, \"vocab\": {\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2,"
    "   \"<0xC3>\": 3, \"<0xA9>\": 4, \"\\u2581\": 5, \"h\": 6, \"i\": 7, \"\\u2581h\": 8,"
    "   \"\\u2581hi\": 9}, \"merges\": [\"\\u2581 h\", \"\\u2581h i\"]}}";

static void test_byte_fallback(void)
{
    struct strbuf err = STRBUF_INIT;
    struct hf_tokenizer *h = load(sp_json, "{\"bos_token\": \"<s>\", \"eos_token\": "
                                  "{\"content\": \"</s>\"}, \"model_max_length\": 1e30}", &err);
    CHECK(h != NULL);
    if (!h) {
        fprintf(stderr, "%s\n", sb_str(&err));
        return;
    }
    CHECK_ENC(h, "hi \xc3\xa9", "9,5,3,4");         /* é: <0xC3> <0xA9> */
    CHECK_ROUND(h, "hi \xc3\xa9");
    CHECK_ENC(h, "hi<s>hi", "9,1,9");              /* each section gets its ▁ */
    char *g = enc(h, "hi", 1);
    CHECK_STR(g, "1,9");                           /* the template's <s> */
    free(g);
    CHECK_INT(hf_bos_id(h), 1);
    CHECK_INT(hf_eos_id(h), 2);
    CHECK_INT(hf_pad_id(h), -1);
    /* streaming: Strip applies to the first token only */
    struct strbuf sb = STRBUF_INIT;
    CHECK_INT(hf_decode_token(h, 9, 1, &sb), 0);
    CHECK_INT(hf_decode_token(h, 9, 0, &sb), 0);
    CHECK_STR(sb_str(&sb), "hi hi");
    CHECK_INT(hf_decode_token(h, 99, 0, &sb), -1);
    sb_free(&sb);
    hf_tokenizer_free(h);
    sb_free(&err);
}

static void test_metaspace(void)
{
    static const char json[] =
        "{\"added_tokens\": [], \"normalizer\": null,"
        " \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\","
        "   \"prepend_scheme\": \"first\", \"split\": true},"
        " \"decoder\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\","
        "   \"prepend_scheme\": \"first\", \"split\": true},"
        " \"model\": {\"type\": \"BPE\", \"vocab\": {\"\\u2581\": 5, \"h\": 6, \"i\": 7,"
        "   \"\\u2581h\": 8, \"\\u2581hi\": 9, \"hi\": 10}, \"merges\": [[\"\\u2581\", \"h\"],"
        "   [\"\\u2581h\", \"i\"], [\"h\", \"i\"]]}}";
    struct strbuf err = STRBUF_INIT;
    struct hf_tokenizer *h = load(json, "{\"clean_up_tokenization_spaces\": false}", &err);
    CHECK(h != NULL);
    if (h) {
        CHECK_ENC(h, "hi hi", "9,9");
        CHECK_ROUND(h, "hi hi");
        CHECK_ENC(h, "  hi", "5,9");   /* "▁▁hi" split before each ▁ */
    }
    hf_tokenizer_free(h);
    sb_free(&err);
}

static void test_unsupported(void)
{
    static const char *const cases[][2] = {
        { "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}",
          "t.json: unsupported model type \"WordPiece\" (mainline supports BPE)" },
        { "{\"decoder\": {\"type\": \"CTC\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}}}",
          "t.json: unsupported decoder type \"CTC\"" },
        { "{\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"},"
          " \"behavior\": \"Isolated\", \"invert\": true},"
          " \"model\": {\"type\": \"BPE\", \"vocab\": {}}}",
          "t.json: unsupported Split with \"invert\": true" },
        { "{\"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"Regex\": \"a+\"},"
          " \"content\": \"b\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}}}",
          "t.json: unsupported Replace normalizer pattern (mainline supports String)" },
        { "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"dropout\": 0.1}}",
          "t.json: unsupported BPE setting model.dropout" },
        { "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}}",
          "t.json: model.merges: merge 0 (\"a\" \"b\"): its second token is not in the "
          "vocabulary" },
        { "{\"post_processor\": {\"type\": \"RobertaProcessing\"},"
          " \"model\": {\"type\": \"BPE\", \"vocab\": {}}}",
          "t.json: unsupported post_processor type \"RobertaProcessing\"" },
        { "{\"truncation\": {\"max_length\": 8}, \"model\": {\"type\": \"BPE\", \"vocab\": {}}}",
          "t.json: unsupported truncation (mainline needs it null)" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct strbuf err = STRBUF_INIT;
        struct hf_tokenizer *h = load(cases[i][0], NULL, &err);
        CHECK(h == NULL);
        CHECK_STR(sb_str(&err), cases[i][1]);
        hf_tokenizer_free(h);
        sb_free(&err);
    }
}

/* A byte-level vocabulary of the 256 bytes alone, Qwen's normalizer and Split regex:
 * bytes that are not UTF-8 (PCRE2's MATCH_INVALID_UTF, NFC refusing them) encode
 * and decode back to themselves. */
static void test_any_bytes_round_trip(void)
{
    struct strbuf json = STRBUF_INIT, err = STRBUF_INIT;
    sb_adds(&json, "{\"normalizer\": {\"type\": \"NFC\"}, \"pre_tokenizer\": {\"type\":"
            " \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\":"
            " \"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}|"
            " ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},"
            " \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\","
            " \"add_prefix_space\": false, \"use_regex\": false}]},"
            " \"decoder\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {");
    for (int b = 0; b < 256; b++) {
        char c[4];
        size_t n = hf_byte_char(b, c);
        json_t *str = json_stringn(c, n);
        char *enc_s = json_dumps(str, JSON_ENCODE_ANY);
        sb_addf(&json, "%s%s: %d", b ? ", " : "", enc_s, b);
        free(enc_s);
        json_decref(str);
    }
    sb_adds(&json, "}, \"merges\": []}}");
    struct hf_tokenizer *h = load(json.buf, "{\"clean_up_tokenization_spaces\": false}", &err);
    CHECK(h != NULL);
    if (!h) {
        fprintf(stderr, "%s\n", sb_str(&err));
        sb_free(&json);
        sb_free(&err);
        return;
    }
    unsigned seed = 18;
    for (int round = 0; round < 200; round++) {
        char text[300];
        size_t len = (size_t)(rand_r(&seed) % 300);
        for (size_t i = 0; i < len; i++) {    /* mostly ASCII, some high bytes */
            int r = rand_r(&seed) % 10;
            text[i] = (char)(r < 6 ? 32 + rand_r(&seed) % 95 : r < 7 ? '\n' : rand_r(&seed) % 256);
        }
        int *ids;
        size_t n;
        hf_encode(h, text, len, 0, &ids, &n);
        struct strbuf back = STRBUF_INIT;
        CHECK_INT(hf_decode(h, ids, n, 0, &back), 0);
        /* NFC may rewrite valid UTF-8; text that is not UTF-8 (jansson refuses it)
         * is left to the regex and the byte-level model alone and must come back */
        json_t *probe = json_stringn(text, len);
        if (!probe)
            CHECK(back.len == len && memcmp(back.buf ? back.buf : "", text, len) == 0);
        json_decref(probe);
        sb_free(&back);
        free(ids);
    }
    hf_tokenizer_free(h);
    sb_free(&json);
    sb_free(&err);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char *path = path_join(dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    free(path);
}

static void test_through_struct_tokenizer(void)
{
    char dir[] = "/tmp/mainline-test-hf-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *json = byte_level("\"a b\"", "", added_m(0, 0, 0));
    write_text(dir, "tokenizer.json", json);
    write_text(dir, "config.json", "{\"bos_token_id\": 7, \"eos_token_id\": [8, 7]}");
    struct tokenizer tok;
    struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
    CHECK_INT(tokenizer_load_hf(dir, &tok, &err), 0);
    CHECK_INT(tok.kind, TOKENIZER_HF);
    CHECK_INT(tok.bos_id, 7);
    CHECK_INT(tok.eos_id, 8);
    int *ids;
    size_t n;
    CHECK_INT(tokenizer_encode(&tok, "ab<m>", 5, 1, 1, &ids, &n), 0);
    CHECK_INT(n, 4);
    if (n == 4)
        CHECK(ids[0] == 7 && ids[1] == 3 && ids[2] == 7 && ids[3] == 8);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(tokenizer_decode_append(&tok, i ? ids[i - 1] : -1, ids[i], &out), 0);
    CHECK_STR(sb_str(&out), "ab");            /* BOS (<m> here) and EOS write nothing */
    free(ids);
    /* framed: BOS unless the text begins with it (a chat template writes it), EOS
     * unless it ends with it */
    CHECK_INT(tokenizer_encode_framed(&tok, "<m>ab", 5, FRAME_SEQUENCE, &ids, &n), 0);
    CHECK_INT(n, 3);
    if (n == 3)
        CHECK(ids[0] == 7 && ids[1] == 3 && ids[2] == 8);
    free(ids);
    CHECK_INT(tokenizer_encode_framed(&tok, "ab", 2, FRAME_PROMPT, &ids, &n), 0);
    CHECK_INT(n, 2);
    if (n == 2)
        CHECK(ids[0] == 7 && ids[1] == 3);
    free(ids);
    CHECK_INT(tokenizer_encode_framed(&tok, "ab", 2, FRAME_NONE, &ids, &n), 0);
    CHECK_INT(n, 1);   /* a chat template's text: nothing added */
    free(ids);
    tok.bos_id = -1;   /* a vocabulary without BOS (Qwen) gets none */
    CHECK_INT(tokenizer_encode_framed(&tok, "ab", 2, FRAME_SEQUENCE, &ids, &n), 0);
    CHECK_INT(n, 2);
    if (n == 2)
        CHECK(ids[0] == 3 && ids[1] == 8);
    free(ids);
    tokenizer_free(&tok);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_INT(system(cmd), 0);
    free(json);
    sb_free(&err);
    sb_free(&out);
}

int main(void)
{
    TEST(test_merge_forms);
    TEST(test_ignore_merges);
    TEST(test_added_tokens);
    TEST(test_byte_fallback);
    TEST(test_metaspace);
    TEST(test_unsupported);
    TEST(test_any_bytes_round_trip);
    TEST(test_through_struct_tokenizer);
    return test_report();
}
