/*
 * report_model.c - the report's JSON model (report.h): the selection document
 * plus per-run training and throughput numbers, the swept parameters (one field
 * each, listed in "parameters"), validation NLL curves ("curve") and train-loss
 * curves ("train_curve", both [[step, value], ...]), probe answers,
 * the LR selection (the stage picks recorded by `mainline run`) and provenance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "report.h"
#include "params.h"

void report_num(struct strbuf *out, const json_t *v, const char *fmt)
{
    if (json_is_integer(v))
        sb_addf(out, "%lld", (long long)json_integer_value(v));
    else if (json_is_number(v))
        sb_addf(out, fmt, json_number_value(v));
    else
        sb_adds(out, "-");
}

void report_param(struct strbuf *out, const json_t *run, const char *name,
                  const char *missing)
{
    const json_t *v = json_object_get(run, name);
    if (!v || json_is_null(v)) {
        sb_adds(out, missing);
        return;
    }
    char *t = param_value_text(v);
    sb_adds(out, t);
    free(t);
}

void report_param_cells(const json_t *model, const json_t *run,
                        void (*emit)(struct strbuf *out, const char *text), struct strbuf *out)
{
    size_t i;
    json_t *name;
    json_array_foreach(json_object_get(model, "parameters"), i, name) {
        struct strbuf v = STRBUF_INIT;
        report_param(&v, run, json_string_value(name), "-");
        emit(out, v.buf);
        sb_free(&v);
    }
}

const char **report_heads(const json_t *model, const char *const *before,
                          const char *const *after)
{
    const json_t *names = json_object_get(model, "parameters");
    size_t n = json_array_size(names) + 1, k = 0;
    for (size_t i = 0; before[i]; i++)
        n++;
    for (size_t i = 0; after[i]; i++)
        n++;
    const char **heads = xcalloc(n, sizeof(*heads));
    for (size_t i = 0; before[i]; i++)
        heads[k++] = before[i];
    for (size_t i = 0; i < json_array_size(names); i++)
        heads[k++] = json_string_value(json_array_get(names, i));
    for (size_t i = 0; after[i]; i++)
        heads[k++] = after[i];
    return heads;
}

static json_t *opt_real(int has, double v)
{
    return has ? json_real(v) : json_null();
}

/* "lora q_proj+v_proj", "partial", "full" from the run's parameters. */
static json_t *variant_type(const json_t *params)
{
    json_t *adapter = json_object_get(params, "adapter");
    json_t *targets = json_object_get(params, "targets");
    struct strbuf sb = STRBUF_INIT;
    char *a = adapter ? param_value_text(adapter) : xstrdup("-");
    sb_adds(&sb, a);
    free(a);
    if (targets) {
        char *t = param_value_text(targets);
        sb_addf(&sb, " %s", t);
        free(t);
    }
    json_t *s = json_string(sb.buf);
    sb_free(&sb);
    return s;
}

static const json_t *checkpoint_of(const json_t *sel, const char *run_id)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(sel, "checkpoints"), i, c)
        if (!strcmp(json_string_value(json_object_get(c, "run")), run_id))
            return c;
    return NULL;
}

static const struct reg_res_eval *eval_at(const struct reg_results *res, int64_t run,
                                          int64_t step)
{
    const struct reg_res_eval *found = NULL;
    for (size_t i = 0; i < res->n_evals; i++)
        if (res->evals[i].run == run && res->evals[i].step == step)
            found = &res->evals[i];
    return found;
}

static json_t *probes_json(const struct reg_res_eval *e)
{
    json_t *list = json_array();
    for (size_t i = 0; e && i < e->n_probes; i++)
        json_array_append_new(list, json_pack("{s:i,s:s,s:s}", "idx", e->probes[i].idx,
                                              "prompt", e->probes[i].prompt ?: "",
                                              "output", e->probes[i].output ?: ""));
    return list;
}

/* The points of `name` among n points pts as [[step, value], ...]. */
static json_t *curve_json(const struct reg_res_point *pts, size_t n, const char *name)
{
    json_t *curve = json_array();
    for (size_t i = 0; i < n; i++)
        if (!strcmp(pts[i].name, name))
            json_array_append_new(curve, json_pack("[I,f]", (json_int_t)pts[i].step,
                                                   pts[i].value));
    return curve;
}

/* The swept parameters (res->swept) of a run as fields of o, as the sweep declared
 * them (numbers as numbers); null for one the run lacks (a value a pick has not
 * released yet). */
