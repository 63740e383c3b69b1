/*
 * test_sweep_expand.c - unit tests for orchestrator/sweep_expand.c.
 *
 * Loads in-memory sweeps, expands them with sweep_expand() and checks the runs:
 * ids, counts and order (product of the axes, last axis fastest), parameter
 * precedence (defaults < condition < stage overrides < grid value) at every
 * combination of levels, `{from: STAGE}` parameters left pending, sweeps that pass
 * the checks across runs (pick groups, the run cap) and that a failed expansion
 * leaves nothing behind, and param_value_text(). What a sweep that fails to load or
 * expand is told is tested in one place: tests/golden.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "strbuf.h"
#include "sweep.h"
#include "testhelp.h"

/* ---- helpers ---- */

static void blame(int failed_before, int line)
{
    if (th_failed != failed_before)
        fprintf(stderr, "    (called from %s:%d)\n", __FILE__, line);
}

static void print_diags(const struct diag_list *dl)
{
    for (size_t i = 0; i < dl->n; i++)
        fprintf(stderr, "    diag: %s\n", dl->msgs[i]);
}

/*
 * Load and expand a sweep that must be valid. Returns 0 when both worked; then the
 * caller releases s and pr. On failure both are already released.
 */
#define EXPAND_OK(yaml, s, pr) expand_ok(__LINE__, (yaml), (s), (pr))
static int expand_ok(int line, const char *yaml, struct sweep *s, struct plan_runs *pr)
{
    int f0 = th_failed;
    struct diag_list dl = { 0 };
    memset(pr, 0, sizeof(*pr));
    int rc = sweep_load_text("t.yaml", yaml, strlen(yaml), s, &dl);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        rc = sweep_expand(s, pr, &dl);
        CHECK_INT(rc, 0);
        if (rc < 0)
            sweep_free(s);
    }
    CHECK_INT(dl.count, 0);
    print_diags(&dl);
    diag_free(&dl);
    blame(f0, line);
    return rc;
}

static void release(struct sweep *s, struct plan_runs *pr)
{
    plan_runs_free(pr);
    sweep_free(s);
}

/* Run ids joined with ','. Caller frees. */
static char *ids(const struct plan_runs *pr)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < pr->n; i++)
        sb_addf(&sb, "%s%s", i ? "," : "", pr->runs[i].id);
    return sb_detach(&sb);
}

#define CHECK_IDS(pr, want) do { \
    char *i_ = ids(pr); \
    CHECK_STR(i_, (want)); \
    free(i_); \
} while (0)

static char *dump(const json_t *j)
{
    if (!j)
        return strdup("(null)");
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY |
                      JSON_REAL_PRECISION(10));
}

#define CHECK_JSON(j, want) do { \
    char *s_ = dump(j); \
    CHECK_STR(s_, (want)); \
    free(s_); \
} while (0)

/* The run with this id, or NULL. */
static const struct plan_run *find_run(const struct plan_runs *pr, const char *id)
{
    for (size_t i = 0; i < pr->n; i++)
        if (!strcmp(pr->runs[i].id, id))
            return &pr->runs[i];
    return NULL;
}

static char *text_of(json_t *v)   /* consumes v */
{
    char *t = param_value_text(v);
    json_decref(v);
    return t;
}

#define CHECK_TEXT(v, want) do { \
    char *t_ = text_of(v); \
    CHECK_STR(t_, (want)); \
    free(t_); \
} while (0)

/* Seed 001's experiment (sweeps/lora-attn-vs-all.yaml, comments dropped). */
static const char example[] =
    "sweep: lora-attn-vs-all\n"
    "base_model: {path: models/tiny-base/model.safetensors}\n"
    "datasets:\n"
    "  train: {path: data/arith-train.jsonl}\n"
    "  bench: {path: data/arith-test.jsonl}\n"
    "conditions:\n"
    "  attention_only: {adapter: lora, targets: [q_proj, k_proj, v_proj, o_proj]}\n"
    "  all_layer:      {adapter: lora, targets: [q_proj, k_proj, v_proj, o_proj, gate_proj, "
    "up_proj, down_proj]}\n"
    "defaults: {rank: 8, alpha: 16, dropout: 0.0, batch_size: 8, epochs: 2, warmup_steps: 6,\n"
    "           lr: 5.0e-4, eval_at: [10, 20, epoch, 40, end]}\n"
    "stages:\n"
    "  lr_select:\n"
    "    grid: {condition: [attention_only, all_layer], lr: [1.0e-4, 3.0e-4, 1.0e-3], "
    "seed: [7]}\n"
    "    overrides: {train_rows: 64, valid_rows: 16, epochs: 1}\n"
    "    pick: {per: condition, param: lr, by: min(val_nll)}\n"
    "  main:\n"
    "    needs: lr_select\n"
    "    grid: {condition: [attention_only, all_layer], seed: [0, 1, 2]}\n"
    "    lr: {from: lr_select}\n"
    "evaluation: {dataset: bench, max_new_tokens: 64, extract: last_number}\n";

