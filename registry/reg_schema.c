/*
 * reg_schema.c - the registry schema, as a list of migrations.
 *
 * reg_migrations[i] takes a database from PRAGMA user_version i to i + 1 (a step is a
 * NULL-terminated list of SQL texts, split only to keep each one readable); registry.c
 * runs the missing steps in one transaction and bumps user_version after each.
 * A released step is never edited: a schema change is a new step appended at the
 * end, with REG_SCHEMA_VERSION raised to match. docs/registry.md explains every
 * table and column; keep the two in step.
 */
#include "reg_internal.h"

/* The one timestamp format of the registry: UTC ISO-8601, e.g. 2024-05-01T12:00:00Z. */
#define NOW "(strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"

/* ---- version 0 -> 1: the initial schema ---- */

static const char migration_1_tables[] =
    "CREATE TABLE sweeps (\n"
    "    id              INTEGER PRIMARY KEY,\n"
    "    name            TEXT NOT NULL CHECK (name <> ''),\n"
    "    version         INTEGER NOT NULL CHECK (version >= 1),\n"
    "    spec_path       TEXT NOT NULL,\n"
    "    spec_text       TEXT NOT NULL,\n"
    "    spec_sha256     TEXT NOT NULL,\n"
    "    canon_json      TEXT NOT NULL CHECK (json_valid(canon_json)),\n"
    "    canon_sha256    TEXT NOT NULL,\n"
    "    contract_json   TEXT CHECK (contract_json IS NULL OR json_valid(contract_json)),\n"
    "    contract_sha256 TEXT,\n"
    "    created_at      TEXT NOT NULL DEFAULT " NOW ",\n"
    "    git_status      TEXT,\n"
    "    git_root        TEXT,\n"
    "    git_commit      TEXT,\n"
    "    git_branch      TEXT,\n"
    "    git_dirty       INTEGER NOT NULL DEFAULT 0 CHECK (git_dirty IN (0, 1)),\n"
    "    git_diff        TEXT,\n"
    "    UNIQUE (name, version)\n"
    ");\n"
    "CREATE TABLE artifacts (\n"
    "    id       INTEGER PRIMARY KEY,\n"
    "    sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,\n"
    "    role     TEXT NOT NULL CHECK (role IN ('base_model', 'dataset')),\n"
    "    name     TEXT NOT NULL,\n"
    "    path     TEXT NOT NULL,\n"
    "    bytes    INTEGER NOT NULL CHECK (bytes >= 0),\n"
    "    rows     INTEGER CHECK (rows IS NULL OR rows >= 0),\n"
    "    sha256   TEXT NOT NULL,\n"
    "    UNIQUE (sweep_id, role, name)\n"
    ");\n"
    "CREATE TABLE runs (\n"
    "    id          INTEGER PRIMARY KEY,\n"
    "    sweep_id    INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,\n"
    "    run_id      TEXT NOT NULL CHECK (run_id <> ''),\n"
    "    ord         INTEGER NOT NULL,\n"
    "    stage       TEXT NOT NULL,\n"
    "    condition   TEXT,\n"
    "    lr          REAL,\n"
    "    seed        INTEGER,\n"
    "    params      TEXT NOT NULL CHECK (json_valid(params)),\n"
    "    pending     TEXT CHECK (pending IS NULL OR json_valid(pending)),\n"
    "    state       TEXT NOT NULL DEFAULT 'planned' CHECK (state IN\n"
    "                ('waiting', 'planned', 'running', 'done', 'failed', 'cancelled')),\n"
    "    attempt     INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),\n"
    "    created_at  TEXT NOT NULL DEFAULT " NOW ",\n"
    "    started_at  TEXT,\n"
    "    finished_at TEXT,\n"
    "    exit_status INTEGER,\n"
    "    pid         INTEGER,\n"
    "    proc_start  INTEGER,\n"
    "    host        TEXT,\n"
    "    run_dir     TEXT,\n"
    "    fail_reason TEXT,\n"
    "    base_attempt INTEGER NOT NULL DEFAULT 1,\n"
    "    UNIQUE (sweep_id, run_id),\n"
    "    UNIQUE (sweep_id, ord)\n"
    ");\n"
    "CREATE INDEX runs_run_id ON runs(run_id);\n"
    "CREATE TABLE run_artifacts (\n"
    "    run      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    artifact INTEGER NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,\n"
    "    PRIMARY KEY (run, artifact)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX run_artifacts_artifact ON run_artifacts(artifact);\n"
    /* The biggest table by far: one B-tree without a rowid or per-row timestamp,
     * keyed in the order lines are ingested (offsets only grow), so ingestion
     * appends instead of inserting all over the tree; the key is also what makes a
     * source line unique. Curves of a run read its rows, a few thousand. */
    "CREATE TABLE metrics (\n"
    "    run        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    attempt    INTEGER NOT NULL,\n"
    "    step       INTEGER NOT NULL,\n"
    "    name       TEXT NOT NULL,\n"
    "    value      REAL,\n"
    "    src_offset INTEGER NOT NULL,\n"
    "    PRIMARY KEY (run, attempt, src_offset, name)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE checkpoints (\n"
    "    id         INTEGER PRIMARY KEY,\n"
    "    run        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    attempt    INTEGER NOT NULL,\n"
    "    step       INTEGER NOT NULL,\n"
    "    path       TEXT NOT NULL,\n"
    "    bytes      INTEGER,\n"
    "    sha256     TEXT,\n"
    "    created_at TEXT NOT NULL DEFAULT " NOW ",\n"
    "    UNIQUE (run, step)\n"
    ");\n";

