// AVX2 instance of the SIMD Conba scan (conba_scan_simd.h): eight channels at
// a time, for CPUs with AVX2 and FMA but no AVX-512.
//
// Numerics as conba_scan_avx512.cpp: whole 8-channel blocks counted from
// channel 0 per thread, the same operations for a token alone or in a chunk,
// so chunking and thread count change no bit; rounding differs from the
// other paths far inside MODEL.md §5's 1e-4 (tested against float64).
#include "kernels/cpu/conba_scan_avx2.h"

#include <cmath>
#include <cstdint>

#include "core/backend.h"
#include "kernels/cpu/avx2_math.h"
#include "kernels/cpu/cpu_kernels.h"

#ifdef MIXCON_HAVE_AVX2_PATH
// Everything the scan needs is included above; only the scan and V8 below
// are compiled for AVX2.
MIXCON_AVX2_REGION_BEGIN
#include "kernels/cpu/conba_scan_simd.h"

namespace mixcon {
namespace cpu {
namespace {

struct V8 {
  using reg = __m256;
  using mask = __m256i;  // all-ones lanes, as maskload/maskstore want
  static constexpr int W = 8;
  MIXCON_SCAN_INLINE static mask tail_mask(int64_t n) { return avx2::tail_mask(n); }
  MIXCON_SCAN_INLINE static reg load(const float* p, mask m) { return _mm256_maskload_ps(p, m); }
  MIXCON_SCAN_INLINE static void store(float* p, mask m, reg v) { _mm256_maskstore_ps(p, m, v); }
  MIXCON_SCAN_INLINE static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  MIXCON_SCAN_INLINE static reg set1(float x) { return _mm256_set1_ps(x); }
  MIXCON_SCAN_INLINE static reg zero() { return _mm256_setzero_ps(); }
  MIXCON_SCAN_INLINE static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  MIXCON_SCAN_INLINE static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  MIXCON_SCAN_INLINE static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  MIXCON_SCAN_INLINE static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  MIXCON_SCAN_INLINE static reg fmsub(reg a, reg b, reg c) { return _mm256_fmsub_ps(a, b, c); }
  MIXCON_SCAN_INLINE static reg sum(const reg* v) { return avx2::sum8(v); }
  MIXCON_SCAN_INLINE static reg exp2(reg x) { return avx2::exp2(x); }
  MIXCON_SCAN_INLINE static reg softplus(reg x) { return avx2::softplus(x); }
  MIXCON_SCAN_INLINE static reg sigmoid(reg x) { return avx2::sigmoid(x); }
  MIXCON_SCAN_INLINE static reg silu(reg x) { return avx2::silu(x); }

  // Pass 2 for one token: ||e|| / sqrt(D) in double over four fixed lanes.
  static float error_norm(const float* e, int64_t D) {
    __m256d s = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 4 <= D; i += 4) {
      const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(e + i));
      s = _mm256_fmadd_pd(v, v, s);
    }
    alignas(32) double lane[4];
    _mm256_store_pd(lane, s);
    double ss = (lane[0] + lane[1]) + (lane[2] + lane[3]);
    for (; i < D; ++i) ss += static_cast<double>(e[i]) * e[i];
    return static_cast<float>(std::sqrt(ss / static_cast<double>(D)));
  }
};

}  // namespace

void conba_scan_avx2(const ConbaScanArgs& a, int n_threads) {
  conba_scan_blocks(a, n_threads,
                    {V8::W, simd_scan::scan_block<V8>, V8::error_norm, simd_scan::control_block<V8>});
}

}  // namespace cpu
}  // namespace mixcon
MIXCON_TARGET_REGION_END
#endif  // MIXCON_HAVE_AVX2_PATH
