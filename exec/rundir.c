/* rundir.c - job directories, archiving and command expansion (see rundir.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "job.h"
#include "fsutil.h"
#include "rundir.h"
#include "sweep.h"
#include "sweep_params.h"

char *rundir_path(const char *root, const char *sweep, int version, const char *run_id)
{
    struct strbuf sb = STRBUF_INIT;
    if (version <= 1)
        sb_addf(&sb, "%s/runs/%s/%s", root, sweep, run_id);
    else
        sb_addf(&sb, "%s/runs/%s@v%d/%s", root, sweep, version, run_id);
    return sb_detach(&sb);
}

int rundir_archive(const char *dir, int attempt, struct strbuf *err)
{
    static const char *const files[] = { JOB_FILE_METRICS, JOB_FILE_STDOUT, JOB_FILE_STDERR,
                                         JOB_FILE_EXIT, JOB_DIR_CHECKPOINTS };
    struct strbuf to = STRBUF_INIT, from = STRBUF_INIT;
    sb_addf(&to, "%s/attempt-%d", dir, attempt);
    int rc = mkdir_p(to.buf, err);
    size_t base = to.len;
    for (size_t i = 0; rc == 0 && i < sizeof(files) / sizeof(files[0]); i++) {
        sb_reset(&from);
        sb_addf(&from, "%s/%s", dir, files[i]);
        to.len = base;
        sb_addf(&to, "/%s", files[i]);
        if (rename(from.buf, to.buf) < 0 && errno != ENOENT) {
            sb_addf(err, "cannot archive '%s': %s", from.buf, strerror(errno));
            rc = -1;
        }
    }
    sb_free(&to);
    sb_free(&from);
    return rc;
}

/* The text of a value for a command line: strings as they are, numbers short. */
static char *value_for_argv(const json_t *v)
{
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    if (json_is_real(v)) {
        char buf[64];
        /* Prefer the shortest text that reads back the same (3e-4, not 0.0003000...). */
        for (int p = 1; p <= 17; p++) {
            snprintf(buf, sizeof(buf), "%.*g", p, json_real_value(v));
            if (strtod(buf, NULL) == json_real_value(v))
                break;
        }
        return xstrdup(buf);
    }
    if (json_is_object(v) && json_object_get(v, "path"))
        return xstrdup(json_string_value(json_object_get(v, "path")));
    return param_value_text(v);
}

static int expand_one(const char *s, const json_t *vars, const json_t *params,
                      struct strbuf *out, struct strbuf *err)
{
    for (const char *p = s; *p; p++) {
        if (*p == '{' && p[1] == '{') {
            sb_addc(out, '{');
            p++;
            continue;
        }
        if (*p != '{') {
            sb_addc(out, *p);
            continue;
        }
        const char *end = strchr(p, '}');
        if (!end) {
            sb_addf(err, "unclosed '{' in '%s'", s);
            return -1;
        }
        char *name = xstrndup(p + 1, (size_t)(end - p - 1));
        const json_t *v = json_object_get(vars, name);
        if (!v)
            v = json_object_get(params, param_canonical_name(name));
        if (!v) {
            sb_addf(err, "the command uses {%s}, which this run does not have", name);
            free(name);
            return -1;
        }
        char *text = value_for_argv(v);
        sb_adds(out, text);
        free(text);
        free(name);
        p = end;
    }
    return 0;
}

char **command_expand(const json_t *cmd, const json_t *vars, const json_t *params,
                      struct strbuf *err)
{
    size_t n = json_array_size(cmd);
    char **argv = xcalloc(n + 1, sizeof(*argv));
    for (size_t i = 0; i < n; i++) {
        struct strbuf sb = STRBUF_INIT;
        if (expand_one(json_string_value(json_array_get(cmd, i)), vars, params, &sb, err) < 0) {
            sb_free(&sb);
            argv_free(argv);
            return NULL;
        }
        argv[i] = sb_detach(&sb);
    }
    return argv;
}

void argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}
