/* test_source_url.c - local paths and URLs, hf:// resolution, members, archive names. */
#include <stdlib.h>
#include <string.h>

#include "source_url.h"
#include "testhelp.h"

/* Parse `url` against `endpoint`; "kind fetch name", or "error: ..." */
static char *parsed(const char *url, const char *endpoint)
{
    struct surl u;
    struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
    if (surl_parse(url, endpoint, &u, &err) < 0)
        sb_addf(&out, "error: %s", err.buf);
    else
        sb_addf(&out, "%s %s %s", u.kind == SURL_LOCAL ? "local"
                                  : u.kind == SURL_HTTP ? "http" : "hfdir", u.fetch, u.name);
    surl_free(&u);
    sb_free(&err);
    return sb_detach(&out);
}

#define CHECK_PARSE(url, endpoint, want) do { \
    char *got_ = parsed((url), (endpoint)); \
    CHECK_STR(got_, (want)); \
    free(got_); \
} while (0)

static void test_schemes(void)
{
    CHECK(surl_has_scheme("https://h/x"));
    CHECK(surl_has_scheme("hf://org/m/x"));
    CHECK(surl_has_scheme("s3+x://b/k"));
    CHECK(!surl_has_scheme("data/x.jsonl"));
    CHECK(!surl_has_scheme("/abs/x://y"));
    CHECK(!surl_has_scheme("://x"));
    CHECK(!surl_has_scheme("C:/x"));
    CHECK_PARSE("https://h.example/a/b.jsonl?download=1", NULL,
                "http https://h.example/a/b.jsonl?download=1 b.jsonl");
    CHECK_PARSE("http://127.0.0.1:8080/x.bin", NULL, "http http://127.0.0.1:8080/x.bin x.bin");
    CHECK_PARSE("file:///srv/data/a%20b.jsonl", NULL, "local /srv/data/a b.jsonl a b.jsonl");
    CHECK_PARSE("file://localhost/srv/a.jsonl", NULL, "local /srv/a.jsonl a.jsonl");
    CHECK_PARSE("file://relative/a.jsonl", NULL,
                "error: 'file://relative/a.jsonl': a file URL needs an absolute path (file:///path)");
    CHECK_PARSE("file:///a%zz", NULL, "error: 'file:///a%zz': malformed %-escape");
    CHECK_PARSE("https:///x.jsonl", NULL, "error: 'https:///x.jsonl': the URL has no host");
    CHECK_PARSE("https://h/dir/", NULL, "error: 'https://h/dir/': the URL does not name a file");
    CHECK_PARSE("https://h/a/..", NULL, "error: 'https://h/a/..': the URL does not name a file");
    CHECK_PARSE("s3://bucket/x", NULL, "error: 's3://bucket/x': unsupported URL scheme (use "
                "file://, http://, https:// or hf://)");
}

