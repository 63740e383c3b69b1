/* train_config.c - config.json -> struct train_config (see train_config.h). */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "canon_json.h"
#include "train_config.h"
#include "fsutil.h"
#include "init.h"
#include "json_file.h"
#include "lora.h"
#include "params.h"
#include "suggest.h"
#include "tokenizer.h"
#include "trainable.h"

/* What the parameter checks share: the params object (canonical names), or a
 * member object of it with the prefix its keys are named by in messages
 * ("model."), and where the first error goes. */
struct parser {
    json_t *params;
    struct strbuf *err;
    const char *prefix;
};

static enum config_status bad(struct parser *p, const char *key, const char *fmt, ...)
    ATTR_PRINTF(3, 4);
static enum config_status bad(struct parser *p, const char *key, const char *fmt, ...)
{
    va_list ap;
    sb_addf(p->err, "params.%s%s: ", p->prefix, key);
    va_start(ap, fmt);
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    sb_adds(p->err, buf);
    return CONFIG_BAD;
}

/* A short text of v for messages: 0, "eight", [1, 2]... */
static void value_text(const json_t *v, char *buf, size_t len)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(buf, len, "%s", s ? s : "?");
    if (s && strlen(s) >= len && len > 4)
        memcpy(buf + len - 4, "...", 4);
    free(s);
}

static enum config_status bad_value(struct parser *p, const char *key, const json_t *v,
                                    const char *want)
{
    char text[48];
    value_text(v, text, sizeof(text));
    return bad(p, key, "must be %s, not %s", want, text);
}

/* ---- scalars ---- */

/* An integer (an integral real is accepted too) into *out. */
static int json_long(const json_t *v, long *out)
{
    if (json_is_integer(v)) {
        *out = (long)json_integer_value(v);
        return 1;
    }
    double d = json_is_real(v) ? json_real_value(v) : NAN;
    if (!(fabs(d) < 9e15) || d != floor(d))
        return 0;
    *out = (long)d;
    return 1;
}

static enum config_status get_long(struct parser *p, const char *key, long min, long def,
                                   long *out)
{
    const json_t *v = json_object_get(p->params, key);
    *out = def;
    if (!v || json_is_null(v))
        return CONFIG_OK;
    char want[64];
    snprintf(want, sizeof(want), "an integer >= %ld", min);
    if (!json_long(v, out) || *out < min)
        return bad_value(p, key, v, want);
    return CONFIG_OK;
}

enum num_kind { NUM_POS, NUM_NONNEG, NUM_FRACTION };

static enum config_status get_num(struct parser *p, const char *key, enum num_kind kind,
                                  double def, double *out)
{
    static const char *const wants[] = { "a number > 0", "a number >= 0", "a number in [0, 1)" };
    const json_t *v = json_object_get(p->params, key);
    *out = def;
    if (!v || json_is_null(v))
        return CONFIG_OK;
    double d = json_is_number(v) ? json_number_value(v) : NAN;
    int ok = kind == NUM_POS ? d > 0 : kind == NUM_NONNEG ? d >= 0 : d >= 0 && d < 1;
    if (!ok || !isfinite(d))
        return bad_value(p, key, v, wants[kind]);
    *out = d;
    return CONFIG_OK;
}

/* Index of the string value of key in choices (NULL-terminated), def when absent. */
static enum config_status get_choice(struct parser *p, const char *key,
                                     const char *const *choices, int def, int *out)
{
    const json_t *v = json_object_get(p->params, key);
    *out = def;
    if (!v || json_is_null(v))
        return CONFIG_OK;
    const char *s = json_string_value(v);
    for (int i = 0; s && choices[i]; i++) {
        if (!strcmp(s, choices[i])) {
            *out = i;
            return CONFIG_OK;
        }
    }
    struct strbuf want = STRBUF_INIT;
    sb_adds(&want, "one of ");
    for (int i = 0; choices[i]; i++)
        sb_addf(&want, "%s%s", i ? ", " : "", choices[i]);
    enum config_status st = bad_value(p, key, v, want.buf);
    sb_free(&want);
    return st;
}

