/*
 * test_sweep_load.c - unit tests for sweep/sweep_load.c and sweep_params.c.
 *
 * Loads in-memory sweep files with sweep_load_text() and checks the validated
 * struct sweep (names, conditions, defaults, stages and their order, picks, froms,
 * the frozen contract, normalized values) and, for bad files, the exact
 * "file:line:col: message" of every diagnostic. Columns in the expectations were
 * counted by hand from the YAML literal next to them. Expansion into runs is
 * test_sweep_expand.c's job.
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

static int load(const char *yaml, struct sweep *s, struct diag_list *dl)
{
    return sweep_load_text("t.yaml", yaml, strlen(yaml), s, dl);
}

/* Load a file that must be valid. Returns 0 when it was; the caller releases s. */
#define LOAD_OK(yaml, s) load_ok(__LINE__, (yaml), (s))
static int load_ok(int line, const char *yaml, struct sweep *s)
{
    int f0 = th_failed;
    struct diag_list dl = { 0 };
    int rc = load(yaml, s, &dl);
    CHECK_INT(rc, 0);
    CHECK_INT(dl.count, 0);
    for (size_t i = 0; i < dl.n; i++)
        fprintf(stderr, "    unexpected: %s\n", dl.msgs[i]);
    diag_free(&dl);
    blame(f0, line);
    return rc;
}

/* Load a file that must be refused with exactly the messages listed, in order. */
#define EXPECT_ERRORS(yaml, ...) \
    expect_errors(__LINE__, (yaml), (const char *const[]){ __VA_ARGS__, NULL })
static void expect_errors(int line, const char *yaml, const char *const *want)
{
    int f0 = th_failed;
    struct diag_list dl = { 0 };
    struct sweep s;
    int rc = load(yaml, &s, &dl);
    size_t n = 0;
    while (want[n])
        n++;
    CHECK_INT(rc, -1);
    CHECK_INT(dl.count, n);
    for (size_t i = 0; i < n; i++)
        CHECK_STR(i < dl.n ? dl.msgs[i] : NULL, want[i]);
    for (size_t i = n; i < dl.n; i++)
        fprintf(stderr, "    extra: %s\n", dl.msgs[i]);
    /* A refused file leaves a released (zeroed) struct behind. */
    CHECK(s.doc == NULL && s.stages == NULL && s.file == NULL && s.n_stages == 0);
    if (rc == 0)
        sweep_free(&s);
    diag_free(&dl);
    blame(f0, line);
}

/* Compact JSON, sorted keys, reals to 10 digits. Caller frees; "(null)" for NULL. */
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

/* Stage names in sweep order, comma-separated. Caller frees. */
static char *stage_names(const struct sweep *s)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < s->n_stages; i++)
        sb_addf(&sb, "%s%s", i ? "," : "", s->stages[i].name);
    return sb_detach(&sb);
}

#define CHECK_STAGES(s, want) do { \
    char *n_ = stage_names(s); \
    CHECK_STR(n_, (want)); \
    free(n_); \
} while (0)

/* Seed 001's experiment (sweeps/lora-attn-vs-all.yaml, comments dropped). */
static const char example[] =
    "sweep: lora-attn-vs-all\n"
    "description: attention-only vs all-layer LoRA on arithmetic word problems\n"
    "base_model: {path: models/tiny-base/model.safetensors}\n"
    "datasets:\n"
    "  train: {path: data/arith-train.jsonl, sha256: "
    "15F01275460940E13A288A9CE01089DCF4AB4BEB324CBB52FDF665BE527AAF21}\n"
    "  valid: {path: data/arith-valid.jsonl}\n"
    "  bench: data/arith-test.jsonl\n"
    "conditions:\n"
    "  attention_only: {adapter: lora, targets: [q_proj, k_proj, v_proj, o_proj]}\n"
    "  all_layer:      {adapter: lora, targets: [q_proj, k_proj, v_proj, o_proj, gate_proj, "
    "up_proj, down_proj]}\n"
    "defaults: {rank: 8, alpha: 16, dropout: 0.0, batch_size: 8, epochs: 2, warmup_steps: 6,\n"
    "           min_lr: 3.0e-5, eval_at: [10, 20, epoch, 40, end]}\n"
    "stages:\n"
    "  main:\n"
    "    needs: lr_select\n"
    "    grid: {condition: [attention_only, all_layer], seed: [0, 1, 2]}\n"
    "    lr: {from: lr_select}\n"
    "  lr_select:\n"
    "    grid: {condition: [attention_only, all_layer], lr: [1.0e-4, 3.0e-4, 1.0e-3], "
    "seed: [7]}\n"
    "    overrides: {train_rows: 64, valid_rows: 16, epochs: 1}\n"
    "    pick: {per: condition, param: lr, by: min(val_nll)}\n"
    "evaluation: {dataset: bench, max_new_tokens: 64, extract: regex, "
    "pattern: \"#### (-?[0-9.,]+)\",\n"
    "             match: exact, baseline: true}\n"
    "selection:  {checkpoint: min(val_nll), compare: {metric: accuracy, over: seed, "
    "winner_threshold: 0.01}}\n";

/* ---- a valid file ---- */

static void test_example_loads(void)
{
    struct sweep s;
    if (LOAD_OK(example, &s) < 0)
        return;
    CHECK_STR(s.name, "lora-attn-vs-all");
    CHECK_STR(s.file, "t.yaml");
    CHECK_INT(s.n_datasets, 3);
    CHECK_STR(s.datasets[0].name, "train");
    CHECK_STR(s.datasets[0].src.path, "data/arith-train.jsonl");
    /* Pins are stored lowercase. */
    CHECK_STR(s.datasets[0].src.sha256_pin,
              "15f01275460940e13a288a9ce01089dcf4ab4beb324cbb52fdf665be527aaf21");
    CHECK(s.datasets[1].src.sha256_pin == NULL);
    CHECK_STR(s.datasets[2].name, "bench");
    CHECK_STR(s.datasets[2].src.path, "data/arith-test.jsonl");   /* plain path form */
    CHECK_INT(s.n_conditions, 2);
    CHECK_STR(s.conditions[0].name, "attention_only");
    CHECK_JSON(s.conditions[0].params,
               "{\"adapter\":\"lora\",\"targets\":[\"q_proj\",\"k_proj\",\"v_proj\",\"o_proj\"]}");
    CHECK(sweep_find_condition(&s, "all_layer") == &s.conditions[1]);
    CHECK(sweep_find_condition(&s, "nope") == NULL);
    /* The top-level base_model lands in defaults. */
    CHECK_JSON(s.defaults, "{\"alpha\":16.0,\"base_model\":{\"path\":"
               "\"models/tiny-base/model.safetensors\"},\"batch_size\":8,\"dropout\":0.0,"
               "\"epochs\":2,\"eval_at\":[10,20,\"epoch\",40,\"end\"],\"min_lr\":3e-5,"
               "\"rank\":8,\"warmup_steps\":6}");
    /* lr_select is written second but main needs it. */
    CHECK_STAGES(&s, "lr_select,main");
    const struct sweep_stage *sel = sweep_find_stage(&s, "lr_select");
    const struct sweep_stage *main_st = sweep_find_stage(&s, "main");
    CHECK(sel == &s.stages[0] && main_st == &s.stages[1]);
    CHECK(sweep_find_stage(&s, "nope") == NULL);
    CHECK_INT(sel->n_axes, 3);
    CHECK_STR(sel->axes[0].param, "condition");
    CHECK_STR(sel->axes[1].param, "lr");
    CHECK_JSON(sel->axes[1].values, "[0.0001,0.0003,0.001]");
    CHECK_STR(sel->axes[2].param, "seed");
    CHECK_JSON(sel->overrides, "{\"epochs\":1,\"train_rows\":64,\"valid_rows\":16}");
    CHECK(sel->pick != NULL);
    if (sel->pick) {
        CHECK_STR(sel->pick->param, "lr");
        CHECK_STR(sel->pick->by, "min(val_nll)");
        CHECK_INT(sel->pick->n_per, 1);
        CHECK_STR(sel->pick->per[0], "condition");
    }
    CHECK_INT(sel->n_needs, 0);
    CHECK_INT(sel->n_froms, 0);
    CHECK_INT(main_st->n_froms, 1);
    CHECK_STR(main_st->froms[0].param, "lr");
    CHECK_STR(main_st->froms[0].stage, "lr_select");
    CHECK_INT(main_st->n_needs, 1);   /* `needs` and `from` name the same stage once */
    CHECK_STR(main_st->needs[0], "lr_select");
    CHECK_JSON(main_st->overrides, "{}");   /* the from placeholder is gone */
    CHECK(main_st->pick == NULL);
    sweep_free(&s);
    CHECK(s.name == NULL && s.doc == NULL);
    sweep_free(&s);   /* a zeroed struct is accepted again */
}

