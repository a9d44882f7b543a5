#include "kernels/cpu/q8_activations.h"

#include <cmath>

#include "kernels/cpu/avx512_target.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/thread_pool.h"

namespace mixcon {
namespace cpu {
namespace {

constexpr int64_t kBlock = 32;

int64_t aligned(int64_t bytes) { return (bytes + 63) / 64 * 64; }

// The scale's reciprocal and the clamp are the same float operations on
// every path, and both round to nearest even (nearbyintf under the default
// rounding mode; cvtps2dq under the default MXCSR), so the paths agree bit
// for bit. A NaN clamps to -127 like the SIMD max does (garbage in, but no
// undefined conversion).
inline float clamp127(float v) {
  v = v >= -127.0f ? v : -127.0f;
  return v <= 127.0f ? v : 127.0f;
}

void quantize_row_portable(const float* x, int64_t cols, int8_t* q, float* d, int32_t* bb,
                           int32_t* bg) {
  for (int64_t b = 0; b < cols / kBlock; ++b, x += kBlock, q += kBlock) {
    float amax = 0.0f;
    for (int64_t j = 0; j < kBlock; ++j) amax = std::fabs(x[j]) > amax ? std::fabs(x[j]) : amax;
    const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    d[b] = amax / 127.0f;
    int32_t sum = 0;
    for (int64_t g = 0; g < kBlock / 4; ++g) {
      int32_t gs = 0;
      for (int64_t j = 4 * g; j < 4 * g + 4; ++j) {
        q[j] = static_cast<int8_t>(std::nearbyint(clamp127(x[j] * id)));
        gs += q[j];
      }
      bg[b * 8 + g] = -128 * gs;
      sum += gs;
    }
    bb[b] = -128 * sum;
  }
}

#ifdef MIXCON_HAVE_AVX512_PATH
// One block's 32 values times s (127 / their largest magnitude), rounded
// into q; its 8 sums of 4, times -128, stored into bg and returned.
MIXCON_AVX512_INLINE __m256i round_block_avx512(const float* x, __m512 s, int8_t* q, int32_t* bg) {
  const __m512 lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
  const __m512i q0 = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_loadu_ps(x), s), lo), hi));
  const __m512i q1 = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_loadu_ps(x + 16), s), lo), hi));
  const __m256i qb = _mm256_set_m128i(_mm512_cvtsepi32_epi8(q1), _mm512_cvtsepi32_epi8(q0));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), qb);
  // Sums of 4: bytes times 1 into pairs (|q| ≤ 127: no saturation), pairs
  // into fours; then times -128.
  const __m256i g = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), qb), _mm256_set1_epi16(1));
  const __m256i neg = _mm256_slli_epi32(_mm256_sub_epi32(_mm256_setzero_si256(), g), 7);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(bg), neg);
  return neg;
}

// One block the plain way: the row's last blocks when fewer than 16 remain.
MIXCON_AVX512_INLINE void quantize_block_avx512(const float* x, int8_t* q, float* d, int32_t* bb,
                                                int32_t* bg) {
  const float amax = _mm512_reduce_max_ps(
      _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x)), _mm512_abs_ps(_mm512_loadu_ps(x + 16))));
  *d = amax / 127.0f;
  const __m256i neg = round_block_avx512(x, _mm512_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f), q, bg);
  __m128i h = _mm_add_epi32(_mm256_castsi256_si128(neg), _mm256_extracti128_si256(neg, 1));
  h = _mm_add_epi32(h, _mm_unpackhi_epi64(h, h));
  h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 1));
  *bb = _mm_cvtsi128_si32(h);
}

// The reductions' operations (lambdas would not carry the target attribute).
struct MaxOp {
  MIXCON_AVX512_INLINE __m512 operator()(__m512 a, __m512 b) const { return _mm512_max_ps(a, b); }
};
struct AddI32Op {  // int32 lanes in float registers
  MIXCON_AVX512_INLINE __m512 operator()(__m512 a, __m512 b) const {
    return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(a), _mm512_castps_si512(b)));
  }
};

