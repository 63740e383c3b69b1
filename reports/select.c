/*
 * select.c - `mainline select` (select.h): gather the judged runs, apply the
 * checkpoint rule to each, hand over to the comparison and the mainline, and turn
 * the result into `selections` rows.
 *
 * A run is judged when it is done and its stage does not pick (a picking stage
 * exists to choose a value, e.g. the lr, and is not benchmarked). Evaluations
 * recorded under another contract hash are ignored, with a note.
 */
#include <stdlib.h>
#include <string.h>

#include "canon_json.h"
#include "select_internal.h"
#include "params.h"

int sel_better(const struct sel_ctx *c, double a, double b)
{
    return c->lower_better ? a < b : a > b;
}

int sel_eval_number(const struct reg_res_eval *e, const char *name, double *out)
{
    if (!strncmp(name, "eval_", 5))
        name += 5;
    if (!strcmp(name, "accuracy")) {
        *out = e->accuracy;
        return 1;
    }
    if (!strcmp(name, "tok_per_s")) {
        *out = e->tok_per_s;
        return e->tok_per_s > 0;
    }
    json_t *summary = e->summary_json ? json_loads(e->summary_json, 0, NULL) : NULL;
    json_t *v = json_object_get(summary, name);
    int ok = json_is_number(v);
    if (ok)
        *out = json_number_value(v);
    json_decref(summary);
    return ok;
}

/* The latest evaluation of `run` (0: the baseline) at `step` under this contract. */
static const struct reg_res_eval *find_eval(const struct sel_ctx *c, int64_t run, int64_t step)
{
    const struct reg_res_eval *found = NULL;
    for (size_t i = 0; i < c->res->n_evals; i++) {
        const struct reg_res_eval *e = &c->res->evals[i];
        if (e->run == run && e->step == step && e->contract_sha256 &&
            !strcmp(e->contract_sha256, c->res->contract_sha256))
            found = e;
    }
    return found;
}

static int stage_picks(const struct sel_ctx *c, const char *stage)
{
    return json_object_get(json_object_get(json_object_get(c->spec, "stages"), stage),
                           "pick") != NULL;
}

/* ---- the checkpoint rule, per run ---- */

/* The trainer's validation metric `name` at `step`; later lines win. */
static int val_at(const struct reg_res_run *run, const char *name, int64_t step, double *out)
{
    int found = 0;
    for (size_t i = 0; i < run->n_val; i++)
        if (run->val[i].step == step && !strcmp(run->val[i].name, name)) {
            *out = run->val[i].value;
            found = 1;
        }
    return found;
}

static int value_at(const struct sel_ctx *c, const struct reg_res_run *run, int64_t step,
                    double *out)
{
    if (ckpt_rule_uses_eval(&c->rule)) {
        const struct reg_res_eval *e = find_eval(c, run->rowid, step);
        return e && sel_eval_number(e, c->rule.metric, out);
    }
    return val_at(run, c->rule.metric, step, out);
}

static void choose_checkpoint(struct sel_ctx *c, struct sel_run *sr)
{
    const struct reg_res_run *run = sr->run;
    struct ckpt_candidate *cand = xcalloc(run->n_ckpts + 1, sizeof(*cand));
    sr->inputs = json_array();
    for (size_t i = 0; i < run->n_ckpts; i++) {
        cand[i].step = run->ckpts[i].step;
        cand[i].has_value = c->rule.kind != RULE_LAST &&
                            value_at(c, run, cand[i].step, &cand[i].value);
        json_t *o = json_pack("{s:I}", "step", (json_int_t)cand[i].step);
        if (cand[i].has_value)
            json_object_set_new(o, c->rule.metric, json_real(cand[i].value));
        json_array_append_new(sr->inputs, o);
    }
    sr->ckpt = ckpt_rule_pick(&c->rule, cand, run->n_ckpts);
    if (sr->ckpt >= 0) {
        sr->has_value = cand[sr->ckpt].has_value;
        sr->value = cand[sr->ckpt].value;
        sr->eval = find_eval(c, run->rowid, run->ckpts[sr->ckpt].step);
        if (c->cmp_kind == CMP_ACCURACY) {
            sr->has_cmp = sr->eval != NULL;
            sr->cmp = sr->eval ? sr->eval->accuracy : 0;
            if (!sr->eval)
                sr->note = "its selected checkpoint has no evaluation";
        } else {
            sr->has_cmp = val_at(run, c->metric, run->ckpts[sr->ckpt].step, &sr->cmp);
            if (!sr->has_cmp)
                sr->note = "its selected checkpoint has no value of the compared metric";
        }
    } else {
        sr->note = run->n_ckpts ? "no checkpoint has the rule's metric" : "no checkpoint";
    }
    free(cand);
}