static enum config_status get_bool(struct parser *p, const char *key, int *out)
{
    const json_t *v = json_object_get(p->params, key);
    *out = 0;
    if (!v || json_is_null(v))
        return CONFIG_OK;
    if (!json_is_boolean(v))
        return bad_value(p, key, v, "true or false");
    *out = json_is_true(v);
    return CONFIG_OK;
}

/* ---- structured values ---- */

/* "last 4" -> 4, else 0. */
static long last_n_text(const char *s)
{
    if (!s || strncmp(s, "last", 4) != 0 || (s[4] != ' ' && s[4] != '_' && s[4] != '-'))
        return 0;
    char *end;
    long v = strtol(s + 5, &end, 10);
    return *end || end == s + 5 || v < 1 ? 0 : v;
}

static enum config_status parse_layers(struct parser *p, const char *key, const json_t *v,
                                       struct layer_pick *out)
{
    static const char want[] = "\"all\", {\"last\": N} or a list of layer indices >= 0";
    long n;
    memset(out, 0, sizeof(*out));
    if (!v || json_is_null(v) || (json_is_string(v) && !strcmp(json_string_value(v), "all"))) {
        out->all = 1;
        return CONFIG_OK;
    }
    if (last_n_text(json_string_value(v))) {
        out->last = (int)last_n_text(json_string_value(v));
        return CONFIG_OK;
    }
    if (json_is_object(v)) {
        const json_t *last = json_object_get(v, "last");
        if (json_object_size(v) != 1 || !json_long(last, &n) || n < 1 || n > 1 << 20)
            return bad_value(p, key, v, want);
        out->last = (int)n;
        return CONFIG_OK;
    }
    if (!json_is_array(v) || json_array_size(v) == 0)
        return bad_value(p, key, v, want);
    out->n = (int)json_array_size(v);
    out->idx = xcalloc((size_t)out->n, sizeof(int));
    for (int i = 0; i < out->n; i++) {
        if (!json_long(json_array_get(v, (size_t)i), &n) || n < 0 || n > 1 << 20)
            return bad_value(p, key, v, want);
        out->idx[i] = (int)n;
    }
    return CONFIG_OK;
}

static enum config_status parse_targets(struct parser *p, unsigned *out)
{
    const json_t *v = json_object_get(p->params, "targets");
    *out = LORA_TARGET(TK_WQ) | LORA_TARGET(TK_WV);
    if (!v || json_is_null(v))
        return CONFIG_OK;
    static const char want[] = "a list of q_proj, k_proj, v_proj, o_proj, gate_proj, "
                               "up_proj, down_proj or all-linear";
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    *out = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_is_array(v) ? json_array_get(v, i) : v;
        const char *s = json_string_value(item);
        int kind = s ? lora_target_kind(s) : -1;
        if (s && !strcmp(s, "all-linear"))
            *out |= LORA_TARGETS_ALL_LINEAR;
        else if (kind >= 0)
            *out |= LORA_TARGET(kind);
        else
            return bad_value(p, "targets", item, want);
    }
    return *out ? CONFIG_OK : bad_value(p, "targets", v, want);
}

static enum config_status parse_train_part(struct parser *p, const json_t *item,
                                           struct train_config *c)
{
    static const char *const names[] = { "norm", "lm_head", "embeddings" };
    static const unsigned bits[] = { TRAIN_NORM, TRAIN_LM_HEAD, TRAIN_EMBEDDINGS };
    const char *s = json_string_value(item);
    for (int i = 0; s && i < 3; i++) {
        if (!strcmp(s, names[i])) {
            c->parts |= bits[i];
            return CONFIG_OK;
        }
    }
    const json_t *blocks = json_object_get(item, "blocks");
    if (!blocks || json_object_size(item) != 1)
        return bad_value(p, "train", item, "norm, lm_head, embeddings or {\"blocks\": LAYERS}");
    c->parts |= TRAIN_BLOCKS;
    free(c->blocks.idx);
    return parse_layers(p, "train.blocks", blocks, &c->blocks);
}

