/*
 * jinja.h - a Jinja2 subset, enough for the chat templates of Hugging Face
 * models (Llama 3.x, Qwen2.5, Qwen3, Gemma 3, SmolLM2, Mistral), rendered as
 * transformers' apply_chat_template does: trim_blocks and lstrip_blocks on, a
 * single trailing newline of the template dropped, undefined variables falsy and
 * printed as "".
 *
 * Supported: {{ }}, {% if/elif/else %}, {% for a[, b] in X [if C] %} with
 * loop.index/index0/first/last/length/revindex/revindex0/previtem/nextitem and
 * {% else %}, {% break %}, {% continue %}, {% set x = ... %}, {% set ns.a = ... %},
 * {% set x %}...{% endset %}, {% macro %} (positional and keyword arguments with
 * defaults), {# #}, whitespace control; literals, lists, dicts, tuples, ~ + - *
 * / // % **, comparisons, and/or/not, in/not in, is [not] TEST, a if c else b,
 * attributes, subscripts and slices, the string/dict methods, filters and tests
 * listed in jinja_eval.c, raise_exception(), namespace(), range(), dict() and
 * strftime_now() (see below).
 * Anything else is an error "LINE:COL: ..." at parse time, never a silent
 * difference.
 *
 * Known difference from jinja2: tuples ((1, 2), the pairs of items()) are lists,
 * so printing one gives [1, 2] where Python gives (1, 2); unpacking, indexing,
 * `in` and tojson are the same. No chat template prints a tuple.
 *
 * strftime_now(FMT): the current local time formatted by strftime, unless the
 * render variable "strftime_now" is a string: then that string is returned
 * whatever FMT is (tests and reproducible renders set it).
 *
 * Errors follow common/: 0/-1 with a message appended to a strbuf; nothing is
 * printed, nothing exits.
 */
#ifndef MAINLINE_JINJA_H
#define MAINLINE_JINJA_H

#include <jansson.h>

#include "strbuf.h"

struct jinja_template;

/*
 * Parse `text` (NUL-terminated). Returns a template the caller owns and releases
 * with jinja_free(), or NULL with "LINE:COL: message" appended to err.
 */
struct jinja_template *jinja_parse(const char *text, struct strbuf *err);

/*
 * Render t with the variables of `vars` (a JSON object, borrowed; NULL: none),
 * appending the text to out. -1 with a message (raise_exception's own text, or
 * "LINE:COL: ..." for a runtime error) appended to err; out may then hold part
 * of the text.
 */
int jinja_render(const struct jinja_template *t, const json_t *vars, struct strbuf *out,
                 struct strbuf *err);

void jinja_free(struct jinja_template *t);   /* accepts NULL */

/*
 * Python's json.dumps(v, ensure_ascii=False, indent=indent) (indent < 0: None),
 * which is what the tojson of transformers' template environment writes: ", " and
 * ": " separators without indent, "," and ": " with it, keys in their order.
 * Appended to out.
 */
void jinja_tojson(const json_t *v, int indent, struct strbuf *out);

#endif
