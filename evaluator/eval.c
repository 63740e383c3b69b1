/*
 * eval.c - one evaluation (see eval.h): load, generate, score, write the
 * predictions, then the retention NLL and the probes, then the quantised model's
 * predictions (the f32 model freed first), then the summary event.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"
#include "clock.h"
#include "eval.h"
#include "extract.h"
#include "fsutil.h"
#include "generate.h"
#include "metrics.h"
#include "model.h"
#include "model_export.h"
#include "model_io.h"
#include "nll.h"
#include "weights.h"

void openblas_set_num_threads(int n);

struct eval_ctx {
    const struct eval_config *cfg;
    const struct eval_options *opt;
    struct render_contract rc;
    struct extractor x;
    struct model m;
    struct tokenizer tok;
    struct bench bench;
    struct gen_result *res;      /* (bench.n) */
    double seconds;              /* generation wall time */
    json_t *summary;             /* the eval event being built */
};

/* ---- JSON text ---- */

/* Bytes of s as valid UTF-8 for JSON: every byte that does not start a complete,
 * minimal sequence becomes U+FFFD (a byte-level model can emit any byte). */
static void utf8_clean(const char *s, size_t n, struct strbuf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4 : 0;
        int ok = len > 0 && i + len <= n && !(len == 2 && c < 0xC2) && !(c > 0xF4);
        for (size_t k = 1; ok && k < len; k++)
            ok = (p[i + k] & 0xC0) == 0x80;
        if (ok && len == 3)   /* no overlong forms, no surrogates */
            ok = !(c == 0xE0 && p[i + 1] < 0xA0) && !(c == 0xED && p[i + 1] >= 0xA0);
        if (ok && len == 4)
            ok = !(c == 0xF0 && p[i + 1] < 0x90) && !(c == 0xF4 && p[i + 1] >= 0x90);
        if (ok) {
            sb_add(out, s + i, len);
            i += len;
        } else {
            sb_adds(out, "\xEF\xBF\xBD");
            i++;
        }
    }
}

static json_t *text_json(const char *s, size_t n)
{
    struct strbuf sb = STRBUF_INIT;
    utf8_clean(s, n, &sb);
    json_t *v = json_stringn(sb.buf ? sb.buf : "", sb.len);
    sb_free(&sb);
    return v;
}

/* Append one compact JSON line (consumes v). */
static void add_line(struct atomic_file *af, json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    atomic_write(af, text, strlen(text));
    atomic_write(af, "\n", 1);
    free(text);
    json_decref(v);
}

/* ---- loading ---- */

static enum eval_status load_inputs(struct eval_ctx *c, struct strbuf *err)
{
    const struct eval_config *cfg = c->cfg;
    c->rc = (struct render_contract){ cfg->render_system, cfg->tmpl, &cfg->dataset_fields,
                                      cfg->tmpl == TEMPLATE_CHAT ? &cfg->chat : NULL };
    if (extractor_init(&c->x, cfg->extract, cfg->pattern, err) < 0)
        return EVAL_BAD_CONFIG;
    if (eval_weights_load(cfg->base_model, cfg->checkpoint, &c->m, &c->tok, err) < 0)
        return EVAL_UNREADABLE;
    if (bench_load(cfg->dataset_path, &c->rc, &c->x, &c->tok, cfg->limit, &c->bench, err) !=
        BENCH_OK)
        return EVAL_UNREADABLE;
    for (size_t i = 0; i < c->bench.n; i++) {
        const struct bench_example *e = &c->bench.ex[i];
        if (e->n_ids >= c->m.cfg.max_seq_len) {
            sb_addf(err, "%s:%ld: the prompt is %d tokens; the model holds %d positions",
                    cfg->dataset_path, e->line, e->n_ids, c->m.cfg.max_seq_len);
            return EVAL_UNREADABLE;
        }
    }
    if (c->bench.n == 0) {
        sb_addf(err, "%s: no example to evaluate", cfg->dataset_path);
        return EVAL_UNREADABLE;
    }
    return EVAL_OK;
}

/* ---- generation ---- */

static int generate_all(const struct eval_ctx *c, const struct model *m,
                        const struct gen_prompt *p, size_t n, struct gen_result *res,
                        struct strbuf *err)
{
    struct gen_options go = { (int)c->cfg->max_new_tokens, (const char *const *)c->cfg->stop,
                              c->cfg->n_stop, c->opt->batch, c->opt->threads, 0 };
    return generate_greedy(m, &c->tok, p, n, &go, res, err);
}

