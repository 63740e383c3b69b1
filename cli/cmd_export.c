/*
 * cmd_export.c - `mainline export`: a sweep's mainline (or one run's selected
 * checkpoint, or any model) in the formats people deploy: a Hugging Face
 * directory, a GGUF file for llama.cpp, an Ollama directory (model_export.h).
 *
 * Which checkpoint: the frozen rules decide, as `mainline select` applies them
 * (select_compute(), nothing recorded). Without RUN, the mainline condition; of
 * its runs, the one whose selected checkpoint scored the highest accuracy on the
 * frozen benchmark (the first in plan order on a tie). No mainline (none declared,
 * no candidate passing every layer) is refused with the verdict's reason. With
 * RUN, that run's selected checkpoint. The Ollama Modelfile takes the sweep's
 * rendering contract (template, system prompt) and its evaluation's stop strings
 * and max_new_tokens.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_write.h"
#include "cli.h"
#include "fsutil.h"
#include "model_export.h"
#include "reg_exec.h"
#include "reg_results.h"
#include "rundir.h"
#include "select.h"

static const char export_usage[] =
    "usage: mainline export SWEEP [RUN] --format hf|gguf|ollama|bundle [--quant Q] -o OUT\n"
    "   or: mainline export --model PATH [--checkpoint DIR] --format F [--quant Q]\n"
    "                       [--template plain|chatml|llama2] [--system TEXT] -o OUT\n";

/* Beside model_export.h's formats: runs with their records, for `mainline import`. */
#define FORMAT_BUNDLE 100

struct export_args {
    const char *sweep, *run, *model, *checkpoint, *out, *system;
    int format, quant, tmpl;
};

static int parse_export_args(int argc, char **argv, struct export_args *a)
{
    static const struct option opts[] = {
        { "format", required_argument, NULL, 'f' }, { "quant", required_argument, NULL, 'q' },
        { "output", required_argument, NULL, 'o' }, { "model", required_argument, NULL, 'm' },
        { "checkpoint", required_argument, NULL, 'c' },
        { "template", required_argument, NULL, 't' }, { "system", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    memset(a, 0, sizeof(*a));
    a->format = a->quant = a->tmpl = -1;
    const char *format = NULL, *quant = "f32", *tmpl = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:q:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 'q': quant = optarg; break;
        case 'o': a->out = optarg; break;
        case 'm': a->model = optarg; break;
        case 'c': a->checkpoint = optarg; break;
        case 't': tmpl = optarg; break;
        case 's': a->system = optarg; break;
        default: return -1;
        }
    }
    int rest = argc - optind;
    if (a->model ? rest != 0 : rest < 1 || rest > 2)
        return error(a->model ? "--model exports a model, not a sweep: no SWEEP or RUN"
                              : "name the SWEEP (and optionally one RUN)");
    if (!a->model) {
        a->sweep = argv[optind];
        a->run = rest == 2 ? argv[optind + 1] : NULL;
        if (a->checkpoint || tmpl || a->system)
            return error("--checkpoint, --template and --system go with --model; a sweep "
                         "exports what its frozen rules select");
    }
    if (!format || !a->out)
        return error("--format and -o OUT are required");
    if (!strcmp(format, "bundle")) {
        a->format = FORMAT_BUNDLE;
        if (a->model)
            return error("--format bundle takes a sweep's runs, not --model");
    } else if ((a->format = export_format_parse(format)) < 0) {
        return error("--format: '%s' is not hf, gguf, ollama or bundle", format);
    }
    if ((a->quant = quant_parse(quant)) < 0)
        return error("--quant: '%s' is not f32, f16, q8_0 or q4_0", quant);
    if (tmpl && (a->tmpl = render_template_parse(tmpl)) < 0)
        return error("--template: '%s' is not plain, chatml or llama2", tmpl);
    return 0;
}

/* ---- which checkpoint ---- */

struct target {
    char *base_model, *checkpoint, *label;
    json_t *contract;                   /* the frozen rules */
    struct export_prompting prompting;
    int has_prompting;                  /* a contract (a sweep's, or --template/--system) */
    const char **stop;
};

static void target_free(struct target *t)
{
    free(t->base_model);
    free(t->checkpoint);
    free(t->label);
    free(t->stop);
    json_decref(t->contract);
}

