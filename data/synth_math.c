/*
 * synth_math.c - the demo task's word problems (see synth_math.h).
 *
 * Each template writes the problem, the solution (one arithmetic step per line)
 * and returns the answer. Every number a problem shows is drawn by slot(), which
 * keeps benchmark numbers (= 3 mod 5) and training numbers (the rest) apart; the
 * templates are worded so that no 13 consecutive words are free of numbers.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "fsutil.h"
#include "rng.h"
#include "synth_math.h"
#include "u64map.h"

struct gen {
    uint64_t *rng;
    int held_out;
    struct strbuf problem, solution;
    const char *source;
};

static const char *const names[] = { "Ava", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana",
                                     "Ivan", "Jade", "Kofi", "Lena", "Milo", "Nora", "Omar",
                                     "Priya" };
static const char *const goods[] = { "pens", "books", "apples", "cups", "toys", "shirts",
                                     "hats", "bags" };
static const char *const things[] = { "marbles", "stickers", "cards", "shells", "coins",
                                      "beads" };
static const char *const products[] = { "toys", "bottles", "boxes", "bricks" };

/* a fraction in words: p/q */
struct fraction {
    const char *words, *part;   /* "two thirds", "third" */
    int p, q;
};
static const struct fraction fractions[] = {
    { "half", "half", 1, 2 },          { "a third", "third", 1, 3 },
    { "a quarter", "quarter", 1, 4 },  { "a fifth", "fifth", 1, 5 },
    { "two thirds", "third", 2, 3 },   { "three quarters", "quarter", 3, 4 },
    { "two fifths", "fifth", 2, 5 },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *pick(struct gen *g, const char *const *list, size_t n)
{
    return list[rng_next(g->rng) % n];
}

static int is_held_out_number(long v)
{
    return v % 5 == 3;
}

/* A number shown in the problem: uniform over the values of [lo, hi] that belong
 * to this side of the split (every range used holds values of both sides). */
static long slot(struct gen *g, long lo, long hi)
{
    for (;;) {
        long v = rng_range(g->rng, lo, hi);
        if (is_held_out_number(v) == g->held_out)
            return v;
    }
}

static void two_names(struct gen *g, const char **a, const char **b)
{
    *a = pick(g, names, COUNT(names));
    do
        *b = pick(g, names, COUNT(names));
    while (*b == *a);
}

/* ---- shopping ---- */

static long shop_items(struct gen *g, const char *n, int pay)
{
    const char *i1 = pick(g, goods, COUNT(goods)), *i2;
    do
        i2 = pick(g, goods, COUNT(goods));
    while (i2 == i1);
    long a = slot(g, 2, 9), b = slot(g, 2, 12), d = slot(g, 2, 9), e = slot(g, 2, 12);
    long x = a * b, y = d * e, z = x + y;
    sb_addf(&g->problem, "%s buys %ld %s at %ld dollars each and %ld %s at %ld dollars each", n,
            a, i1, b, d, i2, e);
    sb_addf(&g->solution, "The %s cost %ld * %ld = %ld dollars.\nThe %s cost %ld * %ld = %ld "
            "dollars.\n%s spends %ld + %ld = %ld dollars.\n", i1, a, b, x, i2, d, e, y, n, x, y,
            z);
    if (!pay) {
        sb_addf(&g->problem, ". How many dollars does %s spend?", n);
        return z;
    }
    long c = slot(g, z + 1, z + 30);
    sb_addf(&g->problem, ", and pays with a %ld dollar bill. How many dollars of change does "
            "%s get?", c, n);
    sb_addf(&g->solution, "The change is %ld - %ld = %ld dollars.\n", c, z, c - z);
    return c - z;
}

static long shop_change(struct gen *g)
{
    const char *n = pick(g, names, COUNT(names)), *items = pick(g, goods, COUNT(goods));
    long a = slot(g, 2, 9), b = slot(g, 2, 12);
    long x = a * b, c = slot(g, x + 1, x + 30);
    g->source = "shopping";
    sb_addf(&g->problem, "%s buys %ld %s for %ld dollars each and pays with a %ld dollar bill. "
            "How many dollars of change does %s get?", n, a, items, b, c, n);
    sb_addf(&g->solution, "%s pays %ld * %ld = %ld dollars.\nThe change is %ld - %ld = %ld "
            "dollars.\n", n, a, b, x, c, x, c - x);
    return c - x;
}

static long shop_total(struct gen *g)
{
    g->source = "shopping";
    return shop_items(g, pick(g, names, COUNT(names)), 0);
}

static long shop_total_change(struct gen *g)
{
    g->source = "shopping";
    return shop_items(g, pick(g, names, COUNT(names)), 1);
}

/* ---- rates ---- */

static long rate_machine(struct gen *g)
{
    const char *p = pick(g, products, COUNT(products));
    long a = slot(g, 2, 15), b = slot(g, 2, 9), c = slot(g, 2, 9);
    long x = a * b, y = x * c;
    g->source = "rates";
    sb_addf(&g->problem, "A machine makes %ld %s per hour. It runs %ld hours a day for %ld days. "
            "How many %s does it make?", a, p, b, c, p);
    sb_addf(&g->solution, "Each day it makes %ld * %ld = %ld %s.\nIn %ld days it makes %ld * %ld "
            "= %ld %s.\n", a, b, x, p, c, x, c, y, p);
    return y;
}

static long rate_reading(struct gen *g)
{
    const char *n = pick(g, names, COUNT(names));
    long a = slot(g, 5, 15), b = slot(g, 2, 7), c = slot(g, 2, 7);
    long h = b + c, r = a * h, d = slot(g, r + 1, r + 60);
    g->source = "rates";
    sb_addf(&g->problem, "%s reads %ld pages an hour. %s reads for %ld hours on Monday and %ld "
            "hours on Tuesday. The book has %ld pages. How many pages are left to read?", n, a,
            n, b, c, d);
    sb_addf(&g->solution, "%s reads for %ld + %ld = %ld hours.\nThat is %ld * %ld = %ld pages.\n"
            "There are %ld - %ld = %ld pages left.\n", n, b, c, h, a, h, r, d, r, d - r);
    return d - r;
}

/* ---- ages ---- */

static long age_later(struct gen *g)
{
    const char *n, *m;
    two_names(g, &n, &m);
    long a = slot(g, 4, 40), b = slot(g, 2, 20), c = slot(g, 2, 20);
    long x = a + b;
    g->source = "ages";
    sb_addf(&g->problem, "%s is %ld years old. %s is %ld years older than %s. How old will %s "
            "be in %ld years?", n, a, m, b, n, m, c);
    sb_addf(&g->solution, "%s is %ld + %ld = %ld years old.\nIn %ld years %s will be %ld + %ld "
            "= %ld.\n", m, a, b, x, c, m, x, c, x + c);
    return x + c;
}

static long age_times(struct gen *g)
{
    const char *n, *m, *p;
    two_names(g, &n, &m);
    do
        p = pick(g, names, COUNT(names));
    while (p == n || p == m);
    long a, k, b, x;
    do {
        a = slot(g, 2, 15);
        k = slot(g, 2, 5);
        b = slot(g, 2, 20);
        x = a * k;
    } while (b >= x);
    g->source = "ages";
    sb_addf(&g->problem, "%s is %ld years old. %s is %ld times as old as %s. %s is %ld years "
            "younger than %s. How old are %s and %s together?", n, a, m, k, n, p, b, m, n, p);
    sb_addf(&g->solution, "%s is %ld * %ld = %ld years old.\n%s is %ld - %ld = %ld years old.\n"
            "Together they are %ld + %ld = %ld years old.\n", m, a, k, x, p, x, b, x - b, a,
            x - b, a + x - b);
    return a + x - b;
}

/* ---- fractions of a quantity ---- */

/* A fraction and a whole it divides, both allowed on this side of the split. */
static const struct fraction *fraction_of(struct gen *g, long *whole)
{
    for (;;) {
        const struct fraction *f = &fractions[rng_next(g->rng) % COUNT(fractions)];
        long a = f->q * rng_range(g->rng, 2, 12);
        if (is_held_out_number(a) == g->held_out) {
            *whole = a;
            return f;
        }
    }
}

/* "Two thirds of 12 is ..." lines; returns the part. */
static long fraction_steps(struct gen *g, const struct fraction *f, long a)
{
    long u = a / f->q, w = u * f->p;
    char cap[32];
    snprintf(cap, sizeof(cap), "%s", f->words);
    cap[0] = (char)toupper((unsigned char)cap[0]);
    if (f->p == 1) {
        sb_addf(&g->solution, "%s of %ld is %ld / %d = %ld.\n", cap, a, a, f->q, w);
    } else {
        sb_addf(&g->solution, "One %s of %ld is %ld / %d = %ld.\n%s of %ld is %ld * %d = %ld.\n",
                f->part, a, a, f->q, u, cap, a, u, f->p, w);
    }
    return w;
}

static long frac_give(struct gen *g)
{
    const char *n = pick(g, names, COUNT(names)), *t = pick(g, things, COUNT(things));
    long a;
    const struct fraction *f = fraction_of(g, &a);
    long b = slot(g, 2, 20);
    g->source = "fractions";
    sb_addf(&g->problem, "%s has %ld %s and gives %s of them away. Then %s buys %ld more. How "
            "many %s does %s have now?", n, a, t, f->words, n, b, t, n);
    long w = fraction_steps(g, f, a), r = a - w;
    sb_addf(&g->solution, "%s has %ld - %ld = %ld %s left.\nAfter buying %ld more, %s has %ld + "
            "%ld = %ld %s.\n", n, a, w, r, t, b, n, r, b, r + b, t);
    return r + b;
}

static long frac_class(struct gen *g)
{
    long a, b, w;
    const struct fraction *f;
    do {
        f = fraction_of(g, &a);
        b = slot(g, 2, 20);
        w = a / f->q * f->p;
    } while (b >= a - w);
    char cap[32];
    snprintf(cap, sizeof(cap), "%s", f->words);
    cap[0] = (char)toupper((unsigned char)cap[0]);
    g->source = "fractions";
    sb_addf(&g->problem, "A class has %ld students. %s of them walk to school and %ld of the "
            "others take the bus. How many students do neither?", a, cap, b);
    fraction_steps(g, f, a);
    sb_addf(&g->solution, "So %ld - %ld = %ld students do not walk.\nThen %ld - %ld = %ld "
            "students do neither.\n", a, w, a - w, a - w, b, a - w - b);
    return a - w - b;
}

typedef long (*template_fn)(struct gen *g);
static const template_fn templates[] = { shop_change, shop_total, shop_total_change,
                                         rate_machine, rate_reading, age_later, age_times,
                                         frac_give, frac_class };

json_t *synth_math_problem(uint64_t *rng, int held_out)
{
    struct gen g = { rng, held_out, STRBUF_INIT, STRBUF_INIT, NULL };
    long answer = templates[rng_next(rng) % COUNT(templates)](&g);
    sb_addf(&g.solution, "The answer is \\boxed{%ld}.", answer);
    char ans[32];
    snprintf(ans, sizeof(ans), "%ld", answer);
    json_t *row = json_pack("{s:s,s:s,s:s,s:s}", "problem", g.problem.buf, "generated_solution",
                            g.solution.buf, "expected_answer", ans, "problem_source", g.source);
    sb_free(&g.problem);
    sb_free(&g.solution);
    return row;
}

/* ---- files ---- */

/* Problems already drawn, by canonical text, so every file's problems are unique. */
struct seen {
    struct u64map map;
    char **texts;
    size_t n, alloc;
};

static int seen_add(struct seen *s, const char *problem)
{
    struct strbuf canon = STRBUF_INIT;
    text_canon(problem, &canon);
    uint64_t h = hash64(canon.buf, canon.len);
    size_t pos = 0, i;
    while (u64map_next(&s->map, h, &pos, &i))
        if (!strcmp(s->texts[i], canon.buf)) {
            sb_free(&canon);
            return 0;
        }
    s->texts = xgrow(s->texts, s->n + 1, &s->alloc, sizeof(char *));
    s->texts[s->n] = sb_detach(&canon);
    u64map_add(&s->map, h, s->n++);
    return 1;
}

static void seen_free(struct seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->texts[i]);
    free(s->texts);
    u64map_free(&s->map);
}

