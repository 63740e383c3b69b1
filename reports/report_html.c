/*
 * report_html.c - the report as one self-contained HTML page (report.h): inline
 * CSS, inline SVG charts, no script, no font or image fetched from anywhere. It
 * reads on a phone (one column, tables scroll sideways, charts scale to the
 * width) and on a laptop (a 960px column). The verdict and the mainline come
 * first; then the charts seed 001 settled on (accuracy by condition with its
 * seeds and the base model; per-seed disagreement small multiples, not a slope);
 * then the tables.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

#define GET json_object_get

static const char *const palette[] = { "#1b6ca8", "#d1495b", "#2e933c", "#edae49",
                                       "#66418a", "#00798c", "#8c564b", "#555555" };
#define N_COLORS (sizeof(palette) / sizeof(palette[0]))

static void esc(struct strbuf *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': sb_adds(out, "&lt;"); break;
        case '>': sb_adds(out, "&gt;"); break;
        case '&': sb_adds(out, "&amp;"); break;
        case '"': sb_adds(out, "&quot;"); break;
        default: sb_addc(out, *s);
        }
    }
}

static const char *str(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : "-";
}

static void num(struct strbuf *out, const json_t *v, const char *fmt)
{
    report_num(out, v, fmt);
}

static const char css[] =
    "*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
    "color:#1d1d1f;background:#fff;margin:0 auto;max-width:960px;padding:12px}"
    "h1{font-size:1.4em;margin:.4em 0}h2{font-size:1.15em;margin:1.4em 0 .4em;"
    "border-bottom:1px solid #ddd;padding-bottom:.2em}"
    ".box{border-left:5px solid #1b6ca8;background:#f3f7fb;padding:.6em .9em;margin:.6em 0}"
    ".box.none{border-color:#d1495b;background:#fbf3f4}.small{color:#555;font-size:.85em}"
    ".scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.88em;margin:.3em 0}"
    "th,td{border-bottom:1px solid #e3e3e3;padding:.3em .5em;text-align:left;"
    "vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".pass{color:#2e7d32;font-weight:600}.fail{color:#c62828;font-weight:600}"
    "svg{width:100%;height:auto;display:block}svg text{font:11px system-ui,sans-serif;"
    "fill:#333}.multiples{display:flex;flex-wrap:wrap;gap:10px}"
    ".multiples figure{margin:0;flex:1 1 200px;max-width:300px}"
    "figcaption{font-size:.8em;color:#444}code{font-size:.85em;word-break:break-all}"
    "ul{padding-left:1.2em}@media(max-width:600px){body{font-size:14px;padding:8px}}";

/* ---- tables ---- */

static void th_row(struct strbuf *out, const char *const *heads)
{
    sb_adds(out, "<div class=\"scroll\"><table><thead><tr>");
    for (; *heads; heads++) {
        sb_adds(out, "<th>");
        esc(out, *heads);
        sb_adds(out, "</th>");
    }
    sb_adds(out, "</tr></thead><tbody>\n");
}

static void table_end(struct strbuf *out)
{
    sb_adds(out, "</tbody></table></div>\n");
}

static void td(struct strbuf *out, const char *s)
{
    sb_adds(out, "<td>");
    esc(out, s);
    sb_adds(out, "</td>");
}

static void td_num(struct strbuf *out, const json_t *v, const char *fmt)
{
    sb_adds(out, "<td class=\"n\">");
    num(out, v, fmt);
    sb_adds(out, "</td>");
}

/* ---- the verdict and the mainline ---- */