static void test_top_level_grid_is_stage_main(void)
{
    struct sweep s;
    if (LOAD_OK("sweep: t\ngrid: {seed: [0, 1]}\n", &s) < 0)
        return;
    CHECK_INT(s.n_stages, 1);
    CHECK_STR(s.stages[0].name, "main");
    CHECK_INT(s.stages[0].n_axes, 1);
    CHECK_STR(s.stages[0].axes[0].param, "seed");
    CHECK_JSON(s.stages[0].axes[0].values, "[0,1]");
    CHECK_JSON(s.stages[0].overrides, "{}");
    CHECK_JSON(s.defaults, "{}");
    CHECK_JSON(s.contract, "{\"evaluation\":null,\"selection\":null}");
    sweep_free(&s);
}

static void test_anchors_and_merges_in_a_sweep(void)
{
    const char *yaml =
        "sweep: t\n"
        "x-lora: &lora {adapter: lora, rank: 8, alpha: 16}\n"
        "x-seeds: &seeds [0, 1]\n"
        "conditions:\n"
        "  a: {<<: *lora, targets: q_proj}\n"
        "  b:\n"
        "    <<: *lora\n"
        "    rank: 4\n"
        "    targets: all-linear\n"
        "grid: {condition: [a, b], seed: *seeds}\n";
    struct sweep s;
    if (LOAD_OK(yaml, &s) < 0)
        return;
    CHECK_JSON(s.conditions[0].params,
               "{\"adapter\":\"lora\",\"alpha\":16.0,\"rank\":8,\"targets\":[\"q_proj\"]}");
    CHECK_JSON(s.conditions[1].params,
               "{\"adapter\":\"lora\",\"alpha\":16.0,\"rank\":4,\"targets\":[\"all-linear\"]}");
    CHECK_JSON(s.stages[0].axes[1].values, "[0,1]");
    /* The spec is the whole document with aliases and merges applied. */
    CHECK_JSON(json_object_get(s.spec, "conditions"),
               "{\"a\":{\"adapter\":\"lora\",\"alpha\":16,\"rank\":8,\"targets\":\"q_proj\"},"
               "\"b\":{\"adapter\":\"lora\",\"alpha\":16,\"rank\":4,\"targets\":\"all-linear\"}}");
    CHECK_JSON(json_object_get(s.spec, "grid"), "{\"condition\":[\"a\",\"b\"],\"seed\":[0,1]}");
    sweep_free(&s);
}

static void test_unknown_key_inside_merged_map(void)
{
    /* A merged key keeps the position where it was written: in the anchor. */
    EXPECT_ERRORS("sweep: t\n"
                  "x-bad: &bad {rankk: 8}\n"
                  "conditions:\n"
                  "  a: {<<: *bad}\n"
                  "grid: {condition: [a]}\n",
                  "t.yaml:2:14: unknown key 'rankk' (did you mean 'rank'?)");
}

/* ---- unknown keys ---- */

static void test_unknown_key_in_defaults(void)
{
    EXPECT_ERRORS("sweep: t\n"
                  "defaults:\n"
                  "  rank: 8\n"
                  "  learnig_rate: 1e-4\n"
                  "grid:\n"
                  "  seed: [0]\n",
                  "t.yaml:4:3: unknown key 'learnig_rate' (did you mean 'learning_rate'?)");
    /* Flow style: counted from the line start. */
    EXPECT_ERRORS("sweep: t\n"
                  "defaults: {rank: 8, learnig_rate: 1e-4}\n"
                  "grid: {seed: [0]}\n",
                  "t.yaml:2:21: unknown key 'learnig_rate' (did you mean 'learning_rate'?)");
    EXPECT_ERRORS("sweep: t\n"
                  "defaults: {zzzzzz: 1}\n"
                  "grid: {seed: [0]}\n",
                  "t.yaml:2:12: unknown key 'zzzzzz' in defaults");
}

static void test_unknown_key_in_grid_condition_overrides(void)
{
    EXPECT_ERRORS("sweep: t\n"
                  "grid:\n"
                  "  seed: [0, 1]\n"
                  "  learnig_rate: [1e-4]\n",
                  "t.yaml:4:3: unknown key 'learnig_rate' (did you mean 'learning_rate'?)");
    EXPECT_ERRORS("sweep: t\n"
                  "conditions:\n"
                  "  a: {adapter: lora, learnig_rate: 1e-4}\n"
                  "grid: {condition: [a]}\n",
                  "t.yaml:3:22: unknown key 'learnig_rate' (did you mean 'learning_rate'?)");
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  s:\n"
                  "    overrides:\n"
                  "      learnig_rate: 1e-4\n",
                  "t.yaml:5:7: unknown key 'learnig_rate' (did you mean 'learning_rate'?)");
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  s:\n"
                  "    grid: {seed: [0]}\n"
                  "    overides: {rank: 4}\n",
                  "t.yaml:5:5: unknown key 'overides' (did you mean 'overrides'?)");
}

static void test_unknown_parameter_on_a_stage(void)
{
    /* Parameters may be set directly on a stage (`lr: {from: ...}`, `rank: 8`), so a
     * misspelt parameter there deserves the same suggestion as in overrides. */
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  s:\n"
                  "    learnig_rate: 1e-4\n",
                  "t.yaml:4:5: unknown key 'learnig_rate' (did you mean 'learning_rate'?)");
}

