/* checkpoint.c - checkpoint directories: write, find, restore, retain (see checkpoint.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "checkpoint.h"
#include "fsutil.h"
#include "safetensors.h"

/* ---- directories ---- */

static char *ckpt_root(const char *run_dir)
{
    return path_join(run_dir, "checkpoints");
}

static char *step_dir(const char *run_dir, const char *prefix, long step)
{
    struct strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "%s/checkpoints/%sstep-%ld", run_dir, prefix, step);
    return sb_detach(&sb);
}

static long dir_bytes(const char *dir)
{
    long total = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        struct stat st;
        char *p = path_join(dir, e->d_name);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            total += (long)st.st_size;
        free(p);
    }
    if (d)
        closedir(d);
    return total;
}

/* N of a "step-N" name, or -1. */
static long step_of_name(const char *name)
{
    if (strncmp(name, "step-", 5) != 0 || name[5] < '0' || name[5] > '9')
        return -1;
    char *end;
    long v = strtol(name + 5, &end, 10);
    return *end ? -1 : v;
}

static int has_state(const char *run_dir, long step)
{
    char *dir = step_dir(run_dir, "", step);
    char *p = path_join(dir, CHECKPOINT_STATE_FILE);
    int ok = access(p, R_OK) == 0;
    free(p);
    free(dir);
    return ok;
}

/* Complete checkpoint steps under run_dir, in *steps (caller frees); the count. */
static size_t list_steps(const char *run_dir, long **steps)
{
    char *root = ckpt_root(run_dir);
    DIR *d = opendir(root);
    size_t n = 0, alloc = 0;
    struct dirent *e;
    *steps = NULL;
    while (d && (e = readdir(d)) != NULL) {
        long s = step_of_name(e->d_name);
        if (s < 0 || !has_state(run_dir, s))
            continue;
        *steps = xgrow(*steps, n + 1, &alloc, sizeof(**steps));
        (*steps)[n++] = s;
    }
    if (d)
        closedir(d);
    free(root);
    return n;
}

/* ---- the PEFT adapter ---- */

static int write_json_file(const char *path, json_t *v, struct strbuf *err)
{
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(v);
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, text ? text : "null");
    sb_addc(&sb, '\n');
    free(text);
    int rc = write_file_atomic(path, sb.buf, sb.len, err);
    sb_free(&sb);
    return rc;
}

static json_t *number_json(double x)
{
    return x == floor(x) && fabs(x) < 1e15 ? json_integer((json_int_t)x) : json_real(x);
}

static json_t *adapter_config(const struct checkpoint_content *c)
{
    const struct lora *lo = c->lo;
    json_t *targets = json_array(), *layers = json_array();
    for (int k = 0; k < TK_COUNT; k++)
        if (c->cfg->targets & LORA_TARGET(k))
            json_array_append_new(targets, json_string(tensor_kind_proj_name((enum tensor_kind)k)));
    int every = 1;
    for (int l = 0; l < lo->n_layers; l++) {
        int on = 0;
        for (int k = 0; k < TK_COUNT; k++)
            on |= lora_find(lo, (enum tensor_kind)k, l) >= 0;
        if (on)
            json_array_append_new(layers, json_integer(l));
        every &= on;
    }
    if (every) {
        json_decref(layers);
        layers = json_null();
    }
    return json_pack("{s:s,s:s,s:s,s:i,s:o,s:f,s:o,s:o,s:s,s:b,s:b,s:b,s:b,s:n}",
                     "peft_type", "LORA", "task_type", "CAUSAL_LM",
                     "base_model_name_or_path", c->cfg->base_model, "r", lo->rank,
                     "lora_alpha", number_json(c->cfg->alpha), "lora_dropout", c->cfg->dropout,
                     "target_modules", targets, "layers_to_transform", layers, "bias", "none",
                     "fan_in_fan_out", 0, "inference_mode", 1, "use_rslora", 0, "use_dora", 0,
                     "modules_to_save");
}

