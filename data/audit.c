/*
 * audit.c - the data integrity gates (see audit.h).
 *
 * Every row is reduced once to its canonical problem and completion; the gates
 * then work on hash indexes of those texts. A hash only proposes a match: each
 * candidate is confirmed by comparing the texts, so collisions cannot invent
 * contamination.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "canon.h"
#include "canon_json.h"
#include "extract.h"
#include "u64map.h"

/* One row, reduced. */
struct item {
    size_t in;                 /* index of its audit_input */
    const struct data_row *row;
    char *problem;             /* canonical problem, "" when the row has none */
    const char *raw_problem, *completion;   /* borrowed from the row; may be NULL */
};

struct audit {
    const struct audit_input *in;
    const struct audit_config *cfg;
    struct item *items;
    size_t n_items;
    json_t *gates;
};

static const char *const role_names[] = { "train", "valid", "benchmark" };

static int reduce(struct audit *a, size_t n_in, struct strbuf *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n_in; i++)
        total += a->in[i].file->n;
    a->items = xcalloc(total + 1, sizeof(*a->items));
    struct strbuf canon = STRBUF_INIT, why = STRBUF_INIT;
    for (size_t i = 0; i < n_in; i++) {
        const struct data_file *f = a->in[i].file;
        for (size_t r = 0; r < f->n; r++) {
            struct item *it = &a->items[a->n_items++];
            it->in = i;
            it->row = &f->rows[r];
            if (render_parts(it->row->row, a->in[i].fields, &it->raw_problem, &it->completion,
                             &why) < 0) {
                sb_addf(err, "%s:%ld: %s", f->path, it->row->line, why.buf);
                sb_free(&canon);
                sb_free(&why);
                return -1;
            }
            text_canon(it->raw_problem ? it->raw_problem : "", &canon);
            it->problem = xstrdup(canon.buf);
        }
    }
    sb_free(&canon);
    sb_free(&why);
    return 0;
}

static enum audit_role role_of(const struct audit *a, const struct item *it)
{
    return a->in[it->in].role;
}

static int has_role(const struct audit *a, size_t n_in, enum audit_role r)
{
    for (size_t i = 0; i < n_in; i++)
        if (a->in[i].role == r)
            return 1;
    return 0;
}

/* ---- the report ---- */

struct gate {
    json_t *obj, *rows;
    long count;
};

static void gate_start(struct gate *g)
{
    g->obj = json_object();
    g->rows = json_array();
    g->count = 0;
}

/* Count an offending row; keep the first AUDIT_MAX_ROWS with their reasons. */
static void gate_row(struct gate *g, const struct audit *a, const struct item *it, json_t *why)
{
    g->count++;
    if (json_array_size(g->rows) >= AUDIT_MAX_ROWS) {
        json_decref(why);
        return;
    }
    const struct audit_input *in = &a->in[it->in];
    json_t *r = json_pack("{s:s,s:s,s:I}", "dataset", in->dataset, "file", in->file->path,
                          "line", (json_int_t)it->row->line);
    json_object_update(r, why);
    json_decref(why);
    json_array_append_new(g->rows, r);
}

static void gate_end(struct audit *a, enum audit_gate gate, struct gate *g, long limit,
                     int failed, const char *skipped)
{
    const char *status = skipped ? "skipped" : !failed && g->count <= limit ? "pass"
                       : a->cfg->waived & (1u << gate) ? "waived" : "fail";
    json_object_set_new(g->obj, "status", json_string(status));
    if (skipped)
        json_object_set_new(g->obj, "skipped", json_string(skipped));
    json_object_set_new(g->obj, "count", json_integer(g->count));
    json_object_set_new(g->obj, "limit", json_integer(limit));
    json_object_set_new(g->obj, "rows", g->rows);
    json_object_set_new(a->gates, audit_gate_name(gate), g->obj);
}

/* ---- contamination ---- */

struct gram {
    size_t item;
    size_t off, len;
};

struct bench_index {
    struct u64map exact, grams;
    struct gram *g;
    size_t n, alloc;
    size_t item;       /* while indexing: the benchmark item */
    const struct audit *a;
    const char *text;  /* while probing: the training problem */
    size_t hit;        /* the gram that matched */
};