static const char migration_1_evals[] =
    "CREATE TABLE evals (\n"
    "    id                  INTEGER PRIMARY KEY,\n"
    "    run                 INTEGER REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    sweep_id            INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,\n"
    "    checkpoint_step     INTEGER,\n"
    "    dataset             TEXT NOT NULL,\n"
    "    contract_sha256     TEXT NOT NULL,\n"
    "    n                   INTEGER NOT NULL CHECK (n >= 0),\n"
    "    correct             INTEGER NOT NULL CHECK (correct >= 0 AND correct <= n),\n"
    "    accuracy            REAL,\n"
    "    extraction_failures INTEGER NOT NULL DEFAULT 0,\n"
    "    gen_tokens          INTEGER,\n"
    "    seconds             REAL,\n"
    "    tok_per_s           REAL,\n"
    "    created_at          TEXT NOT NULL DEFAULT " NOW "\n"
    ");\n"
    "CREATE INDEX evals_run ON evals(run);\n"
    "CREATE INDEX evals_sweep ON evals(sweep_id);\n"
    "CREATE TABLE predictions (\n"
    "    eval              INTEGER NOT NULL REFERENCES evals(id) ON DELETE CASCADE,\n"
    "    example_id        TEXT NOT NULL,\n"
    "    prompt_sha256     TEXT,\n"
    "    output            TEXT,\n"
    "    extracted         TEXT,\n"
    "    gold              TEXT,\n"
    "    correct           INTEGER NOT NULL CHECK (correct IN (0, 1)),\n"
    "    extraction_failed INTEGER NOT NULL DEFAULT 0 CHECK (extraction_failed IN (0, 1)),\n"
    "    tokens            INTEGER,\n"
    "    PRIMARY KEY (eval, example_id)\n"
    ");\n"
    "CREATE TABLE selections (\n"
    "    id           INTEGER PRIMARY KEY,\n"
    "    sweep_id     INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,\n"
    "    kind         TEXT NOT NULL CHECK (kind IN\n"
    "                 ('checkpoint', 'pick', 'compare', 'mainline')),\n"
    "    scope        TEXT,\n"
    "    rule         TEXT NOT NULL,\n"
    "    rules_sha256 TEXT,\n"
    "    inputs       TEXT CHECK (inputs IS NULL OR json_valid(inputs)),\n"
    "    choice       TEXT CHECK (choice IS NULL OR json_valid(choice)),\n"
    "    created_at   TEXT NOT NULL DEFAULT " NOW "\n"
    ");\n"
    "CREATE INDEX selections_sweep ON selections(sweep_id);\n"
    /* The audit log outlives what it talks about: deleting a sweep keeps its events. */
    "CREATE TABLE events (\n"
    "    id       INTEGER PRIMARY KEY,\n"
    "    ts       TEXT NOT NULL DEFAULT " NOW ",\n"
    "    sweep_id INTEGER REFERENCES sweeps(id) ON DELETE SET NULL,\n"
    "    run      INTEGER REFERENCES runs(id) ON DELETE SET NULL,\n"
    "    kind     TEXT NOT NULL CHECK (kind <> ''),\n"
    "    message  TEXT,\n"
    "    data     TEXT CHECK (data IS NULL OR json_valid(data))\n"
    ");\n"
    "CREATE INDEX events_sweep ON events(sweep_id);\n"
    "CREATE INDEX events_run ON events(run);\n"
    "CREATE TABLE locks (\n"
    "    sweep_id     INTEGER PRIMARY KEY REFERENCES sweeps(id) ON DELETE CASCADE,\n"
    "    holder_pid   INTEGER NOT NULL,\n"
    "    holder_start INTEGER,\n"
    "    host         TEXT NOT NULL,\n"
    "    started_at   TEXT NOT NULL DEFAULT " NOW "\n"
    ");\n"
    /* How far the orchestrator has read each file a child writes: the offset is
     * committed in the same transaction as the rows read, so re-reading after a
     * crash starts exactly after the last ingested line. */
    "CREATE TABLE ingest_offsets (\n"
    "    run    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    file   TEXT NOT NULL,\n"
    "    offset INTEGER NOT NULL DEFAULT 0,\n"
    "    line   INTEGER NOT NULL DEFAULT 0,\n"
    "    PRIMARY KEY (run, file)\n"
    ") WITHOUT ROWID;\n"
    /* One evaluator process per checkpoint that needs evaluating, and one for the
     * untouched base model (run and step NULL). */
    "CREATE TABLE eval_jobs (\n"
    "    id          INTEGER PRIMARY KEY,\n"
    "    sweep_id    INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,\n"
    "    run         INTEGER REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    step        INTEGER,\n"
    "    checkpoint  TEXT,\n"
    "    state       TEXT NOT NULL DEFAULT 'planned' CHECK (state IN\n"
    "                ('planned', 'running', 'done', 'failed', 'cancelled')),\n"
    "    attempt     INTEGER NOT NULL DEFAULT 0,\n"
    "    pid         INTEGER,\n"
    "    proc_start  INTEGER,\n"
    "    host        TEXT,\n"
    "    dir         TEXT,\n"
    "    started_at  TEXT,\n"
    "    finished_at TEXT,\n"
    "    exit_status INTEGER,\n"
    "    fail_reason TEXT\n"
    ");\n"
    "CREATE UNIQUE INDEX eval_jobs_target ON eval_jobs(sweep_id, coalesce(run, 0),\n"
    "    coalesce(step, -1));\n";

