/*
 * canon_json.h - one canonical text for a JSON value, so equal content hashes equal.
 *
 * Canonical = compact, object keys sorted, non-ASCII kept as UTF-8, reals with 15
 * significant digits: every decimal a person writes (3e-4, 0.0001, 1.5e-5) reads
 * back as the same double, and 3e-5 stays "3e-05" instead of 17 digits of noise.
 * Two reals that differ only beyond 15 digits canonicalize alike; that is fine
 * for specs and params, which is what this is for.
 */
#ifndef MAINLINE_CANON_JSON_H
#define MAINLINE_CANON_JSON_H

#include <jansson.h>

#include "digest.h"

/* Canonical text of v. Caller frees. */
char *json_canon(const json_t *v);
/* sha256 of json_canon(v) as hex into out. */
void json_canon_sha256(const json_t *v, char out[SHA256_HEX_LEN + 1]);

#endif
