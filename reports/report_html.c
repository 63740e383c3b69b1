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
#include <stdlib.h>
#include <string.h>

#include "chart.h"
#include "report.h"
#include "error.h"

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
    "svg{width:100%;height:auto;display:block}svg text{font:12px system-ui,sans-serif;"
    "fill:#333}svg text.title{font-weight:600}"
    ".chart .narrow{display:none}@media(max-width:759px){.chart .narrow{display:block}"
    ".chart .wide{display:none}.chart svg{max-width:480px!important}}"
    ".legend{display:flex;flex-wrap:wrap;gap:.2em 1.1em;font-size:.85em;margin:.3em 0}"
    ".legend .key{display:inline-flex;align-items:center;gap:.35em}"
    ".legend svg{width:auto;display:inline}"
    ".multiples{display:flex;flex-wrap:wrap;gap:10px}"
    ".multiples figure{margin:0;flex:1 1 200px;max-width:300px;min-width:0}"
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
    if (json_is_string(GET(cmp, "leader")) && json_is_string(GET(cmp, "runner_up"))) {
        sb_adds(out, "<p class=\"small\">Every gap in this report is the higher mean minus the "
                "lower, here ");
        esc(out, str(GET(cmp, "leader")));
        sb_adds(out, " &minus; ");
        esc(out, str(GET(cmp, "runner_up")));
        sb_adds(out, ": positive when the first is ahead.</p>\n");
    }
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

/* usable.quantized: f32 and quantised accuracy side by side, per candidate (its
 * means and worst-seed drop) and per seed, the base model's first for reference. */
static void quantized(const json_t *m, struct strbuf *out)
{
    const json_t *ml = GET(m, "mainline"), *q = GET(ml, "quantized");
    if (!json_is_object(q))
        return;
    const char *quant = str(GET(q, "quant"));
    struct strbuf head = STRBUF_INIT;
    sb_addf(&head, "%s accuracy", quant);
    const char *heads[] = { "candidate", "run", "f32 accuracy", head.buf, "drop", NULL };
    sb_adds(out, "<h3>Quantised (");
    esc(out, quant);
    sb_adds(out, ") vs f32</h3><p class=\"small\">Each seed's selected checkpoint written as a "
            "GGUF of this type and scored on the same benchmark; usable allows a drop of at "
            "most ");
    num(out, GET(q, "max_accuracy_drop"), "%g");
    sb_adds(out, " on every seed.</p>\n");
    th_row(out, heads);
    sb_free(&head);
    const json_t *b = GET(q, "baseline");
    if (json_is_object(b)) {
        json_t *drop = json_real(json_number_value(GET(b, "accuracy")) -
                                 json_number_value(GET(b, "quant_accuracy")));
        sb_adds(out, "<tr>");
        td(out, "untouched base model");
        td(out, "baseline");
        td_num(out, GET(b, "accuracy"), "%.4f");
        td_num(out, GET(b, "quant_accuracy"), "%.4f");
        td_num(out, drop, "%+.4f");
        sb_adds(out, "</tr>\n");
        json_decref(drop);
    }
    size_t i, j;
    json_t *c, *seed;
    json_array_foreach(GET(ml, "candidates"), i, c) {
        const json_t *nq = GET(GET(c, "numbers"), "quantized");
        sb_adds(out, "<tr>");
        td(out, str(GET(c, "candidate")));
        if (!json_is_object(nq)) {
            sb_adds(out, "<td>-</td><td>-</td><td>not evaluated</td><td>-</td></tr>\n");
            continue;
        }
        td(out, "mean (worst drop)");
        td_num(out, GET(nq, "accuracy"), "%.4f");
        td_num(out, GET(nq, "quant_accuracy"), "%.4f");
        td_num(out, GET(nq, "worst_drop"), "%+.4f");
        sb_adds(out, "</tr>\n");
        json_array_foreach(GET(nq, "seeds"), j, seed) {
            sb_adds(out, "<tr><td></td>");
            td(out, str(GET(seed, "run")));
            td_num(out, GET(seed, "accuracy"), "%.4f");
            td_num(out, GET(seed, "quant_accuracy"), "%.4f");
            td_num(out, GET(seed, "drop"), "%+.4f");
            sb_adds(out, "</tr>\n");
        }
    }
    table_end(out);
}

/* ---- chart pieces: every chart is drawn twice, for a phone (CHART_NARROW user units
 * wide) and for a laptop (CHART_WIDE), and CSS shows the one that fits, so the SVG
 * text (12 user units) renders at 11 px or more at 390 px and 1280 px alike ---- */

#define CHART_NARROW 340
#define CHART_WIDE 720
#define CHAR_W 6.9                   /* a 12px system-ui character, generously */