/*
 * Metrics in the views come from the run's current lineage: the attempts since it
 * last started from scratch (runs.base_attempt). A retried run must not report
 * the loss of the attempt that failed; a resumed one keeps what came before.
 */
#define CUR_METRICS(name_cond) \
    "metrics m WHERE m.run = r.id AND m.attempt >= r.base_attempt AND " name_cond

static const char migration_1_views[] =
    "CREATE VIEW v_latest_sweeps AS\n"
    "SELECT s.id, s.name, s.version, s.spec_path, s.canon_sha256, s.contract_sha256,\n"
    "       s.created_at, s.git_status, s.git_commit, s.git_branch, s.git_dirty,\n"
    "       (SELECT count(*) FROM runs r WHERE r.sweep_id = s.id) AS n_runs\n"
    "FROM sweeps s\n"
    "WHERE s.version = (SELECT max(s2.version) FROM sweeps s2 WHERE s2.name = s.name);\n"
    "CREATE VIEW v_runs AS\n"
    "SELECT s.name AS sweep, s.version AS version, r.run_id, r.stage, r.condition,\n"
    "       r.lr, r.seed, r.state, r.attempt,\n"
    "       (SELECT max(m.step) FROM " CUR_METRICS("1") ") AS last_step,\n"
    "       (SELECT m.value FROM " CUR_METRICS("m.name = 'loss'")
    "        ORDER BY m.step DESC, m.src_offset DESC LIMIT 1) AS last_train_loss,\n"
    "       (SELECT min(m.value) FROM " CUR_METRICS("m.name = 'val_nll'") ") AS best_val_nll,\n"
    "       (SELECT m.step FROM " CUR_METRICS("m.name = 'val_nll' AND m.value IS NOT NULL")
    "        ORDER BY m.value ASC, m.step ASC LIMIT 1) AS best_val_step,\n"
    "       (SELECT e.accuracy FROM evals e WHERE e.run = r.id\n"
    "        ORDER BY e.id DESC LIMIT 1) AS eval_accuracy,\n"
    "       r.run_dir, r.params, r.pending, r.ord, r.id, r.sweep_id\n"
    "FROM runs r\n"
    "JOIN sweeps s ON s.id = r.sweep_id;\n"
    "CREATE VIEW v_stage_summary AS\n"
    "SELECT v.sweep, v.version, v.stage, count(*) AS runs,\n"
    "       sum(v.state = 'waiting') AS waiting, sum(v.state = 'planned') AS planned,\n"
    "       sum(v.state = 'running') AS running, sum(v.state = 'done') AS done,\n"
    "       sum(v.state = 'failed') AS failed, sum(v.state = 'cancelled') AS cancelled,\n"
    "       min(v.best_val_nll) AS best_val_nll, min(v.ord) AS first_ord, v.sweep_id\n"
    "FROM v_runs v\n"
    "GROUP BY v.sweep_id, v.sweep, v.version, v.stage;\n";

