/*
 * test_trainer_config.c - config.json -> struct train_config: the defaults, the
 * normalized forms of sweep_params.c, and an exact message naming the key for
 * each kind of bad value; an unreadable file is told apart from a bad one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train_config.h"
#include "lora.h"
#include "testhelp.h"
#include "trainable.h"

#define INPUTS "\"base_model\": {\"path\": \"/m/model.safetensors\"}, " \
               "\"datasets\": {\"train\": {\"path\": \"train.jsonl\"}}"

/* Parse the JSON in text (released here) as a job config; the status, the message
 * in err. */
static enum config_status parse_text(struct strbuf *text, struct train_config *c,
                                     struct strbuf *err)
{
    json_error_t je;
    json_t *root = json_loads(text->buf, 0, &je);
    sb_free(text);
    if (!root) {
        fprintf(stderr, "  bad test JSON: %s\n", je.text);
        return CONFIG_UNREADABLE;
    }
    sb_reset(err);
    enum config_status st = train_config_parse(root, "/runs/r1", c, err);
    json_decref(root);
    return st;
}

/* Parse `{INPUTS, "params": {params}}`. */
static enum config_status parse(const char *params, struct train_config *c, struct strbuf *err)
{
    struct strbuf text = STRBUF_INIT;
    sb_addf(&text, "{" INPUTS ", \"params\": {%s}}", params);
    return parse_text(&text, c, err);
}

typedef enum config_status (*parse_fn)(const char *params, struct train_config *c,
                                       struct strbuf *err);

/* The message for params, which fn must refuse. */
static void check_refused_by(parse_fn fn, const char *params, const char *want)
{
    struct train_config c;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(fn(params, &c, &err), CONFIG_BAD);
    CHECK_STR(err.buf, want);
    train_config_free(&c);
    sb_free(&err);
}

static void check_refused(const char *params, const char *want)
{
    check_refused_by(parse, params, want);
}

static void test_defaults(void)
{
    struct train_config c;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(parse("", &c, &err), CONFIG_OK);
    CHECK_STR(c.base_model, "/m/model.safetensors");
    CHECK_STR(c.train_path, "/runs/r1/train.jsonl");   /* relative: beside config.json */
    CHECK(c.valid_path == NULL);
    CHECK_INT(c.adapter, ADAPTER_LORA);
    CHECK_INT(c.rank, 8);
    CHECK_NEAR(c.alpha, 16, 0);
    CHECK_INT(c.targets, LORA_TARGET(TK_WQ) | LORA_TARGET(TK_WV));
    CHECK(c.layers.all);
    CHECK_NEAR(c.lr, 1e-4, 0);
    CHECK_NEAR(c.min_lr, 0, 0);
    CHECK_INT(c.epochs, 1);
    CHECK_INT(c.max_steps, 0);
    CHECK_INT(c.batch_size, 8);
    CHECK_INT(c.micro_batch_size, 8);
    CHECK_NEAR(c.beta1, 0.9, 0);
    CHECK_NEAR(c.beta2, 0.999, 0);
    CHECK_NEAR(c.eps, 1e-8, 0);
    CHECK_NEAR(c.grad_clip, 1.0, 0);
    CHECK_NEAR(c.weight_decay, 0, 0);
    CHECK_INT(c.schedule, SCHED_COSINE);
    CHECK_INT(c.keep, KEEP_BEST_LAST);
    CHECK_INT(c.report_every, 10);
    CHECK_INT(c.n_eval_at, 2);
    CHECK_INT(c.eval_at[0].kind, EVAL_EPOCH);
    CHECK_INT(c.eval_at[1].kind, EVAL_END);
    CHECK_INT(c.tmpl, TEMPLATE_PLAIN);
    CHECK(c.render_system == NULL);
    CHECK(c.params_sha256 && strlen(c.params_sha256) == 64);
    train_config_free(&c);
    sb_free(&err);
}