static int write_adapter(const char *dir, const struct checkpoint_content *c, struct strbuf *err)
{
    const struct lora *lo = c->lo;
    size_t n = (size_t)lo->n_adapters * 2;
    struct sft_entry *e = xcalloc(n ? n : 1, sizeof(*e));
    char (*names)[128] = xcalloc(n ? n : 1, sizeof(*names));
    for (int i = 0; i < lo->n_adapters; i++) {
        const struct lora_adapter *a = &lo->ad[i];
        lora_tensor_name(lo, i, 'A', names[2 * i], sizeof(names[0]));
        lora_tensor_name(lo, i, 'B', names[2 * i + 1], sizeof(names[0]));
        e[2 * i] = (struct sft_entry){ names[2 * i], 2, { (size_t)lo->rank, (size_t)a->in }, a->A };
        e[2 * i + 1] = (struct sft_entry){ names[2 * i + 1], 2, { (size_t)a->out,
                                                                  (size_t)lo->rank }, a->B };
    }
    char *path = path_join(dir, "adapter_model.safetensors");
    int rc = sft_write(path, e, n, NULL, 0, err);
    free(path);
    free(names);
    free(e);
    if (rc < 0)
        return -1;
    path = path_join(dir, "adapter_config.json");
    rc = write_json_file(path, adapter_config(c), err);
    free(path);
    return rc;
}

/* ---- trained base tensors ---- */

static int write_base(const char *dir, const struct checkpoint_content *c, struct strbuf *err)
{
    const struct model_config *cfg = &c->m->cfg;
    size_t n = 0, cap = (size_t)TK_COUNT * (size_t)cfg->n_layers;
    struct sft_entry *e = xcalloc(cap, sizeof(*e));
    char (*names)[128] = xcalloc(cap, sizeof(*names));
    json_t *list = json_array();
    for (int k = 0; k < TK_COUNT; k++) {
        int per_layer = tensor_kind_is_per_layer((enum tensor_kind)k);
        if (k == TK_LM_HEAD && cfg->tied_embeddings)
            continue;   /* one tensor with the embedding */
        for (int l = 0; l < (per_layer ? cfg->n_layers : 1); l++) {
            if (!trainable_on(c->tr, (enum tensor_kind)k, l))
                continue;
            struct tensor_ref t = model_tensor(c->m, (enum tensor_kind)k, l);
            model_tensor_name((enum tensor_kind)k, l, names[n], sizeof(names[0]));
            e[n] = t.cols == 1 ? (struct sft_entry){ names[n], 1, { t.rows }, t.data }
                               : (struct sft_entry){ names[n], 2, { t.rows, t.cols }, t.data };
            json_array_append_new(list, json_string(names[n]));
            n++;
        }
    }
    char *path = path_join(dir, "model.safetensors");
    int rc = sft_write(path, e, n, NULL, 0, err);
    free(path);
    free(names);
    free(e);
    json_t *doc = json_pack("{s:s,s:b,s:b,s:o}", "base_model_name_or_path", c->cfg->base_model,
                            "full", c->cfg->full, "tied_embeddings", cfg->tied_embeddings,
                            "tensors", list);
    if (rc < 0) {
        json_decref(doc);
        return -1;
    }
    path = path_join(dir, "trained_tensors.json");
    rc = write_json_file(path, doc, err);
    free(path);
    return rc;
}

/* ---- the trainer state ---- */

enum { META_MAX = 20 };

struct meta_buf {
    struct sft_meta kv[META_MAX];
    char val[META_MAX][48];
    size_t n;
};

static void meta_add(struct meta_buf *mb, const char *key, const char *fmt, ...)
    ATTR_PRINTF(3, 4);
static void meta_add(struct meta_buf *mb, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(mb->val[mb->n], sizeof(mb->val[0]), fmt, ap);
    va_end(ap);
    mb->kv[mb->n].key = key;
    mb->kv[mb->n].value = mb->val[mb->n];
    mb->n++;
}