#undef CUR_METRICS

static const char *const migration_1[] = {
    migration_1_tables, migration_1_evals, migration_1_views, NULL
};

/* ---- version 1 -> 2: the evaluator's whole summary and its probe answers ---- */

/*
 * evals.summary keeps the summary line as the evaluator wrote it, so numbers the
 * fixed columns do not name (retention_nll, ...) are still in the registry;
 * probe_answers holds what the model said to each of the sweep's probe prompts.
 */
static const char migration_2_evals[] =
    "ALTER TABLE evals ADD COLUMN summary TEXT\n"
    "    CHECK (summary IS NULL OR json_valid(summary));\n"
    "CREATE TABLE probe_answers (\n"
    "    eval    INTEGER NOT NULL REFERENCES evals(id) ON DELETE CASCADE,\n"
    "    idx     INTEGER NOT NULL CHECK (idx >= 0),\n"
    "    prompt  TEXT NOT NULL,\n"
    "    output  TEXT NOT NULL,\n"
    "    tokens  INTEGER,\n"
    "    PRIMARY KEY (eval, idx)\n"
    ") WITHOUT ROWID;\n";

static const char *const migration_2[] = { migration_2_evals, NULL };

/* ---- version 2 -> 3: the views behind the report ---- */

/*
 * They read what `mainline select` recorded (selections of kind compare, mainline
 * and pick), so a query shows the numbers the verdict was taken on, with the
 * rules hash they were taken under.
 */