static enum config_status parse_train_parts(struct parser *p, struct train_config *c)
{
    const json_t *v = json_object_get(p->params, "train");
    if (!v || json_is_null(v))
        return CONFIG_OK;
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (n == 0)
        return bad_value(p, "train", v, "a non-empty list");
    for (size_t i = 0; i < n; i++) {
        enum config_status st = parse_train_part(p, json_is_array(v) ? json_array_get(v, i) : v,
                                                 c);
        if (st != CONFIG_OK)
            return st;
    }
    return CONFIG_OK;
}

static enum config_status parse_eval_point(struct parser *p, const json_t *item,
                                           struct eval_point *out)
{
    long n;
    const char *s = json_string_value(item);
    const json_t *every = json_object_get(item, "every");
    if (json_long(item, &n) && n >= 1) {
        *out = (struct eval_point){ EVAL_STEP, n };
    } else if (s && !strcmp(s, "epoch")) {
        *out = (struct eval_point){ EVAL_EPOCH, 0 };
    } else if (s && !strcmp(s, "end")) {
        *out = (struct eval_point){ EVAL_END, 0 };
    } else if (every && json_object_size(item) == 1 && json_long(every, &n) && n >= 1) {
        *out = (struct eval_point){ EVAL_EVERY, n };
    } else {
        return bad_value(p, "eval_at", item, "a step >= 1, \"epoch\", \"end\" or {\"every\": K}");
    }
    return CONFIG_OK;
}

static enum config_status parse_eval_at(struct parser *p, struct train_config *c)
{
    const json_t *v = json_object_get(p->params, "eval_at");
    if (!v || json_is_null(v)) {
        c->n_eval_at = 2;
        c->eval_at = xcalloc(2, sizeof(*c->eval_at));
        c->eval_at[0] = (struct eval_point){ EVAL_EPOCH, 0 };
        c->eval_at[1] = (struct eval_point){ EVAL_END, 0 };
        return CONFIG_OK;
    }
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (n == 0)
        return bad_value(p, "eval_at", v, "a non-empty list");
    c->eval_at = xcalloc(n, sizeof(*c->eval_at));
    c->n_eval_at = n;
    for (size_t i = 0; i < n; i++) {
        enum config_status st = parse_eval_point(p, json_is_array(v) ? json_array_get(v, i) : v,
                                                 &c->eval_at[i]);
        if (st != CONFIG_OK)
            return st;
    }
    return CONFIG_OK;
}

/* ---- a model trained from scratch ---- */

static const char *const arch_keys[] = {
    "dim", "n_layers", "n_heads", "hidden_dim", "max_seq_len",   /* required */
    "n_kv_heads", "vocab_size", "tied", "rope_theta", "norm_eps", "init_std", NULL,
};
#define ARCH_REQUIRED 5

static enum config_status arch_keys_known(struct parser *m)
{
    const char *key;
    json_t *v;
    for (int i = 0; i < ARCH_REQUIRED; i++) {
        if (!json_object_get(m->params, arch_keys[i]))
            return bad(m, arch_keys[i], "missing (an integer >= 1)");
    }
    json_object_foreach(m->params, key, v) {
        int known = 0;
        for (int i = 0; arch_keys[i] && !known; i++)
            known = !strcmp(key, arch_keys[i]);
        if (!known) {
            size_t n = sizeof(arch_keys) / sizeof(*arch_keys) - 1;
            const char *near = closest_word(key, arch_keys, n);
            return bad(m, key, "unknown key%s%s%s", near ? " (did you mean '" : "",
                       near ? near : "", near ? "'?)" : "");
        }
    }
    return CONFIG_OK;
}

