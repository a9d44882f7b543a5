// The AVX2 counterparts of avx512_math.h, eight lanes at a time: tail masks,
// the 8-way register reduction, and MODEL.md's float math (exp, softplus,
// sigmoid, SiLU) for CPUs with AVX2 and FMA but no AVX-512 (most desktop
// CPUs). Same polynomials and accuracy as avx512_math.h; AVX2 has no
// getexp/getmant/scalef, so exponents are taken and built from the bits.
#pragma once

#include <cstdint>

#include "kernels/cpu/target_region.h"
#include "kernels/cpu/vec_math.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MIXCON_HAVE_AVX2_PATH 1
#define MIXCON_AVX2_FN __attribute__((target("avx2,fma,f16c")))
#define MIXCON_AVX2_INLINE MIXCON_AVX2_FN __attribute__((always_inline)) inline
// As MIXCON_AVX512_REGION_BEGIN (avx512_target.h), for AVX2 and FMA.
#define MIXCON_AVX2_REGION_BEGIN MIXCON_TARGET_REGION_BEGIN("avx2,fma,f16c")

namespace mixcon {
namespace cpu {
namespace avx2 {

// Lanes [0, left) all-ones (as maskload/maskstore want), at most 8.
MIXCON_AVX2_INLINE __m256i tail_mask(int64_t left) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const int32_t n = left >= 8 ? 8 : left <= 0 ? 0 : static_cast<int32_t>(left);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
}

// r[k] = the sum of v[k]'s 8 lanes, for k < 8, by a fixed tree of pairwise
// horizontal adds. Its first step (sum8_pair) can be taken as soon as a pair
// of vectors exists, the rest (sum8_rest) on the 4 results: the same bits.
MIXCON_AVX2_INLINE __m256 sum8_pair(__m256 a, __m256 b) { return _mm256_hadd_ps(a, b); }

MIXCON_AVX2_INLINE __m256 sum8_rest(const __m256* a) {
  // Low half: vectors 0-3 (resp. 4-7) over lanes 0-3; high half: over lanes 4-7.
  const __m256 b0 = _mm256_hadd_ps(a[0], a[1]), b1 = _mm256_hadd_ps(a[2], a[3]);
  return _mm256_add_ps(_mm256_permute2f128_ps(b0, b1, 0x20), _mm256_permute2f128_ps(b0, b1, 0x31));
}

MIXCON_AVX2_INLINE __m256 sum8(const __m256* v) {
  const __m256 a[4] = {sum8_pair(v[0], v[1]), sum8_pair(v[2], v[3]), sum8_pair(v[4], v[5]),
                       sum8_pair(v[6], v[7])};
  return sum8_rest(a);
}

// The sum of v's 8 lanes by a fixed halving tree (8 → 4 → 2 → 1).
MIXCON_AVX2_INLINE float hsum(__m256 v) {
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  return _mm_cvtss_f32(h);
}

// Rows i of r[8] become columns: r[j][i] = old r[i][j] (32-bit lanes, so it
// moves 4-byte groups of int8 as well as floats).
MIXCON_AVX2_INLINE void transpose8(__m256* r) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {
    u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int j = 0; j < 4; ++j) {
    r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
    r[4 + j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
  }
}

// e^x: vec_math.h's clamp, reduction and polynomial, 2^n from the exponent bits.
MIXCON_AVX2_INLINE __m256 exp(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(poly::kExpMin)), _mm256_set1_ps(poly::kExpMax));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(poly::kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(poly::kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(poly::kLn2Lo), r);
  __m256 p = _mm256_set1_ps(poly::kExp[0]);
  for (int i = 1; i < poly::kExpTerms; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(poly::kExp[i]));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

// 2^x with vec_math.h's clamp and polynomial (exp2_approx), 2^n from the exponent bits.
MIXCON_AVX2_INLINE __m256 exp2(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(poly::kExp2Min)), _mm256_set1_ps(poly::kExp2Max));
  const __m256 n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 f = _mm256_sub_ps(x, n);
  __m256 p = _mm256_set1_ps(poly::kExp2[0]);
  for (int i = 1; i < poly::kExp2Terms; ++i) p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(poly::kExp2[i]));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

// Natural log of x ≥ 1 (finite): x = 2^e·m, m in [√½, √2), Cephes' polynomial.
MIXCON_AVX2_INLINE __m256 log_ge1(__m256 x) {
  const __m256i bits = _mm256_castps_si256(x);
  __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127)));
  __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                                 _mm256_set1_epi32(0x3f800000)));  // [1, 2)
  const __m256 big = _mm256_cmp_ps(m, _mm256_set1_ps(poly::kSqrt2), _CMP_GT_OQ);
  m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5f)), big);
  e = _mm256_add_ps(e, _mm256_and_ps(big, _mm256_set1_ps(1.0f)));
  const __m256 f = _mm256_sub_ps(m, _mm256_set1_ps(1.0f));
  const __m256 z = _mm256_mul_ps(f, f);
  __m256 p = _mm256_set1_ps(poly::kLog[0]);
  for (int i = 1; i < poly::kLogTerms; ++i) p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(poly::kLog[i]));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, f), z);
  y = _mm256_fmadd_ps(e, _mm256_set1_ps(poly::kLn2Lo), y);
  y = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), y);
  return _mm256_fmadd_ps(e, _mm256_set1_ps(poly::kLn2Hi), _mm256_add_ps(f, y));
}

// softplus as avx512_math.h: a above 20, else log1p(e^a) with Goldberg's
// correction for the rounding of 1 + e^a.
MIXCON_AVX2_INLINE __m256 softplus(__m256 a) {
  const __m256 w = exp(_mm256_min_ps(a, _mm256_set1_ps(20.0f)));
  const __m256 one_w = _mm256_add_ps(w, _mm256_set1_ps(1.0f));
  const __m256 d = _mm256_sub_ps(one_w, _mm256_set1_ps(1.0f));
  const __m256 exact = _mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_EQ_OQ);
  // Where d == 0 the quotient is never used; divide by 1 there instead.
  const __m256 q = _mm256_div_ps(w, _mm256_blendv_ps(d, _mm256_set1_ps(1.0f), exact));
  __m256 r = _mm256_blendv_ps(_mm256_mul_ps(log_ge1(one_w), q), w, exact);
  return _mm256_blendv_ps(r, a, _mm256_cmp_ps(a, _mm256_set1_ps(20.0f), _CMP_GT_OQ));
}

MIXCON_AVX2_INLINE __m256 sigmoid(__m256 a) {
  return _mm256_div_ps(_mm256_set1_ps(1.0f),
                       _mm256_add_ps(_mm256_set1_ps(1.0f), exp(_mm256_sub_ps(_mm256_setzero_ps(), a))));
}

MIXCON_AVX2_INLINE __m256 silu(__m256 a) { return _mm256_mul_ps(a, sigmoid(a)); }

}  // namespace avx2
}  // namespace cpu
}  // namespace mixcon
#endif  // x86
