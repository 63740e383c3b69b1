/*
 * generate.c - continuous-batched greedy generation (see generate.h): slots,
 * the queue of prompts, stop rules. One decoder runs every step; its pool splits
 * each step's work over the threads.
 */
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "error.h"
#include "generate.h"
#include "pool.h"

#define DEFAULT_PREFILL_CHUNK 32

/* The prompts, the options, the next unstarted prompt. */
struct gen_job {
    const struct model *m;
    const struct tokenizer *tok;
    const struct gen_prompt *prompts;
    size_t n;
    const struct gen_options *opt;
    struct gen_result *res;
    int chunk, slots, P;
    size_t next;
};

/* A sequence in a slot. */
struct slot {
    long idx;                      /* prompt index, -1 when the slot is free */
    int fed;                       /* prompt tokens in the cache */
    int last;                      /* the last token (prompt or generated) */
};

struct worker {
    struct gen_job *job;
    struct decoder d;
    struct slot *sl;               /* (slots) */
    struct decode_row *rows;       /* (R) */
    int *out;                      /* (slots) rows whose logits are wanted */
    int *out_slot;                 /* (slots) their slots */
    int failed;
};

const char *gen_finish_name(enum gen_finish f)
{
    static const char *const names[] = { "eos", "stop", "length", "context" };
    return (unsigned)f < 4 ? names[f] : "?";
}

int logits_argmax(const float *logits, int V)
{
    int best = 0;
    for (int v = 1; v < V; v++)
        if (logits[v] > logits[best])
            best = v;
    return best;
}

static long take_prompt(struct gen_job *j)
{
    return j->next < j->n ? (long)j->next++ : -1;
}

/* Fill free slots from the queue; the number of occupied slots. */
static int admit(struct worker *w)
{
    int busy = 0;
    for (int s = 0; s < w->job->slots; s++) {
        if (w->sl[s].idx < 0) {
            long i = take_prompt(w->job);
            if (i >= 0)
                w->sl[s] = (struct slot){ i, 0, -1 };
        }
        busy += w->sl[s].idx >= 0;
    }
    return busy;
}

/* This step's rows: a chunk of the prompt, or the last generated token. */
static int build_rows(struct worker *w, int *n_out)
{
    const struct gen_job *j = w->job;
    int n = 0;
    *n_out = 0;
    for (int s = 0; s < j->slots; s++) {
        struct slot *sl = &w->sl[s];
        if (sl->idx < 0)
            continue;
        const struct gen_prompt *p = &j->prompts[sl->idx];
        if (sl->fed < p->n) {
            int k = p->n - sl->fed < j->chunk ? p->n - sl->fed : j->chunk;
            for (int i = 0; i < k; i++, sl->fed++)
                w->rows[n++] = (struct decode_row){ s, sl->fed, p->ids[sl->fed] };
            sl->last = p->ids[sl->fed - 1];
            if (sl->fed < p->n)
                continue;   /* more prompt next step: no logits yet */
        } else {
            int pos = p->n + j->res[sl->idx].tokens - 1;
            w->rows[n++] = (struct decode_row){ s, pos, sl->last };
        }
        w->out[*n_out] = n - 1;
        w->out_slot[(*n_out)++] = s;
    }
    return n;
}

/* The earliest stop string in text that ends after byte `from`, or -1. */
static long find_stop(const struct gen_options *o, const struct strbuf *text, size_t from)
{
    long best = -1;
    for (size_t i = 0; i < o->n_stop; i++) {
        size_t sl = strlen(o->stop[i]);
        size_t start = from + 1 > sl ? from + 1 - sl : 0;
        if (!text->buf || text->len < start + sl)
            continue;
        const char *hit = memmem(text->buf + start, text->len - start, o->stop[i], sl);
        if (hit && (best < 0 || hit - text->buf < best))
            best = hit - text->buf;
    }
    return best;
}

/* Take token `next` for slot s; 1 when its sequence is finished. */
static int accept_token(struct worker *w, int s, int next)
{
    const struct gen_job *j = w->job;
    struct slot *sl = &w->sl[s];
    struct gen_result *r = &j->res[sl->idx];
    const struct gen_prompt *p = &j->prompts[sl->idx];
    r->ids = xrealloc(r->ids, (size_t)(r->tokens + 1) * sizeof(int));
    r->ids[r->tokens++] = next;
    if (next == j->tok->eos_id || next == j->tok->bos_id) {
        r->finish = GEN_EOS;
        return 1;
    }
    size_t before = r->text.len;
    tokenizer_decode_append(j->tok, sl->last, next, &r->text);
    sl->last = next;
    long cut = j->opt->n_stop ? find_stop(j->opt, &r->text, before) : -1;
    if (cut >= 0) {
        r->text.len = (size_t)cut;
        r->text.buf[cut] = '\0';
        r->finish = GEN_STOP;
        return 1;
    }
    if (r->tokens >= j->opt->max_new_tokens) {
        r->finish = GEN_LENGTH;
        return 1;
    }
    if (p->n + r->tokens - 1 >= j->m->cfg.max_seq_len) {
        r->finish = GEN_CONTEXT;   /* no position left to feed it at */
        return 1;
    }
    return 0;
}