/* n new unique rows into arr. Gives up (returns -1) when the templates cannot
 * supply that many distinct problems. */
static int draw_rows(json_t *arr, long n, uint64_t *rng, int held_out, struct seen *seen,
                     struct strbuf *err)
{
    long misses = 0;
    while ((long)json_array_size(arr) < n) {
        json_t *row = synth_math_problem(rng, held_out);
        if (seen_add(seen, json_string_value(json_object_get(row, "problem")))) {
            json_array_append_new(arr, row);
            misses = 0;
        } else {
            json_decref(row);
            if (++misses > 10000) {
                sb_addf(err, "cannot draw %ld distinct %s problems (stuck at %zu)", n,
                        held_out ? "benchmark" : "training", json_array_size(arr));
                return -1;
            }
        }
    }
    return 0;
}

static int write_rows(const char *dir, const char *name, const json_t *rows, struct strbuf *err)
{
    char *path = path_join(dir, name);
    struct atomic_file af;
    int rc = atomic_open(&af, path, err);
    for (size_t i = 0; rc == 0 && i < json_array_size(rows); i++) {
        char *line = json_dumps(json_array_get(rows, i), JSON_PRESERVE_ORDER);
        atomic_write(&af, line, strlen(line));
        atomic_write(&af, "\n", 1);
        free(line);
    }
    if (rc == 0)
        rc = atomic_commit(&af, err);
    free(path);
    return rc;
}

