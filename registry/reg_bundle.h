/*
 * reg_bundle.h - the registry rows a bundle carries (mainline export --format bundle)
 * and recording them into another registry (mainline import).
 *
 * The rows are one JSON document, columns by name, ids and foreign keys left out
 * (they are this registry's, not the other's):
 *
 *   {"sweep": {sweeps row}, "artifacts": [rows], "picks": [selections rows of kind
 *    pick], "baseline": [evals rows, run NULL, each with "predictions" and
 *    "probe_answers"], "runs": [{"run": {runs row}, "artifacts": [[role, name]...],
 *    "metrics": [rows], "checkpoints": [rows], "evals": [rows as in baseline]}]}
 *
 * A run's identity is (sweep name, canon_sha256 of its sweep version, run_id); its
 * results digest (reg_bundle_run_digest) is the sha256 of its entry without the
 * columns that differ between two registries holding the same results (paths, hosts,
 * times, process ids, checkpoint fates).
 *
 * Same conventions as registry.h. Ownership: reg_bundle_dump's *out is the caller's
 * (json_decref); the rows passed to check and record are borrowed.
 */
#ifndef MAINLINE_REG_BUNDLE_H
#define MAINLINE_REG_BUNDLE_H

#include <jansson.h>

#include "registry.h"

/* The rows of the sweep version `sweep` and of its runs `runs` (row ids). */
enum reg_status reg_bundle_dump(struct registry *reg, int64_t sweep, const int64_t *runs,
                                size_t n_runs, json_t **out);

/* The results digest of one entry of "runs" (lowercase hex into out). */
void reg_bundle_run_digest(const json_t *run_entry, char out[65]);

enum reg_import_what {
    IMPORT_NEW,    /* no such run here: created */
    IMPORT_FILL,   /* planned here, never started: its results are filled in */
    IMPORT_SAME,   /* here already with the same results: nothing to do */
};

struct reg_import_plan {
    int64_t sweep_rowid;   /* 0: the sweep version is created */
    int version;           /* the sweep version the runs go to */
    const char *sweep_name;       /* borrowed from the rows */
    size_t n_runs;
    enum reg_import_what *what;   /* one per entry of "runs"; owned, reg_import_plan_free */
};
void reg_import_plan_free(struct reg_import_plan *p);

/*
 * What importing `rows` would do. REG_ERR_CONFLICT, with the reason in reg_errmsg,
 * when a version of the sweep with the same number was planned from another spec, or
 * a run of the same identity holds other results (or has started here).
 */
enum reg_status reg_bundle_check(struct registry *reg, const json_t *rows,
                                 struct reg_import_plan *plan);

/*
 * Record `rows` in one transaction, checking again inside it: the sweep version when
 * new (with its artifacts and picks), the baseline evaluation when the sweep has
 * none, and each run not IMPORT_SAME with its metrics, checkpoints, evaluations
 * (predictions, probe answers, a done eval job) and an `import` event carrying
 * `origin`. run_dirs[i] is where entry i's files now are. Every column of a row must
 * be one the registry has (REG_ERR_INVALID otherwise).
 */
enum reg_status reg_bundle_record(struct registry *reg, const json_t *rows,
                                  const char *const *run_dirs, const json_t *origin,
                                  struct reg_import_plan *plan);

/* The `import` event of a run (its data, JSON text), or NULL when it was not
 * imported. Caller frees *origin_json. */
enum reg_status reg_run_origin(struct registry *reg, int64_t run, char **origin_json);

#endif
