// The 8-lane (AVX2 register) traits of q8_panel_simd.h, shared by its two
// 8-lane instances, which differ only in the int8 dot product D supplies:
// AVX-VNNI's vpdpbusd (matmul_avxvnni.cpp) and, on AVX2 CPUs without any
// VNNI, vpmaddubsw + vpmaddwd (matmul_avx2_int8.cpp). D gives
//   kUnsignedWeights  whether the packed weights are q + 128 (vpdpbusd takes
//                     unsigned by signed bytes; the sums then start from the
//                     -128·Σ q_x bias) or q as stored,
//   kTokens           tokens per register tile (what its registers allow),
//   wreg, prepare(w)  a panel vector of weights as the dot product takes it
//                     (prepared once, used by every token of the tile),
//   dot(acc, w, x)    acc + the sums of four byte products per int32 lane.
// Include it inside the instance's target region, after q8_panel_simd.h.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "core/format/dtype.h"
#include "kernels/cpu/avx2_math.h"

namespace mixcon {
namespace cpu {
namespace q8_panel {

template <class D>
struct V8 {
  static constexpr int W = 8;
  static constexpr int kPanels = 1;
  static constexpr int kTokens = D::kTokens;
  static constexpr int kPackBlocks = 1;
  static constexpr bool kDecodePairs = false;  // 8 lanes: one block per step
  static constexpr bool kUnsignedWeights = D::kUnsignedWeights;
  using ireg = __m256i;
  using freg = __m256;
  using wreg = typename D::wreg;
  using mask = __m256i;  // all ones in the lanes of real rows
  MIXCON_Q8P_INLINE static ireg iset1(int32_t v) { return _mm256_set1_epi32(v); }
  MIXCON_Q8P_INLINE static wreg wload(const uint8_t* p) {
    return D::prepare(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  MIXCON_Q8P_INLINE static ireg dpbusd(ireg acc, const wreg& w, ireg x) { return D::dot(acc, w, x); }
  MIXCON_Q8P_INLINE static __m256i dpbusd256(__m256i acc, __m256i w, __m256i x) {
    return D::dot(acc, D::prepare(w), x);
  }
  MIXCON_Q8P_INLINE static freg cvt(ireg v) { return _mm256_cvtepi32_ps(v); }
  MIXCON_Q8P_INLINE static freg fzero() { return _mm256_setzero_ps(); }
  MIXCON_Q8P_INLINE static freg fset1(float v) { return _mm256_set1_ps(v); }
  MIXCON_Q8P_INLINE static freg fload(const float* p) { return _mm256_loadu_ps(p); }
  MIXCON_Q8P_INLINE static freg fmul(freg a, freg b) { return _mm256_mul_ps(a, b); }
  MIXCON_Q8P_INLINE static freg fmadd(freg a, freg b, freg c) { return _mm256_fmadd_ps(a, b, c); }
  MIXCON_Q8P_INLINE static void widen_scales(const uint16_t* f16, float* out) {
    _mm256_storeu_ps(out, _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(f16))));
  }
  MIXCON_Q8P_INLINE static mask tail_mask(int64_t left) {
    const int n = left >= 8 ? 8 : left <= 0 ? 0 : static_cast<int>(left);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  MIXCON_Q8P_INLINE static freg load_rows(const float* p, mask m) { return _mm256_maskload_ps(p, m); }
  MIXCON_Q8P_INLINE static void store_rows(float* p, mask m, freg v) { _mm256_maskstore_ps(p, m, v); }
  // Block b of 8 rows: each row's 32 bytes as 8 int32 "groups", transposed
  // (8×8) so vector j holds group j of every row.
  MIXCON_Q8P_INLINE static void pack_groups(const BlockQ8_0* const* rows, int64_t b, int, uint8_t* q) {
    __m256 r[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i)
      r[i] = _mm256_castsi256_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[i][b].qs)));
    avx2::transpose8(r);
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      __m256i g = _mm256_castps_si256(r[j]);
      if constexpr (kUnsignedWeights) g = _mm256_xor_si256(g, _mm256_set1_epi8(static_cast<char>(0x80)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + j * 32), g);
    }
  }
};

}  // namespace q8_panel
}  // namespace cpu
}  // namespace mixcon