static void progress_meta(struct meta_buf *mb, const struct checkpoint_content *c,
                          const struct train_progress *pr)
{
    meta_add(mb, "format", "mainline-train-state-1");
    meta_add(mb, "step", "%ld", pr->step);
    meta_add(mb, "epoch", "%ld", pr->epoch);
    meta_add(mb, "epoch_rng", "%" PRIu64, pr->epoch_rng);
    meta_add(mb, "dropout_rng", "%" PRIu64, pr->dropout_rng);
    meta_add(mb, "adam_t", "%ld", c->opt->t);
    meta_add(mb, "tokens", "%ld", pr->tokens);
    meta_add(mb, "best_nll", "%.17g", pr->best_nll);
    meta_add(mb, "best_step", "%ld", pr->best_step);
    meta_add(mb, "win_loss_sum", "%.17g", pr->win_loss_sum);
    meta_add(mb, "win_loss_count", "%ld", pr->win_loss_count);
    meta_add(mb, "win_tokens", "%ld", pr->win_tokens);
    meta_add(mb, "val_nll", "%.17g", c->val_nll);
    meta_add(mb, "val_tokens", "%ld", c->val_tokens);
    meta_add(mb, "n_params", "%zu", c->opt->n);
    mb->kv[mb->n].key = "params_sha256";
    mb->kv[mb->n].value = c->cfg->params_sha256 ? c->cfg->params_sha256 : "";
    mb->n++;
}

static int write_state(const char *dir, const struct checkpoint_content *c,
                       const struct train_progress *pr, struct strbuf *err)
{
    size_t n = c->opt->n, k = 0;
    float *w = xmalloc((n ? n : 1) * sizeof(float));
    for (size_t s = 0; s < c->n_segs; s++) {
        memcpy(w + k, c->segs[s].p, c->segs[s].n * sizeof(float));
        k += c->segs[s].n;
    }
    struct sft_entry e[3] = {
        { "weights", 1, { n }, w }, { "adam_m", 1, { n }, c->opt->m },
        { "adam_v", 1, { n }, c->opt->v },
    };
    struct meta_buf mb = { .n = 0 };
    progress_meta(&mb, c, pr);
    char *path = path_join(dir, CHECKPOINT_STATE_FILE);
    int rc = sft_write(path, e, 3, mb.kv, mb.n, err);
    free(path);
    free(w);
    return rc;
}

int checkpoint_save(const char *run_dir, const struct checkpoint_content *c,
                    const struct train_progress *pr, long *bytes, struct strbuf *err)
{
    char *root = ckpt_root(run_dir);
    char *tmp = step_dir(run_dir, ".tmp-", pr->step), *dir = step_dir(run_dir, "", pr->step);
    int rc = mkdir(root, 0755) < 0 && errno != EEXIST ? -1 : 0;
    remove_flat_dir(tmp);
    if (rc == 0)
        rc = mkdir(tmp, 0755);
    if (rc < 0)
        sb_addf(err, "cannot create '%s': %s", tmp, strerror(errno));
    if (rc == 0 && c->lo)
        rc = write_adapter(tmp, c, err);
    if (rc == 0 && trainable_count(c->tr, &c->m->cfg) > 0)
        rc = write_base(tmp, c, err);
    if (rc == 0)
        rc = write_state(tmp, c, pr, err);
    if (rc == 0) {
        remove_flat_dir(dir);   /* a leftover of an earlier run in this directory */
        rc = rename(tmp, dir);
        if (rc < 0)
            sb_addf(err, "cannot rename '%s' to '%s': %s", tmp, dir, strerror(errno));
    }
    if (rc == 0)
        fsync_dir(root);
    else
        remove_flat_dir(tmp);
    *bytes = rc == 0 ? dir_bytes(dir) : 0;
    free(root);
    free(tmp);
    free(dir);
    return rc;
}

/* ---- restoring ---- */

static int meta_text(const struct sft_file *f, const char *key, const char **out)
{
    *out = sft_meta_get(f, key);
    return *out != NULL;
}