/* The problem with its numbers written "12.00": the same after canonicalization. */
static char *decimal_numbers(const char *s)
{
    struct strbuf sb = STRBUF_INIT;
    while (*s) {
        if (isdigit((unsigned char)*s)) {
            while (isdigit((unsigned char)*s))
                sb_addc(&sb, *s++);
            sb_adds(&sb, ".00");
        } else {
            sb_addc(&sb, *s++);
        }
    }
    return sb_detach(&sb);
}

static char *disguise(const char *problem, int how)
{
    char *s = xstrdup(problem);
    if (how == 1) {
        for (char *p = s; *p; p++)
            *p = (char)toupper((unsigned char)*p);
    } else if (how == 2) {
        struct strbuf sb = STRBUF_INIT;
        for (const char *p = problem; *p; p++)
            sb_adds(&sb, *p == ' ' ? "  " : *p == '.' ? " ;" : (char[]){ *p, 0 });
        free(s);
        s = sb_detach(&sb);
    } else if (how == 3) {
        free(s);
        s = decimal_numbers(problem);
    }
    return s;
}

/* train rows with k benchmark problems spread through them (verbatim, recased,
 * respaced, renumbered in turn). */
static json_t *contaminate(const json_t *train, const json_t *bench, long k, long *copies)
{
    json_t *out = json_array();
    size_t n = json_array_size(train), nb = json_array_size(bench);
    if ((size_t)k > nb)
        k = (long)nb;
    long next = 0;
    for (size_t i = 0; i <= n; i++) {
        while (next < k && (size_t)((next + 1) * (long)n / (k + 1)) == i) {
            json_t *row = json_deep_copy(json_array_get(bench, (size_t)next * nb / (size_t)k));
            const char *p = json_string_value(json_object_get(row, "problem"));
            char *d = disguise(p, (int)(next % 4));
            json_object_set_new(row, "problem", json_string(d));
            free(d);
            json_array_append_new(out, row);
            next++;
        }
        if (i < n)
            json_array_append(out, json_array_get(train, i));
    }
    *copies = k;
    return out;
}