static void swept_fields(const struct reg_results *res, const json_t *params, json_t *o)
{
    for (size_t i = 0; res->swept && res->swept[i]; i++) {
        json_t *v = json_object_get(params, res->swept[i]);
        json_object_set_new(o, res->swept[i], v ? json_incref(v) : json_null());
    }
}

static json_t *run_json(const struct reg_results *res, const json_t *sel,
                        const struct reg_res_run *run)
{
    json_t *params = json_loads(run->params_json, 0, NULL);
    const json_t *ck = checkpoint_of(sel, run->run_id);
    json_t *step = json_object_get(ck, "step");
    const struct reg_res_eval *e = json_is_integer(step) ?
        eval_at(res, run->rowid, json_integer_value(step)) : NULL;
    double val = 0;
    int has_val = 0;
    for (size_t i = 0; json_is_integer(step) && i < run->n_val; i++)
        if (run->val[i].step == json_integer_value(step) && !strcmp(run->val[i].name, "val_nll")) {
            val = run->val[i].value;
            has_val = 1;
        }
    json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:o,s:s,s:o}", "run", run->run_id, "stage",
                          run->stage, "condition", run->condition ? json_string(run->condition)
                                                                  : json_null(),
                          "seed", run->has_seed ? json_integer(run->seed) : json_null(),
                          "lr", opt_real(run->has_lr, run->lr), "state", run->state,
                          "type", variant_type(params));
    swept_fields(res, params, o);   /* condition, lr, seed: the same values as above */
    json_object_set_new(o, "trainable_pct", opt_real(run->has_trainable, run->trainable_pct));
    json_object_set_new(o, "train_loss", opt_real(run->has_train_loss, run->train_loss));
    json_object_set_new(o, "selected_step", step ? json_incref(step) : json_null());
    json_object_set_new(o, "val_nll", opt_real(has_val, val));
    json_object_set_new(o, "peak_rss_mb", opt_real(run->has_peak_rss, run->peak_rss_mb));
    json_object_set_new(o, "train_tok_per_s", opt_real(run->has_train_tok_s, run->train_tok_s));
    json_object_set_new(o, "eval_tok_per_s", opt_real(e && e->tok_per_s > 0,
                                                      e ? e->tok_per_s : 0));
    json_object_set_new(o, "accuracy", opt_real(e != NULL, e ? e->accuracy : 0));
    json_object_set_new(o, "curve", curve_json(run->val, run->n_val, "val_nll"));
    json_object_set_new(o, "train_curve", curve_json(run->train, run->n_train, "loss"));
    json_object_set_new(o, "probes", probes_json(e));
    json_decref(params);
    return o;
}

/* Evaluator outputs (prediction and probe lines) that held a NUL, over the sweep's
 * evaluations: mainline recorded them with U+FFFD in its place (eval_result.c). */
static json_int_t nul_outputs(const struct reg_results *res)
{
    json_int_t n = 0;
    for (size_t i = 0; i < res->n_evals; i++) {
        const char *text = res->evals[i].summary_json;
        json_t *summary = text ? json_loads(text, 0, NULL) : NULL;
        n += json_integer_value(json_object_get(summary, JOB_EVAL_NUL_OUTPUTS));
        json_decref(summary);
    }
    return n;
}

void report_nul_note(const json_t *m, struct strbuf *out)
{
    json_int_t n = json_integer_value(json_object_get(m, "nul_outputs"));
    if (n > 0)
        sb_addf(out, "%lld evaluator output%s held a NUL byte (\\u0000), recorded with "
                "U+FFFD in its place.", (long long)n, n == 1 ? "" : "s");
}

static json_t *lr_selection_json(const struct reg_results *res)
{
    json_t *list = json_array();
    for (size_t i = 0; i < res->n_picks; i++) {
        const struct reg_res_selection *p = &res->picks[i];
        json_t *inputs = json_loads(p->inputs_json ? p->inputs_json : "[]", 0, NULL);
        json_t *choice = json_loads(p->choice_json ? p->choice_json : "{}", 0, NULL);
        json_array_append_new(list, json_pack("{s:s,s:s,s:o,s:o}", "scope", p->scope ?: "",
                                              "rule", p->rule ?: "", "candidates",
                                              inputs ? inputs : json_array(), "choice",
                                              choice ? choice : json_object()));
    }
    return list;
}

