/* render.c - dataset rows -> prompt + completion text (see render.h). */
#include <stdlib.h>
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

const char *render_template_name(enum render_template t)
{
    return t == TEMPLATE_CHATML ? "chatml" : t == TEMPLATE_LLAMA2 ? "llama2" : "plain";
}

static const char *str_field(const json_t *row, const char *key)
{
    return json_string_value(json_object_get(row, key));
}

/* row[name] as a string; -1 with a message naming the mapping when it is not. */
static int mapped_field(const json_t *row, const char *name, const char *what,
                        const char **out, struct strbuf *err)
{
    *out = str_field(row, name);
    if (*out)
        return 0;
    sb_addf(err, "the row has no string \"%s\" (fields.%s)", name, what);
    return -1;
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

/* A row with mapped fields: prompt always, completion when mapped. */
static int mapped_turn(const json_t *row, const struct render_fields *f, const char **user,
                       const char **answer, struct strbuf *err)
{
    *answer = NULL;
    if (mapped_field(row, f->prompt, "prompt", user, err) < 0)
        return -1;
    return f->completion ? mapped_field(row, f->completion, "completion", answer, err) : 0;
}

int render_row(const json_t *row, const struct render_contract *rc, int need_completion,
               struct strbuf *prompt, struct strbuf *completion, struct strbuf *err)
{
    if (!json_is_object(row)) {
        sb_adds(err, "a row must be a JSON object");
        return -1;
    }
    const char *user, *answer;
    if (rc->fields && rc->fields->prompt) {
        if (mapped_turn(row, rc->fields, &user, &answer, err) < 0)
            return -1;
        if (!answer && need_completion) {
            sb_adds(err, "fields.completion is not set: nothing to learn from");
            return -1;
        }
        goto render;
    }
    const json_t *msgs = json_object_get(row, "messages");
    if (json_is_array(msgs))
        return render_messages(msgs, rc, need_completion, prompt, completion, err);
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
render:
    open_prompt(prompt, rc, 0);
    add_turn(prompt, rc->tmpl, "user", user);
    close_prompt(prompt, rc);
    if (answer) {
        sb_adds(completion, answer);
        close_completion(completion, rc);
    }
    return 0;
}

/* ---- the raw parts, for the data checks ---- */

static void chat_parts(const json_t *msgs, const char **problem, const char **completion)
{
    for (size_t i = json_array_size(msgs); i-- > 0;) {
        const json_t *m = json_array_get(msgs, i);
        const char *role = str_field(m, "role");
        if (!role)
            continue;
        if (!*completion && !*problem && !strcmp(role, "assistant"))
            *completion = str_field(m, "content");
        else if (!*problem && !strcmp(role, "user"))
            *problem = str_field(m, "content");
    }
}

int render_parts(const json_t *row, const struct render_fields *f, const char **problem,
                 const char **completion, struct strbuf *err)
{
    *problem = *completion = NULL;
    if (!json_is_object(row)) {
        sb_adds(err, "a row must be a JSON object");
        return -1;
    }
    if (f && f->prompt)
        return mapped_turn(row, f, problem, completion, err);
    const json_t *msgs = json_object_get(row, "messages");
    if (json_is_array(msgs)) {
        chat_parts(msgs, problem, completion);
        return 0;
    }
    single_turn(row, problem, completion);
    if (!*problem)
        *completion = str_field(row, "text");
    return 0;
}

const char *render_answer(const json_t *row, const struct render_fields *f)
{
    return str_field(row, f && f->answer ? f->answer : "expected_answer");
}

const char *render_source(const json_t *row, const struct render_fields *f)
{
    return str_field(row, f && f->source ? f->source : "problem_source");
}

char **render_field_slot(struct render_fields *f, int i)
{
    char **slots[RENDER_N_FIELDS] = { &f->prompt, &f->completion, &f->answer, &f->source,
                                      &f->id };
    return slots[i];
}

int render_fields_from_json(const json_t *obj, struct render_fields *f, struct strbuf *err)
{
    static const char *const keys[] = RENDER_FIELD_KEYS;
    memset(f, 0, sizeof(*f));
    if (!obj || json_is_null(obj))
        return 0;
    if (!json_is_object(obj)) {
        sb_adds(err, "fields: must be an object of field names");
        return -1;
    }
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int i = 0;
        while (i < RENDER_N_FIELDS && strcmp(keys[i], key))
            i++;
        if (i == RENDER_N_FIELDS || !json_is_string(v)) {
            sb_addf(err, "fields.%s: %s", key, i == RENDER_N_FIELDS ? "unknown (one of prompt, "
                    "completion, answer, source, id)" : "must be a field name");
            render_fields_free(f);
            return -1;
        }
        *render_field_slot(f, i) = xstrdup(json_string_value(v));
    }
    return 0;
}

json_t *render_fields_json(const struct render_fields *f)
{
    static const char *const keys[] = RENDER_FIELD_KEYS;
    json_t *obj = json_object();
    for (int i = 0; i < RENDER_N_FIELDS; i++) {
        char *name = *render_field_slot((struct render_fields *)f, i);
        if (name)
            json_object_set_new(obj, keys[i], json_string(name));
    }
    return obj;
}

void render_fields_free(struct render_fields *f)
{
    for (int i = 0; i < RENDER_N_FIELDS; i++)
        free(*render_field_slot(f, i));
    memset(f, 0, sizeof(*f));
}

int render_dataset_fields(const json_t *config, const char *name, struct render_fields *f,
                          struct strbuf *err)
{
    const json_t *ds = json_object_get(json_object_get(config, "datasets"), name);
    struct strbuf why = STRBUF_INIT;
    int rc = render_fields_from_json(json_object_get(ds, "fields"), f, &why);
    if (rc < 0)
        sb_addf(err, "datasets.%s.%s", name, why.buf);
    sb_free(&why);
    return rc;
}
