/*
 * report_md.c - the report as Markdown tables (report.h). The decision part is
 * also what `mainline select` prints.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define GET json_object_get

/* Cell text: pipes and newlines would break a table row. */
static void cell(struct strbuf *out, const char *s)
{
    sb_adds(out, " ");
    for (; s && *s; s++) {
        if (*s == '|')
            sb_adds(out, "\\|");
        else if (*s == '\n')
            sb_adds(out, " / ");
        else
            sb_addc(out, *s);
    }
    sb_adds(out, " |");
}

/* A row of NULL-terminated cells. */
static void row(struct strbuf *out, ...)
{
    va_list ap;
    va_start(ap, out);
    sb_adds(out, "|");
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        cell(out, s);
    sb_adds(out, "\n");
    va_end(ap);
}

static void rule_line(struct strbuf *out, int n)
{
    sb_adds(out, "|");
    for (int i = 0; i < n; i++)
        sb_adds(out, "---|");
    sb_adds(out, "\n");
}

/* A number formatted into a small rotating set of buffers (for row() arguments). */
static const char *num(const json_t *v, const char *fmt)
{
    static char bufs[12][64];
    static int k;
    struct strbuf sb = STRBUF_INIT;
    report_num(&sb, v, fmt);
    char *b = bufs[k++ % 12];
    snprintf(b, 64, "%s", sb.buf);
    sb_free(&sb);
    return b;
}

static const char *pct(const json_t *v)
{
    static char buf[32];
    snprintf(buf, sizeof(buf), "%.0f", 100 * json_number_value(v));
    return buf;
}

/* An integer with its sign: +7, -3, 0. */
static const char *signed_int(const json_t *v)
{
    static char bufs[4][32];
    static int k;
    char *b = bufs[k++ % 4];
    snprintf(b, 32, "%+lld", (long long)json_integer_value(v));
    return b;
}

static const char *str(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : "-";
}

/* ---- the decision ---- */

static void verdicts(const json_t *m, struct strbuf *out)
{
    sb_addf(out, "**Verdict:** %s\n\n", str(GET(GET(m, "compare"), "text")));
    sb_addf(out, "**Mainline:** %s\n\n", str(GET(GET(m, "mainline"), "verdict")));
    sb_addf(out, "Rules sha256: `%s`\n\n", str(GET(m, "rules_sha256")));
}

static void mainline_table(const json_t *m, struct strbuf *out)
{
    const json_t *ml = GET(m, "mainline");
    if (!json_is_true(GET(ml, "declared")))
        return;
    sb_adds(out, "### Mainline layers\n\n");
    row(out, "candidate", "base survived", "landed", "usable", "diagnosis", NULL);
    rule_line(out, 5);
    size_t i;
    json_t *c;
    json_array_foreach(GET(ml, "candidates"), i, c) {
        char l[3][320];
        static const char *const names[] = { "base_survived", "landed", "usable" };
        for (int k = 0; k < 3; k++) {
            const json_t *layer = GET(GET(c, "layers"), names[k]);
            const char *why = str(GET(layer, "why"));
            snprintf(l[k], sizeof(l[k]), "%s%s%s", str(GET(layer, "status")),
                     *why && strcmp(why, "-") ? ": " : "", strcmp(why, "-") ? why : "");
        }
        row(out, str(GET(c, "candidate")), l[0], l[1], l[2], str(GET(c, "diagnosis")), NULL);
    }
    sb_adds(out, "\n");
}

/* usable.quantized: f32 and quantised accuracy side by side, per candidate and per
 * seed, and the untouched base model's for reference. */