static const char migration_3_views[] =
    "CREATE VIEW v_condition_summary AS\n"
    "SELECT s.name AS sweep, s.version, x.rules_sha256,\n"
    "       json_extract(c.value, '$.condition') AS condition,\n"
    "       json_extract(c.value, '$.n') AS seeds, json_extract(c.value, '$.mean') AS mean,\n"
    "       json_extract(c.value, '$.min') AS min, json_extract(c.value, '$.max') AS max,\n"
    "       json_extract(c.value, '$.range') AS range,\n"
    "       json_extract(x.choice, '$.metric') AS metric, x.sweep_id\n"
    "FROM selections x JOIN sweeps s ON s.id = x.sweep_id,\n"
    "     json_each(x.inputs, '$.conditions') c\n"
    "WHERE x.kind = 'compare';\n"
    "CREATE VIEW v_disagreement AS\n"
    "SELECT s.name AS sweep, s.version, x.rules_sha256,\n"
    "       json_extract(p.value, '$.a') AS a, json_extract(p.value, '$.b') AS b,\n"
    "       json_extract(x.choice, '$.over') AS over,\n"
    "       json_extract(r.value, '$.' || json_extract(x.choice, '$.over')) AS replicate,\n"
    "       json_extract(r.value, '$.a_only') AS a_only,\n"
    "       json_extract(r.value, '$.b_only') AS b_only,\n"
    "       json_extract(r.value, '$.both') AS both_correct,\n"
    "       json_extract(r.value, '$.neither') AS both_wrong,\n"
    "       json_extract(r.value, '$.delta') AS delta,\n"
    "       json_extract(r.value, '$.mcnemar_p') AS mcnemar_p, x.sweep_id\n"
    "FROM selections x JOIN sweeps s ON s.id = x.sweep_id,\n"
    "     json_each(x.inputs, '$.pairs') p, json_each(p.value, '$.seeds') r\n"
    "WHERE x.kind = 'compare';\n"
    "CREATE VIEW v_mainline AS\n"
    "SELECT s.name AS sweep, s.version, x.rules_sha256,\n"
    "       json_extract(x.choice, '$.candidate') AS candidate,\n"
    "       json_extract(x.choice, '$.layers.base_survived.status') AS base_survived,\n"
    "       json_extract(x.choice, '$.layers.landed.status') AS landed,\n"
    "       json_extract(x.choice, '$.layers.usable.status') AS usable,\n"
    "       json_extract(x.choice, '$.diagnosis') AS diagnosis,\n"
    "       coalesce(json_extract(x.choice, '$.candidate') = (\n"
    "           SELECT json_extract(f.choice, '$.mainline') FROM selections f\n"
    "           WHERE f.sweep_id = x.sweep_id AND f.kind = 'mainline' AND f.scope = 'mainline'\n"
    "             AND f.rules_sha256 IS x.rules_sha256), 0) AS is_mainline,\n"
    "       json_extract(x.inputs, '$.mean') AS mean,\n"
    "       json_extract(x.inputs, '$.gain') AS gain,\n"
    "       json_extract(x.inputs, '$.retention_nll_increase') AS retention_nll_increase,\n"
    "       json_extract(x.inputs, '$.adapter_mb') AS adapter_mb,\n"
    "       json_extract(x.inputs, '$.eval_tok_per_s') AS eval_tok_per_s, x.sweep_id\n"
    "FROM selections x JOIN sweeps s ON s.id = x.sweep_id\n"
    "WHERE x.kind = 'mainline' AND x.scope LIKE 'candidate %';\n"
    "CREATE VIEW v_lr_selection AS\n"
    "SELECT s.name AS sweep, s.version, x.scope AS pick, x.rule,\n"
    "       json_extract(c.value, '$.run') AS run,\n"
    "       json_extract(c.value, '$.lr') AS lr,\n"
    "       json_extract(c.value, '$.' || substr(x.rule, 5, length(x.rule) - 5)) AS value,\n"
    "       json_extract(c.value, '$.step') AS step,\n"
    "       json_extract(c.value, '$.run') = json_extract(x.choice, '$.run') AS picked,\n"
    "       x.sweep_id\n"
    "FROM selections x JOIN sweeps s ON s.id = x.sweep_id, json_each(x.inputs) c\n"
    "WHERE x.kind = 'pick';\n";

static const char *const migration_3[] = { migration_3_views, NULL };

/* ---- version 3 -> 4: where a fetched file came from ---- */