static void test_hf(void)
{
    CHECK_PARSE("hf://datasets/org/math/train.jsonl", NULL,
                "http https://huggingface.co/datasets/org/math/resolve/main/train.jsonl "
                "train.jsonl");
    CHECK_PARSE("hf://org/model/model.safetensors", "http://127.0.0.1:9/",
                "http http://127.0.0.1:9/org/model/resolve/main/model.safetensors "
                "model.safetensors");
    CHECK_PARSE("hf://datasets/org/math@v1.2/data/part 1.jsonl", "https://mirror.example",
                "http https://mirror.example/datasets/org/math/resolve/v1.2/data/part%201.jsonl "
                "part 1.jsonl");
    CHECK_PARSE("hf://org/model@refs%2Fpr%2F1/w.bin", NULL,
                "http https://huggingface.co/org/model/resolve/refs%2Fpr%2F1/w.bin w.bin");
    CHECK_PARSE("hf://org/model", NULL,
                "hfdir https://huggingface.co/org/model/resolve/main/ model");
    CHECK_PARSE("hf://Qwen/Qwen3-0.6B@abc123/", "http://127.0.0.1:9",
                "hfdir http://127.0.0.1:9/Qwen/Qwen3-0.6B/resolve/abc123/ Qwen3-0.6B");
    CHECK_PARSE("hf://org/model@refs%2Fpr%2F1", NULL,
                "hfdir https://huggingface.co/org/model/resolve/refs%2Fpr%2F1/ model");
    CHECK_PARSE("hf://datasets/org/x", NULL,
                "error: 'hf://datasets/org/x': expected hf://datasets/ORG/NAME/FILE");
    CHECK_PARSE("hf://datasets/org/x/", NULL,
                "error: 'hf://datasets/org/x/': expected hf://datasets/ORG/NAME/FILE");
    CHECK_PARSE("hf://org", NULL,
                "error: 'hf://org': expected hf://ORG/MODEL or hf://ORG/MODEL/FILE");
    CHECK_PARSE("hf://org//x", NULL,
                "error: 'hf://org//x': expected hf://ORG/MODEL or hf://ORG/MODEL/FILE");
    CHECK_PARSE("hf://org/model@", NULL, "error: 'hf://org/model@': empty revision after '@'");
    CHECK_PARSE("hf://org/model@/x.bin", NULL, "error: 'hf://org/model@/x.bin': empty revision "
                "after '@'");
    CHECK_PARSE("hf://org/model/a/../../x.bin", NULL, "error: 'hf://org/model/a/../../x.bin': "
                "file 'a/../../x.bin': '..' components are refused");
}

static void test_dir_file(void)
{
    CHECK(surl_is_hf_model_dir("hf://org/m@v1"));
    CHECK(surl_is_hf_model_dir("hf://org/m/"));
    CHECK(!surl_is_hf_model_dir("hf://org/m/config.json"));
    CHECK(!surl_is_hf_model_dir("hf://datasets/org/m"));
    CHECK(!surl_is_hf_model_dir("https://h/org/m"));
    struct surl u;
    struct strbuf err = STRBUF_INIT;
    CHECK(surl_parse("hf://org/m@v1", "http://h:1/", &u, &err) == 0);
    char *url = surl_dir_file(&u, "model-00001-of-00002.safetensors");
    CHECK_STR(url, "http://h:1/org/m/resolve/v1/model-00001-of-00002.safetensors");
    free(url);
    url = surl_dir_file(&u, "sub dir/a b.json");
    CHECK_STR(url, "http://h:1/org/m/resolve/v1/sub%20dir/a%20b.json");
    free(url);
    surl_free(&u);
    sb_free(&err);
}

static void test_members(void)
{
    char *url, *member;
    surl_split_member("https://h/x.tar.gz#dir/f.jsonl", &url, &member);
    CHECK_STR(url, "https://h/x.tar.gz");
    CHECK_STR(member, "dir/f.jsonl");
    free(url);
    free(member);
    surl_split_member("https://h/x.jsonl", &url, &member);
    CHECK_STR(url, "https://h/x.jsonl");
    CHECK(member == NULL);
    free(url);
    CHECK(surl_is_archive("x.tar.gz") && surl_is_archive("x.tgz") && surl_is_archive("a.zip"));
    CHECK(surl_is_archive("x.tar.zst") && surl_is_archive("x.tar.xz") && surl_is_archive("x.tar"));
    CHECK(!surl_is_archive("x.jsonl") && !surl_is_archive("x.gz") && !surl_is_archive("tar"));
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(surl_check_relative("dir/f.jsonl", &err), 0);
    CHECK_INT(surl_check_relative("./f.jsonl", &err), 0);
    CHECK_INT(surl_check_relative("a..b/f", &err), 0);
    CHECK_INT(surl_check_relative("/etc/passwd", &err), -1);
    CHECK_STR(err.buf, "absolute paths are refused");
    sb_reset(&err);
    CHECK_INT(surl_check_relative("a/../../x", &err), -1);
    CHECK_STR(err.buf, "'..' components are refused");
    sb_reset(&err);
    CHECK_INT(surl_check_relative("a//x", &err), -1);
    CHECK_INT(surl_check_relative("", &err), -1);
    sb_free(&err);
}

int main(void)
{
    TEST(test_schemes);
    TEST(test_hf);
    TEST(test_dir_file);
    TEST(test_members);
    return test_report();
}