struct scale {
    double lo, hi, px0, px1;     /* value range onto pixel range (px1 may be < px0) */
    int log;                     /* log10 scale (lo > 0) */
};

static double at(const struct scale *s, double v)
{
    double lo = s->lo, hi = s->hi;
    if (s->log) {
        v = log10(v);
        lo = log10(lo);
        hi = log10(hi);
    }
    double t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    return s->px0 + t * (s->px1 - s->px0);
}

static void widen(double *lo, double *hi, double v)
{
    if (v < *lo)
        *lo = v;
    if (v > *hi)
        *hi = v;
}

/* How seeds are told apart: the k-th seed's dash pattern and marker. */
static const char *const seed_dash[] = { "", "7 3", "2 3", "9 3 2 3", "4 4" };
#define N_DASHES (sizeof(seed_dash) / sizeof(seed_dash[0]))

static void marker(struct strbuf *out, size_t k, double x, double y, const char *col)
{
    switch (k % 4) {
    case 0:
        sb_addf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\"", x, y);
        break;
    case 1:
        sb_addf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"9\" height=\"9\"", x - 4.5, y - 4.5);
        break;
    case 2:
        sb_addf(out, "<path d=\"M%.1f %.1fl5.5 9.5h-11z\"", x, y - 5.5);
        break;
    default:
        sb_addf(out, "<path d=\"M%.1f %.1fl5.5 5.5-5.5 5.5-5.5-5.5z\"", x, y - 5.5);
    }
    sb_addf(out, " fill=\"%s\" fill-opacity=\".8\"", col);
}

/* A y axis: grid lines and labels at round ticks of [y->lo, y->hi] (1-2-5 per
 * decade on a log scale), and its title. data-lo/data-hi say what the quantity can
 * be, for the layout check. */
static void y_axis(struct strbuf *out, const struct scale *y, double x, double x_end,
                   const char *title, double can_lo, double can_hi)
{
    struct chart_ticks t;
    if (y->log)
        chart_log_ticks(y->lo, y->hi, 5, &t);
    else
        chart_ticks(y->lo, y->hi, 5, &t);
    sb_addf(out, "<g class=\"axis\" data-lo=\"%g\" data-hi=\"", can_lo);
    if (isinf(can_hi))
        sb_adds(out, "Infinity\">");
    else
        sb_addf(out, "%g\">", can_hi);
    for (int i = 0; i < t.n; i++) {
        double py = at(y, t.v[i]);
        char label[32];   /* log ticks (step 0) span decades: the shortest form */
        if (t.step > 0)
            snprintf(label, sizeof(label), "%.*f", t.decimals, t.v[i]);
        else
            snprintf(label, sizeof(label), "%g", t.v[i]);
        sb_addf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e6e6\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" data-v=\"%s\">%s</text>",
                x, x_end, py, py, x - 4, py + 4, label, label);
    }
    double mid = (y->px0 + y->px1) / 2;
    sb_addf(out, "</g><text x=\"0\" y=\"0\" transform=\"translate(13 %.1f) rotate(-90)\" "
            "text-anchor=\"middle\" class=\"title\">%s</text>", mid, title);
}

/* A linear x axis (steps): round ticks below the plot, and its title. */
static void x_axis(struct strbuf *out, const struct scale *x, double y, const char *title)
{
    struct chart_ticks t;
    int target = (int)((x->px1 - x->px0) / 70) + 1;
    while (chart_ticks(x->lo, x->hi, target, &t) > 1 && t.step < 1 && target > 3)
        target--;   /* steps are whole numbers */
    if (t.n == 1)
        t.decimals = 0;   /* one step drawn: the step itself, not 20.0000 */
    sb_addf(out, "<g class=\"axis\" data-lo=\"%g\" data-hi=\"%g\">", x->lo, x->hi);
    for (int i = 0; i < t.n; i++) {
        double px = at(x, t.v[i]);
        sb_addf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" data-v=\"%.*f\">%.*f</text>",
                px, px, y, y + 4, px, y + 17, t.decimals, t.v[i], t.decimals, t.v[i]);
    }
    sb_addf(out, "</g><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"title\">%s"
            "</text>", (x->px0 + x->px1) / 2, y + 33, title);
}

/* `s` cut to fit `px` pixels of 12px text, with an ellipsis; the whole in a title. */
static void fitted_text(struct strbuf *out, const char *s, double px)
{
    size_t max = px > CHAR_W ? (size_t)(px / CHAR_W) : 1, n = strlen(s);
    sb_adds(out, "<title>");
    esc(out, s);
    sb_adds(out, "</title>");
    if (n <= max) {
        esc(out, s);
        return;
    }
    char buf[256];
    snprintf(buf, sizeof(buf), "%.*s", (int)(max > 1 ? max - 1 : 1), s);
    esc(out, buf);
    sb_adds(out, "&#8230;");
}

