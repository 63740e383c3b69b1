/* render.c - dataset rows -> prompt + completion text (see render.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chat_template.h"
#include "digest.h"
#include "jinja.h"
#include "render.h"

int render_template_parse(const char *name)
{
    if (!strcmp(name, "plain"))
        return TEMPLATE_PLAIN;
    if (!strcmp(name, "chatml"))
        return TEMPLATE_CHATML;
    if (!strcmp(name, "llama2"))
        return TEMPLATE_LLAMA2;
    if (!strcmp(name, "chat"))
        return TEMPLATE_CHAT;
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
    const json_t *vars = json_object_get(r, "vars");
    if (!json_is_object(r) || (sys && !json_is_null(sys) && !json_is_string(sys)) ||
        (vars && !json_is_null(vars) && !json_is_object(vars))) {
        sb_adds(err, "render: must be {\"system\": TEXT or null, \"template\": NAME, "
                     "\"vars\": {...}}");
        return -1;
    }
    if (t && !json_is_null(t)) {
        int k = json_is_string(t) ? render_template_parse(json_string_value(t)) : -1;
        if (k < 0) {
            sb_adds(err, "render.template: must be one of plain, chatml, llama2, chat");
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
    return t == TEMPLATE_CHATML ? "chatml" : t == TEMPLATE_LLAMA2 ? "llama2"
           : t == TEMPLATE_CHAT ? "chat" : "plain";
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

/* The index of the last assistant message, or the number of messages. */
static size_t last_assistant(const json_t *msgs)
{
    for (size_t i = json_array_size(msgs); i-- > 0;) {
        const char *role = str_field(json_array_get(msgs, i), "role");
        if (role && !strcmp(role, "assistant"))
            return i;
    }
    return json_array_size(msgs);
}

static int render_messages(const json_t *msgs, const struct render_contract *rc,
                           int need_completion, struct strbuf *prompt, struct strbuf *completion,
                           struct strbuf *err)
{
    size_t n = json_array_size(msgs), last = last_assistant(msgs);
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

/* ---- the model's own chat template ---- */

int render_writes_own_frame(const struct render_contract *rc)
{
    return rc && rc->tmpl == TEMPLATE_CHAT;
}

int render_chat_load(const json_t *render_cfg, const char *model_path, struct render_chat *out,
                     struct strbuf *err)
{
    memset(out, 0, sizeof(*out));
    struct strbuf dir = STRBUF_INIT;
    struct stat st;
    sb_adds(&dir, model_path);
    if (stat(model_path, &st) == 0 && !S_ISDIR(st.st_mode)) {
        char *slash = strrchr(dir.buf, '/');
        if (slash)
            *slash = 0;
        else
            sb_reset(&dir), sb_adds(&dir, ".");
    }
    json_t *tc = NULL;
    const char *text = NULL;
    struct strbuf why = STRBUF_INIT;
    int rc = -1;
    if (chat_config_load(dir.buf, &tc, &why) < 0 || !(text = chat_template_text(tc, &why))) {
        sb_addf(err, "render.template chat: %s", why.buf);
        goto out;
    }
    sha256_hex(text, strlen(text), out->sha256);
    const char *want = json_string_value(json_object_get(render_cfg, "chat_template_sha256"));
    if (want && strcmp(want, out->sha256)) {
        sb_addf(err, "render.template chat: %s/tokenizer_config.json: the chat template has "
                "sha256 %s, not %s as planned", dir.buf, out->sha256, want);
        goto out;
    }
    out->tmpl = jinja_parse(text, &why);
    if (!out->tmpl) {
        sb_addf(err, "render.template chat: %s/tokenizer_config.json: chat_template: %s",
                dir.buf, why.buf);
        goto out;
    }
    out->vars = chat_template_vars(tc, NULL, NULL, 0, json_object_get(render_cfg, "vars"));
    rc = 0;
out:
    if (rc < 0)
        render_chat_free(out);
    json_decref(tc);
    sb_free(&why);
    sb_free(&dir);
    return rc;
}

void render_chat_free(struct render_chat *c)
{
    jinja_free(c->tmpl);
    json_decref(c->vars);
    memset(c, 0, sizeof(*c));
}

/* The template over msgs[0..n) (a new array is made), appended to out. */
static int chat_apply(const struct render_chat *ch, const json_t *msgs, size_t n, int add_gen,
                      struct strbuf *out, struct strbuf *err)
{
    json_t *vars = json_deep_copy(ch->vars), *part = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(part, json_array_get(msgs, i));
    json_object_set_new(vars, "messages", part);
    json_object_set_new(vars, "add_generation_prompt", json_boolean(add_gen));
    struct strbuf why = STRBUF_INIT;
    int rc = jinja_render(ch->tmpl, vars, out, &why);
    if (rc < 0)
        sb_addf(err, "chat_template: %s", why.buf);
    sb_free(&why);
    json_decref(vars);
    return rc;
}

/* A row's conversation as messages (a new reference), render.system first when
 * it has no system message; NULL for a text row (completion only). */
static json_t *chat_messages(const json_t *row, const struct render_contract *rc,
                             int need_completion, struct strbuf *err)
{
    const json_t *given = json_object_get(row, "messages");
    json_t *msgs;
    if (json_is_array(given) && !(rc->fields && rc->fields->prompt)) {
        msgs = json_copy((json_t *)given);
    } else {
        const char *user, *answer;
        if (rc->fields && rc->fields->prompt) {
            if (mapped_turn(row, rc->fields, &user, &answer, err) < 0)
                return NULL;
        } else {
            single_turn(row, &user, &answer);
        }
        if (!user) {
            if (!str_field(row, "text"))
                sb_adds(err, "the row has none of: messages, prompt/completion, problem/"
                             "generated_solution, question/answer, text");
            return NULL;
        }
        if (!answer && need_completion) {
            sb_adds(err, "the row has a prompt but no completion to learn from");
            return NULL;
        }
        msgs = json_pack("[{s:s,s:s}]", "role", "user", "content", user);
        if (answer)
            json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "assistant",
                                                  "content", answer));
    }
    const char *first = str_field(json_array_get(msgs, 0), "role");
    if (rc->system && !(first && !strcmp(first, "system")))
        json_array_insert_new(msgs, 0, json_pack("{s:s,s:s}", "role", "system", "content",
                                                 rc->system));
    return msgs;
}

