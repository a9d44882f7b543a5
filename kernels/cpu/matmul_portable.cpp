// Portable instance of the packed-panel prefill product (gemm_panel_simd.h):
// plain C++ on GCC/Clang vector types of 4 floats, which the compiler lowers
// to the baseline SIMD of any target (NEON on arm64, SSE2 on x86-64), so a
// CPU without an own kernel path still multiplies a chunk as outer products
// of panels: panels of 4 weight rows, two side by side, times 6 tokens (12
// accumulators of x86-64's 16 registers; arm64 has 32).
//
// Each output sums its row in k order, one float accumulator, as the SIMD
// paths; a·b + c becomes an FMA where the target has one and the compiler
// contracts it, so the bits may differ from theirs by float rounding only.
// Until November 2026 the portable prefill converted a row and took one
// 8-lane dot per token: 0.36-0.43 of the portable peak on Zen 4 forced.
#include "kernels/cpu/matmul_panels.h"

#include <cstdint>
#include <cstring>

#include "core/format/dtype.h"
#include "kernels/cpu/convert.h"
#include "kernels/cpu/matmul_avx512.h"  // kGemmKc: the panels span the same columns
#include "kernels/cpu/panel_prefetch.h"
#include "kernels/cpu/tile_output.h"
#include "kernels/cpu/gemm_panel_simd.h"

namespace mixcon {
namespace cpu {
namespace {

typedef float f32x4 __attribute__((vector_size(16)));

struct V4 {
  static constexpr int W = 4;
  static constexpr int kPanels = 2;
  static constexpr int kTokens = 6;
  using freg = f32x4;
  struct mask {
    int n;  // lanes [0, n)
  };
  MIXCON_GEMM_INLINE static freg fzero() { return freg{0.0f, 0.0f, 0.0f, 0.0f}; }
  MIXCON_GEMM_INLINE static freg fload(const float* p) {
    freg v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  MIXCON_GEMM_INLINE static void fstore(float* p, freg v) { std::memcpy(p, &v, sizeof v); }
  MIXCON_GEMM_INLINE static freg fset1(float v) { return freg{v, v, v, v}; }
  MIXCON_GEMM_INLINE static freg fmadd(freg a, freg b, freg c) { return a * b + c; }
  MIXCON_GEMM_INLINE static mask tail_mask(int64_t left) {
    return {left >= 4 ? 4 : left <= 0 ? 0 : static_cast<int>(left)};
  }
  MIXCON_GEMM_INLINE static freg load_rows(const float* p, mask m) {
    freg v = fzero();
    for (int i = 0; i < m.n; ++i) v[i] = p[i];
    return v;
  }
  MIXCON_GEMM_INLINE static void store_rows(float* p, mask m, freg v) {
    for (int i = 0; i < m.n; ++i) p[i] = v[i];
  }
  MIXCON_GEMM_INLINE static void transpose(freg* v) {
    float t[16];
    std::memcpy(t, v, sizeof t);
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) v[j][i] = t[i * 4 + j];
  }
};

// 4 weights of one stored row from column k as exact floats; load() takes
// the mask's lanes, the rest 0.
template <class One>
struct Load4 {
  MIXCON_GEMM_INLINE static f32x4 full(const uint8_t* row, int64_t k) {
    return f32x4{One::at(row, k), One::at(row, k + 1), One::at(row, k + 2), One::at(row, k + 3)};
  }
  MIXCON_GEMM_INLINE static f32x4 load(const uint8_t* row, int64_t k, V4::mask m) {
    f32x4 v = V4::fzero();
    for (int i = 0; i < m.n; ++i) v[i] = One::at(row, k + i);
    return v;
  }
};
struct OneF32 {
  static float at(const uint8_t* row, int64_t k) { return reinterpret_cast<const float*>(row)[k]; }
};
struct OneF16 {
  static float at(const uint8_t* row, int64_t k) {
    return f16_bits_to_f32(reinterpret_cast<const uint16_t*>(row)[k]);
  }
};
struct OneBF16 {
  static float at(const uint8_t* row, int64_t k) {
    return bf16_bits_to_f32(reinterpret_cast<const uint16_t*>(row)[k]);
  }
};
// q8_0 columns come 4 at a time from one block (cols % 32 == 0, k % 4 == 0):
// its scale converted once; a panel never has a tail.
struct LoadQ8 {
  MIXCON_GEMM_INLINE static f32x4 full(const uint8_t* row, int64_t k) {
    const BlockQ8_0& b = reinterpret_cast<const BlockQ8_0*>(row)[k / kQ8BlockValues];
    const int8_t* q = b.qs + k % kQ8BlockValues;
    const f32x4 v{static_cast<float>(q[0]), static_cast<float>(q[1]), static_cast<float>(q[2]),
                  static_cast<float>(q[3])};
    return V4::fset1(f16_bits_to_f32(b.d)) * v;
  }
  MIXCON_GEMM_INLINE static f32x4 load(const uint8_t* row, int64_t k, V4::mask) { return full(row, k); }
};
struct Loads {
  using F32 = Load4<OneF32>;
  using F16 = Load4<OneF16>;
  using BF16 = Load4<OneBF16>;
  using Q8 = LoadQ8;
};

}  // namespace

void matmul_rows_portable(const MatrixRef& w, const float* x, int64_t n, float* y, int64_t r0,
                          int64_t r1, float* buf) {
  gemm_panel::matmul_rows_any<V4, Loads>(w, x, n, y, r0, r1, buf, kGemmKc);
}

}  // namespace cpu
}  // namespace mixcon
