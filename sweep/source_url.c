/* source_url.c - local paths, URLs, hf:// resolution, archive members (see source_url.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "source_url.h"

int surl_has_scheme(const char *s)
{
    const char *p = s;
    while (isalpha((unsigned char)*p) || (p > s && (isdigit((unsigned char)*p) || *p == '+' ||
                                                    *p == '-' || *p == '.')))
        p++;
    return p > s && !strncmp(p, "://", 3);
}

void surl_split_member(const char *s, char **url, char **member)
{
    const char *hash = strchr(s, '#');
    *url = hash ? xstrndup(s, (size_t)(hash - s)) : xstrdup(s);
    *member = hash ? xstrdup(hash + 1) : NULL;
}

void surl_free(struct surl *u)
{
    free(u->fetch);
    free(u->name);
    memset(u, 0, sizeof(*u));
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int surl_is_archive(const char *name)
{
    static const char *const suffixes[] = { ".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".tar",
                                            ".zip" };
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
        if (ends_with(name, suffixes[i]))
            return 1;
    return 0;
}

int surl_check_relative(const char *path, struct strbuf *err)
{
    if (!*path) {
        sb_adds(err, "the path is empty");
        return -1;
    }
    if (path[0] == '/') {
        sb_adds(err, "absolute paths are refused");
        return -1;
    }
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && !strncmp(p, "..", 2)) {
            sb_adds(err, "'..' components are refused");
            return -1;
        }
        if (n == 0 && p[n] == '/') {
            sb_adds(err, "empty path components ('//') are refused");
            return -1;
        }
        p += n + (p[n] == '/');
    }
    return 0;
}

/* The last path component of a URL path, without query. */
static char *url_file_name(const char *path)
{
    size_t end = strcspn(path, "?");
    const char *slash = path;
    for (const char *p = path; p < path + end; p++)
        if (*p == '/')
            slash = p + 1;
    return xstrndup(slash, (size_t)(path + end - slash));
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* %XX decoding for file:// paths; NULL on a malformed escape or %00. */
static char *percent_decode(const char *s)
{
    struct strbuf sb = STRBUF_INIT;
    for (; *s; s++) {
        if (*s != '%') {
            sb_addc(&sb, *s);
            continue;
        }
        int hi = hexval((unsigned char)s[1]), lo = hi < 0 ? -1 : hexval((unsigned char)s[2]);
        if (lo < 0 || (hi == 0 && lo == 0)) {
            sb_free(&sb);
            return NULL;
        }
        sb_addc(&sb, (char)(hi * 16 + lo));
        s += 2;
    }
    return sb_detach(&sb);
}

/* Percent-encode everything but unreserved characters and those in `keep`. */
static void percent_encode(struct strbuf *sb, const char *s, size_t n, const char *keep)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || strchr(keep, c))
            sb_addc(sb, (char)c);
        else
            sb_addf(sb, "%%%02X", c);
    }
}

static int parse_file_url(const char *url, struct surl *out, struct strbuf *err)
{
    const char *rest = url + strlen("file://");
    if (starts_with(rest, "localhost/"))
        rest += strlen("localhost");
    if (rest[0] != '/') {
        sb_addf(err, "'%s': a file URL needs an absolute path (file:///path)", url);
        return -1;
    }
    char *path = percent_decode(rest);
    if (!path) {
        sb_addf(err, "'%s': malformed %%-escape", url);
        return -1;
    }
    out->kind = SURL_LOCAL;
    out->fetch = path;
    out->name = url_file_name(path);
    return 0;
}

static int parse_http_url(const char *url, struct surl *out, struct strbuf *err)
{
    const char *host = strstr(url, "://") + 3;
    size_t host_len = strcspn(host, "/?#");
    if (host_len == 0) {
        sb_addf(err, "'%s': the URL has no host", url);
        return -1;
    }
    char *name = url_file_name(host + host_len);
    if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) {
        sb_addf(err, "'%s': the URL does not name a file", url);
        free(name);
        return -1;
    }
    out->kind = SURL_HTTP;
    out->fetch = xstrdup(url);
    out->name = name;
    return 0;
}

