/*
 * gguf_read.h - a GGUF file as a mainline model and tokenizer, for the built-in
 * evaluator: what gguf_write.c writes (gguf.h), and llama.cpp files of the same shape.
 *
 * Supported: GGUF v2 and v3, general.architecture "llama" (no rope scaling, no
 * experts, head size = embedding_length / head_count), tensors under llama.cpp's
 * names (gguf.h) in f32, f16, q8_0 or q4_0, output.weight absent meaning tied
 * embeddings; tokenizer.ggml.model "llama" in the two shapes gguf_write.c writes: a
 * SentencePiece vocabulary (add_space_prefix true: a llama2.c tokenizer, U+2581 read
 * back as spaces, BOS and EOS as llama2.c spells them, "\n<s>\n" and "\n</s>\n") and
 * mainline's byte vocabulary (ids 0..255 the BYTE tokens <0xNN>, the space as U+2581,
 * no space prefix). Anything else (another architecture or tokenizer model, another
 * tensor type, an unknown or missing tensor, a wrong shape) is refused with a message
 * naming the file and the key or tensor.
 *
 * The q and k rows, which the file holds permuted to llama.cpp's adjacent-pair RoPE,
 * are permuted back to mainline's rotate_half order (the inverse of gguf.h's).
 *
 * Weights: every tensor is decoded into the model's float32 slab (what training code,
 * the batched forward and LoRA merges read); 2-D weights stored q8_0 or q4_0 are also
 * kept in their blocks in m->qw (model.h), which the KV-cache decoder multiplies by
 * directly (qmatmul.h), so decoding runs on the file's own format.
 *
 * Errors: functions return 0 (or a count) or -1 with a message in *err; nothing prints
 * or exits. Ownership: model_load_gguf() fills *m (release with model_free(), which
 * frees m->qw too; zeroed on failure); tokenizer_load_gguf() fills *tok (release with
 * tokenizer_free()). The file is mapped only during the call.
 */
#ifndef MAINLINE_GGUF_READ_H
#define MAINLINE_GGUF_READ_H

#include "model.h"
#include "strbuf.h"
#include "tokenizer.h"

/* 1 when path is a GGUF file: its name ends in ".gguf" or it starts with "GGUF". */
int gguf_is_file(const char *path);

int model_load_gguf(const char *path, struct model *m, struct strbuf *err);

/* The vocabulary of a GGUF file (for a model of vocab_size ids: it must match). */
int tokenizer_load_gguf(const char *path, int vocab_size, struct tokenizer *tok,
                        struct strbuf *err);

#endif