/* A legend item in HTML (it wraps; its text is the page's own size): a swatch, a label. */
static void legend_line(struct strbuf *out, const char *col, const char *dash, const char *label)
{
    sb_addf(out, "<span class=\"key\"><svg viewBox=\"0 0 26 10\" width=\"26\" height=\"10\" "
            "aria-hidden=\"true\"><line x1=\"0\" x2=\"26\" y1=\"5\" y2=\"5\" stroke=\"%s\" "
            "stroke-width=\"2\" stroke-dasharray=\"%s\"/></svg>", col, dash);
    esc(out, label);
    sb_adds(out, "</span>");
}

static void legend_marker(struct strbuf *out, size_t k, const char *col, const char *label)
{
    sb_adds(out, "<span class=\"key\"><svg viewBox=\"0 0 14 14\" width=\"14\" height=\"14\" "
            "aria-hidden=\"true\">");
    marker(out, k, 7, 7, col);
    sb_adds(out, "/></svg>");
    esc(out, label);
    sb_adds(out, "</span>");
}

typedef void (*chart_fn)(const void *ctx, struct strbuf *out, double width);

static void both_widths(struct strbuf *out, chart_fn fn, const void *ctx)
{
    sb_adds(out, "<div class=\"chart\"><div class=\"narrow\">");
    fn(ctx, out, CHART_NARROW);
    sb_adds(out, "</div><div class=\"wide\">");
    fn(ctx, out, CHART_WIDE);
    sb_adds(out, "</div></div>");
}

/* ---- accuracy by condition: seeds as points, mean as a bar, the base model ---- */

/* Accuracy is drawn in % (0 to 100); a trainer metric as it is, at or above 0. */
static int is_accuracy(const char *metric)
{
    return !strcmp(metric, "accuracy");
}

static double shown(const char *metric, const json_t *v)
{
    return json_number_value(v) * (is_accuracy(metric) ? 100 : 1);
}

static void accuracy_svg(const void *ctx, struct strbuf *out, double w)
{
    const json_t *m = ctx, *conds = GET(m, "conditions"), *base = GET(m, "baseline");
    const char *metric = str(GET(GET(m, "compare"), "metric"));
    int acc = is_accuracy(metric);
    size_t n = json_array_size(conds), i, j;
    double lo = INFINITY, hi = -INFINITY;
    json_t *c, *s;
    json_array_foreach(conds, i, c)
        json_array_foreach(GET(c, "seeds"), j, s)
            widen(&lo, &hi, shown(metric, GET(s, metric)));
    if (json_is_object(base) && acc)
        widen(&lo, &hi, shown(metric, GET(base, "accuracy")));
    double ylo, yhi;
    if (acc)
        chart_range(lo, hi, 0.15, 2, 0, 100, &ylo, &yhi);
    else
        chart_range(lo, hi, 0.15, 0.02, 0, INFINITY, &ylo, &yhi);
    double h = 250, left = 58, right = 8, bottom = h - 30;
    struct scale y = { ylo, yhi, bottom, 10, 0 };
    double band = (w - left - right) / (double)n;
    sb_addf(out, "<svg viewBox=\"0 0 %.0f %.0f\" style=\"max-width:%.0fpx\" role=\"img\" "
            "aria-label=\"%s by condition, one mark per seed\">", w, h, w, metric);
    char title[96];
    snprintf(title, sizeof(title), acc ? "%s (%% correct)" : "%s", metric);
    y_axis(out, &y, left, w - right, title, 0, acc ? 100 : INFINITY);
    if (json_is_object(base) && acc) {
        double py = at(&y, shown(metric, GET(base, "accuracy")));
        sb_addf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#555\" "
                "stroke-dasharray=\"5 4\"/>", left, w - right, py, py);
    }
    json_array_foreach(conds, i, c) {
        double cx = left + band * ((double)i + 0.5), mean = shown(metric, GET(c, "mean"));
        const char *col = palette[i % N_COLORS];
        sb_addf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"3\"/>", cx - band * 0.3, cx + band * 0.3, at(&y, mean),
                at(&y, mean), col);
        size_t k = json_array_size(GET(c, "seeds"));
        json_array_foreach(GET(c, "seeds"), j, s) {
            double dx = k > 1 ? ((double)j / (double)(k - 1) - 0.5) * band * 0.4 : 0;
            marker(out, j, cx + dx, at(&y, shown(metric, GET(s, metric))), col);
            sb_adds(out, "><title>");
            esc(out, str(GET(s, "run")));
            sb_addf(out, acc ? ": %.1f%%</title></%s>" : ": %.4f</title></%s>",
                    shown(metric, GET(s, metric)),
                    j % 4 == 0 ? "circle" : j % 4 == 1 ? "rect" : "path");
        }
        sb_addf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", cx, bottom + 20);
        fitted_text(out, str(GET(c, "condition")), band - 6);
        sb_adds(out, "</text>");
    }
    sb_adds(out, "</svg>");
}

