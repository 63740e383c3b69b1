/*
 * cmd_data.h - the subcommands of `mainline data` that live outside cmd_data.c,
 * and the helpers they share. Each returns an exit code (enum exit_code) and
 * prints its own errors, like every command.
 */
#ifndef MAINLINE_CMD_DATA_H
#define MAINLINE_CMD_DATA_H

#include "cli.h"

/* The integer value of option `opt`, >= min; -1 after printing an error. */
long data_parse_count(const char *opt, const char *s, long min);

#endif