static enum config_status arch_ints(struct parser *m, struct model_config *a)
{
    long v[7];
    static const char *const names[] = { "dim", "n_layers", "n_heads", "hidden_dim",
                                         "max_seq_len" };
    enum config_status st = CONFIG_OK;
    for (int i = 0; i < 5 && st == CONFIG_OK; i++)
        st = get_long(m, names[i], 1, 0, &v[i]);
    if (st == CONFIG_OK)
        st = get_long(m, "n_kv_heads", 1, v[2], &v[5]);
    if (st == CONFIG_OK)
        st = get_long(m, "vocab_size", BYTES_PAD_ID + 1, 260, &v[6]);
    if (st != CONFIG_OK)
        return st;
    for (int i = 0; i < 7; i++)
        v[i] = v[i] > 1 << 24 ? 1 << 24 : v[i];   /* model_config_check names the culprit */
    a->dim = (int)v[0];
    a->n_layers = (int)v[1];
    a->n_heads = (int)v[2];
    a->hidden_dim = (int)v[3];
    a->max_seq_len = (int)v[4];
    a->n_kv_heads = (int)v[5];
    a->vocab_size = (int)v[6];
    return CONFIG_OK;
}

/* params.model -> c->arch and c->init_std. */
static enum config_status parse_arch(struct parser *p, struct train_config *c)
{
    json_t *obj = json_object_get(p->params, "model");
    if (!json_is_object(obj))
        return obj ? bad_value(p, "model", obj, "an object {dim, n_layers, n_heads, ...}")
                   : bad(p, "model", "missing: init: random builds the model it describes "
                         "({dim, n_layers, n_heads, hidden_dim, max_seq_len, ...})");
    struct parser m = { obj, p->err, "model." };
    struct model_config *a = &c->arch;
    double theta, eps;
    int tied_given = json_object_get(obj, "tied") != NULL;
    enum config_status st = arch_keys_known(&m);
    if (st == CONFIG_OK)
        st = arch_ints(&m, a);
    if (st == CONFIG_OK)
        st = get_bool(&m, "tied", &a->tied_embeddings);
    if (!tied_given)
        a->tied_embeddings = 1;
    if (st == CONFIG_OK)
        st = get_num(&m, "rope_theta", NUM_POS, 10000.0, &theta);
    if (st == CONFIG_OK)
        st = get_num(&m, "norm_eps", NUM_POS, 1e-5, &eps);
    if (st == CONFIG_OK)
        st = get_num(&m, "init_std", NUM_POS, MODEL_INIT_STD_DEFAULT, &c->init_std);
    a->rope_theta = (float)theta;
    a->norm_eps = (float)eps;
    a->bos_id = BYTES_BOS_ID;
    a->eos_id = BYTES_EOS_ID;
    char why[160];
    if (st == CONFIG_OK && model_config_check(a, why, sizeof(why)) < 0)
        return bad(p, "model", "%s", why);
    return st;
}

/* init: pretrained (a base_model) or random (params.model). */
static enum config_status parse_init(struct parser *p, struct train_config *c)
{
    int init = 0;
    enum config_status st = get_choice(p, "init", param_choices("init"), INIT_PRETRAINED, &init);
    c->init = (enum model_init)init;
    if (st == CONFIG_OK && c->init == INIT_RANDOM)
        return parse_arch(p, c);
    if (st == CONFIG_OK && json_object_get(p->params, "model"))
        return bad(p, "model", "only with init: random (a pretrained model has its own config)");
    return st;
}

/* init: random trains every weight: full is implied, an adapter or a part list is
 * a contradiction. */
static enum config_status random_init_trains_all(struct parser *p, struct train_config *c)
{
    const json_t *full = json_object_get(p->params, "full");
    const json_t *adapter = json_object_get(p->params, "adapter");
    if (full && json_is_false(full))
        return bad(p, "full", "init: random trains every weight: leave full out or set it true");
    if (json_object_get(p->params, "train"))
        return bad(p, "train", "init: random trains every weight, not a part of them");
    if (adapter && !json_is_null(adapter) &&
        !(json_is_string(adapter) && !strcmp(json_string_value(adapter), "none")))
        return bad_value(p, "adapter", adapter, "none with init: random (it trains every weight)");
    c->full = 1;
    c->adapter = ADAPTER_NONE;
    return CONFIG_OK;
}

/* ---- the parameter groups ---- */

