// AVX-512 instance of the SIMD Conba scan (conba_scan_simd.h): sixteen
// channels at a time.
//
// Numerics: a thread always takes whole 16-channel blocks counted from
// channel 0, and a token goes through the same operations alone or in a
// chunk, so chunking and thread count change no bit. Against the portable
// walk the results differ by rounding (fused multiply-adds, the vector
// exp/log, y summed by a tree): far inside MODEL.md §5's 1e-4, checked against
// a float64 reference on every path.
#include "kernels/cpu/conba_scan_avx512.h"

#include <cmath>
#include <cstdint>

#include "core/backend.h"
#include "kernels/cpu/avx512_math.h"
#include "kernels/cpu/avx512_target.h"
#include "kernels/cpu/cpu_kernels.h"

#ifdef MIXCON_HAVE_AVX512_PATH
// Everything the scan needs is included above; only the scan and V16 below
// are compiled for AVX-512.
MIXCON_AVX512_REGION_BEGIN
#include "kernels/cpu/conba_scan_simd.h"

namespace mixcon {
namespace cpu {
namespace {

struct V16 {
  using reg = __m512;
  using mask = __mmask16;
  static constexpr int W = 16;
  MIXCON_SCAN_INLINE static mask tail_mask(int64_t n) { return avx512::tail_mask(n); }
  MIXCON_SCAN_INLINE static reg load(const float* p, mask m) { return _mm512_maskz_loadu_ps(m, p); }
  MIXCON_SCAN_INLINE static void store(float* p, mask m, reg v) { _mm512_mask_storeu_ps(p, m, v); }
  MIXCON_SCAN_INLINE static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  MIXCON_SCAN_INLINE static reg set1(float x) { return _mm512_set1_ps(x); }
  MIXCON_SCAN_INLINE static reg zero() { return _mm512_setzero_ps(); }
  MIXCON_SCAN_INLINE static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  MIXCON_SCAN_INLINE static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  MIXCON_SCAN_INLINE static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  MIXCON_SCAN_INLINE static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  MIXCON_SCAN_INLINE static reg fmsub(reg a, reg b, reg c) { return _mm512_fmsub_ps(a, b, c); }
  MIXCON_SCAN_INLINE static reg sum(const reg* v) { return avx512::sum16(v); }
  MIXCON_SCAN_INLINE static reg exp2(reg x) { return avx512::exp2(x); }
  MIXCON_SCAN_INLINE static reg softplus(reg x) { return avx512::softplus(x); }
  MIXCON_SCAN_INLINE static reg sigmoid(reg x) { return avx512::sigmoid(x); }
  MIXCON_SCAN_INLINE static reg silu(reg x) { return avx512::silu(x); }

  // Pass 2 for one token: ||e|| / sqrt(D), summed in double over eight
  // fixed lanes (i mod 8) and a fixed tree.
  static float error_norm(const float* e, int64_t D) {
    __m512d s = _mm512_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= D; i += 8) {
      const __m512d v = _mm512_cvtps_pd(_mm256_loadu_ps(e + i));
      s = _mm512_fmadd_pd(v, v, s);
    }
    double ss = _mm512_reduce_add_pd(s);
    for (; i < D; ++i) ss += static_cast<double>(e[i]) * e[i];
    return static_cast<float>(std::sqrt(ss / static_cast<double>(D)));
  }
};

}  // namespace

void conba_scan_avx512(const ConbaScanArgs& a, int n_threads) {
  conba_scan_blocks(a, n_threads,
                    {V16::W, simd_scan::scan_block<V16>, V16::error_norm, simd_scan::control_block<V16>});
}

}  // namespace cpu
}  // namespace mixcon
MIXCON_TARGET_REGION_END
#endif  // MIXCON_HAVE_AVX512_PATH
