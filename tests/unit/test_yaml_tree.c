/*
 * test_yaml_tree.c - unit tests for sweep/yaml_tree.c.
 *
 * Parses small YAML literals and checks the tree: 1-based positions, anchors and
 * aliases (shared nodes), `<<` merges (explicit keys win, first listed map wins),
 * the refusals (duplicate keys, several documents, tags, depth, node count, alias
 * expansion, non-scalar keys) with their exact "file:line:col: message" text, the typed
 * scalar views and ynode_to_json. Not a test of libyaml's own grammar.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "strbuf.h"
#include "testhelp.h"
#include "yaml_tree.h"

/* ---- helpers ---- */

/* Print where a helper was called from when it recorded a failure. */
static void blame(int failed_before, int line)
{
    if (th_failed != failed_before)
        fprintf(stderr, "    (called from %s:%d)\n", __FILE__, line);
}

/* Parse text that must be valid; NULL (and a failure) otherwise. Caller frees. */
#define PARSE_OK(text) parse_ok(__LINE__, (text))
static struct ydoc *parse_ok(int line, const char *text)
{
    int f0 = th_failed;
    struct diag_list dl = { 0 };
    struct ydoc *doc = NULL;
    int rc = ydoc_parse("t.yaml", text, strlen(text), &doc, &dl);
    CHECK_INT(rc, 0);
    CHECK_INT(dl.count, 0);
    for (size_t i = 0; i < dl.n; i++)
        fprintf(stderr, "    unexpected: %s\n", dl.msgs[i]);
    diag_free(&dl);
    blame(f0, line);
    return doc;
}

/* Parse text that must be refused with exactly one diagnostic, `want`. */
#define PARSE_FAILS(text, want) parse_fails(__LINE__, (text), (want))
static void parse_fails(int line, const char *text, const char *want)
{
    int f0 = th_failed;
    struct diag_list dl = { 0 };
    struct ydoc *doc = (struct ydoc *)&dl;   /* must be overwritten with NULL */
    int rc = ydoc_parse("t.yaml", text, strlen(text), &doc, &dl);
    CHECK_INT(rc, -1);
    CHECK(doc == NULL);
    CHECK_INT(dl.count, 1);
    CHECK_STR(dl.n ? dl.msgs[0] : NULL, want);
    if (rc == 0)
        ydoc_free(doc);
    diag_free(&dl);
    blame(f0, line);
}

/* The node as compact JSON with sorted keys. Caller frees. */
static char *json_text(const struct ynode *n)
{
    json_t *j = ynode_to_json(n);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(j);
    return s;
}

/* Same, keeping the tree's key order. Caller frees. */
static char *json_text_ordered(const struct ynode *n)
{
    json_t *j = ynode_to_json(n);
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    return s;
}

#define CHECK_POS(node, l, c) do { \
    const struct ynode *n_ = (node); \
    CHECK(n_ != NULL); \
    if (n_) { CHECK_INT(n_->line, (l)); CHECK_INT(n_->col, (c)); } \
} while (0)

/* A single plain or quoted scalar document, for the typed views. Caller frees. */
static struct ydoc *scalar_doc(const char *text)
{
    struct diag_list dl = { 0 };
    struct ydoc *doc = NULL;
    if (ydoc_parse("t.yaml", text, strlen(text), &doc, &dl) < 0)
        doc = NULL;
    diag_free(&dl);
    return doc;
}

/* ---- positions ---- */

static void test_positions_block(void)
{
    const char *text =
        "name: demo\n"          /* 1 */
        "list:\n"               /* 2 */
        "  - a\n"               /* 3 */
        "  - {k: v}\n"          /* 4 */
        "map:\n"                /* 5 */
        "  inner: 42\n";        /* 6 */
    struct ydoc *doc = PARSE_OK(text);
    if (!doc)
        return;
    const struct ynode *root = doc->root;
    CHECK_INT(root->kind, YNODE_MAP);
    CHECK_POS(root, 1, 1);
    CHECK_INT(root->n, 3);
    CHECK_POS(root->pairs[0].key, 1, 1);
    CHECK_POS(root->pairs[0].value, 1, 7);
    CHECK_STR(root->pairs[0].value->str, "demo");
    CHECK_POS(root->pairs[1].key, 2, 1);
    const struct ynode *list = ymap_get(root, "list");
    CHECK_INT(list->kind, YNODE_SEQ);
    CHECK_POS(list, 3, 3);
    CHECK_INT(list->n, 2);
    CHECK_POS(list->items[0], 3, 5);
    CHECK_POS(list->items[1], 4, 5);
    CHECK_INT(list->items[1]->kind, YNODE_MAP);
    CHECK_POS(list->items[1]->pairs[0].key, 4, 6);
    CHECK_POS(list->items[1]->pairs[0].value, 4, 9);
    const struct ynode *map = ymap_get(root, "map");
    CHECK_POS(map, 6, 3);
    CHECK_POS(map->pairs[0].key, 6, 3);
    CHECK_POS(ymap_get(map, "inner"), 6, 10);
    ydoc_free(doc);
}

