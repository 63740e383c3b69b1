/* model_export.c - a base model + checkpoint as hf, gguf or ollama (see model_export.h). */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "export.h"
#include "fsutil.h"
#include "gguf_read.h"
#include "model_export.h"
#include "model_io.h"
#include "weights.h"

#define OLLAMA_GGUF "model.gguf"
#define OLLAMA_MODELFILE "Modelfile"

int export_format_parse(const char *name)
{
    return !strcmp(name, "hf") ? EXPORT_HF : !strcmp(name, "gguf") ? EXPORT_GGUF
         : !strcmp(name, "ollama") ? EXPORT_OLLAMA : -1;
}

/* ---- the Modelfile ---- */

/* s as one Modelfile value: "..." or, when it holds a quote, a newline or spaces at
 * its ends, """...""" (Ollama's parser takes quoted text as it is: no escapes). */
static int mf_quote(struct strbuf *out, const char *what, const char *s, struct strbuf *err)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f) {
            sb_addf(err, "the %s holds the control character 0x%02x, which a Modelfile "
                    "cannot carry", what, *p);
            return -1;
        }
    if (strstr(s, "\"\"\"")) {
        sb_addf(err, "the %s holds \"\"\", which a Modelfile cannot carry", what);
        return -1;
    }
    size_t n = strlen(s);
    int triple = strchr(s, '"') || strchr(s, '\n') || strchr(s, '\t') ||
                 (n && (s[0] == ' ' || s[n - 1] == ' '));
    sb_adds(out, triple ? "\"\"\"" : "\"");
    sb_adds(out, s);
    sb_adds(out, triple ? "\"\"\"" : "\"");
    return 0;
}

/* The render contract's prompt for one user turn, as a Go template. */
static void mf_template(struct strbuf *t, enum render_template tmpl)
{
    switch (tmpl) {
    case TEMPLATE_CHATML:
        sb_adds(t, "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
                   "<|im_start|>user\n{{ .Prompt }}<|im_end|>\n<|im_start|>assistant\n");
        break;
    case TEMPLATE_LLAMA2:
        sb_adds(t, "[INST] {{ if .System }}<<SYS>>\n{{ .System }}\n<</SYS>>\n\n{{ end }}"
                   "{{ .Prompt }} [/INST] ");
        break;
    default:
        sb_adds(t, "{{ if .System }}{{ .System }}\n\n{{ end }}{{ .Prompt }}\n");
    }
}

int export_modelfile(const struct export_prompting *p, const char *gguf_file, int num_ctx,
                     const char *header, struct strbuf *out, struct strbuf *err)
{
    static const struct export_prompting plain = { TEMPLATE_PLAIN, NULL, NULL, 0, 0 };
    struct strbuf tmpl = STRBUF_INIT;
    if (!p)
        p = &plain;
    if (header)
        sb_addf(out, "# %s\n", header);
    sb_addf(out, "# the rendering contract: template %s, %s system prompt\n",
            render_template_name(p->tmpl), p->system ? "a" : "no");
    sb_addf(out, "FROM ./%s\n", gguf_file);
    mf_template(&tmpl, p->tmpl);
    sb_adds(out, "TEMPLATE ");
    int rc = mf_quote(out, "template", tmpl.buf, err);
    sb_addc(out, '\n');
    if (rc == 0 && p->system) {
        sb_adds(out, "SYSTEM ");
        rc = mf_quote(out, "system prompt", p->system, err);
        sb_addc(out, '\n');
    }
    sb_adds(out, "PARAMETER temperature 0\n");
    if (p->max_new_tokens > 0)
        sb_addf(out, "PARAMETER num_predict %d\n", p->max_new_tokens);
    if (num_ctx > 0)
        sb_addf(out, "PARAMETER num_ctx %d\n", num_ctx);
    if (p->tmpl == TEMPLATE_CHATML)
        sb_adds(out, "PARAMETER stop \"<|im_end|>\"\n");
    for (size_t i = 0; rc == 0 && i < p->n_stop; i++) {
        if (p->tmpl == TEMPLATE_CHATML && !strcmp(p->stop[i], "<|im_end|>"))
            continue;
        sb_adds(out, "PARAMETER stop ");
        rc = mf_quote(out, "stop string", p->stop[i], err);
        sb_addc(out, '\n');
    }
    sb_free(&tmpl);
    return rc;
}