/*
 * artifacts.path is the local file runs read (for a fetched file, its place in the
 * cache); artifacts.source is the URL it was fetched from, with "#member" for a
 * file inside an archive (or the local archive's path and member). NULL: the file
 * is a plain local path.
 */
static const char migration_4_sources[] =
    "ALTER TABLE artifacts ADD COLUMN source TEXT CHECK (source IS NULL OR source <> '');\n";

static const char *const migration_4[] = { migration_4_sources, NULL };

/* ---- version 4 -> 5: the data audit's report kept with each sweep version ---- */

static const char migration_5_audit[] =
    "ALTER TABLE sweeps ADD COLUMN audit_json TEXT\n"
    "    CHECK (audit_json IS NULL OR json_valid(audit_json));\n";

static const char *const migration_5[] = { migration_5_audit, NULL };

/* ---- version 5 -> 6: jobs a batch system (Slurm) ran ---- */

/*
 * runs.job_id and eval_jobs.job_id: the batch job of the current attempt (NULL for
 * local jobs, which have a pid). batch_jobs: one row per submitted batch job, kept
 * across attempts: which attempt it was, the name it was submitted under (how a job
 * submitted but never recorded is found again), and how the batch system ended it.
 * A job id alone is not unique: a cluster whose state was lost, or another cluster,
 * hands out the same ids again; with the name (sweep, version, run, attempt) it is.
 * When it ends: its array index (NULL for a plain job), partition, node list, elapsed
 * seconds, the highest resident memory of its steps (sacct's MaxRSS, in bytes), and
 * whether sacct confirmed the end state (0: squeue and exit.json alone).
 */
static const char migration_6_batch[] =
    "ALTER TABLE runs ADD COLUMN job_id INTEGER;\n"
    "ALTER TABLE eval_jobs ADD COLUMN job_id INTEGER;\n"
    "CREATE TABLE batch_jobs (\n"
    "    id           INTEGER PRIMARY KEY,\n"
    "    job_id       INTEGER NOT NULL,\n"
    "    executor     TEXT NOT NULL,\n"
    "    run          INTEGER REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    eval_job     INTEGER REFERENCES eval_jobs(id) ON DELETE CASCADE,\n"
    "    attempt      INTEGER NOT NULL,\n"
    "    name         TEXT NOT NULL,\n"
    "    state        TEXT,\n"
    "    reason       TEXT,\n"
    "    submitted_at TEXT NOT NULL,\n"
    "    ended_at     TEXT,\n"
    "    array_index  INTEGER CHECK (array_index IS NULL OR array_index >= 0),\n"
    "    partition    TEXT,\n"
    "    nodes        TEXT,\n"
    "    elapsed_s    INTEGER CHECK (elapsed_s IS NULL OR elapsed_s >= 0),\n"
    "    max_rss_bytes INTEGER CHECK (max_rss_bytes IS NULL OR max_rss_bytes >= 0),\n"
    "    acct_confirmed INTEGER NOT NULL DEFAULT 0 CHECK (acct_confirmed IN (0, 1)),\n"
    "    CHECK ((run IS NULL) <> (eval_job IS NULL) OR (run IS NULL AND eval_job IS NULL)),\n"
    "    UNIQUE (job_id, name)\n"
    ");\n"
    "CREATE INDEX batch_jobs_run ON batch_jobs(run);\n";

static const char *const migration_6[] = { migration_6_batch, NULL };

/* ---- version 6 -> 7: parameters as rows ---- */

/*
 * run_params: one row per run and parameter (every key of runs.params), with the
 * value as SQLite holds it (numbers as numbers, lists and mappings as JSON text).
 * `swept` is 1 for a parameter whose value differs between the runs of the sweep
 * version (a grid axis, a stage's own value, a value a pick released; absent from
 * some runs counts as differing) and for seed: the parameters a report and
 * `mainline runs` show as columns.
 */