static int meta_u64(const struct sft_file *f, const char *key, uint64_t *out)
{
    const char *s;
    char *end;
    if (!meta_text(f, key, &s) || *s == '-')
        return 0;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return !*end && end != s && errno == 0;
}

/* Every long the trainer stores (steps, counts) is >= 0. */
static int meta_long(const struct sft_file *f, const char *key, long *out)
{
    uint64_t v;
    if (!meta_u64(f, key, &v) || v > LONG_MAX)
        return 0;
    *out = (long)v;
    return 1;
}

static int meta_double(const struct sft_file *f, const char *key, double *out)
{
    const char *s;
    char *end;
    if (!meta_text(f, key, &s))
        return 0;
    *out = strtod(s, &end);
    return !*end && end != s;
}

static int read_progress(const struct sft_file *f, long *adam_t, struct train_progress *pr)
{
    return meta_long(f, "step", &pr->step) && meta_long(f, "epoch", &pr->epoch) &&
           meta_u64(f, "epoch_rng", &pr->epoch_rng) &&
           meta_u64(f, "dropout_rng", &pr->dropout_rng) && meta_long(f, "adam_t", adam_t) &&
           meta_long(f, "tokens", &pr->tokens) && meta_double(f, "best_nll", &pr->best_nll) &&
           meta_long(f, "best_step", &pr->best_step) &&
           meta_double(f, "win_loss_sum", &pr->win_loss_sum) &&
           meta_long(f, "win_loss_count", &pr->win_loss_count) &&
           meta_long(f, "win_tokens", &pr->win_tokens);
}

/* Is the state file f made by a run like this one? A message in err when not. */
static enum checkpoint_status check_match(const struct sft_file *f, const char *params_sha256,
                                          size_t n, struct strbuf *err)
{
    const char *fmt = sft_meta_get(f, "format"), *sha = sft_meta_get(f, "params_sha256");
    long n_params = -1;
    if (!fmt || strcmp(fmt, "mainline-train-state-1") != 0) {
        sb_addf(err, "%s: not a mainline-train state file", f->path);
        return CHECKPOINT_UNREADABLE;
    }
    if (params_sha256 && sha && strcmp(sha, params_sha256) != 0) {
        sb_addf(err, "%s: made by a run with other parameters (params digest %.12s, this run "
                "%.12s)", f->path, sha, params_sha256);
        return CHECKPOINT_MISMATCH;
    }
    if (!meta_long(f, "n_params", &n_params) || (size_t)n_params != n) {
        sb_addf(err, "%s: holds %ld trainable floats, this run has %zu", f->path, n_params, n);
        return CHECKPOINT_MISMATCH;
    }
    return CHECKPOINT_OK;
}

/* Everything is read before anything is changed: a damaged file leaves the run as
 * it was, so the caller can try an older checkpoint. */
static enum checkpoint_status read_state(const struct sft_file *f, const struct param_seg *segs,
                                         size_t n_segs, struct adamw *opt,
                                         struct train_progress *pr, struct strbuf *err)
{
    size_t n = opt->n, k = 0, shape[1] = { n };
    float *w = xmalloc((n ? n : 1) * sizeof(float) * 3), *m = w + n, *v = w + 2 * n;
    long adam_t = 0;
    struct train_progress got;
    int rc = sft_read_f32_named(f, "weights", shape, 1, w, err);
    if (rc == 0)
        rc = sft_read_f32_named(f, "adam_m", shape, 1, m, err);
    if (rc == 0)
        rc = sft_read_f32_named(f, "adam_v", shape, 1, v, err);
    if (rc == 0 && !read_progress(f, &adam_t, &got)) {
        sb_addf(err, "%s: incomplete progress metadata", f->path);
        rc = -1;
    }
    for (size_t s = 0; rc == 0 && s < n_segs; s++) {
        memcpy(segs[s].p, w + k, segs[s].n * sizeof(float));
        k += segs[s].n;
    }
    if (rc == 0) {
        memcpy(opt->m, m, n * sizeof(float));
        memcpy(opt->v, v, n * sizeof(float));
        opt->t = adam_t;
        *pr = got;
    }
    free(w);
    return rc == 0 ? CHECKPOINT_OK : CHECKPOINT_UNREADABLE;
}

