/* quant.c - f16, q8_0 and q4_0 encodings of float32 rows (see quant.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "quant.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "quant.c assumes a little-endian host"
#endif

#define Q8_BYTES (2 + QUANT_BLOCK)
#define Q4_BYTES (2 + QUANT_BLOCK / 2)

int quant_parse(const char *name)
{
    return !strcmp(name, "f32") ? QUANT_F32 : !strcmp(name, "f16") ? QUANT_F16
         : !strcmp(name, "q8_0") ? QUANT_Q8_0 : !strcmp(name, "q4_0") ? QUANT_Q4_0 : -1;
}

const char *quant_name(enum quant_type t)
{
    switch (t) {
    case QUANT_F32: return "f32";
    case QUANT_F16: return "f16";
    case QUANT_Q8_0: return "q8_0";
    case QUANT_Q4_0: return "q4_0";
    }
    return "?";
}

int quant_row_ok(enum quant_type t, size_t n)
{
    return (t != QUANT_Q8_0 && t != QUANT_Q4_0) || n % QUANT_BLOCK == 0;
}

size_t quant_row_bytes(enum quant_type t, size_t n)
{
    switch (t) {
    case QUANT_F32: return n * 4;
    case QUANT_F16: return n * 2;
    case QUANT_Q8_0: return n / QUANT_BLOCK * Q8_BYTES;
    case QUANT_Q4_0: return n / QUANT_BLOCK * Q4_BYTES;
    }
    return 0;
}

/* binary16 from binary32, round to nearest even; overflow to infinity, NaN kept. */
uint16_t quant_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, mag = x & 0x7fffffffu;
    if (mag > 0x7f800000u)                       /* NaN: a quiet one */
        return (uint16_t)(sign | 0x7e00u);
    if (mag >= 0x477ff000u)                      /* rounds to 65520 or more: inf */
        return (uint16_t)(sign | 0x7c00u);
    if (mag < 0x38800000u) {                     /* below 2^-14: subnormal or zero */
        if (mag < 0x33000000u)                   /* below half the smallest subnormal */
            return (uint16_t)sign;
        int exp = (int)(mag >> 23);              /* 102..112 */
        uint32_t mant = (mag & 0x7fffffu) | 0x800000u;
        int shift = 126 - exp;                   /* 14..24: to units of 2^-24 */
        uint32_t q = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1)))
            q++;
        return (uint16_t)(sign | q);
    }
    uint32_t exp = (mag >> 23) - 127 + 15, mant = mag & 0x7fffffu;
    uint32_t h = (exp << 10) | (mant >> 13), rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1)))
        h++;                                     /* may carry into the exponent: fine */
    return (uint16_t)(sign | h);
}

float quant_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ffu;
    uint32_t x;
    if (exp == 0x1f) {
        x = sign | 0x7f800000u | (mant << 13);
    } else if (exp == 0) {
        float f = ldexpf((float)mant, -24);
        return sign ? -f : f;
    } else {
        x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

static void put_f16(uint8_t *p, float f)
{
    uint16_t h = quant_f32_to_f16(f);
    memcpy(p, &h, 2);
}

static float get_f16(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return quant_f16_to_f32(h);
}

static void q8_block(const float *x, uint8_t *out)
{
    float amax = 0.0f;
    for (int j = 0; j < QUANT_BLOCK; j++)
        amax = fmaxf(amax, fabsf(x[j]));
    float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    put_f16(out, d);
    for (int j = 0; j < QUANT_BLOCK; j++)
        out[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
}

static void q4_block(const float *x, uint8_t *out)
{
    float amax = 0.0f, m = 0.0f;
    for (int j = 0; j < QUANT_BLOCK; j++) {
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            m = x[j];
        }
    }
    float d = m / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    put_f16(out, d);
    for (int j = 0; j < QUANT_BLOCK / 2; j++) {
        int lo = (int)(int8_t)(x[j] * id + 8.5f), hi = (int)(int8_t)(x[j + 16] * id + 8.5f);
        lo = lo > 15 ? 15 : lo;
        hi = hi > 15 ? 15 : hi;
        out[2 + j] = (uint8_t)((unsigned)lo | ((unsigned)hi << 4));
    }
}

void quant_row(enum quant_type t, const float *x, size_t n, uint8_t *out)
{
    switch (t) {
    case QUANT_F32:
        memcpy(out, x, n * 4);
        break;
    case QUANT_F16:
        for (size_t i = 0; i < n; i++)
            put_f16(out + 2 * i, x[i]);
        break;
    case QUANT_Q8_0:
        for (size_t b = 0; b < n / QUANT_BLOCK; b++)
            q8_block(x + b * QUANT_BLOCK, out + b * Q8_BYTES);
        break;
    case QUANT_Q4_0:
        for (size_t b = 0; b < n / QUANT_BLOCK; b++)
            q4_block(x + b * QUANT_BLOCK, out + b * Q4_BYTES);
        break;
    }
}

void dequant_row(enum quant_type t, const uint8_t *in, size_t n, float *y)
{
    switch (t) {
    case QUANT_F32:
        memcpy(y, in, n * 4);
        break;
    case QUANT_F16:
        for (size_t i = 0; i < n; i++)
            y[i] = get_f16(in + 2 * i);
        break;
    case QUANT_Q8_0:
        for (size_t b = 0; b < n / QUANT_BLOCK; b++) {
            const uint8_t *p = in + b * Q8_BYTES;
            float d = get_f16(p);
            for (int j = 0; j < QUANT_BLOCK; j++)
                y[b * QUANT_BLOCK + (size_t)j] = (float)(int8_t)p[2 + j] * d;
        }
        break;
    case QUANT_Q4_0:
        for (size_t b = 0; b < n / QUANT_BLOCK; b++) {
            const uint8_t *p = in + b * Q4_BYTES;
            float d = get_f16(p);
            float *o = y + b * QUANT_BLOCK;
            for (int j = 0; j < QUANT_BLOCK / 2; j++) {
                o[j] = (float)((p[2 + j] & 0x0f) - 8) * d;
                o[j + 16] = (float)((p[2 + j] >> 4) - 8) * d;
            }
        }
        break;
    }
}

void quant_model_roundtrip(struct model *m, enum quant_type t)
{
    if (t == QUANT_F32)
        return;
    for (int k = 0; k < TK_COUNT; k++) {
        if (k == TK_LM_HEAD && m->cfg.tied_embeddings)
            continue;
        int layers = tensor_kind_is_per_layer((enum tensor_kind)k) ? m->cfg.n_layers : 1;
        for (int l = 0; l < layers; l++) {
            struct tensor_ref r = model_tensor(m, (enum tensor_kind)k, l);
            if (r.cols == 1)
                continue;
            enum quant_type rt = quant_row_ok(t, r.cols) ? t : QUANT_F16;
            uint8_t *buf = xmalloc(quant_row_bytes(rt, r.cols));
            for (size_t i = 0; i < r.rows; i++) {
                quant_row(rt, r.data + i * r.cols, r.cols, buf);
                dequant_row(rt, buf, r.cols, r.data + i * r.cols);
            }
            free(buf);
        }
    }
}