static void quantized_table(const json_t *m, struct strbuf *out)
{
    const json_t *ml = GET(m, "mainline"), *q = GET(ml, "quantized");
    if (!json_is_object(q))
        return;
    const char *quant = str(GET(q, "quant"));
    char head[64], bound[64];
    snprintf(head, sizeof(head), "%s accuracy", quant);
    snprintf(bound, sizeof(bound), "drop (bound %s)", num(GET(q, "max_accuracy_drop"), "%g"));
    sb_addf(out, "### Quantised (%s) vs f32\n\n", quant);
    row(out, "candidate", "runs", "f32 accuracy", head, bound, NULL);
    rule_line(out, 5);
    const json_t *b = GET(q, "baseline");
    if (json_is_object(b)) {
        json_t *drop = json_real(json_number_value(GET(b, "accuracy")) -
                                 json_number_value(GET(b, "quant_accuracy")));
        row(out, "untouched base model", "baseline", num(GET(b, "accuracy"), "%.4f"),
            num(GET(b, "quant_accuracy"), "%.4f"), num(drop, "%+.4f"), NULL);
        json_decref(drop);
    }
    size_t i, j;
    json_t *c, *seed;
    json_array_foreach(GET(ml, "candidates"), i, c) {
        const json_t *nq = GET(GET(c, "numbers"), "quantized");
        if (!json_is_object(nq)) {
            row(out, str(GET(c, "candidate")), "-", "-", "not evaluated", "-", NULL);
            continue;
        }
        row(out, str(GET(c, "candidate")), "mean (worst drop)", num(GET(nq, "accuracy"), "%.4f"),
            num(GET(nq, "quant_accuracy"), "%.4f"), num(GET(nq, "worst_drop"), "%+.4f"), NULL);
        json_array_foreach(GET(nq, "seeds"), j, seed)
            row(out, "", str(GET(seed, "run")), num(GET(seed, "accuracy"), "%.4f"),
                num(GET(seed, "quant_accuracy"), "%.4f"), num(GET(seed, "drop"), "%+.4f"), NULL);
    }
    sb_adds(out, "\n");
}

static void checkpoints_table(const json_t *m, struct strbuf *out)
{
    sb_addf(out, "### Checkpoints (rule `%s`)\n\n", str(GET(m, "checkpoint_rule")));
    row(out, "run", "condition", "seed", "step", "rule value", "accuracy", "note", NULL);
    rule_line(out, 7);
    const char *metric = str(GET(m, "checkpoint_rule"));
    char key[64] = "";
    if (sscanf(metric, "%*3[a-z](%63[^)])", key) != 1)
        key[0] = '\0';
    const char *over = str(GET(GET(m, "compare"), "over"));
    size_t i;
    json_t *c;
    json_array_foreach(GET(m, "checkpoints"), i, c)
        row(out, str(GET(c, "run")), str(GET(c, "condition")), str(GET(c, over)),
            num(GET(c, "step"), "%g"), num(GET(c, key), "%.6f"), num(GET(c, "accuracy"), "%.4f"),
            str(GET(c, "note")), NULL);
    sb_adds(out, "\n");
}

/* What the compared cells are: "condition", or compare.by's names ("lr, rank"). */
static void by_label(const json_t *cmp, char *buf, size_t len)
{
    size_t i, at = 0;
    json_t *name;
    snprintf(buf, len, "condition");
    json_array_foreach(GET(cmp, "by"), i, name)
        if (at < len)
            at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? ", " : "",
                                   json_string_value(name));
}

static void conditions_table(const json_t *m, struct strbuf *out)
{
    const json_t *cmp = GET(m, "compare");
    char by[256];
    by_label(cmp, by, sizeof(by));
    sb_addf(out, "### %s by %s over %s%s\n\n", str(GET(cmp, "metric")), by,
            str(GET(cmp, "over")), !strcmp(str(GET(cmp, "direction")), "min") ?
            " (lower is better)" : "");
    row(out, by, "seeds", "mean", "min", "max", "range", "per seed", NULL);
    rule_line(out, 7);
    size_t i, j;
    json_t *c, *s;
    json_array_foreach(GET(m, "conditions"), i, c) {
        struct strbuf per = STRBUF_INIT;
        json_array_foreach(GET(c, "seeds"), j, s) {
            sb_addf(&per, "%s%s=", j ? ", " : "", str(GET(s, str(GET(cmp, "over")))));
            report_num(&per, GET(s, str(GET(cmp, "metric"))), "%.4f");
        }
        row(out, str(GET(c, "condition")), num(GET(c, "n"), "%g"), num(GET(c, "mean"), "%.4f"),
            num(GET(c, "min"), "%.4f"), num(GET(c, "max"), "%.4f"),
            num(GET(c, "range"), "%.4f"), per.buf, NULL);
        sb_free(&per);
    }
    const json_t *base = GET(m, "baseline");
    if (json_is_object(base))
        sb_addf(out, "\nBase model (untouched): %s %s (%s / %s)\n",
                str(GET(cmp, "metric")), num(GET(base, "accuracy"), "%.4f"),
                num(GET(base, "correct"), "%g"), num(GET(base, "n"), "%g"));
    sb_adds(out, "\n");
}

