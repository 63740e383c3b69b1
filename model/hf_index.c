/* hf_index.c - the shards a model.safetensors.index.json names (see hf_index.h). */
#include <stdlib.h>
#include <string.h>

#include "hf_index.h"
#include "json_file.h"

void hf_index_free(struct hf_index *ix)
{
    for (size_t i = 0; i < ix->n_shards; i++)
        free(ix->shards[i]);
    free(ix->shards);
    json_decref(ix->root);
    memset(ix, 0, sizeof(*ix));
}

/* A shard name from the index: a plain file name in the model's directory. */
static int shard_name_ok(const char *name)
{
    size_t n = strlen(name), m = strlen(".safetensors");
    return name[0] && name[0] != '.' && !strchr(name, '/') && n > m &&
           !strcmp(name + n - m, ".safetensors");
}

int hf_index_load(const char *index, struct hf_index *out, struct strbuf *err)
{
    memset(out, 0, sizeof(*out));
    if (json_file_load_object(index, &out->root, err) != JSON_FILE_OK)
        return -1;
    out->map = json_object_get(out->root, "weight_map");
    if (!json_is_object(out->map) || json_object_size(out->map) == 0) {
        sb_addf(err, "%s: \"weight_map\" is missing or not a non-empty object", index);
        hf_index_free(out);
        return -1;
    }
    out->shards = xcalloc(json_object_size(out->map) + 1, sizeof(*out->shards));
    const char *key;
    json_t *v;
    json_object_foreach(out->map, key, v) {
        if (!json_is_string(v) || !shard_name_ok(json_string_value(v))) {
            sb_addf(err, "%s: weight_map[\"%s\"] is not a .safetensors file name in the "
                    "model's directory", index, key);
            hf_index_free(out);
            return -1;
        }
        size_t i = 0;
        while (i < out->n_shards && strcmp(out->shards[i], json_string_value(v)) != 0)
            i++;
        if (i == out->n_shards)
            out->shards[out->n_shards++] = xstrdup(json_string_value(v));
    }
    if (out->n_shards > HF_MAX_SHARDS) {
        sb_addf(err, "%s: more than %d shards", index, HF_MAX_SHARDS);
        hf_index_free(out);
        return -1;
    }
    return 0;
}
