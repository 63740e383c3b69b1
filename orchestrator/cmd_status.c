/*
 * cmd_status.c - `mainline status [SWEEP]`: runs by state per stage, read from the
 * registry (so it works from another terminal while a sweep runs).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "table.h"

struct status_ctx {
    char name[256];           /* sweep of the table being filled */
    int version;
    struct table table;
    int rows;
    int tables;               /* tables printed so far */
};

static void flush_table(struct status_ctx *ctx)
{
    if (!ctx->table.n_cols)
        return;
    printf("%ssweep %s (version %d)\n", ctx->tables++ ? "\n" : "", ctx->name, ctx->version);
    table_print(&ctx->table, stdout, "  ");
    table_release(&ctx->table);
}

static int add_stage(const struct reg_stage_row *row, void *ud)
{
    struct status_ctx *ctx = ud;
    if (!ctx->table.n_cols || strcmp(ctx->name, row->sweep) || ctx->version != row->version) {
        flush_table(ctx);
        const char *head[RUN_STATE_COUNT + 3] = { "STAGE", "RUNS" };
        for (int s = 0; s < RUN_STATE_COUNT; s++)
            head[s + 2] = reg_state_name(s);
        table_init(&ctx->table, head);
        ctx->table.right_align = ~1u;
        snprintf(ctx->name, sizeof(ctx->name), "%s", row->sweep);
        ctx->version = row->version;
    }
    char nums[RUN_STATE_COUNT + 1][16];
    const char *cells[RUN_STATE_COUNT + 2] = { row->stage, nums[0] };
    snprintf(nums[0], sizeof(nums[0]), "%d", row->total);
    for (int s = 0; s < RUN_STATE_COUNT; s++) {
        snprintf(nums[s + 1], sizeof(nums[s + 1]), "%d", row->counts[s]);
        cells[s + 2] = nums[s + 1];
    }
    table_add(&ctx->table, cells);
    ctx->rows++;
    return 0;
}

/* Waiting runs: say what they wait for, once per (sweep, stage, reason). */
struct waiting_ctx {
    char last[512];
};

static int print_waiting(const struct reg_run_row *row, void *ud)
{
    struct waiting_ctx *ctx = ud;
    json_t *pending = row->pending_json ? json_loads(row->pending_json, 0, NULL) : NULL;
    char line[512];
    int n = snprintf(line, sizeof(line), "  %s/%s waits for", row->sweep, row->stage);
    const char *key;
    json_t *v;
    json_object_foreach(pending, key, v) {
        if (n > 0 && (size_t)n < sizeof(line))
            n += snprintf(line + n, sizeof(line) - (size_t)n, " %s from stage %s", key,
                          json_string_value(v));
    }
    json_decref(pending);
    if (strcmp(line, ctx->last) != 0)
        printf("%s%s\n", ctx->last[0] ? "" : "\n", line);
    snprintf(ctx->last, sizeof(ctx->last), "%s", line);
    return 0;
}

int cmd_status(int argc, char **argv, struct cli *cli)
{
    static const char usage[] = "usage: mainline status [SWEEP]\n";
    if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
        return cli_usage(usage);
    const char *sweep = argc == 2 ? argv[1] : NULL;
    struct status_ctx ctx = { 0 };
    enum reg_status st = reg_stage_summary(cli->reg, sweep, add_stage, &ctx);
    flush_table(&ctx);
    if (st != REG_OK)
        return cli_reg_error(cli, st, "cannot read run states");
    if (!ctx.rows) {
        if (sweep)
            error("no sweep named '%s' in %s", sweep, cli->registry_path);
        else
            printf("no sweeps planned yet in %s\n", cli->registry_path);
        return sweep ? EXIT_FAILURES : EXIT_OK;
    }
    struct reg_filter_term waiting = { "state", FILTER_EQ, "waiting" };
    struct reg_run_query q = { .sweep = sweep, .terms = &waiting, .n_terms = 1 };
    struct waiting_ctx wctx = { { 0 } };
    st = reg_query_runs(cli->reg, &q, print_waiting, &wctx);
    if (st != REG_OK)
        return cli_reg_error(cli, st, "cannot read waiting runs");
    return EXIT_OK;
}