static void accuracy_chart(const json_t *m, struct strbuf *out)
{
    const json_t *conds = GET(m, "conditions"), *base = GET(m, "baseline");
    const char *metric = str(GET(GET(m, "compare"), "metric"));
    const char *over = str(GET(GET(m, "compare"), "over"));
    if (!json_array_size(conds))
        return;
    sb_addf(out, "<h2>%s by condition</h2>", metric);
    both_widths(out, accuracy_svg, m);
    sb_adds(out, "<p class=\"legend\">");
    size_t i, j;
    json_t *c, *s;
    json_array_foreach(conds, i, c) {
        char label[256];
        snprintf(label, sizeof(label), is_accuracy(metric) ?
                 "%s: mean %.1f%%, range %.1f points over %zu %ss" :
                 "%s: mean %.4f, range %.4f over %zu %ss", str(GET(c, "condition")),
                 shown(metric, GET(c, "mean")), shown(metric, GET(c, "range")),
                 json_array_size(GET(c, "seeds")), over);
        legend_line(out, palette[i % N_COLORS], "", label);
    }
    json_array_foreach(GET(json_array_get(conds, 0), "seeds"), j, s) {
        char label[96];
        snprintf(label, sizeof(label), "%s %s", over, str(GET(s, over)));
        legend_marker(out, j, "#555", label);
    }
    if (json_is_object(base) && is_accuracy(metric)) {
        char label[96];
        snprintf(label, sizeof(label), "untouched base model: %.1f%%",
                 shown(metric, GET(base, "accuracy")));
        legend_line(out, "#555", "5 4", label);
    }
    sb_addf(out, "</p><p class=\"small\">%s One mark per %s (its shape tells the %ss apart); "
            "the bar is the mean over %ss.</p>\n", is_accuracy(metric) ? "Accuracy is the "
            "share of the benchmark's examples answered correctly, in % (the tables give it as "
            "a fraction, 0 to 1)." : "", over, over, over);
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
        double y = 28 + k * 34;   /* the label above its bar: names can be long */
        sb_addf(out, "<text x=\"0\" y=\"%.0f\">", y);
        char label[160];
        snprintf(label, sizeof(label), "%s only: %.0f", names[k], vs[k]);
        fitted_text(out, label, 236);
        sb_addf(out, "</text><rect x=\"0\" y=\"%.0f\" width=\"%.1f\" height=\"14\" "
                "fill=\"%s\"/>", y + 4, ws[k], palette[k]);
    }
    sb_adds(out, "</svg><figcaption>both correct ");
    num(out, GET(seed, "both"), "%g");
    sb_adds(out, " · both wrong ");
    num(out, GET(seed, "neither"), "%g");
    sb_addf(out, " · %s only minus %s only ", a, b);
    sb_addf(out, "%+lld", (long long)json_integer_value(GET(seed, "delta")));
    sb_adds(out, " · McNemar p ");
    num(out, GET(seed, "mcnemar_p"), "%.3g");
    sb_adds(out, "</figcaption></figure>");
}

