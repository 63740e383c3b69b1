/*
 * provenance.c - the git state of the repository holding a file, read with libgit2
 * (see provenance.h).
 *
 * What it is: a read-only snapshot for the run registry -- work tree root, HEAD
 * commit, branch, a dirty flag and the patch from HEAD to the work tree. What it is
 * not: a git client. It never writes to the repository (not even the index's stat
 * cache), never prints and never exits; trouble inside git is recorded in `status`.
 *
 * Ownership: every string in struct provenance is malloc'd and owned by the struct.
 * provenance_free() frees them all and zeroes the struct, so a released or
 * zeroed struct may be released again or filled again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <git2.h>

#include "fsutil.h"
#include "provenance.h"

/* A provenance record, not a backup: a patch beyond this many bytes is cut short. */
#define PROV_DIFF_LIMIT ((size_t)8 << 20)
#define PROV_DIFF_TRUNCATED "[mainline: diff truncated at 8 MiB]\n"

/* Our callback's "stop printing" value; positive so it cannot be a libgit2 error. */
#define PATCH_STOP 1

/* ---- paths ---- */

/* The directory to start the repository search from. Caller frees. */
static char *search_dir(const char *path, int is_dir)
{
    return is_dir ? xstrdup(path) : path_dirname(path);
}

/* libgit2 reports the work tree as "/x/y/"; we record "/x/y". Caller frees. */
static char *without_trailing_slash(const char *dir)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    return xstrndup(dir, len);
}

/* ---- HEAD ---- */

/* "refs/heads/main" -> "main"; anything outside refs/heads/ keeps its full name. */
static const char *branch_shorthand(const char *refname)
{
    static const char prefix[] = "refs/heads/";
    if (strncmp(refname, prefix, sizeof(prefix) - 1) == 0)
        return refname + sizeof(prefix) - 1;
    return refname;
}

/*
 * Fill out->branch and out->commit. *born is set to 0 for a branch without commits,
 * in which case *oid is left alone. Returns 0 or a libgit2 error code.
 *
 * HEAD is read as a reference rather than through git_repository_head(), because
 * on an unborn branch the latter fails, yet the branch name is still known: it is
 * the symbolic target of HEAD.
 */
static int read_head(git_repository *repo, struct provenance *out, git_oid *oid, int *born)
{
    git_reference *head = NULL;
    int rc = git_reference_lookup(&head, repo, "HEAD");
    if (rc < 0)
        return rc;
    if (git_reference_type(head) == GIT_REFERENCE_SYMBOLIC)
        out->branch = xstrdup(branch_shorthand(git_reference_symbolic_target(head)));
    else
        out->branch = xstrdup("HEAD");   /* detached */
    git_reference_free(head);

    /* A symbolic HEAD whose branch does not exist yet is an unborn branch. */
    rc = git_reference_name_to_id(oid, repo, "HEAD");
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        *born = 0;
        return 0;
    }
    if (rc < 0)
        return rc;
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof(hex), oid);
    out->commit = xstrdup(hex);
    *born = 1;
    return 0;
}

/* ---- the patch ---- */

struct patch_sink {
    struct strbuf text;
    int truncated;
};

/* Append at most what still fits under PROV_DIFF_LIMIT; note when something did not. */
static void sink_add(struct patch_sink *sink, const char *data, size_t len)
{
    size_t room = PROV_DIFF_LIMIT - sink->text.len;
    if (len > room) {
        len = room;
        sink->truncated = 1;
    }
    sb_add(&sink->text, data, len);
}

/*
 * The same text git_diff_to_buf() would produce: libgit2 leaves the '+', '-' and ' '
 * markers out of content lines, every other line kind carries its own text. We print
 * through a callback instead of git_diff_to_buf() so that a huge patch is never held
 * in memory whole, only its first PROV_DIFF_LIMIT bytes.
 */
static int patch_line(const git_diff_delta *delta, const git_diff_hunk *hunk,
                      const git_diff_line *line, void *payload)
{
    struct patch_sink *sink = payload;
    (void)delta;
    (void)hunk;
    if (line->origin == GIT_DIFF_LINE_ADDITION || line->origin == GIT_DIFF_LINE_DELETION
        || line->origin == GIT_DIFF_LINE_CONTEXT) {
        char origin = line->origin;
        sink_add(sink, &origin, 1);
    }
    sink_add(sink, line->content, line->content_len);
    return sink->truncated ? PATCH_STOP : 0;
}

/* Print the whole diff as a patch into out->diff, truncated past PROV_DIFF_LIMIT. */
static int render_patch(git_diff *diff, struct provenance *out)
{
    struct patch_sink sink = { STRBUF_INIT, 0 };
    int rc = git_diff_print(diff, GIT_DIFF_FORMAT_PATCH, patch_line, &sink);
    if (rc == PATCH_STOP && sink.truncated) {
        git_error_clear();   /* libgit2 notes the early stop as an error; it is not one */
        rc = 0;
        if (sink.text.len > 0 && sink.text.buf[sink.text.len - 1] != '\n')
            sb_addc(&sink.text, '\n');
        sb_adds(&sink.text, PROV_DIFF_TRUNCATED);
    }
    if (rc == 0)
        out->diff = sb_detach(&sink.text);
    sb_free(&sink.text);
    return rc;
}

