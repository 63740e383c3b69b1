/*
 * hf_index.h - a sharded Hugging Face checkpoint's index
 * (model.safetensors.index.json): its weight_map and the shard files it names,
 * each once. Read by the loader (model_io.c) and by the planner, which hashes
 * and fetches every shard (sweep/model_files.c).
 *
 * Errors: hf_index_load returns 0, or -1 with a message naming the index in *err.
 * Ownership: a struct hf_index owns its JSON and shard names (hf_index_free()).
 */
#ifndef MAINLINE_HF_INDEX_H
#define MAINLINE_HF_INDEX_H

#include <jansson.h>
#include <stddef.h>

#include "strbuf.h"

#define HF_INDEX_NAME "model.safetensors.index.json"
#define HF_MAX_SHARDS 4096

struct hf_index {
    json_t *root;
    json_t *map;        /* weight_map: tensor name -> shard file name (borrowed from root) */
    char **shards;      /* the shard file names, each once, in the order first named */
    size_t n_shards;
};

/* Load and check `index`: a non-empty weight_map whose every value is a plain
 * .safetensors file name in the index's directory (no '/', not hidden), at most
 * HF_MAX_SHARDS shards. On error *out is zeroed. */
int hf_index_load(const char *index, struct hf_index *out, struct strbuf *err);
void hf_index_free(struct hf_index *ix);   /* accepts a zeroed struct */

#endif