static char *rep_text(const struct reg_res_run *run, const char *over)
{
    json_t *params = json_loads(run->params_json, 0, NULL);
    json_t *v = json_object_get(params, over);
    char *text = v ? param_value_text(v) : xstrdup("-");
    json_decref(params);
    return text;
}

/* The run's cell of compare.by: its name ("-" for no parameter; the condition alone
 * for by [condition]; else "p=v q=w") and its values. */
static void cell_of(const struct sel_ctx *c, struct sel_run *sr)
{
    json_t *params = json_loads(sr->run->params_json, 0, NULL);
    struct strbuf sb = STRBUF_INIT;
    sr->cell_params = json_object();
    for (size_t i = 0; i < c->n_by; i++) {
        const char *name = c->by[i];
        json_t *v = !strcmp(name, "condition") ? json_string(sr->cond)
                                                : json_incref(json_object_get(params, name));
        char *text = v ? param_value_text(v) : xstrdup("-");
        if (c->by_condition)
            sb_adds(&sb, text);
        else
            sb_addf(&sb, "%s%s=%s", i ? " " : "", name, text);
        json_object_set_new(sr->cell_params, name, v ? v : json_null());
        free(text);
    }
    if (!c->n_by)
        sb_adds(&sb, "-");
    sr->cell = sb_detach(&sb);
    json_decref(params);
}

/* A seed counts once per cell: a second run of a cell with the same replicate
 * (another stage, or a parameter not in compare.by) is left out, with a note. */
static void one_replicate_per_cell(struct sel_ctx *c)
{
    for (size_t i = 0; i < c->n_runs; i++)
        for (size_t j = 0; c->runs[i].has_cmp && j < i; j++)
            if (c->runs[j].has_cmp && !strcmp(c->runs[i].cell, c->runs[j].cell) &&
                !strcmp(c->runs[i].rep, c->runs[j].rep)) {
                c->runs[i].has_cmp = 0;
                c->runs[i].note = "another run of its cell has the same replicate: add the "
                                  "parameter that differs to compare.by";
                break;
            }
}

static void gather_runs(struct sel_ctx *c)
{
    c->runs = xcalloc(c->res->n_runs + 1, sizeof(*c->runs));
    for (size_t i = 0; i < c->res->n_runs; i++) {
        const struct reg_res_run *run = &c->res->runs[i];
        if (strcmp(run->state, "done") != 0 || stage_picks(c, run->stage))
            continue;
        struct sel_run *sr = &c->runs[c->n_runs++];
        sr->run = run;
        sr->cond = run->condition ? run->condition : "-";
        sr->rep = rep_text(run, c->over);
        cell_of(c, sr);
        choose_checkpoint(c, sr);
    }
    one_replicate_per_cell(c);
}

static json_t *checkpoint_json(const struct sel_ctx *c, const struct sel_run *sr)
{
    const struct reg_res_run *run = sr->run;
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "run", run->run_id, "stage", run->stage,
                          "condition", sr->cond, c->over, sr->rep);
    if (sr->ckpt >= 0) {
        const struct reg_res_checkpoint *k = &run->ckpts[sr->ckpt];
        json_object_set_new(o, "step", json_integer(k->step));
        json_object_set_new(o, "bytes", k->bytes >= 0 ? json_integer(k->bytes) : json_null());
    }
    if (!c->by_condition)
        json_object_set_new(o, "cell", json_string(sr->cell));
    if (sr->has_value)
        json_object_set_new(o, c->rule.metric, json_real(sr->value));
    if (sr->has_cmp && c->cmp_kind == CMP_TRAINER)
        json_object_set_new(o, c->metric, json_real(sr->cmp));
    if (sr->eval) {
        json_object_set_new(o, "accuracy", json_real(sr->eval->accuracy));
        json_object_set_new(o, "n", json_integer(sr->eval->n));
        json_object_set_new(o, "correct", json_integer(sr->eval->correct));
    }
    if (sr->note)
        json_object_set_new(o, "note", json_string(sr->note));
    return o;
}

