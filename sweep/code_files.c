/*
 * code_files.c - digests of the code a sweep's runs execute (code_files.h).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "code_files.h"
#include "digest.h"
#include "error.h"
#include "fsutil.h"
#include "sweep.h"

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append "RELPATH\0SHA256\n" for every regular file below dir, sorted, to *list. */
static int digest_tree(const char *dir, const char *rel, struct strbuf *list,
                       struct strbuf *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        sb_addf(err, "cannot read '%s'", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, alloc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..") ||
                                    !strcmp(e->d_name, ".git")))
            continue;
        names = xgrow(names, n + 1, &alloc, sizeof(*names));
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char *path = path_join(dir, names[i]);
        struct strbuf sub = STRBUF_INIT;
        sb_addf(&sub, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        struct stat st;
        struct file_digest fd;
        if (rc == 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = digest_tree(path, sub.buf, list, err);
        } else if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            rc = digest_file(path, &fd, err);
            if (rc == 0) {
                sb_add(list, sub.buf, sub.len + 1);
                sb_addf(list, "%s\n", fd.sha256);
            }
        }
        sb_free(&sub);
        free(path);
        free(names[i]);
    }
    free(names);
    return rc;
}

/* The sha256 of a file, or of a directory's tree, into out. */
static int digest_path(const char *path, char out[SHA256_HEX_LEN + 1], struct strbuf *err)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        sb_addf(err, "cannot read '%s'", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        struct file_digest fd;
        if (digest_file(path, &fd, err) < 0)
            return -1;
        memcpy(out, fd.sha256, sizeof(fd.sha256));
        return 0;
    }
    struct strbuf list = STRBUF_INIT;
    int rc = digest_tree(path, "", &list, err);
    if (rc == 0)
        sha256_hex(list.buf ? list.buf : "", list.len, out);
    sb_free(&list);
    return rc;
}

/* The path a command item names, relative to the sweep's directory: an item with
 * no placeholder and no leading '-' that is an existing regular file there (or
 * absolute). Caller frees; NULL when it names no file. */
static char *command_file(const struct sweep *s, const char *item)
{
    if (!item[0] || item[0] == '-' || strchr(item, '{'))
        return NULL;
    char *path = item[0] == '/' ? xstrdup(item) : path_join(s->dir, item);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        return path;
    free(path);
    return NULL;
}

char *code_files_resolve(const struct sweep *s, const char *item)
{
    if (!item[0] || item[0] == '/')
        return NULL;
    char *path = command_file(s, item);
    char *abs = path ? realpath(path, NULL) : NULL;
    free(path);
    return abs;
}

static void add_command_files(const struct sweep *s, const json_t *cmd, json_t *out)
{
    size_t i;
    json_t *v;
    json_array_foreach(cmd, i, v) {
        const char *item = json_string_value(v);
        char *path = item ? command_file(s, item) : NULL;
        char hex[SHA256_HEX_LEN + 1];
        struct strbuf err = STRBUF_INIT;
        if (path && digest_path(path, hex, &err) == 0)
            json_object_set_new(out, item, json_string(hex));
        sb_free(&err);
        free(path);
    }
}

json_t *code_files_digest(const struct sweep *s, struct diag_list *dl)
{
    json_t *out = json_object();
    add_command_files(s, s->trainer_cmd, out);
    add_command_files(s, s->evaluator_cmd, out);
    for (size_t i = 0; i < s->n_code; i++) {
        const struct ynode *n = s->code[i];
        char *path = n->str[0] == '/' ? xstrdup(n->str) : path_join(s->dir, n->str);
        char hex[SHA256_HEX_LEN + 1];
        struct strbuf err = STRBUF_INIT;
        if (digest_path(path, hex, &err) < 0)
            diag_add(dl, s->file, n->line, n->col, "code: %s", err.buf);
        else
            json_object_set_new(out, n->str, json_string(hex));
        sb_free(&err);
        free(path);
    }
    return out;
}