/* ---- param_value_text ---- */

static void test_value_text_numbers(void)
{
    CHECK_TEXT(json_real(0.0003), "3e-4");
    CHECK_TEXT(json_real(1e-3), "1e-3");
    CHECK_TEXT(json_real(0.5), "0.5");
    CHECK_TEXT(json_integer(16), "16");
    CHECK_TEXT(json_real(16.0), "16");
    CHECK_TEXT(json_real(1e-6), "1e-6");
    CHECK_TEXT(json_real(2.5e-5), "2.5e-5");
    CHECK_TEXT(json_real(1.0e-4), "1e-4");
    CHECK_TEXT(json_real(3.0e-5), "3e-5");
    CHECK_TEXT(json_real(-3e-4), "-3e-4");
    CHECK_TEXT(json_real(0.01), "0.01");
    CHECK_TEXT(json_real(0.05), "0.05");
    CHECK_TEXT(json_real(0.1), "0.1");
    CHECK_TEXT(json_real(0.0), "0");
    CHECK_TEXT(json_real(1.0), "1");
    CHECK_TEXT(json_real(64.0), "64");
    CHECK_TEXT(json_real(123456.0), "123456");
    CHECK_TEXT(json_real(1e6), "1e6");
    CHECK_TEXT(json_real(1.5e6), "1.5e6");
    CHECK_TEXT(json_integer(0), "0");
    CHECK_TEXT(json_integer(-7), "-7");
    CHECK_TEXT(json_integer(1000000), "1000000");
}

static void test_value_text_round_reals(void)
{
    /* Whole reals read as integers: `alpha: [10, 20]` gives run ids "s-alpha-10", not
     * %g's "s-alpha-1e+01" (a regression test: it once did). */
    CHECK_TEXT(json_real(10.0), "10");
    CHECK_TEXT(json_real(20.0), "20");
    CHECK_TEXT(json_real(100.0), "100");
    CHECK_TEXT(json_real(1e5), "100000");
    struct sweep s;
    struct plan_runs pr;
    if (EXPAND_OK("sweep: t\ngrid: {alpha: [10, 20]}\n", &s, &pr) == 0) {
        CHECK_IDS(&pr, "main-alpha-10,main-alpha-20");
        release(&s, &pr);
    }
}

static void test_value_text_structures(void)
{
    CHECK_TEXT(json_pack("[ss]", "q_proj", "v_proj"), "q_proj+v_proj");
    CHECK_TEXT(json_pack("[s]", "q_proj"), "q_proj");
    CHECK_TEXT(json_pack("{s:i}", "last", 4), "last4");
    CHECK_TEXT(json_pack("{s:i}", "every", 50), "every50");
    CHECK_TEXT(json_pack("[i,i]", 0, 1), "0+1");
    CHECK_TEXT(json_pack("[i,s,{s:i}]", 10, "end", "every", 5), "10+end+every5");
    CHECK_TEXT(json_string("attention_only"), "attention_only");
    CHECK_TEXT(json_true(), "true");
    CHECK_TEXT(json_false(), "false");
    CHECK_TEXT(json_null(), "null");
    CHECK_TEXT(json_string(""), "");
}

static void test_value_text_sources(void)
{
    CHECK_TEXT(json_pack("{s:s}", "path", "models/tiny-base/model.safetensors"), "tiny-base");
    CHECK_TEXT(json_pack("{s:s}", "path", "models/base.safetensors"), "base");
    CHECK_TEXT(json_pack("{s:s,s:s}", "path", "models/base.safetensors", "sha256", "ab"), "base");
    CHECK_TEXT(json_pack("{s:s}", "path", "/abs/hub/llama-7b/pytorch_model.bin"), "llama-7b");
    CHECK_TEXT(json_pack("{s:s}", "path", "../../sweeps/models/tiny-base/model.safetensors"),
               "tiny-base");
    CHECK_TEXT(json_pack("{s:s}", "path", "tiny.safetensors"), "tiny");
    CHECK_TEXT(json_pack("{s:s}", "path", "model.safetensors"), "model");   /* no directory */
    CHECK_TEXT(json_pack("{s:s}", "path", "models/v1.2.gguf"), "v1.2");
}