static int index_gram(size_t off, size_t len, void *ud)
{
    struct bench_index *bi = ud;
    const char *p = bi->a->items[bi->item].problem;
    bi->g = xgrow(bi->g, bi->n + 1, &bi->alloc, sizeof(*bi->g));
    bi->g[bi->n] = (struct gram){ bi->item, off, len };
    u64map_add(&bi->grams, hash64(p + off, len), bi->n++);
    return 0;
}

static int probe_gram(size_t off, size_t len, void *ud)
{
    struct bench_index *bi = ud;
    size_t pos = 0, k;
    while (u64map_next(&bi->grams, hash64(bi->text + off, len), &pos, &k)) {
        const struct gram *g = &bi->g[k];
        if (g->len == len && !memcmp(bi->a->items[g->item].problem + g->off, bi->text + off, len)) {
            bi->hit = k;
            return 1;
        }
    }
    return 0;
}

static size_t find_exact(const struct audit *a, const struct u64map *m, const char *text)
{
    size_t pos = 0, k;
    while (u64map_next(m, hash64(text, strlen(text)), &pos, &k))
        if (!strcmp(a->items[k].problem, text))
            return k;
    return (size_t)-1;
}

static json_t *where(const struct audit *a, size_t item)
{
    const struct item *it = &a->items[item];
    return json_pack("{s:s,s:I}", "dataset", a->in[it->in].dataset, "line",
                     (json_int_t)it->row->line);
}

static void contamination(struct audit *a, size_t n_in)
{
    struct gate g;
    gate_start(&g);
    int ngram = a->cfg->ngram;
    json_object_set_new(g.obj, "ngram", json_integer(ngram));
    if (!has_role(a, n_in, ROLE_BENCH) ||
        !(has_role(a, n_in, ROLE_TRAIN) || has_role(a, n_in, ROLE_VALID))) {
        gate_end(a, GATE_CONTAMINATION, &g, a->cfg->max_overlap, 0,
                 "needs a benchmark and a training-side dataset");
        return;
    }
    struct bench_index bi = { .a = a };
    for (size_t i = 0; i < a->n_items; i++) {
        const struct item *it = &a->items[i];
        if (role_of(a, it) != ROLE_BENCH || !*it->problem)
            continue;
        u64map_add(&bi.exact, hash64(it->problem, strlen(it->problem)), i);
        bi.item = i;
        canon_ngrams(it->problem, (size_t)ngram, index_gram, &bi);
    }
    for (size_t i = 0; i < a->n_items; i++) {
        const struct item *it = &a->items[i];
        if (role_of(a, it) == ROLE_BENCH || !*it->problem)
            continue;
        size_t k = find_exact(a, &bi.exact, it->problem);
        bi.text = it->problem;
        if (k != (size_t)-1) {
            json_t *w = json_pack("{s:s,s:o}", "match", "exact", "benchmark", where(a, k));
            gate_row(&g, a, it, w);
        } else if (canon_ngrams(it->problem, (size_t)ngram, probe_gram, &bi)) {
            const struct gram *gm = &bi.g[bi.hit];
            json_t *w = json_pack("{s:s,s:s%,s:o}", "match", "ngram", "ngram_text",
                                  a->items[gm->item].problem + gm->off, gm->len, "benchmark",
                                  where(a, gm->item));
            gate_row(&g, a, it, w);
        }
    }
    u64map_free(&bi.exact);
    u64map_free(&bi.grams);
    free(bi.g);
    gate_end(a, GATE_CONTAMINATION, &g, a->cfg->max_overlap, 0, NULL);
}

/* ---- leakage ---- */

