/*
 * plan.c - hash what a sweep uses, collect provenance, and hand the result to the
 * registry (see plan.h). The only place that turns a struct sweep into rows.
 */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "canon_json.h"
#include "code_files.h"
#include "fsutil.h"
#include "model_files.h"
#include "plan.h"
#include "source.h"
#include "strbuf.h"
#include "sweep_audit.h"

/* Datasets are distinct by name (two names may share a file); base models by path. */
static size_t find_artifact(const struct plan *p, const char *role, const char *name,
                            const char *path)
{
    for (size_t i = 0; i < p->n_artifacts; i++) {
        const struct plan_artifact *a = &p->artifacts[i];
        if (strcmp(a->role, role) != 0)
            continue;
        if (name ? !strcmp(a->name, name) : !strcmp(a->path, path))
            return i;
    }
    return (size_t)-1;
}

/* A base-model artifact name: the file's slug, made unique with -2, -3... */
static char *unique_name(const struct plan *p, const char *role, const struct sweep_source *src)
{
    json_t *o = json_pack("{s:s}", src->url ? "url" : "path", src->url ? src->url : src->resolved);
    if (src->member)
        json_object_set_new(o, "member", json_string(src->member));
    char *slug = param_value_text(o);
    json_decref(o);
    for (int k = 2;; k++) {
        int taken = 0;
        for (size_t i = 0; i < p->n_artifacts; i++)
            taken |= !strcmp(p->artifacts[i].role, role) && !strcmp(p->artifacts[i].name, slug);
        if (!taken)
            return slug;
        struct strbuf sb = STRBUF_INIT;
        char *dash = strrchr(slug, '-');
        size_t keep = k > 2 && dash ? (size_t)(dash - slug) : strlen(slug);
        sb_add(&sb, slug, keep);
        sb_addf(&sb, "-%d", k);
        free(slug);
        slug = sb_detach(&sb);
    }
}

static int is_bad(const struct plan *p, const char *key)
{
    for (size_t k = 0; k < p->n_bad_paths; k++)
        if (!strcmp(p->bad_paths[k], key))
            return 1;
    return 0;
}

/* Remember a file already reported unreadable, unfetchable or mismatched. */
static size_t mark_bad(struct plan *p, const char *key)
{
    p->bad_paths = xrealloc(p->bad_paths, (p->n_bad_paths + 1) * sizeof(char *));
    p->bad_paths[p->n_bad_paths++] = xstrdup(key);
    return (size_t)-1;
}

static size_t new_artifact(struct plan *p, const char *role, const char *name,
                           const struct sweep_source *src, struct source_file *f,
                           const struct file_digest *d, json_t *files)
{
    p->artifacts = xrealloc(p->artifacts, (p->n_artifacts + 1) * sizeof(*p->artifacts));
    struct plan_artifact *a = &p->artifacts[p->n_artifacts];
    a->role = role;
    a->name = name ? xstrdup(name) : unique_name(p, role, src);
    a->path = f->path;
    a->abs_path = realpath(f->path, NULL);
    if (!a->abs_path)
        a->abs_path = xstrdup(f->path);
    a->origin = f->origin;
    a->fetched = f->fetched;
    a->fetched_bytes = f->fetched_bytes;
    memset(f, 0, sizeof(*f));   /* the artifact owns the strings now */
    a->digest = *d;
    a->files = files;
    return p->n_artifacts++;
}

/*
 * A dataset is its file. A base model is every file it uses (model_files.h): its
 * digest is the named file's (a directory's: its manifest's), and *files gets
 * {name: sha256} of each file when there is more than the one named.
 */
static int artifact_digest(const char *role, const char *path, struct file_digest *d,
                           json_t **files, struct strbuf *err)
{
    *files = NULL;
    if (strcmp(role, "base_model") != 0)
        return digest_file(path, d, err);
    struct model_files m;
    if (model_files_collect(path, &m, err) < 0)
        return -1;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    memset(d, 0, sizeof(*d));
    d->rows = -1;
    memcpy(d->sha256, m.manifest_sha256, sizeof(d->sha256));
    d->bytes = m.bytes;
    for (size_t i = 0; !m.is_dir && i < m.n; i++)
        if (!strcmp(m.v[i].name, base)) {
            memcpy(d->sha256, m.v[i].sha256, sizeof(d->sha256));
            d->bytes = m.v[i].bytes;
        }
    if (m.is_dir || m.n > 1) {
        *files = json_object();
        for (size_t i = 0; i < m.n; i++)
            json_object_set_new(*files, m.v[i].name, json_string(m.v[i].sha256));
    }
    model_files_free(&m);
    return 0;
}