/* The run of the mainline condition whose selected checkpoint scored best. */
static const json_t *mainline_checkpoint(const json_t *doc, const char *sweep)
{
    const json_t *ml = json_object_get(doc, "mainline");
    const char *cond = json_string_value(json_object_get(ml, "mainline"));
    if (!cond) {
        const char *why = json_string_value(json_object_get(ml, "verdict"));
        error("sweep '%s' has no mainline to export (%s); export one run with "
              "'mainline export %s RUN ...'", sweep, why ? why : "no selection", sweep);
        return NULL;
    }
    const json_t *best = NULL, *k;
    size_t i;
    json_array_foreach(json_object_get(doc, "checkpoints"), i, k) {
        const char *kc = json_string_value(json_object_get(k, "condition"));
        if (!kc || strcmp(kc, cond) || !json_object_get(k, "step"))
            continue;
        double acc = json_number_value(json_object_get(k, "accuracy"));
        if (!best || acc > json_number_value(json_object_get(best, "accuracy")))
            best = k;
    }
    if (!best)
        error("sweep '%s': the mainline %s has no run with a selected checkpoint", sweep, cond);
    return best;
}

static const json_t *run_checkpoint(const json_t *doc, const char *sweep, const char *run)
{
    const json_t *k;
    size_t i;
    json_array_foreach(json_object_get(doc, "checkpoints"), i, k) {
        const char *r = json_string_value(json_object_get(k, "run"));
        if (!r || strcmp(r, run))
            continue;
        if (!json_object_get(k, "step")) {
            error("run '%s' of sweep '%s' has no selected checkpoint%s%s", run, sweep,
                  json_object_get(k, "note") ? ": " : "",
                  json_string_value(json_object_get(k, "note")) ?: "");
            return NULL;
        }
        return k;
    }
    error("sweep '%s' has no run '%s' whose checkpoint the rules select", sweep, run);
    return NULL;
}

static const char *artifact_path(const struct reg_results *res, const char *role)
{
    for (size_t i = 0; i < res->n_artifacts; i++)
        if (!strcmp(res->artifacts[i].role, role))
            return res->artifacts[i].path;
    return NULL;
}

static int64_t run_rowid(const struct reg_results *res, const char *run)
{
    for (size_t i = 0; i < res->n_runs; i++)
        if (!strcmp(res->runs[i].run_id, run))
            return res->runs[i].rowid;
    return 0;
}

/* A run's directory: runs/ beside the registry (rundir.h). Caller frees. */
static char *run_dir_of(struct cli *cli, const struct reg_results *res, const char *run)
{
    char *dir = path_dirname(cli->registry_path), *root = realpath(dir, NULL);
    char *run_dir = rundir_path(root ? root : dir, res->name, res->version, run);
    free(root);
    free(dir);
    return run_dir;
}

/* The rendering contract and the evaluation's stops, as the Modelfile needs them. */
static void target_prompting(struct target *t)
{
    const json_t *render = json_object_get(t->contract, "render");
    const json_t *ev = json_object_get(t->contract, "evaluation");
    const char *tmpl = json_string_value(json_object_get(render, "template"));
    int k = tmpl ? render_template_parse(tmpl) : TEMPLATE_PLAIN;
    t->prompting.tmpl = k < 0 ? TEMPLATE_PLAIN : (enum render_template)k;
    t->prompting.system = json_string_value(json_object_get(render, "system"));
    t->prompting.max_new_tokens = (int)json_integer_value(json_object_get(ev, "max_new_tokens"));
    const json_t *stop = json_object_get(ev, "stop"), *s;
    size_t i;
    t->stop = xcalloc(json_array_size(stop) + 1, sizeof(*t->stop));
    json_array_foreach(stop, i, s)
        if (json_string_value(s))
            t->stop[t->prompting.n_stop++] = json_string_value(s);
    t->prompting.stop = t->stop;
}

/* The sweep's results and the selection its frozen rules make (select_compute(),
 * nothing recorded): EXIT_OK with *res and *sel the caller's to free, or the exit
 * status, the message said and nothing to free. */