static void leakage(struct audit *a, size_t n_in)
{
    struct gate g;
    gate_start(&g);
    if (!has_role(a, n_in, ROLE_TRAIN) || !has_role(a, n_in, ROLE_VALID)) {
        gate_end(a, GATE_LEAKAGE, &g, a->cfg->max_leakage, 0,
                 "needs a train and a valid dataset");
        return;
    }
    struct u64map train = { 0 }, groups = { 0 };
    for (size_t i = 0; i < a->n_items; i++)
        if (role_of(a, &a->items[i]) == ROLE_TRAIN && *a->items[i].problem)
            u64map_add(&train, hash64(a->items[i].problem, strlen(a->items[i].problem)), i);
    long n_groups = 0;
    for (size_t i = 0; i < a->n_items; i++) {
        const struct item *it = &a->items[i];
        if (role_of(a, it) != ROLE_VALID || !*it->problem)
            continue;
        size_t k = find_exact(a, &train, it->problem);
        if (k == (size_t)-1)
            continue;
        if (find_exact(a, &groups, it->problem) == (size_t)-1) {
            u64map_add(&groups, hash64(it->problem, strlen(it->problem)), i);
            n_groups++;
        }
        gate_row(&g, a, it, json_pack("{s:o}", "train", where(a, k)));
    }
    json_object_set_new(g.obj, "groups", json_integer(n_groups));
    u64map_free(&train);
    u64map_free(&groups);
    gate_end(a, GATE_LEAKAGE, &g, a->cfg->max_leakage, 0, NULL);
}

/* ---- answers ---- */

static void answers(struct audit *a, size_t n_in)
{
    struct gate g;
    gate_start(&g);
    if (!has_role(a, n_in, ROLE_TRAIN)) {
        gate_end(a, GATE_ANSWERS, &g, a->cfg->max_answer_mismatch, 0,
                 "needs a train dataset");
        return;
    }
    struct extractor x;
    struct strbuf err = STRBUF_INIT, got = STRBUF_INIT;
    extractor_init(&x, "boxed", NULL, &err);
    long checked = 0, boxed = 0, mismatched = 0;
    for (size_t i = 0; i < a->n_items; i++) {
        const struct item *it = &a->items[i];
        if (role_of(a, it) != ROLE_TRAIN || !it->completion)
            continue;
        checked++;
        if (!extract_answer(&x, it->completion, &got)) {
            gate_row(&g, a, it, json_pack("{s:s}", "problem", "no \\boxed{} answer"));
            continue;
        }
        boxed++;
        const char *stated = render_answer(it->row->row, a->in[it->in].fields);
        if (stated && !answers_match(got.buf, stated)) {
            mismatched++;
            gate_row(&g, a, it, json_pack("{s:s,s:s,s:s}", "problem", "answer mismatch",
                                          "boxed", got.buf, "stated", stated));
        }
    }
    double share = checked ? (double)boxed / (double)checked : 1.0;
    json_object_set_new(g.obj, "completions", json_integer(checked));
    json_object_set_new(g.obj, "boxed", json_integer(boxed));
    json_object_set_new(g.obj, "boxed_share", json_real(share));
    json_object_set_new(g.obj, "min_boxed", json_real(a->cfg->min_boxed));
    json_object_set_new(g.obj, "mismatched", json_integer(mismatched));
    extractor_free(&x);
    sb_free(&err);
    sb_free(&got);
    /* The count compared with the limit is the mismatches; the boxed share has
     * its own floor. */
    long unboxed = g.count - mismatched;
    g.count = mismatched;
    gate_end(a, GATE_ANSWERS, &g, a->cfg->max_answer_mismatch, share < a->cfg->min_boxed,
             NULL);
    json_object_set_new(g.obj, "unboxed", json_integer(unboxed));
}

/* ---- suspicious rows ---- */

static void suspicious(struct audit *a, size_t n_in)
{
    struct gate g;
    gate_start(&g);
    (void)n_in;
    size_t np = a->cfg->n_suspicious;
    regex_t *re = xcalloc(np + 1, sizeof(*re));
    int *ok = xcalloc(np + 1, sizeof(int));
    for (size_t p = 0; p < np; p++)
        ok[p] = regcomp(&re[p], a->cfg->suspicious[p], REG_EXTENDED | REG_ICASE | REG_NOSUB) == 0;
    for (size_t i = 0; i < a->n_items; i++) {
        const struct item *it = &a->items[i];
        if (role_of(a, it) == ROLE_BENCH)
            continue;
        for (size_t p = 0; p < np; p++) {
            const char *field = it->raw_problem && ok[p] && !regexec(&re[p], it->raw_problem, 0,
                                                                    NULL, 0) ? "problem"
                              : it->completion && ok[p] && !regexec(&re[p], it->completion, 0,
                                                                    NULL, 0) ? "completion"
                              : NULL;
            if (field) {
                gate_row(&g, a, it, json_pack("{s:s,s:s}", "pattern", a->cfg->suspicious[p],
                                              "in", field));
                break;
            }
        }
    }
    for (size_t p = 0; p < np; p++)
        if (ok[p])
            regfree(&re[p]);
    free(re);
    free(ok);
    gate_end(a, GATE_SUSPICIOUS, &g, a->cfg->max_suspicious, 0, NULL);
}

