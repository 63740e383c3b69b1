/*
 * cmd_data_audit.c - `mainline data audit --sweep S [--json FILE]`: run the
 * sweep's data integrity gates (data/audit.h), print the report, write it as
 * JSON (atomically) when asked, and exit 1 when a gate that is not waived fails.
 * It builds the plan (load, fetch what is remote, hash, audit) and records
 * nothing; `mainline plan` runs the same gates and refuses to record a failing
 * sweep.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli_audit_print.h"
#include "cmd_data.h"
#include "fetch_bar.h"
#include "fsutil.h"
#include "plan.h"

const char cmd_data_audit_usage[] = "usage: mainline data audit --sweep S [--json FILE]\n";

int cli_audit_write_json(const char *path, const json_t *report)
{
    char *text = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    struct strbuf sb = STRBUF_INIT, err = STRBUF_INIT;
    sb_adds(&sb, text);
    sb_addc(&sb, '\n');
    free(text);
    int rc = write_file_atomic(path, sb.buf, sb.len, &err);
    if (rc < 0)
        error("%s", err.buf);
    sb_free(&sb);
    sb_free(&err);
    return rc;
}

void cli_audit_print_verdict(const json_t *report, FILE *out)
{
    const char *name;
    const json_t *g;
    struct strbuf failed = STRBUF_INIT, waived = STRBUF_INIT;
    json_object_foreach(json_object_get(report, "gates"), name, g) {
        const char *st = json_string_value(json_object_get(g, "status"));
        if (!strcmp(st, "fail"))
            sb_addf(&failed, "%s%s", failed.len ? ", " : "", name);
        else if (!strcmp(st, "waived"))
            sb_addf(&waived, "%s%s", waived.len ? ", " : "", name);
    }
    if (failed.len)
        fprintf(out, "\naudit failed: %s (fix the data, or waive in the sweep: audit: {waive: "
                "[%s]})\n", failed.buf, failed.buf);
    else
        fprintf(out, "\naudit passed%s%s%s\n", waived.len ? " (waived: " : "", waived.buf ?: "",
                waived.len ? ")" : "");
    sb_free(&failed);
    sb_free(&waived);
}

int cmd_data_audit(int argc, char **argv, struct cli *cli)
{
    (void)cli;
    static const struct option opts[] = {
        { "sweep", required_argument, NULL, 's' },
        { "json", required_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    const char *sweep = NULL, *json = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 's')
            sweep = optarg;
        else if (c == 'j')
            json = optarg;
        else
            return cli_usage(cmd_data_audit_usage);
    }
    if (!sweep || optind != argc)
        return cli_usage(cmd_data_audit_usage);
    /* What plan does up to recording: load, fetch, hash, audit. */
    struct diag_list dl = { 0 };
    struct plan p;
    if (plan_build(sweep, fetch_bar_observer(), &p, &dl) < 0) {
        for (size_t i = 0; i < dl.n; i++)
            error("%s", dl.msgs[i]);
        diag_free(&dl);
        return EXIT_FAILURES;
    }
    diag_free(&dl);
    cli_audit_print(p.audit, stdout);
    cli_audit_print_verdict(p.audit, stdout);
    int rc = audit_passed(p.audit) ? EXIT_OK : EXIT_FAILURES;
    if (json && cli_audit_write_json(json, p.audit) < 0)
        rc = EXIT_FATAL;
    plan_free(&p);
    return rc;
}
