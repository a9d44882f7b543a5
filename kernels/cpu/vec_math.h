// Branch-free float math that the compiler can vectorize inside plain loops
// (glibc's expf is a scalar call, and the Conba scan needs D·N of them per
// token). Accuracy: within 2 ulp of expf over the whole clamped range, far
// below the 1e-4 relative tolerance of MODEL.md §5; tested against exp() in
// kernels_cpu_test.
#pragma once

#include <cstdint>
#include <cstring>

namespace mixcon {
namespace cpu {

// e^x, x clamped to [-87.3, 88.3] (results below 2^-126 flush to about
// 1e-38, never to a denormal; above, 2^127.4 instead of inf). Cody-Waite
// reduction x = n·ln2 + r, Cephes' degree-6 polynomial for e^r, 2^n by
// building the exponent bits.
__attribute__((always_inline)) inline float exp_approx(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;
  // Round x·log2(e) to nearest by the 1.5·2^23 trick (no rint call).
  const float shift = 12582912.0f;
  const float n = (x * 1.44269504088896341f + shift) - shift;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

}  // namespace cpu
}  // namespace mixcon