static void disagreement(const json_t *m, struct strbuf *out)
{
    const char *over = str(GET(GET(m, "compare"), "over"));
    const char *metric = str(GET(GET(m, "compare"), "metric"));
    size_t i, j;
    json_t *p, *s;
    json_array_foreach(GET(m, "pairs"), i, p) {
        struct report_gap g;
        report_gap(m, p, &g);
        int rev = report_pair_reversed(m, p);
        const char *a = str(GET(p, "a")), *b = str(GET(p, "b"));
        sb_adds(out, "<h2>Where ");
        esc(out, g.first);
        sb_adds(out, " and ");
        esc(out, g.second);
        sb_addf(out, " disagree, per %s</h2><div class=\"multiples\">", over);
        double max = 0;
        json_array_foreach(GET(p, "seeds"), j, s) {
            widen(&(double){ 0 }, &max, json_number_value(GET(s, "a_only")));
            widen(&(double){ 0 }, &max, json_number_value(GET(s, "b_only")));
        }
        json_array_foreach(GET(p, "seeds"), j, s) {
            json_t *o = json_deep_copy(s);   /* the leader's numbers first */
            if (rev) {
                json_object_set(o, "a_only", GET(s, "b_only"));
                json_object_set(o, "b_only", GET(s, "a_only"));
                json_object_set_new(o, "delta", json_integer(-json_integer_value(GET(s, "delta"))));
            }
            one_multiple(out, o, over, rev ? b : a, rev ? a : b, max);
            json_decref(o);
        }
        sb_adds(out, "</div><p class=\"small\">Over all seeds: ");
        num(out, GET(p, rev ? "b_only" : "a_only"), "%g");
        sb_adds(out, " vs ");
        num(out, GET(p, rev ? "a_only" : "b_only"), "%g");
        sb_adds(out, " examples only one got right, exact McNemar p ");
        num(out, GET(p, "mcnemar_p"), "%.4g");
        if (g.has_bootstrap) {
            const json_t *bs = GET(p, "bootstrap");
            sb_addf(out, "; paired bootstrap of the mean %s gap (", metric);
            esc(out, g.first);
            sb_adds(out, " &minus; ");
            esc(out, g.second);
            sb_addf(out, ") %.4f, %.0f%% interval [%.4f, %.4f] (", g.observed,
                    100 * json_number_value(GET(bs, "level")), g.lo, g.hi);
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

/* ---- validation NLL and training loss by step: per stage, colour per series, dash
 * per seed; a log y axis when the values drawn span more than CHART_LOG_RATIO ---- */

#define MAX_SERIES 64

/* One quantity by step for the runs of one stage: "curve" (the validation NLL) or
 * "train_curve" (the train events' loss). */
struct curve_kind {
    const char *key, *title, *log_title, *label;   /* titles fit a 216-unit axis */
};
static const struct curve_kind val_kind = { "curve", "validation NLL (nats/token)",
                                            "val. NLL (nats/token, log)", "validation NLL" };
static const struct curve_kind train_kind = { "train_curve", "training loss (nats/token)",
                                              "train loss (nats/token, log)",
                                              "training loss" };

/* The runs of one stage drawn together; series are what the runs differ in but the
 * seed (the run id without its stage and seed parts: a condition, an lr, ...). The
 * series and seeds are gathered once for the stage (panel_runs), so the NLL and the
 * train-loss charts give a run the same colour and dash. */
struct nll_panel {
    const json_t *m;
    const char *stage;
    const struct curve_kind *kind;
    double x0, x1;                   /* the steps drawn */
    int zoom;                        /* y fitted to the steps drawn only */
    char *series[MAX_SERIES];
    size_t n_series;
    const json_t *seeds[MAX_SERIES];
    size_t n_seeds;
};

static void series_key(const json_t *run, char *buf, size_t size)
{
    const char *id = str(GET(run, "run")), *stage = str(GET(run, "stage"));
    size_t sl = strlen(stage);
    if (!strncmp(id, stage, sl) && id[sl] == '-')
        id += sl + 1;
    snprintf(buf, size, "%s", id);
    char seed[48];
    snprintf(seed, sizeof(seed), "seed-%lld", (long long)json_integer_value(GET(run, "seed")));
    char *at_seed = json_is_integer(GET(run, "seed")) ? strstr(buf, seed) : NULL;
    if (at_seed && (at_seed[strlen(seed)] == '\0' || at_seed[strlen(seed)] == '-')) {
        memmove(at_seed > buf ? at_seed - 1 : at_seed, at_seed + strlen(seed),
                strlen(at_seed + strlen(seed)) + 1);
    }
    if (!buf[0])
        snprintf(buf, size, "%s", str(GET(run, "run")));
}

static size_t series_of(struct nll_panel *p, const json_t *run)
{
    char key[256];
    series_key(run, key, sizeof(key));
    size_t i;
    for (i = 0; i < p->n_series; i++)
        if (!strcmp(p->series[i], key))
            return i;
    if (p->n_series < MAX_SERIES)
        p->series[p->n_series++] = xstrdup(key);
    return i < MAX_SERIES ? i : MAX_SERIES - 1;
}

static size_t seed_of(struct nll_panel *p, const json_t *run)
{
    const json_t *seed = GET(run, "seed");
    size_t i;
    for (i = 0; i < p->n_seeds; i++)
        if (json_equal(p->seeds[i], seed))
            return i;
    if (p->n_seeds < MAX_SERIES)
        p->seeds[p->n_seeds++] = seed;
    return i < MAX_SERIES ? i : MAX_SERIES - 1;
}

static int in_stage(const json_t *run, const char *stage, const char *key)
{
    return !strcmp(str(GET(run, "stage")), stage) && json_array_size(GET(run, key));
}

static int in_panel(const struct nll_panel *p, const json_t *run)
{
    return in_stage(run, p->stage, p->kind->key);
}

static double pt_x(const json_t *pt)
{
    return json_number_value(json_array_get(pt, 0));
}

static double pt_y(const json_t *pt)
{
    return json_number_value(json_array_get(pt, 1));
}

/* The range of the panel's values at steps >= from; *x0, *x1 its steps (NULL: not wanted). */
static void panel_extent(const struct nll_panel *p, double from, double *y0, double *y1,
                         double *x0, double *x1)
{
    size_t i, j;
    json_t *r, *pt;
    *y0 = INFINITY;
    *y1 = -INFINITY;
    json_array_foreach(GET(p->m, "runs"), i, r)
        if (in_panel(p, r))
            json_array_foreach(GET(r, p->kind->key), j, pt)
                if (pt_x(pt) >= from) {
                    widen(y0, y1, pt_y(pt));
                    if (x0)
                        widen(x0, x1, pt_x(pt));
                }
}

static void nll_svg(const void *ctx, struct strbuf *out, double w)
{
    struct nll_panel *p = (struct nll_panel *)ctx;
    double y0, y1;
    size_t i, j;
    json_t *r, *pt;
    panel_extent(p, p->x0, &y0, &y1, NULL, NULL);
    double ylo, yhi, h = 260, left = 58, right = 10, bottom = h - 44;
    int log_y = chart_wants_log(y0, y1);
    if (log_y)
        chart_log_range(y0, y1, 0.04, &ylo, &yhi);
    else
        chart_range(y0, y1, 0.08, 0.01, 0, INFINITY, &ylo, &yhi);
    struct scale x = { p->x0, p->x1, left, w - right, 0 }, y = { ylo, yhi, bottom, 10, log_y };
    sb_addf(out, "<svg viewBox=\"0 0 %.0f %.0f\" style=\"max-width:%.0fpx\" role=\"img\" "
            "aria-label=\"%s by step, stage ", w, h, w, p->kind->label);
    esc(out, p->stage);
    sb_adds(out, "\">");
    y_axis(out, &y, left, w - right, log_y ? p->kind->log_title : p->kind->title, 0, INFINITY);
    x_axis(out, &x, bottom, "training step");
    sb_addf(out, "<clipPath id=\"c%p%.0f%d\"><rect x=\"%.1f\" y=\"0\" width=\"%.1f\" "
            "height=\"%.1f\"/></clipPath><g clip-path=\"url(#c%p%.0f%d)\">", (void *)p, w,
            p->zoom, left - 6, w - left - right + 12, bottom + 1, (void *)p, w, p->zoom);
    json_array_foreach(GET(p->m, "runs"), i, r) {
        if (!in_panel(p, r))
            continue;
        const char *col = palette[series_of(p, r) % N_COLORS];
        size_t k = seed_of(p, r);
        sb_addf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                "stroke-dasharray=\"%s\" points=\"", col, seed_dash[k % N_DASHES]);
        json_array_foreach(GET(r, p->kind->key), j, pt)
            if (!log_y || pt_y(pt) > 0)
                sb_addf(out, "%.1f,%.1f ", at(&x, pt_x(pt)), at(&y, pt_y(pt)));
        sb_adds(out, "\"><title>");
        esc(out, str(GET(r, "run")));
        sb_adds(out, "</title></polyline>");
        pt = json_array_get(GET(r, p->kind->key), 0);
        if (json_array_size(GET(r, p->kind->key)) == 1 && (!log_y || pt_y(pt) > 0))
            sb_addf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>",
                    at(&x, pt_x(pt)), at(&y, pt_y(pt)), col);   /* one point: no line */
        json_array_foreach(GET(r, p->kind->key), j, pt)
            if (p->kind == &val_kind &&
                json_equal(json_array_get(pt, 0), GET(r, "selected_step"))) {
                sb_addf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#fff\" stroke=\"%s\""
                        " stroke-width=\"2\"><title>", at(&x, pt_x(pt)), at(&y, pt_y(pt)), col);
                esc(out, str(GET(r, "run")));
                sb_addf(out, ": selected step %lld, val_nll %.4f</title></circle>",
                        (long long)json_integer_value(json_array_get(pt, 0)), pt_y(pt));
            }
    }
    sb_adds(out, "</g></svg>");
}

