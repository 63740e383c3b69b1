/*
 * sweep_source.c - a dataset or base-model location in a sweep: a path or URL,
 * a pin, an archive member. From YAML to normalized JSON (the form run params
 * keep), and from that JSON to a struct sweep_source (see sweep.h).
 *
 * Normalized JSON: {"path": P} or {"url": U}, plus "member" and "sha256" (lower
 * case) when given. A string with a scheme is a URL and "#M" at its end names
 * member M; a plain path keeps any '#' as part of the file name.
 */
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "fsutil.h"
#include "source_url.h"
#include "strbuf.h"
#include "suggest.h"
#include "sweep.h"
#include "sweep_params.h"

static const char *const source_keys[] = { "path", "url", "sha256", "member" };

#define N_SOURCE_KEYS (sizeof(source_keys) / sizeof(source_keys[0]))

/* A URL as written: split off the member, check the scheme and form. */
static int add_url(json_t *obj, const char *file, const char *key, const struct ynode *v,
                   struct diag_list *dl)
{
    char *url, *member;
    surl_split_member(v->str, &url, &member);
    struct surl u;
    struct strbuf err = STRBUF_INIT;
    int rc = surl_parse(url, NULL, &u, &err);
    if (rc < 0)
        diag_add(dl, file, v->line, v->col, "'%s': %s", key, err.buf);
    surl_free(&u);
    sb_free(&err);
    if (rc == 0) {
        json_object_set_new(obj, "url", json_string(url));
        if (member)
            json_object_set_new(obj, "member", json_string(member));
    }
    free(url);
    free(member);
    return rc;
}

static int add_pin(json_t *obj, const char *file, const char *key, const struct ynode *n,
                   const char *pin, struct diag_list *dl)
{
    if (!is_sha256_hex(pin)) {
        diag_add(dl, file, n->line, n->col, "'%s' sha256 pin '%s' is not 64 hex digits", key,
                 pin);
        return -1;
    }
    char lower[SHA256_HEX_LEN + 1];
    for (size_t i = 0; i <= SHA256_HEX_LEN; i++)
        lower[i] = (char)(pin[i] >= 'A' && pin[i] <= 'F' ? pin[i] - 'A' + 'a' : pin[i]);
    json_object_set_new(obj, "sha256", json_string(lower));
    return 0;
}

/* One key of the mapping form; -1 after a diagnostic. */
static int add_key(json_t *obj, const char *file, const char *key, const struct ynode *k,
                   const struct ynode *v, struct diag_list *dl)
{
    int is_sha = !strcmp(k->str, "sha256");
    if (!is_sha && !ynode_is_string(v)) {
        diag_add(dl, file, v->line, v->col, "'%s' must be a string", k->str);
        return -1;
    }
    if (is_sha && ynode_is_null(v))
        return 0;
    if (is_sha && v->kind != YNODE_SCALAR) {
        diag_add(dl, file, v->line, v->col, "'sha256' must be a string");
        return -1;
    }
    if (!strcmp(k->str, "url")) {
        if (!surl_has_scheme(v->str)) {
            diag_add(dl, file, v->line, v->col, "'%s': url '%s' has no scheme (file://, "
                     "http://, https://, hf://); a local file is 'path'", key, v->str);
            return -1;
        }
        return add_url(obj, file, key, v, dl);
    }
    if (is_sha)
        return 0;   /* checked last, at the mapping: the message names the source */
    json_object_set_new(obj, k->str, json_string(v->str));
    return 0;
}

static int check_member(json_t *obj, const char *file, const char *key, const struct ynode *n,
                        struct diag_list *dl)
{
    const char *member = json_string_value(json_object_get(obj, "member"));
    if (!member)
        return 0;
    const char *where = json_string_value(json_object_get(obj, "url"));
    if (!where)
        where = json_string_value(json_object_get(obj, "path"));
    struct strbuf err = STRBUF_INIT;
    int rc = 0;
    if (where && !surl_is_archive(where)) {
        diag_add(dl, file, n->line, n->col, "'%s' names member '%s' of '%s', which is not an "
                 "archive (.tar.gz, .tgz, .tar.zst, .tar.xz, .tar, .zip)", key, member, where);
        rc = -1;
    } else if (surl_check_relative(member, &err) < 0) {
        diag_add(dl, file, n->line, n->col, "'%s' member '%s': %s", key, member, err.buf);
        rc = -1;
    }
    sb_free(&err);
    return rc;
}

