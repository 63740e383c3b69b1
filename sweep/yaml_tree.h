/*
 * yaml_tree.h - a YAML document as a tree of nodes that remember where they were
 * written (1-based line and column), built with libyaml's event parser.
 *
 * What it does beyond libyaml: resolves anchors and aliases (an alias shares the
 * anchored node, so the tree is a DAG), applies `<<` merge keys (explicit keys win,
 * then merged maps in the order listed), refuses duplicate keys, non-scalar keys,
 * several documents, unknown tags, nesting deeper than YTREE_MAX_DEPTH, documents
 * of more than YTREE_MAX_NODES written nodes (a cap on memory) and documents whose
 * aliases, all together, stand for more than YTREE_MAX_ALIAS_NODES nodes (the
 * "billion laughs" guard). So the expanded tree has at most the sum of the two
 * limits, and walking it is always cheap.
 *
 * It knows nothing about sweeps. Ownership: every node belongs to its ydoc and lives
 * until ydoc_free(); pointers into the tree are borrowed.
 */
#ifndef MAINLINE_YAML_TREE_H
#define MAINLINE_YAML_TREE_H

#include <stddef.h>

#include <jansson.h>

#include "diag.h"

#define YTREE_MAX_DEPTH 64
#define YTREE_MAX_NODES 1000000       /* nodes written in the document */
#define YTREE_MAX_ALIAS_NODES 100000  /* nodes reached through aliases, counted per alias */

enum ynode_kind { YNODE_SCALAR, YNODE_SEQ, YNODE_MAP };

struct ypair;

struct ynode {
    enum ynode_kind kind;
    int line, col;            /* where the node starts, 1-based */
    const char *str;          /* scalar text, NUL-terminated */
    size_t len;               /* scalar length (may contain NUL bytes) */
    int quoted;               /* scalar was quoted or tagged !!str: always a string */
    size_t n;                 /* items of a sequence, pairs of a mapping */
    struct ynode **items;     /* sequence items */
    struct ypair *pairs;      /* mapping pairs, in written order (merged pairs last) */
    size_t weight;            /* nodes in the fully expanded subtree (saturates) */
};

struct ypair {
    struct ynode *key;        /* always a scalar */
    struct ynode *value;
};

struct ydoc {
    char *file;               /* the label used in diagnostics */
    struct ynode *root;       /* NULL for an empty document */
    struct ynode **nodes;     /* every allocated node, for ydoc_free */
    size_t n_nodes, alloc_nodes;
};

/*
 * Parse `len` bytes of YAML. On success returns 0 and *out (caller frees with
 * ydoc_free). On any error returns -1, *out is NULL and diags holds
 * "file:line:col: ..." messages.
 */
int ydoc_parse(const char *file, const char *text, size_t len, struct ydoc **out,
               struct diag_list *diags);
void ydoc_free(struct ydoc *doc);   /* accepts NULL */

/* Value for `key` in a mapping, or NULL (also when node is not a mapping). */
const struct ynode *ymap_get(const struct ynode *map, const char *key);

/* Typed views of plain scalars (YAML 1.2 core schema). Each returns 1 when the node
 * is a scalar of that type and stores the value, else 0. Quoted scalars are strings. */
int ynode_is_null(const struct ynode *n);
int ynode_bool(const struct ynode *n, int *out);
int ynode_int(const struct ynode *n, long long *out);
int ynode_float(const struct ynode *n, double *out);   /* ints count as floats */
int ynode_is_string(const struct ynode *n);  /* a scalar that is not null/bool/number */

/* A word for the node's type in messages: "a mapping", "a list", "a number"... */
const char *ynode_type_name(const struct ynode *n);

/* The node as JSON (ints, reals, booleans, null, strings; aliases expanded).
 * Returns a new reference. */
json_t *ynode_to_json(const struct ynode *n);

#endif
