/*
 * cmd_select.c - `mainline select SWEEP` and `mainline report SWEEP`.
 *
 * select applies the frozen rules to the latest version of SWEEP (reports/
 * select.c), replaces the selections recorded under its rules hash in one
 * transaction, and prints the decision. report recomputes the same selection,
 * refuses when it differs from the recorded one (the registry changed since
 * `select`, or select never ran), and renders it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fsutil.h"
#include "reg_results.h"
#include "report.h"
#include "select.h"

static const char select_usage[] = "usage: mainline select SWEEP [--json]\n";
static const char report_usage[] =
    "usage: mainline report SWEEP [--format md|html|csv|json] [-o FILE]\n";

/* Load and compute; prints why not. Returns an exit code; *res and *sel are
 * always left for the caller to release, even when the registry did not open. */
static int compute(struct cli *cli, const char *name, struct reg_results *res,
                   struct selection *sel)
{
    memset(res, 0, sizeof(*res));
    memset(sel, 0, sizeof(*sel));
    struct registry *reg = cli_registry(cli);
    if (!reg)
        return cli->open_failed_exit;
    enum reg_status st = reg_results_load(reg, name, res);
    if (st == REG_ERR_NOT_FOUND) {
        error("no sweep named '%s' in %s (plan it first: mainline plan SWEEP.yaml)", name,
              cli->registry_path);
        return EXIT_FAILURES;
    }
    if (st != REG_OK)
        return cli_reg_error(cli, st, "cannot read the results");
    struct strbuf err = STRBUF_INIT;
    int rc = EXIT_OK;
    if (select_compute(res, sel, &err) < 0) {
        error("sweep '%s': %s", name, err.buf);
        rc = EXIT_FAILURES;
    }
    sb_free(&err);
    return rc;
}

int cmd_select(int argc, char **argv, struct cli *cli)
{
    /* --json before or after the sweep */
    int as_json;
    char *name;
    int urc = cli_operand_json(argc, argv, 1, select_usage, &name, &as_json);
    if (urc)
        return urc;
    struct reg_results res;
    struct selection sel;
    int rc = compute(cli, name, &res, &sel);
    if (rc == EXIT_OK) {
        enum reg_status st = reg_selections_replace(cli->reg, res.sweep_rowid,
                                                    res.contract_sha256, sel.rows, sel.n_rows);
        if (st != REG_OK)
            rc = cli_reg_error(cli, st, "cannot record the selection");
    }
    if (rc == EXIT_OK && as_json) {
        /* the selection document, as report --format json has it under the same keys */
        json_object_set_new(sel.doc, "recorded", json_integer((json_int_t)sel.n_rows));
        char *s = json_dumps(sel.doc, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        puts(s);
        free(s);
    } else if (rc == EXIT_OK) {
        json_t *model = report_model(&res, sel.doc);
        struct strbuf out = STRBUF_INIT;
        sb_addf(&out, "sweep %s version %d: %zu selections recorded under rules %.12s\n\n",
                res.name, res.version, sel.n_rows, res.contract_sha256);
        report_md_decision(model, &out);
        fputs(out.buf, stdout);
        sb_free(&out);
        json_decref(model);
    }
    selection_free(&sel);
    reg_results_free(&res);
    return rc;
}

/* Do the recorded compare and mainline rows say what the data says now? */
static int matches_recorded(struct cli *cli, const struct reg_results *res,
                            const struct selection *sel)
{
    static const char *const kinds[] = { "checkpoint", "compare", "mainline" };
    int same = 1;
    for (int k = 0; k < 3 && same; k++) {
        struct reg_res_selection *rows;
        size_t n, want = 0, j = 0;
        if (reg_selections_load(cli->reg, res->sweep_rowid, res->contract_sha256, kinds[k],
                                &rows, &n) != REG_OK)
            return -1;
        for (size_t i = 0; i < sel->n_rows; i++) {
            if (strcmp(sel->rows[i].kind, kinds[k]) != 0)
                continue;
            want++;
            same = same && j < n && !strcmp(rows[j].choice_json ?: "", sel->rows[i].choice_json);
            j++;
        }
        same = same && n == want;
        reg_res_selections_free(rows, n);
    }
    return same;
}

static int render(const char *format, const json_t *model, struct strbuf *out)
{
    if (!strcmp(format, "md"))
        report_md(model, out);
    else if (!strcmp(format, "html"))
        report_html(model, out);
    else if (!strcmp(format, "csv"))
        report_csv(model, out);
    else if (!strcmp(format, "json")) {
        char *text = json_dumps(model, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
        sb_adds(out, text);
        sb_addc(out, '\n');
        free(text);
    } else
        return -1;
    return 0;
}

static int write_report(const char *path, const struct strbuf *text)
{
    if (!path) {
        fwrite(text->buf, 1, text->len, stdout);
        return EXIT_OK;
    }
    struct strbuf err = STRBUF_INIT;
    int rc = write_file_atomic(path, text->buf, text->len, &err) < 0 ? EXIT_FATAL : EXIT_OK;
    if (rc != EXIT_OK)
        error("%s", err.buf);
    sb_free(&err);
    return rc;
}

int cmd_report(int argc, char **argv, struct cli *cli)
{
    static const struct option opts[] = {
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 },
    };
    const char *format = "md", *path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:o:", opts, NULL)) != -1) {
        if (c == 'f')
            format = optarg;
        else if (c == 'o')
            path = optarg;
        else
            return cli_usage(report_usage);
    }
    if (strcmp(format, "md") && strcmp(format, "html") && strcmp(format, "csv") &&
        strcmp(format, "json")) {
        error("--format: '%s' is not md, html, csv or json", format);
        return cli_usage(report_usage);
    }
    if (argc - optind != 1)
        return cli_usage(report_usage);
    struct reg_results res;
    struct selection sel;
    int rc = compute(cli, argv[optind], &res, &sel);
    int same = rc == EXIT_OK ? matches_recorded(cli, &res, &sel) : 1;
    if (same < 0)
        rc = cli_reg_error(cli, REG_ERR_SQL, "cannot read the recorded selections");
    else if (!same) {
        error("the selection recorded under rules %.12s is missing or differs from what the "
              "registry holds now; run 'mainline select %s' first", res.contract_sha256,
              argv[optind]);
        rc = EXIT_FAILURES;
    }
    if (rc == EXIT_OK) {
        json_t *model = report_model(&res, sel.doc);
        struct strbuf out = STRBUF_INIT;
        render(format, model, &out);
        rc = write_report(path, &out);
        if (rc == EXIT_OK && path)
            fprintf(stderr, "wrote %s (%s, %zu bytes)\n", path, format, out.len);
        sb_free(&out);
        json_decref(model);
    }
    selection_free(&sel);
    reg_results_free(&res);
    return rc;
}