static const char migration_7_params[] =
    "CREATE VIEW run_params AS\n"
    "WITH p AS (\n"
    "    SELECT r.id AS run, r.sweep_id, r.run_id, r.stage, r.ord, j.key AS name,\n"
    "           j.value AS value\n"
    "    FROM runs r, json_each(r.params) j),\n"
    "swept AS (\n"
    "    SELECT p.sweep_id, p.name FROM p GROUP BY p.sweep_id, p.name\n"
    "    HAVING p.name = 'seed' OR count(DISTINCT p.value) > 1\n"
    "        OR count(*) < (SELECT count(*) FROM runs r2 WHERE r2.sweep_id = p.sweep_id))\n"
    "SELECT s.name AS sweep, s.version, p.run_id AS run, p.stage, p.name, p.value,\n"
    "       EXISTS (SELECT 1 FROM swept w WHERE w.sweep_id = p.sweep_id\n"
    "               AND w.name = p.name) AS swept,\n"
    "       p.ord, p.run AS run_rowid, p.sweep_id\n"
    "FROM p JOIN sweeps s ON s.id = p.sweep_id;\n";

static const char *const migration_7[] = { migration_7_params, NULL };

/* ---- version 7 -> 8: what became of each checkpoint; a failure's stderr line ---- */

/*
 * checkpoints.kept: 1 when the file (or directory) was still there when its run ended
 * done, and then sha256 and bytes are of what is there, hashed once at that moment
 * (a directory: the sha256 of its `sha256sum`-style listing); 0 when it was gone, deleted
 * by the trainer's `keep:` policy (or by hand); NULL while its run has not ended, for a
 * failed run, and for rows recorded before version 8. checked_at: when that was found.
 */
static const char migration_8_checkpoints[] =
    "ALTER TABLE checkpoints ADD COLUMN kept INTEGER CHECK (kept IS NULL OR kept IN (0, 1));\n"
    "ALTER TABLE checkpoints ADD COLUMN checked_at TEXT;\n"
    /* the last non-empty line the failed attempt wrote to its stderr, NULL when none */
    "ALTER TABLE runs ADD COLUMN fail_stderr TEXT;\n";

static const char *const migration_8[] = { migration_8_checkpoints, NULL };

/* ---- version 8 -> 9: the quantised model's evaluation (mainline usable.quantized) ---- */

/*
 * An evaluation of a sweep whose mainline declares usable.quantized also scores the
 * model written as a GGUF of type quant (q8_0, q4_0, f16) on the same benchmark:
 * its n, correct, accuracy, generation seconds and tok/s, and the GGUF's size. All
 * NULL when there was no such evaluation (and for rows recorded before version 9).
 */
static const char migration_9_quantized[] =
    "ALTER TABLE evals ADD COLUMN quant TEXT;\n"
    "ALTER TABLE evals ADD COLUMN quant_n INTEGER CHECK (quant_n IS NULL OR quant_n >= 0);\n"
    "ALTER TABLE evals ADD COLUMN quant_correct INTEGER\n"
    "    CHECK (quant_correct IS NULL OR (quant_correct >= 0 AND quant_correct <= quant_n));\n"
    "ALTER TABLE evals ADD COLUMN quant_accuracy REAL;\n"
    "ALTER TABLE evals ADD COLUMN quant_seconds REAL;\n"
    "ALTER TABLE evals ADD COLUMN quant_tok_per_s REAL;\n"
    "ALTER TABLE evals ADD COLUMN quant_gguf_bytes INTEGER;\n";

static const char *const migration_9[] = { migration_9_quantized, NULL };

/* ---- the list ---- */

const char *const *const reg_migrations[] = {
    migration_1,
    migration_2,
    migration_3,
    migration_4,
    migration_5,
    migration_6,
    migration_7,
    migration_8,
    migration_9,
};
const int reg_n_migrations = (int)(sizeof(reg_migrations) / sizeof(reg_migrations[0]));

_Static_assert(sizeof(reg_migrations) / sizeof(reg_migrations[0]) == REG_SCHEMA_VERSION,
               "one migration step per schema version");
