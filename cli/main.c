/*
 * main.c - `mainline`, the orchestrator CLI: global options, the command table and
 * the dispatcher. Each command lives in its own cmd_<name>.c. Adding a command is
 * one row here, one file, one line in the Makefile.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_data.h"
#include "suggest.h"
#include "sweep_params.h"

enum cmd_flags {
    NEED_REGISTRY = 1 << 0,   /* reads an existing registry (through cli_registry) */
};

struct command {
    const char *name;
    cmd_fn fn;
    unsigned flags;
    const char *summary;
    const char *usage;        /* full help text, starting with the usage line */
};

static int cmd_help(int argc, char **argv, struct cli *cli);
static int open_registry(struct cli *cli);
static int cmd_version(int argc, char **argv, struct cli *cli);

/* Sorted by name. */
static const struct command commands[] = {
    { "cancel", cmd_cancel, NEED_REGISTRY, "cancel a sweep's jobs on Slurm",
      "usage: mainline cancel SWEEP [RUN...]\n"
      "\n"
      "scancel the Slurm jobs of SWEEP's running runs and their evaluations (all of them,\n"
      "or those of the RUNs named). An attached 'mainline run' records them cancelled and\n"
      "does not start them again; a later 'mainline run' starts them again.\n" },
    { "data", cmd_data, 0, "data tools: synth-math, render, stats, audit, split",
      "usage: mainline data <subcommand> [<args>]\n"
      "\n"
      "  synth-math --out DIR [--seed N] [--train N] [--valid N] [--bench N] [--contaminate N]\n"
      "      write the demo task: GSM8K-like word problems with step-by-step solutions\n"
      "      ending in \\boxed{}, a held-out benchmark, and a contaminated train file\n"
      "  render FILE --sweep S [--row N] [--dataset NAME]\n"
      "      show exactly what the model sees for a row: prompt and completion, marked\n"
      "  stats FILE --sweep S [--dataset NAME] [--max-seq-len N]\n"
      "      rows, rendered tokens per example (mean, p50, p90, p95, max), rows cut at\n"
      "      max_seq_len, per source label, with the sweep's base model tokenizer\n"
      "  audit --sweep S [--json FILE]\n"
      "      run the integrity gates (contamination, leakage, answers, suspicious,\n"
      "      duplicates); exit 1 when one fails and is not waived\n"
      "  split FILE --valid-frac F --seed N --out-train A --out-valid B [--field NAME]\n"
      "      a seeded train/validation split grouped by canonical problem text\n"
      "\n"
      "See docs/data.md.\n" },
    { "doctor", cmd_doctor, 0, "check BLAS speed and what jobs will get",
      "usage: mainline doctor\n"
      "\n"
      "Print the BLAS core OpenBLAS chose, the OPENBLAS_CORETYPE mainline gives jobs\n"
      "(from the CPU's features, unless you set it), the threads, and a measured\n"
      "SGEMM rate at 1 thread and at every core.\n" },
    { "export", cmd_export, 0, "export a sweep's mainline or a run: hf, gguf, ollama, bundle",
      "usage: mainline export SWEEP [RUN] --format hf|gguf|ollama|bundle [--quant Q] -o OUT\n"
      "   or: mainline export --model PATH [--checkpoint DIR] --format F [--quant Q]\n"
      "                       [--template plain|chatml|llama2] [--system TEXT] -o OUT\n"
      "\n"
      "Write the model the sweep's frozen rules select, its checkpoint applied (a LoRA\n"
      "adapter merged into the base): without RUN the mainline (of its runs, the one\n"
      "whose selected checkpoint scored best; refused when there is no mainline), with\n"
      "RUN that run's selected checkpoint; with --model, any model mainline loads.\n"
      "OUT must not exist; it is written under a temporary name and renamed when\n"
      "complete. See docs/export.md.\n"
      "\n"
      "  -f, --format F   hf (a Hugging Face directory), gguf (one GGUF v3 file for\n"
      "                   llama.cpp), ollama (a directory: model.gguf and a Modelfile\n"
      "                   prompting the model as the sweep's rendering contract does),\n"
      "                   bundle (a tar.gz of the runs with their records and a manifest\n"
      "                   of provenance, for 'mainline import'; without RUN every seed of\n"
      "                   the mainline condition)\n"
      "  -q, --quant Q    f32 (default), f16, q8_0, q4_0 (2-D tensors whose rows are not\n"
      "                   a multiple of 32 stay f16; norms f32); with hf, float32 weights\n"
      "                   rounded through Q: the quantised model for mainline-eval\n"
      "  -o, --output OUT the file or directory to write\n"
      "      --template T, --system TEXT   the Modelfile's prompting, with --model\n" },
    { "help", cmd_help, 0, "show help for mainline or one command",
      "usage: mainline help [COMMAND]\n" },
    { "import", cmd_import, 0, "record the runs of a bundle into this registry",
      "usage: mainline import BUNDLE\n"
      "\n"
      "Verify BUNDLE (written by 'mainline export ... --format bundle') whole before\n"
      "writing anything: every member a regular file under its top directory (no\n"
      "absolute path, no '..', no link, device or FIFO), listed in its manifest with the\n"
      "same size and sha256. Then record its runs, with their metrics, checkpoints and\n"
      "evaluations, in one transaction, and their files under runs/ beside the registry\n"
      "(created if missing). The runs go to the sweep version planned from the same\n"
      "spec, created from the bundle when there is none. Importing the same bundle again\n"
      "does nothing; a run of the same identity with other results is refused.\n"
      "See docs/export.md.\n" },
    { "plan", cmd_plan, 0, "validate a sweep file, expand it into runs, record them",
      "usage: mainline plan SWEEP.yaml [--dry-run [--json]] [--new-version] [--verbose]\n"
      "\n"
      "Validate the sweep, expand its stages and grids into runs, hash every dataset\n"
      "and base model, collect the git state of the code, and record it all in the\n"
      "registry. Re-planning an unchanged sweep does nothing; a changed sweep with the\n"
      "same name is refused with the list of changes unless --new-version.\n"
      "\n"
      "  -n, --dry-run      print the runs, write nothing\n"
      "      --json         with --dry-run: the plan as one JSON document (docs/cli.md)\n"
      "      --new-version  record a changed sweep as its next version\n"
      "  -v, --verbose      also print every run's resolved parameters\n" },
    { "report", cmd_report, NEED_REGISTRY, "write the comparison report of a sweep",
      "usage: mainline report SWEEP [--format md|html|csv|json] [-o FILE]\n"
      "\n"
      "Render what 'mainline select' recorded for the latest version of SWEEP, with the\n"
      "validation curves, the LR selection, the variants, throughput and provenance.\n"
      "Refused when the recorded selection is missing or the registry changed since.\n"
      "\n"
      "  -f, --format F   md (default), html (one self-contained page), csv (a row per\n"
      "                   run), json (the whole model)\n"
      "  -o, --output F   write to F (atomically) instead of standard output\n" },
    { "rules", cmd_rules, 0, "print a sweep's frozen rules and their hash",
      "usage: mainline rules SWEEP|SWEEP.yaml\n"
      "\n"
      "Print the frozen rules (evaluation, selection, mainline, and the rendering\n"
      "contract when declared) as recorded for the latest version of SWEEP, or as a\n"
      "sweep file would freeze them, and their sha256: the rules hash every selection\n"
      "and report carries.\n" },
    { "run", cmd_run, NEED_REGISTRY, "execute the runs of a sweep, in parallel, resumably",
      "usage: mainline run SWEEP [-j N] [--threads-per-run T] [--stage S] [--only RUN]...\n"
      "                    [--retry-failed] [--fail-fast] [--quiet] [--executor local|slurm]\n"
      "                    [--detach]\n"
      "\n"
      "Start a trainer per planned run (and an evaluator per checkpoint that needs one),\n"
      "N at a time, ingest what they write, resolve stage picks, and release waiting\n"
      "runs. Interrupted (Ctrl-C, kill -9, a crash), it picks up where it stopped when\n"
      "run again: running jobs are adopted, dead ones resumed or restarted. Refused\n"
      "(exit 1) while another 'mainline run' of the sweep is alive.\n"
      "\n"
      "  -j, --jobs N            parallel jobs (default: cores / threads per run)\n"
      "      --threads-per-run T BLAS threads per job (default 1)\n"
      "      --stage S           only runs of stage S\n"
      "      --only RUN          only this run; may be repeated\n"
      "      --retry-failed      start failed runs again\n"
      "      --fail-fast         the first failure cancels everything else\n"
      "  -q, --quiet             no progress lines, only state changes\n"
      "      --executor E        local (this machine) or slurm (sbatch; docs/slurm.md);\n"
      "                          default: the sweep's `executor`, else local\n"
      "      --detach            submit what can start and return; a later run attaches\n"
      "\n"
      "Environment: MAINLINE_KILL_GRACE (10 s), MAINLINE_REGISTRY_WAIT (300 s: how long a\n"
      "finished job waits for a busy or full registry), MAINLINE_SLURM_POLL (2 s between\n"
      "squeue calls), MAINLINE_SLURM_LOST_AFTER (60 s).\n" },
    { "runs", cmd_runs, NEED_REGISTRY, "list runs, filtered",
      "usage: mainline runs [--sweep NAME] [--where 'KEY=VALUE ...']... [--all-versions]\n"
      "                     [--json]\n"
      "\n"
      "List runs of the latest version of each sweep (or of NAME). --where takes terms\n"
      "KEY OP VALUE with OP one of = != < <= > >=, separated by spaces; terms are ANDed.\n"
      "KEY is a column (run, stage, condition, lr, seed, state, attempt, sweep) or any\n"
      "parameter of the run (rank, alpha, epochs, ...).\n"
      "The table has a column per swept parameter (a value that differs between runs of\n"
      "the sweep, and seed); sweeps that sweep different ones share OTHER (k=v).\n"
      "\n"
      "  -s, --sweep NAME    only runs of this sweep\n"
      "  -w, --where EXPR    filter; may be repeated\n"
      "      --all-versions  include runs of older sweep versions\n"
      "      --json          one JSON array of runs, with their parameters\n" },
    { "select", cmd_select, NEED_REGISTRY, "apply the frozen selection rules and record them",
      "usage: mainline select SWEEP [--json]\n"
      "\n"
      "For the latest version of SWEEP: the checkpoint of each run by the frozen rule,\n"
      "the metric per condition over seeds, per-seed disagreement tables with the exact\n"
      "McNemar test and a paired bootstrap, the verdict (a winner only at or beyond\n"
      "winner_threshold), and the mainline layers per candidate. Recorded in\n"
      "'selections' in one transaction, replacing earlier rows of the same rules hash;\n"
      "the same data and rules always give the same output.\n"
      "\n"
      "  --json   print the selection document instead (docs/cli.md)\n" },
    { "show", cmd_show, NEED_REGISTRY, "show everything recorded about one run",
      "usage: mainline show [--json] RUN\n"
      "\n"
      "RUN is a run id, or SWEEP/RUN when several sweeps have a run of that id.\n" },
    { "status", cmd_status, NEED_REGISTRY, "runs by state, per stage",
      "usage: mainline status [SWEEP] [--json]\n"
      "\n"
      "Count the runs of each stage by state for the latest version of SWEEP (or of\n"
      "every sweep), and say what waiting runs wait for and why failed runs failed.\n"
      "\n"
      "  --json   the same as one JSON document (docs/cli.md)\n" },
    { "template", cmd_template, 0, "render a conversation with a model's chat template",
      "usage: mainline template MODEL_DIR [--add-generation-prompt] [--var NAME=VALUE]...\n"
      "\n"
      "Read {\"messages\": [...], \"tools\": [...]} (tools optional) as JSON on stdin and\n"
      "print it rendered by MODEL_DIR/tokenizer_config.json's chat_template (MODEL_DIR may\n"
      "also name that file), exactly as Hugging Face's apply_chat_template(messages,\n"
      "tokenize=False) does, with no newline added. The template gets the config's\n"
      "special tokens (bos_token, eos_token...), tools (none when absent) and\n"
      "add_generation_prompt. --var sets another template variable: VALUE is read as\n"
      "JSON when it is JSON (false, 3, \"x\"), else as a string\n"
      "(--var enable_thinking=false). strftime_now(FMT) gives the local time, or the\n"
      "variable strftime_now when set (--var strftime_now='26 Jul 2024').\n" },
    { "tokenize", cmd_tokenize, 0, "text to token ids (or back) with a model's tokenizer",
      "usage: mainline tokenize MODEL [--add-special] [--decode [--skip-special]] [--jsonl]\n"
      "\n"
      "Read UTF-8 text on standard input and print its token ids as one JSON array on\n"
      "one line, with the tokenizer mainline's trainer and evaluator use for MODEL: its\n"
      "tokenizer.json (Hugging Face), else its llama2.c tokenizer or byte vocabulary.\n"
      "Added and special tokens written in the text (<|im_start|>) become their ids.\n"
      "\n"
      "      --add-special   add what the tokenizer adds for a model input (tokenizer.json:\n"
      "                      its post_processor, e.g. Llama 3's <|begin_of_text|>; llama2.c\n"
      "                      and bytes: BOS); without it nothing is added\n"
      "      --decode        read a JSON array of ids and print their text, exactly: no\n"
      "                      newline is added (Hugging Face's decode, special tokens kept)\n"
      "      --skip-special  with --decode, leave special tokens out\n"
      "      --jsonl         many at once: a JSON string per input line, an array per\n"
      "                      output line (with --decode: arrays in, JSON strings out)\n" },
    { "version", cmd_version, 0, "print the version", "usage: mainline version\n" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_usage[] =
    "usage: mainline [--registry PATH] [-C DIR] <command> [<args>]\n"
    "\n"
    "  --registry PATH   the SQLite registry (default $MAINLINE_REGISTRY or ./mainline.db)\n"
    "  -C DIR            run as if started in DIR\n"
    "\n"
    "exit status: 0 ok, 1 the command found failures, 128 fatal error, 129 usage error\n";

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

static void print_overview(FILE *f)
{
    fputs(global_usage, f);
    fputs("\ncommands:\n", f);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\nSee 'mainline help <command>' for one command.\n", f);
}

static const char *suggest_command(const char *name);

static int cmd_help(int argc, char **argv, struct cli *cli)
{
    (void)cli;
    if (argc < 2) {
        print_overview(stdout);
        return EXIT_OK;
    }
    const struct command *c = find_command(argv[1]);
    if (!c) {
        const char *near = suggest_command(argv[1]);
        if (near)
            error("no such command '%s' (did you mean '%s'?)", argv[1], near);
        else
            error("no such command '%s'", argv[1]);
        return EXIT_USAGE;
    }
    fputs(c->usage, stdout);
    return EXIT_OK;
}

static int cmd_version(int argc, char **argv, struct cli *cli)
{
    (void)argc;
    (void)argv;
    (void)cli;
    printf("mainline %s\n", MAINLINE_VERSION);
    return EXIT_OK;
}

int cli_reg_error(struct cli *cli, enum reg_status st, const char *doing)
{
    if (st == REG_ERR_DAMAGED) {
        error("%s: %s", doing, reg_errmsg(cli->reg));
        return EXIT_FAILURES;
    }
    error("%s: %s (%s)", doing, cli->reg ? reg_errmsg(cli->reg) : "", reg_strerror(st));
    return EXIT_FATAL;
}

int cli_usage(const char *usage)
{
    fputs(usage, stderr);
    return EXIT_USAGE;
}

int cli_operand_json(int argc, char **argv, int required, const char *usage,
                     char **operand, int *as_json)
{
    *operand = NULL;
    *as_json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json") && !*as_json)
            *as_json = 1;
        else if (argv[i][0] != '-' && !*operand)
            *operand = argv[i];
        else
            return cli_usage(usage);
    }
    return required && !*operand ? cli_usage(usage) : 0;
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return 0;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return 1;
    }
    return 0;
}

