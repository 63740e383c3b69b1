/* model_files.c - the files a base model uses and its manifest (see model_files.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "hf_index.h"
#include "model_files.h"

const char *const model_files_names[MODEL_FILES_N_NAMES] = {
    "config.json", "tokenizer.json", "tokenizer_config.json",
    "generation_config.json", "special_tokens_map.json",
};

void model_files_free(struct model_files *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].name);
    free(m->v);
    memset(m, 0, sizeof(*m));
}

void model_files_add(struct model_files *m, const char *name, const char *sha256,
                     int64_t bytes)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].name, name))
            return;   /* each file once */
    m->v = xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
    struct model_file *f = &m->v[m->n++];
    f->name = xstrdup(name);
    snprintf(f->sha256, sizeof(f->sha256), "%s", sha256);
    f->bytes = bytes;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct model_file *)a)->name, ((const struct model_file *)b)->name);
}

char *model_manifest_text(const struct model_files *m)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < m->n; i++)
        sb_addf(&sb, "%s  %s\n", m->v[i].sha256, m->v[i].name);
    return sb_detach(&sb);
}

void model_files_seal(struct model_files *m)
{
    qsort(m->v, m->n, sizeof(*m->v), by_name);
    char *text = model_manifest_text(m);
    sha256_hex(text, strlen(text), m->manifest_sha256);
    free(text);
    m->bytes = 0;
    for (size_t i = 0; i < m->n; i++)
        m->bytes += m->v[i].bytes;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Hash dir/name and add it. */
static int add_file(struct model_files *m, const char *dir, const char *name,
                    struct strbuf *err)
{
    char *path = path_join(dir, name);
    struct file_digest d;
    int rc = digest_file(path, &d, err);
    if (rc == 0)
        model_files_add(m, name, d.sha256, d.bytes);
    free(path);
    return rc;
}

/* An index and every shard it names. */
static int add_index(struct model_files *m, const char *dir, const char *name,
                     struct strbuf *err)
{
    char *path = path_join(dir, name);
    struct hf_index ix = { 0 };
    int rc = add_file(m, dir, name, err) < 0 ? -1 : hf_index_load(path, &ix, err);
    for (size_t i = 0; rc == 0 && i < ix.n_shards; i++)
        rc = add_file(m, dir, ix.shards[i], err);
    hf_index_free(&ix);
    free(path);
    return rc;
}

int model_files_collect(const char *path, struct model_files *out, struct strbuf *err)
{
    memset(out, 0, sizeof(*out));
    struct stat st;
    if (stat(path, &st) < 0) {
        sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    out->is_dir = S_ISDIR(st.st_mode);
    char *dir = out->is_dir ? xstrdup(path) : path_dirname(path);
    const char *base = out->is_dir ? NULL : strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < MODEL_FILES_N_NAMES; i++) {
        char *p = path_join(dir, model_files_names[i]);
        if (exists(p))
            rc = add_file(out, dir, model_files_names[i], err);
        free(p);
    }
    if (rc == 0 && base) {
        rc = ends_with(base, ".safetensors.index.json") ? add_index(out, dir, base, err)
                                                         : add_file(out, dir, base, err);
    } else if (rc == 0) {
        char *index = path_join(dir, HF_INDEX_NAME);
        char *single = path_join(dir, "model.safetensors");
        if (exists(index))
            rc = add_index(out, dir, HF_INDEX_NAME, err);
        else if (exists(single))
            rc = add_file(out, dir, "model.safetensors", err);
        else {
            sb_addf(err, "'%s': a model directory needs model.safetensors or %s", path,
                    HF_INDEX_NAME);
            rc = -1;
        }
        free(index);
        free(single);
    }
    free(dir);
    if (rc < 0) {
        model_files_free(out);
        return -1;
    }
    model_files_seal(out);
    return 0;
}
