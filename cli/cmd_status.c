/*
 * cmd_status.c - `mainline status [SWEEP] [--json]`: runs by state per stage, read from
 * the registry (so it works from another terminal while a sweep runs). --json prints the
 * same as one document (docs/cli.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "command.h"
#include "reg_exec.h"
#include "table.h"

/* Counts of one stage, kept to explain why runs wait. */
struct stage_counts {
    char sweep[128], stage[128];
    int counts[RUN_STATE_COUNT], total;
};

struct status_ctx {
    struct registry *reg;
    struct stage_counts *stages;
    size_t n_stages;
    char name[256];           /* sweep of the table being filled */
    int version;
    struct table table;
    int rows;
    int tables;               /* tables printed so far */
    json_t *json;             /* --json: the array of sweeps, else NULL */
};

/* --json: the object of `sweep` in ctx->json (the latest version listed), or NULL. */
static json_t *json_sweep(const struct status_ctx *ctx, const char *sweep)
{
    size_t i;
    json_t *o;
    json_array_foreach(ctx->json, i, o)
        if (!strcmp(json_string_value(json_object_get(o, "sweep")), sweep))
            return o;
    return NULL;
}

/* --json: the evaluation jobs of the sweep by state, or null when it has none. */
static json_t *evals_json(struct registry *reg, const char *sweep)
{
    struct reg_exec_sweep sw;
    struct reg_eval_job *jobs = NULL;
    size_t n = 0;
    json_t *o = json_null();
    if (reg_exec_sweep_latest(reg, sweep, &sw) != REG_OK)
        return o;
    if (reg_eval_jobs_load(reg, sw.rowid, &jobs, &n) == REG_OK && n) {
        int counts[RUN_STATE_COUNT] = { 0 };
        for (size_t i = 0; i < n; i++)
            counts[jobs[i].state]++;
        o = json_pack("{s:I}", "total", (json_int_t)n);
        for (int st = 0; st < RUN_STATE_COUNT; st++)
            if (st != RUN_WAITING)
                json_object_set_new(o, reg_state_name(st), json_integer(counts[st]));
    }
    reg_eval_jobs_free(jobs, n);
    reg_exec_sweep_free(&sw);
    return o;
}

/* One line about the sweep's evaluation jobs, when it has any. */
static void print_evals(struct registry *reg, const char *sweep)
{
    struct reg_exec_sweep sw;
    struct reg_eval_job *jobs = NULL;
    size_t n = 0;
    if (reg_exec_sweep_latest(reg, sweep, &sw) != REG_OK)
        return;
    if (reg_eval_jobs_load(reg, sw.rowid, &jobs, &n) == REG_OK && n) {
        int counts[RUN_STATE_COUNT] = { 0 };
        for (size_t i = 0; i < n; i++)
            counts[jobs[i].state]++;
        printf("  evaluations: %zu (%d done, %d running, %d planned, %d failed, %d cancelled)\n",
               n, counts[RUN_DONE], counts[RUN_RUNNING], counts[RUN_PLANNED], counts[RUN_FAILED],
               counts[RUN_CANCELLED]);
    }
    reg_eval_jobs_free(jobs, n);
    reg_exec_sweep_free(&sw);
}

/* One line per state of the Slurm jobs of running runs and evaluations, when there
 * are any: "RUN=ID" by the state squeue gives (one call for all; "unknown" when it
 * does not answer). */
struct batch_job_line {
    char name[300];
    long long id;
    char state[24];
};

static void squeue_states(struct batch_job_line *jobs, size_t n)
{
    struct strbuf ids = STRBUF_INIT, out = STRBUF_INIT, err = STRBUF_INIT;
    for (size_t i = 0; i < n; i++)
        sb_addf(&ids, "%s%lld", i ? "," : "", jobs[i].id);
    char *argv[] = { "squeue", "-h", "-t", "all", "-j", ids.buf, "-o", "%i %T", NULL };
    if (command_run(argv, 30, &out, &err) == 0) {
        for (char *line = out.buf; line && *line;) {
            char *nl = strchr(line, '\n');
            long long id;
            char state[24];
            if (sscanf(line, "%lld %23s", &id, state) == 2)
                for (size_t i = 0; i < n; i++)
                    if (jobs[i].id == id)
                        snprintf(jobs[i].state, sizeof(jobs[i].state), "%s", state);
            line = nl ? nl + 1 : NULL;
        }
    }
    sb_free(&ids);
    sb_free(&out);
    sb_free(&err);
}