static enum config_status parse_what_trains(struct parser *p, struct train_config *c)
{
    if (c->init == INIT_RANDOM && random_init_trains_all(p, c) != CONFIG_OK)
        return CONFIG_BAD;
    int full = 0;
    enum config_status st = get_bool(p, "full", &full);
    c->full = c->full || full;
    if (st == CONFIG_OK)
        st = parse_train_parts(p, c);
    int adapter = 0;
    int tunes_base = c->full || c->parts;
    if (st == CONFIG_OK)
        st = get_choice(p, "adapter", param_choices("adapter"),
                        tunes_base ? ADAPTER_NONE : ADAPTER_LORA, &adapter);
    c->adapter = (enum train_adapter)adapter;
    if (st == CONFIG_OK && c->adapter == ADAPTER_NONE && !tunes_base)
        return bad(p, "adapter", "none trains nothing: set full: true or train: [...]");
    long rank = 8;
    if (st == CONFIG_OK)
        st = get_long(p, "rank", 1, 8, &rank);
    c->rank = (int)(rank > 65536 ? 65536 : rank);
    if (st == CONFIG_OK)
        st = get_num(p, "alpha", NUM_POS, 16.0, &c->alpha);
    if (st == CONFIG_OK)
        st = get_num(p, "dropout", NUM_FRACTION, 0.0, &c->dropout);
    if (st == CONFIG_OK)
        st = parse_targets(p, &c->targets);
    if (st == CONFIG_OK)
        st = parse_layers(p, "layers", json_object_get(p->params, "layers"), &c->layers);
    return st;
}

static enum config_status parse_schedule(struct parser *p, struct train_config *c)
{
    int sched = 0;
    enum config_status st = get_num(p, "lr", NUM_POS, 1e-4, &c->lr);
    if (st == CONFIG_OK)
        st = get_num(p, "min_lr", NUM_NONNEG, 0.0, &c->min_lr);
    if (st == CONFIG_OK && c->min_lr > c->lr)
        return bad(p, "min_lr", "must not exceed lr (%g > %g)", c->min_lr, c->lr);
    if (st == CONFIG_OK)
        st = get_long(p, "warmup_steps", 0, 0, &c->warmup_steps);
    if (st == CONFIG_OK)
        st = get_choice(p, "lr_schedule", param_choices("lr_schedule"), SCHED_COSINE, &sched);
    c->schedule = (enum lr_schedule_kind)sched;
    if (st == CONFIG_OK)
        st = get_long(p, "max_steps", 1, 0, &c->max_steps);
    int epochs_given = json_object_get(p->params, "epochs") != NULL;
    if (st == CONFIG_OK)
        st = get_long(p, "epochs", 1, c->max_steps && !epochs_given ? 0 : 1, &c->epochs);
    return st;
}

static enum config_status parse_optimizer(struct parser *p, struct train_config *c)
{
    enum config_status st = get_long(p, "batch_size", 1, 8, &c->batch_size);
    if (st == CONFIG_OK)
        st = get_long(p, "micro_batch_size", 1, c->batch_size, &c->micro_batch_size);
    if (c->micro_batch_size > c->batch_size)
        c->micro_batch_size = c->batch_size;
    if (st == CONFIG_OK)
        st = get_num(p, "weight_decay", NUM_NONNEG, 0.0, &c->weight_decay);
    if (st == CONFIG_OK)
        st = get_num(p, "beta1", NUM_FRACTION, 0.9, &c->beta1);
    if (st == CONFIG_OK)
        st = get_num(p, "beta2", NUM_FRACTION, 0.999, &c->beta2);
    if (st == CONFIG_OK)
        st = get_num(p, "eps", NUM_POS, 1e-8, &c->eps);
    if (st == CONFIG_OK)
        st = get_num(p, "grad_clip", NUM_NONNEG, 1.0, &c->grad_clip);
    return st;
}

