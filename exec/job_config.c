/*
 * job_config.c - what a job gets (docs/protocol.md): its config file (config.json
 * for a trainer, eval.json for an evaluator) with the run's parameters, datasets,
 * base model and the frozen evaluation and rendering contract; its environment
 * (the protocol's variables and the thread budget); and its command line, the
 * sweep's `command:` or the built-in program's, with {placeholders} filled in.
 */
#include <stdlib.h>
#include <string.h>

#include "blas_env.h"
#include "code_files.h"
#include "fsutil.h"
#include "job.h"
#include "rundir.h"
#include "sched_internal.h"

struct art_ctx {
    json_t *datasets, *base_model;
};

static int add_art(const struct reg_artifact_row *a, void *ud)
{
    struct art_ctx *c = ud;
    json_t *o = json_pack("{s:s,s:s,s:I}", "path", a->path, "sha256", a->sha256, "bytes",
                          (json_int_t)a->bytes);
    if (a->rows >= 0)
        json_object_set_new(o, "rows", json_integer(a->rows));
    if (a->source)
        json_object_set_new(o, "source", json_string(a->source));
    if (!strcmp(a->role, "dataset"))
        json_object_set_new(c->datasets, a->name, o);
    else {
        json_decref(c->base_model);
        c->base_model = o;
    }
    return 0;
}

/* The rendering contract a job needs (docs/protocol.md): `render` {system,
 * template} with the defaults filled in, and `fields` in the entry of each
 * dataset that maps its fields. The frozen contract holds them as declared. */
static void add_render(json_t *cfg, const json_t *contract, json_t *datasets)
{
    const json_t *r = json_object_get(contract, "render");
    json_t *render = json_object();
    json_t *v = json_object_get(r, "system");
    json_object_set_new(render, "system", v ? json_incref(v) : json_null());
    v = json_object_get(r, "template");
    json_object_set_new(render, "template", v ? json_incref(v) : json_string("plain"));
    static const char *const chat_keys[] = { "vars", "chat_template_sha256" };
    for (size_t i = 0; i < sizeof(chat_keys) / sizeof(chat_keys[0]); i++)
        if ((v = json_object_get(r, chat_keys[i])))
            json_object_set(render, chat_keys[i], v);
    json_object_set_new(cfg, "render", render);
    const char *name;
    json_t *ds;
    json_object_foreach(datasets, name, ds) {
        json_t *f = json_object_get(json_object_get(contract, "fields"), name);
        if (f)
            json_object_set(ds, "fields", f);
    }
}

/* What a trainer's and an evaluator's configs share: the sweep, the datasets and
 * base model of run `artifacts_of`, the contract, the job's directory and files,
 * threads and BLAS core. */
static json_t *config_common(struct sched *s, int64_t artifacts_of, const char *dir)
{
    struct art_ctx arts = { json_object(), NULL };
    if (artifacts_of)
        reg_run_artifacts(s->reg, artifacts_of, add_art, &arts);
    json_t *eval = json_object_get(s->spec.contract, "evaluation");
    struct strbuf metrics = STRBUF_INIT;
    sb_addf(&metrics, "%s/" JOB_FILE_METRICS, dir);
    json_t *cfg = json_pack("{s:i,s:s,s:i,s:o,s:o,s:O,s:s,s:i,s:s,s:s}",
                            "protocol", 1, "sweep", s->sw.name, "sweep_version", s->sw.version,
                            "datasets", arts.datasets,
                            "base_model", arts.base_model ? arts.base_model : json_null(),
                            "evaluation", eval ? eval : json_null(),
                            "contract_sha256", s->sw.contract_sha256 ? s->sw.contract_sha256 : "",
                            "threads", s->opt.threads_per_run, "run_dir", dir,
                            "metrics", metrics.buf);
    sb_free(&metrics);
    add_render(cfg, s->spec.contract, json_object_get(cfg, "datasets"));
    const char *core = blas_coretype_for_jobs();
    json_object_set_new(cfg, "blas_coretype", core ? json_string(core) : json_null());
    return cfg;
}

json_t *job_config_train(struct sched *s, const struct reg_exec_run *r, int attempt,
                         int resume, const char *dir)
{
    json_t *cfg = config_common(s, r->rowid, dir);
    json_t *params = json_loads(r->params_json, 0, NULL);
    json_object_set_new(cfg, "run", json_string(r->run_id));
    json_object_set_new(cfg, "stage", json_string(r->stage));
    json_object_set_new(cfg, "attempt", json_integer(attempt));
    json_object_set_new(cfg, "resume", json_boolean(resume));
    json_object_set_new(cfg, "params", params ? params : json_object());
    return cfg;
}