/* ---- rules ---- */

/* `accuracy` (higher is better, from scored predictions), or min(M)/max(M) of a
 * trainer's validation metric M (val_*) at each run's selected checkpoint. */
static int read_metric(struct sel_ctx *c, const char *text, struct strbuf *err)
{
    struct ckpt_rule r;
    c->cmp_kind = CMP_ACCURACY;
    c->metric = "accuracy";
    if (!text || !strcmp(text, "accuracy") || !strcmp(text, "eval_accuracy"))
        return 0;
    if (ckpt_rule_parse(text, &r) < 0 || r.kind == RULE_LAST) {
        sb_addf(err, "compare metric '%s' is not accuracy, min(METRIC) or max(METRIC)", text);
        return -1;
    }
    if (!strcmp(r.metric, "accuracy") || !strcmp(r.metric, "eval_accuracy")) {
        if (r.kind == RULE_MAX)
            return 0;
        sb_addf(err, "compare metric '%s': higher accuracy is better", text);
        return -1;
    }
    if (strncmp(r.metric, "val_", 4) != 0) {
        sb_addf(err, "compare metric '%s': verdicts read a trainer's validation metric "
                "(val_*)", text);
        return -1;
    }
    snprintf(c->metric_name, sizeof(c->metric_name), "%s", r.metric);
    c->metric = c->metric_name;
    c->cmp_kind = CMP_TRAINER;
    c->lower_better = r.kind == RULE_MIN;
    return 0;
}

static void add_by(struct sel_ctx *c, const char *name)
{
    c->by = xrealloc(c->by, (c->n_by + 1) * sizeof(*c->by));
    c->by[c->n_by++] = xstrdup(param_find(name) ? param_canonical_name(name) : name);
}

/* The default cells: the condition when conditions are declared, else every
 * parameter swept (more than one value) in a stage that does not pick, but over. */
static void default_by(struct sel_ctx *c)
{
    if (json_object_size(json_object_get(c->spec, "conditions"))) {
        add_by(c, "condition");
        return;
    }
    json_t *stages = json_object_get(c->spec, "stages"), *st, *grids = json_array();
    const char *name;
    if (json_is_object(stages)) {
        json_object_foreach(stages, name, st)
            if (!json_object_get(st, "pick"))
                json_array_append(grids, json_object_get(st, "grid"));
    } else {
        json_array_append(grids, json_object_get(c->spec, "grid"));
    }
    size_t i;
    json_t *grid, *values;
    json_array_foreach(grids, i, grid) {
        json_object_foreach(grid, name, values) {
            const char *canon = param_find(name) ? param_canonical_name(name) : name;
            int seen = !strcmp(canon, c->over);
            for (size_t j = 0; !seen && j < c->n_by; j++)
                seen = !strcmp(c->by[j], canon);
            if (!seen && json_array_size(values) > 1)
                add_by(c, canon);
        }
    }
    json_decref(grids);
}

static void read_by(struct sel_ctx *c, const json_t *by)
{
    size_t i;
    json_t *v;
    if (json_is_string(by))
        add_by(c, json_string_value(by));
    json_array_foreach(by, i, v)
        add_by(c, json_string_value(v));
    if (!by)
        default_by(c);
    c->by_condition = c->n_by == 1 && !strcmp(c->by[0], "condition");
    c->unit = c->by_condition || !c->n_by ? "condition" : "cell";
}

