/*
 * yaml_tree.c - build a position-aware YAML tree from libyaml events (see yaml_tree.h).
 *
 * An explicit stack of open collections replaces recursion, so hostile nesting
 * cannot overflow the C stack. Anchors are registered when their node is complete,
 * which makes a self-referencing alias (`&a [*a]`) an "unknown anchor" rather than
 * a cycle.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "strbuf.h"
#include "yaml_tree.h"

#define YAML_STR_TAG "tag:yaml.org,2002:str"

struct anchor {
    char *name;
    struct ynode *node;
};

struct frame {
    struct ynode *node;      /* the open sequence or mapping */
    char *anchor;            /* to register when the node closes, or NULL */
    size_t alloc;            /* capacity of items/pairs */
    struct ynode *pending_key;   /* mapping: key waiting for its value */
};

struct builder {
    struct ydoc *doc;
    struct diag_list *diags;
    struct frame stack[YTREE_MAX_DEPTH];
    int depth;
    struct anchor *anchors;
    size_t n_anchors, alloc_anchors;
    size_t alias_nodes;      /* nodes reached through aliases, all aliases together */
    int documents;
    int failed;
};

static int fail(struct builder *b, yaml_mark_t mark, const char *fmt, const char *arg)
{
    struct strbuf sb = STRBUF_INIT;
    sb_addf(&sb, fmt, arg);
    diag_add(b->diags, b->doc->file, (int)mark.line + 1, (int)mark.column + 1, "%s", sb.buf);
    sb_free(&sb);
    b->failed = 1;
    return -1;
}

/* The node about to be written at `mark` would be one too many (caps memory). */
static int too_many_nodes(struct builder *b, yaml_mark_t mark)
{
    if (b->doc->n_nodes < YTREE_MAX_NODES)
        return 0;
    return fail(b, mark, "document has more than %s nodes (scalars, lists and mappings)",
                "1000000");
}

static struct ynode *new_node(struct builder *b, enum ynode_kind kind, yaml_mark_t mark)
{
    struct ydoc *doc = b->doc;
    struct ynode *n = xcalloc(1, sizeof(*n));
    n->kind = kind;
    n->line = (int)mark.line + 1;
    n->col = (int)mark.column + 1;
    n->weight = 1;
    doc->nodes = xgrow(doc->nodes, doc->n_nodes + 1, &doc->alloc_nodes, sizeof(*doc->nodes));
    doc->nodes[doc->n_nodes++] = n;
    return n;
}

