/*
 * test_sweep_load.c - unit tests for orchestrator/sweep_load.c and sweep_params.c.
 *
 * Loads in-memory sweep files with sweep_load_text() and checks the validated
 * struct sweep (names, conditions, defaults, stages and their order, picks, froms,
 * the frozen contract, normalized values), and that a refused file leaves nothing
 * behind. What a bad file is told, "file:line:col: message" for every diagnostic,
 * is tested in one place: tests/golden. Expansion into runs is test_sweep_expand.c's
 * job.
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

static void test_x_keys_at_the_top_are_ignored(void)
{
    /* x- keys at the top hold anchors and are ignored; elsewhere they are not. */
    struct sweep s;
    if (LOAD_OK("sweep: t\nx-anything: {whatever: 1}\ngrid: {seed: [0]}\n", &s) == 0)
        sweep_free(&s);
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

/* ---- sources ---- */

#define SHA_A_LOWER "15f01275460940e13a288a9ce01089dcf4ab4beb324cbb52fdf665be527aaf21"
#define SHA_A_UPPER "15F01275460940E13A288A9CE01089DCF4AB4BEB324CBB52FDF665BE527AAF21"

/* A null sha256 is no pin. */
static void test_sources(void)
{
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
}

static void test_fields_and_render(void)
{
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
}

/* ---- executor and slurm ---- */

/* The example: top-level resources, a stage's time, evaluation's cpus and time. */
static const char slurm_example[] =
    "sweep: t\n"
    "datasets: {bench: data/b.jsonl}\n"
    "executor: slurm\n"
    "slurm: {partition: gpu, account: lab, time: \"4:00:00\", cpus_per_task: 8, mem: 32G,\n"
    "        gres: \"gpu:1\", qos: normal, extra: [\"--constraint=a100\"], max_array: 100,\n"
    "        signal_before_end: 120}\n"
    "stages:\n"
    "  lr_select: {grid: {seed: [7]}, slurm: {time: \"0:30:00\"}}\n"
    "  main: {grid: {seed: [0, 1]}, slurm: {extra: [], partition: \"gpu,gpu2\"}}\n"
    "evaluation: {dataset: bench, slurm: {cpus_per_task: 4, time: \"1:00:00\"}}\n";

static void test_slurm_resources_merge(void)
{
    struct sweep s;
    if (LOAD_OK(slurm_example, &s) < 0)
        return;
    CHECK_STR(s.executor, "slurm");
    struct slurm_resources r;
    CHECK_INT(sweep_slurm_resources(&s, "lr_select", &r), 0);
    CHECK_STR(r.time, "0:30:00");
    CHECK_INT(r.time_s, 1800);
    CHECK_STR(r.partition, "gpu");
    CHECK_STR(r.account, "lab");
    CHECK_STR(r.qos, "normal");
    CHECK_STR(r.mem, "32G");
    CHECK_STR(r.gres, "gpu:1");
    CHECK_INT(r.cpus_per_task, 8);
    CHECK_INT(r.max_array, 100);
    CHECK_INT(r.signal_before_end, 120);
    CHECK(r.n_extra == 1 && r.extra && !strcmp(r.extra[0], "--constraint=a100"));
    slurm_resources_free(&r);
    /* `extra: []` replaces the top-level list with none; declared, so not NULL. */
    CHECK_INT(sweep_slurm_resources(&s, "main", &r), 0);
    CHECK_STR(r.partition, "gpu,gpu2");
    CHECK_STR(r.time, "4:00:00");
    CHECK_INT(r.time_s, 4 * 3600);
    CHECK(r.extra != NULL && r.n_extra == 0);
    slurm_resources_free(&r);
    CHECK_INT(sweep_slurm_resources(&s, NULL, &r), 0);
    CHECK_INT(r.cpus_per_task, 4);
    CHECK_STR(r.time, "1:00:00");
    CHECK_STR(r.partition, "gpu");
    CHECK_INT(r.n_extra, 1);
    slurm_resources_free(&r);
    memset(&r, 0xa5, sizeof(r));
    CHECK_INT(sweep_slurm_resources(&s, "nope", &r), -1);
    CHECK(r.partition == NULL && r.extra == NULL && r.cpus_per_task == 0);
    slurm_resources_free(&r);
    sweep_free(&s);
}

/* Nothing declared: every field unset, executor NULL, also for the implicit stage. */
static void test_slurm_resources_unset(void)
{
    struct sweep s;
    if (LOAD_OK("sweep: t\ngrid: {seed: [0]}\n", &s) < 0)
        return;
    CHECK(s.executor == NULL);
    struct slurm_resources r;
    CHECK_INT(sweep_slurm_resources(&s, "main", &r), 0);
    CHECK(!r.partition && !r.account && !r.qos && !r.time && !r.mem && !r.gres && !r.extra);
    CHECK_INT(r.time_s, 0);
    CHECK_INT(r.cpus_per_task, 0);
    CHECK_INT(r.max_array, 0);
    CHECK_INT(r.signal_before_end, -1);
    slurm_resources_free(&r);
    sweep_free(&s);
    if (LOAD_OK("sweep: t\nexecutor: local\ngrid: {seed: [0]}\n"
                "slurm: {signal_before_end: 0, mem: 0}\n", &s) < 0)
        return;
    CHECK_STR(s.executor, "local");
    CHECK_INT(sweep_slurm_resources(&s, "main", &r), 0);
    CHECK_INT(r.signal_before_end, 0);
    CHECK_STR(r.mem, "0");
    slurm_resources_free(&r);
    sweep_free(&s);
}

