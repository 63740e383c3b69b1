/*
 * eval.h - one evaluation: the model (base + checkpoint) scored on the benchmark
 * under the frozen contract, and the optional retention NLL and probe answers.
 *
 * Files written into out_dir, each atomically (temporary file, fsync, rename):
 *   predictions.jsonl  one line per example: id, prompt_sha256, output, extracted
 *                      (null on an extraction failure), gold, correct,
 *                      extraction_failed, tokens, finish (eos|stop|length|context)
 *   probes.jsonl       with evaluation.probes: {"idx", "prompt", "output", "tokens"}
 *   predictions-QUANT.jsonl  with quantized (the mainline's usable.quantized): the
 *                      same lines for the model written as a GGUF of type QUANT by
 *                      model_export() and read back by model_load() (the GGUF,
 *                      model-QUANT.gguf, is removed once evaluated)
 * and one line appended to metrics.jsonl, last:
 *   {"event":"eval","dataset","n","correct","accuracy","extraction_failures",
 *    "gen_tokens","seconds","tok_per_s",["retention","retention_nll",
 *    "retention_tokens"],["probes"],["quantized"],"step","checkpoint","batch","threads"}
 * where quantized is {"quant","n","correct","accuracy","extraction_failures",
 * "gen_tokens","seconds","tok_per_s","gguf_bytes","predictions"}.
 * "seconds" covers generation only; tok_per_s = gen_tokens / seconds.
 *
 * Errors: eval_run() returns an enum eval_status and appends one message to
 * *err. Nothing here exits; progress goes to stdout.
 *
 * Ownership: everything is borrowed.
 */
#ifndef MAINLINE_EVALUATOR_EVAL_H
#define MAINLINE_EVALUATOR_EVAL_H

#include "eval_config.h"
#include "strbuf.h"

#define EVAL_DEFAULT_BATCH 32

enum eval_status {
    EVAL_OK,
    EVAL_BAD_CONFIG,      /* exit 2 */
    EVAL_UNREADABLE,      /* exit 4: missing or mismatched model/checkpoint, bad benchmark row */
    EVAL_FAILED,          /* exit 1: cannot write the results */
};

struct eval_options {
    const char *out_dir;
    int threads;
    int batch;            /* sequences decoded together */
};

enum eval_status eval_run(const struct eval_config *cfg, const struct eval_options *o,
                          struct strbuf *err);

#endif
