/*
 * cmd_data.h - the subcommands of `mainline data` that live outside cmd_data.c,
 * and the helpers they share. Each returns an exit code (enum exit_code) and
 * prints its own errors, like every command.
 */
#ifndef MAINLINE_CMD_DATA_H
#define MAINLINE_CMD_DATA_H

#include <stdio.h>

#include <jansson.h>

#include "cli.h"
#include "sweep.h"
#include "tokenizer.h"

/* The usage texts of the subcommands (`mainline data SUB --help` prints them). */
extern const char cmd_data_audit_usage[], cmd_data_render_usage[], cmd_data_stats_usage[];
/* The usage of data subcommand `sub`, or NULL when there is no such subcommand. */
const char *cmd_data_usage(const char *sub);

/* The integer value of option `opt`, >= min; -1 after printing an error. */
long cmd_data_parse_count(const char *opt, const char *s, long min);

/* A sweep loaded for the data tools: the rendering contract of one file. */
struct cmd_data_sweep {
    struct sweep s;
    const struct sweep_dataset *ds;   /* the dataset the file is, or NULL */
    struct render_contract rc;        /* borrows from s (and chat) */
    struct render_chat chat;          /* template: chat, after cmd_data_sweep_tokenizer() */
    struct tokenizer tok;             /* after cmd_data_sweep_tokenizer() */
    char *model_path;
    long model_max_seq_len;
};

/* Load the sweep; the dataset is `dataset` when given, else the one whose file is
 * `file` (may be NULL). -1 after printing why. */
int cmd_data_sweep_open(const char *sweep_path, const char *file, const char *dataset,
                        struct cmd_data_sweep *d);
/* Load the base model's tokenizer. -1 after printing why. */
int cmd_data_sweep_tokenizer(struct cmd_data_sweep *d);
long cmd_data_sweep_max_seq_len(const struct cmd_data_sweep *d, long option);
void cmd_data_sweep_free(struct cmd_data_sweep *d);   /* accepts a zeroed struct */

int cmd_data_audit(int argc, char **argv, struct cli *cli);
/* The audit's last line: passed (and what is waived) or failed and how to waive. */
void cli_audit_print_verdict(const json_t *report, FILE *out);
/* Write the report to path atomically; -1 after printing why. */
int cli_audit_write_json(const char *path, const json_t *report);
int cmd_data_render(int argc, char **argv, struct cli *cli);
int cmd_data_stats(int argc, char **argv, struct cli *cli);

#endif