static void test_values_and_forms(void)
{
    struct train_config c;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(parse("\"learning_rate\": 0.0003, \"r\": 4, \"targets\": [\"all-linear\"], "
                    "\"layers\": {\"last\": 1}, \"eval_at\": [10, \"epoch\", {\"every\": 5}, "
                    "\"end\"], \"batch_size\": 4, \"micro_batch_size\": 16, \"max_steps\": 7, "
                    "\"keep\": \"all\", \"lr_schedule\": \"linear\", \"condition\": \"c\", "
                    "\"x_anything\": {\"a\": 1}, \"seed\": 3",
                    &c, &err), CONFIG_OK);
    CHECK_NEAR(c.lr, 3e-4, 0);
    CHECK_INT(c.rank, 4);
    CHECK_INT(c.targets, LORA_TARGETS_ALL_LINEAR);
    CHECK_INT(c.layers.last, 1);
    CHECK_INT(c.n_eval_at, 4);
    CHECK_INT(c.eval_at[0].kind, EVAL_STEP);
    CHECK_INT(c.eval_at[0].n, 10);
    CHECK_INT(c.eval_at[2].kind, EVAL_EVERY);
    CHECK_INT(c.eval_at[2].n, 5);
    CHECK_INT(c.micro_batch_size, 4);   /* never more than the batch */
    CHECK_INT(c.epochs, 0);             /* only max_steps: as many epochs as it takes */
    CHECK_INT(c.max_steps, 7);
    CHECK_INT(c.keep, KEEP_ALL);
    CHECK_INT(c.schedule, SCHED_LINEAR);
    CHECK_INT(c.seed, 3);
    train_config_free(&c);

    CHECK_INT(parse("\"train\": [\"norm\", {\"blocks\": {\"last\": 1}}], \"epochs\": 2, "
                    "\"max_steps\": 5, \"layers\": [0, 2]", &c, &err), CONFIG_OK);
    CHECK_INT(c.adapter, ADAPTER_NONE);   /* train: parts without adapter: no LoRA */
    CHECK_INT(c.parts, TRAIN_NORM | TRAIN_BLOCKS);
    CHECK_INT(c.blocks.last, 1);
    CHECK_INT(c.epochs, 2);
    CHECK_INT(c.layers.n, 2);
    CHECK_INT(c.layers.idx[1], 2);
    train_config_free(&c);

    CHECK_INT(parse("\"full\": true, \"adapter\": \"none\"", &c, &err), CONFIG_OK);
    CHECK(c.full);
    train_config_free(&c);
    sb_free(&err);
}

static void test_same_params_same_digest(void)
{
    struct train_config a, b;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(parse("\"lr\": 0.001, \"rank\": 4", &a, &err), CONFIG_OK);
    CHECK_INT(parse("\"rank\": 4, \"learning_rate\": 0.001", &b, &err), CONFIG_OK);
    CHECK_STR(a.params_sha256, b.params_sha256);
    train_config_free(&b);
    CHECK_INT(parse("\"rank\": 4, \"lr\": 0.002", &b, &err), CONFIG_OK);
    CHECK(strcmp(a.params_sha256, b.params_sha256) != 0);
    train_config_free(&a);
    train_config_free(&b);
    sb_free(&err);
}

static void test_errors(void)
{
    check_refused("\"rank\": 0", "params.rank: must be an integer >= 1, not 0");
    check_refused("\"rank\": \"eight\"", "params.rank: must be an integer >= 1, not \"eight\"");
    check_refused("\"rnak\": 8", "params.rnak: unknown parameter (did you mean 'rank'?)");
    check_refused("\"lr\": 0", "params.lr: must be a number > 0, not 0");
    check_refused("\"dropout\": 1.0", "params.dropout: must be a number in [0, 1), not 1.0");
    check_refused("\"targets\": [\"q_proj\", \"qkv\"]",
                  "params.targets: must be a list of q_proj, k_proj, v_proj, o_proj, gate_proj, "
                  "up_proj, down_proj or all-linear, not \"qkv\"");
    check_refused("\"layers\": {\"last\": 0}",
                  "params.layers: must be \"all\", {\"last\": N} or a list of layer indices >= 0, "
                  "not {\"last\":0}");
    check_refused("\"eval_at\": [0]",
                  "params.eval_at: must be a step >= 1, \"epoch\", \"end\" or {\"every\": K}, "
                  "not 0");
    check_refused("\"adapter\": \"none\"",
                  "params.adapter: none trains nothing: set full: true or train: [...]");
    check_refused("\"adapter\": \"qlora\"",
                  "params.adapter: must be one of lora, none, not \"qlora\"");
    check_refused("\"train\": [\"heads\"]",
                  "params.train: must be norm, lm_head, embeddings or {\"blocks\": LAYERS}, "
                  "not \"heads\"");
    check_refused("\"lr\": 0.001, \"min_lr\": 0.01",
                  "params.min_lr: must not exceed lr (0.01 > 0.001)");
    check_refused("\"lr\": 0.001, \"learning_rate\": 0.002",
                  "params.lr: set twice ('learning_rate' is another name for it)");
    check_refused("\"objective\": \"dpo\"", "params.objective: must be one of sft, not \"dpo\"");
    check_refused("\"full\": \"yes\"", "params.full: must be true or false, not \"yes\"");
    check_refused("\"keep\": \"first\"",
                  "params.keep: must be one of all, last, best, best+last, not \"first\"");
}

