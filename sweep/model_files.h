/*
 * model_files.h - every file a base model uses, each with its sha256, and the
 * digest of that list (the model's manifest), so that a plan records and checks
 * the whole model and not only the file the sweep names.
 *
 * A model path is a Hugging Face directory, or a file in one (model.safetensors,
 * a *.safetensors.index.json, a llama2.c checkpoint). Its files are those of
 * model_files_names[] that exist in the directory (config.json, the tokenizer
 * files...) and its weights: the named file, or for a directory the index and
 * every shard it names, else model.safetensors; an index always brings its shards.
 *
 * The manifest is the text `sha256sum` prints for those files sorted by name
 * ("SHA256  NAME\n" lines; LC_ALL=C sort -k2), and its sha256 is what pins and
 * names a directory (docs/sources.md).
 *
 * Errors: int functions return 0, or -1 with a message naming the file in *err.
 * Ownership: a struct model_files owns its entries (model_files_free()); the
 * char * model_manifest_text returns is the caller's.
 */
#ifndef MAINLINE_MODEL_FILES_H
#define MAINLINE_MODEL_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "strbuf.h"

/* The files beside the weights a model directory may have; the first
 * MODEL_FILES_REQUIRED of them are required in a hub directory (hf://ORG/MODEL). */
extern const char *const model_files_names[];
#define MODEL_FILES_N_NAMES 5
#define MODEL_FILES_REQUIRED 3

struct model_file {
    char *name;                        /* the file's name in the directory */
    char sha256[SHA256_HEX_LEN + 1];
    int64_t bytes;
};

struct model_files {
    struct model_file *v;              /* sorted by name */
    size_t n;
    int is_dir;                        /* the path named a directory */
    char manifest_sha256[SHA256_HEX_LEN + 1];
    int64_t bytes;                     /* all files */
};

/* Hash every file of the model at `path`. On error *out is zeroed. */
int model_files_collect(const char *path, struct model_files *out, struct strbuf *err);
void model_files_free(struct model_files *m);   /* accepts a zeroed struct */

/* Sort the entries by name and fill manifest_sha256 and bytes from them. */
void model_files_seal(struct model_files *m);

/* Add an entry (a copy of name); callers then seal. */
void model_files_add(struct model_files *m, const char *name, const char *sha256,
                     int64_t bytes);

/* The manifest text ("SHA256  NAME\n" per file, sorted), malloc'd. */
char *model_manifest_text(const struct model_files *m);

#endif
