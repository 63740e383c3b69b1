/*
 * stories260k.h - where unit tests find llama2.c's stories260K (stories260K.bin and
 * tok512.bin): in models/stories260K under $MAINLINE_SHARED, else under ../shared
 * (tests run from the repository root). A machine without it skips those tests with
 * a "skip:" line, which tests/run-tests.sh repeats in its summary.
 */
#ifndef MAINLINE_TEST_STORIES260K_H
#define MAINLINE_TEST_STORIES260K_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fsutil.h"

/* Writes the stories260K directory into dir (size bytes) and returns 0 when both its
 * files are readable; else empties dir, prints "skip: <what>: ..." and returns -1. */
static inline int stories260k_dir(char *dir, size_t size, const char *what)
{
    const char *env = getenv("MAINLINE_SHARED");
    snprintf(dir, size, "%s/models/stories260K", env && *env ? env : "../shared");
    char *bin = path_join(dir, "stories260K.bin"), *tok = path_join(dir, "tok512.bin");
    int found = access(bin, R_OK) == 0 && access(tok, R_OK) == 0;
    free(bin);
    free(tok);
    if (found)
        return 0;
    printf("skip: %s: no stories260K.bin and tok512.bin in %s (set MAINLINE_SHARED to the "
           "directory holding models/)\n", what, dir);
    dir[0] = '\0';
    return -1;
}

#endif