static void verdict(const json_t *m, struct strbuf *out)
{
    const json_t *cmp = GET(m, "compare"), *ml = GET(m, "mainline");
    sb_adds(out, "<h2>Verdict</h2><div class=\"box\"><strong>");
    esc(out, str(GET(cmp, "text")));
    sb_adds(out, "</strong></div>");
    sb_addf(out, "<div class=\"box%s\"><strong>", json_is_string(GET(ml, "mainline")) ? ""
                                                                                    : " none");
    esc(out, str(GET(ml, "verdict")));
    sb_adds(out, "</strong></div>\n");
    if (!json_is_true(GET(ml, "declared")))
        return;
    static const char *const heads[] = { "candidate", "base survived", "landed", "usable",
                                         "diagnosis", NULL };
    static const char *const layers[] = { "base_survived", "landed", "usable" };
    th_row(out, heads);
    size_t i;
    json_t *c;
    json_array_foreach(GET(ml, "candidates"), i, c) {
        sb_adds(out, "<tr>");
        td(out, str(GET(c, "candidate")));
        for (int k = 0; k < 3; k++) {
            const json_t *l = GET(GET(c, "layers"), layers[k]);
            const char *status = str(GET(l, "status"));
            sb_addf(out, "<td><span class=\"%s\">", !strcmp(status, "pass") ? "pass" :
                    !strcmp(status, "fail") ? "fail" : "small");
            esc(out, status);
            sb_adds(out, "</span> <span class=\"small\">");
            esc(out, str(GET(l, "why")));
            sb_adds(out, "</span></td>");
        }
        td(out, str(GET(c, "diagnosis")));
        sb_adds(out, "</tr>\n");
    }
    table_end(out);
}

/* ---- accuracy by condition: seeds as points, mean as a bar, the base model ---- */

struct scale {
    double lo, hi, px0, px1;     /* value range onto pixel range (px1 may be < px0) */
};

static double at(const struct scale *s, double v)
{
    double t = s->hi > s->lo ? (v - s->lo) / (s->hi - s->lo) : 0.5;
    return s->px0 + t * (s->px1 - s->px0);
}

static void widen(double *lo, double *hi, double v)
{
    if (v < *lo)
        *lo = v;
    if (v > *hi)
        *hi = v;
}

static void y_axis(struct strbuf *out, const struct scale *y, double x, double x_end,
                   const char *fmt)
{
    for (int i = 0; i <= 4; i++) {
        double v = y->lo + (y->hi - y->lo) * i / 4, py = at(y, v);
        sb_addf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e6e6\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", x, x_end, py, py, x - 4,
                py + 4);
        sb_addf(out, fmt, v);
        sb_adds(out, "</text>");
    }
}

static void accuracy_chart(const json_t *m, struct strbuf *out)
{
    const json_t *conds = GET(m, "conditions"), *base = GET(m, "baseline");
    const char *metric = str(GET(GET(m, "compare"), "metric"));
    size_t n = json_array_size(conds), i, j;
    if (!n)
        return;
    double lo = INFINITY, hi = -INFINITY;
    json_t *c, *s;
    json_array_foreach(conds, i, c)
        json_array_foreach(GET(c, "seeds"), j, s)
            widen(&lo, &hi, json_number_value(GET(s, metric)));
    if (json_is_object(base))
        widen(&lo, &hi, json_number_value(GET(base, "accuracy")));
    double pad = (hi - lo) * 0.15 + 0.005;
    struct scale y = { lo - pad, hi + pad, 230, 20 };
    double w = 640, left = 60, band = (w - left - 10) / (double)n;
    sb_addf(out, "<h2>%s by condition</h2><svg viewBox=\"0 0 %.0f 270\" role=\"img\" "
            "aria-label=\"%s by condition, one point per seed\">", metric, w, metric);
    y_axis(out, &y, left, w - 10, "%.3f");
    if (json_is_object(base)) {
        double py = at(&y, json_number_value(GET(base, "accuracy")));
        sb_addf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#777\" "
                "stroke-dasharray=\"5 4\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">"
                "base model %.4f</text>", left, w - 10, py, py, w - 12, py - 4,
                json_number_value(GET(base, "accuracy")));
    }
    json_array_foreach(conds, i, c) {
        double cx = left + band * ((double)i + 0.5), mean = json_number_value(GET(c, "mean"));
        const char *col = palette[i % N_COLORS];
        sb_addf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"3\"/>", cx - band * 0.25, cx + band * 0.25, at(&y, mean),
                at(&y, mean), col);
        size_t k = json_array_size(GET(c, "seeds"));
        json_array_foreach(GET(c, "seeds"), j, s) {
            double dx = k > 1 ? ((double)j / (double)(k - 1) - 0.5) * band * 0.3 : 0;
            sb_addf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\" "
                    "fill-opacity=\".75\"><title>", cx + dx,
                    at(&y, json_number_value(GET(s, metric))), col);
            esc(out, str(GET(s, "run")));
            sb_addf(out, ": %.4f</title></circle>", json_number_value(GET(s, metric)));
        }
        sb_addf(out, "<text x=\"%.1f\" y=\"250\" text-anchor=\"middle\">", cx);
        esc(out, str(GET(c, "condition")));
        sb_addf(out, "</text><text x=\"%.1f\" y=\"264\" text-anchor=\"middle\">mean %.4f, "
                "range %.4f</text>", cx, mean, json_number_value(GET(c, "range")));
    }
    sb_adds(out, "</svg><p class=\"small\">One point per seed; the bar is the mean over "
            "seeds; the dashed line is the untouched base model.</p>\n");
}