struct registry *cli_registry(struct cli *cli)
{
    if (!cli->reg && open_registry(cli) < 0)
        return NULL;
    return cli->reg;
}

static int open_registry(struct cli *cli)
{
    char msg[4096];
    enum reg_status st = reg_open(cli->registry_path, REG_OPEN_EXISTING, &cli->reg, msg,
                                  sizeof(msg));
    cli->open_failed_exit = st == REG_ERR_DAMAGED ? EXIT_FAILURES : EXIT_FATAL;
    if (st == REG_ERR_MISSING) {
        error("no registry at '%s' (plan a sweep first: mainline plan SWEEP.yaml)",
              cli->registry_path);
        return -1;
    }
    if (st != REG_OK) {
        error("%s", msg);
        return -1;
    }
    return 0;
}

static int run_command(const struct command *c, int argc, char **argv, struct cli *cli)
{
    if (wants_help(argc, argv)) {
        /* `data SUB --help`: that subcommand's usage, not the overview of data */
        const char *sub = c->fn == cmd_data && argc > 1 ? cmd_data_usage(argv[1]) : NULL;
        fputs(sub ? sub : c->usage, stdout);
        return EXIT_OK;
    }
    /* Commands flagged NEED_REGISTRY open it with cli_registry() once their
     * arguments parse, so a usage error is reported as one even without a registry. */
    int rc = c->fn(argc, argv, cli);
    reg_free(cli->reg);
    cli->reg = NULL;
    /* A report piped into a full disk must not pretend it succeeded. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        error("cannot write to standard output: %s", strerror(errno));
        return EXIT_FATAL;
    }
    return rc;
}

/* Global options come before the command name. Returns the command's argv index. */
static int parse_global(int argc, char **argv, struct cli *cli)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            print_overview(stdout);
            exit(EXIT_OK);
        } else if (!strcmp(a, "--version")) {
            printf("mainline %s\n", MAINLINE_VERSION);
            exit(EXIT_OK);
        } else if (!strcmp(a, "--registry") || !strcmp(a, "-C")) {
            if (i + 1 >= argc) {
                error("%s needs an argument", a);
                exit(cli_usage(global_usage));
            }
            if (a[1] == 'C' && chdir(argv[i + 1]) < 0) {
                error("-C: cannot change to '%s': %s", argv[i + 1], strerror(errno));
                exit(EXIT_FATAL);
            }
            if (a[1] != 'C')
                cli->registry_path = argv[i + 1];
            i++;
        } else if (!strncmp(a, "--registry=", 11)) {
            cli->registry_path = a + 11;
        } else {
            error("unknown option '%s'", a);
            exit(cli_usage(global_usage));
        }
    }
    return i;
}

static const char *suggest_command(const char *name)
{
    const char *names[N_COMMANDS];
    for (size_t i = 0; i < N_COMMANDS; i++)
        names[i] = commands[i].name;
    return closest_word(name, names, N_COMMANDS);
}

#ifndef TESTING
int main(int argc, char **argv)
{
    struct cli cli = { 0 };
    const char *env = getenv("MAINLINE_REGISTRY");
    cli.registry_path = env && *env ? env : "mainline.db";
    int first = parse_global(argc, argv, &cli);
    if (first >= argc) {
        print_overview(stderr);
        return EXIT_USAGE;
    }
    const struct command *c = find_command(argv[first]);
    if (!c) {
        const char *near = suggest_command(argv[first]);
        if (near)
            error("unknown command '%s' (did you mean '%s'?)", argv[first], near);
        else
            error("unknown command '%s'; see 'mainline help'", argv[first]);
        return EXIT_USAGE;
    }
    return run_command(c, argc - first, argv + first, &cli);
}
#endif