/* ---- ids, counts, order ---- */

static void test_example_runs(void)
{
    struct sweep s;
    struct plan_runs pr;
    if (EXPAND_OK(example, &s, &pr) < 0)
        return;
    CHECK_INT(pr.n, 12);
    CHECK_IDS(&pr, "lr_select-attention_only-lr-1e-4-seed-7,"
              "lr_select-attention_only-lr-3e-4-seed-7,"
              "lr_select-attention_only-lr-1e-3-seed-7,"
              "lr_select-all_layer-lr-1e-4-seed-7,"
              "lr_select-all_layer-lr-3e-4-seed-7,"
              "lr_select-all_layer-lr-1e-3-seed-7,"
              "main-attention_only-seed-0,main-attention_only-seed-1,main-attention_only-seed-2,"
              "main-all_layer-seed-0,main-all_layer-seed-1,main-all_layer-seed-2");
    const struct plan_run *r = find_run(&pr, "lr_select-attention_only-lr-1e-4-seed-7");
    CHECK(r != NULL);
    if (r) {
        CHECK(r->stage == sweep_find_stage(&s, "lr_select"));
        CHECK_JSON(r->params, "{\"adapter\":\"lora\",\"alpha\":16.0,\"base_model\":{\"path\":"
                   "\"models/tiny-base/model.safetensors\"},\"batch_size\":8,"
                   "\"condition\":\"attention_only\",\"dropout\":0.0,\"epochs\":1,"
                   "\"eval_at\":[10,20,\"epoch\",40,\"end\"],\"lr\":0.0001,\"rank\":8,"
                   "\"seed\":7,\"targets\":[\"q_proj\",\"k_proj\",\"v_proj\",\"o_proj\"],"
                   "\"train_rows\":64,\"valid_rows\":16,\"warmup_steps\":6}");
        CHECK(r->pending == NULL);
        /* varying: the axis values, in axis order. */
        char *v = json_dumps(r->varying, JSON_COMPACT);
        CHECK_STR(v, "{\"condition\":\"attention_only\",\"lr\":0.0001,\"seed\":7}");
        free(v);
    }
    r = find_run(&pr, "main-all_layer-seed-2");
    CHECK(r != NULL);
    if (r) {
        CHECK(r->stage == sweep_find_stage(&s, "main"));
        /* lr comes from lr_select: absent (even though defaults set it), and pending. */
        CHECK(json_object_get(r->params, "lr") == NULL);
        CHECK_JSON(r->pending, "{\"lr\":\"lr_select\"}");
        CHECK_INT(json_integer_value(json_object_get(r->params, "epochs")), 2);
        CHECK_INT(json_integer_value(json_object_get(r->params, "seed")), 2);
        CHECK_JSON(json_object_get(r->params, "targets"), "[\"q_proj\",\"k_proj\",\"v_proj\","
                   "\"o_proj\",\"gate_proj\",\"up_proj\",\"down_proj\"]");
        CHECK(json_object_get(r->params, "train_rows") == NULL);
    }
    for (size_t i = 0; i < pr.n; i++)
        if (!strncmp(pr.runs[i].id, "main-", 5))
            CHECK_JSON(pr.runs[i].pending, "{\"lr\":\"lr_select\"}");
    release(&s, &pr);
}

static void test_grid_product_and_order(void)
{
    struct sweep s;
    struct plan_runs pr;
    if (EXPAND_OK("sweep: t\nstages:\n  s:\n    grid: {seed: [0, 1], rank: [4, 8, 16]}\n",
                  &s, &pr) == 0) {
        CHECK_INT(pr.n, 6);
        CHECK_IDS(&pr, "s-seed-0-rank-4,s-seed-0-rank-8,s-seed-0-rank-16,"
                  "s-seed-1-rank-4,s-seed-1-rank-8,s-seed-1-rank-16");
        release(&s, &pr);
    }
    /* Written the other way round, the other axis is fastest. */
    if (EXPAND_OK("sweep: t\nstages:\n  s:\n    grid: {rank: [4, 8, 16], seed: [0, 1]}\n",
                  &s, &pr) == 0) {
        CHECK_IDS(&pr, "s-rank-4-seed-0,s-rank-4-seed-1,s-rank-8-seed-0,s-rank-8-seed-1,"
                  "s-rank-16-seed-0,s-rank-16-seed-1");
        release(&s, &pr);
    }
    /* Three axes: 2 x 3 x 2; the condition is named right after the stage. */
    if (EXPAND_OK("sweep: t\n"
                  "conditions: {a: {}, b: {}}\n"
                  "stages:\n"
                  "  s:\n"
                  "    grid: {seed: [0, 1], lr: [1e-4, 3e-4, 1e-3], condition: [a, b]}\n",
                  &s, &pr) == 0) {
        CHECK_INT(pr.n, 12);
        CHECK_STR(pr.runs[0].id, "s-a-seed-0-lr-1e-4");
        CHECK_STR(pr.runs[1].id, "s-b-seed-0-lr-1e-4");
        CHECK_STR(pr.runs[2].id, "s-a-seed-0-lr-3e-4");
        CHECK_STR(pr.runs[11].id, "s-b-seed-1-lr-1e-3");
        release(&s, &pr);
    }
}