static void test_unknown_key_top_level_and_contract(void)
{
    EXPECT_ERRORS("sweep: t\n"
                  "descripton: x\n"
                  "grid: {seed: [0]}\n",
                  "t.yaml:2:1: unknown key 'descripton' (did you mean 'description'?)");
    /* x- keys at the top hold anchors and are ignored; elsewhere they are not. */
    struct sweep s;
    if (LOAD_OK("sweep: t\nx-anything: {whatever: 1}\ngrid: {seed: [0]}\n", &s) == 0)
        sweep_free(&s);
    EXPECT_ERRORS("sweep: t\n"
                  "datasets: {bench: data/b.jsonl}\n"
                  "grid: {seed: [0]}\n"
                  "evaluation: {dataset: bench, max_new_token: 8}\n",
                  "t.yaml:4:30: unknown key 'max_new_token' (did you mean 'max_new_tokens'?)");
    EXPECT_ERRORS("sweep: t\n"
                  "grid: {seed: [0]}\n"
                  "selection: {checkpoints: last}\n",
                  "t.yaml:3:13: unknown key 'checkpoints' (did you mean 'checkpoint'?)");
    EXPECT_ERRORS("sweep: t\n"
                  "grid: {seed: [0]}\n"
                  "selection: {compare: {metrc: accuracy}}\n",
                  "t.yaml:3:23: unknown key 'metrc' (did you mean 'metric'?)");
    EXPECT_ERRORS("sweep: t\n"
                  "datasets: {train: {pth: a.jsonl}}\n"
                  "grid: {seed: [0]}\n",
                  "t.yaml:2:20: unknown key 'pth' in 'train' (did you mean 'path'?)");
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  s:\n"
                  "    grid: {seed: [0]}\n"
                  "    pick: {parm: seed, by: max(acc)}\n",
                  "t.yaml:5:12: unknown key 'parm' (did you mean 'param'?)");
}

/* ---- wrong types ---- */

static void test_wrong_value_types(void)
{
    /* Each case is `defaults: {<text>}` on line 3; `defaults: {` is 11 columns. */
    static const struct {
        const char *text, *want;
    } cases[] = {
        { "rank: eight", "t.yaml:3:18: 'rank' must be an integer >= 1, not 'eight'" },
        { "rank: 0", "t.yaml:3:18: 'rank' must be an integer >= 1, not '0'" },
        { "rank: 2.5", "t.yaml:3:18: 'rank' must be an integer >= 1, not '2.5'" },
        { "r: \"8\"", "t.yaml:3:15: 'r' must be an integer >= 1, not '8'" },
        { "seed: -1", "t.yaml:3:18: 'seed' must be an integer >= 0, not '-1'" },
        { "lr: 0", "t.yaml:3:16: 'lr' must be a number > 0, not '0'" },
        { "lr: fast", "t.yaml:3:16: 'lr' must be a number, not 'fast'" },
        { "learning_rate: \"1e-4\"", "t.yaml:3:27: 'learning_rate' must be a number, not '1e-4'" },
        { "dropout: 1.5", "t.yaml:3:21: 'dropout' must be a number in [0, 1), not '1.5'" },
        { "alpha: [16]", "t.yaml:3:19: 'alpha' must be a number, not a list" },
        { "full: yes", "t.yaml:3:18: 'full' must be true or false, not 'yes'" },
        { "adapter: lorra", "t.yaml:3:21: 'adapter' cannot be 'lorra' (did you mean 'lora'?)" },
        { "lr_schedule: cosin",
          "t.yaml:3:25: 'lr_schedule' cannot be 'cosin' (did you mean 'cosine'?)" },
        { "keep: sometimes",
          "t.yaml:3:18: 'keep' cannot be 'sometimes' (one of: all, last, best, best+last)" },
        { "targets: []", "t.yaml:3:21: 'targets' must be a non-empty list, not an empty list" },
        { "targets: [q_proj, qkv_proj]",
          "t.yaml:3:30: 'targets' cannot be 'qkv_proj' (did you mean 'q_proj'?)" },
        { "init: scratch",
          "t.yaml:3:18: 'init' cannot be 'scratch' (one of: pretrained, random)" },
        { "model: 128", "t.yaml:3:19: 'model' must be a mapping such as {dim: 128, n_layers: 4, "
          "...}, not '128'" },
        { "model: {dim: big}", "t.yaml:3:25: 'dim' must be a number or a boolean, not 'big'" },
        { "layers: [a]", "t.yaml:3:21: 'layers' must be a list of layer indices >= 0, not 'a'" },
        { "layers: {last: 0}", "t.yaml:3:20: 'layers' must be all, {last: N}, \"last N\" or a "
          "list of layer indices, not a mapping" },
        { "layers: last 0", "t.yaml:3:20: 'layers' must be all, {last: N}, \"last N\" or a "
          "list of layer indices, not 'last 0'" },
        { "eval_at: [0]",
          "t.yaml:3:22: 'eval_at' must be a step >= 1, epoch, end or {every: K}, not '0'" },
        { "train: [norm, head]", "t.yaml:3:26: 'train' must be norm, lm_head, embeddings or "
          "{blocks: LAYERS}, not 'head'" },
        { "condition: [a]", "t.yaml:3:23: 'condition' must be a name, not a list" },
        { "base_model: 5",
          "t.yaml:3:24: 'base_model' must be a path, a URL or {path or url, sha256, member}, not '5'" },
        { "batch_size: 8.0", "t.yaml:3:24: 'batch_size' must be an integer >= 1, not '8.0'" },
        { "weight_decay: -0.1", "t.yaml:3:26: 'weight_decay' must be a number >= 0, not '-0.1'" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct strbuf yaml = STRBUF_INIT;
        sb_addf(&yaml, "sweep: t\ngrid: {seed: [0]}\ndefaults: {%s}\n", cases[i].text);
        int f0 = th_failed;
        EXPECT_ERRORS(yaml.buf, cases[i].want);
        if (th_failed != f0)
            fprintf(stderr, "    case: defaults: {%s}\n", cases[i].text);
        sb_free(&yaml);
    }
}

static void test_wrong_section_types(void)
{
    EXPECT_ERRORS("sweep: t\ngrid: [seed]\n", "t.yaml:2:7: 'grid' must be a mapping, not a list");
    EXPECT_ERRORS("sweep: [x]\ngrid: {seed: [0]}\n",
                  "t.yaml:1:8: 'sweep name' must be a string, not a list");
    EXPECT_ERRORS("sweep: 42\ngrid: {seed: [0]}\n",
                  "t.yaml:1:8: 'sweep name' must be a string, not an integer");
    EXPECT_ERRORS("sweep: t\ndefaults: 5\ngrid: {seed: [0]}\n",
                  "t.yaml:2:11: 'defaults' must be a mapping, not an integer");
    EXPECT_ERRORS("sweep: t\nconditions: [a]\ngrid: {seed: [0]}\n",
                  "t.yaml:2:13: 'conditions' must be a mapping, not a list");
    EXPECT_ERRORS("sweep: t\nstages:\n  s: [1]\n",
                  "t.yaml:3:6: 'stage' must be a mapping, not a list");
    EXPECT_ERRORS("sweep: t\nstages:\n  s: {grid: {seed: [0]}, description: [x]}\n",
                  "t.yaml:3:39: 'description' must be a string, not a list");
    EXPECT_ERRORS("- sweep: t\n",
                  "t.yaml:1:1: a sweep file is a mapping (sweep: NAME, ...), not a list");
    EXPECT_ERRORS("just text\n",
                  "t.yaml:1:1: a sweep file is a mapping (sweep: NAME, ...), not a string");
}

static void test_file_level_errors(void)
{
    EXPECT_ERRORS("", "t.yaml: the sweep file is empty");
    EXPECT_ERRORS("# nothing\n", "t.yaml: the sweep file is empty");
    EXPECT_ERRORS("grid: {seed: [0]}\n", "t.yaml:1:1: missing 'sweep: NAME'");
    EXPECT_ERRORS("sweep: -x\ngrid: {seed: [0]}\n",
                  "t.yaml:1:8: sweep name '-x' must be 1-64 letters, digits, '_', '-' or '.'");
    EXPECT_ERRORS("sweep: t\nstages:\n  my stage: {}\n",
                  "t.yaml:3:3: stage name 'my stage' must be 1-64 letters, digits, '_', '-' "
                  "or '.'");
    /* YAML-level refusals come through with their positions. */
    EXPECT_ERRORS("sweep: t\ngrid: {seed: [0]}\nsweep: u\n",
                  "t.yaml:3:1: duplicate key 'sweep' (first at line 1)");
    EXPECT_ERRORS("sweep: t\ngrid: {seed: [0]}\n---\nsweep: u\n",
                  "t.yaml:3:1: more than one YAML document in the file");
    EXPECT_ERRORS("sweep: t\ngrid: {seed: !!int 0}\n",
                  "t.yaml:2:14: unsupported tag 'tag:yaml.org,2002:int'");
}

/* ---- empty grids ---- */

static void test_empty_grids(void)
{
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  s:\n"
                  "    grid: {}\n",
                  "t.yaml:4:11: stage 's' has an empty grid");
    EXPECT_ERRORS("sweep: t\ngrid: {}\n", "t.yaml:2:7: stage 'main' has an empty grid");
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  s:\n"
                  "    grid: {seed: [0], lr: []}\n",
                  "t.yaml:4:27: grid axis 'lr' has no values");
    EXPECT_ERRORS("sweep: t\nstages: {}\n", "t.yaml:2:9: 'stages' is empty");
    EXPECT_ERRORS("sweep: t\n"
                  "grid:\n"
                  "  seed: [0]\n"
                  "  learning_rate: []\n",
                  "t.yaml:4:18: grid axis 'learning_rate' has no values");
}