static size_t add_weight(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static struct ynode *find_anchor(struct builder *b, const char *name)
{
    /* Latest definition wins: YAML allows re-defining an anchor. */
    for (size_t i = b->n_anchors; i-- > 0;)
        if (strcmp(b->anchors[i].name, name) == 0)
            return b->anchors[i].node;
    return NULL;
}

static void register_anchor(struct builder *b, char *name, struct ynode *node)
{
    if (!name)
        return;
    b->anchors = xgrow(b->anchors, b->n_anchors + 1, &b->alloc_anchors, sizeof(*b->anchors));
    b->anchors[b->n_anchors].name = name;
    b->anchors[b->n_anchors].node = node;
    b->n_anchors++;
}

static int pair_key_cmp(const void *a, const void *b)
{
    const struct ypair *pa = *(const struct ypair *const *)a;
    const struct ypair *pb = *(const struct ypair *const *)b;
    size_t n = pa->key->len < pb->key->len ? pa->key->len : pb->key->len;
    int c = memcmp(pa->key->str, pb->key->str, n);
    if (c)
        return c;
    if (pa->key->len != pb->key->len)
        return pa->key->len < pb->key->len ? -1 : 1;
    /* Equal keys: keep written order so the second one is reported. */
    return pa < pb ? -1 : pa > pb;
}

/* The pairs of `map` sorted by key, equal keys in written order. Caller frees. */
static const struct ypair **sorted_pairs(const struct ynode *map)
{
    const struct ypair **sorted = xmalloc(map->n * sizeof(*sorted));
    for (size_t i = 0; i < map->n; i++)
        sorted[i] = &map->pairs[i];
    qsort(sorted, map->n, sizeof(*sorted), pair_key_cmp);
    return sorted;
}

static int same_key(const struct ypair *a, const struct ypair *b)
{
    return a->key->len == b->key->len && memcmp(a->key->str, b->key->str, a->key->len) == 0;
}

static int check_duplicate_keys(struct builder *b, struct ynode *map)
{
    if (map->n < 2)
        return 0;
    const struct ypair **sorted = sorted_pairs(map);
    int rc = 0;
    for (size_t i = 1; i < map->n && rc == 0; i++) {
        if (same_key(sorted[i - 1], sorted[i])) {
            const struct ynode *later = sorted[i]->key;
            diag_add(b->diags, b->doc->file, later->line, later->col,
                     "duplicate key '%s' (first at line %d)", later->str,
                     sorted[i - 1]->key->line);
            b->failed = 1;
            rc = -1;
        }
    }
    free(sorted);
    return rc;
}

static int is_merge_key(const struct ynode *key)
{
    return !key->quoted && key->len == 2 && memcmp(key->str, "<<", 2) == 0;
}

static void append_pair(struct frame *f, struct ynode *key, struct ynode *value)
{
    struct ynode *map = f->node;
    map->pairs = xgrow(map->pairs, map->n + 1, &f->alloc, sizeof(*map->pairs));
    map->pairs[map->n].key = key;
    map->pairs[map->n].value = value;
    map->n++;
    map->weight = add_weight(map->weight, add_weight(key->weight, value->weight));
}

/*
 * Remove each pair whose key an earlier pair of `map` has, keeping the order of the
 * rest, and recount the map's weight. Sorting makes it O(n log n): a merge into a
 * mapping of many keys must not compare every pair with every other.
 */
static void drop_later_duplicates(struct ynode *map)
{
    const struct ypair **sorted = sorted_pairs(map);
    char *drop = xcalloc(map->n, 1);
    for (size_t i = 1; i < map->n; i++)
        if (same_key(sorted[i - 1], sorted[i]))
            drop[sorted[i] - map->pairs] = 1;
    size_t kept = 0;
    map->weight = 1;
    for (size_t i = 0; i < map->n; i++) {
        struct ypair p = map->pairs[i];
        if (drop[i])
            continue;
        map->weight = add_weight(map->weight, add_weight(p.key->weight, p.value->weight));
        map->pairs[kept++] = p;
    }
    map->n = kept;
    free(drop);
    free(sorted);
}

/* Append all pairs of `src` (a mapping); drop_later_duplicates() then keeps the first. */
static void merge_one(struct frame *f, const struct ynode *src)
{
    for (size_t i = 0; i < src->n; i++)
        append_pair(f, src->pairs[i].key, src->pairs[i].value);
}

/* A `<<` value must be a mapping or a list of mappings. */
static int mergeable(const struct ynode *v)
{
    if (v->kind == YNODE_MAP)
        return 1;
    if (v->kind != YNODE_SEQ)
        return 0;
    for (size_t i = 0; i < v->n; i++)
        if (v->items[i]->kind != YNODE_MAP)
            return 0;
    return 1;
}

/*
 * Resolve `<<` entries of a just-closed mapping: remove them, then append the keys
 * of the merged mapping(s) that are not already present. Explicit keys were all
 * written before merging starts, so they win; among several merged maps the first
 * listed wins (YAML merge-key spec).
 */
static int apply_merges(struct builder *b, struct frame *f)
{
    struct ynode *map = f->node;
    struct ynode *merges[64];
    size_t n_merges = 0, kept = 0;
    for (size_t i = 0; i < map->n; i++) {
        struct ypair p = map->pairs[i];
        if (!is_merge_key(p.key)) {
            map->pairs[kept++] = p;
            continue;
        }
        if (n_merges == sizeof(merges) / sizeof(merges[0])) {
            diag_add(b->diags, b->doc->file, p.key->line, p.key->col, "too many '<<' merges");
            b->failed = 1;
            return -1;
        }
        merges[n_merges++] = p.value;
    }
    map->n = kept;
    for (size_t m = 0; m < n_merges; m++) {
        struct ynode *v = merges[m];
        if (!mergeable(v)) {
            diag_add(b->diags, b->doc->file, v->line, v->col,
                     "'<<' merges a mapping or a list of mappings, not %s",
                     ynode_type_name(v));
            b->failed = 1;
            return -1;
        }
        if (v->kind == YNODE_MAP)
            merge_one(f, v);
        for (size_t i = 0; v->kind == YNODE_SEQ && i < v->n; i++)
            merge_one(f, v->items[i]);
    }
    if (n_merges)
        drop_later_duplicates(map);
    return 0;
}

/* Attach a finished node to the collection on top of the stack (or make it the root). */
static int attach(struct builder *b, struct ynode *node, yaml_mark_t mark)
{
    if (b->depth == 0) {
        b->doc->root = node;
        return 0;
    }
    struct frame *f = &b->stack[b->depth - 1];
    struct ynode *parent = f->node;
    if (parent->kind == YNODE_SEQ) {
        parent->items = xgrow(parent->items, parent->n + 1, &f->alloc, sizeof(*parent->items));
        parent->items[parent->n++] = node;
        parent->weight = add_weight(parent->weight, node->weight);
    } else if (!f->pending_key) {
        if (node->kind != YNODE_SCALAR)
            return fail(b, (yaml_mark_t){ .line = (size_t)node->line - 1,
                                          .column = (size_t)node->col - 1 },
                        "mapping keys must be plain scalars%s", "");
        /* Keys are used as C strings: "a\0b" would pass the duplicate check, then read as "a". */
        if (strlen(node->str) != node->len)
            return fail(b, mark, "mapping keys cannot contain NUL characters%s", "");
        f->pending_key = node;
    } else {
        append_pair(f, f->pending_key, node);
        f->pending_key = NULL;
    }
    return 0;
}

static int on_scalar(struct builder *b, yaml_event_t *ev)
{
    const char *tag = (const char *)ev->data.scalar.tag;
    if (tag && strcmp(tag, YAML_STR_TAG) != 0)
        return fail(b, ev->start_mark, "unsupported tag '%s'", tag);
    if (too_many_nodes(b, ev->start_mark) < 0)
        return -1;
    struct ynode *n = new_node(b, YNODE_SCALAR, ev->start_mark);
    n->len = ev->data.scalar.length;
    n->str = xstrndup((const char *)ev->data.scalar.value, n->len);
    n->quoted = tag != NULL || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    if (ev->data.scalar.anchor)
        register_anchor(b, xstrdup((const char *)ev->data.scalar.anchor), n);
    return attach(b, n, ev->start_mark);
}

static int on_alias(struct builder *b, yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    struct ynode *n = find_anchor(b, name);
    if (!n)
        return fail(b, ev->start_mark, "unknown anchor '%s'", name);
    /* The "billion laughs" guard: each alias stands for its whole expanded subtree. */
    b->alias_nodes = add_weight(b->alias_nodes, n->weight);
    if (b->alias_nodes > YTREE_MAX_ALIAS_NODES)
        return fail(b, ev->start_mark, "document expands by more than %s nodes through aliases",
                    "100000");
    return attach(b, n, ev->start_mark);
}

static int on_open(struct builder *b, yaml_event_t *ev, enum ynode_kind kind)
{
    const yaml_char_t *tag = kind == YNODE_SEQ ? ev->data.sequence_start.tag
                                               : ev->data.mapping_start.tag;
    const yaml_char_t *anchor = kind == YNODE_SEQ ? ev->data.sequence_start.anchor
                                                  : ev->data.mapping_start.anchor;
    if (tag)
        return fail(b, ev->start_mark, "unsupported tag '%s'", (const char *)tag);
    if (b->depth == YTREE_MAX_DEPTH)
        return fail(b, ev->start_mark, "nesting deeper than %s levels", "64");
    if (too_many_nodes(b, ev->start_mark) < 0)
        return -1;
    struct frame *f = &b->stack[b->depth++];
    memset(f, 0, sizeof(*f));
    f->node = new_node(b, kind, ev->start_mark);
    f->anchor = anchor ? xstrdup((const char *)anchor) : NULL;
    return 0;
}

static int on_close(struct builder *b, yaml_event_t *ev)
{
    struct frame *f = &b->stack[--b->depth];
    struct ynode *node = f->node;
    char *anchor = f->anchor;
    f->anchor = NULL;
    register_anchor(b, anchor, node);
    if (node->kind == YNODE_MAP) {
        if (check_duplicate_keys(b, node) < 0 || apply_merges(b, f) < 0)
            return -1;
    }
    return attach(b, node, ev->start_mark);
}

static int on_event(struct builder *b, yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++b->documents > 1)
            return fail(b, ev->start_mark, "more than one YAML document in the file%s", "");
        return 0;
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_ALIAS_EVENT:
        return on_alias(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_open(b, ev, YNODE_SEQ);
    case YAML_MAPPING_START_EVENT:
        return on_open(b, ev, YNODE_MAP);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_close(b, ev);
    default:
        return 0;
    }
}

