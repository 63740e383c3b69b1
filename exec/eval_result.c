/*
 * eval_result.c - reading an evaluator's summary, predictions and probe answers
 * (see eval_result.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "eval_result.h"
#include "job.h"

static int is_event(const json_t *o, const char *name)
{
    const char *ev = json_string_value(json_object_get(o, "event"));
    return ev && !strcmp(ev, name);
}

/* The last {"event":"eval"} line of metrics_path (other lines are the ingester's
 * business and may be anything). */
static json_t *last_summary(const char *metrics_path, struct strbuf *err)
{
    FILE *f = fopen(metrics_path, "r");
    if (!f) {
        sb_addf(err, "cannot read %s: %s", metrics_path, strerror(errno));
        return NULL;
    }
    json_t *summary = NULL;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        if (json_is_object(o) && is_event(o, "eval")) {
            json_decref(summary);
            summary = o;
        } else {
            json_decref(o);
        }
    }
    free(line);
    fclose(f);
    if (!summary)
        sb_addf(err, "the evaluator wrote no {\"event\":\"eval\"} summary to %s", metrics_path);
    return summary;
}

/* Replace every NUL of the strings in v (at any depth) with U+FFFD; 1 when any was.
 * A model gone wrong (all-zero or NaN weights) generates byte 0, which an evaluator
 * writes as \u0000: SQLite text would end at it. */
static int replace_nul(json_t *v)
{
    int any = 0;
    if (json_is_string(v)) {
        const char *text = json_string_value(v);
        size_t len = json_string_length(v);
        if (!memchr(text, '\0', len))
            return 0;
        struct strbuf sb = STRBUF_INIT;
        for (size_t i = 0; i < len; i++)
            text[i] ? sb_addc(&sb, text[i]) : sb_adds(&sb, "\xEF\xBF\xBD");
        json_string_setn(v, sb.buf, sb.len);
        sb_free(&sb);
        return 1;
    }
    const char *key;
    json_t *item;
    size_t i;
    if (json_is_object(v))
        json_object_foreach(v, key, item)
            any |= replace_nul(item);
    else if (json_is_array(v))
        json_array_foreach(v, i, item)
            any |= replace_nul(item);
    return any;
}

/* Every line of dir/name as a JSON object, appended to lines; -1 naming the first
 * bad line. A missing file is an error only when required. *nul counts the lines
 * that held a NUL (replaced). */
static int read_objects(const char *dir, const char *name, int required, json_t *lines,
                        size_t *n, size_t *nul, struct strbuf *err)
{
    struct strbuf path = STRBUF_INIT;
    sb_addf(&path, "%s/%s", dir, name);
    FILE *f = fopen(path.buf, "r");
    int rc = 0;
    *n = 0;
    if (!f) {
        if (required || errno != ENOENT) {
            sb_addf(err, "cannot read %s: %s", path.buf, strerror(errno));
            rc = -1;
        }
        sb_free(&path);
        return rc;
    }
    char *line = NULL;
    size_t cap = 0;
    for (long lineno = 1; rc == 0 && getline(&line, &cap, f) > 0; lineno++) {
        json_error_t je;
        json_t *o = json_loads(line, JSON_ALLOW_NUL, &je);
        if (!json_is_object(o)) {
            sb_addf(err, "%s:%ld: not a JSON object%s%s", path.buf, lineno,
                    o ? "" : ": ", o ? "" : je.text);
            json_decref(o);
            rc = -1;
        } else {
            *nul += replace_nul(o);
            json_array_append_new(lines, o);
            (*n)++;
        }
    }
    free(line);
    fclose(f);
    sb_free(&path);
    return rc;
}

