/* test_render.c - the prompt contract: rows of every shape, every template. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "render.h"
#include "testhelp.h"

static int render(const char *row_json, const char *system, enum render_template t,
                  int need, char **prompt, char **completion, char **err)
{
    json_t *row = json_loads(row_json, 0, NULL);
    struct render_contract rc = { system, t, NULL, NULL };
    struct strbuf p = STRBUF_INIT, c = STRBUF_INIT, e = STRBUF_INIT;
    int rcode = render_row(row, &rc, need, &p, &c, &e);
    *prompt = sb_detach(&p);
    *completion = sb_detach(&c);
    *err = sb_detach(&e);
    json_decref(row);
    return rcode;
}

#define EXPECT(row, sys, t, want_p, want_c) do { \
    char *p_, *c_, *e_; \
    CHECK_INT(render(row, sys, t, 1, &p_, &c_, &e_), 0); \
    CHECK_STR(p_, want_p); \
    CHECK_STR(c_, want_c); \
    free(p_); free(c_); free(e_); \
} while (0)

#define EXPECT_ERR(row, need, want) do { \
    char *p_, *c_, *e_; \
    CHECK_INT(render(row, NULL, TEMPLATE_PLAIN, need, &p_, &c_, &e_), -1); \
    CHECK_STR(e_, want); \
    free(p_); free(c_); free(e_); \
} while (0)

static void test_single_turn_shapes(void)
{
    EXPECT("{\"prompt\": \"2+2?\", \"completion\": \"4\"}", NULL, TEMPLATE_PLAIN, "2+2?\n", "4");
    EXPECT("{\"problem\": \"P\", \"generated_solution\": \"S \\\\boxed{1}\","
           " \"expected_answer\": \"1\"}", NULL, TEMPLATE_PLAIN, "P\n", "S \\boxed{1}");
    EXPECT("{\"problem\": \"P\", \"solution\": \"S\"}", NULL, TEMPLATE_PLAIN, "P\n", "S");
    EXPECT("{\"question\": \"Q\", \"answer\": \"A\\n#### 3\"}", NULL, TEMPLATE_PLAIN, "Q\n",
           "A\n#### 3");
    EXPECT("{\"text\": \"Once upon a time\"}", NULL, TEMPLATE_PLAIN, "", "Once upon a time");
}

static void test_system_and_templates(void)
{
    const char *row = "{\"prompt\": \"Q\", \"completion\": \"A\"}";
    EXPECT(row, "Be careful.", TEMPLATE_PLAIN, "Be careful.\n\nQ\n", "A");
    EXPECT(row, "Be careful.", TEMPLATE_CHATML,
           "<|im_start|>system\nBe careful.<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n"
           "<|im_start|>assistant\n", "A<|im_end|>");
    EXPECT(row, "Be careful.", TEMPLATE_LLAMA2,
           "[INST] <<SYS>>\nBe careful.\n<</SYS>>\n\nQ [/INST] ", "A");
    EXPECT(row, NULL, TEMPLATE_CHATML, "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n",
           "A<|im_end|>");
}

static void test_messages(void)
{
    const char *row = "{\"messages\": [{\"role\": \"system\", \"content\": \"S\"},"
                      " {\"role\": \"user\", \"content\": \"U\"},"
                      " {\"role\": \"assistant\", \"content\": \"A\"}]}";
    EXPECT(row, "ignored: the row has its own", TEMPLATE_CHATML,
           "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"
           "<|im_start|>assistant\n", "A<|im_end|>");
    EXPECT("{\"messages\": [{\"role\": \"user\", \"content\": \"U\"},"
           " {\"role\": \"assistant\", \"content\": \"A\"}]}", "Sys", TEMPLATE_PLAIN,
           "Sys\n\nU\n", "A");
}

static void test_errors(void)
{
    EXPECT_ERR("[1, 2]", 1, "a row must be a JSON object");
    EXPECT_ERR("{\"id\": 3}", 1, "the row has none of: messages, prompt/completion, "
               "problem/generated_solution, question/answer, text");
    EXPECT_ERR("{\"prompt\": \"Q\"}", 1, "the row has a prompt but no completion to learn "
               "from");
    EXPECT_ERR("{\"messages\": [{\"role\": \"user\", \"content\": \"U\"}]}", 1,
               "\"messages\" has no assistant message to learn from");
    EXPECT_ERR("{\"messages\": [{\"role\": \"user\"}, {\"role\": \"assistant\", "
               "\"content\": \"A\"}]}", 1, "message 0 needs string \"role\" and \"content\"");
    /* Evaluation renders questions without answers. */
    char *p, *c, *e;
    CHECK_INT(render("{\"prompt\": \"Q\"}", NULL, TEMPLATE_PLAIN, 0, &p, &c, &e), 0);
    CHECK_STR(p, "Q\n");
    CHECK_STR(c, "");
    free(p);
    free(c);
    free(e);
}

