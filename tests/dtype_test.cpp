// dtype names, sizes and the exact f16 / bf16 / q8_0 conversions.
#include "core/format/dtype.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/common/status.h"

using namespace mixcon;

namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

TEST(DType, NamesRoundTrip) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0}) {
    DType back;
    ASSERT_TRUE(dtype_from_name(dtype_name(t), &back));
    EXPECT_EQ(back, t);
  }
  DType out;
  EXPECT_FALSE(dtype_from_name("f64", &out));
  EXPECT_FALSE(dtype_from_name("F32", &out));
  EXPECT_STREQ(dtype_name(DType::Q8_0), "q8_0");
}

TEST(DType, RowBytes) {
  EXPECT_EQ(dtype_row_bytes(DType::F32, 10), 40);
  EXPECT_EQ(dtype_row_bytes(DType::F16, 10), 20);
  EXPECT_EQ(dtype_row_bytes(DType::BF16, 3), 6);
  EXPECT_EQ(dtype_row_bytes(DType::Q8_0, 64), 68);
  EXPECT_EQ(dtype_row_bytes(DType::Q8_0, 33), -1);
  EXPECT_EQ(dtype_row_bytes(DType::F32, -1), -1);
  EXPECT_EQ(dtype_row_bytes(DType::F32, std::numeric_limits<int64_t>::max() / 2), -1);
}

TEST(DType, F16EveryBitPatternRoundTrips) {
  // Every finite or infinite f16 converts to f32 exactly and back bit for bit;
  // NaNs stay NaN with the sign kept.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(uint16_t(h));
    const bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
    if (nan) {
      EXPECT_TRUE(std::isnan(f)) << h;
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f)))) << h;
      EXPECT_EQ(f32_to_f16(f) & 0x8000, h & 0x8000);
    } else {
      ASSERT_EQ(f32_to_f16(f), h) << "h=" << h;
    }
  }
}

TEST(DType, F16KnownValues) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);  // below the halfway point to 65536
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // halfway rounds to even: inf
  EXPECT_EQ(f32_to_f16(1e10f), 0x7c00);
  EXPECT_EQ(f32_to_f16(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // halfway to 0: even
  EXPECT_EQ(f32_to_f16(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 ulp: rounds to even 2
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_FLOAT_EQ(f16_to_f32(0x3555), 0.333251953125f);
  // 1 + 2^-11 is halfway between 1 and the next f16: ties go to even (1).
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(DType, F16RoundingMatchesNearestOnRandomValues) {
  std::mt19937 gen(1);
  for (int i = 0; i < 200000; ++i) {
    const float f = from_bits(gen() & 0x7fffffffu);
    if (!std::isfinite(f) || f > 65504.0f) continue;
    const uint16_t h = f32_to_f16(f);
    const float r = f16_to_f32(h);
    // The neighbours of h are no closer to f than h itself.
    const float up = f16_to_f32(uint16_t(h + 1)), down = h > 0 ? f16_to_f32(uint16_t(h - 1)) : -r;
    ASSERT_LE(std::fabs(double(r) - f), std::fabs(double(up) - f)) << f;
    ASSERT_LE(std::fabs(double(r) - f), std::fabs(double(down) - f)) << f;
  }
}

TEST(DType, Bf16) {
  for (uint32_t b = 0; b < 0x10000; ++b) {
    const float f = bf16_to_f32(uint16_t(b));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(f))));
    } else {
      ASSERT_EQ(f32_to_bf16(f), b);
    }
  }
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  // Halfway cases round to even.
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f808000u)), 0x3f80);
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f818000u)), 0x3f82);
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f808001u)), 0x3f81);
  // A NaN whose payload sits only in the low bits must not become inf.
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(from_bits(0x7f800001u)))));
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(f32_to_bf16(from_bits(0x7f7fffffu)), 0x7f80);  // max float rounds up to inf
  EXPECT_EQ(bits(bf16_to_f32(0x0001)), 0x00010000u);       // subnormals are kept
}

TEST(DType, RowsRoundTripThroughEveryDtype) {
  std::vector<float> x(64);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(float(i)) * 3.0f;
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0}) {
    std::vector<uint8_t> buf(size_t(dtype_row_bytes(t, 64)));
    quantize_row(t, x.data(), buf.data(), 64);
    std::vector<float> y(64);
    dequantize_row(t, buf.data(), y.data(), 64);
    const float tol = t == DType::F32 ? 0.0f : t == DType::F16 ? 3e-3f : t == DType::BF16 ? 2e-2f : 3.0f / 127;
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], x[i], tol) << dtype_name(t) << " " << i;
  }
}

TEST(DType, Q8ErrorBound) {
  std::mt19937 gen(3);
  std::uniform_int_distribution<int> exp(-10, 10);
  for (int trial = 0; trial < 500; ++trial) {
    std::vector<float> x(32);
    const float scale = std::ldexp(1.0f, exp(gen));
    for (float& v : x) v = (float(gen()) / 4294967296.0f * 2 - 1) * scale;
    BlockQ8_0 b;
    quantize_row(DType::Q8_0, x.data(), &b, 32);
    float amax = 0;
    for (float v : x) amax = std::max(amax, std::fabs(v));
    const float d = f16_to_f32(b.d);
    EXPECT_EQ(b.d, f32_to_f16(amax / 127.0f));
    std::vector<float> y(32);
    dequantize_row(DType::Q8_0, &b, y.data(), 32);
    for (int i = 0; i < 32; ++i) {
      // Half a step of the f16 scale, plus the clamp at ±127 when d rounded down.
      EXPECT_LE(std::fabs(y[size_t(i)] - x[size_t(i)]), 0.5f * d + amax * 1e-3f) << trial;
      EXPECT_GE(b.qs[i], -127);
    }
  }
  // An all-zero block has scale 0 and decodes to zeros.
  std::vector<float> z(32, 0.0f), back(32, 1.0f);
  BlockQ8_0 b;
  quantize_row(DType::Q8_0, z.data(), &b, 32);
  EXPECT_EQ(b.d, 0);
  dequantize_row(DType::Q8_0, &b, back.data(), 32);
  for (float v : back) EXPECT_EQ(v, 0.0f);
}

TEST(DType, Q8RejectsWhatItCannotHold) {
  std::vector<float> x(32, 1.0f);
  BlockQ8_0 b;
  x[5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(quantize_row(DType::Q8_0, x.data(), &b, 32), Error);
  x[5] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(quantize_row(DType::Q8_0, x.data(), &b, 32), Error);
  x[5] = 1e9f;  // scale beyond f16
  EXPECT_THROW(quantize_row(DType::Q8_0, x.data(), &b, 32), Error);
  std::vector<uint8_t> buf(68);
  try {
    quantize_row(DType::Q8_0, x.data(), buf.data(), 31);
    FAIL() << "31 values accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::InvalidArgument);
  }
}