static json_t *source_mapping(const char *file, const char *key, const struct ynode *n,
                              struct diag_list *dl)
{
    json_t *obj = json_object();
    const struct ynode *pin = NULL;
    int ok = 1;
    for (size_t i = 0; i < n->n; i++) {
        const struct ynode *k = n->pairs[i].key, *v = n->pairs[i].value;
        int known = 0;
        for (size_t j = 0; j < N_SOURCE_KEYS; j++)
            known |= !strcmp(k->str, source_keys[j]);
        if (!known) {
            const char *near = closest_word(k->str, source_keys, N_SOURCE_KEYS);
            diag_add(dl, file, k->line, k->col, "unknown key '%s' in '%s'%s%s%s", k->str, key,
                     near ? " (did you mean '" : " (expected path, url, sha256, member)",
                     near ? near : "", near ? "'?)" : "");
            ok = 0;
            continue;
        }
        if (add_key(obj, file, key, k, v, dl) < 0)
            ok = 0;
        else if (!strcmp(k->str, "sha256") && !ynode_is_null(v))
            pin = v;
    }
    int has_path = json_object_get(obj, "path") != NULL;
    int has_url = json_object_get(obj, "url") != NULL;
    if (ok && has_path == has_url) {
        diag_add(dl, file, n->line, n->col, has_path ? "'%s' has both a 'path' and a 'url'"
                 : "'%s' needs a 'path' or a 'url'", key);
        ok = 0;
    }
    if (ok && pin && add_pin(obj, file, key, n, pin->str, dl) < 0)
        ok = 0;
    if (ok && check_member(obj, file, key, n, dl) < 0)
        ok = 0;
    if (!ok) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

json_t *sweep_source_value(const char *file, const char *key, const struct ynode *n,
                           struct diag_list *dl)
{
    if (ynode_is_string(n) && !surl_has_scheme(n->str))
        return json_pack("{s:s}", "path", n->str);
    if (ynode_is_string(n)) {
        json_t *obj = json_object();
        if (add_url(obj, file, key, n, dl) < 0 || check_member(obj, file, key, n, dl) < 0) {
            json_decref(obj);
            return NULL;
        }
        return obj;
    }
    if (n->kind == YNODE_MAP)
        return source_mapping(file, key, n, dl);
    if (n->kind == YNODE_SCALAR && n->len <= 40 && strlen(n->str) == n->len)
        diag_add(dl, file, n->line, n->col, "'%s' must be a path, a URL or {path or url, "
                 "sha256, member}, not '%s'", key, n->str);
    else
        diag_add(dl, file, n->line, n->col, "'%s' must be a path, a URL or {path or url, "
                 "sha256, member}, not %s", key, ynode_type_name(n));
    return NULL;
}

static char *dup_or_null(const json_t *v)
{
    return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

void sweep_source_from_json(const json_t *v, const char *dir, struct sweep_source *out)
{
    memset(out, 0, sizeof(*out));
    out->path = dup_or_null(json_object_get(v, "path"));
    out->url = dup_or_null(json_object_get(v, "url"));
    out->member = dup_or_null(json_object_get(v, "member"));
    out->sha256_pin = dup_or_null(json_object_get(v, "sha256"));
    if (out->path)
        out->resolved = path_join(dir, out->path);
}

char *sweep_source_text(const struct sweep_source *src)
{
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, src->url ? src->url : src->path);
    if (src->member)
        sb_addf(&sb, "#%s", src->member);
    return sb_detach(&sb);
}

void sweep_source_free(struct sweep_source *src)
{
    free(src->path);
    free(src->url);
    free(src->member);
    free(src->resolved);
    free(src->sha256_pin);
    memset(src, 0, sizeof(*src));
}