json_t *job_config_eval(struct sched *s, const struct reg_eval_job *e,
                        const struct reg_exec_run *r, const char *dir)
{
    /* The baseline uses the first run's datasets and base model: they are the sweep's. */
    json_t *cfg = config_common(s, r ? r->rowid : s->n_runs ? s->runs[0].rowid : 0, dir);
    json_t *params = r ? json_loads(r->params_json, 0, NULL) : NULL;
    json_object_set_new(cfg, "run", r ? json_string(r->run_id) : json_null());
    json_object_set_new(cfg, "step", e->step >= 0 ? json_integer(e->step) : json_null());
    json_object_set_new(cfg, "checkpoint",
                        e->checkpoint ? json_string(e->checkpoint) : json_null());
    json_object_set_new(cfg, "out_dir", json_string(dir));
    json_object_set_new(cfg, "params", params ? params : json_null());
    /* The same fields as a trainer's config.json, as docs/protocol.md promises. */
    json_object_set_new(cfg, "attempt", json_integer(e->attempt + 1));
    json_object_set_new(cfg, "resume", json_false());
    json_object_set_new(cfg, "stage", r ? json_string(r->stage) : json_null());
    /* The mainline's usable.quantized: every evaluation (a run's selected checkpoint,
     * the baseline) is also scored as a GGUF of that type. */
    json_t *q = json_object_get(json_object_get(json_object_get(s->spec.contract, "mainline"),
                                                "usable"), "quantized");
    const char *quant = json_string_value(json_object_get(q, "quant"));
    if (quant)
        json_object_set_new(cfg, "quantized", json_pack("{s:s}", "quant", quant));
    return cfg;
}

int job_config_write(const char *path, const json_t *cfg, struct strbuf *err)
{
    char *text = json_dumps(cfg, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, text);
    sb_addc(&sb, '\n');
    free(text);
    int rc = write_file_atomic(path, sb.buf, sb.len, err);
    sb_free(&sb);
    return rc;
}

char **job_env(struct sched *s, const char *dir, const char *config, int attempt, int resume)
{
    char **env = xcalloc(12, sizeof(*env));
    size_t n = 0;
    struct strbuf sb = STRBUF_INIT;
#define ENV(...) (sb_addf(&sb, __VA_ARGS__), env[n++] = sb_detach(&sb))
    ENV(JOB_ENV_RUN_DIR "=%s", dir);
    ENV(JOB_ENV_CONFIG "=%s", config);
    ENV(JOB_ENV_METRICS "=%s/" JOB_FILE_METRICS, dir);
    ENV(JOB_ENV_ATTEMPT "=%d", attempt);
    ENV(JOB_ENV_RESUME "=%d", resume);
    ENV(JOB_ENV_THREADS "=%d", s->opt.threads_per_run);
    ENV("OPENBLAS_NUM_THREADS=%d", s->opt.threads_per_run);
    ENV("OMP_NUM_THREADS=%d", s->opt.threads_per_run);
    if (blas_coretype_for_jobs())
        ENV("OPENBLAS_CORETYPE=%s", blas_coretype_for_jobs());
#undef ENV
    return env;
}

json_t *job_vars(struct sched *s, const char *dir, const char *config, int attempt,
                 int resume, const char *run_id, const char *stage, const json_t *cfg)
{
    struct strbuf metrics = STRBUF_INIT;
    sb_addf(&metrics, "%s/" JOB_FILE_METRICS, dir);
    json_t *v = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:s,s:s}", "run_dir", dir,
                          "out_dir", dir, "config", config, "run_id", run_id ? run_id : "",
                          "sweep", s->sw.name, "threads", s->opt.threads_per_run, "attempt",
                          attempt, "metrics", metrics.buf, "stage", stage ? stage : "");
    json_object_set_new(v, "resume", json_string(resume ? "1" : "0"));
    sb_free(&metrics);
    /* {base_model} is the resolved absolute path: jobs run in their own directory,
     * where the path as written in the sweep means nothing. */
    const json_t *path = json_object_get(json_object_get(cfg, "base_model"), "path");
    if (json_is_string(path))
        json_object_set(v, "base_model", (json_t *)path);
    return v;
}

/* The built-in trainer's or evaluator's command line, as a template like a
 * sweep's own `command:`. Returns a new reference. */
static json_t *default_command(struct sched *s, const char *program, int resume)
{
    struct strbuf path = STRBUF_INIT;
    sb_addf(&path, "%s/%s", s->bindir, program);
    json_t *cmd = json_pack("[s,s,s,s,s,s,s]", path.buf, "--config", "{config}",
                            !strcmp(program, "mainline-eval") ? "--out" : "--run-dir",
                            "{run_dir}", "--threads", "{threads}");
    if (resume)
        json_array_append_new(cmd, json_string("--resume"));
    sb_free(&path);
    return cmd;
}

char **job_argv(struct sched *s, const json_t *cmd, const char *program, int resume,
                const json_t *vars, const json_t *params, struct strbuf *err)
{
    json_t *tmpl = cmd ? json_incref((json_t *)cmd) : default_command(s, program, resume);
    char **argv = command_expand(tmpl, vars, params, err);
    json_decref(tmpl);
    /* A job runs in its run directory: `python3 train.py` means the sweep's train.py. */
    for (size_t i = 0; cmd && argv && argv[i]; i++) {
        char *abs = code_files_resolve(&s->spec, argv[i]);
        if (abs) {
            free(argv[i]);
            argv[i] = abs;
        }
    }
    return argv;
}
