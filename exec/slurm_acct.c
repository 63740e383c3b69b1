/*
 * slurm_acct.c - squeue's and sacct's text, parsed (slurm_acct.h). Slurm 22.05's
 * JSON output cannot be used (squeue --json ignores -j; sacct --json gives wrong exit
 * codes), so this reads `-o`/`-P` text, '|' between fields.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "slurm_acct.h"
#include "strbuf.h"

/* ---- times and sizes ---- */

/* Up to max fields of digits separated by ':' into f[]; their count, or -1. */
static int colon_fields(const char *s, long long *f, int max)
{
    int n = 0;
    for (;;) {
        if (!isdigit((unsigned char)*s) || n == max)
            return -1;
        char *end;
        errno = 0;
        f[n++] = strtoll(s, &end, 10);
        if (errno)
            return -1;
        if (!*end)
            return n;
        if (*end != ':')
            return -1;
        s = end + 1;
    }
}

int64_t slurm_parse_elapsed(const char *s)
{
    if (!s || !*s)
        return -1;
    long long days = 0, f[3];
    const char *dash = strchr(s, '-');
    if (dash) {
        char *end;
        if (!isdigit((unsigned char)*s))
            return -1;
        days = strtoll(s, &end, 10);
        if (end != dash)
            return -1;
        s = dash + 1;
    }
    int n = colon_fields(s, f, 3);
    if (n < 0)
        return -1;
    long long sec;
    if (dash)   /* D-H, D-H:M, D-H:M:S */
        sec = f[0] * 3600 + (n > 1 ? f[1] * 60 : 0) + (n > 2 ? f[2] : 0);
    else if (n == 3)   /* H:M:S */
        sec = f[0] * 3600 + f[1] * 60 + f[2];
    else   /* M, M:S */
        sec = f[0] * 60 + (n > 1 ? f[1] : 0);
    return (int64_t)(days * 86400 + sec);
}

int64_t slurm_parse_size(const char *s)
{
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    char *end;
    double v = strtod(s, &end);
    static const char units[] = "KMGTP";
    const char *u = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
    if (*end && (!u || end[1]))
        return -1;
    for (const char *k = units; u && k <= u; k++)
        v *= 1024;
    return v >= 0 && v < 9e18 ? (int64_t)llround(v) : -1;
}

/* ---- lines ---- */

/* The next '|'-separated field of *line into buf (cut to len), advancing *line past
 * it; 0 when there was none. The last field takes the rest of the line. */
static int field(const char **line, char *buf, size_t len, int last)
{
    if (!*line)
        return 0;
    const char *bar = last ? NULL : strchr(*line, '|');
    size_t n = bar ? (size_t)(bar - *line) : strcspn(*line, "\r\n");
    snprintf(buf, len, "%.*s", (int)n, *line);
    *line = bar ? bar + 1 : NULL;
    return 1;
}

int slurm_squeue_parse(const char *line, struct slurm_squeue_line *out)
{
    memset(out, 0, sizeof(*out));
    out->elapsed_s = -1;
    char id[32], elapsed[32];
    const char *p = line;
    if (!field(&p, id, sizeof(id), 0) || !field(&p, out->state, sizeof(out->state), 0) ||
        !out->state[0])
        return -1;
    char *end;
    out->id = strtoll(id, &end, 10);
    if (end == id || *end || out->id <= 0)
        return -1;
    /* the rest may be missing: an older format, or a line cut short */
    if (field(&p, out->partition, sizeof(out->partition), 0) &&
        field(&p, out->nodes, sizeof(out->nodes), 0) && field(&p, elapsed, sizeof(elapsed), 0))
        out->elapsed_s = slurm_parse_elapsed(elapsed);
    field(&p, out->reason, sizeof(out->reason), 1);
    if (!strcmp(out->reason, "None"))
        out->reason[0] = '\0';
    return 0;
}

void slurm_acct_init(struct slurm_acct *a, int64_t id)
{
    memset(a, 0, sizeof(*a));
    a->id = id;
    a->elapsed_s = -1;
    a->max_rss = -1;
}