static void test_grid_axis_errors(void)
{
    /* The same parameter twice, once through an alias. */
    EXPECT_ERRORS("sweep: t\ngrid: {lr: [1e-4], learning_rate: [1e-3]}\n",
                  "t.yaml:2:20: grid sets 'lr' twice");
    /* Every bad value of an axis is reported. */
    EXPECT_ERRORS("sweep: t\ngrid: {rank: [4, 0, x]}\n",
                  "t.yaml:2:18: 'rank' must be an integer >= 1, not '0'",
                  "t.yaml:2:21: 'rank' must be an integer >= 1, not 'x'");
}

/* ---- unknown conditions ---- */

static void test_unknown_condition_in_grid(void)
{
    EXPECT_ERRORS("sweep: t\n"
                  "conditions:\n"
                  "  attention_only: {rank: 4}\n"
                  "  all_layer: {rank: 8}\n"
                  "grid: {condition: [attention_only, al_layer], seed: [0]}\n",
                  "t.yaml:5:36: unknown condition 'al_layer' (did you mean 'all_layer'?)");
    EXPECT_ERRORS("sweep: t\n"
                  "conditions:\n"
                  "  attention_only: {rank: 4}\n"
                  "grid: {condition: [baseline]}\n",
                  "t.yaml:4:20: unknown condition 'baseline' (not under conditions)");
    /* No conditions section at all. */
    EXPECT_ERRORS("sweep: t\ngrid: {condition: a}\n",
                  "t.yaml:2:19: unknown condition 'a' (not under conditions)");
}

static void test_unknown_condition_in_overrides_and_defaults(void)
{
    /* The position is the value naming the missing condition, not the stage's
     * mapping or the file's root. */
    EXPECT_ERRORS("sweep: t\n"
                  "conditions: {a: {}}\n"
                  "stages:\n"
                  "  s:\n"
                  "    overrides: {condition: b}\n",
                  "t.yaml:5:28: unknown condition 'b' (did you mean 'a'?)");
    EXPECT_ERRORS("sweep: t\n"
                  "conditions: {a: {}}\n"
                  "stages:\n"
                  "  s:\n"
                  "    condition: b\n",
                  "t.yaml:5:16: unknown condition 'b' (did you mean 'a'?)");
    EXPECT_ERRORS("sweep: t\n"
                  "conditions: {a: {}}\n"
                  "defaults: {condition: b}\n"
                  "grid: {seed: [0]}\n",
                  "t.yaml:3:23: unknown condition 'b' (did you mean 'a'?)");
}

static void test_unknown_condition_after_a_bad_value(void)
{
    /* An invalid axis value before 'zz' must not shift the position reported for it. */
    EXPECT_ERRORS("sweep: t\n"
                  "conditions: {a: {}}\n"
                  "grid: {condition: [1, zz]}\n",
                  "t.yaml:3:20: 'condition' must be a name, not '1'",
                  "t.yaml:3:23: unknown condition 'zz' (not under conditions)");
}

static void test_condition_cannot_set_condition(void)
{
    EXPECT_ERRORS("sweep: t\n"
                  "conditions: {a: {condition: a}}\n"
                  "grid: {condition: [a]}\n",
                  "t.yaml:2:17: condition 'a' cannot set 'condition'");
}

/* ---- needs and from ---- */

static void test_needs_cycle_of_two(void)
{
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  a: {needs: b}\n"
                  "  b: {needs: a}\n",
                  "t.yaml:3:6: stages need each other in a cycle: a -> b -> a");
    /* Block style: a block mapping starts at its first key. */
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  a:\n"
                  "    needs: [b]\n"
                  "  b:\n"
                  "    needs: [a]\n",
                  "t.yaml:4:5: stages need each other in a cycle: a -> b -> a");
}

static void test_needs_cycle_self_and_longer(void)
{
    EXPECT_ERRORS("sweep: t\nstages:\n  a: {needs: a}\n",
                  "t.yaml:3:6: stages need each other in a cycle: a -> a");
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  a: {needs: c}\n"
                  "  b: {needs: a}\n"
                  "  c: {needs: b}\n",
                  "t.yaml:3:6: stages need each other in a cycle: a -> c -> b -> a");
    /* A stage stuck behind a cycle is not part of it: the message names the cycle. */
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  x: {needs: a}\n"
                  "  a: {needs: b}\n"
                  "  b: {needs: a}\n"
                  "  ok: {}\n",
                  "t.yaml:4:6: stages need each other in a cycle: a -> b -> a");
}

static void test_needs_cycle_through_from(void)
{
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  a:\n"
                  "    grid: {seed: [0]}\n"
                  "    lr: {from: b}\n"
                  "  b:\n"
                  "    needs: a\n"
                  "    grid: {lr: [1e-4, 1e-3]}\n"
                  "    pick: {param: lr, by: min(val_nll)}\n",
                  "t.yaml:4:5: stages need each other in a cycle: a -> b -> a");
}

