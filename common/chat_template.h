/*
 * chat_template.h - a Hugging Face model's own chat template: the `chat_template`
 * of its tokenizer_config.json rendered by the Jinja subset (jinja.h) with the
 * variables transformers' apply_chat_template passes: messages, tools (none when
 * absent), documents (none), add_generation_prompt, continue_final_message
 * (false), the special tokens of the config (bos_token, eos_token, unk_token,
 * pad_token, sep_token, cls_token, mask_token, additional_special_tokens; each a
 * string or {"content": ...}), then the caller's extra variables over them all.
 *
 * Errors follow common/: 0/-1 (or NULL) with a message appended to err.
 */
#ifndef MAINLINE_CHAT_TEMPLATE_H
#define MAINLINE_CHAT_TEMPLATE_H

#include <jansson.h>

#include "strbuf.h"

/*
 * Read PATH/tokenizer_config.json, or PATH itself when it is a file: *tc is a new
 * reference the caller json_decref()s.
 */
int chat_config_load(const char *path, json_t **tc, struct strbuf *err);

/* The template text of a tokenizer_config.json object: `chat_template` as a string,
 * or the one named "default" of the [{name, template}] form. Borrowed from tc;
 * NULL with a message when there is none. */
const char *chat_template_text(const json_t *tc, struct strbuf *err);

/* The render variables (a new reference): see above. tools, extra: borrowed,
 * NULL for none. */
json_t *chat_template_vars(const json_t *tc, const json_t *messages, const json_t *tools,
                           int add_generation_prompt, const json_t *extra);

/* Parse `tmpl` and render it with vars, appending to out. -1 with "chat_template:
 * LINE:COL: ..." or the template's raise_exception message in err. */
int chat_template_render(const char *tmpl, const json_t *vars, struct strbuf *out,
                         struct strbuf *err);

#endif