static enum config_status parse_rest(struct parser *p, struct train_config *c)
{
    int objective = 0, keep = 0;
    long seed = 0;
    enum config_status st = get_long(p, "max_seq_len", 2, 0, &c->max_seq_len);
    if (st == CONFIG_OK)
        st = get_long(p, "seed", 0, 0, &seed);
    c->seed = (uint64_t)seed;
    if (st == CONFIG_OK)
        st = get_long(p, "train_rows", 1, 0, &c->train_rows);
    if (st == CONFIG_OK)
        st = get_long(p, "valid_rows", 1, 0, &c->valid_rows);
    if (st == CONFIG_OK)
        st = parse_eval_at(p, c);
    if (st == CONFIG_OK)
        st = get_long(p, "report_every", 1, 10, &c->report_every);
    if (st == CONFIG_OK)
        st = get_choice(p, "objective", param_choices("objective"), 0, &objective);
    if (st == CONFIG_OK)
        st = get_choice(p, "keep", param_choices("keep"), KEEP_BEST_LAST, &keep);
    c->keep = (enum keep_policy)keep;
    return st;
}

/* ---- the whole file ---- */

/* params with canonical names (learning_rate -> lr); an unknown name is refused. */
static enum config_status canonical_params(const json_t *in, json_t **out, struct strbuf *err)
{
    const char *const *names = param_names();
    size_t n_names = 0;
    while (names[n_names])
        n_names++;
    *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in, key, v) {
        const char *name = param_canonical_name(key);
        if (!param_find(key)) {
            const char *near = closest_word(key, names, n_names);
            sb_addf(err, "params.%s: unknown parameter%s%s%s", key,
                    near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
            return CONFIG_BAD;
        }
        if (json_object_get(*out, name)) {
            sb_addf(err, "params.%s: set twice ('%s' is another name for it)", name, key);
            return CONFIG_BAD;
        }
        json_object_set(*out, name, v);
    }
    return CONFIG_OK;
}

/* root.section.name.path, resolved against base_dir; NULL (and no error) when the
 * whole entry is absent and optional. */
static enum config_status input_path(const json_t *root, const char *section, const char *name,
                                     const char *base_dir, int required, char **out,
                                     struct strbuf *err)
{
    const json_t *sec = json_object_get(root, section);
    const json_t *entry = name ? json_object_get(sec, name) : sec;
    const json_t *path = json_object_get(entry, "path");
    const char *where = name ? name : "";
    *out = NULL;
    if ((!entry || json_is_null(entry)) && !required)
        return CONFIG_OK;
    if (!json_is_string(path) || !*json_string_value(path)) {
        sb_addf(err, "%s%s%s.path: missing (a string naming the file)", section, *where ? "." : "",
                where);
        return CONFIG_BAD;
    }
    *out = path_join(base_dir, json_string_value(path));
    return CONFIG_OK;
}

static enum config_status parse_render(const json_t *root, struct train_config *c,
                                       struct strbuf *err)
{
    const json_t *r = json_object_get(root, "render");
    if (render_config_parse(r, &c->tmpl, &c->render_system, err) < 0)
        return CONFIG_BAD;
    if (c->tmpl != TEMPLATE_CHAT)
        return CONFIG_OK;
    if (!c->base_model) {
        sb_adds(err, "render.template chat: needs a base_model (its tokenizer_config.json)");
        return CONFIG_BAD;
    }
    return render_chat_load(r, c->base_model, &c->chat, err) < 0 ? CONFIG_BAD : CONFIG_OK;
}

/* datasets.NAME.fields: the dataset's field mapping (render.h). */
static enum config_status dataset_fields(const json_t *root, const char *name,
                                         struct render_fields *f, struct strbuf *err)
{
    return render_dataset_fields(root, name, f, err) < 0 ? CONFIG_BAD : CONFIG_OK;
}

