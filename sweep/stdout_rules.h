/*
 * stdout_rules.h - turning a trainer's printed lines into protocol events: the
 * `parse_stdout` rules of a sweep (a regex, the event it stands for, the field each
 * capture group fills) and the presets for trainers our users run (`mlx-lm`).
 *
 * One regex flavour: PCRE2 (Perl/Python syntax: \d, \s, (?:...), (?P<name>...) and
 * (?<name>...)), matched against each line without its newline. Every rule whose
 * pattern matches a line gives one event, so one line may give several (mlx-lm's
 * train line gives a train and a memory event). A captured text that reads as a
 * number is a number (`step` an integer); any other is a string.
 */
#ifndef MAINLINE_STDOUT_RULES_H
#define MAINLINE_STDOUT_RULES_H

#include <stddef.h>

#include <jansson.h>

#include "strbuf.h"

struct stdout_rules;

/* Compile rules (a JSON array of {pattern, event, fields}, fields one name per
 * capture group; a pattern whose groups are all named may leave fields out).
 * NULL when rules is NULL or empty; NULL with *err naming the rule on a bad one.
 * Free with stdout_rules_free(). */
struct stdout_rules *stdout_rules_compile(const json_t *rules, struct strbuf *err);
void stdout_rules_free(struct stdout_rules *r);

/* The events one line stands for: a new JSON array, empty when no rule matches. */
json_t *stdout_rules_match(const struct stdout_rules *r, const char *line);

/*
 * Check one pattern as stdout_rules_compile() would, for the sweep loader: 0, or -1
 * with the message in *err and *offset the byte of the pattern it points at. The
 * capture groups must be n_fields, or (n_fields 0) all named; *groups gets their
 * names (a new JSON array of strings, NULL for unnamed ones) when not NULL.
 */
int stdout_pattern_check(const char *pattern, size_t n_fields, json_t **groups,
                         struct strbuf *err, size_t *offset);

/* The rules of a preset by name ("mlx-lm"): a new JSON array, or NULL when there is no
 * such preset. stdout_preset_names: the names, NULL-terminated. */
json_t *stdout_preset(const char *name);
extern const char *const stdout_preset_names[];

#endif
