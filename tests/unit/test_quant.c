/* test_quant.c - model/quant.c: binary16 rounding, the q8_0 and q4_0 blocks byte for
 * byte on hand-made values (the layouts ggml defines), round trips within their error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"
#include "testhelp.h"

static void test_f16(void)
{
    CHECK_INT(quant_f32_to_f16(0.0f), 0x0000);
    CHECK_INT(quant_f32_to_f16(-0.0f), 0x8000);
    CHECK_INT(quant_f32_to_f16(1.0f), 0x3c00);
    CHECK_INT(quant_f32_to_f16(-2.0f), 0xc000);
    CHECK_INT(quant_f32_to_f16(65504.0f), 0x7bff);
    CHECK_INT(quant_f32_to_f16(65520.0f), 0x7c00);        /* rounds to infinity */
    CHECK_INT(quant_f32_to_f16(1e-8f), 0x0000);           /* below half a subnormal */
    CHECK_INT(quant_f32_to_f16(5.9604645e-8f), 0x0001);   /* 2^-24, the smallest subnormal */
    CHECK_INT(quant_f32_to_f16(6.1035156e-5f), 0x0400);   /* 2^-14, the smallest normal */
    /* ties to even: 1 + 2^-11 is halfway between 1 and 1 + 2^-10 */
    CHECK_INT(quant_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);
    CHECK_INT(quant_f32_to_f16(1.0f + 0x1p-11f + 0x1p-10f), 0x3c02);
    CHECK_INT(quant_f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);
    for (uint32_t h = 0; h < 0x7c00; h++)                 /* every finite value round trips */
        if (quant_f32_to_f16(quant_f16_to_f32((uint16_t)h)) != h) {
            CHECK(!"f16 round trip");
            break;
        }
    CHECK(quant_f16_to_f32(0x0001) == 0x1p-24f);
}

static void test_q8_0(void)
{
    float x[32];
    uint8_t b[34];
    for (int i = 0; i < 32; i++)
        x[i] = (float)(i - 16) / 16.0f;                    /* -1 .. 0.9375 */
    quant_row(QUANT_Q8_0, x, 32, b);
    CHECK_INT(quant_row_bytes(QUANT_Q8_0, 64), 68);
    uint16_t d;
    memcpy(&d, b, 2);
    CHECK_INT(d, quant_f32_to_f16(1.0f / 127.0f));
    CHECK_INT((int8_t)b[2], -127);                         /* x[0] = -1 */
    CHECK_INT((int8_t)b[2 + 16], 0);
    CHECK_INT((int8_t)b[2 + 24], 64);                      /* 0.5 * 127 = 63.5: away from 0 */
    float y[32];
    dequant_row(QUANT_Q8_0, b, 32, y);
    for (int i = 0; i < 32; i++)
        CHECK_NEAR(y[i], x[i], 0.5 / 127 + 1e-3);
    memset(x, 0, sizeof(x));
    quant_row(QUANT_Q8_0, x, 32, b);
    dequant_row(QUANT_Q8_0, b, 32, y);
    CHECK(y[5] == 0.0f && b[0] == 0 && b[1] == 0);
}

static void test_q4_0(void)
{
    float x[32];
    uint8_t b[18];
    for (int i = 0; i < 32; i++)
        x[i] = 0.0f;
    x[0] = -8.0f;                                          /* the largest magnitude: d = 1 */
    x[1] = 7.0f;
    x[16] = 3.0f;
    x[17] = 7.6f;                                          /* 7.6 + 8.5 = 16.1: clamped to 15 */
    quant_row(QUANT_Q4_0, x, 32, b);
    CHECK_INT(quant_row_bytes(QUANT_Q4_0, 32), 18);
    uint16_t d;
    memcpy(&d, b, 2);
    CHECK_INT(d, 0x3c00);                                  /* -8 / -8 = 1 */
    CHECK_INT(b[2] & 0x0f, 0);                             /* value 0 in byte 0's low nibble */
    CHECK_INT(b[2] >> 4, 11);                              /* value 16 in its high nibble */
    CHECK_INT(b[3] & 0x0f, 15);
    CHECK_INT(b[3] >> 4, 15);
    CHECK_INT(b[4], 0x88);                                 /* zeros are 8 */
    float y[32];
    dequant_row(QUANT_Q4_0, b, 32, y);
    CHECK(y[0] == -8.0f && y[1] == 7.0f && y[16] == 3.0f && y[17] == 7.0f && y[2] == 0.0f);
    /* a positive maximum: d is negative, and the maximum decodes exactly */
    for (int i = 0; i < 32; i++)
        x[i] = (float)i / 10.0f;
    quant_row(QUANT_Q4_0, x, 32, b);
    dequant_row(QUANT_Q4_0, b, 32, y);
    CHECK_NEAR(y[31], 3.1, 1e-3);
    for (int i = 0; i < 32; i++)
        CHECK_NEAR(y[i], x[i], 3.1 / 8 / 2 + 1e-3);
}

static void test_names(void)
{
    CHECK_INT(quant_parse("q4_0"), QUANT_Q4_0);
    CHECK_INT(quant_parse("q8_0"), QUANT_Q8_0);
    CHECK_INT(quant_parse("Q8_0"), -1);
    CHECK_STR(quant_name(QUANT_F16), "f16");
    CHECK(quant_row_ok(QUANT_Q4_0, 64) && !quant_row_ok(QUANT_Q8_0, 172) &&
          quant_row_ok(QUANT_F16, 172));
}

int main(void)
{
    TEST(test_f16);
    TEST(test_q8_0);
    TEST(test_q4_0);
    TEST(test_names);
    return test_report();
}