// The last two steps of reducing 16 blocks to one lane each: r[j]'s 128-bit
// quarter k holds 4 partial values of block 4j + k; returns lane i = block i.
// op is max or add, both exact here, so any order gives the same values.
template <class Op>
MIXCON_AVX512_INLINE __m512 reduce_quarters(const __m512* r, Op op) {
  const __m512 a = op(_mm512_unpacklo_ps(r[0], r[1]), _mm512_unpackhi_ps(r[0], r[1]));
  const __m512 b = op(_mm512_unpacklo_ps(r[2], r[3]), _mm512_unpackhi_ps(r[2], r[3]));
  // Lane 4k + p now holds block 4p + k.
  const __m512 t = op(_mm512_shuffle_ps(a, b, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_ps(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
  const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_ps(idx, t);
}

// 16 blocks (512 values) at once: their 16 maxima and 16 sums come out of
// one transposing reduction each instead of one horizontal reduction per
// block, and the scales of all 16 from one division. Same values as the
// block-by-block code (max and integer sums are exact, the division is the
// same IEEE division).
MIXCON_AVX512_INLINE void quantize_16_blocks_avx512(const float* x, int8_t* q, float* d, int32_t* bb,
                                                    int32_t* bg) {
  const MaxOp fmax;
  const AddI32Op iadd;
  __m512 m[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i)
    m[i] = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + 32 * i)), _mm512_abs_ps(_mm512_loadu_ps(x + 32 * i + 16)));
  // 16 -> 8 -> 4 vectors: quarter k of r[j] becomes block 4j + k's.
  __m512 h8[8], r[4];
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j)
    h8[j] = fmax(_mm512_shuffle_f32x4(m[2 * j], m[2 * j + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                 _mm512_shuffle_f32x4(m[2 * j], m[2 * j + 1], _MM_SHUFFLE(3, 2, 3, 2)));
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j)
    r[j] = fmax(_mm512_shuffle_f32x4(h8[2 * j], h8[2 * j + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                _mm512_shuffle_f32x4(h8[2 * j], h8[2 * j + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512 amax = reduce_quarters(r, fmax);
  _mm512_storeu_ps(d, _mm512_div_ps(amax, _mm512_set1_ps(127.0f)));
  alignas(64) float ids[16];
  _mm512_store_ps(ids, _mm512_maskz_div_ps(_mm512_cmp_ps_mask(amax, _mm512_setzero_ps(), _CMP_GT_OQ),
                                           _mm512_set1_ps(127.0f), amax));
  __m512 g2[8];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    const __m256i neg = round_block_avx512(x + 32 * i, _mm512_set1_ps(ids[i]), q + 32 * i, bg + 8 * i);
    g2[i / 2] = i % 2 == 0 ? _mm512_castsi512_ps(_mm512_castsi256_si512(neg))
                           : _mm512_castsi512_ps(_mm512_inserti64x4(_mm512_castps_si512(g2[i / 2]), neg, 1));
  }
  // Each block's sum of its 8 group sums (already times -128): 8 -> 4
  // vectors, quarter k of r[j] holding block 4j + k's, then as above.
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j)
    r[j] = iadd(_mm512_shuffle_f32x4(g2[2 * j], g2[2 * j + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                _mm512_shuffle_f32x4(g2[2 * j], g2[2 * j + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  _mm512_storeu_si512(bb, _mm512_castps_si512(reduce_quarters(r, iadd)));
}

MIXCON_AVX512 void quantize_row_avx512(const float* x, int64_t cols, int8_t* q, float* d,
                                       int32_t* bb, int32_t* bg) {
  const int64_t nb = cols / kBlock;
  int64_t b = 0;
  for (; b + 16 <= nb; b += 16) quantize_16_blocks_avx512(x + b * kBlock, q + b * kBlock, d + b, bb + b, bg + b * 8);
  for (; b < nb; ++b) quantize_block_avx512(x + b * kBlock, q + b * kBlock, d + b, bb + b, bg + b * 8);
}
#endif

}  // namespace

int64_t q8_activation_bytes(int64_t n, int64_t cols) {
  const int64_t nb = cols / kBlock;
  return aligned(n * cols) + 2 * aligned(n * nb * 4) + aligned(n * (cols / 4) * 4);
}

Q8Activations q8_activations_in(void* buf, int64_t n, int64_t cols) {
  Q8Activations a;
  a.n = n;
  a.cols = cols;
  uint8_t* p = static_cast<uint8_t*>(buf);
  const int64_t nb = cols / kBlock;
  a.q = reinterpret_cast<int8_t*>(p);
  p += aligned(n * cols);
  a.d = reinterpret_cast<float*>(p);
  p += aligned(n * nb * 4);
  a.bias_block = reinterpret_cast<int32_t*>(p);
  p += aligned(n * nb * 4);
  a.bias_group = reinterpret_cast<int32_t*>(p);
  return a;
}

void quantize_q8_activations(const float* x, Q8Activations& out, int n_threads) {
  const int64_t cols = out.cols, nb = out.blocks();
  auto row = [&](int64_t t) {
    int8_t* q = out.q + t * cols;
    float* d = out.d + t * nb;
    int32_t* bb = out.bias_block + t * nb;
    int32_t* bg = out.bias_group + t * (cols / 4);
#ifdef MIXCON_HAVE_AVX512_PATH
    if (kernel_path() == KernelPath::Avx512) return quantize_row_avx512(x + t * cols, cols, q, d, bb, bg);
#endif
    quantize_row_portable(x + t * cols, cols, q, d, bb, bg);
  };
  const int nt = out.n * cols >= kRoundParallelMinValues ? n_threads : 1;
  parallel_for(nt, out.n, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) row(t);
  });
}

}  // namespace cpu
}  // namespace mixcon
