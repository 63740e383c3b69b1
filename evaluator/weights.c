/* weights.c - base model + checkpoint (see weights.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "fsutil.h"
#include "lora.h"
#include "model_io.h"
#include "safetensors.h"
#include "weights.h"

/* ---- a PEFT adapter ---- */

/* adapter_config.json -> lora_config (layers into *layers, caller frees). */
static int read_adapter_config(const char *path, struct lora_config *lc, int **layers,
                               struct strbuf *err)
{
    json_error_t je;
    json_t *c = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!c) {
        sb_addf(err, "%s: %s", path, je.text);
        return -1;
    }
    const json_t *r = json_object_get(c, "r"), *alpha = json_object_get(c, "lora_alpha");
    const json_t *targets = json_object_get(c, "target_modules");
    const json_t *lt = json_object_get(c, "layers_to_transform");
    int rc = 0;
    memset(lc, 0, sizeof(*lc));
    if (!json_is_integer(r) || json_integer_value(r) < 1 || !json_is_number(alpha) ||
        !json_is_array(targets) || (lt && !json_is_null(lt) && !json_is_array(lt))) {
        sb_addf(err, "%s: needs r (integer >= 1), lora_alpha, target_modules (a list) and "
                "layers_to_transform (null or a list)", path);
        rc = -1;
    } else if (json_is_true(json_object_get(c, "use_rslora")) ||
               json_is_true(json_object_get(c, "use_dora"))) {
        sb_addf(err, "%s: rsLoRA and DoRA adapters are not supported", path);
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < json_array_size(targets); i++) {
        const char *name = json_string_value(json_array_get(targets, i));
        int k = name ? lora_target_kind(name) : -1;
        if (k < 0) {
            sb_addf(err, "%s: target_modules: unknown module '%s'", path, name ? name : "?");
            rc = -1;
        } else {
            lc->targets |= LORA_TARGET(k);
        }
    }
    if (rc == 0) {
        lc->rank = (int)json_integer_value(r);
        lc->alpha = (float)json_number_value(alpha);
        size_t n = json_is_array(lt) ? json_array_size(lt) : 0;
        *layers = xcalloc(n + 1, sizeof(int));
        for (size_t i = 0; i < n; i++)
            (*layers)[i] = (int)json_integer_value(json_array_get(lt, i));
        lc->layers = *layers;
        lc->n_layers = (int)n;
    }
    json_decref(c);
    return rc;
}

/* Every A and B of lo from the adapter file, shaped as the base model says; then
 * nothing else may be in the file. */
static int read_adapter_tensors(struct lora *lo, const char *path, struct strbuf *err)
{
    struct sft_file f;
    if (sft_open(path, &f, err) < 0)
        return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < lo->n_adapters; i++) {
        const struct lora_adapter *a = &lo->ad[i];
        char name[160];
        size_t sa[2] = { (size_t)lo->rank, (size_t)a->in }, sb[2] = { (size_t)a->out,
                                                                       (size_t)lo->rank };
        lora_tensor_name(lo, i, 'A', name, sizeof(name));
        rc = sft_read_f32_named(&f, name, sa, 2, a->A, err);
        lora_tensor_name(lo, i, 'B', name, sizeof(name));
        if (rc == 0)
            rc = sft_read_f32_named(&f, name, sb, 2, a->B, err);
    }
    if (rc == 0 && f.n_tensors != (size_t)lo->n_adapters * 2) {
        sb_addf(err, "%s: %zu tensors, but adapter_config.json describes %d (an A and a B "
                "per adapted projection)", path, f.n_tensors, lo->n_adapters * 2);
        rc = -1;
    }
    if (rc < 0)
        sb_adds(err, " (an adapter for another base model?)");
    sft_free(&f);
    return rc;
}