/* Every accepted spelling of time and mem, and what it is normalized to. */
static void test_slurm_normalized(void)
{
    static const struct { const char *written, *slurm; long secs; } times[] = {
        { "30", "0:30:00", 1800 },           /* a bare number is minutes, as for sbatch */
        { "\"30:15\"", "0:30:15", 1815 },
        { "\"4:00:00\"", "4:00:00", 14400 },
        { "\"90:00:00\"", "3-18:00:00", 90 * 3600 },
        { "\"1-12\"", "1-12:00:00", 129600 },
        { "2-3:4", "2-03:04:00", 2 * 86400 + 3 * 3600 + 240 },
        { "1-0:0:5", "1-00:00:05", 86405 },
        { "1h30m", "1:30:00", 5400 },        /* the sweep file's own durations */
        { "90s", "0:01:30", 90 },
        { "1.5s", "0:00:02", 2 },            /* whole seconds, rounded up */
        { "1d", "1-00:00:00", 86400 },
        { "365-0", "365-00:00:00", 365L * 86400 },
    };
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        char yaml[256];
        snprintf(yaml, sizeof(yaml), "sweep: t\ngrid: {seed: [0]}\nslurm: {time: %s}\n",
                 times[i].written);
        struct sweep s;
        if (LOAD_OK(yaml, &s) < 0)
            continue;
        struct slurm_resources r;
        sweep_slurm_resources(&s, "main", &r);
        CHECK_STR(r.time, times[i].slurm);
        CHECK_INT(r.time_s, times[i].secs);
        slurm_resources_free(&r);
        sweep_free(&s);
    }
    struct sweep s;
    if (LOAD_OK("sweep: t\ngrid: {seed: [0]}\nslurm: {mem: 512k}\n", &s) == 0) {
        CHECK_JSON(s.slurm, "{\"mem\":\"512K\"}");
        sweep_free(&s);
    }
}

/* What the loader refuses, one diagnostic each (the messages: tests/golden). */
static void test_slurm_refused(void)
{
    static const char *const bad[] = {
        "executor: slrum", "executor: [slurm]", "slurm: gpu", "slurm: {partiton: gpu}",
        "slurm: {partition: \"\"}", "slurm: {partition: \"-p\"}", "slurm: {partition: \"a,\"}",
        "slurm: {partition: \"a b\"}", "slurm: {account: \"la\\tb\"}", "slurm: {qos: [a]}",
        "slurm: {qos: \"a,b\"}", "slurm: {qos: true}", "slurm: {gres: \"gpu;1\"}",
        "slurm: {time: 0}", "slurm: {time: 0s}", "slurm: {time: \"365-0:0:1\"}",
        "slurm: {time: 1.5}", "slurm: {time: \"1:2:3:4\"}", "slurm: {time: \"1-2-3\"}",
        "slurm: {time: UNLIMITED}", "slurm: {time: \"-5\"}", "slurm: {cpus_per_task: 0}",
        "slurm: {cpus_per_task: 4097}", "slurm: {cpus_per_task: \"8\"}", "slurm: {mem: 32GB}",
        "slurm: {mem: G}", "slurm: {mem: -1}", "slurm: {max_array: 0}",
        "slurm: {max_array: 100001}", "slurm: {signal_before_end: -1}",
        "slurm: {signal_before_end: 65536}", "slurm: {extra: \"--x=1\"}",
        "slurm: {extra: [-J]}", "slurm: {extra: [\"--\"]}", "slurm: {extra: [\"--X\"]}",
        "slurm: {extra: [\"--job-name=x\"]}", "slurm: {extra: [\"--out=x\"]}",
        "slurm: {extra: [\"--no-requeue\"]}", "slurm: {extra: [\"--time=5\"]}",
        "slurm: {extra: [\"--wait\"]}", "slurm: {extra: [\"--constraint=a\\n\"]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char yaml[256];
        snprintf(yaml, sizeof(yaml), "sweep: t\ngrid: {seed: [0]}\n%s\n", bad[i]);
        struct diag_list dl = { 0 };
        struct sweep s;
        int rc = load(yaml, &s, &dl);
        CHECK_INT(rc, -1);
        CHECK_INT(dl.count, 1);
        if (rc == 0 || dl.count != 1)
            fprintf(stderr, "    for: %s\n", bad[i]);
        diag_free(&dl);
    }
    /* The edges that are fine. */
    struct sweep s;
    if (LOAD_OK("sweep: t\ngrid: {seed: [0]}\n"
                "slurm: {cpus_per_task: 4096, max_array: 100000, signal_before_end: 65535,\n"
                "        partition: \"a,b.c,d-e\", account: 1234, gres: \"gpu:a100:2,shard:1\",\n"
                "        extra: [\"--nice\", \"--mem-per-gpu=10G\", \"--export-file=f\",\n"
                "                \"--wait-all-nodes=1\", \"--constraint=[a100|h100]\"]}\n",
                &s) == 0)
        sweep_free(&s);
}