static int load_selection(struct cli *cli, const char *sweep, struct reg_results *res,
                          struct selection *sel)
{
    memset(sel, 0, sizeof(*sel));
    enum reg_status st = reg_results_load(cli->reg, sweep, res);
    if (st == REG_ERR_NOT_FOUND) {
        error("no sweep named '%s' in %s", sweep, cli->registry_path);
        return EXIT_FAILURES;
    }
    if (st != REG_OK)
        return cli_reg_error(cli, st, "cannot read the sweep");
    struct strbuf err = STRBUF_INIT;
    int rc = select_compute(res, sel, &err) < 0 ? EXIT_FAILURES : EXIT_OK;
    if (rc != EXIT_OK) {
        error("sweep '%s': %s", sweep, err.buf);
        selection_free(sel);
        reg_results_free(res);
    }
    sb_free(&err);
    return rc;
}

static int resolve_sweep(struct cli *cli, const struct export_args *a, struct target *t)
{
    struct reg_results res;
    struct selection sel;
    int rc = load_selection(cli, a->sweep, &res, &sel);
    if (rc != EXIT_OK)
        return rc;
    rc = EXIT_FAILURES;
    enum reg_status st;
    const json_t *k = a->run ? run_checkpoint(sel.doc, a->sweep, a->run)
                             : mainline_checkpoint(sel.doc, a->sweep);
    if (!k)
        goto out;
    const char *run = json_string_value(json_object_get(k, "run"));
    int64_t step = json_integer_value(json_object_get(k, "step")), found = -1;
    const char *base = artifact_path(&res, "base_model");
    if (!base) {
        error("sweep '%s' records no base model: nothing to apply the checkpoint to", a->sweep);
        goto out;
    }
    st = reg_run_checkpoint(cli->reg, run_rowid(&res, run), step, &found, &t->checkpoint);
    if (st != REG_OK) {
        rc = cli_reg_error(cli, st, "cannot read the checkpoint");
        goto out;
    }
    if (!t->checkpoint || found != step) {
        error("run '%s': the registry has no checkpoint of step %lld", run, (long long)step);
        goto out;
    }
    if (t->checkpoint[0] != '/') {   /* relative to the run's directory, beside the registry */
        char *run_dir = run_dir_of(cli, &res, run);
        char *abs = path_join(run_dir, t->checkpoint);
        free(t->checkpoint);
        t->checkpoint = abs;
        free(run_dir);
    }
    t->base_model = xstrdup(base);
    struct strbuf label = STRBUF_INIT;
    sb_addf(&label, "sweep %s v%d, run %s, step %lld, rules %.12s", res.name, res.version, run,
            (long long)step, res.contract_sha256 ? res.contract_sha256 : "-");
    t->label = sb_detach(&label);
    t->contract = json_loads(res.contract_json ? res.contract_json : "{}", 0, NULL);
    target_prompting(t);
    t->has_prompting = 1;
    rc = EXIT_OK;
out:
    selection_free(&sel);
    reg_results_free(&res);
    return rc;
}

/* ---- bundles ---- */

/*
 * The runs a bundle holds: RUN, or every run of the mainline condition with a selected
 * checkpoint (all its seeds: what the verdict was taken on).
 */
static int bundle_runs(struct cli *cli, const struct export_args *a, const json_t *doc,
                       const struct reg_results *res, struct bundle_run **out, size_t *n)
{
    const char *cond = NULL;
    *out = xcalloc(res->n_runs + 1, sizeof(**out));
    *n = 0;
    if (!a->run) {
        const json_t *ml = json_object_get(doc, "mainline");
        if (!(cond = json_string_value(json_object_get(ml, "mainline")))) {
            const char *why = json_string_value(json_object_get(ml, "verdict"));
            return error("sweep '%s' has no mainline to bundle (%s); bundle one run with "
                         "'mainline export %s RUN --format bundle ...'", a->sweep,
                         why ? why : "no selection", a->sweep);
        }
    } else if (!run_checkpoint(doc, a->sweep, a->run)) {
        return -1;
    }
    const json_t *k;
    size_t i;
    json_array_foreach(json_object_get(doc, "checkpoints"), i, k) {
        const char *run = json_string_value(json_object_get(k, "run"));
        const char *kc = json_string_value(json_object_get(k, "condition"));
        if (!run || !json_object_get(k, "step") ||
            (a->run ? strcmp(run, a->run) : !kc || strcmp(kc, cond)))
            continue;
        struct bundle_run *b = &(*out)[(*n)++];
        b->rowid = run_rowid(res, run);
        b->run_id = run;
        b->step = json_integer_value(json_object_get(k, "step"));
        int64_t found = -1;
        char *path = NULL;
        enum reg_status st = reg_run_checkpoint(cli->reg, b->rowid, b->step, &found, &path);
        if (st != REG_OK)
            return cli_reg_error(cli, st, "cannot read the checkpoint"), -1;
        b->dir = run_dir_of(cli, res, run);
        if (!path || found != b->step) {
            free(path);
            return error("run '%s': the registry has no checkpoint of step %lld", run,
                         (long long)b->step);
        }
        b->checkpoint = path[0] == '/' ? path : path_join(b->dir, path);
        if (path[0] != '/')
            free(path);
    }
    if (!*n)
        return error("sweep '%s': the mainline %s has no run with a selected checkpoint",
                     a->sweep, cond);
    return 0;
}