static void test_positions_flow(void)
{
    /*        1234567890123456789012345678 */
    const char *text = "{a: [1, 22, 333], b: \"x y\"}\n";
    struct ydoc *doc = PARSE_OK(text);
    if (!doc)
        return;
    const struct ynode *root = doc->root;
    CHECK_POS(root, 1, 1);
    CHECK_POS(root->pairs[0].key, 1, 2);
    const struct ynode *a = ymap_get(root, "a");
    CHECK_POS(a, 1, 5);
    CHECK_POS(a->items[0], 1, 6);
    CHECK_POS(a->items[1], 1, 9);
    CHECK_POS(a->items[2], 1, 13);
    CHECK_POS(root->pairs[1].key, 1, 19);
    const struct ynode *b = ymap_get(root, "b");
    CHECK_POS(b, 1, 22);
    CHECK_STR(b->str, "x y");
    CHECK_INT(b->len, 3);
    CHECK(b->quoted);
    CHECK(!a->items[0]->quoted);
    ydoc_free(doc);
}

static void test_positions_after_comments_and_blank_lines(void)
{
    const char *text =
        "# a comment\n"         /* 1 */
        "\n"                    /* 2 */
        "a:   # trailing\n"     /* 3 */
        "    b: [x,   y]\n";    /* 4 */
    struct ydoc *doc = PARSE_OK(text);
    if (!doc)
        return;
    CHECK_POS(doc->root, 3, 1);
    const struct ynode *b = ymap_get(ymap_get(doc->root, "a"), "b");
    CHECK_POS(b, 4, 8);
    CHECK_POS(b->items[0], 4, 9);
    CHECK_POS(b->items[1], 4, 14);
    ydoc_free(doc);
}

static void test_empty_documents(void)
{
    struct ydoc *doc = PARSE_OK("");
    if (doc) {
        CHECK(doc->root == NULL);
        CHECK_STR(doc->file, "t.yaml");
    }
    ydoc_free(doc);
    doc = PARSE_OK("# only a comment\n\n");
    if (doc)
        CHECK(doc->root == NULL);
    ydoc_free(doc);
    /* One explicit document is fine. */
    doc = PARSE_OK("---\na: 1\n...\n");
    if (doc)
        CHECK_STR(ymap_get(doc->root, "a")->str, "1");
    ydoc_free(doc);
    ydoc_free(NULL);   /* accepted */
}

/* ---- anchors and aliases ---- */

static void test_alias_shares_anchored_node(void)
{
    const char *text =
        "base: &b {lr: 0.001, rank: 8}\n"
        "copy: *b\n"
        "s: &s hello\n"
        "t: *s\n";
    struct ydoc *doc = PARSE_OK(text);
    if (!doc)
        return;
    const struct ynode *base = ymap_get(doc->root, "base");
    const struct ynode *copy = ymap_get(doc->root, "copy");
    CHECK(base == copy);
    CHECK(ymap_get(doc->root, "s") == ymap_get(doc->root, "t"));
    /* An alias shares the anchored node and its position, which starts at the node's
     * properties: the anchor `&b` in column 7. */
    CHECK_POS(copy, 1, 7);
    CHECK_POS(ymap_get(doc->root, "t"), 3, 4);
    char *js = json_text(doc->root);
    CHECK_STR(js, "{\"base\":{\"lr\":0.001,\"rank\":8},\"copy\":{\"lr\":0.001,\"rank\":8},"
                  "\"s\":\"hello\",\"t\":\"hello\"}");
    free(js);
    ydoc_free(doc);
}

static void test_anchor_redefinition_latest_wins(void)
{
    struct ydoc *doc = PARSE_OK("a: &x 1\nb: *x\nc: &x 2\nd: *x\n");
    if (!doc)
        return;
    CHECK_STR(ymap_get(doc->root, "b")->str, "1");
    CHECK_STR(ymap_get(doc->root, "d")->str, "2");
    ydoc_free(doc);
}

