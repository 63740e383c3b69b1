/*
 * gguf.h - a mainline model as a GGUF v3 file for llama.cpp (and so Ollama, LM
 * Studio...): architecture "llama", its hyperparameters under llama.*, the
 * tokenizer, and the tensors under llama.cpp's names (token_embd.weight,
 * blk.N.attn_q.weight, ..., output_norm.weight, output.weight when untied).
 *
 * What the file holds, and why:
 *   - q and k rows are permuted per head back from mainline's rotate_half RoPE
 *     convention (model.h) to the adjacent-pair rotation llama.cpp's llama
 *     architecture applies: new row 2i = old row i, new row 2i+1 = old row
 *     HS/2 + i (what llama.cpp's own converter does to Hugging Face weights).
 *   - A llama2.c (SentencePiece) vocabulary is tokenizer.ggml.model "llama" with
 *     its pieces (spaces as U+2581), scores and token types (<unk> UNKNOWN,
 *     BOS/EOS CONTROL, <0xNN> BYTE, the rest NORMAL), a space prefix as run.c
 *     adds one.
 *   - A byte-level vocabulary (ids 0..255 the bytes) is a "llama" vocabulary too,
 *     with no space prefix and no merges: every byte is the BYTE token <0xNN>,
 *     except the space, which is the NORMAL token U+2581 (llama.cpp writes spaces
 *     as U+2581 before looking pieces up); BOS, EOS and PAD are CONTROL tokens
 *     <s>, </s>, <pad>, and any other id an UNUSED <unusedN>. llama.cpp then
 *     tokenizes text into the same ids as mainline -- except text holding U+2581
 *     itself, which llama.cpp reads as a space (a space in mainline's ids).
 *   - Tensors: 1-D (the norms) always f32; 2-D in the type asked for, except
 *     that q8_0 and q4_0 need rows whose length is a multiple of 32: other
 *     tensors are written f16 and counted in gguf_info.kept.
 *
 * The file is written under a temporary name beside path, fsynced and renamed
 * (atomic_file, fsutil.h): path is either absent, an older file, or complete.
 *
 * Errors: gguf_write_model() returns 0 or -1 with one message naming the file
 * in *err; nothing here prints or exits.
 *
 * Ownership: everything passed in is borrowed; *info is filled by the call.
 */
#ifndef MAINLINE_GGUF_H
#define MAINLINE_GGUF_H

#include <stddef.h>

#include "model.h"
#include "quant.h"
#include "strbuf.h"
#include "tokenizer.h"

#define GGUF_VERSION 3
#define GGUF_ALIGNMENT 32

struct gguf_options {
    enum quant_type quant;       /* the type of the 2-D tensors */
    const char *name;            /* general.name; NULL: "mainline" */
    const char *chat_template;   /* tokenizer.chat_template (Jinja); NULL: none */
};

struct gguf_info {
    size_t tensors;              /* tensors written */
    size_t quantized;            /* 2-D tensors in the asked type */
    size_t kept;                 /* 2-D tensors written f16 instead (rows not a multiple of 32) */
    char kept_example[96];       /* the first such tensor's name, "" when none */
    unsigned long long bytes;    /* size of the file */
};

/* Write m and tok (a llama2.c or byte-level tokenizer of m's vocabulary) as GGUF. */
int gguf_write_model(const char *path, const struct model *m, const struct tokenizer *tok,
                     const struct gguf_options *opt, struct gguf_info *info,
                     struct strbuf *err);

/* The llama.cpp name of a tensor ("blk.3.attn_q.weight") into buf. */
void gguf_tensor_name(enum tensor_kind k, int layer, char *buf, size_t len);

#endif
