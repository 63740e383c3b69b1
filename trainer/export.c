/* export.c - the trained model as a complete model directory (see export.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "digest.h"
#include "export.h"
#include "fsutil.h"
#include "model_io.h"

int export_check_target(const char *dir, struct strbuf *err)
{
    struct stat st;
    if (lstat(dir, &st) == 0) {
        sb_addf(err, "--export: '%s' already exists (an export writes a new directory; "
                "remove it or choose another)", dir);
        return -1;
    }
    return 0;
}

/* Keys config.json needs besides the architecture: the tokenizer's (none for a
 * tokenizer file, which goes beside the weights). */
static int extra_config(const struct trainer *t, char **json, struct strbuf *err)
{
    if (t->cfg->init == INIT_RANDOM && t->cfg->tokenizer) {
        *json = xstrdup("{}");
        return 0;
    }
    if (t->cfg->init == INIT_RANDOM) {
        json_t *o = json_pack("{s:i,s:s}", "pad_token_id", BYTES_PAD_ID, "tokenizer", "bytes");
        *json = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        return 0;
    }
    return model_config_extras(t->cfg->base_model, json, err);
}

/* The llama2.c tokenizer file, if the model has one (the base model's, or the
 * config's for init: random), and the name it gets in the export: a base model's
 * its own, the config's tokenizer.bin (the name tokenizer_for_model() looks for). */
static int tokenizer_source(const struct trainer *t, char **src, const char **name,
                            struct strbuf *err)
{
    *src = NULL;
    *name = NULL;
    if (t->tok.kind != TOKENIZER_LLAMA2C)
        return 0;
    *src = t->cfg->init == INIT_RANDOM
               ? xstrdup(t->cfg->tokenizer)
               : tokenizer_file_for_model(t->cfg->base_model, t->model.cfg.vocab_size);
    if (!*src) {
        sb_addf(err, "cannot find the tokenizer file of '%s'", t->cfg->base_model);
        return -1;
    }
    const char *base = strrchr(*src, '/');
    *name = t->cfg->init == INIT_RANDOM ? "tokenizer.bin" : base ? base + 1 : *src;
    return 0;
}

static int copy_file(const char *src, const char *dir, const char *name, struct strbuf *err)
{
    char *text = NULL, *dst = path_join(dir, name);
    size_t len = 0;
    int rc = read_file(src, &text, &len, err);
    if (rc == 0)
        rc = write_file_atomic(dst, text, len, err);
    free(text);
    free(dst);
    return rc;
}

static int write_model_dir(const char *tmp, const struct model *m, const char *extra,
                           const char *tok_src, const char *tok_name, struct strbuf *err)
{
    int rc = mkdir(tmp, 0777);
    if (rc < 0)
        sb_addf(err, "cannot create '%s': %s", tmp, strerror(errno));
    if (rc == 0)
        rc = model_save_extra(tmp, m, extra, err);
    if (rc == 0 && tok_src)
        rc = copy_file(tok_src, tmp, tok_name, err);
    return rc;
}

int export_model_dir(const char *dir, const char *tmp, const struct model *m,
                     const char *extra_json, const char *tokenizer_src,
                     const char *tokenizer_name, struct strbuf *err)
{
    remove_flat_dir(tmp);   /* what an export cut short left */
    int rc = write_model_dir(tmp, m, extra_json, tokenizer_src, tokenizer_name, err);
    if (rc == 0 && rename(tmp, dir) < 0) {
        sb_addf(err, "cannot rename '%s' to '%s': %s", tmp, dir, strerror(errno));
        rc = -1;
    }
    if (rc == 0) {
        char *parent = path_dirname(dir);
        fsync_dir(parent);
        free(parent);
    } else {
        remove_flat_dir(tmp);
    }
    return rc;
}

static void emit_export(struct trainer *t, const char *dir)
{
    char *weights = path_join(dir, "model.safetensors");
    struct file_digest d;
    struct strbuf why = STRBUF_INIT;
    json_t *ev = metrics_event("export");
    json_object_set_new(ev, "step", json_integer(t->pr.step));
    json_object_set_new(ev, "path", json_string(dir));
    if (digest_file(weights, &d, &why) == 0) {
        json_object_set_new(ev, "sha256", json_string(d.sha256));
        json_object_set_new(ev, "bytes", json_integer(d.bytes));
    }
    if (t->mx)
        metrics_emit(t->mx, ev);
    else
        json_decref(ev);
    sb_free(&why);
    free(weights);
}

int trainer_export(struct trainer *t, const char *dir, struct strbuf *err)
{
    if (export_check_target(dir, err) < 0)
        return -1;
    if (t->lora && lora_merge(t->lora, &t->model) < 0) {
        sb_adds(err, "cannot merge the adapter into the weights");
        return -1;
    }
    char *extra = NULL, *tok_src = NULL;
    const char *tok_name = NULL;
    struct strbuf tmp = STRBUF_INIT;
    sb_addf(&tmp, "%s.tmp", dir);
    int rc = extra_config(t, &extra, err);
    if (rc == 0)
        rc = tokenizer_source(t, &tok_src, &tok_name, err);
    if (rc == 0)
        rc = export_model_dir(dir, tmp.buf, &t->model, extra, tok_src, tok_name, err);
    if (rc == 0)
        emit_export(t, dir);
    free(extra);
    free(tok_src);
    sb_free(&tmp);
    return rc;
}