static void report_parser_error(struct builder *b, yaml_parser_t *p, const char *text,
                                size_t len)
{
    yaml_mark_t mark = p->problem_mark;
    const char *problem = p->problem ? p->problem : "invalid YAML";
    struct strbuf sb = STRBUF_INIT;
    if (mark.index < len && text[mark.index] == '\t') {
        /* libyaml says "found character that cannot start any token" */
        diag_add(b->diags, b->doc->file, (int)mark.line + 1, (int)mark.column + 1,
                 "a tab: YAML does not allow tabs for indentation (indent with spaces)");
        b->failed = 1;
        return;
    }
    sb_adds(&sb, problem);
    if (p->context)
        sb_addf(&sb, " (%s at line %zu)", p->context, p->context_mark.line + 1);
    diag_add(b->diags, b->doc->file, (int)mark.line + 1, (int)mark.column + 1, "%s", sb.buf);
    sb_free(&sb);
    b->failed = 1;
}

static void builder_free(struct builder *b)
{
    for (size_t i = 0; i < b->n_anchors; i++)
        free(b->anchors[i].name);
    free(b->anchors);
    for (int i = 0; i < b->depth; i++)
        free(b->stack[i].anchor);
}

int ydoc_parse(const char *file, const char *text, size_t len, struct ydoc **out,
               struct diag_list *diags)
{
    struct ydoc *doc = xcalloc(1, sizeof(*doc));
    doc->file = xstrdup(file);
    struct builder b = { .doc = doc, .diags = diags };
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        die_oom("a YAML parser");   /* yaml_parser_initialize fails only to allocate */
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int done = 0;
    while (!done && !b.failed) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            report_parser_error(&b, &parser, text, len);
            break;
        }
        on_event(&b, &ev);
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    builder_free(&b);
    if (b.failed) {
        ydoc_free(doc);
        *out = NULL;
        return -1;
    }
    *out = doc;
    return 0;
}