static void test_needs_missing_stage(void)
{
    /* Reported at 'zz', not at the stage's mapping. */
    EXPECT_ERRORS("sweep: t\nstages:\n  a: {needs: zz}\n",
                  "t.yaml:3:14: stage 'a' needs 'zz', which is not a stage");
}

static void test_from_missing_stage(void)
{
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  main:\n"
                  "    grid: {seed: [0]}\n"
                  "    lr: {from: nowhere}\n",
                  "t.yaml:5:16: 'lr: {from: nowhere}' names a stage that does not exist");
    /* Through an alias and in overrides; the message uses the canonical name. */
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  main:\n"
                  "    overrides: {learning_rate: {from: nowhere}}\n",
                  "t.yaml:4:39: 'lr: {from: nowhere}' names a stage that does not exist");
}

static void test_from_source_must_pick(void)
{
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  sel:\n"
                  "    grid: {lr: [1e-4]}\n"
                  "  main:\n"
                  "    lr: {from: sel}\n",
                  "t.yaml:6:16: stage 'sel' does not pick 'lr' (add pick: {param: lr, "
                  "by: ...} to it)");
    /* Picking another parameter is not enough. */
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  sel:\n"
                  "    grid: {lr: [1e-4], rank: [4, 8]}\n"
                  "    pick: {param: rank, by: min(val_nll)}\n"
                  "  main:\n"
                  "    lr: {from: sel}\n",
                  "t.yaml:7:16: stage 'sel' does not pick 'lr' (add pick: {param: lr, "
                  "by: ...} to it)");
}

static void test_from_outside_a_stage_and_with_axis(void)
{
    EXPECT_ERRORS("sweep: t\n"
                  "defaults: {lr: {from: sel}}\n"
                  "grid: {seed: [0]}\n",
                  "t.yaml:2:16: 'lr: {from: ...}' is only allowed in a stage");
    EXPECT_ERRORS("sweep: t\n"
                  "conditions: {a: {lr: {from: sel}}}\n"
                  "grid: {condition: [a]}\n",
                  "t.yaml:2:22: 'lr: {from: ...}' is only allowed in a stage");
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  sel:\n"
                  "    grid: {lr: [1e-4, 1e-3]}\n"
                  "    pick: {param: lr, by: min(val_nll)}\n"
                  "  main:\n"
                  "    grid: {lr: [1e-4]}\n"
                  "    lr: {from: sel}\n",
                  "t.yaml:7:16: 'lr' is both a grid axis and from stage 'sel'");
}

static void test_pick_errors(void)
{
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  s:\n"
                  "    grid: {seed: [0, 1]}\n"
                  "    pick: {param: lr, by: min(val_nll)}\n",
                  "t.yaml:5:11: stage 's' picks 'lr', which is not one of its grid axes");
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  s:\n"
                  "    grid: {seed: [0, 1]}\n"
                  "    pick: {param: seed, by: lowest}\n",
                  "t.yaml:5:29: 'by' must be min(METRIC) or max(METRIC), not 'lowest'");
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  s:\n"
                  "    grid: {seed: [0, 1]}\n"
                  "    pick: {param: seed}\n",
                  "t.yaml:5:11: pick needs 'param' and 'by'");
    EXPECT_ERRORS("sweep: t\n"
                  "stages:\n"
                  "  s:\n"
                  "    grid: {seed: [0, 1]}\n"
                  "    pick: {per: conditon, param: seed, by: max(acc)}\n",
                  "t.yaml:5:17: pick per 'conditon' is not a parameter");
}

/* ---- stage order ---- */

static void test_stage_order(void)
{
    struct sweep s;
    if (LOAD_OK("sweep: t\nstages:\n  main: {needs: sel}\n  sel: {}\n", &s) == 0) {
        CHECK_STAGES(&s, "sel,main");
        sweep_free(&s);
    }
    /* Without dependencies, file order (not alphabetical). */
    if (LOAD_OK("sweep: t\nstages:\n  c: {}\n  a: {}\n  b: {}\n", &s) == 0) {
        CHECK_STAGES(&s, "c,a,b");
        sweep_free(&s);
    }
    /* Each step takes the first stage in file order whose needs are all placed. */
    if (LOAD_OK("sweep: t\nstages:\n  z: {needs: y}\n  x: {}\n  y: {}\n", &s) == 0) {
        CHECK_STAGES(&s, "x,y,z");
        sweep_free(&s);
    }
    if (LOAD_OK("sweep: t\nstages:\n  d: {needs: [b, c]}\n  c: {needs: a}\n  b: {}\n"
                "  a: {}\n", &s) == 0) {
        CHECK_STAGES(&s, "b,a,c,d");
        CHECK_INT(sweep_find_stage(&s, "d")->n_needs, 2);
        sweep_free(&s);
    }
    /* A from binding orders stages like needs does. */
    if (LOAD_OK("sweep: t\n"
                "stages:\n"
                "  main:\n"
                "    lr: {from: sel}\n"
                "  sel:\n"
                "    grid: {lr: [1e-4, 1e-3]}\n"
                "    pick: {param: lr, by: min(val_nll)}\n", &s) == 0) {
        CHECK_STAGES(&s, "sel,main");
        const struct sweep_stage *m = sweep_find_stage(&s, "main");
        CHECK(m && m->n_needs == 1 && !strcmp(m->needs[0], "sel"));
        sweep_free(&s);
    }
}

/* ---- the frozen contract ---- */

static void test_contract_built(void)
{
    const char *yaml =
        "sweep: t\n"
        "datasets: {bench: data/b.jsonl}\n"
        "grid: {seed: [0]}\n"
        "evaluation: {dataset: bench, max_new_tokens: 64, extract: last_number, match: exact,"
        " baseline: true, stop: [\"\\n\"], temperature: 0, limit: 50}\n"
        "selection: {checkpoint: min(val_nll), compare: {metric: accuracy, over: seed,"
        " winner_threshold: 0.01, test: mcnemar}}\n";
    struct sweep s;
    if (LOAD_OK(yaml, &s) < 0)
        return;
    CHECK_JSON(s.contract, "{\"evaluation\":{\"baseline\":true,\"dataset\":\"bench\","
               "\"extract\":\"last_number\",\"limit\":50,\"match\":\"exact\","
               "\"max_new_tokens\":64,\"stop\":[\"\\n\"],\"temperature\":0},"
               ""
               "\"selection\":{\"checkpoint\":\"min(val_nll)\",\"compare\":{\"metric\":"
               "\"accuracy\",\"over\":\"seed\",\"test\":\"mcnemar\",\"winner_threshold\":0.01}}}");
    CHECK(json_equal(json_object_get(s.contract, "evaluation"),
                     json_object_get(s.spec, "evaluation")));
    sweep_free(&s);
    /* Only one half present: the other is null. */
    if (LOAD_OK("sweep: t\ngrid: {seed: [0]}\nselection: {checkpoint: last}\n", &s) == 0) {
        CHECK_JSON(s.contract, "{\"evaluation\":null,\"selection\":{\"checkpoint\":\"last\"}}");
        sweep_free(&s);
    }
}