/* The tree of HEAD's commit, or NULL in *tree for an unborn branch (head == NULL). */
static int head_tree(git_repository *repo, const git_oid *head, git_tree **tree)
{
    *tree = NULL;
    if (!head)
        return 0;
    git_commit *commit = NULL;
    int rc = git_commit_lookup(&commit, repo, head);
    if (rc == 0)
        rc = git_commit_tree(tree, commit);
    git_commit_free(commit);
    return rc;
}

/*
 * Fill out->dirty and out->diff. The diff is HEAD's tree (or the empty tree) against
 * the work tree through the index, like `git diff HEAD`: staged and unstaged changes
 * both count, untracked and ignored files do not (libgit2 leaves them out unless
 * asked), so "dirty" means exactly "this patch is not empty" -- the same test as
 * `git describe --dirty`. A file whose mtime changed but whose content did not is
 * hashed by libgit2 and not reported.
 *
 * Default options on purpose: with GIT_DIFF_INCLUDE_TYPECHANGE libgit2 prints a
 * symlink that became a file as two mode lines and drops the content, whereas by
 * default it prints a deletion and an addition, as git does.
 */
static int read_diff(git_repository *repo, const git_oid *head, struct provenance *out)
{
    git_tree *tree = NULL;
    git_diff *diff = NULL;
    int rc = head_tree(repo, head, &tree);
    if (rc == 0)
        rc = git_diff_tree_to_workdir_with_index(&diff, repo, tree, NULL);
    if (rc == 0)
        rc = git_diff_find_similar(diff, NULL);   /* renames as git shows them */
    if (rc == 0 && git_diff_num_deltas(diff) > 0) {
        out->dirty = 1;
        rc = render_patch(diff, out);
    }
    git_diff_free(diff);
    git_tree_free(tree);
    return rc;
}

/* ---- collecting ---- */

static void clear_fields(struct provenance *p)
{
    free(p->status);
    free(p->root);
    free(p->commit);
    free(p->branch);
    free(p->diff);
    memset(p, 0, sizeof(*p));
}

/* Replace whatever was gathered by the error: half a record would mislead. */
static void record_git_error(struct provenance *out, int rc)
{
    const git_error *e = git_error_last();
    struct strbuf sb = STRBUF_INIT;
    if (e && e->message)
        sb_addf(&sb, "error: %s", e->message);
    else
        sb_addf(&sb, "error: libgit2 failed with code %d", rc);
    clear_fields(out);
    out->status = sb_detach(&sb);
}

static int read_repo(git_repository *repo, struct provenance *out)
{
    const char *workdir = git_repository_workdir(repo);
    if (workdir)
        out->root = without_trailing_slash(workdir);
    git_oid head;
    int born = 0;
    int rc = read_head(repo, out, &head, &born);
    if (rc < 0 || !workdir)
        return rc;   /* a bare repository has no work tree to be dirty */
    return read_diff(repo, born ? &head : NULL, out);
}

/* Everything between git_libgit2_init() and its shutdown; errors are recorded. */
static void collect_from(const char *dir, struct provenance *out)
{
    git_repository *repo = NULL;
    /*
     * Flags 0: search upwards from dir, but do not take GIT_DIR and friends from the
     * environment -- we want the repository holding this path, not the caller's.
     * The ceiling list is honoured the way the git command line honours it.
     */
    int rc = git_repository_open_ext(&repo, dir, 0, getenv("GIT_CEILING_DIRECTORIES"));
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        out->status = xstrdup("not a git repository");
        return;
    }
    if (rc == 0)
        rc = read_repo(repo, out);
    git_repository_free(repo);
    if (rc < 0)
        record_git_error(out, rc);
    else
        out->status = xstrdup("ok");
}

int provenance_collect(const char *path, struct provenance *out, struct strbuf *err)
{
    memset(out, 0, sizeof(*out));
    struct stat st;
    if (stat(path, &st) < 0) {
        sb_addf(err, "cannot stat '%s': %s", path, strerror(errno));
        return -1;
    }
    char *dir = search_dir(path, S_ISDIR(st.st_mode));
    /* Reference-counted, so a caller that already initialised libgit2 is unaffected. */
    int rc = git_libgit2_init();
    if (rc < 0) {
        record_git_error(out, rc);
    } else {
        collect_from(dir, out);
        git_libgit2_shutdown();
    }
    free(dir);
    return 0;
}

void provenance_free(struct provenance *p)
{
    clear_fields(p);
}
