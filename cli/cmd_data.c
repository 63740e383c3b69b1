/*
 * cmd_data.c - `mainline data <subcommand>`: the data tools. This file holds the
 * subcommand table and the two that only write files (synth-math, split); the
 * ones that read a sweep live in cmd_data_view.c (render, stats) and
 * cmd_data_audit.c (audit).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_data.h"
#include "split.h"
#include "suggest.h"
#include "sweep_params.h"
#include "synth_math.h"

static const char data_usage[] =
    "usage: mainline data audit|render|split|stats|synth-math [<args>]\n"
    "(see 'mainline help data')\n";

static const char split_usage[] =
    "usage: mainline data split FILE --valid-frac F --seed N --out-train A --out-valid B\n"
    "                           [--field NAME]\n";

static const char synth_usage[] =
    "usage: mainline data synth-math --out DIR [--seed N] [--train N] [--valid N]\n"
    "                                [--bench N] [--contaminate N]\n";


/* A non-negative integer option; -1 after printing an error. */
long cmd_data_parse_count(const char *opt, const char *s, long min)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min) {
        error("%s must be an integer >= %ld, not '%s'", opt, min, s);
        return -1;
    }
    return v;
}

static int synth_math(int argc, char **argv, struct cli *cli)
{
    (void)cli;
    static const struct option opts[] = {
        { "out", required_argument, NULL, 'o' },      { "seed", required_argument, NULL, 's' },
        { "train", required_argument, NULL, 't' },    { "valid", required_argument, NULL, 'v' },
        { "bench", required_argument, NULL, 'b' },
        { "contaminate", required_argument, NULL, 'c' }, { NULL, 0, NULL, 0 },
    };
    struct synth_opts o = { 1, 1000, 100, 200, 8 };
    const char *out = NULL;
    int c, li = 0;
    long v = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", opts, &li)) != -1) {
        if (c == 'o') {
            out = optarg;
            continue;
        }
        char opt[32];
        snprintf(opt, sizeof(opt), "--%s", opts[li].name);
        if (c == '?' || (v = cmd_data_parse_count(opt, optarg, c == 's' ? 0 : 1)) < 0)
            return cli_usage(synth_usage);
        if (c == 's')
            o.seed = (uint64_t)v;
        else if (c == 't')
            o.n_train = v;
        else if (c == 'v')
            o.n_valid = v;
        else if (c == 'b')
            o.n_bench = v;
        else
            o.n_contaminated = v;
    }
    if (!out || optind != argc)
        return cli_usage(synth_usage);
    struct synth_counts n;
    struct strbuf err = STRBUF_INIT;
    if (synth_math_write(out, &o, &n, &err) < 0) {
        error("synth-math: %s", err.buf);
        sb_free(&err);
        return EXIT_FATAL;
    }
    printf("%s/train.jsonl               %ld rows\n", out, n.train);
    printf("%s/valid.jsonl               %ld rows\n", out, n.valid);
    printf("%s/bench.jsonl               %ld rows (held out: every number = 3 mod 5)\n", out,
           n.bench);
    printf("%s/contaminated-train.jsonl  %ld rows (train + %ld benchmark problems)\n", out,
           n.contaminated_rows, n.contaminated_copies);
    return EXIT_OK;
}

static int split(int argc, char **argv, struct cli *cli)
{
    (void)cli;
    static const struct option opts[] = {
        { "valid-frac", required_argument, NULL, 'f' }, { "seed", required_argument, NULL, 's' },
        { "out-train", required_argument, NULL, 't' },
        { "out-valid", required_argument, NULL, 'v' },
        { "field", required_argument, NULL, 'F' },      { NULL, 0, NULL, 0 },
    };
    struct split_opts o = { .valid_frac = -1, .field = NULL };
    long seed = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end;
        if (c == 'f') {
            o.valid_frac = strtod(optarg, &end);
            if (*end || end == optarg || !(o.valid_frac > 0 && o.valid_frac < 1)) {
                error("--valid-frac must be a number between 0 and 1, not '%s'", optarg);
                return cli_usage(split_usage);
            }
        } else if (c == 's') {
            if ((seed = cmd_data_parse_count("--seed", optarg, 0)) < 0)
                return cli_usage(split_usage);
        } else if (c == 't') {
            o.out_train = optarg;
        } else if (c == 'v') {
            o.out_valid = optarg;
        } else if (c == 'F') {
            o.field = optarg;
        } else {
            return cli_usage(split_usage);
        }
    }
    if (argc - optind != 1 || o.valid_frac < 0 || seed < 0 || !o.out_train || !o.out_valid)
        return cli_usage(split_usage);
    o.seed = (uint64_t)seed;
    struct split_result r;
    struct strbuf err = STRBUF_INIT;
    if (split_file(argv[optind], &o, &r, &err) < 0) {
        error("split: %s", err.buf);
        sb_free(&err);
        return EXIT_FAILURES;
    }
    printf("%s: %zu rows in %zu groups (by canonical problem text)\n", argv[optind], r.rows,
           r.groups);
    printf("%s  %zu rows, %zu groups\n", o.out_train, r.train_rows, r.train_groups);
    printf("%s  %zu rows, %zu groups\n", o.out_valid, r.valid_rows, r.valid_groups);
    return EXIT_OK;
}

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv, struct cli *cli);
    const char *usage;
} subcommands[] = {
    { "audit", cmd_data_audit, cmd_data_audit_usage },
    { "render", cmd_data_render, cmd_data_render_usage },
    { "split", split, split_usage },
    { "stats", cmd_data_stats, cmd_data_stats_usage },
    { "synth-math", synth_math, synth_usage },
};

const char *cmd_data_usage(const char *sub)
{
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        if (!strcmp(sub, subcommands[i].name))
            return subcommands[i].usage;
    return NULL;
}

int cmd_data(int argc, char **argv, struct cli *cli)
{
    if (argc < 2)
        return cli_usage(data_usage);
    const char *name = argv[1];
    const char *names[sizeof(subcommands) / sizeof(subcommands[0])];
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
        names[i] = subcommands[i].name;
        if (!strcmp(name, subcommands[i].name))
            return subcommands[i].fn(argc - 1, argv + 1, cli);
    }
    const char *near = closest_word(name, names, sizeof(names) / sizeof(names[0]));
    if (near)
        error("unknown data subcommand '%s' (did you mean '%s'?)", name, near);
    else
        error("unknown data subcommand '%s'", name);
    return cli_usage(data_usage);
}
