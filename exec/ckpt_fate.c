/* ckpt_fate.c - kept or deleted, and the sha256 of what was kept (see ckpt_fate.h). */
#include <stdlib.h>
#include <string.h>

#include "ckpt_digests.h"
#include "ckpt_fate.h"
#include "fsutil.h"

/*
 * What became of one checkpoint: 0 kept (*out filled), 1 gone, -1 unreadable. The
 * supervisor's digest is taken when the checkpoint still has the size it hashed (a stat;
 * a directory's entries walked, never its bytes read). Without one, the checkpoint is
 * read here, in the orchestrator's loop, which is rare: a run that ended under a mainline
 * older than checkpoints.sha256 and is reconciled now, a supervisor that could not write
 * the file (a full disk) or read the checkpoint, a checkpoint changed after its job
 * ended, or one only a `parse_stdout` rule reported (the supervisor reads metrics.jsonl).
 */
static int fate_of(const char *path, const struct ckpt_digest_entry *e,
                   struct file_digest *out, struct strbuf *err)
{
    int64_t bytes;
    int rc = e ? ckpt_size(path, &bytes, err) : 0;
    if (rc != 0)
        return rc;
    if (e && bytes == e->bytes) {
        memcpy(out->sha256, e->sha256, sizeof(out->sha256));
        out->bytes = e->bytes;
        out->rows = -1;
        return 0;
    }
    return ckpt_digest(path, out, err);
}

enum reg_status ckpt_fate_record(struct registry *reg, int64_t run, const char *run_dir,
                                 struct strbuf *err)
{
    struct reg_ckpt_file *files;
    size_t n;
    enum reg_status st = reg_run_unsettled_checkpoints(reg, run, &files, &n);
    if (st != REG_OK || n == 0) {
        reg_ckpt_files_free(files, n);
        return st;
    }
    struct reg_ckpt_fate *fates = xcalloc(n, sizeof(*fates));
    struct file_digest *digests = xcalloc(n, sizeof(*digests));
    struct ckpt_digests job;
    if (ckpt_digests_read(run_dir, &job, err) < 0)
        sb_adds(err, "; ");   /* said; every checkpoint is then hashed here */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        char *path = files[i].path[0] == '/' ? xstrdup(files[i].path)
                                              : path_join(run_dir, files[i].path);
        int rc = fate_of(path, ckpt_digests_find(&job, files[i].path), &digests[m], err);
        free(path);
        if (rc < 0)
            continue;   /* unreadable: neither kept nor deleted for sure */
        fates[m].id = files[i].id;
        fates[m].kept = rc == 0;
        fates[m].sha256 = digests[m].sha256;
        fates[m].bytes = digests[m].bytes;
        m++;
    }
    ckpt_digests_free(&job);
    st = reg_checkpoints_settle(reg, fates, m);
    free(digests);
    free(fates);
    reg_ckpt_files_free(files, n);
    return st;
}