/*
 * Make the source a local file (fetching or unpacking it when needed), hash it
 * once per distinct file and check its pin. Messages name the source as written
 * for URLs and archive members, the path for plain files, at the node `at`.
 */
static size_t add_artifact(struct plan *p, struct source_ctx *ctx, const char *role,
                           const char *name, const struct sweep_source *src,
                           const struct ynode *at, struct diag_list *dl)
{
    const char *file = p->sweep.file, *pin = src->sha256_pin;
    char *shown = src->url || src->member ? sweep_source_text(src) : xstrdup(src->resolved);
    size_t i = (size_t)-1;
    struct source_file f;
    struct strbuf err = STRBUF_INIT;
    struct file_digest d;
    json_t *files = NULL;
    if (is_bad(p, shown)) {
        /* reported once already */
    } else if (source_resolve(ctx, src, &f, &err) < 0) {
        diag_add(dl, file, at->line, at->col, "%s%s%s: %s", role, name ? " " : "",
                 name ? name : "", err.buf);
        mark_bad(p, shown);
    } else if ((i = find_artifact(p, role, name, f.path)) != (size_t)-1) {
        if (pin && strcmp(pin, p->artifacts[i].digest.sha256) != 0) {
            diag_add(dl, file, at->line, at->col, "sha256 mismatch for %s '%s': the sweep pins "
                     "%s but the file has %s", role, shown, pin, p->artifacts[i].digest.sha256);
            i = (size_t)-1;
        }
        source_file_free(&f);
    } else if (artifact_digest(role, f.path, &d, &files, &err) < 0) {
        diag_add(dl, file, at->line, at->col, "%s%s%s: %s", role, name ? " " : "",
                 name ? name : "", err.buf);
        source_file_free(&f);
        mark_bad(p, shown);
    } else if (pin && strcmp(pin, d.sha256) != 0) {
        diag_add(dl, file, at->line, at->col, "sha256 mismatch for %s '%s': the sweep pins %s "
                 "but the file has %s", role, shown, pin, d.sha256);
        source_file_free(&f);
        mark_bad(p, shown);
    } else {
        i = new_artifact(p, role, name, src, &f, &d, files);
        files = NULL;
    }
    json_decref(files);
    sb_free(&err);
    free(shown);
    return i;
}

static void link_artifact(struct plan *p, size_t run, size_t art)
{
    size_t n = p->n_run_artifacts[run];
    p->run_artifacts[run] = xrealloc(p->run_artifacts[run], (n + 1) * sizeof(size_t));
    p->run_artifacts[run][n] = art;
    p->n_run_artifacts[run] = n + 1;
}

/*
 * render: {template: chat}: the sha256 of the chat template beside the base model
 * goes into the contract (render.chat_template_sha256), so a changed template is a
 * changed plan, and the jobs refuse another one. Every base model of the sweep
 * must bring the same template.
 */
static void freeze_chat_template(struct plan *p, const char *model_path, const struct ynode *at,
                                 struct diag_list *dl)
{
    struct render_chat chat;
    struct strbuf err = STRBUF_INIT;
    json_t *render = json_object_get(p->sweep.contract, "render");
    if (render_chat_load(NULL, model_path, &chat, &err) < 0) {
        diag_add(dl, p->sweep.file, at->line, at->col, "%s", err.buf);
        sb_free(&err);
        return;
    }
    const char *had = json_string_value(json_object_get(render, "chat_template_sha256"));
    if (had && strcmp(had, chat.sha256))
        diag_add(dl, p->sweep.file, at->line, at->col, "render.template chat: the base models bring different "
                 "chat templates (sha256 %s and %s)", had, chat.sha256);
    else if (json_is_object(render))
        json_object_set_new(render, "chat_template_sha256", json_string(chat.sha256));
    render_chat_free(&chat);
    sb_free(&err);
}

/* The run's base model: hash it, link it, and write its digest into the params. */
static void add_base_model(struct plan *p, struct source_ctx *ctx, size_t run,
                           struct diag_list *dl)
{
    json_t *bm = json_object_get(p->runs.runs[run].params, "base_model");
    if (!bm)
        return;
    struct sweep_source src;
    sweep_source_from_json(bm, p->sweep.dir, &src);
    const struct ynode *at = p->runs.runs[run].stage->node;
    const struct ynode *top = ymap_get(p->sweep.doc->root, "base_model");
    size_t a = add_artifact(p, ctx, "base_model", NULL, &src, top ? top : at, dl);
    sweep_source_free(&src);
    if (a == (size_t)-1)
        return;
    link_artifact(p, run, a);
    json_object_set_new(bm, "sha256", json_string(p->artifacts[a].digest.sha256));
    if (p->artifacts[a].files)
        json_object_set(bm, "files", p->artifacts[a].files);
    if (p->sweep.tmpl == TEMPLATE_CHAT)
        freeze_chat_template(p, p->artifacts[a].abs_path, top ? top : at, dl);
}