static int apply_adapter(struct model *m, const char *dir, struct strbuf *err)
{
    char *cfg_path = path_join(dir, "adapter_config.json");
    char *st_path = path_join(dir, "adapter_model.safetensors");
    struct lora_config lc;
    struct lora lo;
    int *layers = NULL;
    char why[200];
    memset(&lo, 0, sizeof(lo));
    int rc = read_adapter_config(cfg_path, &lc, &layers, err);
    if (rc == 0 && lora_init(&lo, &m->cfg, &lc, why, sizeof(why)) < 0) {
        sb_addf(err, "%s: %s (the base model has %d layers)", cfg_path, why, m->cfg.n_layers);
        rc = -1;
    }
    if (rc == 0)
        rc = read_adapter_tensors(&lo, st_path, err);
    if (rc == 0)
        rc = lora_merge(&lo, m);
    lora_free(&lo);
    free(layers);
    free(cfg_path);
    free(st_path);
    return rc;
}

/* ---- changed tensors ---- */

/* The model tensor called `name`, or a ref with data NULL. */
static struct tensor_ref tensor_by_name(const struct model *m, const char *name)
{
    char buf[128];
    for (int k = 0; k < TK_COUNT; k++) {
        int per_layer = tensor_kind_is_per_layer((enum tensor_kind)k);
        if (!model_has_kind(&m->cfg, (enum tensor_kind)k))
            continue;
        for (int l = 0; l < (per_layer ? m->cfg.n_layers : 1); l++) {
            model_tensor_name((enum tensor_kind)k, per_layer ? l : -1, buf, sizeof(buf));
            if (!strcmp(buf, name) && !(k == TK_LM_HEAD && m->cfg.tied_embeddings))
                return model_tensor(m, (enum tensor_kind)k, l);
        }
    }
    return (struct tensor_ref){ TK_COUNT, -1, 0, 0, NULL };
}

static int apply_tensors(struct model *m, const char *dir, struct strbuf *err)
{
    char *path = path_join(dir, "model.safetensors");
    struct sft_file f;
    int rc = sft_open(path, &f, err);
    for (size_t i = 0; rc == 0 && i < f.n_tensors; i++) {
        const struct sft_tensor *t = &f.tensors[i];
        struct tensor_ref r = tensor_by_name(m, t->name);
        if (!r.data) {
            sb_addf(err, "%s: tensor '%s' is not a tensor of the base model (a checkpoint "
                    "of another model?)", path, t->name);
            rc = -1;
            break;
        }
        size_t shape[2] = { r.rows, r.cols };
        rc = sft_read_f32(&f, t, shape, r.cols == 1 ? 1 : 2, r.data, err);
    }
    sft_free(&f);
    free(path);
    return rc;
}

/* ---- entry points ---- */

static int exists(const char *dir, const char *file)
{
    char *p = path_join(dir, file);
    int ok = access(p, F_OK) == 0;
    free(p);
    return ok;
}

int eval_apply_checkpoint(struct model *m, const char *dir, struct strbuf *err)
{
    if (access(dir, F_OK) < 0) {
        sb_addf(err, "checkpoint '%s': %s", dir, strerror(errno));
        return -1;
    }
    if (exists(dir, "adapter_model.safetensors"))
        return apply_adapter(m, dir, err);
    if (exists(dir, "model.safetensors"))
        return apply_tensors(m, dir, err);
    sb_addf(err, "checkpoint '%s' holds neither adapter_model.safetensors nor "
            "model.safetensors", dir);
    return -1;
}

int eval_weights_load(const char *base, const char *checkpoint, struct model *m,
                      struct tokenizer *tok, struct strbuf *err)
{
    memset(tok, 0, sizeof(*tok));
    if (model_load(base, m, err) < 0)
        return -1;
    int rc = tokenizer_for_model(base, &m->cfg, tok, err);
    if (rc == 0 && checkpoint) {
        rc = eval_apply_checkpoint(m, checkpoint, err);
        model_drop_quant(m);   /* the GGUF's blocks no longer hold these weights */
    }
    if (rc < 0) {
        tokenizer_free(tok);
        model_free(m);
    }
    return rc;
}