static void test_contract_with_anchors(void)
{
    const char *yaml =
        "sweep: t\n"
        "datasets: {bench: data/b.jsonl}\n"
        "x-eval: &ev {dataset: bench, max_new_tokens: 64}\n"
        "grid: {seed: [0]}\n"
        "evaluation: {<<: *ev, max_new_tokens: 32}\n";
    struct sweep s;
    if (LOAD_OK(yaml, &s) < 0)
        return;
    CHECK_JSON(s.contract, "{\"evaluation\":{\"dataset\":\"bench\",\"max_new_tokens\":32},"
               ""
               "\"selection\":null}");
    sweep_free(&s);
}

static void test_evaluation_dataset_must_exist(void)
{
    EXPECT_ERRORS("sweep: t\n"
                  "datasets: {train: data/t.jsonl}\n"
                  "grid: {seed: [0]}\n"
                  "evaluation: {dataset: bench}\n",
                  "t.yaml:4:23: evaluation dataset 'bench' is not under datasets");
    EXPECT_ERRORS("sweep: t\n"
                  "grid: {seed: [0]}\n"
                  "evaluation:\n"
                  "  dataset: bench\n",
                  "t.yaml:4:12: evaluation dataset 'bench' is not under datasets");
    EXPECT_ERRORS("sweep: t\n"
                  "grid: {seed: [0]}\n"
                  "evaluation: {max_new_tokens: 8}\n",
                  "t.yaml:3:13: evaluation needs 'dataset' (the name of a dataset)");
}

static void test_evaluation_retention_and_probes(void)
{
    EXPECT_ERRORS("sweep: t\n"
                  "datasets: {bench: data/b.jsonl}\n"
                  "grid: {seed: [0]}\n"
                  "evaluation: {dataset: bench, retention: general}\n",
                  "t.yaml:4:41: evaluation retention dataset 'general' is not under datasets");
    EXPECT_ERRORS("sweep: t\n"
                  "datasets: {bench: data/b.jsonl}\n"
                  "grid: {seed: [0]}\n"
                  "evaluation: {dataset: bench, probes: Hello}\n",
                  "t.yaml:4:38: 'probes' must be a list, not a string");
    EXPECT_ERRORS("sweep: t\n"
                  "datasets: {bench: data/b.jsonl}\n"
                  "grid: {seed: [0]}\n"
                  "evaluation: {dataset: bench, probes: [Hello, [x]]}\n",
                  "t.yaml:4:46: 'probes' must be a string, not a list");
}

static void test_evaluation_and_selection_checks(void)
{
    EXPECT_ERRORS("sweep: t\n"
                  "datasets: {bench: data/b.jsonl}\n"
                  "grid: {seed: [0]}\n"
                  "evaluation: {dataset: bench, temperature: 0.7}\n",
                  "t.yaml:4:43: 'temperature' must be 0: evaluation decodes greedily");
    EXPECT_ERRORS("sweep: t\n"
                  "datasets: {bench: data/b.jsonl}\n"
                  "grid: {seed: [0]}\n"
                  "evaluation: {dataset: bench, extract: regex}\n",
                  "t.yaml:4:39: extract: regex needs a 'pattern'");
    EXPECT_ERRORS("sweep: t\n"
                  "datasets: {bench: data/b.jsonl}\n"
                  "grid: {seed: [0]}\n"
                  "evaluation: {dataset: bench, max_new_tokens: 0}\n",
                  "t.yaml:4:46: 'max_new_tokens' must be an integer >= 1, not '0'");
    EXPECT_ERRORS("sweep: t\n"
                  "grid: {seed: [0]}\n"
                  "selection: {checkpoint: lowest(val_nll)}\n",
                  "t.yaml:3:25: 'checkpoint' must be last, min(METRIC) or max(METRIC), "
                  "not 'lowest(val_nll)'");
    EXPECT_ERRORS("sweep: t\n"
                  "grid: {seed: [0]}\n"
                  "selection: {compare: {over: sed}}\n",
                  "t.yaml:3:29: compare over 'sed' is not a parameter");
    EXPECT_ERRORS("sweep: t\n"
                  "grid: {seed: [0]}\n"
                  "selection: {compare: {test: ttest}}\n",
                  "t.yaml:3:29: 'test' cannot be 'ttest' (one of: mcnemar, bootstrap, none)");
}

/* ---- sources ---- */

#define SHA_A_LOWER "15f01275460940e13a288a9ce01089dcf4ab4beb324cbb52fdf665be527aaf21"
#define SHA_A_UPPER "15F01275460940E13A288A9CE01089DCF4AB4BEB324CBB52FDF665BE527AAF21"

static void test_sources(void)
{
    EXPECT_ERRORS("sweep: t\n"
                  "datasets: {train: {path: a.jsonl, sha256: abc}}\n"
                  "grid: {seed: [0]}\n",
                  "t.yaml:2:19: 'train' sha256 pin 'abc' is not 64 hex digits");
    EXPECT_ERRORS("sweep: t\n"
                  "datasets: {train: {sha256: null}}\n"
                  "grid: {seed: [0]}\n",
                  "t.yaml:2:19: 'train' needs a 'path' or a 'url'");
    EXPECT_ERRORS("sweep: t\n"
                  "base_model: models/a.safetensors\n"
                  "defaults: {base_model: models/b.safetensors}\n"
                  "grid: {seed: [0]}\n",
                  "t.yaml:2:13: base_model is set both at the top and in defaults");
    struct sweep s;
    if (LOAD_OK("sweep: t\n"
                "base_model: {path: m/base.safetensors, sha256: null}\n"
                "grid: {seed: [0]}\n", &s) == 0) {
        CHECK_JSON(s.defaults, "{\"base_model\":{\"path\":\"m/base.safetensors\"}}");
        sweep_free(&s);
    }
}

