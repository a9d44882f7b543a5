#include "core/format/dtype.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "core/common/status.h"

namespace mixcon {

namespace {

uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float bits_f32(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::Q8_0: return "q8_0";
  }
  return "unknown";
}

bool dtype_from_name(const std::string& name, DType* out) {
  static const DType all[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0};
  for (DType t : all) {
    if (name == dtype_name(t)) {
      if (out) *out = t;
      return true;
    }
  }
  return false;
}

int64_t dtype_row_bytes(DType t, int64_t n) {
  if (n < 0) return -1;
  const int64_t max = std::numeric_limits<int64_t>::max();
  switch (t) {
    case DType::F32: return n > max / 4 ? -1 : n * 4;
    case DType::F16:
    case DType::BF16: return n > max / 2 ? -1 : n * 2;
    case DType::Q8_0: {
      if (n % kQ8BlockValues != 0) return -1;
      const int64_t blocks = n / kQ8BlockValues;
      return blocks > max / int64_t(sizeof(BlockQ8_0)) ? -1 : blocks * int64_t(sizeof(BlockQ8_0));
    }
  }
  return -1;
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t mant = h & 0x3ff;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24 is exact in binary32.
    const float v = std::ldexp(float(mant), -24);
    return bits_f32(f32_bits(v) | sign);
  }
  if (exp == 31) return bits_f32(sign | 0x7f800000u | (mant << 13));
  return bits_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t f32_to_f16(float f) {
  const uint32_t x = f32_bits(f);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000);
  uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) {
    // NaN keeps its top payload bits and is forced quiet, so it never becomes inf.
    if (ax > 0x7f800000u) return uint16_t(sign | 0x7e00 | ((ax >> 13) & 0x3ff));
    return uint16_t(sign | 0x7c00);
  }
  if (ax >= 0x477ff000u) return uint16_t(sign | 0x7c00);  // >= 65520 rounds to inf
  if (ax < 0x38800000u) {
    // Below the smallest normal (2^-14): adding 0.5 puts the value in the low
    // mantissa bits with an ulp of 2^-24, and the FPU rounds to nearest even.
    const float t = bits_f32(ax) + 0.5f;
    return uint16_t(sign | (f32_bits(t) - 0x3f000000u));
  }
  const uint32_t odd = (ax >> 13) & 1;
  ax += (uint32_t(15 - 127) << 23) + 0xfff + odd;
  return uint16_t(sign | (ax >> 13));
}

float bf16_to_f32(uint16_t b) { return bits_f32(uint32_t(b) << 16); }

uint16_t f32_to_bf16(float f) {
  const uint32_t x = f32_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 0x0040);  // quiet NaN
  return uint16_t((x + 0x7fffu + ((x >> 16) & 1)) >> 16);
}

void dequantize_row(DType t, const void* src, float* dst, int64_t n) {
  switch (t) {
    case DType::F32:
      std::memcpy(dst, src, size_t(n) * 4);
      return;
    case DType::F16: {
      const uint16_t* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      return;
    }
    case DType::BF16: {
      const uint16_t* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    case DType::Q8_0: {
      // Blocks are read with memcpy: a 34-byte block has no alignment guarantee.
      const uint8_t* s = static_cast<const uint8_t*>(src);
      for (int64_t b = 0; b < n / kQ8BlockValues; ++b) {
        BlockQ8_0 blk;
        std::memcpy(&blk, s + b * int64_t(sizeof(BlockQ8_0)), sizeof(BlockQ8_0));
        const float d = f16_to_f32(blk.d);
        for (int64_t i = 0; i < kQ8BlockValues; ++i) dst[b * kQ8BlockValues + i] = d * float(blk.qs[i]);
      }
      return;
    }
  }
}

void quantize_row(DType t, const float* src, void* dst, int64_t n) {
  switch (t) {
    case DType::F32:
      std::memcpy(dst, src, size_t(n) * 4);
      return;
    case DType::F16: {
      uint16_t* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_f16(src[i]);
      return;
    }
    case DType::BF16: {
      uint16_t* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = f32_to_bf16(src[i]);
      return;
    }
    case DType::Q8_0: {
      if (n % kQ8BlockValues != 0)
        fail(Status::InvalidArgument, "quantize_row: q8_0 needs a multiple of 32 values, got " + std::to_string(n));
      uint8_t* out = static_cast<uint8_t*>(dst);
      for (int64_t b = 0; b < n / kQ8BlockValues; ++b) {
        const float* x = src + b * kQ8BlockValues;
        float amax = 0.0f;
        bool finite = true;
        for (int64_t i = 0; i < kQ8BlockValues; ++i) {
          finite = finite && std::isfinite(x[i]);
          amax = std::fmax(amax, std::fabs(x[i]));
        }
        // A scale beyond f16's range (or a non-finite value) cannot be stored:
        // refuse instead of writing inf/NaN weights.
        if (!finite || amax / 127.0f > 65504.0f)
          fail(Status::InvalidArgument, "quantize_row: value out of q8_0 range in block " + std::to_string(b));
        BlockQ8_0 blk;
        blk.d = f32_to_f16(amax / 127.0f);
        const float d = f16_to_f32(blk.d);
        for (int64_t i = 0; i < kQ8BlockValues; ++i) {
          // roundf (halves away from zero), as ggml and tools/mixcon_tools/dtypes.py;
          // clamped because d was rounded to f16.
          float q = d == 0.0f ? 0.0f : std::round(x[i] / d);
          q = std::fmin(127.0f, std::fmax(-127.0f, q));
          blk.qs[i] = int8_t(q);
        }
        std::memcpy(out + b * int64_t(sizeof(BlockQ8_0)), &blk, sizeof(BlockQ8_0));
      }
      return;
    }
  }
}

}  // namespace mixcon