static void test_inputs(void)
{
    struct train_config c;
    struct strbuf err = STRBUF_INIT;
    json_t *root = json_loads("{\"datasets\": {\"train\": {\"path\": \"t.jsonl\"}}}", 0, NULL);
    CHECK_INT(train_config_parse(root, ".", &c, &err), CONFIG_BAD);
    CHECK_STR(err.buf, "base_model.path: missing (a string naming the file)");
    json_decref(root);
    train_config_free(&c);
    sb_reset(&err);
    root = json_loads("{\"base_model\": {\"path\": \"m\"}, \"datasets\": {\"train\": {\"path\": "
                      "\"t\"}, \"valid\": {\"path\": \"/v.jsonl\"}}, \"render\": {\"system\": "
                      "\"Be brief.\", \"template\": \"chatml\"}}", 0, NULL);
    CHECK_INT(train_config_parse(root, "/d", &c, &err), CONFIG_OK);
    CHECK_STR(c.valid_path, "/v.jsonl");
    CHECK_STR(c.render_system, "Be brief.");
    CHECK_INT(c.tmpl, TEMPLATE_CHATML);
    CHECK(c.train_fields.prompt == NULL);
    json_decref(root);
    train_config_free(&c);
    /* a dataset's field mapping reaches the trainer */
    root = json_loads("{\"base_model\": {\"path\": \"m\"}, \"datasets\": {\"train\": {\"path\": "
                      "\"t\", \"fields\": {\"prompt\": \"q\", \"completion\": \"a\"}}, "
                      "\"valid\": {\"path\": \"v\", \"fields\": {\"prompt\": \"x\"}}}}", 0, NULL);
    CHECK_INT(train_config_parse(root, "/d", &c, &err), CONFIG_OK);
    CHECK_STR(c.train_fields.prompt, "q");
    CHECK_STR(c.train_fields.completion, "a");
    CHECK_STR(c.valid_fields.prompt, "x");
    json_decref(root);
    train_config_free(&c);
    root = json_loads("{\"base_model\": {\"path\": \"m\"}, \"datasets\": {\"train\": {\"path\": "
                      "\"t\", \"fields\": {\"prompt\": 3}}}}", 0, NULL);
    CHECK_INT(train_config_parse(root, "/d", &c, &err), CONFIG_BAD);
    CHECK_STR(err.buf, "datasets.train.fields.prompt: must be a field name");
    json_decref(root);
    train_config_free(&c);
    sb_free(&err);
}

#define RANDOM_INPUTS "\"datasets\": {\"train\": {\"path\": \"corpus.jsonl\"}}"
#define ARCH "\"dim\": 64, \"n_layers\": 2, \"n_heads\": 4, \"hidden_dim\": 128, " \
             "\"max_seq_len\": 256"

/* Parse `{RANDOM_INPUTS, "params": {"init": "random", params}}` (no base_model). */
static enum config_status parse_random(const char *params, struct train_config *c,
                                       struct strbuf *err)
{
    struct strbuf text = STRBUF_INIT;
    sb_addf(&text, "{" RANDOM_INPUTS ", \"params\": {\"init\": \"random\"%s%s}}",
            *params ? ", " : "", params);
    return parse_text(&text, c, err);
}

static void check_random_refused(const char *params, const char *want)
{
    check_refused_by(parse_random, params, want);
}

static void test_random_init(void)
{
    struct train_config c;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(parse_random("\"model\": {" ARCH "}", &c, &err), CONFIG_OK);
    CHECK_INT(c.init, INIT_RANDOM);
    CHECK(c.base_model == NULL);
    CHECK(c.full);                          /* implied */
    CHECK_INT(c.adapter, ADAPTER_NONE);
    CHECK_INT(c.arch.dim, 64);
    CHECK_INT(c.arch.n_layers, 2);
    CHECK_INT(c.arch.n_heads, 4);
    CHECK_INT(c.arch.n_kv_heads, 4);        /* defaults to n_heads */
    CHECK_INT(c.arch.hidden_dim, 128);
    CHECK_INT(c.arch.max_seq_len, 256);
    CHECK_INT(c.arch.vocab_size, 260);
    CHECK_INT(c.arch.tied_embeddings, 1);
    CHECK_INT(c.arch.bos_id, 256);
    CHECK_INT(c.arch.eos_id, 257);
    CHECK_NEAR(c.arch.rope_theta, 10000, 0);
    CHECK_NEAR(c.arch.norm_eps, 1e-5, 1e-12);
    CHECK_NEAR(c.init_std, 0.02, 0);
    train_config_free(&c);
    CHECK_INT(parse_random("\"full\": true, \"adapter\": \"none\", \"model\": {" ARCH
                           ", \"n_kv_heads\": 2, \"tied\": false, \"vocab_size\": 300, "
                           "\"rope_theta\": 500, \"norm_eps\": 1e-6, \"init_std\": 0.05}",
                           &c, &err), CONFIG_OK);
    CHECK_INT(c.arch.n_kv_heads, 2);
    CHECK_INT(c.arch.tied_embeddings, 0);
    CHECK_INT(c.arch.vocab_size, 300);
    CHECK_NEAR(c.arch.rope_theta, 500, 0);
    CHECK_NEAR(c.init_std, 0.05, 0);
    train_config_free(&c);
    sb_free(&err);
}

