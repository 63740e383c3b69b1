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
 */
#ifndef MAINLINE_RENDER_H
#define MAINLINE_RENDER_H

#include <jansson.h>

#include "strbuf.h"

enum render_template {
    TEMPLATE_PLAIN,    /* [system "\n\n"] user "\n"  ->  completion */
    TEMPLATE_CHATML,   /* <|im_start|>role\n...<|im_end|>, completion ends in <|im_end|> */
    TEMPLATE_LLAMA2,   /* [INST] <<SYS>>\n...\n<</SYS>>\n\nuser [/INST] */
};

struct render_contract {
    const char *system;             /* NULL: no system prompt */
    enum render_template tmpl;
};

/* "plain", "chatml", "llama2" -> template; -1 when unknown. */
int render_template_parse(const char *name);

/*
 * The "render" object of a job's config.json, {"system": TEXT or null, "template":
 * NAME}, absent or null for the defaults (no system prompt, plain): fills *tmpl and
 * *system (a malloc'd copy the caller frees, NULL for none). -1 with a message in
 * err when it has another shape.
 */
int render_config_parse(const json_t *r, enum render_template *tmpl, char **system,
                        struct strbuf *err);

/*
 * Render `row` into prompt and completion (appended). A row with nothing to learn
 * from (no completion) is an error: -1 with a message naming what was missing.
 * `need_completion` 0 allows prompt-only rows (evaluation of a question).
 */
int render_row(const json_t *row, const struct render_contract *rc, int need_completion,
               struct strbuf *prompt, struct strbuf *completion, struct strbuf *err);

#endif