static void hash_artifacts(struct plan *p, struct source_ctx *ctx, struct diag_list *dl)
{
    const struct sweep *s = &p->sweep;
    size_t *datasets = xcalloc(s->n_datasets + 1, sizeof(*datasets));
    for (size_t i = 0; i < s->n_datasets; i++) {
        const struct sweep_source *src = &s->datasets[i].src;
        datasets[i] = add_artifact(p, ctx, "dataset", s->datasets[i].name, src, src->node, dl);
    }
    p->run_artifacts = xcalloc(p->runs.n + 1, sizeof(*p->run_artifacts));
    p->n_run_artifacts = xcalloc(p->runs.n + 1, sizeof(*p->n_run_artifacts));
    for (size_t r = 0; r < p->runs.n; r++) {
        for (size_t i = 0; i < s->n_datasets; i++)
            if (datasets[i] != (size_t)-1)
                link_artifact(p, r, datasets[i]);
        add_base_model(p, ctx, r, dl);
    }
    free(datasets);
}

static void build_canon(struct plan *p, json_t *code)
{
    json_t *arts = json_object(), *model_files = json_object();
    for (size_t i = 0; i < p->n_artifacts; i++) {
        struct strbuf key = STRBUF_INIT;
        sb_addf(&key, "%s/%s", p->artifacts[i].role, p->artifacts[i].name);
        json_object_set_new(arts, key.buf, json_string(p->artifacts[i].digest.sha256));
        if (p->artifacts[i].files)
            json_object_set(model_files, key.buf, p->artifacts[i].files);
        sb_free(&key);
    }
    p->canon = json_pack("{s:O,s:o}", "spec", p->sweep.spec, "artifacts", arts);
    /* Every file of a model beside the one named (config, tokenizer, shards): a
     * changed shard is a changed plan. Models of one file keep the hash they had. */
    if (json_object_size(model_files))
        json_object_set(p->canon, "model_files", model_files);
    json_decref(model_files);
    /* Only when there is code to name: sweeps without keep the hash they had. */
    if (json_object_size(code))
        json_object_set(p->canon, "code", code);
    p->canon_text = json_canon(p->canon);
    sha256_hex(p->canon_text, strlen(p->canon_text), p->canon_sha256);
    p->contract_text = json_canon(p->sweep.contract);
    sha256_hex(p->contract_text, strlen(p->contract_text), p->contract_sha256);
    sha256_hex(p->sweep.text, p->sweep.text_len, p->spec_sha256);
}

const char *plan_dataset_path(const struct plan *p, const char *name)
{
    for (size_t i = 0; i < p->n_artifacts; i++)
        if (!strcmp(p->artifacts[i].role, "dataset") && !strcmp(p->artifacts[i].name, name))
            return p->artifacts[i].path;
    return NULL;
}

const char *plan_run_base_model(const struct plan *p, size_t run)
{
    for (size_t i = 0; p->run_artifacts && run < p->runs.n && i < p->n_run_artifacts[run]; i++) {
        const struct plan_artifact *a = &p->artifacts[p->run_artifacts[run][i]];
        if (!strcmp(a->role, "base_model"))
            return a->path;
    }
    return NULL;
}

static const char *dataset_path(const char *name, void *ud)
{
    return plan_dataset_path(ud, name);
}