static int render_chat_row(const json_t *row, const struct render_contract *rc,
                           int need_completion, struct strbuf *prompt,
                           struct strbuf *completion, struct strbuf *err)
{
    if (!rc->chat) {
        sb_adds(err, "render.template chat: the model's chat template is not loaded here (only "
                     "the built-in trainer and evaluator load it)");
        return -1;
    }
    json_t *msgs = chat_messages(row, rc, need_completion, err);
    if (!msgs) {
        if (err->len)
            return -1;
        sb_adds(completion, str_field(row, "text"));   /* a text row: no conversation */
        return 0;
    }
    size_t n = json_array_size(msgs), last = last_assistant(msgs);
    int rcode = -1;
    if (last == n && need_completion) {
        sb_adds(err, "\"messages\" has no assistant message to learn from");
        goto out;
    }
    size_t p0 = prompt->len;
    if (chat_apply(rc->chat, msgs, last, 1, prompt, err) < 0)
        goto out;
    if (last < n) {
        struct strbuf full = STRBUF_INIT;
        size_t plen = prompt->len - p0;
        if (chat_apply(rc->chat, msgs, last + 1, 0, &full, err) < 0) {
            sb_free(&full);
            goto out;
        }
        if (full.len < plen || (plen && memcmp(full.buf, prompt->buf + p0, plen))) {
            sb_adds(err, "the chat template's rendering of the conversation does not start "
                         "with its rendering of the prompt (add_generation_prompt), so the "
                         "completion cannot be cut from it");
            sb_free(&full);
            goto out;
        }
        sb_adds(completion, sb_str(&full) + plen);
        sb_free(&full);
    }
    rcode = 0;
out:
    json_decref(msgs);
    return rcode;
}

int render_row(const json_t *row, const struct render_contract *rc, int need_completion,
               struct strbuf *prompt, struct strbuf *completion, struct strbuf *err)
{
    if (!json_is_object(row)) {
        sb_adds(err, "a row must be a JSON object");
        return -1;
    }
    if (rc->tmpl == TEMPLATE_CHAT)
        return render_chat_row(row, rc, need_completion, prompt, completion, err);
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