/* ---- disagreement small multiples ---- */

static void one_multiple(struct strbuf *out, const json_t *seed, const char *over,
                         const char *a, const char *b, double max)
{
    double va = json_number_value(GET(seed, "a_only")), vb = json_number_value(GET(seed, "b_only"));
    double full = 190, wa = max > 0 ? va / max * full : 0, wb = max > 0 ? vb / max * full : 0;
    sb_adds(out, "<figure><svg viewBox=\"0 0 240 92\" role=\"img\">");
    sb_addf(out, "<text x=\"0\" y=\"12\" style=\"font-weight:600\">%s ", over);
    esc(out, str(GET(seed, over)));
    sb_adds(out, "</text>");
    const char *names[] = { a, b };
    double ws[] = { wa, wb }, vs[] = { va, vb };
    for (int k = 0; k < 2; k++) {
        double y = 26 + k * 34;   /* the label above its bar: names can be long */
        sb_addf(out, "<text x=\"0\" y=\"%.0f\">", y);
        esc(out, names[k]);
        sb_addf(out, " only: %.0f</text><rect x=\"0\" y=\"%.0f\" width=\"%.1f\" height=\"14\" "
                "fill=\"%s\"/>", vs[k], y + 4, ws[k], palette[k]);
    }
    sb_adds(out, "</svg><figcaption>both correct ");
    num(out, GET(seed, "both"), "%g");
    sb_adds(out, " · both wrong ");
    num(out, GET(seed, "neither"), "%g");
    sb_adds(out, " · delta ");
    sb_addf(out, "%+lld", (long long)json_integer_value(GET(seed, "delta")));
    sb_adds(out, " · McNemar p ");
    num(out, GET(seed, "mcnemar_p"), "%.3g");
    sb_adds(out, "</figcaption></figure>");
}

static void disagreement(const json_t *m, struct strbuf *out)
{
    const char *over = str(GET(GET(m, "compare"), "over"));
    size_t i, j;
    json_t *p, *s;
    json_array_foreach(GET(m, "pairs"), i, p) {
        const char *a = str(GET(p, "a")), *b = str(GET(p, "b"));
        sb_adds(out, "<h2>Where ");
        esc(out, a);
        sb_adds(out, " and ");
        esc(out, b);
        sb_addf(out, " disagree, per %s</h2><div class=\"multiples\">", over);
        double max = 0;
        json_array_foreach(GET(p, "seeds"), j, s) {
            widen(&(double){ 0 }, &max, json_number_value(GET(s, "a_only")));
            widen(&(double){ 0 }, &max, json_number_value(GET(s, "b_only")));
        }
        json_array_foreach(GET(p, "seeds"), j, s)
            one_multiple(out, s, over, a, b, max);
        sb_adds(out, "</div><p class=\"small\">Over all seeds: ");
        num(out, GET(p, "a_only"), "%g");
        sb_adds(out, " vs ");
        num(out, GET(p, "b_only"), "%g");
        sb_adds(out, " examples only one got right, exact McNemar p ");
        num(out, GET(p, "mcnemar_p"), "%.4g");
        const json_t *bs = GET(p, "bootstrap");
        if (json_is_object(bs)) {
            sb_adds(out, "; paired bootstrap of the mean gap ");
            num(out, GET(bs, "observed"), "%.4f");
            sb_addf(out, ", %.0f%% interval [", 100 * json_number_value(GET(bs, "level")));
            num(out, GET(bs, "lo"), "%.4f");
            sb_adds(out, ", ");
            num(out, GET(bs, "hi"), "%.4f");
            sb_adds(out, "] (");
            num(out, GET(bs, "samples"), "%g");
            sb_adds(out, " resamples over seeds and examples, seed ");
            num(out, GET(bs, "seed"), "%g");
            sb_adds(out, ")");
        }
        sb_adds(out, ".</p>\n");
    }
}