/* The benchmark's prompts decoded by m into *res (bench.n, the caller's), timed. */
static enum eval_status run_benchmark(struct eval_ctx *c, const struct model *m,
                                      struct gen_result **res, double *seconds,
                                      struct strbuf *err)
{
    size_t n = c->bench.n;
    struct gen_prompt *p = xcalloc(n, sizeof(*p));
    for (size_t i = 0; i < n; i++)
        p[i] = (struct gen_prompt){ c->bench.ex[i].ids, c->bench.ex[i].n_ids };
    *res = xcalloc(n, sizeof(**res));
    double t0 = clock_now_s();
    int rc = generate_all(c, m, p, n, *res, err);
    *seconds = clock_now_s() - t0;
    free(p);
    return rc < 0 ? EVAL_FAILED : EVAL_OK;
}

/* ---- scoring ---- */

/* res scored against the benchmark, written to out_dir/name, and n, correct,
 * accuracy, extraction_failures, gen_tokens, seconds, tok_per_s set in `into`. */
static enum eval_status write_predictions(struct eval_ctx *c, const struct gen_result *res,
                                          double seconds, const char *name, json_t *into,
                                          struct strbuf *err)
{
    char *path = path_join(c->opt->out_dir, name);
    struct atomic_file af;
    long correct = 0, failures = 0, tokens = 0;
    struct strbuf got = STRBUF_INIT;
    int rc = atomic_open(&af, path, err);
    for (size_t i = 0; rc == 0 && i < c->bench.n; i++) {
        const struct bench_example *e = &c->bench.ex[i];
        const struct gen_result *r = &res[i];
        int found = extract_answer(&c->x, sb_str(&r->text), &got);
        int ok = found && answers_match(sb_str(&got), e->gold);
        correct += ok;
        failures += !found;
        tokens += r->tokens;
        json_t *line = json_pack("{s:o,s:s,s:o,s:o,s:o,s:b,s:b,s:i,s:s}",
                                 "id", text_json(e->id, strlen(e->id)),
                                 "prompt_sha256", e->prompt_sha256,
                                 "output", text_json(sb_str(&r->text), r->text.len),
                                 "extracted", found ? text_json(got.buf, got.len) : json_null(),
                                 "gold", text_json(e->gold, strlen(e->gold)), "correct", ok,
                                 "extraction_failed", !found, "tokens", r->tokens,
                                 "finish", gen_finish_name(r->finish));
        add_line(&af, line);
    }
    if (rc == 0)
        rc = atomic_commit(&af, err);
    sb_free(&got);
    free(path);
    size_t n = c->bench.n;
    json_object_set_new(into, "n", json_integer((json_int_t)n));
    json_object_set_new(into, "correct", json_integer(correct));
    json_object_set_new(into, "accuracy", json_real(n ? (double)correct / (double)n : 0.0));
    json_object_set_new(into, "extraction_failures", json_integer(failures));
    json_object_set_new(into, "gen_tokens", json_integer(tokens));
    json_object_set_new(into, "seconds", metrics_real(seconds));
    json_object_set_new(into, "tok_per_s", metrics_real(seconds > 0 ? tokens / seconds : 0));
    printf("eval: %s%s: %ld/%zu correct (%.4f), %ld extraction failures, %ld tokens in %.2f s "
           "(%.0f tok/s)\n", c->cfg->dataset, into == c->summary ? "" : " (quantised)",
           correct, n, n ? (double)correct / n : 0.0, failures, tokens, seconds,
           seconds > 0 ? tokens / seconds : 0.0);
    return rc < 0 ? EVAL_FAILED : EVAL_OK;
}

/* ---- the quantised model (the mainline's usable.quantized) ---- */

/*
 * The same model written as a GGUF of the configured type by mainline export's
 * own code (model_export()), read back by model_load() and decoded on the same
 * tokenized benchmark under the same contract: predictions-QUANT.jsonl and the
 * summary's "quantized" object. The GGUF is removed once evaluated (its size is
 * kept): `mainline export --format gguf --quant QUANT` writes the same file.
 */
