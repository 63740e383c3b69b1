/* json_file.c - a whole file as one JSON object (see json_file.h). */
#include <stdlib.h>

#include "fsutil.h"
#include "json_file.h"

enum json_file_status json_file_load_object(const char *path, json_t **out, struct strbuf *err)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    if (read_file(path, &text, &len, err) < 0)
        return JSON_FILE_UNREADABLE;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!root) {
        sb_addf(err, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return JSON_FILE_BAD;
    }
    if (!json_is_object(root)) {
        sb_addf(err, "%s: not a JSON object", path);
        json_decref(root);
        return JSON_FILE_BAD;
    }
    *out = root;
    return JSON_FILE_OK;
}
