/* chat_template.c - tokenizer_config.json's chat_template, rendered as transformers'
 * apply_chat_template does (chat_template.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chat_template.h"
#include "jinja.h"
#include "fsutil.h"

int chat_config_load(const char *path, json_t **tc, struct strbuf *err)
{
    struct stat st;
    struct strbuf file = STRBUF_INIT;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        sb_addf(&file, "%s/tokenizer_config.json", path);
    else
        sb_adds(&file, path);
    /* not json_file_load_object(): these files hold integers past 64 bits
     * (model_max_length 1e30 written out in full), read here as reals */
    char *data = NULL;
    size_t len = 0;
    json_error_t je;
    *tc = NULL;
    if (read_file(file.buf, &data, &len, err) == 0) {
        *tc = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &je);
        if (!*tc)
            sb_addf(err, "%s:%d:%d: %s", file.buf, je.line, je.column, je.text);
        else if (!json_is_object(*tc)) {
            sb_addf(err, "%s: not a JSON object", file.buf);
            json_decref(*tc);
            *tc = NULL;
        }
    }
    free(data);
    sb_free(&file);
    return *tc ? 0 : -1;
}

const char *chat_template_text(const json_t *tc, struct strbuf *err)
{
    const json_t *t = json_object_get(tc, "chat_template");
    if (json_is_string(t))
        return json_string_value(t);
    if (json_is_array(t)) {
        size_t i;
        const json_t *e;
        json_array_foreach(t, i, e) {
            const char *name = json_string_value(json_object_get(e, "name"));
            const char *text = json_string_value(json_object_get(e, "template"));
            if (name && text && !strcmp(name, "default"))
                return text;
        }
        sb_adds(err, "tokenizer_config.json: chat_template has no template named \"default\"");
        return NULL;
    }
    sb_adds(err, t ? "tokenizer_config.json: chat_template must be a string or a list of "
                     "{name, template}"
                   : "tokenizer_config.json has no chat_template");
    return NULL;
}

json_t *chat_template_vars(const json_t *tc, const json_t *messages, const json_t *tools,
                           int add_generation_prompt, const json_t *extra)
{
    static const char *const special[] = { "bos_token", "eos_token", "unk_token", "sep_token",
                                           "pad_token", "cls_token", "mask_token", NULL };
    json_t *v = json_object();
    for (size_t i = 0; special[i]; i++) {
        const json_t *t = json_object_get(tc, special[i]);
        if (json_is_object(t))
            t = json_object_get(t, "content");
        if (json_is_string(t))
            json_object_set(v, special[i], (json_t *)t);
    }
    const json_t *add = json_object_get(tc, "additional_special_tokens");
    if (json_is_array(add)) {
        json_t *list = json_array();
        size_t i;
        const json_t *e;
        json_array_foreach(add, i, e) {
            const json_t *s = json_is_object(e) ? json_object_get(e, "content") : e;
            if (json_is_string(s))
                json_array_append(list, (json_t *)s);
        }
        json_object_set_new(v, "additional_special_tokens", list);
    }
    json_object_set_new(v, "messages", messages ? json_incref((json_t *)messages) : json_array());
    json_object_set_new(v, "tools", tools ? json_incref((json_t *)tools) : json_null());
    json_object_set_new(v, "documents", json_null());
    json_object_set_new(v, "add_generation_prompt", json_boolean(add_generation_prompt));
    json_object_set_new(v, "continue_final_message", json_false());
    if (json_is_object(extra))
        json_object_update(v, (json_t *)extra);
    return v;
}

int chat_template_render(const char *tmpl, const json_t *vars, struct strbuf *out,
                         struct strbuf *err)
{
    struct strbuf why = STRBUF_INIT;
    struct jinja_template *t = jinja_parse(tmpl, &why);
    int rc = t ? jinja_render(t, vars, out, &why) : -1;
    if (rc < 0)
        sb_addf(err, "chat_template: %s", why.buf);
    jinja_free(t);
    sb_free(&why);
    return rc;
}
