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

// The constants of e^x and log x, shared by exp_approx and the SIMD paths'
// vector versions (avx2_math.h, avx512_math.h): Cody-Waite reduction by ln 2
// in two parts, Cephes' expf and logf polynomials (highest degree first).
namespace poly {
constexpr float kExpMin = -87.3f, kExpMax = 88.3f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr int kExpTerms = 6;
constexpr float kExp[kExpTerms] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                   4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
constexpr int kLogTerms = 9;
constexpr float kLog[kLogTerms] = {7.0376836292e-2f, -1.1514610310e-1f, 1.1676998740e-1f,
                                   -1.2420140846e-1f, 1.4249322787e-1f, -1.6668057665e-1f,
                                   2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f};
constexpr float kSqrt2 = 1.41421356237f;  // log reduces the mantissa to [√½, √2)
// 2^x for the Conba scan's decay: x = n + f, n the nearest integer, and a
// degree-5 polynomial for 2^f on [-½, ½] (fitted here for the least maximum
// relative error: 1.9e-7 evaluated in float). The scan computes
// e^(Δ·A) as 2^((Δ·log2 e)·A): Δ·log2 e is one product per channel and
// token, so each of the N state values costs one multiply and this — a third
// fewer vector operations than e^x's Cody-Waite reduction.
constexpr float kExp2Min = -126.0f, kExp2Max = 127.0f;  // 2^x stays a normal float
constexpr int kExp2Terms = 6;
constexpr float kExp2[kExp2Terms] = {1.326472731307149e-3f, 9.671512991189957e-3f,
                                     5.550733581185341e-2f, 2.4022242426872253e-1f,
                                     6.931470036506653e-1f, 1.0f};
}  // namespace poly

// e^x, x clamped to [-87.3, 88.3] (results below 2^-126 flush to about
// 1e-38, never to a denormal; above, 2^127.4 instead of inf). Cody-Waite
// reduction x = n·ln2 + r, Cephes' degree-6 polynomial for e^r, 2^n by
// building the exponent bits.
__attribute__((always_inline)) inline float exp_approx(float x) {
  x = x < poly::kExpMin ? poly::kExpMin : x;
  x = x > poly::kExpMax ? poly::kExpMax : x;
  // Round x·log2(e) to nearest by the 1.5·2^23 trick (no rint call).
  const float shift = 12582912.0f;
  const float n = (x * poly::kLog2e + shift) - shift;
  float r = x - n * poly::kLn2Hi;
  r = r - n * poly::kLn2Lo;
  float p = poly::kExp[0];
  for (int i = 1; i < poly::kExpTerms; ++i) p = p * r + poly::kExp[i];
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// 2^x, x clamped to [-126, 127] (poly::kExp2 above; the same steps as the
// vector versions in avx2_math.h and avx512_math.h).
__attribute__((always_inline)) inline float exp2_approx(float x) {
  x = x < poly::kExp2Min ? poly::kExp2Min : x;
  x = x > poly::kExp2Max ? poly::kExp2Max : x;
  const float shift = 12582912.0f;  // rounds to nearest even, as the vector roundings
  const float n = (x + shift) - shift;
  const float f = x - n;
  float p = poly::kExp2[0];
  for (int i = 1; i < poly::kExp2Terms; ++i) p = p * f + poly::kExp2[i];
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

}  // namespace cpu
}  // namespace mixcon
