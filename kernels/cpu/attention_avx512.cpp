// AVX-512 instance of the direct-dot attention tile (attention_tile_simd.h):
// 16 lanes, 16 keys' scores reduced together by avx512::sum16.
//
// Numerics: a score is a 16-lane dot product over head_dim reduced by a fixed
// tree, the value sum runs over keys in order; every query goes through the
// same blocks and operations whether it is alone (decode) or in a tile
// (prefill), so, as on the portable path, tiling and thread count change no
// bit. An f16/bf16/q8_0 cache is widened exactly, in registers or per block.
#include "kernels/cpu/attention_avx512.h"

#include <cstdint>
#include <limits>

#include "core/backend.h"
#include "kernels/cpu/avx512_math.h"
#include "kernels/cpu/avx512_target.h"
#include "kernels/cpu/convert.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/vec_math.h"

#ifdef MIXCON_HAVE_AVX512_PATH
// Everything the tile needs is included above; only the tile and V16 below
// are compiled for AVX-512.
MIXCON_AVX512_REGION_BEGIN
#include "kernels/cpu/attention_tile_simd.h"

namespace mixcon {
namespace cpu {
namespace {

struct V16 {
  using reg = __m512;
  static constexpr int W = 16;
  static constexpr int kPairChunk = 8;  // 16 pair sums + 8 value chunks of the 32 registers
  MIXCON_TILE_INLINE static reg zero() { return _mm512_setzero_ps(); }
  MIXCON_TILE_INLINE static reg load(const float* p) { return _mm512_loadu_ps(p); }
  MIXCON_TILE_INLINE static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  MIXCON_TILE_INLINE static reg set1(float x) { return _mm512_set1_ps(x); }
  MIXCON_TILE_INLINE static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  MIXCON_TILE_INLINE static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  MIXCON_TILE_INLINE static reg sum(const reg* v) { return avx512::sum16(v); }
  MIXCON_TILE_INLINE static reg sum_pair(reg a, reg b) { return avx512::sum16_pair(a, b); }
  MIXCON_TILE_INLINE static reg sum_rest(const reg* w) { return avx512::sum16_rest(w); }
  // Chunks [c0, c0 + N) (16 values each) of a cached row of dtype R, as
  // floats (exact). c0 is even: a q8_0 block's scale is converted once for
  // its two chunks.
  template <DType R, int N>
  MIXCON_TILE_INLINE static void chunks(const uint8_t* row, int64_t c0, reg* out) {
    __m512 d = _mm512_setzero_ps();
    for (int c = 0; c < N; ++c) {
      const int64_t cc = c0 + c;
      if constexpr (R == DType::F32) {
        out[c] = _mm512_loadu_ps(reinterpret_cast<const float*>(row) + 16 * cc);
      } else if constexpr (R == DType::F16) {
        out[c] = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 32 * cc)));
      } else if constexpr (R == DType::BF16) {
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 32 * cc));
        out[c] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(b), 16));
      } else {  // Q8_0: d·q is exact in float32
        const BlockQ8_0& blk = reinterpret_cast<const BlockQ8_0*>(row)[cc / 2];
        if (c == 0 || cc % 2 == 0) d = _mm512_cvtph_ps(_mm256_set1_epi16(static_cast<int16_t>(blk.d)));
        const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.qs + 16 * (cc % 2)));
        out[c] = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)));
      }
    }
  }
};

}  // namespace

void attend_tile_avx512(const AttentionArgs& a, float scale, int64_t h0, int64_t nh, int64_t i0,
                        int64_t i1, float* scratch) {
  simd_tile::attend_tile<V16>(a, scale, h0, nh, i0, i1, scratch);
}

}  // namespace cpu
}  // namespace mixcon
MIXCON_TARGET_REGION_END
#endif  // MIXCON_HAVE_AVX512_PATH