static enum config_status parse_inputs(const json_t *root, const char *base_dir,
                                       struct train_config *c, struct strbuf *err)
{
    const json_t *bm = json_object_get(root, "base_model");
    if (c->init == INIT_RANDOM && bm && !json_is_null(bm)) {
        sb_adds(err, "base_model: not used with params.init: random (the model is built from "
                "params.model): remove one of them");
        return CONFIG_BAD;
    }
    const json_t *tk = json_object_get(root, "tokenizer");
    if (c->init == INIT_PRETRAINED && tk && !json_is_null(tk)) {
        sb_adds(err, "tokenizer: only with params.init: random (a base model brings its own)");
        return CONFIG_BAD;
    }
    enum config_status st = input_path(root, "base_model", NULL, base_dir,
                                       c->init == INIT_PRETRAINED, &c->base_model, err);
    if (st == CONFIG_OK)
        st = input_path(root, "tokenizer", NULL, base_dir, 0, &c->tokenizer, err);
    if (st == CONFIG_OK && c->tokenizer) {   /* llama2.c's special ids */
        c->arch.bos_id = 1;
        c->arch.eos_id = 2;
    }
    if (st == CONFIG_OK)
        st = input_path(root, "datasets", "train", base_dir, 1, &c->train_path, err);
    if (st == CONFIG_OK)
        st = input_path(root, "datasets", "valid", base_dir, 0, &c->valid_path, err);
    if (st == CONFIG_OK)
        st = parse_render(root, c, err);
    if (st == CONFIG_OK)
        st = dataset_fields(root, "train", &c->train_fields, err);
    if (st == CONFIG_OK)
        st = dataset_fields(root, "valid", &c->valid_fields, err);
    return st;
}

enum config_status train_config_parse(const json_t *root, const char *base_dir,
                                      struct train_config *c, struct strbuf *err)
{
    memset(c, 0, sizeof(*c));
    if (!json_is_object(root)) {
        sb_adds(err, "must be a JSON object");
        return CONFIG_BAD;
    }
    const json_t *params = json_object_get(root, "params");
    if (params && !json_is_object(params)) {
        sb_adds(err, "params: must be an object");
        return CONFIG_BAD;
    }
    json_t *canon = NULL;
    json_t *empty = json_object();
    enum config_status st = canonical_params(params ? params : empty, &canon, err);
    json_decref(empty);
    struct parser p = { canon, err, "" };
    if (st == CONFIG_OK)
        st = parse_init(&p, c);
    if (st == CONFIG_OK)
        st = parse_inputs(root, base_dir, c, err);
    if (st == CONFIG_OK)
        st = parse_what_trains(&p, c);
    if (st == CONFIG_OK)
        st = parse_schedule(&p, c);
    if (st == CONFIG_OK)
        st = parse_optimizer(&p, c);
    if (st == CONFIG_OK)
        st = parse_rest(&p, c);
    if (st == CONFIG_OK) {
        char digest[SHA256_HEX_LEN + 1];
        json_canon_sha256(canon, digest);
        c->params_sha256 = xstrdup(digest);
    }
    json_decref(canon);
    return st;
}

enum config_status train_config_load(const char *path, struct train_config *c,
                                     struct strbuf *err)
{
    memset(c, 0, sizeof(*c));
    json_t *root;
    enum json_file_status js = json_file_load_object(path, &root, err);
    if (js != JSON_FILE_OK)
        return js == JSON_FILE_UNREADABLE ? CONFIG_UNREADABLE : CONFIG_BAD;
    char *dir = path_dirname(path);
    struct strbuf why = STRBUF_INIT;
    enum config_status st = train_config_parse(root, dir, c, &why);
    if (st != CONFIG_OK)
        sb_addf(err, "%s: %s", path, why.buf);
    sb_free(&why);
    free(dir);
    json_decref(root);
    return st;
}

void train_config_free(struct train_config *c)
{
    free(c->base_model);
    free(c->tokenizer);
    free(c->train_path);
    free(c->valid_path);
    free(c->render_system);
    render_chat_free(&c->chat);
    render_fields_free(&c->train_fields);
    render_fields_free(&c->valid_fields);
    free(c->params_sha256);
    free(c->layers.idx);
    free(c->blocks.idx);
    free(c->eval_at);
    memset(c, 0, sizeof(*c));
}

const char *keep_policy_name(enum keep_policy k)
{
    const char *const *names = param_choices("keep");
    return (unsigned)k <= KEEP_BEST_LAST ? names[k] : "?";
}