static void test_unknown_and_self_referencing_anchor(void)
{
    PARSE_FAILS("a: 1\nb: *nope\n", "t.yaml:2:4: unknown anchor 'nope'");
    /* Anchors are registered when their node closes: a node cannot contain itself. */
    PARSE_FAILS("a: &x [1, *x]\n", "t.yaml:1:11: unknown anchor 'x'");
    /* An alias used before its anchor is unknown too. */
    PARSE_FAILS("a: *later\nb: &later 1\n", "t.yaml:1:4: unknown anchor 'later'");
}

/* ---- merge keys ---- */

static void test_merge_explicit_keys_win(void)
{
    const char *text =
        "base: &base {lr: 0.001, rank: 8, alpha: 16}\n"
        "before:\n"
        "  rank: 4\n"
        "  <<: *base\n"
        "after:\n"
        "  <<: *base\n"
        "  rank: 32\n";
    struct ydoc *doc = PARSE_OK(text);
    if (!doc)
        return;
    const struct ynode *before = ymap_get(doc->root, "before");
    const struct ynode *after = ymap_get(doc->root, "after");
    CHECK_STR(ymap_get(before, "rank")->str, "4");
    CHECK_STR(ymap_get(after, "rank")->str, "32");
    CHECK_STR(ymap_get(after, "lr")->str, "0.001");
    CHECK_STR(ymap_get(after, "alpha")->str, "16");
    CHECK(ymap_get(after, "<<") == NULL);   /* the merge key itself is gone */
    CHECK_INT(after->n, 3);
    /* Explicit pairs first, then merged ones in the merged map's order. */
    char *js = json_text_ordered(after);
    CHECK_STR(js, "{\"rank\":32,\"lr\":0.001,\"alpha\":16}");
    free(js);
    js = json_text_ordered(before);
    CHECK_STR(js, "{\"rank\":4,\"lr\":0.001,\"alpha\":16}");
    free(js);
    /* The merged map itself is untouched. */
    CHECK_STR(ymap_get(ymap_get(doc->root, "base"), "rank")->str, "8");
    ydoc_free(doc);
}

static void test_merge_list_first_listed_wins(void)
{
    const char *text =
        "a: &a {x: 1, y: 1}\n"
        "b: &b {x: 2, z: 2}\n"
        "m: {<<: [*a, *b], w: 0}\n"
        "n: {<<: [*b, *a]}\n";
    struct ydoc *doc = PARSE_OK(text);
    if (!doc)
        return;
    char *js = json_text_ordered(ymap_get(doc->root, "m"));
    CHECK_STR(js, "{\"w\":0,\"x\":1,\"y\":1,\"z\":2}");
    free(js);
    js = json_text_ordered(ymap_get(doc->root, "n"));
    CHECK_STR(js, "{\"x\":2,\"z\":2,\"y\":1}");
    free(js);
    ydoc_free(doc);
}

static void test_merge_chains_and_inline_maps(void)
{
    const char *text =
        "a: &a {x: 1}\n"
        "b: &b {<<: *a, y: 2}\n"
        "c: {<<: *b, z: 3}\n"
        "d: {<<: {k: v}}\n";
    struct ydoc *doc = PARSE_OK(text);
    if (!doc)
        return;
    char *js = json_text(ymap_get(doc->root, "c"));
    CHECK_STR(js, "{\"x\":1,\"y\":2,\"z\":3}");
    free(js);
    js = json_text(ymap_get(doc->root, "d"));
    CHECK_STR(js, "{\"k\":\"v\"}");
    free(js);
    ydoc_free(doc);
}

static void test_merge_weight_counts_the_result(void)
{
    /* The merged map weighs what it expands to: the '<<' pair and the keys an
     * earlier pair already has are not counted. */
    const char *text =
        "a: &a {x: 1, y: 2}\n"
        "m: {<<: [*a, *a], x: 3}\n";
    struct ydoc *doc = PARSE_OK(text);
    if (!doc)
        return;
    const struct ynode *m = ymap_get(doc->root, "m");
    CHECK_INT(m->n, 2);
    CHECK_STR(ymap_get(m, "x")->str, "3");
    CHECK_INT(m->weight, 5);
    ydoc_free(doc);
}

static void test_merge_quoted_key_is_plain_key(void)
{
    struct ydoc *doc = PARSE_OK("a: &a {x: 1}\nm: {\"<<\": *a}\n");
    if (!doc)
        return;
    const struct ynode *m = ymap_get(doc->root, "m");
    CHECK_INT(m->n, 1);
    CHECK(ymap_get(m, "<<") != NULL);
    CHECK(ymap_get(m, "x") == NULL);
    ydoc_free(doc);
}

static void test_merge_of_non_mapping_refused(void)
{
    /*           1234567890 */
    PARSE_FAILS("m: {<<: 5}\n", "t.yaml:1:9: '<<' merges a mapping or a list of mappings, "
                "not an integer");
    PARSE_FAILS("m:\n  <<: [{a: 1}, b]\n",
                "t.yaml:2:7: '<<' merges a mapping or a list of mappings, not a list");
}

