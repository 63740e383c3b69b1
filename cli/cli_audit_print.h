/*
 * cli_audit_print.h - the audit report (data/audit.h) as text: a table of the gates
 * and, for each gate that found rows, the first of them by file and line. Used
 * by `mainline data audit` and `mainline plan`. Only prints.
 */
#ifndef MAINLINE_AUDIT_PRINT_H
#define MAINLINE_AUDIT_PRINT_H

#include <stdio.h>

#include <jansson.h>

void cli_audit_print(const json_t *report, FILE *out);

#endif
