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
MIXCON_AVX512 void quantize_row_avx512(const float* x, int64_t cols, int8_t* q, float* d,
                                       int32_t* bb, int32_t* bg) {
  const __m512 lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
  const __m256i ones8 = _mm256_set1_epi8(1);
  const __m256i ones16 = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < cols / kBlock; ++b, x += kBlock, q += kBlock) {
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    d[b] = amax / 127.0f;
    const __m512 s = _mm512_set1_ps(id);
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(v0, s), lo), hi));
    const __m512i q1 = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(v1, s), lo), hi));
    const __m256i qb = _mm256_set_m128i(_mm512_cvtsepi32_epi8(q1), _mm512_cvtsepi32_epi8(q0));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), qb);
    // Sums of 4: bytes times 1 into pairs (|q| ≤ 127: no saturation), pairs
    // into fours; then times -128.
    const __m256i g = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, qb), ones16);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(bg + b * 8), _mm256_slli_epi32(_mm256_sub_epi32(_mm256_setzero_si256(), g), 7));
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(g), _mm256_extracti128_si256(g, 1));
    h = _mm_add_epi32(h, _mm_unpackhi_epi64(h, h));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 1));
    bb[b] = -128 * _mm_cvtsi128_si32(h);
  }
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
