/*
 * bundle_write.h - `mainline export --format bundle`: runs of a sweep, with what it
 * takes to recreate them elsewhere, as one tar.gz (docs/export.md, "Bundles").
 *
 * Under one top directory: manifest.json, always the first member (provenance and
 * the sha256 and size of every other file; `mainline import` reads it first to bound
 * every later member, bundle_read.h, and refuses a bundle that does not start with
 * it), sweep.yaml (the sweep file as planned), registry.json (the rows,
 * reg_bundle.h) and runs/<run>/ with each run's config.json and metrics.jsonl, its
 * selected checkpoint and that checkpoint's evaluation files. Not the base model nor
 * the datasets: the manifest names them with their sha256 and origin.
 */
#ifndef MAINLINE_BUNDLE_WRITE_H
#define MAINLINE_BUNDLE_WRITE_H

#include <stdint.h>

#include "reg_results.h"
#include "strbuf.h"

struct bundle_run {
    int64_t rowid;
    const char *run_id;
    int64_t step;            /* the selected checkpoint */
    const char *checkpoint;  /* its path, absolute */
    const char *dir;         /* the run's directory, absolute */
};

struct bundle_out {
    unsigned long long bytes;
    size_t n_files;
};

/*
 * Write the bundle of `runs` of the sweep version `res` to `out` (which must not
 * exist): a temporary name beside it, fsynced, renamed. No file is held in memory:
 * each is hashed for the manifest, then streamed into the archive and refused if it
 * changed in between (bundle_copy.h). Returns 0, or -1 with a message in *err and
 * nothing left at `out`.
 */
int bundle_write(struct registry *reg, const char *registry_path, const struct reg_results *res,
                 const struct bundle_run *runs, size_t n_runs, const char *out,
                 struct bundle_out *result, struct strbuf *err);

#endif