static void statements(const json_t *m, struct strbuf *out)
{
    static const char *const keys[] = { "can_say", "cannot_say" };
    static const char *const heads[] = { "This result can say", "This result cannot say" };
    for (int k = 0; k < 2; k++) {
        sb_addf(out, "<h2>%s</h2><ul>", heads[k]);
        size_t i;
        json_t *s;
        json_array_foreach(GET(m, keys[k]), i, s) {
            sb_adds(out, "<li>");
            esc(out, json_string_value(s));
            sb_adds(out, "</li>");
        }
        sb_adds(out, "</ul>\n");
    }
}

/* ---- validation NLL by step ---- */

static long cond_color(const json_t *m, const json_t *run)
{
    size_t i;
    json_t *c;
    json_array_foreach(GET(m, "conditions"), i, c)
        if (json_equal(GET(c, "condition"), GET(run, "condition")))
            return (long)i;
    return N_COLORS - 1;
}

static void nll_chart(const json_t *m, struct strbuf *out)
{
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    size_t i, j;
    json_t *r, *pt;
    json_array_foreach(GET(m, "runs"), i, r)
        json_array_foreach(GET(r, "curve"), j, pt) {
            widen(&x0, &x1, json_number_value(json_array_get(pt, 0)));
            widen(&y0, &y1, json_number_value(json_array_get(pt, 1)));
        }
    if (!(x1 >= x0))
        return;
    double pad = (y1 - y0) * 0.08 + 1e-6, w = 640, left = 60;
    struct scale x = { x0, x1, left, w - 12 }, y = { y0 - pad, y1 + pad, 230, 14 };
    sb_adds(out, "<h2>Validation NLL by step</h2><svg viewBox=\"0 0 640 262\" role=\"img\" "
            "aria-label=\"validation NLL by step per run\">");
    y_axis(out, &y, left, w - 12, "%.3f");
    sb_addf(out, "<text x=\"%.0f\" y=\"250\">step %.0f</text><text x=\"%.0f\" y=\"250\" "
            "text-anchor=\"end\">step %.0f</text>", left, x0, w - 12, x1);
    json_array_foreach(GET(m, "runs"), i, r) {
        if (!json_array_size(GET(r, "curve")))
            continue;
        const char *col = palette[cond_color(m, r) % N_COLORS];
        int main_run = json_is_integer(GET(r, "selected_step"));
        sb_addf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" %s points=\"",
                col, main_run ? "" : "stroke-dasharray=\"3 3\" stroke-opacity=\".5\"");
        json_array_foreach(GET(r, "curve"), j, pt)
            sb_addf(out, "%.1f,%.1f ", at(&x, json_number_value(json_array_get(pt, 0))),
                    at(&y, json_number_value(json_array_get(pt, 1))));
        sb_adds(out, "\"><title>");
        esc(out, str(GET(r, "run")));
        sb_adds(out, "</title></polyline>");
        json_array_foreach(GET(r, "curve"), j, pt)
            if (json_equal(json_array_get(pt, 0), GET(r, "selected_step"))) {
                sb_addf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#fff\" stroke=\"%s\""
                        " stroke-width=\"2\"><title>", at(&x, json_number_value(json_array_get(pt, 0))),
                        at(&y, json_number_value(json_array_get(pt, 1))), col);
                esc(out, str(GET(r, "run")));
                sb_addf(out, ": selected step %lld, val_nll %.4f</title></circle>",
                        (long long)json_integer_value(json_array_get(pt, 0)),
                        json_number_value(json_array_get(pt, 1)));
            }
    }
    sb_adds(out, "</svg><p class=\"small\">Solid: judged runs, the ring marks the checkpoint the "
            "frozen rule selected. Dashed: runs of a picking stage (LR selection). Colours: ");
    json_t *c;
    json_array_foreach(GET(m, "conditions"), i, c) {
        sb_addf(out, "%s<span style=\"color:%s\">&#9632;</span> ", i ? ", " : "",
                palette[i % N_COLORS]);
        esc(out, str(GET(c, "condition")));
    }
    sb_adds(out, ".</p>\n");
}