static void test_random_init_errors(void)
{
    check_random_refused("", "params.model: missing: init: random builds the model it describes "
                         "({dim, n_layers, n_heads, hidden_dim, max_seq_len, ...})");
    check_random_refused("\"model\": 128",
                         "params.model: must be an object {dim, n_layers, n_heads, ...}, not 128");
    check_random_refused("\"model\": {\"dim\": 64}",
                         "params.model.n_layers: missing (an integer >= 1)");
    check_random_refused("\"model\": {" ARCH ", \"n_layer\": 2}",
                         "params.model.n_layer: unknown key (did you mean 'n_layers'?)");
    check_random_refused("\"model\": {" ARCH ", \"activation\": 1}",
                         "params.model.activation: unknown key");
    check_random_refused("\"model\": {\"dim\": 0, \"n_layers\": 2, \"n_heads\": 4, "
                         "\"hidden_dim\": 128, \"max_seq_len\": 256}",
                         "params.model.dim: must be an integer >= 1, not 0");
    check_random_refused("\"model\": {\"dim\": 66, \"n_layers\": 2, \"n_heads\": 4, "
                         "\"hidden_dim\": 128, \"max_seq_len\": 256}",
                         "params.model: dim must be a multiple of n_heads");
    check_random_refused("\"model\": {" ARCH ", \"vocab_size\": 256}",
                         "params.model.vocab_size: must be an integer >= 259, not 256");
    check_random_refused("\"model\": {" ARCH ", \"tied\": 1}",
                         "params.model.tied: must be true or false, not 1");
    check_random_refused("\"model\": {" ARCH ", \"init_std\": 0}",
                         "params.model.init_std: must be a number > 0, not 0");
    check_random_refused("\"model\": {" ARCH "}, \"adapter\": \"lora\"",
                         "params.adapter: must be none with init: random (it trains every "
                         "weight), not \"lora\"");
    check_random_refused("\"model\": {" ARCH "}, \"full\": false",
                         "params.full: init: random trains every weight: leave full out or set "
                         "it true");
    check_random_refused("\"model\": {" ARCH "}, \"train\": [\"norm\"]",
                         "params.train: init: random trains every weight, not a part of them");
    check_random_refused("\"init\": \"scratch\"",
                         "params.init: must be one of pretrained, random, not \"scratch\"");
    check_refused("\"model\": {" ARCH "}",
                  "params.model: only with init: random (a pretrained model has its own config)");
    /* a random model and a base model: which one is meant? */
    struct train_config c;
    struct strbuf err = STRBUF_INIT;
    json_t *root = json_loads("{\"base_model\": {\"path\": \"m\"}, " RANDOM_INPUTS ", "
                              "\"params\": {\"init\": \"random\", \"model\": {" ARCH "}}}",
                              0, NULL);
    CHECK_INT(train_config_parse(root, ".", &c, &err), CONFIG_BAD);
    CHECK_STR(err.buf, "base_model: not used with params.init: random (the model is built from "
              "params.model): remove one of them");
    json_decref(root);
    train_config_free(&c);
    sb_free(&err);
}

static void test_files(void)
{
    struct train_config c;
    struct strbuf err = STRBUF_INIT;
    CHECK_INT(train_config_load("/nonexistent/config.json", &c, &err), CONFIG_UNREADABLE);
    train_config_free(&c);
    char path[] = "/tmp/test_trainer_config.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, "{\"params\": {", 12) == 12);
    close(fd);
    sb_reset(&err);
    CHECK_INT(train_config_load(path, &c, &err), CONFIG_BAD);
    CHECK(strstr(err.buf, path) == err.buf);   /* the message names the file first */
    train_config_free(&c);
    unlink(path);
    sb_free(&err);
}

int main(void)
{
    TEST(test_defaults);
    TEST(test_values_and_forms);
    TEST(test_same_params_same_digest);
    TEST(test_errors);
    TEST(test_inputs);
    TEST(test_random_init);
    TEST(test_random_init_errors);
    TEST(test_files);
    return test_report();
}
