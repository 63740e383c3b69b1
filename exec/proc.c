/* proc.c - process identity from /proc (see proc.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

/* Fields after the command name, which may itself contain spaces and ')'. */
static int read_stat(pid_t pid, char *state, int64_t *start)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    /* p+2 is field 3 (state); starttime is field 22. */
    *state = p[2];
    p += 2;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (!p)
        return -1;
    *start = strtoll(p, NULL, 10);
    return 0;
}

int64_t proc_start_time(pid_t pid)
{
    char state;
    int64_t start;
    return read_stat(pid, &state, &start) == 0 ? start : 0;
}

int proc_alive(pid_t pid, int64_t start)
{
    char state;
    int64_t got;
    if (pid <= 0 || read_stat(pid, &state, &got) < 0)
        return 0;
    if (state == 'Z' || state == 'X')
        return 0;
    return start == 0 || got == start;
}

const char *proc_hostname(void)
{
    static char name[256];
    if (!name[0] && gethostname(name, sizeof(name) - 1) < 0)
        snprintf(name, sizeof(name), "localhost");
    return name;
}