static void test_counts_across_stages(void)
{
    struct sweep s;
    struct plan_runs pr;
    const char *yaml =
        "sweep: t\n"
        "stages:\n"
        "  a:\n"
        "    grid: {seed: [0, 1, 2], rank: [4, 8]}\n"
        "  b: {}\n"
        "  c:\n"
        "    grid: {seed: 5}\n"
        "  d:\n"
        "    grid: {rank: [1, 2, 3, 4], alpha: [8, 16], epochs: [1, 2, 3]}\n";
    if (EXPAND_OK(yaml, &s, &pr) < 0)
        return;
    CHECK_INT(pr.n, 6 + 1 + 1 + 24);
    size_t per_stage[4] = { 0 };
    for (size_t i = 0; i < pr.n; i++)
        per_stage[pr.runs[i].stage - s.stages]++;
    CHECK_INT(per_stage[0], 6);
    CHECK_INT(per_stage[1], 1);
    CHECK_INT(per_stage[2], 1);
    CHECK_INT(per_stage[3], 24);
    /* A stage without a grid is one run named after the stage. */
    CHECK_STR(pr.runs[6].id, "b");
    CHECK_JSON(pr.runs[6].params, "{}");
    CHECK_JSON(pr.runs[6].varying, "{}");
    CHECK(pr.runs[6].pending == NULL);
    /* A single value stands for a one-value axis. */
    CHECK_STR(pr.runs[7].id, "c-seed-5");
    CHECK_STR(pr.runs[8].id, "d-rank-1-alpha-8-epochs-1");
    CHECK_STR(pr.runs[31].id, "d-rank-4-alpha-16-epochs-3");
    release(&s, &pr);
}

static void test_top_level_grid_makes_stage_main(void)
{
    struct sweep s;
    struct plan_runs pr;
    if (EXPAND_OK("sweep: t\ndefaults: {lr: 1e-4}\ngrid: {seed: [0, 1, 2]}\n", &s, &pr) < 0)
        return;
    CHECK_INT(s.n_stages, 1);
    CHECK_STR(s.stages[0].name, "main");
    CHECK_IDS(&pr, "main-seed-0,main-seed-1,main-seed-2");
    CHECK_JSON(pr.runs[2].params, "{\"lr\":0.0001,\"seed\":2}");
    release(&s, &pr);
}

static void test_condition_in_id_from_any_level(void)
{
    struct sweep s;
    struct plan_runs pr;
    const char *yaml =
        "sweep: t\n"
        "conditions: {attention_only: {rank: 4}, all_layer: {rank: 8}}\n"
        "defaults: {condition: attention_only}\n"
        "stages:\n"
        "  main:\n"
        "    grid: {seed: [0]}\n"
        "  other:\n"
        "    condition: all_layer\n"
        "    grid: {seed: [0]}\n";
    if (EXPAND_OK(yaml, &s, &pr) < 0)
        return;
    CHECK_IDS(&pr, "main-attention_only-seed-0,other-all_layer-seed-0");
    CHECK_JSON(pr.runs[0].params, "{\"condition\":\"attention_only\",\"rank\":4,\"seed\":0}");
    CHECK_JSON(pr.runs[1].params, "{\"condition\":\"all_layer\",\"rank\":8,\"seed\":0}");
    release(&s, &pr);
}

static void test_id_characters_sanitized(void)
{
    struct sweep s;
    struct plan_runs pr;
    if (EXPAND_OK("sweep: t\nstages:\n  s:\n    grid: {x_note: [\"a b/c\", \"ok.v+1\"]}\n",
                  &s, &pr) < 0)
        return;
    CHECK_IDS(&pr, "s-x_note-a_b_c,s-x_note-ok.v+1");
    CHECK_JSON(pr.runs[0].params, "{\"x_note\":\"a b/c\"}");   /* the value is untouched */
    release(&s, &pr);
}