static void print_batch_jobs(struct registry *reg, const char *sweep)
{
    struct reg_exec_sweep sw;
    struct reg_exec_run *runs = NULL;
    struct reg_eval_job *evals = NULL;
    size_t n_runs = 0, n_evals = 0, n = 0, alloc = 0;
    struct batch_job_line *jobs = NULL;
    if (reg_exec_sweep_latest(reg, sweep, &sw) != REG_OK)
        return;
    reg_exec_load_runs(reg, sw.rowid, &runs, &n_runs);
    reg_eval_jobs_load(reg, sw.rowid, &evals, &n_evals);
    for (size_t i = 0; i < n_runs; i++) {
        if (runs[i].state != RUN_RUNNING || runs[i].job_id <= 0)
            continue;
        jobs = xgrow(jobs, n + 1, &alloc, sizeof(*jobs));
        snprintf(jobs[n].name, sizeof(jobs[n].name), "%s", runs[i].run_id);
        jobs[n].id = runs[i].job_id;
        snprintf(jobs[n++].state, sizeof(jobs[0].state), "unknown");
    }
    for (size_t i = 0; i < n_evals; i++) {
        if (evals[i].state != RUN_RUNNING || evals[i].job_id <= 0)
            continue;
        const char *owner = "baseline";
        for (size_t k = 0; k < n_runs; k++)
            if (runs[k].rowid == evals[i].run)
                owner = runs[k].run_id;
        jobs = xgrow(jobs, n + 1, &alloc, sizeof(*jobs));
        snprintf(jobs[n].name, sizeof(jobs[n].name), "%s eval", owner);
        jobs[n].id = evals[i].job_id;
        snprintf(jobs[n++].state, sizeof(jobs[0].state), "unknown");
    }
    if (n)
        squeue_states(jobs, n);
    for (size_t i = 0; i < n; i++)
        printf("%s %s=%lld (%s)%s", i ? "," : "  slurm jobs:", jobs[i].name, jobs[i].id,
               jobs[i].state, i + 1 == n ? "\n" : "");
    free(jobs);
    reg_exec_runs_free(runs, n_runs);
    reg_eval_jobs_free(evals, n_evals);
    reg_exec_sweep_free(&sw);
}

static void flush_table(struct status_ctx *ctx)
{
    if (!ctx->table.n_cols)
        return;
    if (ctx->json) {
        table_free(&ctx->table);
        json_t *o = json_sweep(ctx, ctx->name);
        json_object_set_new(o, "evaluations", evals_json(ctx->reg, ctx->name));
        return;
    }
    printf("%ssweep %s (version %d)\n", ctx->tables++ ? "\n" : "", ctx->name, ctx->version);
    table_print(&ctx->table, stdout, "  ");
    table_free(&ctx->table);
    print_evals(ctx->reg, ctx->name);
    print_batch_jobs(ctx->reg, ctx->name);
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
        if (ctx->json)
            json_array_append_new(ctx->json,
                                  json_pack("{s:s,s:i,s:[],s:[],s:[]}", "sweep", row->sweep,
                                            "version", row->version, "stages", "waiting",
                                            "failed"));
    }
    if (ctx->json) {
        json_t *st = json_pack("{s:s,s:i}", "stage", row->stage, "runs", row->total);
        for (int k = 0; k < RUN_STATE_COUNT; k++)
            json_object_set_new(st, reg_state_name(k), json_integer(row->counts[k]));
        json_array_append_new(json_object_get(json_sweep(ctx, row->sweep), "stages"), st);
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
    ctx->stages = xrealloc(ctx->stages, (ctx->n_stages + 1) * sizeof(*ctx->stages));
    struct stage_counts *sc = &ctx->stages[ctx->n_stages++];
    snprintf(sc->sweep, sizeof(sc->sweep), "%s", row->sweep);
    snprintf(sc->stage, sizeof(sc->stage), "%s", row->stage);
    memcpy(sc->counts, row->counts, sizeof(sc->counts));
    sc->total = row->total;
    return 0;
}

/* Waiting runs: say what they wait for, once per (sweep, stage, reason). */
struct waiting_ctx {
    char last[1024];
    const struct status_ctx *status;
};

static const struct stage_counts *find_stage(const struct status_ctx *s, const char *sweep,
                                             const char *stage)
{
    for (size_t i = 0; i < s->n_stages; i++)
        if (!strcmp(s->stages[i].sweep, sweep) && !strcmp(s->stages[i].stage, stage))
            return &s->stages[i];
    return NULL;
}

