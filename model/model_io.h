/*
 * model_io.h - loading a struct model from disk and saving it back.
 *
 * Two input formats, one output format:
 *   - llama2.c legacy "version 0" checkpoints (a `.bin` file: 7 int32 header
 *     fields dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative:
 *     untied, classifier at the end), seq_len; then float32 tensors stacked over
 *     layers, two unused RoPE tables, and the optional classifier). The file size
 *     must match the header exactly. Their wq and wk rows are permuted on load
 *     from llama2.c's adjacent-pair RoPE to mainline's rotate_half convention
 *     (see model.h), so the loaded model is an ordinary Hugging Face-convention
 *     model.
 *   - Hugging Face layout of Llama (rope_scaling llama3 too), Qwen2, Qwen3 and
 *     Mistral (config.json model_type llama, qwen2, qwen3, mistral): a directory
 *     holding config.json and model.safetensors, or, when that is absent, the
 *     shards model.safetensors.index.json's weight_map names; or a `.safetensors`
 *     file, or a `*.safetensors.index.json` (the shards it names), with config.json
 *     beside it: a sweep's base_model names one file, and a sharded model is named
 *     by its index. F32, F16 and BF16 tensors are converted to
 *     float32. Mistral's sliding_window is kept in the config, and sequences
 *     longer than it are refused by the forward and the decoder (sliding-window
 *     attention is not implemented). Unknown model types, MoE, MLP biases, rope
 *     types other than default and llama3 and use_sliding_window are refused
 *     with a message naming config.json and the key.
 * model_save() always writes the Hugging Face layout, which model_load() reads
 * back bit for bit.
 *
 * Errors: functions return 0 or -1 and append a message naming the file to *err.
 * Nothing here prints or exits.
 *
 * Ownership: model_load() fills *m (the caller releases it with model_free());
 * on failure *m is left zeroed. model_save() only reads *m.
 */
#ifndef MAINLINE_MODEL_IO_H
#define MAINLINE_MODEL_IO_H

#include "model.h"
#include "strbuf.h"

/* Values llama2.c checkpoints do not store: what run.c and tok512/tokenizer.bin use.
 * They do not affect the layout, so a caller may overwrite them in m->cfg after
 * model_load(). */
#define LLAMA2C_NORM_EPS 1e-5f
#define LLAMA2C_ROPE_THETA 10000.0f
#define LLAMA2C_BOS_ID 1
#define LLAMA2C_EOS_ID 2

/* Load by format: a path ending in ".bin" is a llama2.c checkpoint, anything else
 * (a directory or a .safetensors file) the Hugging Face layout. */
int model_load(const char *path, struct model *m, struct strbuf *err);
int model_load_llama2c(const char *path, struct model *m, struct strbuf *err);
int model_load_hf(const char *path, struct model *m, struct strbuf *err);

/* Write dir/model.safetensors and dir/config.json (each atomically), creating dir
 * and its parents when missing. config.json names the model's architecture
 * (architectures, model_type) and its options (head_dim, attention_bias,
 * rope_scaling, sliding_window) as Hugging Face reads them. */
int model_save(const char *dir, const struct model *m, struct strbuf *err);

/*
 * The same, merging extra keys into config.json. extra_json is a JSON object in
 * text (NULL for none), typically what model_config_extras() returned for the
 * model this one came from, so keys mainline does not model itself, such as
 * "tokenizer" and "pad_token_id", survive a load/save cycle. A key that
 * model_save() writes itself is refused.
 */
int model_save_extra(const char *dir, const struct model *m, const char *extra_json,
                     struct strbuf *err);

/* Keys of the config.json beside a Hugging Face model that model_save() does not
 * write itself, as a compact JSON object in *json (caller frees); "{}" for a
 * llama2.c checkpoint. */
int model_config_extras(const char *path, char **json, struct strbuf *err);

/* Where the config.json and model.safetensors (or the index or .safetensors file the
 * path names) of a Hugging Face model path are. Caller frees both. */
void model_hf_paths(const char *path, char **config_json, char **safetensors);

#endif
