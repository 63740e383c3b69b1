/*
 * fake_evaluator.c - a small, honest evaluator for testing the orchestrator; not
 * shipped. Follows docs/protocol.md: reads $MAINLINE_CONFIG (eval.json), writes
 * predictions.jsonl and one {"event":"eval"} summary into $MAINLINE_METRICS. It
 * "answers" example k correctly when (k + step) % 3 != 0, so accuracy depends on
 * the checkpoint in a known way; the baseline (no step) gets k % 2 == 0 right.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

int main(void)
{
    const char *cfg_path = getenv("MAINLINE_CONFIG"), *dir = getenv("MAINLINE_RUN_DIR");
    json_t *cfg = cfg_path ? json_load_file(cfg_path, 0, NULL) : NULL;
    if (!cfg || !dir) {
        fprintf(stderr, "fake_evaluator: no config\n");
        return 2;
    }
    json_t *stepv = json_object_get(cfg, "step");
    long step = json_is_integer(stepv) ? (long)json_integer_value(stepv) : -1;
    char path[4096];
    snprintf(path, sizeof(path), "%s/predictions.jsonl", dir);
    FILE *p = fopen(path, "w");
    int n = 6, correct = 0;
    for (int k = 0; k < n && p; k++) {
        int ok = step < 0 ? k % 2 == 0 : (k + step) % 3 != 0;
        correct += ok;
        fprintf(p, "{\"id\":\"ex-%d\",\"prompt_sha256\":\"%064d\",\"output\":\"answer %d\","
                "\"extracted\":\"%d\",\"gold\":\"%d\",\"correct\":%s,\"extraction_failed\":false,"
                "\"tokens\":3}\n", k, k, k, ok ? k : -1, k, ok ? "true" : "false");
    }
    if (p)
        fclose(p);
    FILE *m = fopen(getenv("MAINLINE_METRICS"), "a");
    if (!m)
        return 4;
    fprintf(m, "{\"event\":\"eval\",\"dataset\":\"bench\",\"n\":%d,\"correct\":%d,"
            "\"accuracy\":%.6f,\"extraction_failures\":0,\"gen_tokens\":%d,\"seconds\":0.01,"
            "\"tok_per_s\":1800}\n", n, correct, (double)correct / n, 3 * n);
    fclose(m);
    json_decref(cfg);
    return 0;
}