static int read_rules(struct sel_ctx *c, struct strbuf *err)
{
    c->contract = json_loads(c->res->contract_json ? c->res->contract_json : "{}", 0, NULL);
    json_t *canon = json_loads(c->res->canon_json ? c->res->canon_json : "{}", 0, NULL);
    c->spec = json_incref(json_object_get(canon, "spec"));
    json_decref(canon);
    json_t *sel = json_object_get(c->contract, "selection");
    json_t *cmp = json_object_get(sel, "compare");
    c->rule_text = json_string_value(json_object_get(sel, "checkpoint"));
    if (!c->rule_text)
        c->rule_text = "last";
    if (ckpt_rule_parse(c->rule_text, &c->rule) < 0) {
        sb_addf(err, "checkpoint rule '%s' is not last, min(METRIC) or max(METRIC)",
                c->rule_text);
        return -1;
    }
    c->compare_declared = json_is_object(cmp);
    c->over = json_string_value(json_object_get(cmp, "over")) ?: "seed";
    c->test = json_string_value(json_object_get(cmp, "test")) ?: "none";
    json_t *t = json_object_get(cmp, "winner_threshold");
    c->threshold = json_is_number(t) ? json_number_value(t) : 0;
    if (read_metric(c, json_string_value(json_object_get(cmp, "metric")), err) < 0)
        return -1;
    read_by(c, json_object_get(cmp, "by"));
    char msg[256] = "";
    if (mainline_rules_parse(json_object_get(c->contract, "mainline"), &c->ml, msg,
                             sizeof(msg)) < 0) {
        sb_addf(err, "%s", msg);
        return -1;
    }
    return 0;
}

/* ---- rows ---- */

static void add_row(struct selection *s, const char *kind, const char *scope, const char *rule,
                    const json_t *inputs, const json_t *choice)
{
    s->rows = xrealloc(s->rows, (s->n_rows + 1) * sizeof(*s->rows));
    struct reg_res_selection *r = &s->rows[s->n_rows++];
    memset(r, 0, sizeof(*r));
    r->kind = xstrdup(kind);
    r->scope = xstrdup(scope);
    r->rule = xstrdup(rule);
    r->inputs_json = json_canon(inputs);
    r->choice_json = json_canon(choice);
}

static void checkpoint_rows(const struct sel_ctx *c, struct selection *s)
{
    json_t *list = json_object_get(c->doc, "checkpoints");
    for (size_t i = 0; i < c->n_runs; i++)
        add_row(s, "checkpoint", c->runs[i].run->run_id, c->rule_text, c->runs[i].inputs,
                json_array_get(list, i));
}

static void compare_row(const struct sel_ctx *c, struct selection *s)
{
    char scope[160], rule[200];
    struct strbuf by = STRBUF_INIT;
    for (size_t i = 0; i < c->n_by; i++)
        sb_addf(&by, "%s%s", i ? ", " : "", c->by[i]);
    snprintf(scope, sizeof(scope), "%s over %s", c->n_by ? by.buf : "condition", c->over);
    sb_free(&by);
    snprintf(rule, sizeof(rule), "%s(%s) gap >= %.15g; test %s",
             c->lower_better ? "mean, lower is better," : "mean", c->metric, c->threshold,
             c->cmp_kind == CMP_TRAINER ? "bootstrap over seeds" : c->test);
    json_t *inputs = json_pack("{s:O,s:O}", "conditions",
                               json_object_get(c->doc, "conditions"), "pairs",
                               json_object_get(c->doc, "pairs"));
    add_row(s, "compare", scope, rule, inputs, c->compare);
    json_decref(inputs);
}

static void mainline_rows(const struct sel_ctx *c, struct selection *s)
{
    json_t *ml = json_object_get(c->doc, "mainline");
    if (!c->ml.declared)
        return;
    char *rule = json_canon(json_object_get(c->contract, "mainline"));
    size_t i;
    json_t *cand;
    json_array_foreach(json_object_get(ml, "candidates"), i, cand) {
        char scope[200];
        snprintf(scope, sizeof(scope), "candidate %s",
                 json_string_value(json_object_get(cand, "candidate")));
        add_row(s, "mainline", scope, rule, json_object_get(cand, "numbers"), cand);
    }
    json_t *choice = json_pack("{s:O,s:O}", "mainline", json_object_get(ml, "mainline"),
                               "verdict", json_object_get(ml, "verdict"));
    add_row(s, "mainline", "mainline", rule, json_object_get(ml, "prefer"), choice);
    json_decref(choice);
    free(rule);
}