/* ---- tables ---- */

static void checkpoints(const json_t *m, struct strbuf *out)
{
    const char *over = str(GET(GET(m, "compare"), "over"));
    sb_adds(out, "<h2>Checkpoints by the frozen rule <code>");
    esc(out, str(GET(m, "checkpoint_rule")));
    sb_adds(out, "</code></h2>");
    static const char *const heads[] = { "run", "condition", "seed", "step", "accuracy",
                                         "note", NULL };
    th_row(out, heads);
    size_t i;
    json_t *c;
    json_array_foreach(GET(m, "checkpoints"), i, c) {
        sb_adds(out, "<tr>");
        td(out, str(GET(c, "run")));
        td(out, str(GET(c, "condition")));
        td(out, str(GET(c, over)));
        td_num(out, GET(c, "step"), "%g");
        td_num(out, GET(c, "accuracy"), "%.4f");
        td(out, json_is_string(GET(c, "note")) ? str(GET(c, "note")) : "");
        sb_adds(out, "</tr>\n");
    }
    table_end(out);
}

static void lr_selection(const json_t *m, struct strbuf *out)
{
    if (!json_array_size(GET(m, "lr_selection")))
        return;
    sb_adds(out, "<h2>LR selection</h2>");
    static const char *const heads[] = { "pick", "rule", "run", "lr", "value", "step", "",
                                         NULL };
    th_row(out, heads);
    size_t i, j;
    json_t *p, *c;
    json_array_foreach(GET(m, "lr_selection"), i, p) {
        char metric[64] = "";
        if (sscanf(str(GET(p, "rule")), "%*3[a-z](%63[^)])", metric) != 1)
            metric[0] = '\0';
        json_array_foreach(GET(p, "candidates"), j, c) {
            int chosen = json_equal(GET(c, "run"), GET(GET(p, "choice"), "run"));
            sb_addf(out, "<tr%s>", chosen ? " style=\"font-weight:600\"" : "");
            td(out, str(GET(p, "scope")));
            td(out, str(GET(p, "rule")));
            td(out, str(GET(c, "run")));
            td_num(out, GET(c, "lr"), "%g");
            td_num(out, GET(c, metric), "%.6f");
            td_num(out, GET(c, "step"), "%g");
            td(out, chosen ? "picked" : "");
            sb_adds(out, "</tr>\n");
        }
    }
    table_end(out);
}

static void probes(struct strbuf *out, const json_t *list)
{
    sb_adds(out, "<td>");
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) {
        sb_adds(out, i ? "<br>" : "");
        sb_adds(out, "<span class=\"small\">");
        esc(out, str(GET(p, "prompt")));
        sb_adds(out, " &rarr;</span> ");
        esc(out, str(GET(p, "output")));
    }
    if (!json_array_size(list))
        sb_adds(out, "-");
    sb_adds(out, "</td>");
}

static void variants(const json_t *m, struct strbuf *out)
{
    sb_adds(out, "<h2>Variants</h2>");
    static const char *const heads[] = { "run", "type", "trainable %", "train loss",
                                         "val loss", "peak MB", "probe answers", NULL };
    th_row(out, heads);
    size_t i;
    json_t *r;
    json_array_foreach(GET(m, "runs"), i, r) {
        sb_adds(out, "<tr>");
        td(out, str(GET(r, "run")));
        td(out, str(GET(r, "type")));
        td_num(out, GET(r, "trainable_pct"), "%.3f");
        td_num(out, GET(r, "train_loss"), "%.4f");
        td_num(out, GET(r, "val_nll"), "%.4f");
        td_num(out, GET(r, "peak_rss_mb"), "%.0f");
        probes(out, GET(r, "probes"));
        sb_adds(out, "</tr>\n");
    }
    if (json_array_size(GET(m, "baseline_probes"))) {
        sb_adds(out, "<tr><td>(base model)</td><td>-</td><td>-</td><td>-</td><td>-</td>"
                "<td>-</td>");
        probes(out, GET(m, "baseline_probes"));
        sb_adds(out, "</tr>\n");
    }
    table_end(out);
    sb_adds(out, "<p class=\"small\">Val loss is the validation NLL at the selected checkpoint; "
            "train loss the last reported; peak MB the trainer's peak resident memory.</p>\n");
}

