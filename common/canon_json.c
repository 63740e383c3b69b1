/* canon_json.c - canonical JSON text and its digest (see canon_json.h). */
#include <stdlib.h>
#include <string.h>

#include "canon_json.h"
#include "error.h"

char *json_canon(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY |
                                JSON_REAL_PRECISION(15));
    if (!s)
        die_oom("serializing JSON");   /* json_dumps fails only to allocate */
    return s;
}

void json_canon_sha256(const json_t *v, char out[SHA256_HEX_LEN + 1])
{
    char *s = json_canon(v);
    sha256_hex(s, strlen(s), out);
    free(s);
}
