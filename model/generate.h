/*
 * generate.h - greedy generation for many prompts at once: continuous batching
 * over a decoder's slots (decode.h). Every step runs one row per generating
 * sequence plus up to `prefill_chunk` prompt tokens of each sequence still reading
 * its prompt; a finished sequence leaves its slot at once and the next prompt
 * takes it. `threads` split each step's work (the projections' output columns,
 * the rows' attention) over a pool (pool.h); the batch stays one batch.
 *
 * A sequence stops at the first of:
 *   - the end-of-sequence token (EOS, or BOS as llama2.c's run.c does: its
 *     TinyStories models start a new story with BOS): GEN_EOS, not in the text;
 *   - a stop string appearing in the generated text: GEN_STOP, the text is cut
 *     where the stop string starts (the stop string is not in it);
 *   - max_new_tokens generated: GEN_LENGTH;
 *   - the model's last position: GEN_CONTEXT.
 * `tokens` counts every token generated, the EOS or the one completing a stop
 * string included. Greedy = the highest logit; on a tie the lowest id.
 *
 * Results do not depend on batch, threads or prefill_chunk (decode.h's batch
 * invariance): only on the model, the prompt and the stop rules.
 *
 * Errors: generate_greedy() returns -1 with one message in *err for an empty
 * prompt, a prompt that leaves no room to generate (its index is named), or bad
 * options. Nothing here prints or exits.
 *
 * Ownership: prompts are borrowed. res[0..n) is filled by the call; each result's
 * text and ids are owned by it and gen_results_free() releases them.
 */
#ifndef MAINLINE_GENERATE_H
#define MAINLINE_GENERATE_H

#include <stddef.h>

#include "model.h"
#include "strbuf.h"
#include "tokenizer.h"

enum gen_finish { GEN_EOS, GEN_STOP, GEN_LENGTH, GEN_CONTEXT };

struct gen_prompt {
    const int *ids;              /* BOS first when the model expects one */
    int n;
};

struct gen_options {
    int max_new_tokens;          /* >= 1 */
    const char *const *stop;     /* n_stop non-empty stop strings (may be NULL) */
    size_t n_stop;
    int batch;                   /* sequences decoded together (over all threads), >= 1 */
    int threads;                 /* >= 1: threads sharing each step */
    int prefill_chunk;           /* prompt tokens of one sequence per step; 0: 32 */
};

struct gen_result {
    struct strbuf text;          /* the generated text, decoded */
    int tokens;                  /* tokens generated */
    enum gen_finish finish;
    int *ids;                    /* owned: the `tokens` ids generated, the last one included */
};

/* Greedy continuations of prompts[0..n) into res[0..n). */
int generate_greedy(const struct model *m, const struct tokenizer *tok,
                    const struct gen_prompt *prompts, size_t n, const struct gen_options *opt,
                    struct gen_result *res, struct strbuf *err);

void gen_results_free(struct gen_result *res, size_t n);

/* "eos", "stop", "length", "context" */
const char *gen_finish_name(enum gen_finish f);

/* The highest of V logits, the lowest id on ties. */
int logits_argmax(const float *logits, int V);

#endif
