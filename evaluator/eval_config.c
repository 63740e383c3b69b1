/* eval_config.c - eval.json -> struct eval_config (see eval_config.h). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eval_config.h"
#include "fsutil.h"
#include "json_file.h"
#include "quant.h"

/* A config key's value check: 0 or -1 with "key: why" in err. */

static int opt_string(const json_t *o, const char *key, const char *where, char **out,
                      struct strbuf *err)
{
    const json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        sb_addf(err, "%s%s: must be a string", where, key);
        return -1;
    }
    *out = xstrdup(json_string_value(v));
    return 0;
}

static int opt_count(const json_t *o, const char *key, const char *where, long *out,
                     struct strbuf *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 1) {
        sb_addf(err, "%s%s: must be an integer >= 1", where, key);
        return -1;
    }
    *out = (long)json_integer_value(v);
    return 0;
}

/* A list of non-empty strings. */
static int opt_strings(const json_t *o, const char *key, char ***out, size_t *n,
                       struct strbuf *err)
{
    const json_t *v = json_object_get(o, key);
    *out = NULL;
    *n = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v)) {
        sb_addf(err, "evaluation.%s: must be a list of strings", key);
        return -1;
    }
    *out = xcalloc(json_array_size(v) + 1, sizeof(char *));
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *s = json_string_value(json_array_get(v, i));
        if (!s || !*s) {
            sb_addf(err, "evaluation.%s[%zu]: must be a non-empty string", key, i);
            return -1;
        }
        (*out)[(*n)++] = xstrdup(s);
    }
    return 0;
}

/* datasets.NAME.path, resolved against dir. */
static int dataset_path(const json_t *root, const char *name, const char *dir, char **out,
                        struct strbuf *err)
{
    const json_t *p = json_object_get(json_object_get(json_object_get(root, "datasets"), name),
                                      "path");
    if (!json_is_string(p)) {
        sb_addf(err, "datasets.%s.path: missing (the evaluation names dataset '%s')", name, name);
        return -1;
    }
    *out = path_join(dir, json_string_value(p));
    return 0;
}

static int parse_inputs(const json_t *root, const char *dir, struct eval_config *c,
                        struct strbuf *err)
{
    const json_t *bm = json_object_get(json_object_get(root, "base_model"), "path");
    if (!json_is_string(bm)) {
        sb_adds(err, "base_model.path: missing (a string naming the model)");
        return -1;
    }
    c->base_model = path_join(dir, json_string_value(bm));
    char *ckpt;
    if (opt_string(root, "checkpoint", "", &ckpt, err) < 0)
        return -1;
    c->checkpoint = ckpt ? path_join(dir, ckpt) : NULL;
    free(ckpt);
    const json_t *step = json_object_get(root, "step");
    c->step = json_is_integer(step) ? (long)json_integer_value(step) : -1;
    const json_t *msl = json_object_get(json_object_get(root, "params"), "max_seq_len");
    c->max_seq_len = json_is_integer(msl) ? (long)json_integer_value(msl) : 0;
    if (opt_string(root, "metrics", "", &c->metrics, err) < 0)
        return -1;
    const json_t *r = json_object_get(root, "render");
    if (render_config_parse(r, &c->tmpl, &c->render_system, err) < 0)
        return -1;
    return c->tmpl == TEMPLATE_CHAT ? render_chat_load(r, c->base_model, &c->chat, err) : 0;
}

static int parse_evaluation(const json_t *root, const char *dir, struct eval_config *c,
                            struct strbuf *err)
{
    const json_t *ev = json_object_get(root, "evaluation");
    if (!json_is_object(ev)) {
        sb_adds(err, "evaluation: missing (an object with at least 'dataset')");
        return -1;
    }
    if (opt_string(ev, "dataset", "evaluation.", &c->dataset, err) < 0 ||
        opt_string(ev, "extract", "evaluation.", &c->extract, err) < 0 ||
        opt_string(ev, "pattern", "evaluation.", &c->pattern, err) < 0 ||
        opt_string(ev, "retention", "evaluation.", &c->retention, err) < 0 ||
        opt_count(ev, "max_new_tokens", "evaluation.", &c->max_new_tokens, err) < 0 ||
        opt_count(ev, "limit", "evaluation.", &c->limit, err) < 0 ||
        opt_strings(ev, "stop", &c->stop, &c->n_stop, err) < 0 ||
        opt_strings(ev, "probes", &c->probes, &c->n_probes, err) < 0)
        return -1;
    if (!c->dataset) {
        sb_adds(err, "evaluation.dataset: missing (the name of a dataset)");
        return -1;
    }
    if (!c->extract)
        c->extract = xstrdup("boxed");
    if (dataset_path(root, c->dataset, dir, &c->dataset_path, err) < 0 ||
        render_dataset_fields(root, c->dataset, &c->dataset_fields, err) < 0)
        return -1;
    if (c->retention && (dataset_path(root, c->retention, dir, &c->retention_path, err) < 0 ||
                         render_dataset_fields(root, c->retention, &c->retention_fields, err) < 0))
        return -1;
    return 0;
}

/* quantized: {"quant": "q4_0"} (docs/protocol.md): the mainline's usable.quantized. */
static int parse_quantized(const json_t *root, struct eval_config *c, struct strbuf *err)
{
    const json_t *q = json_object_get(root, "quantized");
    if (!q || json_is_null(q))
        return 0;
    const char *name = json_string_value(json_object_get(q, "quant"));
    int t = name ? quant_parse(name) : -1;
    if (!json_is_object(q) || t < 0 || t == QUANT_F32) {
        sb_adds(err, "quantized.quant: must be one of f16, q8_0, q4_0");
        return -1;
    }
    c->quantized = 1;
    c->quant = t;
    return 0;
}

enum eval_config_status eval_config_load(const char *path, struct eval_config *c,
                                         struct strbuf *err)
{
    memset(c, 0, sizeof(*c));
    c->max_new_tokens = EVAL_DEFAULT_MAX_NEW_TOKENS;
    json_t *root;
    enum json_file_status js = json_file_load_object(path, &root, err);
    if (js != JSON_FILE_OK)
        return js == JSON_FILE_UNREADABLE ? EVAL_CONFIG_UNREADABLE : EVAL_CONFIG_BAD;
    char *dir = path_dirname(path);
    struct strbuf why = STRBUF_INIT;
    int rc = parse_inputs(root, dir, c, &why);
    if (rc == 0)
        rc = parse_evaluation(root, dir, c, &why);
    if (rc == 0)
        rc = parse_quantized(root, c, &why);
    if (rc < 0)
        sb_addf(err, "%s: %s", path, why.buf);
    sb_free(&why);
    free(dir);
    json_decref(root);
    return rc < 0 ? EVAL_CONFIG_BAD : EVAL_CONFIG_OK;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void eval_config_free(struct eval_config *c)
{
    free(c->base_model);
    free(c->checkpoint);
    free(c->dataset);
    free(c->dataset_path);
    render_fields_free(&c->dataset_fields);
    render_fields_free(&c->retention_fields);
    free(c->render_system);
    render_chat_free(&c->chat);
    free(c->extract);
    free(c->pattern);
    free_strings(c->stop, c->n_stop);
    free(c->retention);
    free(c->retention_path);
    free_strings(c->probes, c->n_probes);
    free(c->metrics);
    memset(c, 0, sizeof(*c));
}