/* A trainer metric's pair: per seed, both values and A - B; a bootstrap over seeds. */
static void metric_pair_table(const json_t *p, const char *over, struct strbuf *out)
{
    const char *a = str(GET(p, "a")), *b = str(GET(p, "b")), *metric = str(GET(p, "metric"));
    size_t j;
    json_t *s;
    sb_addf(out, "### %s: %s vs %s\n\n", metric, a, b);
    row(out, over, a, b, "difference", NULL);
    rule_line(out, 4);
    json_array_foreach(GET(p, "seeds"), j, s)
        row(out, str(GET(s, over)), num(GET(s, "a"), "%.4f"), num(GET(s, "b"), "%.4f"),
            num(GET(s, "diff"), "%+.4f"), NULL);
    row(out, "mean", "", "", num(GET(p, "diff"), "%+.4f"), NULL);
    const json_t *bs = GET(p, "bootstrap");
    if (json_is_object(bs))
        sb_addf(out, "\nBootstrap of the mean difference (%s - %s) over %ss only (no "
                "per-example results): %s, %s%% interval [%s, %s] (%s resamples, seed %s)\n",
                a, b, over, num(GET(bs, "observed"), "%.4f"), pct(GET(bs, "level")),
                num(GET(bs, "lo"), "%.4f"), num(GET(bs, "hi"), "%.4f"),
                num(GET(bs, "samples"), "%g"), num(GET(bs, "seed"), "%g"));
    sb_adds(out, "\n");
}

static void pairs_tables(const json_t *m, struct strbuf *out)
{
    const char *over = str(GET(GET(m, "compare"), "over"));
    size_t i, j;
    json_t *p, *s;
    json_array_foreach(GET(m, "pairs"), i, p) {
        if (GET(p, "metric")) {
            metric_pair_table(p, over, out);
            continue;
        }
        const char *a = str(GET(p, "a")), *b = str(GET(p, "b"));
        char ha[96], hb[96];
        snprintf(ha, sizeof(ha), "%s only", a);
        snprintf(hb, sizeof(hb), "%s only", b);
        sb_addf(out, "### Disagreement: %s vs %s\n\n", a, b);
        row(out, over, ha, hb, "both correct", "both wrong", "delta", "McNemar p", NULL);
        rule_line(out, 7);
        json_array_foreach(GET(p, "seeds"), j, s)
            row(out, str(GET(s, over)), num(GET(s, "a_only"), "%g"), num(GET(s, "b_only"), "%g"),
                num(GET(s, "both"), "%g"), num(GET(s, "neither"), "%g"),
                signed_int(GET(s, "delta")), num(GET(s, "mcnemar_p"), "%.4g"), NULL);
        row(out, "all", num(GET(p, "a_only"), "%g"), num(GET(p, "b_only"), "%g"),
            num(GET(p, "both"), "%g"), num(GET(p, "neither"), "%g"), signed_int(GET(p, "delta")),
            num(GET(p, "mcnemar_p"), "%.4g"), NULL);
        const json_t *bs = GET(p, "bootstrap");
        struct report_gap g;
        report_gap(m, p, &g);
        if (g.has_bootstrap)
            sb_addf(out, "\nPaired bootstrap of the mean gap (%s - %s) over %ss and examples: "
                    "%.4f, %s%% interval [%.4f, %.4f] (%s resamples, seed %s)\n", g.first,
                    g.second, over, g.observed, pct(GET(bs, "level")), g.lo, g.hi,
                    num(GET(bs, "samples"), "%g"), num(GET(bs, "seed"), "%g"));
        sb_adds(out, "\n");
    }
}

static void statements(const json_t *m, struct strbuf *out)
{
    static const char *const keys[] = { "can_say", "cannot_say" };
    static const char *const heads[] = { "This result can say", "This result cannot say" };
    for (int k = 0; k < 2; k++) {
        sb_addf(out, "### %s\n\n", heads[k]);
        size_t i;
        json_t *s;
        json_array_foreach(GET(m, keys[k]), i, s)
            sb_addf(out, "- %s\n", json_string_value(s));
        sb_adds(out, "\n");
    }
}