static enum eval_status run_quantized(struct eval_ctx *c, struct strbuf *err)
{
    const struct eval_config *cfg = c->cfg;
    const char *qname = quant_name((enum quant_type)cfg->quant);
    struct strbuf file = STRBUF_INIT, preds = STRBUF_INIT;
    sb_addf(&file, "model-%s.gguf", qname);
    sb_addf(&preds, "predictions-%s.jsonl", qname);
    char *gguf = path_join(c->opt->out_dir, file.buf);
    unlink(gguf);   /* an earlier attempt's, whole or not (export never replaces) */
    struct export_request rq = { cfg->base_model, cfg->checkpoint, EXPORT_GGUF,
                                 (enum quant_type)cfg->quant, gguf, NULL, NULL };
    struct export_result xr;
    struct model qm;
    struct gen_result *res = NULL;
    double seconds = 0;
    memset(&qm, 0, sizeof(qm));
    enum eval_status st = EVAL_OK;
    if (model_export(&rq, &xr, err) < 0)
        st = EVAL_FAILED;
    int positions = c->m.cfg.max_seq_len;
    model_free(&c->m);   /* last use of the f32 model: at most two copies in memory */
    if (st == EVAL_OK && model_load(gguf, &qm, err) < 0)
        st = EVAL_UNREADABLE;
    if (st == EVAL_OK && qm.cfg.max_seq_len != positions) {
        sb_addf(err, "%s: read back with %d positions, the model has %d", gguf,
                qm.cfg.max_seq_len, positions);
        st = EVAL_UNREADABLE;
    }
    if (st == EVAL_OK) {
        printf("eval: %s written (%llu bytes), evaluating it\n", file.buf, xr.bytes);
        fflush(stdout);
        st = run_benchmark(c, &qm, &res, &seconds, err);
    }
    json_t *q = json_pack("{s:s}", "quant", qname);
    if (st == EVAL_OK)
        st = write_predictions(c, res, seconds, preds.buf, q, err);
    if (st == EVAL_OK) {
        json_object_set_new(q, "gguf_bytes", json_integer((json_int_t)xr.bytes));
        json_object_set_new(q, "predictions", json_string(preds.buf));
        json_object_set(c->summary, "quantized", q);
    }
    json_decref(q);
    if (res)
        gen_results_free(res, c->bench.n);
    free(res);
    model_free(&qm);
    unlink(gguf);
    free(gguf);
    sb_free(&file);
    sb_free(&preds);
    return st;
}

/* ---- retention and probes ---- */

static enum eval_status run_retention(struct eval_ctx *c, struct strbuf *err)
{
    struct loss_sum acc = { 0, 0 };
    struct render_contract rc = c->rc;
    rc.fields = &c->cfg->retention_fields;
    enum train_data_status st = eval_nll(&c->m, &c->tok, &rc, c->cfg->retention_path,
                                         c->cfg->max_seq_len, &acc, err);
    if (st != TRAIN_DATA_OK)
        return EVAL_UNREADABLE;
    json_object_set_new(c->summary, "retention", json_string(c->cfg->retention));
    json_object_set_new(c->summary, "retention_nll", metrics_real(loss_mean(&acc)));
    json_object_set_new(c->summary, "retention_tokens", json_integer(acc.count));
    printf("eval: retention NLL on %s: %.4f over %ld tokens\n", c->cfg->retention,
           loss_mean(&acc), acc.count);
    return EVAL_OK;
}

/* Probe i rendered as a user prompt with the contract, tokenized like a benchmark row. */
static int probe_prompt(const struct eval_ctx *c, const char *text, int **ids, int *n,
                        struct strbuf *err)
{
    json_t *row = json_pack("{s:s}", "prompt", text);
    struct strbuf prompt = STRBUF_INIT, none = STRBUF_INIT;
    struct render_contract rc_probe = c->rc;
    rc_probe.fields = NULL;   /* a probe is {"prompt": TEXT}, whatever the benchmark's fields */
    int rc = render_row(row, &rc_probe, 0, &prompt, &none, err);
    size_t len = 0;
    if (rc == 0)
        tokenizer_encode_framed(&c->tok, sb_str(&prompt), prompt.len,
                                c->rc.tmpl == TEMPLATE_CHAT ? FRAME_NONE : FRAME_PROMPT, ids,
                                &len);
    *n = (int)len;
    if (rc == 0 && *n >= c->m.cfg.max_seq_len) {
        sb_addf(err, "probe '%s' is %d tokens; the model holds %d positions", text, *n,
                c->m.cfg.max_seq_len);
        rc = -1;
    }
    json_decref(row);
    sb_free(&prompt);
    sb_free(&none);
    return rc;
}