static const char *str_field(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Example ids may be numbers in the benchmark: the registry keeps them as text. */
static void id_as_text(json_t *o)
{
    json_t *id = json_object_get(o, "id");
    if (!id || json_is_string(id))
        return;
    char *text = json_dumps(id, JSON_ENCODE_ANY);
    json_object_set_new(o, "id", json_string(text ? text : ""));
    free(text);
}

static void fill_predictions(struct eval_result *er, size_t first, size_t n)
{
    er->preds = xcalloc(n ? n : 1, sizeof(*er->preds));
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(er->lines, first + i);
        id_as_text(o);
        er->preds[i] = (struct reg_prediction_in){
            str_field(o, "id"), str_field(o, "prompt_sha256"), str_field(o, "output"),
            str_field(o, "extracted"), str_field(o, "gold"),
            json_is_true(json_object_get(o, "correct")),
            json_is_true(json_object_get(o, "extraction_failed")),
            json_integer_value(json_object_get(o, "tokens")) };
    }
    er->in.predictions = er->preds;
    er->in.n_predictions = n;
}

static int fill_probes(struct eval_result *er, size_t first, size_t n, struct strbuf *err)
{
    er->probes = xcalloc(n ? n : 1, sizeof(*er->probes));
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(er->lines, first + i);
        const char *prompt = str_field(o, "prompt"), *output = str_field(o, "output");
        if (!prompt || !output) {
            sb_addf(err, "probes.jsonl:%zu: needs string fields prompt and output", i + 1);
            return -1;
        }
        json_t *idx = json_object_get(o, "idx");
        er->probes[i] = (struct reg_probe_in){
            json_is_integer(idx) ? json_integer_value(idx) : (int64_t)i, prompt, output,
            json_integer_value(json_object_get(o, "tokens")) };
    }
    er->in.probes = er->probes;
    er->in.n_probes = n;
    return 0;
}

static void fill_summary(struct eval_result *er)
{
    const json_t *s = er->summary;
    const char *ds = str_field(s, "dataset");
    er->in.dataset = ds ? ds : "";
    er->in.n = json_integer_value(json_object_get(s, "n"));
    er->in.correct = json_integer_value(json_object_get(s, "correct"));
    er->in.extraction_failures = json_integer_value(json_object_get(s, "extraction_failures"));
    er->in.gen_tokens = json_integer_value(json_object_get(s, "gen_tokens"));
    er->in.accuracy = json_number_value(json_object_get(s, "accuracy"));
    er->in.seconds = json_number_value(json_object_get(s, "seconds"));
    er->in.tok_per_s = json_number_value(json_object_get(s, "tok_per_s"));
    const json_t *q = json_object_get(s, "quantized");
    er->in.quant = str_field(q, "quant");
    if (er->in.quant) {   /* the quantised model's evaluation (docs/protocol.md) */
        er->in.quant_n = json_integer_value(json_object_get(q, "n"));
        er->in.quant_correct = json_integer_value(json_object_get(q, "correct"));
        er->in.quant_accuracy = json_number_value(json_object_get(q, "accuracy"));
        er->in.quant_seconds = json_number_value(json_object_get(q, "seconds"));
        er->in.quant_tok_per_s = json_number_value(json_object_get(q, "tok_per_s"));
        er->in.quant_gguf_bytes = json_integer_value(json_object_get(q, "gguf_bytes"));
    }
    er->summary_text = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
    er->in.summary_json = er->summary_text;
}

int eval_result_read(struct eval_result *er, const char *metrics_path, const char *dir,
                     struct strbuf *err)
{
    size_t n_preds = 0, n_probes = 0;
    memset(er, 0, sizeof(*er));
    er->lines = json_array();
    er->summary = last_summary(metrics_path, err);
    if (!er->summary ||
        read_objects(dir, "predictions.jsonl", 1, er->lines, &n_preds, &er->nul_outputs,
                     err) < 0 ||
        read_objects(dir, "probes.jsonl", 0, er->lines, &n_probes, &er->nul_outputs, err) < 0)
        return -1;
    if (er->nul_outputs)
        json_object_set_new(er->summary, JOB_EVAL_NUL_OUTPUTS,
                            json_integer((json_int_t)er->nul_outputs));
    fill_summary(er);
    fill_predictions(er, 0, n_preds);
    return fill_probes(er, n_preds, n_probes, err);
}

void eval_result_free(struct eval_result *er)
{
    json_decref(er->summary);
    json_decref(er->lines);
    free(er->summary_text);
    free(er->preds);
    free(er->probes);
    memset(er, 0, sizeof(*er));
}