static void test_merged_key_is_not_a_duplicate(void)
{
    /* An explicit key that a merge also brings is an override, not a duplicate. */
    struct ydoc *doc = PARSE_OK("a: &a {x: 1}\nm: {x: 2, <<: *a}\n");
    if (doc)
        CHECK_STR(ymap_get(ymap_get(doc->root, "m"), "x")->str, "2");
    ydoc_free(doc);
}

/* ---- refusals ---- */

static void test_duplicate_keys(void)
{
    PARSE_FAILS("a: 1\nb: 2\na: 3\n", "t.yaml:3:1: duplicate key 'a' (first at line 1)");
    /*           1234567890123 */
    PARSE_FAILS("m: {x: 1, x: 2}\n", "t.yaml:1:11: duplicate key 'x' (first at line 1)");
    PARSE_FAILS("top:\n  inner:\n    k: 1\n\n    k: 2\n",
                "t.yaml:5:5: duplicate key 'k' (first at line 3)");
    /* Quoting does not make a key different. */
    PARSE_FAILS("lr: 1\n\"lr\": 2\n", "t.yaml:2:1: duplicate key 'lr' (first at line 1)");
    /* The same key in different mappings is fine. */
    struct ydoc *doc = PARSE_OK("a: {k: 1}\nb: {k: 2}\n");
    ydoc_free(doc);
}

static void test_several_documents_refused(void)
{
    PARSE_FAILS("a: 1\n---\nb: 2\n", "t.yaml:2:1: more than one YAML document in the file");
    PARSE_FAILS("--- 1\n--- 2\n", "t.yaml:2:1: more than one YAML document in the file");
}

static void test_unsupported_tags(void)
{
    PARSE_FAILS("a: !!int 3\n", "t.yaml:1:4: unsupported tag 'tag:yaml.org,2002:int'");
    PARSE_FAILS("a: !custom x\n", "t.yaml:1:4: unsupported tag '!custom'");
    PARSE_FAILS("a: !!map {x: 1}\n", "t.yaml:1:4: unsupported tag 'tag:yaml.org,2002:map'");
    PARSE_FAILS("a: !!seq [1]\n", "t.yaml:1:4: unsupported tag 'tag:yaml.org,2002:seq'");
    /* !!str is the one tag allowed: it makes the scalar a string. */
    struct ydoc *doc = PARSE_OK("a: !!str 3\nb: !!str true\n");
    if (doc) {
        const struct ynode *a = ymap_get(doc->root, "a");
        long long i = -1;
        int bv = -1;
        CHECK(a->quoted);
        CHECK(!ynode_int(a, &i));
        CHECK(ynode_is_string(a));
        CHECK(!ynode_bool(ymap_get(doc->root, "b"), &bv));
        char *js = json_text(doc->root);
        CHECK_STR(js, "{\"a\":\"3\",\"b\":\"true\"}");
        free(js);
    }
    ydoc_free(doc);
}

static void nested(struct strbuf *sb, int depth)
{
    for (int i = 0; i < depth; i++)
        sb_addc(sb, '[');
    for (int i = 0; i < depth; i++)
        sb_addc(sb, ']');
    sb_addc(sb, '\n');
}

static void test_depth_limit(void)
{
    struct strbuf sb = STRBUF_INIT;
    nested(&sb, YTREE_MAX_DEPTH);
    struct ydoc *doc = PARSE_OK(sb.buf);
    if (doc) {
        const struct ynode *n = doc->root;
        int depth = 0;
        while (n && n->kind == YNODE_SEQ) {
            depth++;
            n = n->n ? n->items[0] : NULL;
        }
        CHECK_INT(depth, YTREE_MAX_DEPTH);
    }
    ydoc_free(doc);
    sb_free(&sb);
    nested(&sb, YTREE_MAX_DEPTH + 1);
    PARSE_FAILS(sb.buf, "t.yaml:1:65: nesting deeper than 64 levels");
    sb_free(&sb);
    /* Block mappings count the same way: the root map is level 1. */
    for (int i = 0; i < YTREE_MAX_DEPTH + 1; i++) {
        for (int j = 0; j < i; j++)
            sb_adds(&sb, " ");
        sb_adds(&sb, "k:\n");
    }
    for (int j = 0; j < YTREE_MAX_DEPTH + 1; j++)
        sb_adds(&sb, " ");
    sb_adds(&sb, "k: v\n");
    PARSE_FAILS(sb.buf, "t.yaml:65:65: nesting deeper than 64 levels");
    sb_free(&sb);
}