static void test_template_names(void)
{
    CHECK_INT(render_template_parse("plain"), TEMPLATE_PLAIN);
    CHECK_INT(render_template_parse("chatml"), TEMPLATE_CHATML);
    CHECK_INT(render_template_parse("llama2"), TEMPLATE_LLAMA2);
    CHECK_INT(render_template_parse("alpaca"), -1);
}

static int render_mapped(const char *row_json, const char *fields_json, int need,
                         struct strbuf *p, struct strbuf *c, struct strbuf *e)
{
    json_t *row = json_loads(row_json, 0, NULL), *fj = json_loads(fields_json, 0, NULL);
    struct render_fields f;
    CHECK_INT(render_fields_from_json(fj, &f, e), 0);
    struct render_contract rc = { "SYS", TEMPLATE_CHATML, &f, NULL };
    int rcode = render_row(row, &rc, need, p, c, e);
    render_fields_free(&f);
    json_decref(row);
    json_decref(fj);
    return rcode;
}

static void test_field_mapping(void)
{
    struct strbuf p = STRBUF_INIT, c = STRBUF_INIT, e = STRBUF_INIT;
    /* the mapping wins over the row's shape (here: prompt/completion present too) */
    CHECK_INT(render_mapped("{\"q\": \"Q\", \"s\": \"S\", \"prompt\": \"no\", "
                            "\"completion\": \"no\"}", "{\"prompt\": \"q\", "
                            "\"completion\": \"s\"}", 1, &p, &c, &e), 0);
    CHECK_STR(sb_str(&p), "<|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n"
                          "<|im_start|>assistant\n");
    CHECK_STR(sb_str(&c), "S<|im_end|>");
    sb_reset(&p);
    sb_reset(&c);
    CHECK_INT(render_mapped("{\"q\": \"Q\"}", "{\"prompt\": \"q\", \"completion\": \"s\"}",
                            1, &p, &c, &e), -1);
    CHECK_STR(sb_str(&e), "the row has no string \"s\" (fields.completion)");
    sb_reset(&e);
    CHECK_INT(render_mapped("{\"q\": 3}", "{\"prompt\": \"q\"}", 0, &p, &c, &e), -1);
    CHECK_STR(sb_str(&e), "the row has no string \"q\" (fields.prompt)");
    sb_reset(&e);
    CHECK_INT(render_mapped("{\"q\": \"Q\"}", "{\"prompt\": \"q\"}", 1, &p, &c, &e), -1);
    CHECK_STR(sb_str(&e), "fields.completion is not set: nothing to learn from");
    sb_reset(&e);
    sb_reset(&p);
    CHECK_INT(render_mapped("{\"q\": \"Q\"}", "{\"prompt\": \"q\"}", 0, &p, &c, &e), 0);
    CHECK_STR(sb_str(&c), "");
    sb_free(&p);
    sb_free(&c);
    sb_free(&e);
}

static void test_parts_and_accessors(void)
{
    struct strbuf e = STRBUF_INIT;
    const char *prob, *comp;
    json_t *row = json_loads("{\"problem\": \"P\", \"generated_solution\": \"S\", "
                             "\"expected_answer\": \"7\", \"problem_source\": \"gsm8k\", "
                             "\"ans\": \"8\"}", 0, NULL);
    CHECK_INT(render_parts(row, NULL, &prob, &comp, &e), 0);
    CHECK_STR(prob, "P");
    CHECK_STR(comp, "S");
    CHECK_STR(render_answer(row, NULL), "7");
    CHECK_STR(render_source(row, NULL), "gsm8k");
    struct render_fields f = { 0 };
    json_t *fj = json_pack("{s:s}", "answer", "ans");
    CHECK_INT(render_fields_from_json(fj, &f, &e), 0);
    CHECK_STR(render_answer(row, &f), "8");
    CHECK(render_source(row, &f) != NULL);
    render_fields_free(&f);
    json_decref(fj);
    json_decref(row);
    row = json_loads("{\"messages\": [{\"role\": \"user\", \"content\": \"U1\"}, "
                     "{\"role\": \"assistant\", \"content\": \"A1\"}, {\"role\": \"user\","
                     " \"content\": \"U2\"}, {\"role\": \"assistant\", \"content\": \"A2\"}]}",
                     0, NULL);
    CHECK_INT(render_parts(row, NULL, &prob, &comp, &e), 0);
    CHECK_STR(prob, "U2");
    CHECK_STR(comp, "A2");
    json_decref(row);
    row = json_loads("{\"text\": \"T\"}", 0, NULL);
    CHECK_INT(render_parts(row, NULL, &prob, &comp, &e), 0);
    CHECK(prob == NULL);
    CHECK_STR(comp, "T");
    json_decref(row);
    fj = json_pack("{s:s}", "promt", "x");
    CHECK_INT(render_fields_from_json(fj, &f, &e), -1);
    CHECK_STR(sb_str(&e), "fields.promt: unknown (one of prompt, completion, answer, source, id)");
    json_decref(fj);
    fj = json_pack("{s:s,s:s}", "prompt", "q", "id", "uid");
    CHECK_INT(render_fields_from_json(fj, &f, &e), 0);
    json_t *back = render_fields_json(&f);
    CHECK(json_equal(back, fj));
    json_decref(back);
    json_decref(fj);
    render_fields_free(&f);
    sb_free(&e);
}

