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

inline uint32_t f32_to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// Without branches (selects only), so the portable loops that call it per
// value vectorize: with the former branchy version (subnormals normalised in
// a loop) the portable f16 and q8_0 decode products ran at 0.02-0.04 of the
// bandwidth bound (x86 with SIMD off; what a CPU without an own kernel path,
// e.g. arm64, runs). Exponent and mantissa move into float32 position and
// the exponent is rebiased (15 -> 127; inf/NaN to 255, mantissa kept); a
// subnormal or zero becomes 2^-14·(1 + m/1024) - 2^-14 = m·2^-24, a
// difference of normal floats that is exact, so a host that flushes
// subnormal inputs to zero (DAZ) gets the same values.
inline float f16_bits_to_f32(uint16_t h) {
  const uint32_t shifted = static_cast<uint32_t>(h & 0x7fffu) << 13;
  const uint32_t exp = shifted & 0x0f800000u;
  const uint32_t rebias = exp == 0x0f800000u ? 0x70000000u : exp == 0 ? 0x38800000u : 0x38000000u;
  const float rebased = bits_to_f32(shifted + rebias);
  const float magnitude = exp == 0 ? rebased - bits_to_f32(0x38800000u) : rebased;
  return bits_to_f32(f32_to_bits(magnitude) | (static_cast<uint32_t>(h & 0x8000u) << 16));
}

}  // namespace cpu
}  // namespace mixcon
