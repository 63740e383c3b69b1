/*
 * plan.h - a sweep file made ready to record: loaded, expanded, every artifact
 * hashed and checked against its pin, the code's git state collected, and the
 * canonical texts (spec, contract) with their digests.
 *
 * Ownership: struct plan owns everything it points to; plan_free() frees it.
 */
#ifndef MAINLINE_PLAN_H
#define MAINLINE_PLAN_H

#include <stdint.h>

#include "digest.h"
#include "fetch.h"
#include "provenance.h"
#include "registry.h"
#include "sweep.h"

struct plan_artifact {
    const char *role;        /* "base_model" or "dataset" (static strings) */
    char *name;              /* dataset name, or the base model's file slug */
    char *path;              /* the local file: resolved path (relative to the cwd when
                              * the sweep's was), or where the cache keeps it */
    char *abs_path;          /* what the registry records and jobs read */
    char *origin;            /* "URL[#member]" or "/abs/archive#member"; NULL when the
                              * file is a plain local path */
    int fetched;             /* downloaded by this plan (not found in the cache) */
    int64_t fetched_bytes;
    struct file_digest digest;   /* a base model directory's: of its manifest
                                  * (model_files.h), bytes of all its files */
    json_t *files;           /* base models of more than one file: {name: sha256} of
                              * each (config, tokenizer, index, shards); else NULL */
};

struct plan {
    struct sweep sweep;
    struct plan_runs runs;
    struct plan_artifact *artifacts;
    size_t n_artifacts;
    size_t **run_artifacts;  /* per run: indexes into artifacts */
    size_t *n_run_artifacts;
    char spec_sha256[SHA256_HEX_LEN + 1];
    json_t *canon;           /* {"spec": ..., "artifacts": {"dataset/train": sha...},
                              * "model_files": {"base_model/NAME": {file: sha...}}} */
    char *canon_text;
    char canon_sha256[SHA256_HEX_LEN + 1];
    char *contract_text;
    char contract_sha256[SHA256_HEX_LEN + 1];
    json_t *audit;           /* the data audit's report (data/audit.h) */
    char *audit_text;        /* its canonical text, recorded with the sweep */
    struct provenance prov;
    char **bad_paths;        /* files already reported unreadable or mismatched */
    size_t n_bad_paths;
};

/* Load, expand, fetch what is remote (obs, may be NULL, sees progress and retry
 * notes), hash, audit the data. Returns 0, or -1 with diagnostics (nothing is
 * recorded). A failing gate is not an error here: the caller reads p->audit
 * (audit_passed()) and decides. */
int plan_build(const char *sweep_path, const struct fetch_observer *obs, struct plan *out,
               struct diag_list *dl);
void plan_free(struct plan *p);

/* The local file of dataset `name` (a URL's place in the cache), or NULL. */
const char *plan_dataset_path(const struct plan *p, const char *name);   /* accepts a zeroed struct */

/* The local path of run `run`'s base model (as plan_artifact.path: relative to the
 * cwd when the sweep's was; a URL's place in the cache), or NULL when it has none
 * or it could not be resolved. */
const char *plan_run_base_model(const struct plan *p, size_t run);

/* Record the plan as `version` of its sweep in one transaction. */
enum reg_status plan_record(struct registry *reg, const struct plan *p, int version,
                            int64_t *sweep_rowid);

#endif