static void test_alias_expansion_budget(void)
{
    const char *ok =
        "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
    struct ydoc *doc = PARSE_OK(ok);
    if (doc) {
        CHECK_INT(ymap_get(doc->root, "a")->weight, 11);
        CHECK_INT(ymap_get(doc->root, "b")->weight, 111);
        CHECK_INT(ymap_get(doc->root, "d")->weight, 11111);
        /* Few nodes are allocated even though the expansion is large. */
        CHECK(doc->n_nodes < 100);
    }
    ydoc_free(doc);
    /* One more level. The aliases above stand for 12330 nodes (10 * 11 + 10 * 111 +
     * 10 * 1111); each *d adds 11111, so the eighth brings the total past 100000. */
    struct strbuf sb = STRBUF_INIT;
    sb_adds(&sb, ok);
    sb_adds(&sb, "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n");
    PARSE_FAILS(sb.buf, "t.yaml:5:36: document expands by more than 100000 nodes through "
                "aliases");
    sb_free(&sb);
    /* Aliases count together wherever they are: no one list goes past the budget. */
    sb_adds(&sb, ok);
    for (int i = 0; i < 4; i++)
        sb_addf(&sb, "e%d: [*d, *d]\n", i);
    PARSE_FAILS(sb.buf, "t.yaml:8:10: document expands by more than 100000 nodes through "
                "aliases");
    sb_free(&sb);
}

/* A mapping of `keys` plain pairs, no aliases: 2 * keys + 1 nodes. */
static void plain_keys(struct strbuf *sb, int keys)
{
    for (int i = 0; i < keys; i++)
        sb_addf(sb, "key%d: value%d\n", i, i);
}

static void test_node_limit_without_aliases(void)
{
    /* More nodes than the alias budget, no alias: loads (it once got the alias
     * message). */
    struct strbuf sb = STRBUF_INIT;
    plain_keys(&sb, 150000);
    struct ydoc *doc = PARSE_OK(sb.buf);
    if (doc) {
        CHECK_INT(doc->n_nodes, 300001);
        CHECK_INT(doc->root->n, 150000);
        CHECK_INT(doc->root->weight, 300001);
    }
    ydoc_free(doc);
    sb_free(&sb);
    /* Exactly YTREE_MAX_NODES nodes load; one more is refused where it is written. */
    sb_adds(&sb, "l:\n");
    for (int i = 0; i < YTREE_MAX_NODES - 3; i++)
        sb_adds(&sb, "- x\n");
    doc = PARSE_OK(sb.buf);
    if (doc)
        CHECK_INT(doc->n_nodes, YTREE_MAX_NODES);
    ydoc_free(doc);
    sb_adds(&sb, "- x\n");
    PARSE_FAILS(sb.buf, "t.yaml:999999:3: document has more than 1000000 nodes (scalars, "
                "lists and mappings)");
    sb_free(&sb);
}

static void test_non_scalar_keys_refused(void)
{
    /* The diagnostic points where the offending key starts, not at the bracket that
     * closes it. */
    /*           12345678 */
    PARSE_FAILS("? [a, b]\n: 1\n", "t.yaml:1:3: mapping keys must be plain scalars");
    PARSE_FAILS("{{a: 1}: 2}\n", "t.yaml:1:2: mapping keys must be plain scalars");
    /* A key that spans lines: the start is on line 1, the closing bracket on line 3. */
    PARSE_FAILS("? [a,\n   b\n  ]\n: 1\n", "t.yaml:1:3: mapping keys must be plain scalars");
}

static void test_syntax_error_has_position(void)
{
    struct diag_list dl = { 0 };
    struct ydoc *doc = NULL;
    const char *text = "a: [1, 2\nb: 3\n";
    CHECK_INT(ydoc_parse("t.yaml", text, strlen(text), &doc, &dl), -1);
    CHECK(doc == NULL);
    CHECK_INT(dl.count, 1);
    CHECK(dl.n == 1 && strncmp(dl.msgs[0], "t.yaml:2:2: ", 12) == 0);
    CHECK(dl.n == 1 && strstr(dl.msgs[0], "flow sequence at line 1") != NULL);
    diag_free(&dl);
    /* A tab for indentation is a libyaml error, reported not crashed on. */
    text = "a:\n\tb: 1\n";
    CHECK_INT(ydoc_parse("t.yaml", text, strlen(text), &doc, &dl), -1);
    CHECK(dl.n == 1 && strncmp(dl.msgs[0], "t.yaml:2:", 9) == 0);
    diag_free(&dl);
}

