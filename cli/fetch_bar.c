/*
 * fetch_bar.c - how the CLI shows downloads: a progress bar on stderr when it is
 * a terminal (redrawn at most ten times a second), nothing otherwise; retry notes
 * always, as warnings.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fetch_bar.h"

struct bar_state {
    double last_draw;
    int drawn;
};

static void human(char *out, size_t cap, int64_t bytes)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void bar_progress(void *ud, const char *name, int64_t done, int64_t total)
{
    struct bar_state *b = ud;
    double t = clock_now_s();
    if (b->drawn && t - b->last_draw < 0.1 && done != total)
        return;
    b->last_draw = t;
    b->drawn = 1;
    char got[32], all[32];
    human(got, sizeof(got), done);
    if (total <= 0) {
        fprintf(stderr, "\r  %-32.32s %s      ", name, got);
        return;
    }
    human(all, sizeof(all), total);
    enum { WIDTH = 30 };
    int fill = (int)((double)done / (double)total * WIDTH);
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r  %-32.32s [%s] %3d%%  %s / %s   ", name, bar,
            (int)(100.0 * (double)done / (double)total), got, all);
}

static void bar_done(void *ud, const char *name)
{
    struct bar_state *b = ud;
    (void)name;
    if (b->drawn)
        fputc('\n', stderr);
    b->drawn = 0;
}

static void bar_note(void *ud, const char *msg)
{
    bar_done(ud, NULL);
    warning("%s", msg);
}

const struct fetch_observer *fetch_bar_observer(void)
{
    static struct bar_state state;
    static struct fetch_observer tty = { bar_progress, bar_done, bar_note, &state };
    static struct fetch_observer quiet = { NULL, NULL, bar_note, &state };
    return isatty(STDERR_FILENO) ? &tty : &quiet;
}