static void nll_legend(struct nll_panel *p, struct strbuf *out)
{
    sb_adds(out, "<p class=\"legend\">");
    for (size_t i = 0; i < p->n_series && p->n_series > 1; i++)
        legend_line(out, palette[i % N_COLORS], "", p->series[i]);
    for (size_t k = 0; k < p->n_seeds; k++) {
        char label[64];
        if (json_is_integer(p->seeds[k]))
            snprintf(label, sizeof(label), "seed %lld", (long long)json_integer_value(p->seeds[k]));
        else
            snprintf(label, sizeof(label), "no seed");
        legend_line(out, "#555", seed_dash[k % N_DASHES], label);
    }
    sb_adds(out, "</p>");
}

/* The panel's chart over all its steps, then, when the start squeezes the end of
 * training (where the runs differ) on a linear axis, its last half on a y axis of
 * its own. */
static void curve_charts(struct nll_panel *p, struct strbuf *out)
{
    double y0, y1;
    p->x0 = INFINITY;
    p->x1 = -INFINITY;
    p->zoom = 0;
    panel_extent(p, -INFINITY, &y0, &y1, &p->x0, &p->x1);
    both_widths(out, nll_svg, p);
    double mid = p->x0 + (p->x1 - p->x0) / 2, z0, z1;
    panel_extent(p, mid, &z0, &z1, NULL, NULL);
    if (!chart_wants_log(y0, y1) && z1 > z0 && (z1 - z0) < 0.4 * (y1 - y0)) {
        struct nll_panel z = *p;
        z.x0 = mid;
        z.zoom = 1 + (p->kind == &train_kind);
        sb_addf(out, "<p class=\"small\">The last half of training (from step %.0f), its own "
                "y axis:</p>", mid);
        both_widths(out, nll_svg, &z);
    }
}