int synth_math_write(const char *dir, const struct synth_opts *o, struct synth_counts *out,
                     struct strbuf *err)
{
    memset(out, 0, sizeof(*out));
    if (mkdir_p(dir, err) < 0)
        return -1;
    /* One stream per side, so the benchmark does not move when --train changes. */
    uint64_t train_rng = o->seed ^ 0x747261696eull, bench_rng = o->seed ^ 0x62656e6368ull;
    struct seen seen = { 0 };
    json_t *train = json_array(), *valid = json_array(), *bench = json_array();
    json_t *dirty = NULL;
    int rc = draw_rows(bench, o->n_bench, &bench_rng, 1, &seen, err);
    if (rc == 0)
        rc = draw_rows(train, o->n_train, &train_rng, 0, &seen, err);
    if (rc == 0)
        rc = draw_rows(valid, o->n_valid, &train_rng, 0, &seen, err);
    if (rc == 0) {
        dirty = contaminate(train, bench, o->n_contaminated, &out->contaminated_copies);
        rc = write_rows(dir, "train.jsonl", train, err);
    }
    if (rc == 0)
        rc = write_rows(dir, "valid.jsonl", valid, err);
    if (rc == 0)
        rc = write_rows(dir, "bench.jsonl", bench, err);
    if (rc == 0)
        rc = write_rows(dir, "contaminated-train.jsonl", dirty, err);
    out->train = (long)json_array_size(train);
    out->valid = (long)json_array_size(valid);
    out->bench = (long)json_array_size(bench);
    out->contaminated_rows = dirty ? (long)json_array_size(dirty) : 0;
    json_decref(train);
    json_decref(valid);
    json_decref(bench);
    json_decref(dirty);
    seen_free(&seen);
    return rc;
}
