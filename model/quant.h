/*
 * quant.h - float32 weights into the storage formats llama.cpp (ggml) defines, for
 * the GGUF writer (gguf.h). The block layouts, as ggml defines them:
 *
 *   f16   IEEE 754 binary16, rounded to nearest, ties to even.
 *   q8_0  blocks of 32 values: an f16 scale d = max|x| / 127, then 32 int8
 *         q = round(x / d) (half away from zero). 34 bytes a block.
 *   q4_0  blocks of 32 values: an f16 scale d = m / -8, where m is the value of
 *         largest magnitude (with its sign), then 16 bytes of 4-bit q =
 *         min(15, trunc(x / d + 8.5)); byte j holds value j in its low nibble and
 *         value j + 16 in its high nibble. 18 bytes a block.
 *
 * A block of zeros has d = 0 and decodes to zeros. Row lengths of q8_0 and q4_0
 * must be multiples of QUANT_BLOCK (quant_row_ok()).
 *
 * Ownership: every function writes into the caller's buffers; nothing allocates.
 */
#ifndef MAINLINE_QUANT_H
#define MAINLINE_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define QUANT_BLOCK 32

/* The formats, numbered as ggml numbers its types (GGUF tensor infos store them). */
enum quant_type {
    QUANT_F32 = 0,
    QUANT_F16 = 1,
    QUANT_Q4_0 = 2,
    QUANT_Q8_0 = 8,
};

/* "f32", "f16", "q8_0", "q4_0" -> type; -1 when unknown. */
int quant_parse(const char *name);
const char *quant_name(enum quant_type t);

/* 1 when rows of n values can be stored as t (q8_0, q4_0: n a multiple of 32). */
int quant_row_ok(enum quant_type t, size_t n);

/* Bytes a row of n values takes as t (n as quant_row_ok() allows). */
size_t quant_row_bytes(enum quant_type t, size_t n);

uint16_t quant_f32_to_f16(float f);
float quant_f16_to_f32(uint16_t h);

/* Encode n values of x as t into out (quant_row_bytes(t, n) bytes, little-endian). */
void quant_row(enum quant_type t, const float *x, size_t n, uint8_t *out);

/* Decode a row back into float32 (what llama.cpp computes with). */
void dequant_row(enum quant_type t, const uint8_t *in, size_t n, float *y);

/*
 * Round every weight of m through type t and back, as a GGUF file of that type
 * stores it (gguf.h: 2-D tensors in t when their rows allow, else f16; the norms
 * f32 untouched): the float32 model llama.cpp's weights decode to. What the built-in
 * evaluator measures a quantised model with (`mainline export --format hf --quant`).
 */
void quant_model_roundtrip(struct model *m, enum quant_type t);

#endif
