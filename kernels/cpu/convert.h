// Exact scalar conversions of the stored 16-bit formats to float32, inline so
// the portable kernels can use them inside their loops.
#pragma once

#include <cstdint>
#include <cstring>

namespace mixcon {
namespace cpu {

inline float bits_to_f32(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline float bf16_bits_to_f32(uint16_t b) { return bits_to_f32(static_cast<uint32_t>(b) << 16); }

inline float f16_bits_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return bits_to_f32(sign | 0x7f800000u | (mant << 13));  // inf / NaN
  if (exp != 0) return bits_to_f32(sign | ((exp + 112u) << 23) | (mant << 13));
  if (mant == 0) return bits_to_f32(sign);  // signed zero
  // Subnormal f16: normalise into an f32 normal.
  int e = 113;
  while ((mant & 0x400u) == 0) {
    mant <<= 1;
    --e;
  }
  mant &= 0x3ffu;
  return bits_to_f32(sign | (static_cast<uint32_t>(e) << 23) | (mant << 13));
}

}  // namespace cpu
}  // namespace mixcon