/* ---- the chat template (tokenizer.chat_template) ---- */

int export_chat_template(const struct export_prompting *p, struct strbuf *out,
                         struct strbuf *err)
{
    const char *sys = p->system;
    if (sys && (strstr(sys, "{{") || strstr(sys, "{%") || strstr(sys, "{#"))) {
        sb_adds(err, "the system prompt holds {{, {% or {#, which a Jinja chat template "
                "would read as its own syntax");
        return -1;
    }
    const char *no_system = "{% if messages[0]['role'] != 'system' %}";
    const char *loop = "{% for message in messages %}";
    switch (p->tmpl) {
    case TEMPLATE_CHATML:
        if (sys)
            sb_addf(out, "%s<|im_start|>system\n%s<|im_end|>\n{%% endif %%}", no_system, sys);
        sb_addf(out, "%s<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
                "{%% endfor %%}{%% if add_generation_prompt %%}<|im_start|>assistant\n"
                "{%% endif %%}", loop);
        break;
    case TEMPLATE_LLAMA2:
        sb_adds(out, "[INST] ");
        if (sys)
            sb_addf(out, "%s<<SYS>>\n%s\n<</SYS>>\n\n{%% endif %%}", no_system, sys);
        sb_addf(out, "%s{%% if message['role'] == 'system' %%}<<SYS>>\n{{ message['content'] }}"
                "\n<</SYS>>\n\n{%% elif message['role'] == 'user' %%}{{ message['content'] }} "
                "[/INST] {%% else %%}{{ message['content'] }} [INST] {%% endif %%}"
                "{%% endfor %%}", loop);
        break;
    default:
        if (sys)
            sb_addf(out, "%s%s\n\n{%% endif %%}", no_system, sys);
        sb_addf(out, "%s{%% if message['role'] == 'system' %%}{{ message['content'] }}\n\n"
                "{%% else %%}{{ message['content'] }}\n{%% endif %%}{%% endfor %%}", loop);
    }
    return 0;
}

/* ---- writing ---- */

static int refuse_existing(const char *out, struct strbuf *err)
{
    struct stat st;
    if (lstat(out, &st) == 0) {
        sb_addf(err, "'%s' already exists (an export writes a new file or directory; remove "
                "it or choose another)", out);
        return -1;
    }
    return 0;
}

/* Bytes of a file, or of the plain files of a directory. */
static unsigned long long disk_bytes(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return (unsigned long long)st.st_size;
    unsigned long long total = 0;
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *p = path_join(path, e->d_name);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            total += (unsigned long long)st.st_size;
        free(p);
    }
    if (d)
        closedir(d);
    return total;
}

/* config.json's "chat_template" of a Hugging Face base model, or NULL (caller frees). */
static char *chat_template_of(const char *extras_json)
{
    json_t *o = extras_json ? json_loads(extras_json, 0, NULL) : NULL;
    const char *t = json_string_value(json_object_get(o, "chat_template"));
    char *copy = t ? xstrdup(t) : NULL;
    json_decref(o);
    return copy;
}

static int write_hf(const struct export_request *rq, const struct model *m,
                    const struct tokenizer *tok, const char *extras, struct strbuf *err)
{
    char *src = tok->kind == TOKENIZER_LLAMA2C
                    ? tokenizer_file_for_model(rq->base_model, m->cfg.vocab_size) : NULL;
    if (tok->kind == TOKENIZER_LLAMA2C && !src) {
        sb_addf(err, "cannot find the tokenizer file of '%s'", rq->base_model);
        return -1;
    }
    const char *name = src ? strrchr(src, '/') : NULL;
    struct strbuf tmp = STRBUF_INIT;
    sb_addf(&tmp, "%s.tmp.%ld", rq->out, (long)getpid());
    int rc = export_model_dir(rq->out, tmp.buf, m, extras, src,
                              name ? name + 1 : src, err);
    sb_free(&tmp);
    free(src);
    return rc;
}

