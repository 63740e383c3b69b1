/*
 * json_file.h - reading a whole file as one JSON object: the job configs of the
 * trainer and the evaluator, and a model's config.json. Duplicate keys are
 * rejected (a config that says one thing twice is not trusted).
 *
 * Errors: JSON_FILE_UNREADABLE (the file cannot be read: read_file's message) or
 * JSON_FILE_BAD ("PATH:LINE:COL: what the parser says", or "PATH: not a JSON
 * object"), each with one message appended to *err. Nothing here prints or exits.
 *
 * Ownership: on JSON_FILE_OK *out holds a new reference the caller json_decref()s;
 * otherwise *out is NULL.
 */
#ifndef MAINLINE_JSON_FILE_H
#define MAINLINE_JSON_FILE_H

#include <jansson.h>

#include "strbuf.h"

enum json_file_status { JSON_FILE_OK, JSON_FILE_UNREADABLE, JSON_FILE_BAD };

enum json_file_status json_file_load_object(const char *path, json_t **out, struct strbuf *err);

#endif