static int export_bundle(struct cli *cli, const struct export_args *a)
{
    struct reg_results res;
    struct selection sel;
    int rc = load_selection(cli, a->sweep, &res, &sel);
    if (rc != EXIT_OK)
        return rc;
    struct strbuf err = STRBUF_INIT;
    struct bundle_run *runs = NULL;
    size_t n = 0;
    struct bundle_out r;
    rc = EXIT_FAILURES;
    if (bundle_runs(cli, a, sel.doc, &res, &runs, &n) < 0)
        ;
    else if (bundle_write(cli->reg, cli->registry_path, &res, runs, n, a->out, &r, &err) < 0)
        error("%s", err.buf);
    else {
        printf("exported sweep %s v%d, %zu run%s (", res.name, res.version, n, n == 1 ? "" : "s");
        for (size_t i = 0; i < n; i++)
            printf("%s%s step %lld", i ? ", " : "", runs[i].run_id, (long long)runs[i].step);
        printf(") as bundle: %s, %zu files, %llu bytes\n", a->out, r.n_files, r.bytes);
        rc = EXIT_OK;
    }
    for (size_t i = 0; runs && i < res.n_runs; i++) {
        free((char *)runs[i].checkpoint);
        free((char *)runs[i].dir);
    }
    free(runs);
    selection_free(&sel);
    reg_results_free(&res);
    sb_free(&err);
    return rc;
}

static void print_result(const struct export_args *a, const struct target *t,
                         const struct export_result *r)
{
    static const char *const formats[] = { "hf", "gguf", "ollama" };
    printf("exported %s as %s", t->label, formats[a->format]);
    if (a->format != EXPORT_HF)
        printf(" %s", quant_name((enum quant_type)a->quant));
    printf(": %s, %llu bytes in %.2f s\n", a->out, r->bytes, r->seconds);
    if (a->format != EXPORT_HF && r->gguf.kept)
        printf("note: %zu tensor%s kept in f16, rows not a multiple of 32 (e.g. %s)\n",
               r->gguf.kept, r->gguf.kept == 1 ? "" : "s", r->gguf.kept_example);
}

int cmd_export(int argc, char **argv, struct cli *cli)
{
    struct export_args a;
    if (parse_export_args(argc, argv, &a) < 0)
        return cli_usage(export_usage);
    struct target t = { 0 };
    int rc = EXIT_OK;
    if (a.model) {
        t.base_model = xstrdup(a.model);
        t.checkpoint = a.checkpoint ? xstrdup(a.checkpoint) : NULL;
        t.label = xstrdup(a.model);
        t.prompting.tmpl = a.tmpl < 0 ? TEMPLATE_PLAIN : (enum render_template)a.tmpl;
        t.prompting.system = a.system;
        t.has_prompting = a.tmpl >= 0 || a.system;
    } else if (!cli_registry(cli)) {
        return cli->open_failed_exit;
    } else if (a.format == FORMAT_BUNDLE) {
        return export_bundle(cli, &a);
    } else {
        rc = resolve_sweep(cli, &a, &t);
    }
    if (rc == EXIT_OK) {
        struct export_request rq = { t.base_model, t.checkpoint, (enum export_format)a.format,
                                     (enum quant_type)a.quant, a.out, t.label,
                                     t.has_prompting ? &t.prompting : NULL };
        struct export_result r;
        struct strbuf err = STRBUF_INIT;
        if (model_export(&rq, &r, &err) < 0) {
            error("%s", err.buf);
            rc = EXIT_FAILURES;
        } else {
            print_result(&a, &t, &r);
        }
        sb_free(&err);
    }
    target_free(&t);
    return rc;
}
