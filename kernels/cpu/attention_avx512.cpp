// AVX-512 instance of the direct-dot attention tile (attention_tile_simd.h):
// 16 lanes, 16 keys' scores reduced together by avx512::sum16.
//
// Numerics: a score is a 16-lane dot product over head_dim reduced by a fixed
// tree, the value sum runs over keys in order; every query goes through the
// same blocks and operations whether it is alone (decode) or in a tile
// (prefill), so, as on the portable path, tiling and thread count change no
// bit. An f16/bf16/q8_0 cache is widened exactly as each block is loaded.
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
  // One cached row of head_dim values widened to float32 (exact), nc
  // vectors of 16.
  MIXCON_TILE_INLINE static void widen(DType t, const uint8_t* src, float* dst, int64_t nc) {
    const uint16_t* h = reinterpret_cast<const uint16_t*>(src);
    if (t == DType::F16) {
      for (int64_t c = 0; c < nc; ++c)
        _mm512_storeu_ps(dst + 16 * c, _mm512_cvtph_ps(_mm256_loadu_si256(
                                           reinterpret_cast<const __m256i*>(h + 16 * c))));
    } else if (t == DType::Q8_0) {  // d·q is exact in float32
      const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(src);
      for (int64_t c = 0; c < nc; ++c) {
        const BlockQ8_0& blk = b[c / 2];
        const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.qs + 16 * (c % 2)));
        _mm512_storeu_ps(dst + 16 * c, _mm512_mul_ps(_mm512_set1_ps(_cvtsh_ss(blk.d)),
                                                     _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q))));
      }
    } else {
      for (int64_t c = 0; c < nc; ++c) {
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + 16 * c));
        _mm512_storeu_ps(dst + 16 * c,
                         _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(b), 16)));
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