int slurm_state_ended(const char *state)
{
    static const char *const ended[] = { "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT",
                                         "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL",
                                         "DEADLINE", "PREEMPTED", "REVOKED" };
    for (size_t i = 0; i < sizeof(ended) / sizeof(ended[0]); i++)
        if (!strcmp(state, ended[i]))
            return 1;
    return 0;
}

static int ran_somewhere(const char *nodes)
{
    return nodes[0] && strcmp(nodes, "None assigned") != 0;
}

int slurm_acct_settled(const struct slurm_acct *a)
{
    return a->listed && slurm_state_ended(a->state) &&
           (a->batch_ended || !ran_somewhere(a->nodes));
}

int slurm_acct_line(const char *line, struct slurm_acct *accts, size_t n)
{
    char id[64], state[64], code[32], elapsed[32], rss[32], nodes[256], part[64];
    const char *p = line;
    if (!field(&p, id, sizeof(id), 0) || !field(&p, state, sizeof(state), 0) ||
        !field(&p, code, sizeof(code), 0) || !field(&p, elapsed, sizeof(elapsed), 0) ||
        !field(&p, rss, sizeof(rss), 0) || !field(&p, nodes, sizeof(nodes), 0) ||
        !field(&p, part, sizeof(part), 1))
        return -1;
    char *end;
    long long job = strtoll(id, &end, 10);
    if (end == id || (*end && *end != '.'))
        return -1;
    const char *step = *end == '.' ? end + 1 : NULL;
    struct slurm_acct *a = NULL;
    for (size_t i = 0; i < n && !a; i++)
        if (accts[i].id == job)
            a = &accts[i];
    if (!a)
        return 0;
    state[strcspn(state, " ")] = '\0';   /* "CANCELLED by 0" */
    int64_t bytes = slurm_parse_size(rss);
    if (bytes > a->max_rss)
        a->max_rss = bytes;
    if (step) {
        if (!strcmp(step, "batch")) {
            a->batch_listed = 1;
            a->batch_ended = slurm_state_ended(state);
        }
        return 1;
    }
    a->listed = 1;
    snprintf(a->state, sizeof(a->state), "%.*s", (int)sizeof(a->state) - 1, state);
    if (sscanf(code, "%d:%d", &a->exit_code, &a->exit_signal) != 2)
        a->exit_code = a->exit_signal = 0;
    a->elapsed_s = slurm_parse_elapsed(elapsed);
    snprintf(a->nodes, sizeof(a->nodes), "%s", ran_somewhere(nodes) ? nodes : "");
    snprintf(a->partition, sizeof(a->partition), "%.*s", (int)sizeof(a->partition) - 1, part);
    return 1;
}

/* ---- sacct ---- */

enum slurm_acct_answer slurm_acct_query(struct slurm_acct *accts, size_t n, double timeout_s)
{
    if (!n)
        return SLURM_ACCT_OK;
    struct strbuf ids = STRBUF_INIT, out = STRBUF_INIT, err = STRBUF_INIT;
    for (size_t i = 0; i < n; i++)
        sb_addf(&ids, "%s%lld", i ? "," : "", (long long)accts[i].id);
    char *argv[] = { "sacct", "-n", "-P", "--noconvert", "-j", ids.buf,
                     "-o", SLURM_SACCT_FIELDS, NULL };
    int rc = command_run(argv, timeout_s, &out, &err);
    enum slurm_acct_answer answer = SLURM_ACCT_FAILED;
    if (rc == 0) {
        answer = SLURM_ACCT_OK;
        for (char *line = out.buf; line && *line;) {
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = '\0';
            slurm_acct_line(line, accts, n);
            line = nl ? nl + 1 : NULL;
        }
    } else if ((rc == 127 && err.buf && strstr(err.buf, "cannot run")) ||
               (err.buf && strstr(err.buf, "accounting storage is disabled"))) {
        answer = SLURM_ACCT_NONE;
    }
    sb_free(&ids);
    sb_free(&out);
    sb_free(&err);
    return answer;
}
