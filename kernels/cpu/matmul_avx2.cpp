// AVX2 instance of the packed-panel prefill product (gemm_panel_simd.h), for
// CPUs with AVX2 and FMA but no AVX-512 (most desktop CPUs): panels of 8
// weight rows, two side by side, times 6 tokens per register tile (12 of the
// 16 registers hold sums; 2 hold a panel column, 1 the broadcast token
// value). Every conversion is exact and every output sums its row in k order,
// as on the AVX-512 path: the two give the same bits.
//
// Until November 2026 the AVX2 prefill was a dot-product tile (4 rows × 3
// tokens, 8-lane partial sums reduced at the end), which reloaded both its
// rows and its tokens for every 8 columns: on Zen 4 with AVX-512 switched off
// it reached ~0.6 of the AVX2 FMA peak.
#include "kernels/cpu/matmul_panels.h"

#include <cstdint>

#include "core/common/status.h"
#include "core/format/dtype.h"
#include "kernels/cpu/avx2_math.h"
#include "kernels/cpu/convert.h"
#include "kernels/cpu/matmul_avx512.h"  // kGemmKc: the panels span the same columns
#include "kernels/cpu/panel_prefetch.h"
#include "kernels/cpu/tile_output.h"

#ifdef MIXCON_HAVE_AVX2_PATH
MIXCON_AVX2_REGION_BEGIN
#include "kernels/cpu/gemm_panel_simd.h"

namespace mixcon {
namespace cpu {
namespace {

struct V8 {
  static constexpr int W = 8;
  static constexpr int kPanels = 2;
  static constexpr int kTokens = 6;
  using freg = __m256;
  using mask = __m256i;  // all ones in the lanes to load or store
  MIXCON_GEMM_INLINE static freg fzero() { return _mm256_setzero_ps(); }
  MIXCON_GEMM_INLINE static freg fload(const float* p) { return _mm256_loadu_ps(p); }
  MIXCON_GEMM_INLINE static void fstore(float* p, freg v) { _mm256_storeu_ps(p, v); }
  MIXCON_GEMM_INLINE static freg fset1(float v) { return _mm256_set1_ps(v); }
  MIXCON_GEMM_INLINE static freg fmadd(freg a, freg b, freg c) { return _mm256_fmadd_ps(a, b, c); }
  MIXCON_GEMM_INLINE static mask tail_mask(int64_t left) { return avx2::tail_mask(left); }
  MIXCON_GEMM_INLINE static freg load_rows(const float* p, mask m) { return _mm256_maskload_ps(p, m); }
  MIXCON_GEMM_INLINE static void store_rows(float* p, mask m, freg v) { _mm256_maskstore_ps(p, m, v); }
  MIXCON_GEMM_INLINE static void transpose(freg* v) { avx2::transpose8(v); }
};

// 8 weights of one stored row from column k as exact floats: full() inside
// the row, load() for a tail (the mask's lanes; the rest 0). AVX2 has no
// masked 16-bit load, so the 2-byte tails are copied first (a product's last
// columns only, where cols % 8 != 0).
int tail_lanes(__m256i m) { return __builtin_popcount(_mm256_movemask_ps(_mm256_castsi256_ps(m))); }

struct LoadF32 {
  MIXCON_GEMM_INLINE static __m256 full(const uint8_t* row, int64_t k) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + k);
  }
  MIXCON_GEMM_INLINE static __m256 load(const uint8_t* row, int64_t k, __m256i m) {
    return _mm256_maskload_ps(reinterpret_cast<const float*>(row) + k, m);
  }
};
// The first n (< 8) 2-byte values from p, the rest 0.
MIXCON_GEMM_INLINE __m128i load_u16_tail(const uint8_t* p, int n) {
  alignas(16) uint16_t v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  __builtin_memcpy(v, p, size_t(n) * 2);
  return _mm_load_si128(reinterpret_cast<const __m128i*>(v));
}
struct LoadF16 {
  MIXCON_GEMM_INLINE static __m256 full(const uint8_t* row, int64_t k) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * k)));
  }
  MIXCON_GEMM_INLINE static __m256 load(const uint8_t* row, int64_t k, __m256i m) {
    return _mm256_cvtph_ps(load_u16_tail(row + 2 * k, tail_lanes(m)));
  }
};
struct LoadBF16 {
  MIXCON_GEMM_INLINE static __m256 widen(__m128i h) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  MIXCON_GEMM_INLINE static __m256 full(const uint8_t* row, int64_t k) {
    return widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * k)));
  }
  MIXCON_GEMM_INLINE static __m256 load(const uint8_t* row, int64_t k, __m256i m) {
    return widen(load_u16_tail(row + 2 * k, tail_lanes(m)));
  }
};
// q8_0 rows have cols % 32 == 0, so k is a multiple of 8 inside a block and
// a panel never has a tail.
struct LoadQ8 {
  MIXCON_GEMM_INLINE static __m256 full(const uint8_t* row, int64_t k) {
    const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(row) + (k >> 5);
    const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b->qs + (k & 31)));
    return _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(b->d)), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)));
  }
  MIXCON_GEMM_INLINE static __m256 load(const uint8_t* row, int64_t k, __m256i) { return full(row, k); }
};
struct Loads {
  using F32 = LoadF32;
  using F16 = LoadF16;
  using BF16 = LoadBF16;
  using Q8 = LoadQ8;
};

}  // namespace

void matmul_rows_avx2(const MatrixRef& w, const float* x, int64_t n, float* y, int64_t r0,
                      int64_t r1, float* buf) {
  gemm_panel::matmul_rows_any<V8, Loads>(w, x, n, y, r0, r1, buf, kGemmKc);
}

}  // namespace cpu
}  // namespace mixcon
MIXCON_TARGET_REGION_END

#else
namespace mixcon {
namespace cpu {
// Not an x86 build: kernel_path() never selects this path.
void matmul_rows_avx2(const MatrixRef&, const float*, int64_t, float*, int64_t, int64_t, float*) {
  fail(Status::Internal, "the AVX2 kernel path is not built for this CPU");
}
}  // namespace cpu
}  // namespace mixcon
#endif  // MIXCON_HAVE_AVX2_PATH