/* ---- the whole ---- */

static void release_ctx(struct sel_ctx *c)
{
    for (size_t i = 0; i < c->n_runs; i++) {
        free(c->runs[i].rep);
        free(c->runs[i].cell);
        json_decref(c->runs[i].cell_params);
        json_decref(c->runs[i].inputs);
    }
    free(c->runs);
    for (size_t i = 0; i < c->n_by; i++)
        free(c->by[i]);
    free(c->by);
    for (size_t i = 0; i < c->n_conds; i++) {
        free(c->conds[i].members);
        free(c->conds[i].values);
    }
    free(c->conds);
    json_decref(c->contract);
    json_decref(c->spec);
    json_decref(c->doc);
}

/* A rule over a metric no run reported at any checkpoint selects nothing: say so,
 * naming what the runs did report, rather than leave every run without a
 * checkpoint ("val_loss" where the trainer writes "val_nll"). */
static int check_rule_metric(const struct sel_ctx *c, struct strbuf *err)
{
    if (c->rule.kind == RULE_LAST)
        return 0;
    size_t with_ckpts = 0;
    for (size_t i = 0; i < c->n_runs; i++) {
        if (c->runs[i].ckpt >= 0)
            return 0;
        with_ckpts += c->runs[i].run->n_ckpts > 0;
    }
    if (!with_ckpts)
        return 0;
    const struct reg_results *res = c->res;
    sb_addf(err, "no run reported '%s' at a checkpoint, so the rule %s selects nothing; they "
            "reported: ", c->rule.metric, c->rule_text);
    for (size_t i = 0; i < res->n_metric_names; i++)
        sb_addf(err, "%s%s", i ? ", " : "", res->metric_names[i]);
    if (!res->n_metric_names)
        sb_adds(err, "no metric at all");
    return -1;
}

int select_compute(const struct reg_results *res, struct selection *out, struct strbuf *err)
{
    memset(out, 0, sizeof(*out));
    struct sel_ctx c = { .res = res, .leader = -1, .runner_up = -1, .mainline = -1 };
    if (read_rules(&c, err) < 0) {
        release_ctx(&c);
        return -1;
    }
    gather_runs(&c);
    if (check_rule_metric(&c, err) < 0) {
        release_ctx(&c);
        return -1;
    }
    c.baseline = find_eval(&c, 0, -1);
    c.doc = json_pack("{s:s,s:i,s:s,s:O,s:s}", "sweep", res->name, "version", res->version,
                      "rules_sha256", res->contract_sha256 ? res->contract_sha256 : "",
                      "rules", c.contract, "checkpoint_rule", c.rule_text);
    json_t *list = json_array();
    for (size_t i = 0; i < c.n_runs; i++)
        json_array_append_new(list, checkpoint_json(&c, &c.runs[i]));
    json_object_set_new(c.doc, "checkpoints", list);
    json_t *base = json_null();
    if (c.baseline) {
        base = json_pack("{s:f,s:I,s:I,s:f}", "accuracy", c.baseline->accuracy, "n",
                         (json_int_t)c.baseline->n, "correct", (json_int_t)c.baseline->correct,
                         "tok_per_s", c.baseline->tok_per_s);
        double nll;
        if (sel_eval_number(c.baseline, "retention_nll", &nll))
            json_object_set_new(base, "retention_nll", json_real(nll));
    }
    json_object_set_new(c.doc, "baseline", base);
    sel_compare(&c);
    sel_mainline(&c);
    sel_statements(&c);
    checkpoint_rows(&c, out);
    compare_row(&c, out);
    mainline_rows(&c, out);
    out->doc = c.doc;
    c.doc = NULL;
    release_ctx(&c);
    return 0;
}

void selection_free(struct selection *s)
{
    json_decref(s->doc);
    reg_res_selections_free(s->rows, s->n_rows);
    memset(s, 0, sizeof(*s));
}