static void test_diagnostics_append(void)
{
    /* ydoc_parse adds to a list that already holds messages. */
    struct diag_list dl = { 0 };
    diag_add(&dl, "other.yaml", 1, 2, "earlier");
    struct ydoc *doc = NULL;
    CHECK_INT(ydoc_parse("t.yaml", "x: *y\n", 6, &doc, &dl), -1);
    CHECK_INT(dl.count, 2);
    CHECK_STR(dl.n > 0 ? dl.msgs[0] : NULL, "other.yaml:1:2: earlier");
    CHECK_STR(dl.n > 1 ? dl.msgs[1] : NULL, "t.yaml:1:4: unknown anchor 'y'");
    diag_free(&dl);
}

/* ---- typed scalar views ---- */

static void test_ynode_int(void)
{
    static const struct {
        const char *text;
        int ok;
        long long want;
    } cases[] = {
        { "0", 1, 0 }, { "16", 1, 16 }, { "-3", 1, -3 }, { "+5", 1, 5 }, { "007", 1, 7 },
        { "9223372036854775807", 1, 9223372036854775807LL },
        { "9223372036854775808", 0, 0 }, { "1.0", 0, 0 }, { "1e3", 0, 0 }, { "0x10", 0, 0 },
        { "1_000", 0, 0 }, { "eight", 0, 0 }, { "\"8\"", 0, 0 }, { "'8'", 0, 0 },
        { "~", 0, 0 }, { "true", 0, 0 }, { "- 1", 0, 0 }, { "-", 0, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ydoc *doc = scalar_doc(cases[i].text);
        long long v = 12345;
        int got = doc ? ynode_int(doc->root, &v) : -1;
        if (got != cases[i].ok || (got && v != cases[i].want))
            fprintf(stderr, "    ynode_int(%s) = %d (%lld)\n", cases[i].text, got, v);
        CHECK_INT(got, cases[i].ok);
        if (cases[i].ok)
            CHECK_INT(v, cases[i].want);
        else
            CHECK_INT(v, 12345);   /* untouched on failure */
        ydoc_free(doc);
    }
    CHECK(!ynode_int(NULL, &(long long){ 0 }));
}

static void test_ynode_float(void)
{
    static const struct {
        const char *text;
        int ok;
        double want;
    } cases[] = {
        { "0.5", 1, 0.5 }, { "1.0e-4", 1, 1e-4 }, { "0.0001", 1, 1e-4 }, { "3e-4", 1, 3e-4 },
        { "16", 1, 16 }, { "-2.5", 1, -2.5 }, { ".5", 1, 0.5 }, { "1E3", 1, 1000 },
        { "+1.5", 1, 1.5 }, { "1.", 1, 1.0 },
        { "inf", 0, 0 }, { ".inf", 0, 0 }, { "nan", 0, 0 }, { ".NaN", 0, 0 }, { "0x1p3", 0, 0 },
        { "1e999", 0, 0 }, { "1e", 0, 0 }, { "e5", 0, 0 }, { ".", 0, 0 }, { "1.2.3", 0, 0 },
        { "\"0.5\"", 0, 0 }, { "fast", 0, 0 }, { "null", 0, 0 }, { "", 0, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ydoc *doc = scalar_doc(cases[i].text);
        double v = 12345;
        int got = -1;
        if (doc && doc->root)
            got = ynode_float(doc->root, &v);
        else if (doc)
            got = 0;   /* the empty document has no node at all */
        if (got != cases[i].ok)
            fprintf(stderr, "    ynode_float(%s) = %d (%g)\n", cases[i].text, got, v);
        CHECK_INT(got, cases[i].ok);
        if (cases[i].ok)
            CHECK_NEAR(v, cases[i].want, 1e-15);
        ydoc_free(doc);
    }
}

static void test_ynode_bool_and_null(void)
{
    static const char *const trues[] = { "true", "True", "TRUE" };
    static const char *const falses[] = { "false", "False", "FALSE" };
    static const char *const not_bools[] = { "yes", "no", "on", "off", "tRUE", "1", "\"true\"",
                                             "y" };
    static const char *const nulls[] = { "~", "null", "Null", "NULL" };
    static const char *const not_nulls[] = { "nil", "None", "\"null\"", "'~'", "nULL", "0" };
    for (size_t i = 0; i < 3; i++) {
        struct ydoc *t = scalar_doc(trues[i]), *f = scalar_doc(falses[i]);
        int bt = -1, bf = -1;
        CHECK(t && ynode_bool(t->root, &bt) == 1 && bt == 1);
        CHECK(f && ynode_bool(f->root, &bf) == 1 && bf == 0);
        CHECK(t && !ynode_is_string(t->root));
        ydoc_free(t);
        ydoc_free(f);
    }
    for (size_t i = 0; i < sizeof(not_bools) / sizeof(not_bools[0]); i++) {
        struct ydoc *d = scalar_doc(not_bools[i]);
        int b = -1;
        CHECK(d && ynode_bool(d->root, &b) == 0 && b == -1);
        ydoc_free(d);
    }
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
        struct ydoc *d = scalar_doc(nulls[i]);
        CHECK(d && ynode_is_null(d->root));
        CHECK(d && !ynode_is_string(d->root));
        ydoc_free(d);
    }
    for (size_t i = 0; i < sizeof(not_nulls) / sizeof(not_nulls[0]); i++) {
        struct ydoc *d = scalar_doc(not_nulls[i]);
        CHECK(d && !ynode_is_null(d->root));
        ydoc_free(d);
    }
    /* An empty value is null; an empty quoted string is a string. */
    struct ydoc *doc = PARSE_OK("a:\nb: ''\nc: [1]\n");
    if (doc) {
        CHECK(ynode_is_null(ymap_get(doc->root, "a")));
        CHECK(!ynode_is_string(ymap_get(doc->root, "a")));
        CHECK(!ynode_is_null(ymap_get(doc->root, "b")));
        CHECK(ynode_is_string(ymap_get(doc->root, "b")));
        CHECK(!ynode_is_null(ymap_get(doc->root, "c")));
        CHECK(!ynode_is_null(NULL));
    }
    ydoc_free(doc);
}

static void test_ynode_is_string_and_type_name(void)
{
    const char *text =
        "s: hello\n"
        "q: \"16\"\n"
        "i: 16\n"
        "f: 1.0e-4\n"
        "b: false\n"
        "n: ~\n"
        "l: [1]\n"
        "m: {k: v}\n"
        "v: 1.0.0\n";
    struct ydoc *doc = PARSE_OK(text);
    if (!doc)
        return;
    const struct ynode *r = doc->root;
    CHECK(ynode_is_string(ymap_get(r, "s")));
    CHECK(ynode_is_string(ymap_get(r, "q")));
    CHECK(!ynode_is_string(ymap_get(r, "i")));
    CHECK(!ynode_is_string(ymap_get(r, "f")));
    CHECK(!ynode_is_string(ymap_get(r, "b")));
    CHECK(!ynode_is_string(ymap_get(r, "n")));
    CHECK(!ynode_is_string(ymap_get(r, "l")));
    CHECK(!ynode_is_string(ymap_get(r, "m")));
    CHECK(ynode_is_string(ymap_get(r, "v")));
    CHECK(!ynode_is_string(NULL));
    CHECK_STR(ynode_type_name(ymap_get(r, "s")), "a string");
    CHECK_STR(ynode_type_name(ymap_get(r, "q")), "a string");
    CHECK_STR(ynode_type_name(ymap_get(r, "i")), "an integer");
    CHECK_STR(ynode_type_name(ymap_get(r, "f")), "a number");
    CHECK_STR(ynode_type_name(ymap_get(r, "b")), "a boolean");
    CHECK_STR(ynode_type_name(ymap_get(r, "n")), "null");
    CHECK_STR(ynode_type_name(ymap_get(r, "l")), "a list");
    CHECK_STR(ynode_type_name(ymap_get(r, "m")), "a mapping");
    CHECK_STR(ynode_type_name(NULL), "nothing");
    ydoc_free(doc);
}

static void test_embedded_nul_scalar(void)
{
    struct ydoc *doc = PARSE_OK("a: \"1\\02\"\n");
    if (!doc)
        return;
    const struct ynode *a = ymap_get(doc->root, "a");
    CHECK_INT(a->len, 3);
    CHECK(memcmp(a->str, "1\0" "2", 3) == 0);
    long long i = 0;
    CHECK(!ynode_int(a, &i));
    json_t *j = ynode_to_json(a);
    CHECK(json_is_string(j) && json_string_length(j) == 3);
    json_decref(j);
    ydoc_free(doc);
}

static void test_ymap_get(void)
{
    struct ydoc *doc = PARSE_OK("a: 1\nab: 2\nl: [a]\n");
    if (!doc)
        return;
    CHECK_STR(ymap_get(doc->root, "a")->str, "1");
    CHECK_STR(ymap_get(doc->root, "ab")->str, "2");
    CHECK(ymap_get(doc->root, "b") == NULL);
    CHECK(ymap_get(doc->root, "") == NULL);
    CHECK(ymap_get(ymap_get(doc->root, "l"), "a") == NULL);   /* not a mapping */
    CHECK(ymap_get(ymap_get(doc->root, "a"), "a") == NULL);
    CHECK(ymap_get(NULL, "a") == NULL);
    ydoc_free(doc);
}

/* ---- JSON ---- */

static void test_to_json_types(void)
{
    const char *text =
        "int: 16\n"
        "neg: -3\n"
        "real: 1.0e-4\n"
        "whole_real: 2.0\n"
        "t: true\n"
        "f: False\n"
        "n: null\n"
        "empty:\n"
        "s: hello world\n"
        "qs: '42'\n"
        "list: [1, two, 3.5, ~]\n"
        "map: {b: 1, a: [x]}\n"
        "\"quoted key\": 1\n";
    struct ydoc *doc = PARSE_OK(text);
    if (!doc)
        return;
    json_t *j = ynode_to_json(doc->root);
    CHECK(json_is_integer(json_object_get(j, "int")));
    CHECK_INT(json_integer_value(json_object_get(j, "int")), 16);
    CHECK(json_is_real(json_object_get(j, "real")));
    CHECK_NEAR(json_real_value(json_object_get(j, "real")), 1e-4, 1e-18);
    CHECK(json_is_real(json_object_get(j, "whole_real")));
    CHECK(json_is_true(json_object_get(j, "t")));
    CHECK(json_is_false(json_object_get(j, "f")));
    CHECK(json_is_null(json_object_get(j, "n")));
    CHECK(json_is_null(json_object_get(j, "empty")));
    CHECK(json_is_string(json_object_get(j, "qs")));
    CHECK(json_is_integer(json_object_get(j, "quoted key")));
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(s, "{\"empty\":null,\"f\":false,\"int\":16,\"list\":[1,\"two\",3.5,null],"
                 "\"map\":{\"a\":[\"x\"],\"b\":1},\"n\":null,\"neg\":-3,\"qs\":\"42\","
                 "\"quoted key\":1,\"real\":0.0001,\"s\":\"hello world\",\"t\":true,"
                 "\"whole_real\":2.0}");
    free(s);
    json_decref(j);
    /* Key order follows the document. */
    s = json_text_ordered(ymap_get(doc->root, "map"));
    CHECK_STR(s, "{\"b\":1,\"a\":[\"x\"]}");
    free(s);
    ydoc_free(doc);
}

static void test_to_json_expands_aliases_and_merges(void)
{
    const char *text =
        "x-common: &c {rank: 8, targets: [q_proj, v_proj]}\n"
        "one: {<<: *c, rank: 4}\n"
        "two: [*c, *c]\n";
    struct ydoc *doc = PARSE_OK(text);
    if (!doc)
        return;
    char *s = json_text(doc->root);
    CHECK_STR(s, "{\"one\":{\"rank\":4,\"targets\":[\"q_proj\",\"v_proj\"]},"
                 "\"two\":[{\"rank\":8,\"targets\":[\"q_proj\",\"v_proj\"]},"
                 "{\"rank\":8,\"targets\":[\"q_proj\",\"v_proj\"]}],"
                 "\"x-common\":{\"rank\":8,\"targets\":[\"q_proj\",\"v_proj\"]}}");
    free(s);
    ydoc_free(doc);
}

int main(void)
{
    TEST(test_positions_block);
    TEST(test_positions_flow);
    TEST(test_positions_after_comments_and_blank_lines);
    TEST(test_empty_documents);
    TEST(test_alias_shares_anchored_node);
    TEST(test_anchor_redefinition_latest_wins);
    TEST(test_unknown_and_self_referencing_anchor);
    TEST(test_merge_explicit_keys_win);
    TEST(test_merge_list_first_listed_wins);
    TEST(test_merge_chains_and_inline_maps);
    TEST(test_merge_weight_counts_the_result);
    TEST(test_merge_quoted_key_is_plain_key);
    TEST(test_merge_of_non_mapping_refused);
    TEST(test_merged_key_is_not_a_duplicate);
    TEST(test_duplicate_keys);
    TEST(test_several_documents_refused);
    TEST(test_unsupported_tags);
    TEST(test_depth_limit);
    TEST(test_alias_expansion_budget);
    TEST(test_node_limit_without_aliases);
    TEST(test_non_scalar_keys_refused);
    TEST(test_syntax_error_has_position);
    TEST(test_diagnostics_append);
    TEST(test_ynode_int);
    TEST(test_ynode_float);
    TEST(test_ynode_bool_and_null);
    TEST(test_ynode_is_string_and_type_name);
    TEST(test_embedded_nul_scalar);
    TEST(test_ymap_get);
    TEST(test_to_json_types);
    TEST(test_to_json_expands_aliases_and_merges);
    return test_report();
}
