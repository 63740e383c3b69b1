/* render.c - dataset rows -> prompt + completion text (see render.h). */
#include <string.h>

#include "render.h"

int render_template_parse(const char *name)
{
    if (!strcmp(name, "plain"))
        return TEMPLATE_PLAIN;
    if (!strcmp(name, "chatml"))
        return TEMPLATE_CHATML;
    if (!strcmp(name, "llama2"))
        return TEMPLATE_LLAMA2;
    return -1;
}

int render_config_parse(const json_t *r, enum render_template *tmpl, char **system,
                        struct strbuf *err)
{
    *tmpl = TEMPLATE_PLAIN;
    *system = NULL;
    if (!r || json_is_null(r))
        return 0;
    const json_t *sys = json_object_get(r, "system"), *t = json_object_get(r, "template");
    if (!json_is_object(r) || (sys && !json_is_null(sys) && !json_is_string(sys))) {
        sb_adds(err, "render: must be {\"system\": TEXT or null, \"template\": NAME}");
        return -1;
    }
    if (t && !json_is_null(t)) {
        int k = json_is_string(t) ? render_template_parse(json_string_value(t)) : -1;
        if (k < 0) {
            sb_adds(err, "render.template: must be one of plain, chatml, llama2");
            return -1;
        }
        *tmpl = (enum render_template)k;
    }
    if (json_is_string(sys))
        *system = xstrdup(json_string_value(sys));
    return 0;
}

static const char *str_field(const json_t *row, const char *key)
{
    return json_string_value(json_object_get(row, key));
}

/* One turn of the conversation in the template's form. */
static void add_turn(struct strbuf *sb, enum render_template t, const char *role,
                     const char *content)
{
    switch (t) {
    case TEMPLATE_CHATML:
        sb_addf(sb, "<|im_start|>%s\n%s<|im_end|>\n", role, content);
        break;
    case TEMPLATE_LLAMA2:
        if (!strcmp(role, "system"))
            sb_addf(sb, "<<SYS>>\n%s\n<</SYS>>\n\n", content);
        else if (!strcmp(role, "user"))
            sb_addf(sb, "%s [/INST] ", content);
        else
            sb_addf(sb, "%s [INST] ", content);
        break;
    default:
        if (!strcmp(role, "system"))
            sb_addf(sb, "%s\n\n", content);
        else
            sb_addf(sb, "%s\n", content);
    }
}

static void open_prompt(struct strbuf *p, const struct render_contract *rc, int has_system)
{
    if (rc->tmpl == TEMPLATE_LLAMA2)
        sb_adds(p, "[INST] ");
    if (rc->system && !has_system)
        add_turn(p, rc->tmpl, "system", rc->system);
}

static void close_prompt(struct strbuf *p, const struct render_contract *rc)
{
    if (rc->tmpl == TEMPLATE_CHATML)
        sb_adds(p, "<|im_start|>assistant\n");
}

static void close_completion(struct strbuf *c, const struct render_contract *rc)
{
    if (rc->tmpl == TEMPLATE_CHATML)
        sb_adds(c, "<|im_end|>");
}

static int render_messages(const json_t *msgs, const struct render_contract *rc,
                           int need_completion, struct strbuf *prompt, struct strbuf *completion,
                           struct strbuf *err)
{
    size_t n = json_array_size(msgs), last = n;
    for (size_t i = n; i-- > 0;) {
        const char *role = str_field(json_array_get(msgs, i), "role");
        if (role && !strcmp(role, "assistant")) {
            last = i;
            break;
        }
    }
    if (last == n && need_completion) {
        sb_adds(err, "\"messages\" has no assistant message to learn from");
        return -1;
    }
    int has_system = n && !strcmp(str_field(json_array_get(msgs, 0), "role") ?: "", "system");
    open_prompt(prompt, rc, has_system);
    for (size_t i = 0; i < n && i < last; i++) {
        const json_t *m = json_array_get(msgs, i);
        const char *role = str_field(m, "role"), *content = str_field(m, "content");
        if (!role || !content) {
            sb_addf(err, "message %zu needs string \"role\" and \"content\"", i);
            return -1;
        }
        add_turn(prompt, rc->tmpl, role, content);
    }
    close_prompt(prompt, rc);
    if (last < n) {
        const char *content = str_field(json_array_get(msgs, last), "content");
        if (!content) {
            sb_addf(err, "message %zu needs a string \"content\"", last);
            return -1;
        }
        sb_adds(completion, content);
        close_completion(completion, rc);
    }
    return 0;
}

/* The user text and the completion of a single-turn row. */
static void single_turn(const json_t *row, const char **user, const char **answer)
{
    static const char *const pairs[][2] = {
        { "prompt", "completion" },
        { "problem", "generated_solution" },
        { "problem", "solution" },
        { "question", "answer" },
    };
    *user = *answer = NULL;
    /* The first pair present in full; else the first prompt field (no answer). */
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]) && !*answer; i++) {
        const char *u = str_field(row, pairs[i][0]);
        if (!*user)
            *user = u;
        if (u && str_field(row, pairs[i][1])) {
            *user = u;
            *answer = str_field(row, pairs[i][1]);
        }
    }
}

int render_row(const json_t *row, const struct render_contract *rc, int need_completion,
               struct strbuf *prompt, struct strbuf *completion, struct strbuf *err)
{
    if (!json_is_object(row)) {
        sb_adds(err, "a row must be a JSON object");
        return -1;
    }
    const json_t *msgs = json_object_get(row, "messages");
    if (json_is_array(msgs))
        return render_messages(msgs, rc, need_completion, prompt, completion, err);
    const char *user, *answer;
    single_turn(row, &user, &answer);
    if (!user) {
        const char *text = str_field(row, "text");
        if (!text) {
            sb_adds(err, "the row has none of: messages, prompt/completion, problem/"
                         "generated_solution, question/answer, text");
            return -1;
        }
        sb_adds(completion, text);
        return 0;
    }
    if (!answer && need_completion) {
        sb_adds(err, "the row has a prompt but no completion to learn from");
        return -1;
    }
    open_prompt(prompt, rc, 0);
    add_turn(prompt, rc->tmpl, "user", user);
    close_prompt(prompt, rc);
    if (answer) {
        sb_adds(completion, answer);
        close_completion(completion, rc);
    }
    return 0;
}