void report_md_decision(const json_t *m, struct strbuf *out)
{
    verdicts(m, out);
    mainline_table(m, out);
    quantized_table(m, out);
    conditions_table(m, out);
    pairs_tables(m, out);
    checkpoints_table(m, out);
    statements(m, out);
}

/* ---- the rest of the report ---- */

static void curves(const json_t *m, struct strbuf *out)
{
    sb_adds(out, "### Validation NLL by step (selected checkpoint in **bold**)\n\n");
    row(out, "run", "val_nll by step", NULL);
    rule_line(out, 2);
    size_t i, j;
    json_t *r, *pt;
    json_array_foreach(GET(m, "runs"), i, r) {
        if (!json_array_size(GET(r, "curve")))
            continue;
        struct strbuf sb = STRBUF_INIT;
        json_array_foreach(GET(r, "curve"), j, pt) {
            int sel = json_equal(json_array_get(pt, 0), GET(r, "selected_step"));
            sb_addf(&sb, "%s%s%lld: ", j ? ", " : "", sel ? "**" : "",
                    (long long)json_integer_value(json_array_get(pt, 0)));
            report_num(&sb, json_array_get(pt, 1), "%.4f");
            sb_adds(&sb, sel ? "**" : "");
        }
        row(out, str(GET(r, "run")), sb.buf, NULL);
        sb_free(&sb);
    }
    sb_adds(out, "\n");
}

static void lr_selection(const json_t *m, struct strbuf *out)
{
    if (!json_array_size(GET(m, "lr_selection")))
        return;
    sb_adds(out, "### LR selection\n\n");
    row(out, "pick", "rule", "run", "lr", "value", "step", "chosen", NULL);
    rule_line(out, 7);
    size_t i, j;
    json_t *p, *c;
    json_array_foreach(GET(m, "lr_selection"), i, p) {
        const char *rule = str(GET(p, "rule"));
        char metric[64] = "";
        if (sscanf(rule, "%*3[a-z](%63[^)])", metric) != 1)
            metric[0] = '\0';
        const char *chosen = str(GET(GET(p, "choice"), "run"));
        json_array_foreach(GET(p, "candidates"), j, c)
            row(out, str(GET(p, "scope")), rule, str(GET(c, "run")), num(GET(c, "lr"), "%g"),
                num(GET(c, metric), "%.6f"), num(GET(c, "step"), "%g"),
                strcmp(chosen, str(GET(c, "run"))) ? "" : "yes", NULL);
    }
    sb_adds(out, "\n");
}

static void probes_cell(const json_t *probes, struct strbuf *sb)
{
    size_t i;
    json_t *p;
    json_array_foreach(probes, i, p)
        sb_addf(sb, "%s%s -> %s", i ? "; " : "", str(GET(p, "prompt")), str(GET(p, "output")));
    if (!json_array_size(probes))
        sb_adds(sb, "-");
}

/* The header of a run table: run, the swept parameters, then `after`. */
static void run_head(const json_t *m, const char *const *after, struct strbuf *out)
{
    static const char *const before[] = { "run", NULL };
    const char **heads = report_heads(m, before, after);
    int n = 0;
    sb_adds(out, "|");
    for (; heads[n]; n++)
        cell(out, heads[n]);
    sb_adds(out, "\n");
    rule_line(out, n);
    free(heads);
}

/* A run table row's first cells: "| run | p1 | p2 |"; the caller adds the rest.
 * NULL: the base model's row, "(base model)" and "-" for every parameter. */
static void run_cells(const json_t *m, const json_t *r, struct strbuf *out)
{
    sb_adds(out, "|");
    cell(out, r ? str(GET(r, "run")) : "(base model)");
    report_param_cells(m, r, cell, out);
}