static void worker_run(struct worker *w)
{
    while (admit(w) > 0) {
        int n_out, n = build_rows(w, &n_out);
        if (decoder_step(&w->d, w->rows, n, w->out, n_out) < 0) {
            w->failed = 1;
            break;
        }
        for (int i = 0; i < n_out; i++) {
            int s = w->out_slot[i];
            int next = logits_argmax(w->d.logits + (size_t)i * w->d.V, w->d.V);
            if (accept_token(w, s, next))
                w->sl[s].idx = -1;
        }
    }
}

static int worker_init(struct worker *w, struct gen_job *j, struct pool *pool)
{
    memset(w, 0, sizeof(*w));
    w->job = j;
    int R = j->slots * j->chunk;
    if (decoder_alloc(&w->d, j->m, j->slots, j->P, R, pool) < 0)
        return -1;
    w->sl = xcalloc((size_t)j->slots, sizeof(*w->sl));
    for (int s = 0; s < j->slots; s++)
        w->sl[s].idx = -1;
    w->rows = xcalloc((size_t)R, sizeof(*w->rows));
    w->out = xcalloc((size_t)j->slots, sizeof(int));
    w->out_slot = xcalloc((size_t)j->slots, sizeof(int));
    return 0;
}

static void worker_free(struct worker *w)
{
    decoder_free(&w->d);
    free(w->sl);
    free(w->rows);
    free(w->out);
    free(w->out_slot);
}

/* Checks, and the cache length the longest prompt needs. */
static int plan_job(struct gen_job *j, struct strbuf *err)
{
    const struct gen_options *o = j->opt;
    int max_pos = j->m->cfg.max_seq_len, longest = 0;
    if (o->max_new_tokens < 1 || o->batch < 1 || o->threads < 1 || o->prefill_chunk < 0) {
        sb_adds(err, "generation: max_new_tokens, batch and threads must be >= 1");
        return -1;
    }
    for (size_t i = 0; i < o->n_stop; i++)
        if (!o->stop[i] || !*o->stop[i]) {
            sb_addf(err, "generation: stop string %zu is empty", i + 1);
            return -1;
        }
    for (size_t i = 0; i < j->n; i++) {
        const struct gen_prompt *p = &j->prompts[i];
        if (p->n < 1 || p->n >= max_pos) {
            sb_addf(err, "prompt %zu has %d tokens; the model holds %d positions and needs "
                    "one to generate", i + 1, p->n, max_pos);
            return -1;
        }
        for (int t = 0; t < p->n; t++)
            if (p->ids[t] < 0 || p->ids[t] >= j->m->cfg.vocab_size) {
                sb_addf(err, "prompt %zu: token %d is outside the vocabulary", i + 1,
                        p->ids[t]);
                return -1;
            }
        longest = p->n > longest ? p->n : longest;
    }
    long need = (long)longest + o->max_new_tokens - 1;
    j->P = need < max_pos ? (int)need : max_pos;
    j->chunk = o->prefill_chunk ? o->prefill_chunk : DEFAULT_PREFILL_CHUNK;
    return 0;
}

int generate_greedy(const struct model *m, const struct tokenizer *tok,
                    const struct gen_prompt *prompts, size_t n, const struct gen_options *opt,
                    struct gen_result *res, struct strbuf *err)
{
    for (size_t i = 0; i < n; i++)
        res[i] = (struct gen_result){ STRBUF_INIT, 0, GEN_LENGTH, NULL };
    struct gen_job j = { m, tok, prompts, n, opt, res, 0, 0, 0, 0 };
    if (n == 0)
        return 0;
    if (plan_job(&j, err) < 0)
        return -1;
    j.slots = opt->batch < (int)n ? opt->batch : (int)n;
    struct pool *pool = pool_new(opt->threads);
    struct worker w;
    int rc = worker_init(&w, &j, pool);
    if (rc == 0)
        worker_run(&w);
    rc |= w.failed ? -1 : 0;
    worker_free(&w);
    pool_free(pool);
    if (rc < 0)
        sb_adds(err, "generation: cannot allocate the decoder, or a decoding step failed");
    return rc < 0 ? -1 : 0;
}

void gen_results_free(struct gen_result *res, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sb_free(&res[i].text);
        free(res[i].ids);
        res[i].ids = NULL;
    }
}
