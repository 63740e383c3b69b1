/*
 * render.h - the prompt contract: how one dataset row becomes the text a model
 * sees (prompt) and the text it must produce (completion). The trainer, the
 * evaluator and the data checks all call this one function, so training and
 * evaluation cannot drift apart.
 *
 * Row shapes understood (first match wins):
 *   {"messages": [{"role": "system"|"user"|"assistant", "content": ...}, ...]}
 *       the last assistant message is the completion, the rest the prompt
 *   {"prompt": ..., "completion": ...}
 *   {"problem": ..., "generated_solution" | "solution": ...}     (OpenMathInstruct-2)
 *   {"question": ..., "answer": ...}                              (GSM8K)
 *   {"text": ...}                                                 completion only
 *
 * A dataset may instead name its fields (the sweep's `fields:`): then the prompt
 * is row[fields.prompt] and the completion row[fields.completion], and a row
 * without them is an error naming the field. `answer`, `source` and `id` name the
 * stated answer, the source label and the row's id for the data checks; unnamed,
 * they default to "expected_answer", "problem_source" and none.
 *
 * Ownership: struct render_fields owns its strings (render_fields_free());
 * render_row() and the accessors borrow the row and return pointers into it.
 */
#ifndef MAINLINE_RENDER_H
#define MAINLINE_RENDER_H

#include <jansson.h>

#include "strbuf.h"

enum render_template {
    TEMPLATE_PLAIN,    /* [system "\n\n"] user "\n"  ->  completion */
    TEMPLATE_CHATML,   /* <|im_start|>role\n...<|im_end|>, completion ends in <|im_end|> */
    TEMPLATE_LLAMA2,   /* [INST] <<SYS>>\n...\n<</SYS>>\n\nuser [/INST] */
    TEMPLATE_CHAT,     /* the model's own chat_template (tokenizer_config.json) */
};

/*
 * The model's own chat template, loaded once (render_chat_load) for
 * TEMPLATE_CHAT. A row becomes its messages (a single-turn row a user and an
 * assistant message; render.system a system message first when the row has
 * none); prompt = the template over the messages before the last assistant
 * message with add_generation_prompt, completion = the template over all of them
 * up to that one, minus the prompt, which it must start with (how TRL finds the
 * assistant's tokens). Owns its members; render_chat_free() releases them.
 */
struct jinja_template;
struct render_chat {
    struct jinja_template *tmpl;
    json_t *vars;          /* the special tokens and render.vars */
    char sha256[65];       /* of the template text */
};

/* Field names of a dataset's rows; NULL: found by the row's shape (or default). */
struct render_fields {
    char *prompt, *completion, *answer, *source, *id;
};

#define RENDER_FIELD_KEYS { "prompt", "completion", "answer", "source", "id" }
#define RENDER_N_FIELDS 5

struct render_contract {
    const char *system;             /* NULL: no system prompt */
    enum render_template tmpl;
    const struct render_fields *fields;   /* NULL: every field by the row's shape */
    const struct render_chat *chat;       /* TEMPLATE_CHAT's template; else NULL */
};

/* "plain", "chatml", "llama2", "chat" -> template; -1 when unknown. */
int render_template_parse(const char *name);

/*
 * The "render" object of a job's config.json, {"system": TEXT or null, "template":
 * NAME, "vars": {...} (chat only)}, absent or null for the defaults (no system
 * prompt, plain): fills *tmpl and
 * *system (a malloc'd copy the caller frees, NULL for none). -1 with a message in
 * err when it has another shape.
 */
int render_config_parse(const json_t *r, enum render_template *tmpl, char **system,
                        struct strbuf *err);

/* 1 when the rendered text carries its own BOS and turn ends (TEMPLATE_CHAT: the
 * model's template writes them), so the tokens are not framed again; rc may be NULL. */
int render_writes_own_frame(const struct render_contract *rc);

/*
 * Render `row` into prompt and completion (appended). A row with nothing to learn
 * from (no completion) is an error: -1 with a message naming what was missing.
 * `need_completion` 0 allows prompt-only rows (evaluation of a question).
 */
int render_row(const json_t *row, const struct render_contract *rc, int need_completion,
               struct strbuf *prompt, struct strbuf *completion, struct strbuf *err);

/*
 * For TEMPLATE_CHAT: the chat template of the model at model_path (a model
 * directory, or a file in it: its tokenizer_config.json), with the variables of
 * render_cfg.vars (the job config's "render"). When render_cfg has
 * "chat_template_sha256", the template must have that hash. -1 with a message.
 */
int render_chat_load(const json_t *render_cfg, const char *model_path, struct render_chat *out,
                     struct strbuf *err);
void render_chat_free(struct render_chat *c);   /* accepts a zeroed struct */

/* The names of render_template values ("plain"...). */
const char *render_template_name(enum render_template t);

/*
 * The raw texts of a row before any template: the user's problem and the
 * completion (the last user message and the last assistant message of a chat).
 * Either may come back NULL (a text row has no problem; a question no
 * completion). -1 with a message when a mapped field is missing or not a string.
 */
int render_parts(const json_t *row, const struct render_fields *f, const char **problem,
                 const char **completion, struct strbuf *err);

/* The stated answer and the source label of a row, or NULL. */
const char *render_answer(const json_t *row, const struct render_fields *f);
const char *render_source(const json_t *row, const struct render_fields *f);

/* Member i (0..RENDER_N_FIELDS-1, in RENDER_FIELD_KEYS order) of f. */
char **render_field_slot(struct render_fields *f, int i);

/* {"prompt": NAME, ...} -> f (strings copied). -1 with a message for anything but
 * an object of known keys with string values. */
int render_fields_from_json(const json_t *obj, struct render_fields *f, struct strbuf *err);
/* f as a JSON object of the names that are set (a new reference). */
json_t *render_fields_json(const struct render_fields *f);
void render_fields_free(struct render_fields *f);   /* accepts a zeroed struct */

/* A job config's datasets.NAME.fields (docs/protocol.md) -> f; absent: every field
 * by the row's shape. -1 with "datasets.NAME.fields..." in err when it is invalid. */
int render_dataset_fields(const json_t *config, const char *name, struct render_fields *f,
                          struct strbuf *err);

#endif