static void variants(const json_t *m, struct strbuf *out)
{
    static const char *const after[] = { "type", "trainable %", "train loss", "val loss",
                                         "peak MB", "probe answers", NULL };
    sb_adds(out, "### Variants\n\n");
    run_head(m, after, out);
    size_t i;
    json_t *r;
    json_array_foreach(GET(m, "runs"), i, r) {
        struct strbuf pr = STRBUF_INIT;
        probes_cell(GET(r, "probes"), &pr);
        run_cells(m, r, out);
        const char *rest[] = { str(GET(r, "type")), num(GET(r, "trainable_pct"), "%.3f"),
                               num(GET(r, "train_loss"), "%.4f"), num(GET(r, "val_nll"), "%.4f"),
                               num(GET(r, "peak_rss_mb"), "%.0f"), pr.buf };
        for (size_t k = 0; k < sizeof(rest) / sizeof(rest[0]); k++)
            cell(out, rest[k]);
        sb_adds(out, "\n");
        sb_free(&pr);
    }
    if (json_array_size(GET(m, "baseline_probes"))) {
        struct strbuf pr = STRBUF_INIT;
        probes_cell(GET(m, "baseline_probes"), &pr);
        run_cells(m, NULL, out);
        for (int k = 0; k < 5; k++)
            cell(out, "-");
        cell(out, pr.buf);
        sb_adds(out, "\n");
        sb_free(&pr);
    }
    sb_adds(out, "\n");
}

/* With the Slurm job and state of each run's last attempt where runs ran on Slurm. */
static void throughput(const json_t *m, struct strbuf *out)
{
    int slurm = report_has_slurm(m);
    static const char *const after_local[] = { "train tok/s", "eval tok/s", NULL };
    static const char *const after_slurm[] = { "train tok/s", "eval tok/s", "Slurm job",
                                               "Slurm state", NULL };
    sb_adds(out, "### Throughput\n\n");
    run_head(m, slurm ? after_slurm : after_local, out);
    size_t i;
    json_t *r;
    json_array_foreach(GET(m, "runs"), i, r) {
        run_cells(m, r, out);
        cell(out, num(GET(r, "train_tok_per_s"), "%.0f"));
        cell(out, num(GET(r, "eval_tok_per_s"), "%.0f"));
        if (slurm) {
            cell(out, num(GET(r, "slurm_job"), "%g"));
            cell(out, str(GET(r, "slurm_state")));
        }
        sb_adds(out, "\n");
    }
    if (json_is_number(GET(m, "baseline_tok_per_s"))) {
        run_cells(m, NULL, out);
        cell(out, "-");
        cell(out, num(GET(m, "baseline_tok_per_s"), "%.0f"));
        if (slurm) {
            cell(out, "-");
            cell(out, "-");
        }
        sb_adds(out, "\n");
    }
    sb_adds(out, "\n");
    size_t before = out->len;
    report_nul_note(m, out);
    if (out->len > before)
        sb_adds(out, "\n\n");
}

static void provenance(const json_t *m, struct strbuf *out)
{
    const json_t *p = GET(m, "provenance");
    sb_adds(out, "### Provenance\n\n");
    row(out, "what", "value", NULL);
    rule_line(out, 2);
    char v[64];
    snprintf(v, sizeof(v), "%s", num(GET(p, "version"), "%g"));
    row(out, "sweep", str(GET(p, "sweep")), NULL);
    row(out, "version", v, NULL);
    row(out, "planned at", str(GET(p, "planned_at")), NULL);
    const char *git = json_string_value(GET(p, "git_status"));
    if (git && strcmp(git, "ok") != 0) {
        row(out, "git", git, NULL);   /* "not a git repository": not "commit -, clean" */
    } else {
        row(out, "git commit", str(GET(p, "git_commit")), NULL);
        row(out, "git dirty", json_is_true(GET(p, "git_dirty")) ? "yes (diff recorded)" : "no",
            NULL);
    }
    row(out, "rules sha256", str(GET(p, "rules_sha256")), NULL);
    size_t i;
    json_t *a;
    json_array_foreach(GET(p, "code"), i, a) {
        char what[300];
        snprintf(what, sizeof(what), "code %s sha256", str(GET(a, "name")));
        row(out, what, str(GET(a, "sha256")), NULL);
    }
    json_array_foreach(GET(p, "artifacts"), i, a) {
        char what[160];
        snprintf(what, sizeof(what), "%s %s sha256", str(GET(a, "role")), str(GET(a, "name")));
        row(out, what, str(GET(a, "sha256")), NULL);
    }
    sb_adds(out, "\n");
}