/* render.template chat: the model's own template from a tokenizer_config.json. */
static void test_chat_template(void)
{
    char dir[] = "/tmp/test_render.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof(path), "%s/tokenizer_config.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"chat_template\": \"{{ bos_token }}{% for m in messages %}<{{ m.role }}>"
          "{{ m.content }}</>{% endfor %}{% if add_generation_prompt %}<assistant>{{ tag }}"
          "{% endif %}\", \"bos_token\": \"<s>\"}", f);
    fclose(f);
    json_t *cfg = json_loads("{\"template\": \"chat\", \"vars\": {\"tag\": \"\"}}", 0, NULL);
    struct render_chat chat;
    struct strbuf p = STRBUF_INIT, c = STRBUF_INIT, e = STRBUF_INIT;
    CHECK_INT(render_chat_load(cfg, dir, &chat, &e), 0);
    struct render_contract rc = { "SYS", TEMPLATE_CHAT, NULL, &chat };
    json_t *row = json_loads("{\"question\": \"Q\", \"answer\": \"A\"}", 0, NULL);
    CHECK_INT(render_row(row, &rc, 1, &p, &c, &e), 0);
    CHECK_STR(sb_str(&p), "<s><system>SYS</><user>Q</><assistant>");
    CHECK_STR(sb_str(&c), "A</>");
    json_decref(row);
    /* a chat row: its own system message wins; the last assistant turn is learned */
    row = json_loads("{\"messages\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": "
                     "\"user\", \"content\": \"u1\"}, {\"role\": \"assistant\", \"content\": "
                     "\"a1\"}, {\"role\": \"user\", \"content\": \"u2\"}, {\"role\": "
                     "\"assistant\", \"content\": \"a2\"}]}", 0, NULL);
    sb_reset(&p);
    sb_reset(&c);
    CHECK_INT(render_row(row, &rc, 1, &p, &c, &e), 0);
    CHECK_STR(sb_str(&p), "<s><system>S</><user>u1</><assistant>a1</><user>u2</><assistant>");
    CHECK_STR(sb_str(&c), "a2</>");
    render_chat_free(&chat);
    /* a generation prompt the conversation does not start with */
    json_object_set_new(json_object_get(cfg, "vars"), "tag", json_string("[think]"));
    CHECK_INT(render_chat_load(cfg, path, &chat, &e), 0);
    rc.chat = &chat;
    CHECK_INT(render_row(row, &rc, 1, &p, &c, &e), -1);
    CHECK(strstr(sb_str(&e), "does not start with its rendering of the prompt") != NULL);
    render_chat_free(&chat);
    /* a planned hash that is not the template's */
    json_object_set_new(cfg, "chat_template_sha256", json_string("00"));
    sb_reset(&e);
    CHECK_INT(render_chat_load(cfg, dir, &chat, &e), -1);
    CHECK(strstr(sb_str(&e), "not 00 as planned") != NULL);
    json_decref(row);
    json_decref(cfg);
    sb_free(&p);
    sb_free(&c);
    sb_free(&e);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    TEST(test_chat_template);
    TEST(test_single_turn_shapes);
    TEST(test_system_and_templates);
    TEST(test_messages);
    TEST(test_errors);
    TEST(test_template_names);
    TEST(test_field_mapping);
    TEST(test_parts_and_accessors);
    return test_report();
}
