/* bench_tmpdir.c - a benchmark's scratch directory (see bench_tmpdir.h). */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_tmpdir.h"
#include "error.h"

static char tmpdir[4096];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void bench_tmpdir_remove(void)
{
    if (tmpdir[0])
        nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    tmpdir[0] = '\0';
}

const char *bench_tmpdir_create(const char *name)
{
    static int registered;
    const char *base = getenv("TMPDIR");
    bench_tmpdir_remove();
    snprintf(tmpdir, sizeof(tmpdir), "%s/mainline-bench-%s-XXXXXX", base && *base ? base : "/tmp",
             name);
    if (!mkdtemp(tmpdir))
        die("cannot create a temporary directory: %s", strerror(errno));
    if (!registered)
        atexit(bench_tmpdir_remove);
    registered = 1;
    return tmpdir;
}
