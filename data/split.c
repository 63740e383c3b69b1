/* split.c - a seeded train/validation split grouped by problem (see split.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "canon.h"
#include "fsutil.h"
#include "render.h"
#include "rng.h"
#include "split.h"
#include "u64map.h"

struct line {
    char *text;          /* the line as read, newline included */
    size_t group;
};

struct lines {
    struct line *l;
    size_t n, alloc;
    char **group_key;    /* canonical problem of each group */
    size_t n_groups, alloc_groups;
    struct u64map index;
};

static size_t group_of(struct lines *ls, const char *key)
{
    uint64_t h = hash64(key, strlen(key));
    size_t pos = 0, g;
    while (u64map_next(&ls->index, h, &pos, &g))
        if (!strcmp(ls->group_key[g], key))
            return g;
    ls->group_key = xgrow(ls->group_key, ls->n_groups + 1, &ls->alloc_groups, sizeof(char *));
    ls->group_key[ls->n_groups] = xstrdup(key);
    u64map_add(&ls->index, h, ls->n_groups);
    return ls->n_groups++;
}

/* The problem of a row: the named field, or the row's shape. */
static int add_line(struct lines *ls, const char *path, long lineno, const char *text,
                    const char *field, struct strbuf *err)
{
    json_error_t je;
    json_t *row = json_loads(text, 0, &je);
    if (!json_is_object(row)) {
        sb_addf(err, "%s:%ld: %s", path, lineno, row ? "a row must be a JSON object"
                                                     : je.text);
        json_decref(row);
        return -1;
    }
    const char *problem = NULL, *completion;
    struct render_fields f = { 0 };
    f.prompt = (char *)field;
    struct strbuf why = STRBUF_INIT, canon = STRBUF_INIT;
    int rc = render_parts(row, field ? &f : NULL, &problem, &completion, &why);
    if (rc == 0 && !problem) {
        sb_adds(&why, "the row has no problem to group by (use --field NAME)");
        rc = -1;
    }
    if (rc < 0) {
        sb_addf(err, "%s:%ld: %s", path, lineno, why.buf);
    } else {
        text_canon(problem, &canon);
        ls->l = xgrow(ls->l, ls->n + 1, &ls->alloc, sizeof(*ls->l));
        ls->l[ls->n].text = xstrdup(text);
        ls->l[ls->n++].group = group_of(ls, canon.buf);
    }
    sb_free(&why);
    sb_free(&canon);
    json_decref(row);
    return rc;
}

static int read_lines(const char *path, const char *field, struct lines *ls, struct strbuf *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        sb_addf(err, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = 0;
    ssize_t len;
    while (rc == 0 && (len = getline(&buf, &cap, fp)) >= 0) {
        lineno++;
        if (strspn(buf, " \t\r\n") == (size_t)len)
            continue;
        rc = add_line(ls, path, lineno, buf, field, err);
    }
    if (rc == 0 && ferror(fp)) {
        sb_addf(err, "cannot read '%s': %s", path, strerror(errno));
        rc = -1;
    }
    free(buf);
    fclose(fp);
    return rc;
}

/* Which groups go to validation: whole shuffled groups until target rows. */
static unsigned char *pick_valid(const struct lines *ls, const struct split_opts *o,
                                 struct split_result *r)
{
    size_t *size = xcalloc(ls->n_groups + 1, sizeof(size_t));
    for (size_t i = 0; i < ls->n; i++)
        size[ls->l[i].group]++;
    size_t *order = xcalloc(ls->n_groups + 1, sizeof(size_t));
    for (size_t g = 0; g < ls->n_groups; g++)
        order[g] = g;
    uint64_t rng = o->seed ^ 0x73706c6974ull;   /* "split" */
    for (size_t g = ls->n_groups; g > 1; g--) {
        size_t j = (size_t)(rng_next(&rng) % g), t = order[g - 1];
        order[g - 1] = order[j];
        order[j] = t;
    }
    size_t target = (size_t)llround(o->valid_frac * (double)ls->n);
    unsigned char *valid = xcalloc(ls->n_groups + 1, 1);
    for (size_t k = 0; k < ls->n_groups && r->valid_rows < target; k++) {
        valid[order[k]] = 1;
        r->valid_rows += size[order[k]];
        r->valid_groups++;
    }
    free(order);
    free(size);
    return valid;
}

static int write_side(const struct lines *ls, const unsigned char *valid, int side,
                      const char *path, struct strbuf *err)
{
    struct atomic_file af;
    if (atomic_open(&af, path, err) < 0)
        return -1;
    for (size_t i = 0; i < ls->n; i++) {
        if (valid[ls->l[i].group] != side)
            continue;
        size_t len = strlen(ls->l[i].text);
        atomic_write(&af, ls->l[i].text, len);
        if (!len || ls->l[i].text[len - 1] != '\n')
            atomic_write(&af, "\n", 1);
    }
    return atomic_commit(&af, err);
}

int split_file(const char *path, const struct split_opts *o, struct split_result *r,
               struct strbuf *err)
{
    memset(r, 0, sizeof(*r));
    struct lines ls = { 0 };
    int rc = read_lines(path, o->field, &ls, err);
    if (rc == 0) {
        unsigned char *valid = pick_valid(&ls, o, r);
        r->rows = ls.n;
        r->groups = ls.n_groups;
        r->train_rows = ls.n - r->valid_rows;
        r->train_groups = ls.n_groups - r->valid_groups;
        rc = write_side(&ls, valid, 0, o->out_train, err);
        if (rc == 0)
            rc = write_side(&ls, valid, 1, o->out_valid, err);
        free(valid);
    }
    for (size_t i = 0; i < ls.n; i++)
        free(ls.l[i].text);
    free(ls.l);
    for (size_t g = 0; g < ls.n_groups; g++)
        free(ls.group_key[g]);
    free(ls.group_key);
    u64map_free(&ls.index);
    return rc;
}
