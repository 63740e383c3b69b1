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
 * config's for init: random), copied into dir: a base model's under its own name,
 * the config's as tokenizer.bin (the name tokenizer_for_model() looks for). */
static int copy_tokenizer(const struct trainer *t, const char *dir, struct strbuf *err)
{
    if (t->tok.kind != TOKENIZER_LLAMA2C)
        return 0;
    char *src = t->cfg->init == INIT_RANDOM
                    ? xstrdup(t->cfg->tokenizer)
                    : tokenizer_file_for_model(t->cfg->base_model, t->model.cfg.vocab_size);
    char *text = NULL, *dst = NULL;
    size_t len = 0;
    int rc = -1;
    if (!src)
        sb_addf(err, "cannot find the tokenizer file of '%s'", t->cfg->base_model);
    else if (read_file(src, &text, &len, err) == 0) {
        const char *base = strrchr(src, '/');
        base = t->cfg->init == INIT_RANDOM ? "tokenizer.bin" : base ? base + 1 : src;
        dst = path_join(dir, base);
        rc = write_file_atomic(dst, text, len, err);
    }
    free(text);
    free(dst);
    free(src);
    return rc;
}

static int write_model_dir(struct trainer *t, const char *tmp, struct strbuf *err)
{
    char *extra = NULL;
    if (t->lora && lora_merge(t->lora, &t->model) < 0) {
        sb_adds(err, "cannot merge the adapter into the weights");
        return -1;
    }
    int rc = mkdir(tmp, 0777);
    if (rc < 0)
        sb_addf(err, "cannot create '%s': %s", tmp, strerror(errno));
    if (rc == 0)
        rc = extra_config(t, &extra, err);
    if (rc == 0)
        rc = model_save_extra(tmp, &t->model, extra, err);
    if (rc == 0)
        rc = copy_tokenizer(t, tmp, err);
    free(extra);
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
    struct strbuf tmp = STRBUF_INIT;
    sb_addf(&tmp, "%s.tmp", dir);
    remove_flat_dir(tmp.buf);   /* what an export cut short left */
    int rc = write_model_dir(t, tmp.buf, err);
    if (rc == 0 && rename(tmp.buf, dir) < 0) {
        sb_addf(err, "cannot rename '%s' to '%s': %s", tmp.buf, dir, strerror(errno));
        rc = -1;
    }
    if (rc == 0) {
        char *parent = path_dirname(dir);
        fsync_dir(parent);
        free(parent);
        emit_export(t, dir);
    } else {
        remove_flat_dir(tmp.buf);
    }
    sb_free(&tmp);
    return rc;
}