static enum eval_status run_probes(struct eval_ctx *c, struct strbuf *err)
{
    size_t n = c->cfg->n_probes;
    struct gen_prompt *p = xcalloc(n, sizeof(*p));
    int **ids = xcalloc(n, sizeof(*ids));
    struct gen_result *res = xcalloc(n, sizeof(*res));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = probe_prompt(c, c->cfg->probes[i], &ids[i], &p[i].n, err);
        p[i].ids = ids[i];
    }
    enum eval_status st = rc < 0 ? EVAL_BAD_CONFIG : EVAL_OK;
    if (st == EVAL_OK && generate_all(c, &c->m, p, n, res, err) < 0)
        st = EVAL_FAILED;
    char *path = path_join(c->opt->out_dir, "probes.jsonl");
    struct atomic_file af;
    if (st == EVAL_OK && atomic_open(&af, path, err) < 0)
        st = EVAL_FAILED;
    for (size_t i = 0; st == EVAL_OK && i < n; i++)
        add_line(&af, json_pack("{s:i,s:s,s:o,s:i}", "idx", (int)i, "prompt",
                                c->cfg->probes[i], "output",
                                text_json(sb_str(&res[i].text), res[i].text.len), "tokens",
                                res[i].tokens));
    if (st == EVAL_OK && atomic_commit(&af, err) < 0)
        st = EVAL_FAILED;
    if (st == EVAL_OK)
        json_object_set_new(c->summary, "probes", json_integer((json_int_t)n));
    gen_results_free(res, n);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    free(res);
    free(p);
    free(path);
    return st;
}

/* ---- the whole evaluation ---- */

static enum eval_status emit_summary(struct eval_ctx *c, struct strbuf *err)
{
    const struct eval_config *cfg = c->cfg;
    json_t *s = c->summary;
    json_object_set_new(s, "step", cfg->step >= 0 ? json_integer(cfg->step) : json_null());
    json_object_set_new(s, "checkpoint", cfg->checkpoint ? json_string(cfg->checkpoint)
                                                         : json_null());
    json_object_set_new(s, "batch", json_integer(c->opt->batch));
    json_object_set_new(s, "threads", json_integer(c->opt->threads));
    struct metrics mx = { NULL };
    char *path = cfg->metrics ? xstrdup(cfg->metrics)
                              : path_join(c->opt->out_dir, "metrics.jsonl");
    int rc = metrics_open(&mx, path, err);
    if (rc == 0)
        rc = metrics_emit(&mx, json_incref(s));
    if (metrics_close(&mx) < 0 && rc == 0) {
        sb_addf(err, "cannot write '%s'", path);
        rc = -1;
    }
    free(path);
    return rc < 0 ? EVAL_FAILED : EVAL_OK;
}

enum eval_status eval_run(const struct eval_config *cfg, const struct eval_options *o,
                          struct strbuf *err)
{
    struct eval_ctx c;
    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    c.opt = o;
    c.summary = metrics_event("eval");
    openblas_set_num_threads(o->threads);
    enum eval_status st = load_inputs(&c, err);
    if (st == EVAL_OK) {
        printf("eval: %zu examples of %s, batch %d, %d thread%s%s%s\n", c.bench.n,
               cfg->dataset, o->batch, o->threads, o->threads == 1 ? "" : "s",
               cfg->checkpoint ? ", checkpoint " : ", the base model",
               cfg->checkpoint ? cfg->checkpoint : "");
        fflush(stdout);
        st = run_benchmark(&c, &c.m, &c.res, &c.seconds, err);
    }
    if (st == EVAL_OK) {
        json_object_set_new(c.summary, "dataset", json_string(cfg->dataset));
        st = write_predictions(&c, c.res, c.seconds, "predictions.jsonl", c.summary, err);
    }
    if (st == EVAL_OK && cfg->retention)
        st = run_retention(&c, err);
    if (st == EVAL_OK && cfg->n_probes)
        st = run_probes(&c, err);
    if (st == EVAL_OK && cfg->quantized)
        st = run_quantized(&c, err);
    if (st == EVAL_OK)
        st = emit_summary(&c, err);
    if (c.res)
        gen_results_free(c.res, c.bench.n);
    free(c.res);
    json_decref(c.summary);
    bench_free(&c.bench);
    tokenizer_free(&c.tok);
    model_free(&c.m);
    extractor_free(&c.x);
    return st;
}
