/*
 * main.c - mainline-eval, the built-in evaluator the orchestrator starts for each
 * checkpoint to evaluate (docs/protocol.md, "Evaluators"): argv and environment,
 * the thread budget, the exit status. The evaluation itself is eval.h's.
 *
 *   mainline-eval --config eval.json --out DIR --threads T [--batch B]
 *   mainline-eval --nll DATA.jsonl --base-model PATH [--checkpoint DIR] [--threads T]
 *   mainline-eval --complete DATA.jsonl --base-model PATH [--checkpoint DIR] [--threads T]
 *   mainline-eval --greedy PROMPTS.jsonl --base-model PATH [--checkpoint DIR]
 *                 [--max-new-tokens N] [--threads T]
 *   mainline-eval --logits IDS.jsonl --base-model PATH [--checkpoint DIR] [--threads T]
 *
 * (MAINLINE_CONFIG, MAINLINE_RUN_DIR and MAINLINE_THREADS stand in for missing
 * options; --out defaults to the config's directory.) The second form prints the
 * mean completion NLL of a dataset as one JSON line and writes nothing; the third
 * the share of rows a model continues with exactly their completion (complete.h);
 * the fourth one JSON line per prompt with the ids it generates greedily.
 * Exit status: 0 done, 2 bad configuration or usage, 4 unreadable or mismatched
 * inputs (model, checkpoint, a benchmark row), 1 anything else.
 *
 * It is not a sampler (greedy only) and not a general harness: one prompt
 * contract, exact-match scoring of an extracted answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "complete.h"
#include "logits.h"
#include "eval.h"
#include "fsutil.h"
#include "job.h"
#include "nll.h"
#include "weights.h"

void openblas_set_num_threads(int n);

struct eval_args {
    const char *config, *out;
    const char *nll, *complete, *greedy, *logits, *base_model, *checkpoint;   /* the scoring forms */
    int threads, batch, max_new_tokens;
};

static const char usage_text[] =
    "usage: mainline-eval --config eval.json --out DIR --threads T [--batch B]\n"
    "   or: mainline-eval --nll DATA.jsonl --base-model PATH [--checkpoint DIR] [--threads T]\n"
    "   or: mainline-eval --complete DATA.jsonl --base-model PATH [--checkpoint DIR] "
    "[--threads T]\n"
    "   or: mainline-eval --greedy PROMPTS.jsonl --base-model PATH [--checkpoint DIR] "
    "[--max-new-tokens N] [--threads T]\n"
    "   or: mainline-eval --logits IDS.jsonl --base-model PATH [--checkpoint DIR] "
    "[--threads T]";

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

static int parse_count(const char *what, const char *s, int max, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 1 || v > max)
        return error("%s must be an integer in 1..%d, not '%s'", what, max, s);
    *out = (int)v;
    return 0;
}

/* 0, or -1 after printing what is wrong with the command line. */
static int parse_args(int argc, char **argv, struct eval_args *a)
{
    const char *threads = env_or(JOB_ENV_THREADS, "1"), *batch = NULL, *max_new = NULL;
    a->config = env_or(JOB_ENV_CONFIG, NULL);
    a->out = env_or(JOB_ENV_RUN_DIR, NULL);
    for (int i = 1; i < argc; i += 2) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        const char **dst = !strcmp(opt, "--config") ? &a->config
                          : !strcmp(opt, "--out") ? &a->out
                          : !strcmp(opt, "--threads") ? &threads
                          : !strcmp(opt, "--batch") ? &batch
                          : !strcmp(opt, "--nll") ? &a->nll
                          : !strcmp(opt, "--complete") ? &a->complete
                          : !strcmp(opt, "--greedy") ? &a->greedy
                          : !strcmp(opt, "--logits") ? &a->logits
                          : !strcmp(opt, "--max-new-tokens") ? &max_new
                          : !strcmp(opt, "--base-model") ? &a->base_model
                          : !strcmp(opt, "--checkpoint") ? &a->checkpoint : NULL;
        if (!dst || !val)
            return error("%s '%s'\n%s", dst ? "missing value for" : "unknown option", opt,
                         usage_text);
        *dst = val;
    }
    a->batch = EVAL_DEFAULT_BATCH;
    if (parse_count("--threads", threads, 1024, &a->threads) < 0 ||
        (batch && parse_count("--batch", batch, 65536, &a->batch) < 0))
        return -1;
    a->max_new_tokens = 100;
    if (max_new && parse_count("--max-new-tokens", max_new, 1 << 20, &a->max_new_tokens) < 0)
        return -1;
    if (!!a->nll + !!a->complete + !!a->greedy + !!a->logits > 1)
        return error("--nll, --complete, --greedy and --logits are four modes: pass one\n%s",
                     usage_text);
    if ((a->nll || a->complete || a->greedy || a->logits) && !a->base_model)
        return error("%s needs --base-model PATH\n%s",
                     a->nll ? "--nll" : a->complete ? "--complete"
                     : a->greedy ? "--greedy" : "--logits", usage_text);
    if (!a->nll && !a->complete && !a->greedy && !a->logits && !a->config)
        return error("no config: pass --config PATH (or set MAINLINE_CONFIG)\n%s", usage_text);
    return 0;
}