static int write_ollama(const struct export_request *rq, const struct model *m,
                        const struct tokenizer *tok, const struct gguf_options *go,
                        struct gguf_info *info, struct strbuf *err)
{
    struct strbuf tmp = STRBUF_INIT, mf = STRBUF_INIT, header = STRBUF_INIT;
    sb_addf(&tmp, "%s.tmp.%ld", rq->out, (long)getpid());
    char *gguf = path_join(tmp.buf, OLLAMA_GGUF), *mfpath = path_join(tmp.buf, OLLAMA_MODELFILE);
    sb_addf(&header, "written by mainline export: %s (%s)", rq->name ? rq->name : "a model",
            quant_name(rq->quant));
    remove_flat_dir(tmp.buf);
    int rc = export_modelfile(rq->prompting, OLLAMA_GGUF, m->cfg.max_seq_len, header.buf, &mf,
                              err);
    if (rc == 0 && mkdir(tmp.buf, 0777) < 0) {
        sb_addf(err, "cannot create '%s': %s", tmp.buf, strerror(errno));
        rc = -1;
    }
    if (rc == 0)
        rc = gguf_write_model(gguf, m, tok, go, info, err);
    if (rc == 0)
        rc = write_file_atomic(mfpath, mf.buf, mf.len, err);
    if (rc == 0 && rename(tmp.buf, rq->out) < 0) {
        sb_addf(err, "cannot rename '%s' to '%s': %s", tmp.buf, rq->out, strerror(errno));
        rc = -1;
    }
    if (rc == 0) {
        char *parent = path_dirname(rq->out);
        fsync_dir(parent);
        free(parent);
    } else {
        remove_flat_dir(tmp.buf);
    }
    free(gguf);
    free(mfpath);
    sb_free(&tmp);
    sb_free(&mf);
    sb_free(&header);
    return rc;
}

int model_export(const struct export_request *rq, struct export_result *res,
                 struct strbuf *err)
{
    memset(res, 0, sizeof(*res));
    double t0 = clock_now_s();
    if (refuse_existing(rq->out, err) < 0)
        return -1;
    if (gguf_is_file(rq->base_model)) {   /* read for evaluation only (gguf_read.h) */
        sb_addf(err, "'%s' is a GGUF file: mainline-eval reads GGUF, export does not; export "
                "from the Hugging Face or llama2.c model it came from", rq->base_model);
        return -1;
    }
    struct model m;
    struct tokenizer tok;
    char *extras = NULL, *chat = NULL;
    if (eval_weights_load(rq->base_model, rq->checkpoint, &m, &tok, err) < 0)
        return -1;
    int rc = model_config_extras(rq->base_model, &extras, err);
    if (rc == 0 && rq->format == EXPORT_HF) {
        quant_model_roundtrip(&m, rq->quant);
        rc = write_hf(rq, &m, &tok, extras, err);
    } else if (rc == 0) {
        struct strbuf jinja = STRBUF_INIT;
        if (rq->prompting)   /* how the sweep prompted it, over the base model's own */
            rc = export_chat_template(rq->prompting, &jinja, err);
        chat = rq->prompting ? sb_detach(&jinja) : chat_template_of(extras);
        sb_free(&jinja);
        struct gguf_options go = { rq->quant, rq->name, chat };
        if (rc == 0)
            rc = rq->format == EXPORT_GGUF ? gguf_write_model(rq->out, &m, &tok, &go, &res->gguf, err)
                                           : write_ollama(rq, &m, &tok, &go, &res->gguf, err);
    }
    if (rc == 0) {
        res->bytes = disk_bytes(rq->out);
        res->seconds = clock_now_s() - t0;
    }
    free(chat);
    free(extras);
    tokenizer_free(&tok);
    model_free(&m);
    return rc;
}