/* ---- duplicate rows ---- */

static void duplicates(struct audit *a, size_t n_in)
{
    struct gate g;
    gate_start(&g);
    (void)n_in;
    struct u64map seen = { 0 };
    char **keys = xcalloc(a->n_items + 1, sizeof(*keys));
    struct strbuf sb = STRBUF_INIT, c = STRBUF_INIT;
    for (size_t i = 0; i < a->n_items; i++) {
        const struct item *it = &a->items[i];
        enum audit_role r = role_of(a, it);
        sb_reset(&sb);
        if (!*it->problem && !it->completion) {
            /* a row of no known shape: the whole row is what repeats */
            char *text = json_canon(it->row->row);
            sb_addf(&sb, "%d\x02%s", r == ROLE_VALID, text);
            free(text);
        } else {
            text_canon(it->completion ? it->completion : "", &c);
            sb_addf(&sb, "%d\x01%s\x01%s", r == ROLE_VALID, it->problem, c.buf);
        }
        uint64_t h = hash64(sb.buf, sb.len);
        size_t pos = 0, k, first = (size_t)-1;
        while (first == (size_t)-1 && u64map_next(&seen, h, &pos, &k))
            if (!strcmp(keys[k], sb.buf))
                first = k;
        if (r == ROLE_BENCH)
            continue;
        if (first != (size_t)-1) {
            gate_row(&g, a, it, json_pack("{s:o}", "first", where(a, first)));
            continue;
        }
        keys[i] = xstrdup(sb.buf);
        u64map_add(&seen, h, i);
    }
    for (size_t i = 0; i < a->n_items; i++)
        free(keys[i]);
    free(keys);
    u64map_free(&seen);
    sb_free(&sb);
    sb_free(&c);
    gate_end(a, GATE_DUPLICATES, &g, a->cfg->max_duplicates, 0, NULL);
}

/* ---- the whole audit ---- */

int audit_run(const struct audit_input *in, size_t n, const struct audit_config *cfg,
              json_t **report, struct strbuf *err)
{
    struct audit a = { in, cfg, NULL, 0, json_object() };
    *report = NULL;
    int rc = reduce(&a, n, err);
    if (rc == 0) {
        contamination(&a, n);
        leakage(&a, n);
        answers(&a, n);
        suspicious(&a, n);
        duplicates(&a, n);
        json_t *datasets = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(datasets, json_pack("{s:s,s:s,s:s,s:I}", "name",
                                                      in[i].dataset, "role",
                                                      role_names[in[i].role], "path",
                                                      in[i].file->path, "rows",
                                                      (json_int_t)in[i].file->n));
        *report = json_pack("{s:o,s:o}", "datasets", datasets, "gates", a.gates);
        json_object_set_new(*report, "passed", json_boolean(audit_passed(*report)));
        a.gates = NULL;
    }
    for (size_t i = 0; i < a.n_items; i++)
        free(a.items[i].problem);
    free(a.items);
    json_decref(a.gates);
    return rc;
}

int audit_passed(const json_t *report)
{
    const char *name;
    json_t *g;
    json_object_foreach(json_object_get(report, "gates"), name, g)
        if (!strcmp(json_string_value(json_object_get(g, "status")) ?: "", "fail"))
            return 0;
    return 1;
}

/* ---- gate names ---- */

const char *const audit_gate_names[N_GATES] = { "contamination", "leakage", "answers",
                                                 "suspicious", "duplicates" };

const char *audit_gate_name(enum audit_gate g)
{
    return (unsigned)g < N_GATES ? audit_gate_names[g] : "?";
}

int audit_gate_parse(const char *name)
{
    for (int g = 0; g < N_GATES; g++)
        if (!strcmp(name, audit_gate_names[g]))
            return g;
    return -1;
}
