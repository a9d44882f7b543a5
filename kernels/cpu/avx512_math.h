// Vector helpers the AVX-512 kernel files share: masks for tails, the
// 16-way register reduction, and the float math of MODEL.md (exp, softplus,
// sigmoid, SiLU) sixteen lanes at a time; defined where avx512_target.h
// defines MIXCON_HAVE_AVX512_PATH.
//
// Accuracy: exp within 2 ulp of expf (vec_math.h's reduction and polynomial,
// with fused multiply-adds); log within 2 ulp of logf (Cephes' logf
// polynomial); softplus keeps full relative accuracy for very negative
// inputs (log1p through Goldberg's correction, not log(1 + e^a)).
#pragma once

#include <cstdint>

#include "kernels/cpu/vec_math.h"

#include "kernels/cpu/avx512_target.h"

#ifdef MIXCON_HAVE_AVX512_PATH
namespace mixcon {
namespace cpu {
namespace avx512 {

// Lanes [0, left) set, at most 16.
MIXCON_AVX512_INLINE __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? __mmask16(0xffff) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1u);
}

// The sum of v's 16 lanes by a fixed halving tree (16 → 8 → 4 → 2 → 1).
MIXCON_AVX512_INLINE float hsum(__m512 v) {
  const __m256 lo = _mm512_castps512_ps256(v);
  const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
  const __m256 a = _mm256_add_ps(lo, hi);
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  b = _mm_add_ss(b, _mm_movehdup_ps(b));
  return _mm_cvtss_f32(b);
}

// r[k] = the sum of v[k]'s 16 lanes, for k < 16: the pairs of vectors are
// folded by halves (256-bit, then 128-bit blocks, then within blocks), so
// the 16 sums come out together after 15 adds instead of 16 separate
// horizontal reductions. The order of the adds is fixed. Its first step
// (sum16_pair, 8 partials each of two vectors) can be taken as soon as a
// pair exists, the rest (sum16_rest) on the 8 results: the same bits.
MIXCON_AVX512_INLINE __m512 sum16_pair(__m512 a, __m512 b) {
  return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
}

MIXCON_AVX512_INLINE __m512 sum16_rest(const __m512* w) {
  __m512 z[4], g[2];
  for (int i = 0; i < 4; ++i)  // z[i]: 4 partials each of vectors 4i .. 4i+3
    z[i] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * i], w[2 * i + 1], 0x88),
                         _mm512_shuffle_f32x4(w[2 * i], w[2 * i + 1], 0xDD));
  for (int i = 0; i < 2; ++i)  // block L of g[i]: 2 partials of vectors 8i+L, 8i+4+L
    g[i] = _mm512_add_ps(_mm512_shuffle_ps(z[2 * i], z[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(z[2 * i], z[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  // Block L: vectors L, 4+L, 8+L, 12+L; lane 4L+m holds vector 4m+L.
  const __m512 r = _mm512_add_ps(_mm512_shuffle_ps(g[0], g[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_ps(g[0], g[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_ps(order, r);
}

MIXCON_AVX512_INLINE __m512 sum16(const __m512* v) {
  __m512 w[8];
  for (int i = 0; i < 8; ++i) w[i] = sum16_pair(v[2 * i], v[2 * i + 1]);
  return sum16_rest(w);
}

// Rows i of r[16] become columns: r[j][i] = old r[i][j] (32-bit lanes, so
// it moves 4-byte groups of int8 as well as floats).
MIXCON_AVX512_INLINE void transpose16(__m512* r) {
  __m512 t[16], u[16], v[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    u[4 * i + 0] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
#pragma GCC unroll 2
  for (int i = 0; i < 2; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      v[8 * i + j] = _mm512_shuffle_f32x4(u[8 * i + j], u[8 * i + 4 + j], 0x88);
      v[8 * i + 4 + j] = _mm512_shuffle_f32x4(u[8 * i + j], u[8 * i + 4 + j], 0xDD);
    }
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
    r[j] = _mm512_shuffle_f32x4(v[j], v[8 + j], 0x88);
    r[8 + j] = _mm512_shuffle_f32x4(v[j], v[8 + j], 0xDD);
  }
}

// e^x with vec_math.h's clamp, Cody-Waite reduction and polynomial; 2^n is
// applied by scalef (no exponent-bit building).
MIXCON_AVX512_INLINE __m512 exp(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(poly::kExpMin)), _mm512_set1_ps(poly::kExpMax));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(poly::kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(poly::kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(poly::kLn2Lo), r);
  __m512 p = _mm512_set1_ps(poly::kExp[0]);
  for (int i = 1; i < poly::kExpTerms; ++i) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(poly::kExp[i]));
  p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

// 2^x with vec_math.h's clamp and polynomial (exp2_approx); 2^n by scalef.
MIXCON_AVX512_INLINE __m512 exp2(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(poly::kExp2Min)), _mm512_set1_ps(poly::kExp2Max));
  const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(x, n);
  __m512 p = _mm512_set1_ps(poly::kExp2[0]);
  for (int i = 1; i < poly::kExp2Terms; ++i) p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(poly::kExp2[i]));
  return _mm512_scalef_ps(p, n);
}

// Natural log of x ≥ 1 (what softplus needs; finite, not NaN): x = 2^e·m
// with m in [√½, √2), log(m) by Cephes' polynomial in f = m - 1.
MIXCON_AVX512_INLINE __m512 log_ge1(__m512 x) {
  __m512 e = _mm512_getexp_ps(x);
  __m512 m = _mm512_getmant_ps(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
  const __mmask16 big = _mm512_cmp_ps_mask(m, _mm512_set1_ps(poly::kSqrt2), _CMP_GT_OQ);
  m = _mm512_mask_mul_ps(m, big, m, _mm512_set1_ps(0.5f));
  e = _mm512_mask_add_ps(e, big, e, _mm512_set1_ps(1.0f));
  const __m512 f = _mm512_sub_ps(m, _mm512_set1_ps(1.0f));
  const __m512 z = _mm512_mul_ps(f, f);
  __m512 p = _mm512_set1_ps(poly::kLog[0]);
  for (int i = 1; i < poly::kLogTerms; ++i) p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(poly::kLog[i]));
  __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, f), z);
  y = _mm512_fmadd_ps(e, _mm512_set1_ps(poly::kLn2Lo), y);
  y = _mm512_fnmadd_ps(z, _mm512_set1_ps(0.5f), y);
  return _mm512_fmadd_ps(e, _mm512_set1_ps(poly::kLn2Hi), _mm512_add_ps(f, y));
}

// softplus(a) = log(1 + e^a), and a itself above 20 (MODEL.md). log1p(w)
// is log(1 + w)·w / ((1 + w) - 1): the correction cancels the rounding of
// 1 + w, so a tiny e^a keeps its relative accuracy.
MIXCON_AVX512_INLINE __m512 softplus(__m512 a) {
  const __m512 w = exp(_mm512_min_ps(a, _mm512_set1_ps(20.0f)));
  const __m512 one_w = _mm512_add_ps(w, _mm512_set1_ps(1.0f));
  const __m512 d = _mm512_sub_ps(one_w, _mm512_set1_ps(1.0f));
  const __mmask16 exact = _mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_EQ_OQ);
  __m512 r = _mm512_mul_ps(log_ge1(one_w), _mm512_div_ps(w, d));
  r = _mm512_mask_mov_ps(r, exact, w);
  return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(a, _mm512_set1_ps(20.0f), _CMP_GT_OQ), a);
}

MIXCON_AVX512_INLINE __m512 sigmoid(__m512 a) {
  return _mm512_div_ps(_mm512_set1_ps(1.0f),
                       _mm512_add_ps(_mm512_set1_ps(1.0f), exp(_mm512_sub_ps(_mm512_setzero_ps(), a))));
}

MIXCON_AVX512_INLINE __m512 silu(__m512 a) { return _mm512_mul_ps(a, sigmoid(a)); }

}  // namespace avx512
}  // namespace cpu
}  // namespace mixcon
#endif  // MIXCON_HAVE_AVX512_PATH