static json_t *provenance_json(const struct reg_results *res)
{
    json_t *arts = json_array();
    for (size_t i = 0; i < res->n_artifacts; i++) {
        const struct reg_res_artifact *a = &res->artifacts[i];
        json_array_append_new(arts, json_pack("{s:s,s:s,s:s,s:I}", "role", a->role, "name",
                                              a->name, "sha256", a->sha256, "bytes",
                                              (json_int_t)a->bytes));
    }
    /* the code the runs executed, as plan hashed it (code_files.h): in the canon */
    json_t *canon = res->canon_json ? json_loads(res->canon_json, 0, NULL) : NULL;
    json_t *code = json_object_get(canon, "code");
    json_t *codes = json_array();
    const char *name;
    json_t *sha;
    json_object_foreach(code, name, sha)
        json_array_append_new(codes, json_pack("{s:s,s:O}", "name", name, "sha256", sha));
    json_decref(canon);
    return json_pack("{s:s,s:i,s:s,s:o,s:o,s:o,s:b,s:s,s:o,s:o}", "sweep", res->name, "version",
                     res->version, "planned_at", res->created_at ?: "", "git_status",
                     res->git_status ? json_string(res->git_status) : json_null(),
                     "git_commit", res->git_commit ? json_string(res->git_commit) : json_null(),
                     "git_branch", res->git_branch ? json_string(res->git_branch) : json_null(),
                     "git_dirty", res->git_dirty, "rules_sha256", res->contract_sha256 ?: "",
                     "artifacts", arts, "code", codes);
}

/* Where runs ran on Slurm, every run gets slurm_job and slurm_state (null for a run
 * whose last attempt did not); where none did, neither key is there. */
static void add_slurm_jobs(const struct reg_results *res, json_t *runs)
{
    int any = 0;
    for (size_t i = 0; i < res->n_runs; i++)
        any |= res->runs[i].slurm_job > 0;
    for (size_t i = 0; any && i < res->n_runs; i++) {
        const struct reg_res_run *r = &res->runs[i];
        json_t *o = json_array_get(runs, i);
        json_object_set_new(o, "slurm_job", r->slurm_job > 0 ? json_integer(r->slurm_job)
                                                             : json_null());
        json_object_set_new(o, "slurm_state", r->slurm_job > 0 && r->slurm_state ?
                            json_string(r->slurm_state) : json_null());
    }
}

int report_has_slurm(const json_t *model)
{
    return json_object_get(json_array_get(json_object_get(model, "runs"), 0),
                           "slurm_job") != NULL;
}

/* The runs that failed: id, stage, attempt, why, and the last line of their stderr. */
static json_t *failed_runs_json(const struct reg_results *res)
{
    json_t *list = json_array();
    for (size_t i = 0; i < res->n_runs; i++) {
        const struct reg_res_run *r = &res->runs[i];
        if (strcmp(r->state, "failed") != 0)
            continue;
        json_t *o = json_pack("{s:s,s:s,s:i}", "run", r->run_id, "stage", r->stage,
                              "attempt", r->attempt);
        json_object_set_new(o, "reason", r->fail_reason ? json_string(r->fail_reason)
                                                        : json_null());
        json_object_set_new(o, "stderr_line", r->fail_stderr ? json_string(r->fail_stderr)
                                                             : json_null());
        json_array_append_new(list, o);
    }
    return list;
}

json_t *report_model(const struct reg_results *res, json_t *sel)
{
    json_t *m = json_deep_copy(sel);
    json_t *runs = json_array();
    for (size_t i = 0; i < res->n_runs; i++)
        json_array_append_new(runs, run_json(res, sel, &res->runs[i]));
    add_slurm_jobs(res, runs);
    json_object_set_new(m, "runs", runs);
    json_t *names = json_array();
    for (size_t i = 0; res->swept && res->swept[i]; i++)
        json_array_append_new(names, json_string(res->swept[i]));
    json_object_set_new(m, "parameters", names);
    const struct reg_res_eval *base = eval_at(res, 0, -1);
    json_object_set_new(m, "baseline_probes", probes_json(base));
    json_object_set_new(m, "baseline_tok_per_s", opt_real(base && base->tok_per_s > 0,
                                                          base ? base->tok_per_s : 0));
    json_object_set_new(m, "nul_outputs", json_integer(nul_outputs(res)));
    json_object_set_new(m, "lr_selection", lr_selection_json(res));
    json_object_set_new(m, "provenance", provenance_json(res));
    json_object_set_new(m, "failed_runs", failed_runs_json(res));
    return m;
}
