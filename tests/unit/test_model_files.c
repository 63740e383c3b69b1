/* test_model_files.c - every file a base model uses, and its manifest digest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "model_files.h"
#include "testhelp.h"

static char tmpdir[256];

static void put(const char *name, const char *text)
{
    char *path = path_join(tmpdir, name);
    struct strbuf err = STRBUF_INIT;
    if (write_file_atomic(path, text, strlen(text), &err) < 0) {
        fprintf(stderr, "%s\n", err.buf);
        exit(1);
    }
    sb_free(&err);
    free(path);
}

static void drop(const char *name)
{
    char *path = path_join(tmpdir, name);
    unlink(path);
    free(path);
}

static char *hex_of(const char *text)
{
    char *out = xcalloc(SHA256_HEX_LEN + 1, 1);
    sha256_hex(text, strlen(text), out);
    return out;
}

/* The names of m, comma-separated. */
static char *names_of(const struct model_files *m)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < m->n; i++)
        sb_addf(&sb, "%s%s", i ? "," : "", m->v[i].name);
    return sb_detach(&sb);
}

static void test_sharded_dir(void)
{
    static const char *const files[][2] = {
        { "config.json", "{}" },
        { "tokenizer.json", "{\"model\": {}}" },
        { "tokenizer_config.json", "{\"chat_template\": \"x\"}" },
        { "model.safetensors.index.json", "{\"weight_map\": {\"a\": \"b-2.safetensors\", "
          "\"b\": \"a-1.safetensors\", \"c\": \"b-2.safetensors\"}}" },
        { "a-1.safetensors", "shard one" },
        { "b-2.safetensors", "shard two" },
    };
    int total = 0;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        put(files[i][0], files[i][1]);
        total += (int)strlen(files[i][1]);
    }
    put("README.md", "not a model file");
    struct model_files m;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(model_files_collect(tmpdir, &m, &err), 0);
    char *names = names_of(&m);
    /* sorted by name, each shard once, README.md not a model file */
    CHECK_STR(names, "a-1.safetensors,b-2.safetensors,config.json,model.safetensors.index.json,"
              "tokenizer.json,tokenizer_config.json");
    free(names);
    CHECK(m.is_dir);
    /* the manifest is sha256sum's listing, and the digest is its sha256 */
    char *one = hex_of("shard one");
    char *text = model_manifest_text(&m);
    CHECK(!strncmp(text, one, SHA256_HEX_LEN) && !strncmp(text + 64, "  a-1.safetensors\n", 18));
    char *digest = hex_of(text);
    CHECK_STR(m.manifest_sha256, digest);
    CHECK_INT((int)m.bytes, total);
    free(digest);
    free(text);
    free(one);
    model_files_free(&m);

    /* the index named: the same files; a shard named: it and what is beside it */
    char *index = path_join(tmpdir, "model.safetensors.index.json");
    CHECK_INT(model_files_collect(index, &m, &err), 0);
    CHECK_INT((int)m.n, 6);
    CHECK(!m.is_dir);
    model_files_free(&m);
    free(index);
    char *shard = path_join(tmpdir, "a-1.safetensors");
    CHECK_INT(model_files_collect(shard, &m, &err), 0);
    names = names_of(&m);
    CHECK_STR(names, "a-1.safetensors,config.json,tokenizer.json,tokenizer_config.json");
    free(names);
    model_files_free(&m);
    free(shard);

    /* a shard the index names that is missing */
    drop("b-2.safetensors");
    CHECK_INT(model_files_collect(tmpdir, &m, &err), -1);
    CHECK(strstr(err.buf, "b-2.safetensors") != NULL);
    CHECK_INT((int)m.n, 0);
    sb_free(&err);
    drop("a-1.safetensors");
    drop("model.safetensors.index.json");
}

static void test_plain_dir(void)
{
    struct model_files m;
    struct strbuf err = STRBUF_INIT;
    /* neither weights file */
    CHECK_INT(model_files_collect(tmpdir, &m, &err), -1);
    CHECK(strstr(err.buf, "a model directory needs model.safetensors or "
                 "model.safetensors.index.json") != NULL);
    sb_reset(&err);
    put("model.safetensors", "weights");
    put("generation_config.json", "{}");
    CHECK_INT(model_files_collect(tmpdir, &m, &err), 0);
    char *names = names_of(&m);
    CHECK_STR(names, "config.json,generation_config.json,model.safetensors,tokenizer.json,"
              "tokenizer_config.json");
    free(names);
    model_files_free(&m);
    /* the same entries added by hand, in another order, seal to the same digest */
    struct model_files a = { 0 }, b = { 0 };
    model_files_add(&a, "x", "11", 1);
    model_files_add(&a, "y", "22", 2);
    model_files_add(&b, "y", "22", 2);
    model_files_add(&b, "x", "11", 1);
    model_files_add(&b, "x", "33", 3);   /* each name once: ignored */
    model_files_seal(&a);
    model_files_seal(&b);
    CHECK_STR(a.manifest_sha256, b.manifest_sha256);
    CHECK_INT((int)b.bytes, 3);
    model_files_free(&a);
    model_files_free(&b);
    char *missing = path_join(tmpdir, "nope");
    CHECK_INT(model_files_collect(missing, &m, &err), -1);
    CHECK(strstr(err.buf, "cannot open") != NULL);
    free(missing);
    sb_free(&err);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/mainline-test-model-files-XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    TEST(test_sharded_dir);
    TEST(test_plain_dir);
    remove_flat_dir(tmpdir);
    return test_report();
}
