/* cli_audit_print.c - an audit report for people (see cli_audit_print.h). */
#include <string.h>

#include "cli_audit_print.h"
#include "table.h"

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static long num(const json_t *o, const char *key)
{
    return (long)json_integer_value(json_object_get(o, key));
}

/* One line of what a gate measured. */
static void gate_note(const char *name, const json_t *g, char *buf, size_t len)
{
    if (str(g, "skipped"))
        snprintf(buf, len, "skipped: %s", str(g, "skipped"));
    else if (!strcmp(name, "contamination"))
        snprintf(buf, len, "training-side rows matching a benchmark problem (exact or %ld-gram)",
                 num(g, "ngram"));
    else if (!strcmp(name, "leakage"))
        snprintf(buf, len, "validation rows whose problem is in train (%ld problems)",
                 num(g, "groups"));
    else if (!strcmp(name, "answers"))
        snprintf(buf, len, "answer mismatches; %ld of %ld completions boxed (%.1f%%, at least "
                 "%.1f%%)", num(g, "boxed"), num(g, "completions"),
                 100 * json_number_value(json_object_get(g, "boxed_share")),
                 100 * json_number_value(json_object_get(g, "min_boxed")));
    else if (!strcmp(name, "suspicious"))
        snprintf(buf, len, "rows matching a suspicious pattern");
    else
        snprintf(buf, len, "rows repeating an earlier row (problem and completion)");
}

static void print_row(const char *gate, const json_t *r, FILE *out)
{
    fprintf(out, "  %s:%ld (%s): ", str(r, "file"), num(r, "line"), str(r, "dataset"));
    const json_t *other = json_object_get(r, "benchmark");
    if (!other)
        other = json_object_get(r, "train");
    if (!other)
        other = json_object_get(r, "first");
    if (!strcmp(gate, "contamination") && !strcmp(str(r, "match"), "exact"))
        fprintf(out, "same problem as %s line %ld", str(other, "dataset"), num(other, "line"));
    else if (!strcmp(gate, "contamination"))
        fprintf(out, "shares \"%s\" with %s line %ld", str(r, "ngram_text"),
                str(other, "dataset"), num(other, "line"));
    else if (!strcmp(gate, "leakage"))
        fprintf(out, "same problem as %s line %ld", str(other, "dataset"), num(other, "line"));
    else if (!strcmp(gate, "answers") && str(r, "boxed"))
        fprintf(out, "\\boxed{%s} but the stated answer is \"%s\"", str(r, "boxed"),
                str(r, "stated"));
    else if (!strcmp(gate, "answers"))
        fprintf(out, "no \\boxed{} answer in the completion");
    else if (!strcmp(gate, "suspicious"))
        fprintf(out, "%s matches \"%s\"", str(r, "in"), str(r, "pattern"));
    else
        fprintf(out, "repeats %s line %ld", str(other, "dataset"), num(other, "line"));
    fputc('\n', out);
}

void cli_audit_print(const json_t *report, FILE *out)
{
    const json_t *ds;
    size_t i;
    fprintf(out, "data audit:");
    json_array_foreach(json_object_get(report, "datasets"), i, ds)
        fprintf(out, "%s %s (%s, %ld rows)", i ? "," : "", str(ds, "name"), str(ds, "role"),
                num(ds, "rows"));
    fprintf(out, "%s\n\n", i ? "" : " no datasets with an audit role");
    static const char *const head[] = { "GATE", "STATUS", "COUNT", "LIMIT", "WHAT", NULL };
    struct table t;
    table_init(&t, head);
    t.right_align = (1u << 2) | (1u << 3);
    const char *name;
    const json_t *g;
    json_object_foreach(json_object_get(report, "gates"), name, g) {
        char count[32], limit[32], note[200];
        snprintf(count, sizeof(count), "%ld", num(g, "count"));
        snprintf(limit, sizeof(limit), "%ld", num(g, "limit"));
        gate_note(name, g, note, sizeof(note));
        const char *row[] = { name, str(g, "status"), count, limit, note };
        table_add(&t, row);
    }
    table_print(&t, out, "");
    table_free(&t);
    json_object_foreach(json_object_get(report, "gates"), name, g) {
        const json_t *rows = json_object_get(g, "rows");
        if (!json_array_size(rows))
            continue;
        long all = num(g, "count") + (json_object_get(g, "unboxed") ? num(g, "unboxed") : 0);
        fprintf(out, "\n%s: %ld row%s%s\n", name, all, all == 1 ? "" : "s",
                (long)json_array_size(rows) < all ? " (the first listed)" : "");
        const json_t *r;
        json_array_foreach(rows, i, r)
            print_row(name, r, out);
    }
}
