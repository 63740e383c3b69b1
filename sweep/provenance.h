/*
 * provenance.h - where the code came from: the git state of the repository that
 * holds a file (libgit2). Never fails on "not a git repository": that is recorded.
 */
#ifndef MAINLINE_PROVENANCE_H
#define MAINLINE_PROVENANCE_H

#include "strbuf.h"

struct provenance {
    char *status;   /* "ok", "not a git repository", or "error: <libgit2 message>" */
    char *root;     /* work tree root, or NULL */
    char *commit;   /* 40 hex of HEAD, NULL for a repository without commits */
    char *branch;   /* branch name; "HEAD" when detached; NULL when unknown */
    int dirty;      /* 1 when tracked files (index or work tree) differ from HEAD */
    char *diff;     /* patch of HEAD -> work tree (with index); NULL when clean */
};

/*
 * Fill *out for the repository containing `path` (a file or directory). Returns 0
 * in every case where a struct was filled, including "not a git repository" and a
 * libgit2 error (recorded in status, not fatal); -1 only when path does not exist,
 * with a message in *err. Release with provenance_free().
 */
int provenance_collect(const char *path, struct provenance *out, struct strbuf *err);
void provenance_free(struct provenance *p);   /* accepts a zeroed struct */

#endif