static int print_waiting(const struct reg_run_row *row, void *ud)
{
    struct waiting_ctx *ctx = ud;
    json_t *pending = row->pending_json ? json_loads(row->pending_json, 0, NULL) : NULL;
    if (ctx->status->json) {
        /* one entry per waiting run: what it waits for, from which stage */
        json_t *w = json_pack("{s:s,s:s,s:o}", "run", row->run_id, "stage", row->stage,
                              "pending", pending ? pending : json_object());
        json_array_append_new(json_object_get(json_sweep(ctx->status, row->sweep),
                                              "waiting"), w);
        return 0;
    }
    char line[512];
    int n = snprintf(line, sizeof(line), "  %s/%s waits for", row->sweep, row->stage);
    const char *key;
    json_t *v;
    json_object_foreach(pending, key, v) {
        const char *from = json_string_value(v);
        const struct stage_counts *sc = find_stage(ctx->status, row->sweep, from);
        if (n <= 0 || (size_t)n >= sizeof(line))
            break;
        n += snprintf(line + n, sizeof(line) - (size_t)n, " %s from stage %s", key, from);
        if (sc && sc->counts[RUN_FAILED] && (size_t)n < sizeof(line))
            n += snprintf(line + n, sizeof(line) - (size_t)n, " (%d of its runs failed: "
                          "'mainline run --retry-failed' tries again)", sc->counts[RUN_FAILED]);
        else if (sc && (size_t)n < sizeof(line))
            n += snprintf(line + n, sizeof(line) - (size_t)n, " (%d of %d runs done)",
                          sc->counts[RUN_DONE], sc->total);
    }
    json_decref(pending);
    if (strcmp(line, ctx->last) != 0)
        printf("%s%s\n", ctx->last[0] ? "" : "\n", line);
    snprintf(ctx->last, sizeof(ctx->last), "%s", line);
    return 0;
}

/* --json: a failed run under its sweep's "failed". */
static int json_failed(const struct reg_run_row *row, void *ud)
{
    const struct status_ctx *ctx = ud;
    json_t *f = json_pack("{s:s,s:s,s:i}", "run", row->run_id, "stage", row->stage,
                          "attempt", row->attempt);
    json_object_set_new(f, "reason", row->fail_reason ? json_string(row->fail_reason)
                                                      : json_null());
    json_array_append_new(json_object_get(json_sweep(ctx, row->sweep), "failed"), f);
    return 0;
}

static int print_failed(const struct reg_run_row *row, void *ud)
{
    int *header = ud;
    if (!(*header)++)
        printf("\nfailed:\n");
    printf("  %s/%s (attempt %d): %s\n", row->sweep, row->run_id, row->attempt,
           row->fail_reason ? row->fail_reason : "no reason recorded");
    return 0;
}

int cmd_status(int argc, char **argv, struct cli *cli)
{
    static const char usage[] = "usage: mainline status [SWEEP] [--json]\n";
    int as_json;
    char *sweep;
    int urc = cli_operand_json(argc, argv, 0, usage, &sweep, &as_json);
    if (urc)
        return urc;
    if (!cli_registry(cli))
        return cli->open_failed_exit;
    struct status_ctx ctx = { .reg = cli->reg, .json = as_json ? json_array() : NULL };
    enum reg_status st = reg_stage_summary(cli->reg, sweep, add_stage, &ctx);
    flush_table(&ctx);
    int rc = EXIT_OK;
    if (st != REG_OK) {
        rc = cli_reg_error(cli, st, "cannot read run states");
    } else if (!ctx.rows && sweep) {
        error("no sweep named '%s' in %s", sweep, cli->registry_path);
        rc = EXIT_FAILURES;
    } else if (!ctx.rows && !as_json) {
        printf("no sweeps planned yet in %s\n", cli->registry_path);
    } else {
        struct reg_filter_term waiting = { "state", FILTER_EQ, "waiting" };
        struct reg_run_query q = { .sweep = sweep, .terms = &waiting, .n_terms = 1 };
        struct waiting_ctx wctx = { .status = &ctx };
        st = reg_query_runs(cli->reg, &q, print_waiting, &wctx);
        struct reg_filter_term failed = { "state", FILTER_EQ, "failed" };
        q.terms = &failed;
        int header = 0;
        if (st == REG_OK && as_json)
            st = reg_query_runs(cli->reg, &q, json_failed, &ctx);
        else if (st == REG_OK)
            st = reg_query_runs(cli->reg, &q, print_failed, &header);
        if (st != REG_OK)
            rc = cli_reg_error(cli, st, "cannot read runs");
    }
    if (rc == EXIT_OK && as_json) {
        json_t *doc = json_pack("{s:s,s:O}", "registry", cli->registry_path, "sweeps", ctx.json);
        char *text = json_dumps(doc, JSON_INDENT(2));
        puts(text);
        free(text);
        json_decref(doc);
    }
    json_decref(ctx.json);
    free(ctx.stages);
    return rc;
}