/* ---- every parameter can be an axis ---- */

static void test_every_parameter_can_be_an_axis(void)
{
    static const struct {
        const char *grid;     /* inside `grid: {...}` */
        const char *ids;      /* every run id, comma-separated */
        const char *param;    /* the parameter of the first run to check */
        const char *value;    /* its JSON */
    } cases[] = {
        { "condition: [a, b]", "s-a,s-b", "rank", "4" },
        { "lr: [1e-4, 3e-4]", "s-lr-1e-4,s-lr-3e-4", "lr", "0.0001" },
        { "learning_rate: [1e-3]", "s-lr-1e-3", "lr", "0.001" },
        { "seed: [0, 7]", "s-seed-0,s-seed-7", "seed", "0" },
        { "rank: [4, 8]", "s-rank-4,s-rank-8", "rank", "4" },
        { "r: [16]", "s-rank-16", "rank", "16" },
        { "alpha: [16, 32]", "s-alpha-16,s-alpha-32", "alpha", "16.0" },
        { "layers: [all, {last: 4}, \"last 2\", [0, 1]]",
          "s-layers-all,s-layers-last4,s-layers-last2,s-layers-0+1", "layers", "\"all\"" },
        { "epochs: [1, 2]", "s-epochs-1,s-epochs-2", "epochs", "1" },
        { "batch_size: [8, 16]", "s-batch_size-8,s-batch_size-16", "batch_size", "8" },
        { "base_model: [models/tiny-base/model.safetensors, models/base.safetensors]",
          "s-base_model-tiny-base,s-base_model-base", "base_model",
          "{\"path\":\"models/tiny-base/model.safetensors\"}" },
        { "targets: [q_proj, [q_proj, v_proj], all-linear]",
          "s-targets-q_proj,s-targets-q_proj+v_proj,s-targets-all-linear", "targets",
          "[\"q_proj\"]" },
        { "dropout: [0.0, 0.05]", "s-dropout-0,s-dropout-0.05", "dropout", "0.0" },
        { "full: [true, false]", "s-full-true,s-full-false", "full", "true" },
        { "adapter: [lora, none]", "s-adapter-lora,s-adapter-none", "adapter", "\"lora\"" },
        { "lr_schedule: [cosine, constant]", "s-lr_schedule-cosine,s-lr_schedule-constant",
          "lr_schedule", "\"cosine\"" },
        { "eval_at: [[10, end], epoch]", "s-eval_at-10+end,s-eval_at-epoch", "eval_at",
          "[10,\"end\"]" },
        { "warmup_steps: [0, 10]", "s-warmup_steps-0,s-warmup_steps-10", "warmup_steps", "0" },
        { "min_lr: [3.0e-5]", "s-min_lr-3e-5", "min_lr", "3e-5" },
        { "weight_decay: [0.01, 0.1]", "s-weight_decay-0.01,s-weight_decay-0.1",
          "weight_decay", "0.01" },
        { "x_data_order: [shuffled, sorted]", "s-x_data_order-shuffled,s-x_data_order-sorted",
          "x_data_order", "\"shuffled\"" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct strbuf yaml = STRBUF_INIT;
        sb_addf(&yaml, "sweep: t\n"
                       "conditions: {a: {rank: 4}, b: {rank: 8}}\n"
                       "stages:\n"
                       "  s:\n"
                       "    grid: {%s}\n", cases[i].grid);
        int f0 = th_failed;
        struct sweep s;
        struct plan_runs pr;
        if (EXPAND_OK(yaml.buf, &s, &pr) == 0) {
            CHECK_IDS(&pr, cases[i].ids);
            CHECK(pr.n > 0);
            if (pr.n > 0)
                CHECK_JSON(json_object_get(pr.runs[0].params, cases[i].param), cases[i].value);
            release(&s, &pr);
        }
        if (th_failed != f0)
            fprintf(stderr, "    case: grid: {%s}\n", cases[i].grid);
        sb_free(&yaml);
    }
}

/* ---- precedence ---- */

enum level { AT_DEFAULTS = 1, AT_CONDITION = 2, AT_OVERRIDES = 4, AT_GRID = 8 };

/*
 * rank set at each subset of the four levels, with the stage-level value written
 * either under `overrides:` or directly on the stage: the strongest level present
 * wins, and with no level at all the run has no rank.
 */
static void test_precedence_every_subset(void)
{
    for (int form = 0; form < 2; form++) {
        for (int mask = 0; mask < 16; mask++) {
            struct strbuf yaml = STRBUF_INIT;
            sb_addf(&yaml, "sweep: t\n"
                           "conditions:\n"
                           "  c: {x_tag: 1%s}\n"
                           "defaults: {condition: c%s}\n"
                           "stages:\n"
                           "  s:\n"
                           "    grid: {seed: [0]%s}\n",
                    mask & AT_CONDITION ? ", rank: 4" : "",
                    mask & AT_DEFAULTS ? ", rank: 2" : "",
                    mask & AT_GRID ? ", rank: [16]" : "");
            if (mask & AT_OVERRIDES)
                sb_adds(&yaml, form ? "    rank: 8\n" : "    overrides: {rank: 8}\n");
            long long want = mask & AT_GRID ? 16 : mask & AT_OVERRIDES ? 8
                           : mask & AT_CONDITION ? 4 : mask & AT_DEFAULTS ? 2 : 0;
            int f0 = th_failed;
            struct sweep s;
            struct plan_runs pr;
            if (EXPAND_OK(yaml.buf, &s, &pr) == 0) {
                CHECK_INT(pr.n, 1);
                json_t *rank = json_object_get(pr.runs[0].params, "rank");
                if (want) {
                    CHECK(json_is_integer(rank));
                    CHECK_INT(json_integer_value(rank), want);
                } else {
                    CHECK(rank == NULL);
                }
                CHECK_STR(pr.runs[0].id, mask & AT_GRID ? "s-c-seed-0-rank-16" : "s-c-seed-0");
                /* The other parameters are untouched by where rank is set. */
                CHECK_INT(json_integer_value(json_object_get(pr.runs[0].params, "x_tag")), 1);
                CHECK_STR(json_string_value(json_object_get(pr.runs[0].params, "condition")),
                          "c");
                release(&s, &pr);
            }
            if (th_failed != f0)
                fprintf(stderr, "    case: form %d, levels %s%s%s%s\n", form,
                        mask & AT_DEFAULTS ? "defaults " : "",
                        mask & AT_CONDITION ? "condition " : "",
                        mask & AT_OVERRIDES ? "overrides " : "", mask & AT_GRID ? "grid" : "");
            sb_free(&yaml);
        }
    }
}

static void test_precedence_several_parameters(void)
{
    /* One file, each parameter set at a different subset of levels. */
    const char *yaml =
        "sweep: t\n"
        "conditions:\n"
        "  c: {rank: 4, alpha: 4, lr: 4.0e-4, epochs: 4}\n"
        "defaults: {rank: 2, alpha: 2, dropout: 0.2, lr: 2.0e-4, seed: 2, condition: c}\n"
        "stages:\n"
        "  s:\n"
        "    overrides: {rank: 8, dropout: 0.08, seed: 8}\n"
        "    grid: {rank: [16], seed: [16], batch_size: [16]}\n";
    struct sweep s;
    struct plan_runs pr;
    if (EXPAND_OK(yaml, &s, &pr) < 0)
        return;
    CHECK_JSON(pr.runs[0].params, "{\"alpha\":4.0,\"batch_size\":16,\"condition\":\"c\","
               "\"dropout\":0.08,\"epochs\":4,\"lr\":0.0004,"
               "\"rank\":16,\"seed\":16}");
    release(&s, &pr);
}

static void test_precedence_condition_chosen_by_grid(void)
{
    /* A condition picked by the grid still ranks below the stage's overrides: the
     * "grid value" level is the grid's own parameter, not the bundle it names. */
    const char *yaml =
        "sweep: t\n"
        "conditions:\n"
        "  c: {rank: 4, alpha: 4}\n"
        "  d: {rank: 5}\n"
        "defaults: {rank: 2, alpha: 2, dropout: 0.1}\n"
        "stages:\n"
        "  s:\n"
        "    overrides: {rank: 8}\n"
        "    grid: {condition: [c, d]}\n";
    struct sweep s;
    struct plan_runs pr;
    if (EXPAND_OK(yaml, &s, &pr) < 0)
        return;
    CHECK_IDS(&pr, "s-c,s-d");
    CHECK_JSON(pr.runs[0].params, "{\"alpha\":4.0,\"condition\":\"c\",\"dropout\":0.1,"
               "\"rank\":8}");
    CHECK_JSON(pr.runs[1].params, "{\"alpha\":2.0,\"condition\":\"d\",\"dropout\":0.1,"
               "\"rank\":8}");
    release(&s, &pr);
}

static void test_precedence_of_condition_itself(void)
{
    const char *yaml =
        "sweep: t\n"
        "conditions: {a: {rank: 1}, b: {rank: 2}, c: {rank: 3}}\n"
        "defaults: {condition: a}\n"
        "stages:\n"
        "  only_defaults: {}\n"
        "  with_override:\n"
        "    overrides: {condition: b}\n"
        "  with_grid:\n"
        "    overrides: {condition: b}\n"
        "    grid: {condition: [c]}\n";
    struct sweep s;
    struct plan_runs pr;
    if (EXPAND_OK(yaml, &s, &pr) < 0)
        return;
    CHECK_IDS(&pr, "only_defaults-a,with_override-b,with_grid-c");
    CHECK_JSON(pr.runs[0].params, "{\"condition\":\"a\",\"rank\":1}");
    CHECK_JSON(pr.runs[1].params, "{\"condition\":\"b\",\"rank\":2}");
    CHECK_JSON(pr.runs[2].params, "{\"condition\":\"c\",\"rank\":3}");
    release(&s, &pr);
}

static void test_stage_override_to_null(void)
{
    /* A stage that sets a user parameter to null wins over defaults, as precedence
     * says (a regression test: `{from: ...}` placeholders once removed every null). */
    const char *yaml =
        "sweep: t\n"
        "conditions: {c: {x_other: null}}\n"
        "defaults: {x_note: a, x_other: b}\n"
        "stages:\n"
        "  s:\n"
        "    condition: c\n"
        "    x_note: null\n";
    struct sweep s;
    struct plan_runs pr;
    if (EXPAND_OK(yaml, &s, &pr) < 0)
        return;
    CHECK_JSON(json_object_get(pr.runs[0].params, "x_other"), "null");
    CHECK_JSON(json_object_get(pr.runs[0].params, "x_note"), "null");
    release(&s, &pr);
}

/* ---- from and pick ---- */

static void test_from_in_overrides_is_pending(void)
{
    const char *yaml =
        "sweep: t\n"
        "conditions: {a: {lr: 9.0e-4}}\n"
        "defaults: {lr: 5.0e-4, rank: 8}\n"
        "stages:\n"
        "  sel:\n"
        "    grid: {rank: [4, 8], seed: [0]}\n"
        "    pick: {param: rank, by: min(val_nll)}\n"
        "  main:\n"
        "    condition: a\n"
        "    overrides: {rank: {from: sel}}\n"
        "    grid: {seed: [1, 2]}\n";
    struct sweep s;
    struct plan_runs pr;
    if (EXPAND_OK(yaml, &s, &pr) < 0)
        return;
    CHECK_IDS(&pr, "sel-rank-4-seed-0,sel-rank-8-seed-0,main-a-seed-1,main-a-seed-2");
    /* Neither defaults nor the condition leak a value for a pending parameter. */
    CHECK_JSON(pr.runs[2].params, "{\"condition\":\"a\",\"lr\":0.0009,"
               "\"seed\":1}");
    CHECK_JSON(pr.runs[2].pending, "{\"rank\":\"sel\"}");
    CHECK(pr.runs[0].pending == NULL);
    CHECK_INT(json_integer_value(json_object_get(pr.runs[0].params, "rank")), 4);
    release(&s, &pr);
}

static void test_pick_per_groups_tried(void)
{
    /* Every condition tried: fine. */
    struct sweep s;
    struct plan_runs pr;
    if (EXPAND_OK("sweep: t\n"
                  "conditions: {a: {}, b: {}}\n"
                  "stages:\n"
                  "  sel:\n"
                  "    grid: {condition: [a, b], lr: [1.0e-4, 1.0e-3]}\n"
                  "    pick: {per: condition, param: lr, by: min(val_nll)}\n"
                  "  main:\n"
                  "    grid: {condition: [b, a]}\n"
                  "    lr: {from: sel}\n", &s, &pr) == 0) {
        CHECK_INT(pr.n, 6);
        release(&s, &pr);
    }
}

/* ---- checks across runs ---- */

/* A failed expansion leaves no runs behind (what it says: tests/golden/err-*). */
static void test_refused_expansion_is_released(void)
{
    static const char *const bad[] = {
        "sweep: t\nstages:\n  s:\n    grid: {seed: [0, 1, 0]}\n",
        "sweep: t\nstages:\n  sel:\n    grid: {lr: [1.0e-4, 1.0e-3], seed: [0]}\n"
        "    pick: {per: seed, param: lr, by: min(val_nll)}\n  main:\n    lr: {from: sel}\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct diag_list dl = { 0 };
        struct sweep s;
        struct plan_runs pr;
        memset(&pr, 0xa5, sizeof(pr));
        CHECK_INT(sweep_load_text("t.yaml", bad[i], strlen(bad[i]), &s, &dl), 0);
        CHECK_INT(sweep_expand(&s, &pr, &dl), -1);
        CHECK(pr.runs == NULL && pr.n == 0);
        CHECK_INT(dl.count, 1);
        sweep_free(&s);
        diag_free(&dl);
    }
}

static void test_exactly_the_run_cap(void)
{
    struct strbuf yaml = STRBUF_INIT;
    sb_adds(&yaml, "sweep: t\ngrid:\n  seed: [0");
    for (int i = 1; i < 100; i++)
        sb_addf(&yaml, ", %d", i);
    sb_adds(&yaml, "]\n  rank: [1");
    for (int i = 2; i <= 100; i++)
        sb_addf(&yaml, ", %d", i);
    sb_adds(&yaml, "]\n");
    struct sweep s;
    struct plan_runs pr;
    if (EXPAND_OK(yaml.buf, &s, &pr) == 0) {
        CHECK_INT(pr.n, 10000);
        CHECK_STR(pr.runs[9999].id, "main-seed-99-rank-100");
        release(&s, &pr);
    }
    sb_free(&yaml);
}

/* ---- normalized values ---- */

static void test_normalized_values_expand_alike(void)
{
    const char *yaml =
        "sweep: t\n"
        "conditions:\n"
        "  a: {targets: q_proj, layers: \"last 4\", lr: 1.0e-4}\n"
        "  b: {targets: [q_proj], layers: {last: 4}, lr: 0.0001}\n"
        "grid: {condition: [a, b]}\n";
    struct sweep s;
    struct plan_runs pr;
    if (EXPAND_OK(yaml, &s, &pr) < 0)
        return;
    CHECK_IDS(&pr, "main-a,main-b");
    json_t *pa = json_deep_copy(pr.runs[0].params), *pb = json_deep_copy(pr.runs[1].params);
    json_object_del(pa, "condition");
    json_object_del(pb, "condition");
    CHECK(json_equal(pa, pb));
    CHECK_JSON(pa, "{\"layers\":{\"last\":4},\"lr\":0.0001,\"targets\":[\"q_proj\"]}");
    json_decref(pa);
    json_decref(pb);
    release(&s, &pr);
}

static void test_expand_twice_is_identical(void)
{
    /* Deterministic: the same sweep expands to the same ids and params every time. */
    struct sweep s;
    struct plan_runs a, b;
    if (EXPAND_OK(example, &s, &a) < 0)
        return;
    struct diag_list dl = { 0 };
    CHECK_INT(sweep_expand(&s, &b, &dl), 0);
    CHECK_INT(a.n, b.n);
    for (size_t i = 0; i < a.n && i < b.n; i++) {
        CHECK_STR(a.runs[i].id, b.runs[i].id);
        CHECK(json_equal(a.runs[i].params, b.runs[i].params));
    }
    plan_runs_free(&b);
    plan_runs_free(&b);   /* a released struct can be released again */
    diag_free(&dl);
    release(&s, &a);
}

int main(void)
{
    TEST(test_value_text_numbers);
    TEST(test_value_text_round_reals);
    TEST(test_value_text_structures);
    TEST(test_value_text_sources);
    TEST(test_example_runs);
    TEST(test_grid_product_and_order);
    TEST(test_counts_across_stages);
    TEST(test_top_level_grid_makes_stage_main);
    TEST(test_condition_in_id_from_any_level);
    TEST(test_id_characters_sanitized);
    TEST(test_every_parameter_can_be_an_axis);
    TEST(test_precedence_every_subset);
    TEST(test_precedence_several_parameters);
    TEST(test_precedence_condition_chosen_by_grid);
    TEST(test_precedence_of_condition_itself);
    TEST(test_stage_override_to_null);
    TEST(test_from_in_overrides_is_pending);
    TEST(test_pick_per_groups_tried);
    TEST(test_refused_expansion_is_released);
    TEST(test_exactly_the_run_cap);
    TEST(test_normalized_values_expand_alike);
    TEST(test_expand_twice_is_identical);
    return test_report();
}