int plan_build(const char *sweep_path, const struct fetch_observer *obs, struct plan *out,
               struct diag_list *dl)
{
    memset(out, 0, sizeof(*out));
    size_t before = dl->count;
    if (sweep_load(sweep_path, &out->sweep, dl) < 0)
        return -1;
    if (sweep_expand(&out->sweep, &out->runs, dl) < 0)
        goto failed;
    struct strbuf err = STRBUF_INIT;
    struct source_ctx ctx;
    if (source_ctx_init(&ctx, obs, &err) < 0) {
        diag_add(dl, sweep_path, 0, 0, "%s", err.buf);
        sb_free(&err);
        goto failed;
    }
    hash_artifacts(out, &ctx, dl);
    source_ctx_free(&ctx);
    json_t *code = code_files_digest(&out->sweep, dl);
    if (dl->count != before) {
        json_decref(code);
        goto failed;
    }
    build_canon(out, code);
    json_decref(code);
    if (sweep_audit_run(&out->sweep, dataset_path, out, &out->audit, &err) < 0) {
        diag_add(dl, sweep_path, 0, 0, "data audit: %s", err.buf);
        sb_free(&err);
        goto failed;
    }
    out->audit_text = json_canon(out->audit);
    if (provenance_collect(sweep_path, &out->prov, &err) < 0) {
        diag_add(dl, sweep_path, 0, 0, "%s", err.buf);
        sb_free(&err);
        goto failed;
    }
    return 0;
failed:
    plan_free(out);
    return -1;
}

void plan_free(struct plan *p)
{
    for (size_t i = 0; i < p->n_artifacts; i++) {
        free(p->artifacts[i].name);
        free(p->artifacts[i].path);
        free(p->artifacts[i].abs_path);
        free(p->artifacts[i].origin);
        json_decref(p->artifacts[i].files);
    }
    free(p->artifacts);
    for (size_t i = 0; i < p->n_bad_paths; i++)
        free(p->bad_paths[i]);
    free(p->bad_paths);
    for (size_t r = 0; p->run_artifacts && r < p->runs.n; r++)
        free(p->run_artifacts[r]);
    free(p->run_artifacts);
    free(p->n_run_artifacts);
    plan_runs_free(&p->runs);
    sweep_free(&p->sweep);
    json_decref(p->canon);
    free(p->canon_text);
    free(p->contract_text);
    json_decref(p->audit);
    free(p->audit_text);
    provenance_free(&p->prov);
    memset(p, 0, sizeof(*p));
}

/* ---- recording ---- */

static void fill_run(const struct plan *p, size_t i, struct reg_run_in *in, char **texts)
{
    const struct plan_run *r = &p->runs.runs[i];
    const json_t *lr = json_object_get(r->params, "lr");
    const json_t *seed = json_object_get(r->params, "seed");
    const json_t *cond = json_object_get(r->params, "condition");
    in->run_id = r->id;
    in->stage = r->stage->name;
    in->condition = json_string_value(cond);
    in->has_lr = json_is_number(lr);
    in->lr = json_number_value(lr);
    in->has_seed = json_is_integer(seed);
    in->seed = json_integer_value(seed);
    texts[0] = json_canon(r->params);
    texts[1] = r->pending ? json_canon(r->pending) : NULL;
    in->params_json = texts[0];
    in->pending_json = texts[1];
    in->state = r->pending ? RUN_WAITING : RUN_PLANNED;
    in->artifacts = p->run_artifacts[i];
    in->n_artifacts = p->n_run_artifacts[i];
}

enum reg_status plan_record(struct registry *reg, const struct plan *p, int version,
                            int64_t *sweep_rowid)
{
    size_t n = p->runs.n;
    struct reg_run_in *runs = xcalloc(n + 1, sizeof(*runs));
    char **texts = xcalloc(2 * n + 1, sizeof(*texts));
    for (size_t i = 0; i < n; i++)
        fill_run(p, i, &runs[i], &texts[2 * i]);
    struct reg_artifact_in *arts = xcalloc(p->n_artifacts + 1, sizeof(*arts));
    for (size_t i = 0; i < p->n_artifacts; i++) {
        const struct plan_artifact *a = &p->artifacts[i];
        arts[i] = (struct reg_artifact_in){ a->role, a->name, a->abs_path, a->digest.sha256,
                                            a->digest.bytes, a->digest.rows, a->origin };
    }
    struct reg_sweep_in in = {
        .name = p->sweep.name, .version = version, .spec_path = p->sweep.file,
        .spec_text = p->sweep.text, .spec_sha256 = p->spec_sha256,
        .canon_json = p->canon_text, .canon_sha256 = p->canon_sha256,
        .contract_json = p->contract_text, .contract_sha256 = p->contract_sha256,
        .audit_json = p->audit_text,
        .git = { p->prov.status, p->prov.root, p->prov.commit, p->prov.branch, p->prov.dirty,
                 p->prov.diff },
        .artifacts = arts, .n_artifacts = p->n_artifacts, .runs = runs, .n_runs = n,
    };
    enum reg_status st = reg_record_sweep(reg, &in, sweep_rowid);
    for (size_t i = 0; i < 2 * n; i++)
        free(texts[i]);
    free(texts);
    free(runs);
    free(arts);
    return st;
}