/* With the Slurm job and state of each run's last attempt where runs ran on Slurm. */
static void throughput(const json_t *m, struct strbuf *out)
{
    int slurm = report_has_slurm(m);
    sb_adds(out, "<h2>Throughput</h2>");
    static const char *const heads[] = { "run", "train tok/s", "eval tok/s", "Slurm job",
                                         "Slurm state", NULL };
    static const char *const local_heads[] = { "run", "train tok/s", "eval tok/s", NULL };
    th_row(out, slurm ? heads : local_heads);
    size_t i;
    json_t *r;
    json_array_foreach(GET(m, "runs"), i, r) {
        sb_adds(out, "<tr>");
        td(out, str(GET(r, "run")));
        td_num(out, GET(r, "train_tok_per_s"), "%.0f");
        td_num(out, GET(r, "eval_tok_per_s"), "%.0f");
        if (slurm) {
            td_num(out, GET(r, "slurm_job"), "%g");
            td(out, str(GET(r, "slurm_state")));
        }
        sb_adds(out, "</tr>\n");
    }
    if (json_is_number(GET(m, "baseline_tok_per_s"))) {
        sb_adds(out, "<tr><td>(base model)</td><td class=\"n\">-</td>");
        td_num(out, GET(m, "baseline_tok_per_s"), "%.0f");
        sb_adds(out, slurm ? "<td class=\"n\">-</td><td>-</td></tr>\n" : "</tr>\n");
    }
    table_end(out);
    struct strbuf note = STRBUF_INIT;
    report_nul_note(m, &note);
    if (note.len) {
        sb_adds(out, "<p class=\"small\">");
        esc(out, note.buf);
        sb_adds(out, "</p>\n");
    }
    sb_free(&note);
}

static void kv(struct strbuf *out, const char *k, const char *v)
{
    sb_adds(out, "<tr>");
    td(out, k);
    sb_adds(out, "<td><code>");
    esc(out, v);
    sb_adds(out, "</code></td></tr>\n");
}

static void provenance(const json_t *m, struct strbuf *out)
{
    const json_t *p = GET(m, "provenance");
    sb_adds(out, "<h2>Provenance</h2>");
    static const char *const heads[] = { "what", "value", NULL };
    th_row(out, heads);
    char version[32];
    snprintf(version, sizeof(version), "%lld", (long long)json_integer_value(GET(p, "version")));
    kv(out, "sweep", str(GET(p, "sweep")));
    kv(out, "version", version);
    kv(out, "planned at", str(GET(p, "planned_at")));
    kv(out, "git commit", str(GET(p, "git_commit")));
    kv(out, "git dirty", json_is_true(GET(p, "git_dirty")) ? "yes (the diff is recorded)" : "no");
    kv(out, "rules sha256", str(GET(p, "rules_sha256")));
    size_t i;
    json_t *a;
    json_array_foreach(GET(p, "artifacts"), i, a) {
        char what[160];
        snprintf(what, sizeof(what), "%s %s sha256", str(GET(a, "role")), str(GET(a, "name")));
        kv(out, what, str(GET(a, "sha256")));
    }
    table_end(out);
}

void report_html(const json_t *m, struct strbuf *out)
{
    sb_adds(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>");
    esc(out, str(GET(m, "sweep")));
    sb_addf(out, " - mainline report</title><style>%s</style></head><body>\n<h1>", css);
    esc(out, str(GET(m, "sweep")));
    sb_addf(out, " <span class=\"small\">version %lld &middot; rules <code>%.12s</code></span>"
            "</h1>\n", (long long)json_integer_value(GET(m, "version")),
            str(GET(m, "rules_sha256")));
    verdict(m, out);
    accuracy_chart(m, out);
    disagreement(m, out);
    statements(m, out);
    nll_chart(m, out);
    checkpoints(m, out);
    lr_selection(m, out);
    variants(m, out);
    throughput(m, out);
    provenance(m, out);
    sb_adds(out, "</body></html>\n");
}