static void nll_stage(const json_t *m, const char *stage, struct strbuf *out)
{
    struct nll_panel p = { .m = m, .stage = stage, .kind = &val_kind };
    int judged = 0, train = 0;
    size_t i;
    json_t *r;
    json_array_foreach(GET(m, "runs"), i, r)   /* every run's colour and dash, once */
        if (in_stage(r, stage, val_kind.key) || in_stage(r, stage, train_kind.key)) {
            judged |= json_is_integer(GET(r, "selected_step"));
            train |= in_stage(r, stage, train_kind.key);
            series_of(&p, r);
            seed_of(&p, r);
        }
    sb_adds(out, "<h2>Validation NLL by step: ");
    esc(out, stage);
    sb_adds(out, judged ? "</h2>" : " (a picking stage)</h2>");
    curve_charts(&p, out);
    if (train) {
        sb_adds(out, "<p class=\"small\">Training loss by step, the same runs, colours and "
                "line styles (the loss each train event reported, over its batch):</p>");
        struct nll_panel t = p;
        t.kind = &train_kind;
        curve_charts(&t, out);
    }
    nll_legend(&p, out);
    sb_addf(out, "<p class=\"small\">Colour: %s; line style: the seed.%s</p>",
            p.n_series > 1 ? "the run's settings but the seed (its id without stage and "
            "seed)" : "one setting", judged ? " The ring marks the checkpoint the frozen "
            "rule selected." : " Runs of a stage that picks a setting (LR selection): no "
            "checkpoint of theirs is judged.");
    for (size_t k = 0; k < p.n_series; k++)
        free(p.series[k]);
    sb_adds(out, "\n");
}

