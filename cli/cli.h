/*
 * cli.h - what every `mainline <command>` gets from the dispatcher in main.c.
 *
 * The dispatcher parses global options (--registry, -C) and handles --help; a
 * command opens the registry with cli_registry() after parsing its own arguments
 * (so a usage error stays a usage error where there is no registry), and the
 * dispatcher frees it. Commands return an exit code (enum exit_code) and are the
 * only layer that prints errors.
 */
#ifndef MAINLINE_CLI_H
#define MAINLINE_CLI_H

#include "error.h"
#include "registry.h"

/* What `mainline version` prints, and bundles record. */
#define MAINLINE_VERSION "0.1.0"

struct cli {
    const char *registry_path;   /* --registry, $MAINLINE_REGISTRY, or ./mainline.db */
    struct registry *reg;        /* opened by cli_registry(), closed by the dispatcher */
    int open_failed_exit;        /* set when cli_registry() gives NULL: the exit code */
};

typedef int (*cmd_fn)(int argc, char **argv, struct cli *cli);

int cmd_cancel(int argc, char **argv, struct cli *cli);
int cmd_data(int argc, char **argv, struct cli *cli);
int cmd_doctor(int argc, char **argv, struct cli *cli);
int cmd_export(int argc, char **argv, struct cli *cli);
int cmd_import(int argc, char **argv, struct cli *cli);
int cmd_plan(int argc, char **argv, struct cli *cli);
int cmd_report(int argc, char **argv, struct cli *cli);
int cmd_rules(int argc, char **argv, struct cli *cli);
int cmd_run(int argc, char **argv, struct cli *cli);
int cmd_runs(int argc, char **argv, struct cli *cli);
int cmd_select(int argc, char **argv, struct cli *cli);
int cmd_show(int argc, char **argv, struct cli *cli);
int cmd_status(int argc, char **argv, struct cli *cli);
int cmd_tokenize(int argc, char **argv, struct cli *cli);
int cmd_template(int argc, char **argv, struct cli *cli);

/* The registry, opened on first use (it must exist). NULL after printing why; the
 * command then returns cli->open_failed_exit: EXIT_FAILURES for a damaged registry
 * (refused, with the way out), EXIT_FATAL otherwise. Closed by the dispatcher. */
struct registry *cli_registry(struct cli *cli);

/* Print a registry failure as an error and return EXIT_FATAL, or EXIT_FAILURES for
 * REG_ERR_DAMAGED (the message then ends with how to save what can be read). */
int cli_reg_error(struct cli *cli, enum reg_status st, const char *doing);

/* Print `usage` of the running command to stderr and return EXIT_USAGE. */
int cli_usage(const char *usage);

/* The arguments of a command taking one operand and --json, in either order:
 * *operand points into argv (NULL when absent and not required), *as_json 0 or 1.
 * Returns 0, or EXIT_USAGE after printing `usage` (an unknown option, a second
 * operand, a missing required one). */
int cli_operand_json(int argc, char **argv, int required, const char *usage,
                     char **operand, int *as_json);

/* Parse a --where expression "k=v k2!=v2 ..." into terms appended to *terms.
 * Returns 0, or -1 after printing an error. Strings point into `expr` (modified). */
struct reg_filter_term;
int cli_parse_where(char *expr, struct reg_filter_term **terms, size_t *n);

#endif