/* Paths, URLs, #member and the mapping forms, as struct sweep_source and JSON. */
static void test_url_sources(void)
{
    struct sweep s;
    if (LOAD_OK("sweep: t\n"
                "base_model: 'hf://org/m@v2/pack.tar.gz#tiny/model.safetensors'\n"
                "datasets:\n"
                "  a: https://h.example/d/a.jsonl\n"
                "  b: 'https://h.example/d/b.tar.zst#x/b.jsonl'\n"
                "  c: {url: file:///srv/c.zip, member: c.jsonl, sha256: " SHA_A_UPPER "}\n"
                "  d: data/with#hash.jsonl\n"
                "  e: {path: data/e.tgz, member: e.jsonl}\n"
                "grid: {seed: [0]}\n", &s) == 0) {
        CHECK_JSON(s.defaults, "{\"base_model\":{\"member\":\"tiny/model.safetensors\","
                   "\"url\":\"hf://org/m@v2/pack.tar.gz\"}}");
        CHECK_INT(s.n_datasets, 5);
        CHECK_STR(s.datasets[0].src.url, "https://h.example/d/a.jsonl");
        CHECK(s.datasets[0].src.path == NULL && s.datasets[0].src.resolved == NULL);
        CHECK(s.datasets[0].src.member == NULL);
        CHECK_STR(s.datasets[1].src.url, "https://h.example/d/b.tar.zst");
        CHECK_STR(s.datasets[1].src.member, "x/b.jsonl");
        CHECK_STR(s.datasets[2].src.member, "c.jsonl");
        CHECK_STR(s.datasets[2].src.sha256_pin, SHA_A_LOWER);
        CHECK_STR(s.datasets[3].src.path, "data/with#hash.jsonl");   /* a path keeps its '#' */
        CHECK(s.datasets[3].src.member == NULL);
        CHECK_STR(s.datasets[4].src.resolved, "data/e.tgz");
        CHECK_STR(s.datasets[4].src.member, "e.jsonl");
        char *text = sweep_source_text(&s.datasets[1].src);
        CHECK_STR(text, "https://h.example/d/b.tar.zst#x/b.jsonl");
        free(text);
        sweep_free(&s);
    }
    EXPECT_ERRORS("sweep: t\n"
                  "datasets:\n"
                  "  a: ftp://h/a.jsonl\n"
                  "  b: {url: data/b.jsonl}\n"
                  "  c: {path: c.jsonl, url: 'https://h/c.jsonl'}\n"
                  "  d: {url: 'https://h/d.jsonl', member: x.jsonl}\n"
                  "  e: 'https://h/e.tar.gz#../e.jsonl'\n"
                  "  f: hf://org/only-two\n"
                  "  g: {url: 'https://h/g.zip', membr: x}\n"
                  "grid: {seed: [0]}\n",
                  "t.yaml:3:6: 'a': 'ftp://h/a.jsonl': unsupported URL scheme (use file://, "
                  "http://, https:// or hf://)",
                  "t.yaml:4:12: 'b': url 'data/b.jsonl' has no scheme (file://, http://, "
                  "https://, hf://); a local file is 'path'",
                  "t.yaml:5:6: 'c' has both a 'path' and a 'url'",
                  "t.yaml:6:6: 'd' names member 'x.jsonl' of 'https://h/d.jsonl', which is not "
                  "an archive (.tar.gz, .tgz, .tar.zst, .tar.xz, .tar, .zip)",
                  "t.yaml:7:6: 'e' member '../e.jsonl': '..' components are refused",
                  "t.yaml:8:6: 'f': 'hf://org/only-two': expected hf://ORG/MODEL/FILE",
                  "t.yaml:9:31: unknown key 'membr' in 'g' (did you mean 'member'?)");
}

static void test_fields_and_render(void)
{
    EXPECT_ERRORS("sweep: t\n"
                  "datasets:\n"
                  "  train: {path: a.jsonl, fields: {promt: problem, completion: 3}}\n"
                  "  bench: {path: b.jsonl, fields: {completion: s}, sha: x}\n"
                  "render: {system: [x], template: chatm}\n"
                  "grid: {seed: [0]}\n",
                  "t.yaml:3:35: unknown key 'promt' (did you mean 'prompt'?)",
                  "t.yaml:3:63: 'completion' must be a string, not an integer",
                  "t.yaml:4:51: unknown key 'sha' in 'bench' (expected path, url, sha256, member)",
                  "t.yaml:4:34: dataset 'bench' maps fields.completion but not fields.prompt",
                  "t.yaml:5:18: 'system' must be a string, not a list",
                  "t.yaml:5:33: 'template' cannot be 'chatm' (did you mean 'chatml'?)");
    struct sweep s;
    if (LOAD_OK("sweep: t\n"
                "datasets:\n"
                "  train: {path: a.jsonl, fields: {prompt: problem, completion: "
                "generated_solution, answer: expected_answer, source: problem_source}}\n"
                "  bench: b.jsonl\n"
                "render: {system: Solve it., template: chatml}\n"
                "grid: {seed: [0]}\n", &s) == 0) {
        CHECK_STR(s.datasets[0].fields.prompt, "problem");
        CHECK_STR(s.datasets[0].fields.source, "problem_source");
        CHECK(s.datasets[1].fields.prompt == NULL);
        CHECK_STR(s.render_system, "Solve it.");
        CHECK_INT(s.tmpl, TEMPLATE_CHATML);
        /* frozen as declared: render, and the datasets that map fields */
        CHECK_JSON(json_object_get(s.contract, "render"),
                   "{\"system\":\"Solve it.\",\"template\":\"chatml\"}");
        CHECK_JSON(json_object_get(s.contract, "fields"),
                   "{\"train\":{\"answer\":\"expected_answer\",\"completion\":"
                   "\"generated_solution\",\"prompt\":\"problem\",\"source\":\"problem_source\"}}");
        struct render_contract rc = sweep_render_contract(&s, &s.datasets[0]);
        CHECK(rc.fields == &s.datasets[0].fields && rc.tmpl == TEMPLATE_CHATML);
        sweep_free(&s);
    }
    if (LOAD_OK("sweep: t\ngrid: {seed: [0]}\n", &s) == 0) {
        /* nothing declared: the contract (and its hash) stay as before */
        CHECK(json_object_get(s.contract, "render") == NULL);
        CHECK(json_object_get(s.contract, "fields") == NULL);
        CHECK_INT(s.tmpl, TEMPLATE_PLAIN);
        sweep_free(&s);
    }
}

/* ---- normalized values ---- */

static void test_normalized_spellings(void)
{
    const char *yaml =
        "sweep: t\n"
        "conditions:\n"
        "  a: {targets: q_proj, layers: \"last 4\", lr: 1.0e-4, eval_at: 10, train: norm}\n"
        "  b: {targets: [q_proj], layers: {last: 4}, lr: 0.0001, eval_at: [10],"
        " train: [norm]}\n"
        "  c: {target_modules: q_proj, layers: last_4, learning_rate: 1e-4, eval_at: [10],"
        " train: [norm]}\n"
        "grid: {condition: [a, b, c]}\n";
    struct sweep s;
    if (LOAD_OK(yaml, &s) < 0)
        return;
    const char *want = "{\"eval_at\":[10],\"layers\":{\"last\":4},\"lr\":0.0001,"
                       "\"targets\":[\"q_proj\"],\"train\":[\"norm\"]}";
    CHECK_JSON(s.conditions[0].params, want);
    CHECK_JSON(s.conditions[1].params, want);
    CHECK_JSON(s.conditions[2].params, want);
    CHECK(json_equal(s.conditions[0].params, s.conditions[1].params));
    CHECK(json_equal(s.conditions[0].params, s.conditions[2].params));
    sweep_free(&s);
}

static void test_aliases_are_canonical(void)
{
    const char *yaml =
        "sweep: t\n"
        "defaults: {r: 8, lora_alpha: 16, lora_dropout: 0.05, learning_rate: 3e-4,"
        " target_modules: v_proj, x_note: {any: [thing]}}\n"
        "grid: {r: [4]}\n";
    struct sweep s;
    if (LOAD_OK(yaml, &s) < 0)
        return;
    CHECK_JSON(s.defaults, "{\"alpha\":16.0,\"dropout\":0.05,\"lr\":0.0003,"
               "\"rank\":8,\"targets\":[\"v_proj\"],\"x_note\":{\"any\":[\"thing\"]}}");
    CHECK_STR(s.stages[0].axes[0].param, "rank");
    sweep_free(&s);
    EXPECT_ERRORS("sweep: t\n"
                  "grid: {seed: [0]}\n"
                  "defaults: {lr: 1e-4, learning_rate: 1e-3}\n",
                  "t.yaml:3:22: 'learning_rate' sets 'lr' twice");
}