static void nll_chart(const json_t *m, struct strbuf *out)
{
    /* the judged stages first, then the picking stages in plan order */
    const char *stages[MAX_SERIES];
    size_t n = 0, i, k;
    json_t *r;
    for (int pass = 0; pass < 2; pass++)
        json_array_foreach(GET(m, "runs"), i, r) {
            const char *stage = str(GET(r, "stage"));
            if (!json_array_size(GET(r, "curve")) ||
                json_is_integer(GET(r, "selected_step")) != !pass)
                continue;
            for (k = 0; k < n && strcmp(stages[k], stage); k++)
                ;
            if (k == n && n < MAX_SERIES)
                stages[n++] = stage;
        }
    for (k = 0; k < n; k++)
        nll_stage(m, stages[k], out);
    if (n)
        sb_addf(out, "<p class=\"small\">NLL and training loss in nats per token: the mean "
                "negative natural log-likelihood of each completion token (EOS included), as "
                "mainline's trainer computes it (a trainer of your own logs its own unit). A "
                "chart whose values span more than %.0fx (largest over smallest) has a log "
                "y axis, marked \"log\" in its axis title; the others are linear.</p>\n", CHART_LOG_RATIO);
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

/* A run table's header: run, the swept parameters, then `after`. */
static void run_th_row(const json_t *m, const char *const *after, struct strbuf *out)
{
    static const char *const before[] = { "run", NULL };
    const char **heads = report_heads(m, before, after);
    th_row(out, heads);
    free(heads);
}

/* A run table row's first cells: the run and its swept parameters; NULL: the base
 * model's, "(base model)" and "-" for every parameter. */
static void run_tds(const json_t *m, const json_t *r, struct strbuf *out)
{
    td(out, r ? str(GET(r, "run")) : "(base model)");
    report_param_cells(m, r, td, out);
}

static void variants(const json_t *m, struct strbuf *out)
{
    sb_adds(out, "<h2>Variants</h2>");
    static const char *const after[] = { "type", "trainable %", "train loss", "val loss",
                                         "peak MB", "probe answers", NULL };
    run_th_row(m, after, out);
    size_t i;
    json_t *r;
    json_array_foreach(GET(m, "runs"), i, r) {
        sb_adds(out, "<tr>");
        run_tds(m, r, out);
        td(out, str(GET(r, "type")));
        td_num(out, GET(r, "trainable_pct"), "%.3f");
        td_num(out, GET(r, "train_loss"), "%.4f");
        td_num(out, GET(r, "val_nll"), "%.4f");
        td_num(out, GET(r, "peak_rss_mb"), "%.0f");
        probes(out, GET(r, "probes"));
        sb_adds(out, "</tr>\n");
    }
    if (json_array_size(GET(m, "baseline_probes"))) {
        sb_adds(out, "<tr>");
        run_tds(m, NULL, out);
        sb_adds(out, "<td>-</td><td>-</td><td>-</td><td>-</td><td>-</td>");
        probes(out, GET(m, "baseline_probes"));
        sb_adds(out, "</tr>\n");
    }
    table_end(out);
    sb_adds(out, "<p class=\"small\">Val loss is the validation NLL at the selected checkpoint, "
            "train loss the last reported, both in nats per token; peak MB the trainer's peak resident memory.</p>\n");
}

/* With the Slurm job and state of each run's last attempt where runs ran on Slurm. */
static void throughput(const json_t *m, struct strbuf *out)
{
    int slurm = report_has_slurm(m);
    sb_adds(out, "<h2>Throughput</h2>");
    static const char *const after[] = { "train tok/s", "eval tok/s", "Slurm job",
                                         "Slurm state", NULL };
    static const char *const after_local[] = { "train tok/s", "eval tok/s", NULL };
    run_th_row(m, slurm ? after : after_local, out);
    size_t i;
    json_t *r;
    json_array_foreach(GET(m, "runs"), i, r) {
        sb_adds(out, "<tr>");
        run_tds(m, r, out);
        td_num(out, GET(r, "train_tok_per_s"), "%.0f");
        td_num(out, GET(r, "eval_tok_per_s"), "%.0f");
        if (slurm) {
            td_num(out, GET(r, "slurm_job"), "%g");
            td(out, str(GET(r, "slurm_state")));
        }
        sb_adds(out, "</tr>\n");
    }
    if (json_is_number(GET(m, "baseline_tok_per_s"))) {
        sb_adds(out, "<tr>");
        run_tds(m, NULL, out);
        sb_adds(out, "<td class=\"n\">-</td>");
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
    const char *git = json_string_value(GET(p, "git_status"));
    if (git && strcmp(git, "ok") != 0) {
        kv(out, "git", git);   /* "not a git repository": not "commit -, clean" */
    } else {
        kv(out, "git commit", str(GET(p, "git_commit")));
        kv(out, "git dirty", json_is_true(GET(p, "git_dirty")) ? "yes (the diff is recorded)"
                                                              : "no");
    }
    kv(out, "rules sha256", str(GET(p, "rules_sha256")));
    size_t i;
    json_t *a;
    json_array_foreach(GET(p, "artifacts"), i, a) {
        char what[160];
        snprintf(what, sizeof(what), "%s %s sha256", str(GET(a, "role")), str(GET(a, "name")));
        kv(out, what, str(GET(a, "sha256")));
    }
    json_array_foreach(GET(p, "code"), i, a) {
        char what[300];
        snprintf(what, sizeof(what), "code %s sha256", str(GET(a, "name")));
        kv(out, what, str(GET(a, "sha256")));
    }
    table_end(out);
}

/* ---- failed runs ---- */

/* The runs that failed, with why and the last line of their stderr; nothing when none. */
static void failed_runs(const json_t *m, struct strbuf *out)
{
    const json_t *list = GET(m, "failed_runs");
    if (!json_array_size(list))
        return;
    sb_addf(out, "<h2>Failed runs</h2><p>%zu run%s failed; <code>mainline show RUN</code> "
            "prints the last lines of its stderr, <code>mainline run --retry-failed</code> "
            "tries again.</p>", json_array_size(list), json_array_size(list) == 1 ? "" : "s");
    static const char *const heads[] = { "run", "stage", "attempt", "reason",
                                         "last stderr line", NULL };
    th_row(out, heads);
    size_t i;
    json_t *f;
    json_array_foreach(list, i, f) {
        sb_adds(out, "<tr>");
        td(out, str(GET(f, "run")));
        td(out, str(GET(f, "stage")));
        td_num(out, GET(f, "attempt"), "%g");
        td(out, str(GET(f, "reason")));
        sb_adds(out, "<td><code>");
        esc(out, str(GET(f, "stderr_line")));
        sb_adds(out, "</code></td></tr>\n");
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
    quantized(m, out);
    accuracy_chart(m, out);
    disagreement(m, out);
    statements(m, out);
    nll_chart(m, out);
    checkpoints(m, out);
    lr_selection(m, out);
    variants(m, out);
    throughput(m, out);
    provenance(m, out);
    failed_runs(m, out);
    sb_adds(out, "</body></html>\n");
}
