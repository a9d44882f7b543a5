// AVX2 instance of the direct-dot attention tile (attention_tile_simd.h): 8
// lanes, for CPUs with AVX2 and FMA but no AVX-512. The transposed-key tile
// of attention.cpp cost 64 scalar moves per key and held a 32K-token AVX2
// decode step at 0.48x the speed at 512 tokens; this one reaches 0.64x.
//
// Numerics: as attention_avx512.cpp — tiling and thread count change no bit;
// an f16/bf16/q8_0 cache is widened exactly, in registers or per block.
#include "kernels/cpu/attention_avx2.h"

#include <cstdint>
#include <limits>

#include "core/backend.h"
#include "kernels/cpu/avx2_math.h"
#include "kernels/cpu/convert.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/vec_math.h"

#ifdef MIXCON_HAVE_AVX2_PATH
// Everything the tile needs is included above; only the tile and V8 below
// are compiled for AVX2.
MIXCON_AVX2_REGION_BEGIN
#include "kernels/cpu/attention_tile_simd.h"

namespace mixcon {
namespace cpu {
namespace {

struct V8 {
  using reg = __m256;
  static constexpr int W = 8;
  static constexpr int kPairChunk = 4;  // 8 pair sums + 4 value chunks of the 16 registers
  MIXCON_TILE_INLINE static reg zero() { return _mm256_setzero_ps(); }
  MIXCON_TILE_INLINE static reg load(const float* p) { return _mm256_loadu_ps(p); }
  MIXCON_TILE_INLINE static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  MIXCON_TILE_INLINE static reg set1(float x) { return _mm256_set1_ps(x); }
  MIXCON_TILE_INLINE static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  MIXCON_TILE_INLINE static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  MIXCON_TILE_INLINE static reg sum(const reg* v) { return avx2::sum8(v); }
  MIXCON_TILE_INLINE static reg sum_pair(reg a, reg b) { return avx2::sum8_pair(a, b); }
  MIXCON_TILE_INLINE static reg sum_rest(const reg* w) { return avx2::sum8_rest(w); }
  // Chunks [c0, c0 + N) (8 values each) of a cached row of dtype R, as
  // floats (exact). c0 is a multiple of 4: a q8_0 block's scale is
  // converted once for its four chunks.
  template <DType R, int N>
  MIXCON_TILE_INLINE static void chunks(const uint8_t* row, int64_t c0, reg* out) {
    __m256 d = _mm256_setzero_ps();
    for (int c = 0; c < N; ++c) {
      const int64_t cc = c0 + c;
      if constexpr (R == DType::F32) {
        out[c] = _mm256_loadu_ps(reinterpret_cast<const float*>(row) + 8 * cc);
      } else if constexpr (R == DType::F16) {
        out[c] = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 16 * cc)));
      } else if constexpr (R == DType::BF16) {
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 16 * cc));
        out[c] = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(b), 16));
      } else {  // Q8_0: d·q is exact in float32
        const BlockQ8_0& blk = reinterpret_cast<const BlockQ8_0*>(row)[cc / 4];
        if (c == 0 || cc % 4 == 0) d = _mm256_cvtph_ps(_mm_set1_epi16(static_cast<int16_t>(blk.d)));
        const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk.qs + 8 * (cc % 4)));
        out[c] = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)));
      }
    }
  }
};

}  // namespace

void attend_tile_avx2(const AttentionArgs& a, float scale, int64_t h0, int64_t nh, int64_t i0,
                      int64_t i1, float* scratch) {
  simd_tile::attend_tile<V8>(a, scale, h0, nh, i0, i1, scratch);
}

}  // namespace cpu
}  // namespace mixcon
MIXCON_TARGET_REGION_END
#endif  // MIXCON_HAVE_AVX2_PATH