/*
 * hf://datasets/ORG/NAME[@REV]/FILE, hf://ORG/MODEL[@REV]/FILE or hf://ORG/MODEL[@REV]
 * (a model's whole directory, a trailing '/' allowed): the repository is two
 * components (after "datasets/"), the revision is an @-suffix of the second, and
 * FILE is the rest (it may contain '/').
 */
static int parse_hf_url(const char *url, const char *endpoint, struct surl *out,
                        struct strbuf *err)
{
    const char *p = url + strlen("hf://");
    int dataset = starts_with(p, "datasets/");
    if (dataset)
        p += strlen("datasets/");
    const char *org_end = strchr(p, '/');
    const char *repo_end = org_end ? org_end + 1 + strcspn(org_end + 1, "/") : NULL;
    const char *file = repo_end && *repo_end ? repo_end + 1 : "";
    int whole = !*file;
    if (!org_end || org_end == p || repo_end == org_end + 1 || (whole && dataset)) {
        sb_addf(err, "'%s': expected hf://%s", url,
                dataset ? "datasets/ORG/NAME/FILE" : "ORG/MODEL or hf://ORG/MODEL/FILE");
        return -1;
    }
    struct strbuf check = STRBUF_INIT;
    if (!whole && surl_check_relative(file, &check) < 0) {
        sb_addf(err, "'%s': file '%s': %s", url, file, check.buf);
        sb_free(&check);
        return -1;
    }
    sb_free(&check);
    const char *at = memchr(org_end + 1, '@', (size_t)(repo_end - org_end - 1));
    const char *rev = at ? at + 1 : "main";
    size_t rev_len = at ? (size_t)(repo_end - at - 1) : strlen("main");
    if (rev_len == 0) {
        sb_addf(err, "'%s': empty revision after '@'", url);
        return -1;
    }
    if (!endpoint || !*endpoint)
        endpoint = SURL_HF_DEFAULT_ENDPOINT;
    size_t ep_len = strlen(endpoint);
    while (ep_len > 0 && endpoint[ep_len - 1] == '/')
        ep_len--;
    struct strbuf sb = STRBUF_INIT;
    sb_add(&sb, endpoint, ep_len);
    sb_adds(&sb, dataset ? "/datasets/" : "/");
    sb_add(&sb, p, (size_t)((at ? at : repo_end) - p));
    sb_adds(&sb, "/resolve/");
    /* A revision is one component: write refs/pr/1 as refs%2Fpr%2F1. */
    percent_encode(&sb, rev, rev_len, "%");
    sb_addc(&sb, '/');
    percent_encode(&sb, file, strlen(file), "/");
    out->kind = whole ? SURL_HF_MODEL_DIR : SURL_HTTP;
    out->fetch = sb_detach(&sb);
    out->name = whole ? xstrndup(org_end + 1, (size_t)((at ? at : repo_end) - org_end - 1))
                      : url_file_name(file);
    return 0;
}

int surl_is_hf_model_dir(const char *url)
{
    struct surl u;
    struct strbuf err = STRBUF_INIT;
    int dir = surl_parse(url, NULL, &u, &err) == 0 && u.kind == SURL_HF_MODEL_DIR;
    surl_free(&u);
    sb_free(&err);
    return dir;
}

char *surl_dir_file(const struct surl *dir, const char *file)
{
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, dir->fetch);
    percent_encode(&sb, file, strlen(file), "/");
    return sb_detach(&sb);
}

int surl_parse(const char *url, const char *hf_endpoint, struct surl *out, struct strbuf *err)
{
    memset(out, 0, sizeof(*out));
    if (starts_with(url, "file://"))
        return parse_file_url(url, out, err);
    if (starts_with(url, "http://") || starts_with(url, "https://"))
        return parse_http_url(url, out, err);
    if (starts_with(url, "hf://"))
        return parse_hf_url(url, hf_endpoint, out, err);
    sb_addf(err, "'%s': unsupported URL scheme (use file://, http://, https:// or hf://)", url);
    return -1;
}
