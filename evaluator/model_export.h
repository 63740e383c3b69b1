/*
 * model_export.h - a base model with a checkpoint applied (weights.h: a LoRA
 * adapter merged, changed tensors replaced) written in the formats people deploy:
 *
 *   EXPORT_HF      a Hugging Face model directory (config.json, model.safetensors,
 *                  the llama2.c tokenizer file copied or "tokenizer": "bytes"),
 *                  written by the trainer's export_model_dir() (trainer/export.h):
 *                  anything mainline loads as a base model loads it. With a
 *                  --quant other than f32 the weights are what that GGUF type
 *                  decodes to (quant_model_roundtrip()), still stored float32:
 *                  the quantised model, for the built-in evaluator.
 *   EXPORT_GGUF    one GGUF v3 file for llama.cpp (model/gguf.h) in f32, f16,
 *                  q8_0 or q4_0, with the rendering contract as its chat template
 *                  (export_chat_template()) when the request has one.
 *   EXPORT_OLLAMA  a directory holding model.gguf and a Modelfile whose TEMPLATE,
 *                  SYSTEM and stop parameters come from the sweep's frozen rendering
 *                  contract (common/render.h), so the deployed model is prompted
 *                  as it was evaluated (export_modelfile()).
 *
 * Every output is built under a temporary name (a file beside OUT, or the
 * directory OUT.tmp.<pid>), fsynced and renamed to OUT: OUT is absent or
 * complete. OUT must not exist: an export never replaces anything.
 *
 * Errors: functions return 0 or -1 and append one message (naming the file) to
 * *err; nothing here prints or exits.
 *
 * Ownership: requests and contracts are borrowed; export_modelfile() appends to
 * the caller's strbuf.
 */
#ifndef MAINLINE_EVALUATOR_MODEL_EXPORT_H
#define MAINLINE_EVALUATOR_MODEL_EXPORT_H

#include "gguf.h"
#include "render.h"
#include "strbuf.h"

enum export_format { EXPORT_HF, EXPORT_GGUF, EXPORT_OLLAMA };

/* "hf", "gguf", "ollama" -> format; -1 when unknown. */
int export_format_parse(const char *name);

/* How the sweep prompted the model: its frozen rendering contract and evaluation. */
struct export_prompting {
    enum render_template tmpl;
    const char *system;              /* NULL: no system prompt */
    const char *const *stop;         /* the evaluation's stop strings */
    size_t n_stop;
    int max_new_tokens;              /* 0: not declared */
};

struct export_request {
    const char *base_model;          /* a path model_load() reads */
    const char *checkpoint;          /* a step directory, or NULL for the base model */
    enum export_format format;
    enum quant_type quant;           /* gguf, ollama; hf: the weights rounded through it */
    const char *out;
    const char *name;                /* general.name and the Modelfile's header; may be NULL */
    const struct export_prompting *prompting;   /* NULL: none declared (plain in a
                                                   Modelfile, the base model's own chat
                                                   template in a GGUF) */
};

struct export_result {
    struct gguf_info gguf;           /* gguf and ollama */
    unsigned long long bytes;        /* of everything written */
    double seconds;                  /* loading, merging and writing */
};

int model_export(const struct export_request *rq, struct export_result *res,
                 struct strbuf *err);

/*
 * The rendering contract as a Jinja chat template (a GGUF's tokenizer.chat_template,
 * what llama.cpp formats chats with): messages rendered turn by turn as
 * common/render.c renders a row's "messages" (the contract's system prompt first
 * unless the first message is a system message), and for chatml the assistant
 * header when add_generation_prompt. No BOS: llama.cpp adds it. A system prompt
 * holding Jinja syntax ({{, {%, {#) is refused: -1 with a message.
 */
int export_chat_template(const struct export_prompting *p, struct strbuf *out,
                         struct strbuf *err);

/*
 * The Modelfile for gguf_file (a name relative to the Modelfile), in the grammar
 * of Ollama's Modelfile reference: FROM, TEMPLATE (Go template syntax, .System and
 * .Prompt placed exactly where the render contract places the system prompt and
 * the user's text), SYSTEM, PARAMETER temperature 0 (mainline decodes greedily),
 * num_predict, num_ctx and a stop line per stop string. A text Ollama could not
 * read back as it is (a quoted value holding three double quotes or a control
 * character other than newline and tab) is refused: -1 with a message.
 */
int export_modelfile(const struct export_prompting *p, const char *gguf_file, int num_ctx,
                     const char *header, struct strbuf *out, struct strbuf *err);

#endif
