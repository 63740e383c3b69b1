/*
 * fake_evaluator.c - a small, honest evaluator for testing the orchestrator; not
 * shipped. Follows docs/protocol.md: reads $MAINLINE_CONFIG (eval.json), writes
 * predictions.jsonl and one {"event":"eval"} summary into $MAINLINE_METRICS.
 *
 * By default it "answers" example k of 6 correctly when (k + step) % 3 != 0, so
 * accuracy depends on the checkpoint in a known way; the baseline (no step) gets
 * k % 2 == 0 right. For selection tests, knobs from the run's x_ parameters:
 *   x_eval_correct K   K examples right: k is right when (k + x_eval_shift + seed) % n < K
 *   x_eval_shift S     (0)  x_eval_tok_per_s T (1800)  x_retention_nll X (summary field)
 *   x_eval_per_rank R  (0: R * rank more right)  x_eval_lr_penalty P (0: round(P *
 *                      |log10(lr) + 3.5|) fewer right; with these a rank x lr grid has a
 *                      known best cell, high rank at lr near 3e-4, as the fake trainer's NLL)
 * and from argv, for every evaluation and the baseline's:
 *   --n N (6)  --base-correct K  --base-retention X  --probe PROMPT (writes probes.jsonl:
 *   the answer is "PROMPT from RUN", or "from base" for the baseline)
 *   --nul K (0): the outputs of the first K examples hold a NUL (\u0000), as a model with
 *   all-zero or NaN weights generates
 *   --sleep-ms MS (0): take about MS to evaluate, spread over the examples (each line of
 *   predictions.jsonl is flushed), so a fault battery can kill it midway
 *   --log-starts FILE: append a line "PID DIR" to FILE when it starts (to count starts)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

static long knob(const json_t *params, const char *name, long fallback)
{
    json_t *v = json_object_get(params, name);
    return json_is_integer(v) ? (long)json_integer_value(v) : fallback;
}

int main(int argc, char **argv)
{
    const char *cfg_path = getenv("MAINLINE_CONFIG"), *dir = getenv("MAINLINE_RUN_DIR");
    json_t *cfg = cfg_path ? json_load_file(cfg_path, 0, NULL) : NULL;
    if (!cfg || !dir) {
        fprintf(stderr, "fake_evaluator: no config\n");
        return 2;
    }
    int n = 6, nul = 0;
    long sleep_ms = 0;
    long base_correct = -1;
    const char *base_retention = NULL, *probe = NULL, *log_starts = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--n"))
            n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--base-correct"))
            base_correct = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--base-retention"))
            base_retention = argv[i + 1];
        else if (!strcmp(argv[i], "--probe"))
            probe = argv[i + 1];
        else if (!strcmp(argv[i], "--nul"))
            nul = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--sleep-ms"))
            sleep_ms = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--log-starts"))
            log_starts = argv[i + 1];
    }
    if (log_starts) {
        FILE *f = fopen(log_starts, "a");
        if (f) {
            fprintf(f, "%d %s\n", (int)getpid(), dir);
            fclose(f);
        }
    }
    json_t *params = json_object_get(cfg, "params"), *stepv = json_object_get(cfg, "step");
    long step = json_is_integer(stepv) ? (long)json_integer_value(stepv) : -1;
    long want = step < 0 ? base_correct : knob(params, "x_eval_correct", -1);
    double lr = json_number_value(json_object_get(params, "lr"));
    if (step >= 0 && want >= 0)
        want += knob(params, "x_eval_per_rank", 0) * knob(params, "rank", 0) -
                lround((double)knob(params, "x_eval_lr_penalty", 0) *
                       fabs(log10(lr > 0 ? lr : 3.16e-4) + 3.5));
    long shift = knob(params, "x_eval_shift", 0) + knob(params, "seed", 0);
    char path[4096];
    snprintf(path, sizeof(path), "%s/predictions.jsonl", dir);
    FILE *p = fopen(path, "w");
    int correct = 0;
    for (int k = 0; k < n && p; k++) {
        long ms = sleep_ms / (n > 0 ? n : 1);
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0)
            ;
        int ok = want >= 0 ? (k + shift) % n < want
                 : step < 0 ? k % 2 == 0 : (k + step) % 3 != 0;
        correct += ok;
        fprintf(p, "{\"id\":\"ex-%03d\",\"prompt_sha256\":\"%064d\",\"output\":\"answer %d%s\","
                "\"extracted\":\"%d\",\"gold\":\"%d\",\"correct\":%s,\"extraction_failed\":false,"
                "\"tokens\":3}\n", k, k, k, k < nul ? "\\u0000" : "", ok ? k : -1, k,
                ok ? "true" : "false");
        fflush(p);
    }
    if (p)
        fclose(p);
    snprintf(path, sizeof(path), "%s/probes.jsonl", dir);
    FILE *pr = probe ? fopen(path, "w") : NULL;
    if (pr) {
        json_t *run = json_object_get(cfg, "run");
        fprintf(pr, "{\"idx\":0,\"prompt\":\"%s\",\"output\":\"%s from %s\",\"tokens\":3}\n",
                probe, probe, json_is_string(run) ? json_string_value(run) : "base");
        fclose(pr);
    }
    FILE *m = fopen(getenv("MAINLINE_METRICS"), "a");
    if (!m)
        return 4;
    char retention[64] = "";
    json_t *rv = json_object_get(params, "x_retention_nll");
    if (step < 0 && base_retention)
        snprintf(retention, sizeof(retention), ",\"retention_nll\":%s", base_retention);
    else if (step >= 0 && json_is_number(rv))
        snprintf(retention, sizeof(retention), ",\"retention_nll\":%.6f", json_number_value(rv));
    fprintf(m, "{\"event\":\"eval\",\"dataset\":\"bench\",\"n\":%d,\"correct\":%d,"
            "\"accuracy\":%.6f,\"extraction_failures\":0,\"gen_tokens\":%d,\"seconds\":0.01,"
            "\"tok_per_s\":%ld%s}\n", n, correct, (double)correct / n, 3 * n,
            step < 0 ? 1800 : knob(params, "x_eval_tok_per_s", 1800), retention);
    fclose(m);
    json_decref(cfg);
    return 0;
}