static int exit_code(enum eval_status st)
{
    switch (st) {
    case EVAL_OK: return JOB_EXIT_OK;
    case EVAL_BAD_CONFIG: return JOB_EXIT_BAD_CONFIG;
    case EVAL_UNREADABLE: return JOB_EXIT_UNREADABLE;
    default: return JOB_EXIT_FAILED;
    }
}

/* --nll: the mean completion NLL as one JSON line on stdout. */
static enum train_data_status print_nll(const struct model *m, const struct tokenizer *tok,
                                        const char *path, struct strbuf *err)
{
    struct render_contract rc = { NULL, TEMPLATE_PLAIN, NULL, NULL };
    struct loss_sum acc = { 0, 0 };
    enum train_data_status st = eval_nll(m, tok, &rc, path, 0, &acc, err);
    if (st == TRAIN_DATA_OK)
        printf("{\"dataset\":\"%s\",\"nll\":%.6f,\"tokens\":%ld}\n", path, loss_mean(&acc),
               acc.count);
    return st;
}

/* --complete: the rows completed exactly, as one JSON line on stdout. */
static enum train_data_status print_complete(const struct model *m, const struct tokenizer *tok,
                                             const char *path, int threads, struct strbuf *err)
{
    struct complete_result r;
    enum train_data_status st = eval_complete(m, tok, path, threads, &r, err);
    if (st == TRAIN_DATA_OK)
        printf("{\"dataset\":\"%s\",\"n\":%ld,\"correct\":%ld,\"accuracy\":%.6f}\n", path, r.n,
               r.correct, (double)r.correct / (double)r.n);
    return st;
}

/* --greedy: a JSON line per prompt with the ids generated. */
static enum train_data_status print_greedy(const struct model *m, const struct tokenizer *tok,
                                           const struct eval_args *a, struct strbuf *err)
{
    json_t *rows;
    enum train_data_status st = eval_greedy(m, tok, a->greedy, a->threads, a->max_new_tokens,
                                            &rows, err);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        char *line = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%s\n", line);
        free(line);
    }
    json_decref(rows);
    return st;
}

/* --logits: a JSON line per row with the logits at each of its positions. */
static enum train_data_status print_logits(const struct model *m, const struct eval_args *a,
                                           struct strbuf *err)
{
    json_t *rows;
    enum train_data_status st = eval_logits(m, a->logits, a->threads, &rows, err);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        char *line = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
        printf("%s\n", line);
        free(line);
    }
    json_decref(rows);
    return st;
}

/* The standalone forms: one dataset scored with a model, nothing written. */
static enum eval_status score_main(const struct eval_args *a, struct strbuf *err)
{
    struct model m;
    struct tokenizer tok;
    if (eval_weights_load(a->base_model, a->checkpoint, &m, &tok, err) < 0)
        return EVAL_UNREADABLE;
    openblas_set_num_threads(a->threads);
    enum train_data_status st = a->nll ? print_nll(&m, &tok, a->nll, err)
                                 : a->complete ? print_complete(&m, &tok, a->complete,
                                                                a->threads, err)
                                 : a->logits ? print_logits(&m, a, err)
                                 : print_greedy(&m, &tok, a, err);
    tokenizer_free(&tok);
    model_free(&m);
    return st == TRAIN_DATA_OK ? EVAL_OK : EVAL_UNREADABLE;
}

static enum eval_status config_main(const struct eval_args *a, struct strbuf *err)
{
    struct eval_config cfg;
    enum eval_config_status cs = eval_config_load(a->config, &cfg, err);
    enum eval_status st = cs == EVAL_CONFIG_OK ? EVAL_OK
                        : cs == EVAL_CONFIG_BAD ? EVAL_BAD_CONFIG : EVAL_UNREADABLE;
    char *out = a->out ? xstrdup(a->out) : path_dirname(a->config);
    struct eval_options o = { out, a->threads, a->batch };
    if (st == EVAL_OK && mkdir_p(out, err) < 0)
        st = EVAL_FAILED;
    if (st == EVAL_OK)
        st = eval_run(&cfg, &o, err);
    eval_config_free(&cfg);
    free(out);
    return st;
}

static int eval_main(int argc, char **argv)
{
    struct eval_args a;
    memset(&a, 0, sizeof(a));
    if (parse_args(argc, argv, &a) < 0)
        return JOB_EXIT_BAD_CONFIG;
    struct strbuf err = STRBUF_INIT;
    enum eval_status st = a.nll || a.complete || a.greedy || a.logits
                            ? score_main(&a, &err) : config_main(&a, &err);
    if (st != EVAL_OK)
        error("%s", err.len ? err.buf : "evaluation failed");
    sb_free(&err);
    if (fflush(stdout) != 0 && st == EVAL_OK) {
        error("cannot write to stdout");
        return JOB_EXIT_FAILED;
    }
    return exit_code(st);
}

#ifndef TESTING
int main(int argc, char **argv)
{
    return eval_main(argc, argv);
}
#endif