/* ---- failed runs ---- */

/* The runs that failed, with why and the last line of their stderr; nothing when none. */
static void failed_runs(const json_t *m, struct strbuf *out)
{
    const json_t *list = GET(m, "failed_runs");
    if (!json_array_size(list))
        return;
    sb_addf(out, "## Failed runs\n\n%zu run%s failed; `mainline show RUN` prints the last "
            "lines of its stderr, `mainline run --retry-failed` tries again.\n\n",
            json_array_size(list), json_array_size(list) == 1 ? "" : "s");
    row(out, "run", "stage", "attempt", "reason", "last stderr line", NULL);
    rule_line(out, 5);
    size_t i;
    json_t *f;
    json_array_foreach(list, i, f)
        row(out, str(GET(f, "run")), str(GET(f, "stage")), num(GET(f, "attempt"), "%g"),
            str(GET(f, "reason")), str(GET(f, "stderr_line")), NULL);
    sb_adds(out, "\n");
}

void report_md(const json_t *m, struct strbuf *out)
{
    sb_addf(out, "# %s (version %s)\n\n", str(GET(m, "sweep")), num(GET(m, "version"), "%g"));
    report_md_decision(m, out);
    curves(m, out);
    lr_selection(m, out);
    variants(m, out);
    throughput(m, out);
    provenance(m, out);
    failed_runs(m, out);
}

/* A CSV field: quoted, since a type or a parameter's text may hold a comma. */
static void csv_text(struct strbuf *out, const char *s)
{
    sb_addc(out, '"');
    for (; *s; s++)
        *s == '"' ? sb_adds(out, "\"\"") : sb_addc(out, *s);
    sb_addc(out, '"');
}

/* One row per run: the sweep, the run, its swept parameters (short text, as in run
 * ids; empty when the run has none yet), then the fixed columns. */
void report_csv(const json_t *m, struct strbuf *out)
{
    static const char *const before[] = { "sweep", "version", "rules_sha256", "run", "stage",
                                          NULL };
    /* the last two only where runs ran on Slurm */
    static const char *const all_cols[] = { "state", "type", "selected_step", "val_nll",
                                            "accuracy", "trainable_pct", "train_loss",
                                            "peak_rss_mb", "train_tok_per_s", "eval_tok_per_s",
                                            "slurm_job", "slurm_state", NULL };
    const char *const *cols = all_cols;
    static const char *const local_cols[] = { "state", "type", "selected_step", "val_nll",
                                              "accuracy", "trainable_pct", "train_loss",
                                              "peak_rss_mb", "train_tok_per_s",
                                              "eval_tok_per_s", NULL };
    if (!report_has_slurm(m))
        cols = local_cols;
    const char **heads = report_heads(m, before, cols);
    for (int c = 0; heads[c]; c++)
        sb_addf(out, "%s%s", c ? "," : "", heads[c]);
    sb_adds(out, "\n");
    free(heads);
    size_t i, j;
    json_t *r, *name;
    json_array_foreach(GET(m, "runs"), i, r) {
        sb_addf(out, "%s,%s,%s,", str(GET(m, "sweep")), num(GET(m, "version"), "%g"),
                str(GET(m, "rules_sha256")));
        csv_text(out, str(GET(r, "run")));
        sb_adds(out, ",");
        csv_text(out, str(GET(r, "stage")));
        json_array_foreach(GET(m, "parameters"), j, name) {
            const json_t *v = GET(r, json_string_value(name));
            struct strbuf t = STRBUF_INIT;
            report_param(&t, r, json_string_value(name), "");
            sb_adds(out, ",");
            if (json_is_number(v) || !t.len)
                sb_adds(out, t.buf);
            else
                csv_text(out, t.buf);
            sb_free(&t);
        }
        for (int c = 0; cols[c]; c++) {
            const json_t *v = GET(r, cols[c]);
            sb_adds(out, ",");
            if (json_is_string(v))
                csv_text(out, json_string_value(v));
            else if (!json_is_null(v) && v)
                report_num(out, v, "%.15g");
        }
        sb_adds(out, "\n");
    }
}
