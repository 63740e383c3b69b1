/* bench.c - benchmark rows -> examples (see bench.h). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench.h"
#include "jsonl.h"

/* A JSON value as answer or id text: a string as is, anything else as JSON. */
static char *value_text(const json_t *v)
{
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    return s ? s : xstrdup("");
}

static int gold_of(const json_t *row, const struct render_fields *f, const char *completion,
                   const struct extractor *x, struct bench_example *e, struct strbuf *why)
{
    const json_t *ea = json_object_get(row, f && f->answer ? f->answer : "expected_answer");
    if (json_is_string(ea) || json_is_number(ea)) {
        e->gold = value_text(ea);
        return 0;
    }
    if (!*completion) {
        sb_adds(why, "no answer to score against: the row has no expected_answer and no "
                "reference completion (answer, solution, ...)");
        return -1;
    }
    struct strbuf g = STRBUF_INIT;
    if (!extract_answer(x, completion, &g)) {
        sb_adds(why, "no answer to score against: the contract's extractor finds none in the "
                "row's reference completion");
        sb_free(&g);
        return -1;
    }
    e->gold = sb_detach(&g);
    return 0;
}

/* One JSONL row -> one example; -1 with "path:line: why" in err. */
static int add_row(struct bench *b, const char *line, long lineno, const char *path,
                   const struct render_contract *rc, const struct extractor *x,
                   const struct tokenizer *tok, struct strbuf *err)
{
    json_error_t je;
    json_t *row = json_loads(line, 0, &je);
    struct strbuf prompt = STRBUF_INIT, completion = STRBUF_INIT, why = STRBUF_INIT;
    struct bench_example e = { .line = lineno };
    int rc_ = 0;
    if (!row) {
        sb_addf(&why, "not a JSON row: %s", je.text);
        rc_ = -1;
    }
    if (rc_ == 0)
        rc_ = render_row(row, rc, 0, &prompt, &completion, &why);
    if (rc_ == 0)
        rc_ = gold_of(row, rc->fields, sb_str(&completion), x, &e, &why);
    if (rc_ == 0) {
        const json_t *id = json_object_get(row, rc->fields && rc->fields->id ? rc->fields->id
                                                                             : "id");
        struct strbuf index = STRBUF_INIT;
        sb_addf(&index, "%zu", b->n);
        e.id = id ? value_text(id) : sb_detach(&index);
        sb_free(&index);
        size_t n = 0;
        tokenizer_encode_framed(tok, sb_str(&prompt), prompt.len,
                                rc->tmpl == TEMPLATE_CHAT ? FRAME_NONE : FRAME_PROMPT, &e.ids, &n);
        e.n_ids = (int)n;
        sha256_hex(sb_str(&prompt), prompt.len, e.prompt_sha256);
        e.prompt = sb_detach(&prompt);
        b->ex = xgrow(b->ex, b->n + 1, &b->alloc, sizeof(*b->ex));
        b->ex[b->n++] = e;
    } else {
        free(e.gold);
        sb_addf(err, "%s:%ld: %s", path, lineno, why.buf);
    }
    sb_free(&prompt);
    sb_free(&completion);
    sb_free(&why);
    json_decref(row);
    return rc_;
}

struct load_ctx {
    struct bench *b;
    const char *path;
    const struct render_contract *rc;
    const struct extractor *x;
    const struct tokenizer *tok;
    long limit;
    struct strbuf *err;
};

static int load_line(const char *line, long lineno, void *ud)
{
    struct load_ctx *c = ud;
    if (add_row(c->b, line, lineno, c->path, c->rc, c->x, c->tok, c->err) < 0)
        return -1;
    return c->limit > 0 && (long)c->b->n >= c->limit;
}

enum bench_status bench_load(const char *path, const struct render_contract *rc,
                             const struct extractor *x, const struct tokenizer *tok, long limit,
                             struct bench *b, struct strbuf *err)
{
    memset(b, 0, sizeof(*b));
    struct load_ctx c = { b, path, rc, x, tok, limit, err };
    enum jsonl_status st = jsonl_each(path, load_line, &c, err);
    return st == JSONL_OK ? BENCH_OK : st == JSONL_STOPPED ? BENCH_BAD_ROW : BENCH_UNREADABLE;
}

void bench_free(struct bench *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->ex[i].id);
        free(b->ex[i].prompt);
        free(b->ex[i].gold);
        free(b->ex[i].ids);
    }
    free(b->ex);
    memset(b, 0, sizeof(*b));
}