/* ---- several errors ---- */

static void test_many_errors_all_reported(void)
{
    const char *yaml =
        "sweep: many\n"                                             /* 1 */
        "conditions:\n"                                             /* 2 */
        "  a: {adapter: lora, rank: eight}\n"                       /* 3 */
        "defaults: {dropout: 1.5, learnig_rate: 1e-4}\n"            /* 4 */
        "stages:\n"                                                 /* 5 */
        "  s1:\n"                                                   /* 6 */
        "    grid: {condition: [a, b], lr: []}\n"                   /* 7 */
        "  s2:\n"                                                   /* 8 */
        "    grid: {seed: [0]}\n"                                   /* 9 */
        "    lr: {from: nowhere}\n"                                 /* 10 */
        "  s3: {needs: s4}\n"                                       /* 11 */
        "  s4: {needs: s3}\n"                                       /* 12 */
        "evaluation: {dataset: test}\n"                             /* 13 */
        "selection: {checkpoint: lowest(val_nll)}\n";               /* 14 */
    struct diag_list dl = { 0 };
    struct sweep s;
    CHECK_INT(load(yaml, &s, &dl), -1);
    CHECK(dl.count >= 2);
    EXPECT_ERRORS(yaml,
                  "t.yaml:3:28: 'rank' must be an integer >= 1, not 'eight'",
                  "t.yaml:4:21: 'dropout' must be a number in [0, 1), not '1.5'",
                  "t.yaml:4:26: unknown key 'learnig_rate' (did you mean 'learning_rate'?)",
                  "t.yaml:7:27: unknown condition 'b' (did you mean 'a'?)",
                  "t.yaml:7:35: grid axis 'lr' has no values",
                  "t.yaml:13:23: evaluation dataset 'test' is not under datasets",
                  "t.yaml:14:25: 'checkpoint' must be last, min(METRIC) or max(METRIC), "
                  "not 'lowest(val_nll)'",
                  "t.yaml:10:16: 'lr: {from: nowhere}' names a stage that does not exist",
                  "t.yaml:11:7: stages need each other in a cycle: s3 -> s4 -> s3");
    diag_free(&dl);
}

static void test_stage_and_overrides_set_one_parameter(void)
{
    /* Whichever is written second is refused. */
    EXPECT_ERRORS("sweep: t\nstages:\n  s: {rank: 8, overrides: {rank: 4}}\n",
                  "t.yaml:3:27: 'rank' is set both in overrides and on the stage");
    EXPECT_ERRORS("sweep: t\nstages:\n  s: {overrides: {rank: 4}, rank: 8}\n",
                  "t.yaml:3:29: 'rank' sets 'rank' twice");
}

static void test_diagnostics_capped_but_counted(void)
{
    /* 60 bad grid values: every one counted, the first DIAG_MAX kept. */
    struct strbuf yaml = STRBUF_INIT;
    sb_adds(&yaml, "sweep: t\ngrid: {rank: [x");
    for (int i = 1; i < 60; i++)
        sb_adds(&yaml, ", x");
    sb_adds(&yaml, "]}\n");
    struct diag_list dl = { 0 };
    struct sweep s;
    CHECK_INT(load(yaml.buf, &s, &dl), -1);
    CHECK_INT(dl.count, 60);
    CHECK_INT(dl.n, DIAG_MAX);
    CHECK_STR(dl.n ? dl.msgs[0] : NULL, "t.yaml:2:15: 'rank' must be an integer >= 1, not 'x'");
    CHECK_STR(dl.n == DIAG_MAX ? dl.msgs[DIAG_MAX - 1] : NULL,
              "t.yaml:2:162: 'rank' must be an integer >= 1, not 'x'");
    diag_free(&dl);
    sb_free(&yaml);
}

/*
 * Files that end up with no stage list at all (no `stages:`/`grid:`, both given, or
 * `stages:` not a mapping). Under UBSan this once aborted: order_stages() passed a
 * NULL stage list to memcpy.
 */
static void test_files_without_a_stage_list(void)
{
    EXPECT_ERRORS("sweep: t\n",
                  "t.yaml:1:1: the sweep has no runs: add 'stages:' or a top-level 'grid:'");
    EXPECT_ERRORS("sweep: t\n"
                  "grid: {seed: [0]}\n"
                  "stages: {s: {}}\n",
                  "t.yaml:2:7: a top-level 'grid' is for sweeps without 'stages'; "
                  "move it into a stage");
    EXPECT_ERRORS("sweep: t\nstages: [a, b]\n",
                  "t.yaml:2:9: 'stages' must be a mapping, not a list");
}

static void test_diag_list_keeps_earlier_messages(void)
{
    struct diag_list dl = { 0 };
    diag_add(&dl, "x.yaml", 0, 0, "earlier");
    struct sweep s;
    const char *yaml = "sweep: t\ngrid: {seed: [0]}\n";
    /* A valid file succeeds even when the list already holds messages. */
    CHECK_INT(sweep_load_text("t.yaml", yaml, strlen(yaml), &s, &dl), 0);
    CHECK_INT(dl.count, 1);
    CHECK_STR(dl.msgs[0], "x.yaml: earlier");
    sweep_free(&s);
    diag_free(&dl);
}

int main(void)
{
    TEST(test_example_loads);
    TEST(test_top_level_grid_is_stage_main);
    TEST(test_anchors_and_merges_in_a_sweep);
    TEST(test_unknown_key_inside_merged_map);
    TEST(test_unknown_key_in_defaults);
    TEST(test_unknown_key_in_grid_condition_overrides);
    TEST(test_unknown_parameter_on_a_stage);
    TEST(test_unknown_key_top_level_and_contract);
    TEST(test_wrong_value_types);
    TEST(test_wrong_section_types);
    TEST(test_file_level_errors);
    TEST(test_empty_grids);
    TEST(test_grid_axis_errors);
    TEST(test_unknown_condition_in_grid);
    TEST(test_unknown_condition_in_overrides_and_defaults);
    TEST(test_unknown_condition_after_a_bad_value);
    TEST(test_condition_cannot_set_condition);
    TEST(test_needs_cycle_of_two);
    TEST(test_needs_cycle_self_and_longer);
    TEST(test_needs_cycle_through_from);
    TEST(test_needs_missing_stage);
    TEST(test_from_missing_stage);
    TEST(test_from_source_must_pick);
    TEST(test_from_outside_a_stage_and_with_axis);
    TEST(test_pick_errors);
    TEST(test_stage_order);
    TEST(test_contract_built);
    TEST(test_contract_with_anchors);
    TEST(test_evaluation_dataset_must_exist);
    TEST(test_evaluation_retention_and_probes);
    TEST(test_evaluation_and_selection_checks);
    TEST(test_sources);
    TEST(test_url_sources);
    TEST(test_fields_and_render);
    TEST(test_normalized_spellings);
    TEST(test_aliases_are_canonical);
    TEST(test_many_errors_all_reported);
    TEST(test_stage_and_overrides_set_one_parameter);
    TEST(test_diagnostics_capped_but_counted);
    TEST(test_diag_list_keeps_earlier_messages);
    TEST(test_files_without_a_stage_list);
    return test_report();
}