enum checkpoint_status checkpoint_load(const char *run_dir, long step, const char *params_sha256,
                                       const struct param_seg *segs, size_t n_segs,
                                       struct adamw *opt, struct train_progress *pr,
                                       struct strbuf *err)
{
    char *dir = step_dir(run_dir, "", step);
    char *path = path_join(dir, CHECKPOINT_STATE_FILE);
    struct sft_file f;
    enum checkpoint_status st =
        sft_open(path, &f, err) == 0 ? CHECKPOINT_OK : CHECKPOINT_UNREADABLE;
    if (st == CHECKPOINT_OK)
        st = check_match(&f, params_sha256, opt->n, err);
    if (st == CHECKPOINT_OK)
        st = read_state(&f, segs, n_segs, opt, pr, err);
    sft_free(&f);
    free(path);
    free(dir);
    return st;
}

long checkpoint_newest(const char *run_dir, long below)
{
    long *steps, best = 0;
    size_t n = list_steps(run_dir, &steps);
    for (size_t i = 0; i < n; i++)
        if (steps[i] > best && (below <= 0 || steps[i] < below))
            best = steps[i];
    free(steps);
    return best;
}

/* ---- retention ---- */

/* The validation NLL checkpoint `step` recorded (NaN when none or unreadable). */
static double ckpt_val_nll(const char *run_dir, long step)
{
    char *dir = step_dir(run_dir, "", step);
    char *path = path_join(dir, CHECKPOINT_STATE_FILE);
    struct strbuf err = STRBUF_INIT;
    struct sft_file f;
    double nll = NAN;
    if (sft_open(path, &f, &err) == 0 && !meta_double(&f, "val_nll", &nll))
        nll = NAN;
    sft_free(&f);
    sb_free(&err);
    free(path);
    free(dir);
    return nll;
}

/* The step with the lowest finite NLL (earliest on ties), or -1. */
static long best_step(const long *steps, const double *nll, size_t n)
{
    long best = -1;
    double best_nll = INFINITY;
    for (size_t i = 0; i < n; i++) {
        int better = nll[i] < best_nll || (nll[i] == best_nll && steps[i] < best);
        if (isfinite(nll[i]) && better) {
            best = steps[i];
            best_nll = nll[i];
        }
    }
    return best;
}

int checkpoint_retain(const char *run_dir, enum keep_policy keep, long just, struct strbuf *err)
{
    if (keep == KEEP_ALL)
        return 0;
    long *steps, last = just;
    size_t n = list_steps(run_dir, &steps);
    double *nll = xcalloc(n ? n : 1, sizeof(double));
    for (size_t i = 0; i < n; i++) {
        nll[i] = ckpt_val_nll(run_dir, steps[i]);
        last = steps[i] > last ? steps[i] : last;
    }
    long best = best_step(steps, nll, n);
    int keep_best = keep == KEEP_BEST || keep == KEEP_BEST_LAST;
    int keep_last = keep == KEEP_LAST || keep == KEEP_BEST_LAST;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        long s = steps[i];
        if (s == just || (keep_best && s == best) || (keep_last && s == last))
            continue;
        char *dir = step_dir(run_dir, "", s);
        if (remove_flat_dir(dir) < 0) {
            sb_addf(err, "%scannot remove '%s': %s", rc ? "; " : "", dir, strerror(errno));
            rc = -1;
        }
        free(dir);
    }
    free(nll);
    free(steps);
    return rc;
}

void checkpoint_clean(const char *run_dir, int all)
{
    char *root = ckpt_root(run_dir);
    DIR *d = opendir(root);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        int tmp = !strncmp(e->d_name, ".tmp-step-", 10);
        if (tmp || (all && step_of_name(e->d_name) >= 0)) {
            char *p = path_join(root, e->d_name);
            remove_flat_dir(p);
            free(p);
        }
    }
    if (d)
        closedir(d);
    free(root);
}