void ydoc_free(struct ydoc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < doc->n_nodes; i++) {
        struct ynode *n = doc->nodes[i];
        free((char *)n->str);
        free(n->items);
        free(n->pairs);
        free(n);
    }
    free(doc->nodes);
    free(doc->file);
    free(doc);
}

const struct ynode *ymap_get(const struct ynode *map, const char *key)
{
    if (!map || map->kind != YNODE_MAP)
        return NULL;
    size_t len = strlen(key);
    for (size_t i = 0; i < map->n; i++) {
        const struct ynode *k = map->pairs[i].key;
        if (k->len == len && memcmp(k->str, key, len) == 0)
            return map->pairs[i].value;
    }
    return NULL;
}

static int is_plain(const struct ynode *n)
{
    return n && n->kind == YNODE_SCALAR && !n->quoted;
}

int ynode_is_null(const struct ynode *n)
{
    if (!is_plain(n))
        return 0;
    const char *s = n->str;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

int ynode_bool(const struct ynode *n, int *out)
{
    if (!is_plain(n))
        return 0;
    const char *s = n->str;
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
        *out = 1;
        return 1;
    }
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
        *out = 0;
        return 1;
    }
    return 0;
}

int ynode_int(const struct ynode *n, long long *out)
{
    if (!is_plain(n) || !n->len || strlen(n->str) != n->len)
        return 0;
    const char *s = n->str;
    const char *digits = (*s == '-' || *s == '+') ? s + 1 : s;
    if (*digits < '0' || *digits > '9')
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno)
        return 0;
    *out = v;
    return 1;
}

int ynode_float(const struct ynode *n, double *out)
{
    if (!is_plain(n) || !n->len || strlen(n->str) != n->len)
        return 0;
    const char *s = n->str;
    /* Only decimal notation: strtod would also take "inf", "nan" and hex. */
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789+-.eE", *p))
            return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || end == s || errno == ERANGE || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

int ynode_is_string(const struct ynode *n)
{
    if (!n || n->kind != YNODE_SCALAR)
        return 0;
    if (n->quoted)
        return 1;
    int b;
    double d;
    return !ynode_is_null(n) && !ynode_bool(n, &b) && !ynode_float(n, &d);
}

const char *ynode_type_name(const struct ynode *n)
{
    int b;
    long long i;
    double d;
    if (!n)
        return "nothing";
    if (n->kind == YNODE_MAP)
        return "a mapping";
    if (n->kind == YNODE_SEQ)
        return "a list";
    if (ynode_is_null(n))
        return "null";
    if (ynode_bool(n, &b))
        return "a boolean";
    if (ynode_int(n, &i))
        return "an integer";
    if (ynode_float(n, &d))
        return "a number";
    return "a string";
}

json_t *ynode_to_json(const struct ynode *n)
{
    int b;
    long long i;
    double d;
    if (n->kind == YNODE_SEQ) {
        json_t *arr = json_array();
        for (size_t k = 0; k < n->n; k++)
            json_array_append_new(arr, ynode_to_json(n->items[k]));
        return arr;
    }
    if (n->kind == YNODE_MAP) {
        json_t *obj = json_object();
        for (size_t k = 0; k < n->n; k++)
            json_object_setn_new_nocheck(obj, n->pairs[k].key->str, n->pairs[k].key->len,
                                         ynode_to_json(n->pairs[k].value));
        return obj;
    }
    if (ynode_is_null(n))
        return json_null();
    if (ynode_bool(n, &b))
        return json_boolean(b);
    if (ynode_int(n, &i))
        return json_integer(i);
    if (ynode_float(n, &d))
        return json_real(d);
    return json_stringn_nocheck(n->str, n->len);
}