/* Not part of what a run is: gone from the spec and the contract. */
static void test_slurm_not_in_spec(void)
{
    struct sweep with, without;
    if (LOAD_OK(slurm_example, &with) < 0)
        return;
    const char *plain =
        "sweep: t\n"
        "datasets: {bench: data/b.jsonl}\n"
        "stages:\n"
        "  lr_select: {grid: {seed: [7]}}\n"
        "  main: {grid: {seed: [0, 1]}}\n"
        "evaluation: {dataset: bench}\n";
    if (LOAD_OK(plain, &without) == 0) {
        CHECK(json_equal(with.spec, without.spec));
        CHECK(json_equal(with.contract, without.contract));
        sweep_free(&without);
    }
    CHECK_JSON(json_object_get(with.contract, "evaluation"), "{\"dataset\":\"bench\"}");
    sweep_free(&with);
}

/* Effective resources compared, not spellings nor where a key was written. */
static void test_slurm_equal(void)
{
#define ONE_STAGE "sweep: t\nstages: {main: {grid: {seed: [0]}"
    static const struct { const char *a, *b; int same; } cases[] = {
        { ONE_STAGE "}}\nslurm: {time: 2h}\n", ONE_STAGE "}}\nslurm: {time: \"2:00:00\"}\n", 1 },
        { ONE_STAGE ", slurm: {mem: 4G}}}\nslurm: {mem: 4g}\n", ONE_STAGE "}}\nslurm: {mem: 4G}\n",
          1 },
        /* Evaluations count even in a sweep without an evaluation section. */
        { ONE_STAGE ", slurm: {mem: 4G}}}\n", ONE_STAGE "}}\nslurm: {mem: 4G}\n", 0 },
        { ONE_STAGE "}}\n", ONE_STAGE "}}\nslurm: {}\n", 1 },
        { ONE_STAGE "}}\nslurm: {time: 2h}\n", ONE_STAGE "}}\nslurm: {time: 3h}\n", 0 },
        { ONE_STAGE "}}\n", ONE_STAGE "}}\nslurm: {extra: []}\n", 0 },
        { ONE_STAGE ", slurm: {qos: a}}}\n", ONE_STAGE ", slurm: {qos: b}}}\n", 0 },
    };
#undef ONE_STAGE
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sweep a, b;
        if (LOAD_OK(cases[i].a, &a) < 0)
            continue;
        if (LOAD_OK(cases[i].b, &b) == 0) {
            int f0 = th_failed;
            CHECK_INT(sweep_slurm_equal(&a, &b), cases[i].same);
            CHECK_INT(sweep_slurm_equal(&b, &a), cases[i].same);
            if (th_failed != f0)
                fprintf(stderr, "    for case %zu\n", i);
            sweep_free(&b);
        }
        sweep_free(&a);
    }
}

/* ---- refused files ---- */

/* A refused file leaves a released (zeroed) struct behind, whichever check refused
 * it: the YAML reader, one value, the stages taken together. */
static void test_refused_file_is_released(void)
{
    static const char *const bad[] = {
        "",
        "sweep: t\ngrid: {seed: [0]\n",
        "sweep: t\ndefaults: {rank: eight}\ngrid: {seed: [0]}\n",
        "sweep: t\nstages:\n  a: {needs: b}\n  b: {needs: a}\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct diag_list dl = { 0 };
        struct sweep s;
        memset(&s, 0xa5, sizeof(s));
        CHECK_INT(load(bad[i], &s, &dl), -1);
        CHECK(dl.count >= 1);
        CHECK(s.doc == NULL && s.stages == NULL && s.file == NULL && s.n_stages == 0);
        diag_free(&dl);
    }
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
    TEST(test_x_keys_at_the_top_are_ignored);
    TEST(test_stage_order);
    TEST(test_contract_built);
    TEST(test_contract_with_anchors);
    TEST(test_sources);
    TEST(test_url_sources);
    TEST(test_fields_and_render);
    TEST(test_normalized_spellings);
    TEST(test_aliases_are_canonical);
    TEST(test_slurm_resources_merge);
    TEST(test_slurm_resources_unset);
    TEST(test_slurm_normalized);
    TEST(test_slurm_refused);
    TEST(test_slurm_not_in_spec);
    TEST(test_slurm_equal);
    TEST(test_refused_file_is_released);
    TEST(test_diag_list_keeps_earlier_messages);
    return test_report();
}
