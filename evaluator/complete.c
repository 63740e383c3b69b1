/* complete.c - greedy line completion of prompt/completion rows (see complete.h). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "complete.h"
#include "error.h"
#include "generate.h"
#include "jsonl.h"

struct rows {
    struct gen_prompt *prompts;   /* ids owned here */
    char **want;                  /* completions, owned here */
    size_t n, alloc;
    const struct tokenizer *tok;
    const char *path;
    struct strbuf *err;
};

/* row[key] when it is a string, else NULL. */
static const char *row_text(const json_t *row, const char *key)
{
    return json_string_value(json_object_get(row, key));
}

/* The prompt encoded as it is (BOS first when the model has one), and `keep`. */
static void push_prompt(struct rows *r, const char *prompt, const char *keep)
{
    r->prompts = xgrow(r->prompts, r->n + 1, &r->alloc, sizeof(*r->prompts));
    r->want = xrealloc(r->want, r->alloc * sizeof(*r->want));
    int *ids = NULL;
    size_t n = 0;
    tokenizer_encode_framed(r->tok, prompt, strlen(prompt), FRAME_PROMPT, &ids, &n);
    r->prompts[r->n] = (struct gen_prompt){ ids, (int)n };
    r->want[r->n++] = xstrdup(keep);
}

static int add_row(const char *line, long lineno, void *ud)
{
    struct rows *r = ud;
    json_t *row = json_loads(line, 0, NULL);
    const char *prompt = row_text(row, "prompt"), *want = row_text(row, "completion");
    const char *why = !json_is_object(row) ? "not a JSON object"
                      : !prompt || !want ? "needs string \"prompt\" and \"completion\""
                      : strchr(want, '\n') ? "the completion must be one line (no \"\\n\")"
                      : !*prompt ? "empty prompt" : NULL;
    if (why) {
        sb_addf(r->err, "%s:%ld: %s", r->path, lineno, why);
        json_decref(row);
        return -1;
    }
    push_prompt(r, prompt, want);
    json_decref(row);
    return 0;
}

static void rows_free(struct rows *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free((int *)r->prompts[i].ids);
        free(r->want[i]);
    }
    free(r->prompts);
    free(r->want);
}

enum train_data_status eval_complete(const struct model *m, const struct tokenizer *tok,
                                     const char *path, int threads, struct complete_result *out,
                                     struct strbuf *err)
{
    memset(out, 0, sizeof(*out));
    struct rows r = { .tok = tok, .path = path, .err = err };
    enum jsonl_status js = jsonl_each(path, add_row, &r, err);
    enum train_data_status st = js == JSONL_OK ? TRAIN_DATA_OK
                        : js == JSONL_STOPPED ? TRAIN_DATA_BAD_ROW : TRAIN_DATA_UNREADABLE;
    if (st == TRAIN_DATA_OK && r.n == 0) {
        sb_addf(err, "%s: no rows", path);
        st = TRAIN_DATA_BAD_ROW;
    }
    struct gen_result *res = st == TRAIN_DATA_OK ? xcalloc(r.n, sizeof(*res)) : NULL;
    static const char *const stop[] = { "\n" };
    struct gen_options o = { .max_new_tokens = COMPLETE_MAX_NEW_TOKENS, .stop = stop,
                             .n_stop = 1, .batch = 32, .threads = threads };
    if (res && generate_greedy(m, tok, r.prompts, r.n, &o, res, err) < 0)
        st = TRAIN_DATA_BAD_ROW;   /* a prompt that leaves no room to generate */
    for (size_t i = 0; st == TRAIN_DATA_OK && i < r.n; i++)
        out->correct += strcmp(sb_str(&res[i].text), r.want[i]) == 0;
    out->n = st == TRAIN_DATA_OK ? (long)r.n : 0;
    if (res)
        gen_results_free(res, r.n);
    free(res);
    rows_free(&r);
    return st;
}

/* ---- --greedy: the ids a model generates ---- */

static int add_prompt(const char *line, long lineno, void *ud)
{
    struct rows *r = ud;
    json_t *row = json_loads(line, 0, NULL);
    const char *prompt = row_text(row, "prompt");
    if (!prompt || !*prompt) {
        sb_addf(r->err, "%s:%ld: needs a non-empty string \"prompt\"", r->path, lineno);
        json_decref(row);
        return -1;
    }
    push_prompt(r, prompt, prompt);
    json_decref(row);
    return 0;
}

static json_t *ids_json(const int *ids, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_integer(ids[i]));
    return a;
}

enum train_data_status eval_greedy(const struct model *m, const struct tokenizer *tok,
                                   const char *path, int threads, int max_new_tokens,
                                   json_t **out, struct strbuf *err)
{
    *out = NULL;
    struct rows r = { .tok = tok, .path = path, .err = err };
    enum jsonl_status js = jsonl_each(path, add_prompt, &r, err);
    enum train_data_status st = js == JSONL_OK ? TRAIN_DATA_OK
                        : js == JSONL_STOPPED ? TRAIN_DATA_BAD_ROW : TRAIN_DATA_UNREADABLE;
    struct gen_result *res = st == TRAIN_DATA_OK ? xcalloc(r.n + 1, sizeof(*res)) : NULL;
    struct gen_options o = { .max_new_tokens = max_new_tokens, .batch = 32, .threads = threads };
    if (res && generate_greedy(m, tok, r.prompts, r.n, &o, res, err) < 0)
        st = TRAIN_DATA_BAD_ROW;
    if (st == TRAIN_DATA_OK) {
        *out = json_array();
        for (size_t i = 0; i < r.n; i++)
            json_array_append_new(*out, json_pack(
                "{s:s,s:o,s:o,s:s,s:s%}", "prompt", r.want[i], "prompt_ids",
                ids_json(r.prompts[i].ids, r.prompts[i].n), "ids",
                ids_json(res[i].ids, res[i].tokens), "finish", gen_finish_name(res[i].finish),
                "text", res[i].text.buf ? res[i].text.buf : "", res[i].text.len));
    }
    if (res)
        gen_results_free(res, r.n);
    free(res);
    rows_free(&r);
    return st;
}
