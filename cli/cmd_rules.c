/*
 * cmd_rules.c - `mainline rules SWEEP`: the frozen rules (evaluation, selection,
 * mainline, and the rendering contract when declared) and their sha256, the hash
 * every selection row and every report carries.
 *
 * SWEEP is a sweep name in the registry (its latest version, as recorded), or a
 * sweep file (what planning it would freeze; compared with the registry's latest
 * version of that name when there is one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "canon_json.h"
#include "cli.h"
#include "reg_results.h"
#include "sweep.h"

static const char rules_usage[] = "usage: mainline rules SWEEP|SWEEP.yaml\n";

static void print_rules(const json_t *contract, const char *sha)
{
    char *pretty = json_dumps(contract, JSON_INDENT(2) | JSON_SORT_KEYS |
                                            JSON_REAL_PRECISION(15));
    printf("%s\nrules sha256: %s\n", pretty, sha);
    free(pretty);
}

static int rules_of_file(struct cli *cli, const char *path)
{
    struct sweep s;
    struct diag_list dl = { 0 };
    if (sweep_load(path, &s, &dl) < 0) {
        for (size_t i = 0; i < dl.n; i++)
            error("%s", dl.msgs[i]);
        diag_free(&dl);
        return EXIT_FAILURES;
    }
    diag_free(&dl);
    char sha[SHA256_HEX_LEN + 1];
    json_canon_sha256(s.contract, sha);
    print_rules(s.contract, sha);
    struct reg_sweep_info info = { 0 };
    struct stat sb;
    int rc = EXIT_OK;
    /* No registry is fine; one that exists and does not open is not. */
    if (stat(cli->registry_path, &sb) == 0 && !cli_registry(cli))
        rc = cli->open_failed_exit;
    else if (cli->reg && reg_sweep_latest(cli->reg, s.name, &info) == REG_OK)
        printf("registry: sweep '%s' version %d has %s rules\n", s.name, info.version,
               info.contract_sha256 && !strcmp(info.contract_sha256, sha) ? "the same"
                                                                           : "different");
    reg_sweep_info_free(&info);
    sweep_free(&s);
    return rc;
}

int cmd_rules(int argc, char **argv, struct cli *cli)
{
    if (argc != 2 || argv[1][0] == '-')
        return cli_usage(rules_usage);
    struct stat sb;
    if (stat(argv[1], &sb) == 0 && S_ISREG(sb.st_mode))
        return rules_of_file(cli, argv[1]);
    if (!cli_registry(cli))
        return cli->open_failed_exit;
    struct reg_results res;
    enum reg_status st = reg_results_load(cli->reg, argv[1], &res);
    if (st == REG_ERR_NOT_FOUND) {
        error("no sweep named '%s' in %s, and no such file", argv[1], cli->registry_path);
        return EXIT_FAILURES;
    }
    if (st != REG_OK)
        return cli_reg_error(cli, st, "cannot read the sweep");
    json_t *contract = json_loads(res.contract_json ? res.contract_json : "null",
                                  JSON_DECODE_ANY, NULL);
    printf("sweep %s version %d\n", res.name, res.version);
    print_rules(contract, res.contract_sha256 ? res.contract_sha256 : "-");
    json_decref(contract);
    reg_results_free(&res);
    return EXIT_OK;
}
