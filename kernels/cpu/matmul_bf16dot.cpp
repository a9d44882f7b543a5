// bf16 weights × bf16 activations by vdpbf16ps (AVX512_BF16): each f32 lane
// adds the products of one pair of bf16 values, 32 multiply-adds per
// instruction. The products are exact (8-bit mantissas); the hardware adds
// them to the lane in its own order, with bf16 denormals read as zero, so
// results equal the float kernels on the same rounded values up to float
// rounding, not bitwise.
//
// Prefill packs 16 weight rows at a time like matmul_avx512.cpp, by pairs:
// one 64-byte vector holds the same 2 columns of 16 rows, so a token's 2
// activations (one 32-bit broadcast) multiply all 16 rows at once; two
// panels share each broadcast. Decode streams each row once, 32 values per
// instruction, four accumulators.
#include "kernels/cpu/matmul_bf16dot.h"

#include <cstdint>
#include <cstring>

#include "core/backend.h"
#include "core/common/status.h"
#include "kernels/cpu/avx512_math.h"
#include "kernels/cpu/avx512_target.h"
#include "kernels/cpu/matmul_avx512.h"
#include "kernels/cpu/panel_prefetch.h"
#include "kernels/cpu/tile_output.h"

#ifdef MIXCON_HAVE_AVX512_PATH
MIXCON_TARGET_REGION_BEGIN("avx512f,avx512bw,avx512vl,avx512bf16,fma,f16c")

namespace mixcon {
namespace cpu {
namespace {

#define MIXCON_BF_INLINE __attribute__((always_inline)) inline

MIXCON_BF_INLINE __m512 dot(__m512 acc, __m512i w, __m512i x) {
  return _mm512_dpbf16_ps(acc, (__m512bh)w, (__m512bh)x);
}

MIXCON_BF_INLINE __mmask32 mask32(int64_t left) {
  return left >= 32 ? __mmask32(0xffffffffu) : left <= 0 ? __mmask32(0) : __mmask32((1u << left) - 1u);
}


constexpr int kPanels = 2;
constexpr int kTokens = 8;  // 16 accumulators (12 measured the same)

// Rows r .. r+16 (past r1: row r1 - 1, never stored), columns [k0, k0+kc)
// into q[j·64 + 4·i + 2·h] = w[r + i][k0 + 2j + h] (h = 0, 1; zero past cols).
void pack_panel(const MatrixRef& w, int64_t r, int64_t r1, int64_t k0, int64_t kc, uint8_t* q) {
  const uint16_t* rows[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) rows[i] = w.row<uint16_t>(r + i < r1 ? r + i : r1 - 1) + k0;
  for (int64_t c = 0; c < kc; c += 32) {
    const __mmask32 m = mask32(kc - c);
    __m512 v[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) v[i] = _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(m, rows[i] + c));
    avx512::transpose16(v);
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) _mm512_storeu_ps(q + (c / 2 + j) * 64, v[j]);
  }
}

template <int NP, int T>
MIXCON_BF_INLINE void panel_tile(const uint8_t* q, int64_t panel_q, const uint16_t* x,
                                 int64_t x_stride, int64_t n, int64_t t0, int64_t k0, int64_t kc, float* y,
                                 int64_t rows, int64_t r, const __mmask16* mask) {
  __m512 acc[NP][T];
  const uint16_t* xt[T];
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) {
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p)
      acc[p][t] = k0 == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask[p], y + (t0 + t) * rows + r + 16 * p);
    xt[t] = x + (t0 + t) * x_stride + k0;
  }
  prefetch_tile_outputs<T, 16 * NP>(y, rows, r, t0 + T, n);
  const int64_t pairs = (kc + 1) / 2;
  for (int64_t j = 0; j < pairs; ++j) {
    __m512i wv[NP];
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) wv[p] = _mm512_loadu_si512(q + p * panel_q + j * 64);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      int32_t two;
      std::memcpy(&two, xt[t] + 2 * j, 4);
      const __m512i xb = _mm512_set1_epi32(two);
#pragma GCC unroll 4
      for (int p = 0; p < NP; ++p) acc[p][t] = dot(acc[p][t], wv[p], xb);
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t)
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) _mm512_mask_storeu_ps(y + (t0 + t) * rows + r + 16 * p, mask[p], acc[p][t]);
}

template <int NP>
void panels_all_tokens(const uint8_t* q, int64_t panel_q, const uint16_t* x, int64_t x_stride,
                       int64_t n, int64_t k0, int64_t kc, float* y, int64_t rows, int64_t r,
                       const __mmask16* mask, PanelPrefetch& ahead) {
  constexpr int T = kTokens;
  ahead.plan(n / T);
  int64_t t = 0;
  for (; t + T <= n; t += T) {
    ahead.step();
    panel_tile<NP, T>(q, panel_q, x, x_stride, n, t, k0, kc, y, rows, r, mask);
  }
  ahead.finish();
  switch (n - t) {
    case 7: panel_tile<NP, 7>(q, panel_q, x, x_stride, n, t, k0, kc, y, rows, r, mask); break;
    case 6: panel_tile<NP, 6>(q, panel_q, x, x_stride, n, t, k0, kc, y, rows, r, mask); break;
    case 5: panel_tile<NP, 5>(q, panel_q, x, x_stride, n, t, k0, kc, y, rows, r, mask); break;
    case 4: panel_tile<NP, 4>(q, panel_q, x, x_stride, n, t, k0, kc, y, rows, r, mask); break;
    case 3: panel_tile<NP, 3>(q, panel_q, x, x_stride, n, t, k0, kc, y, rows, r, mask); break;
    case 2: panel_tile<NP, 2>(q, panel_q, x, x_stride, n, t, k0, kc, y, rows, r, mask); break;
    case 1: panel_tile<NP, 1>(q, panel_q, x, x_stride, n, t, k0, kc, y, rows, r, mask); break;
    default: break;
  }
}

}  // namespace

void matvec_bf16dot_rows(const MatrixRef& w, const uint16_t* x, float* y, int64_t r0, int64_t r1) {
  const int64_t cols = w.cols;
  for (int64_t r = r0; r < r1; ++r) {
    const uint16_t* row = w.row<uint16_t>(r);
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t k = 0;
    for (; k + 128 <= cols; k += 128) {
      a0 = dot(a0, _mm512_loadu_si512(row + k), _mm512_loadu_si512(x + k));
      a1 = dot(a1, _mm512_loadu_si512(row + k + 32), _mm512_loadu_si512(x + k + 32));
      a2 = dot(a2, _mm512_loadu_si512(row + k + 64), _mm512_loadu_si512(x + k + 64));
      a3 = dot(a3, _mm512_loadu_si512(row + k + 96), _mm512_loadu_si512(x + k + 96));
    }
    for (; k < cols; k += 32)
      a0 = dot(a0, _mm512_maskz_loadu_epi16(mask32(cols - k), row + k), _mm512_loadu_si512(x + k));
    y[r] = avx512::hsum(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  }
}

void matmul_bf16dot_rows(const MatrixRef& w, const uint16_t* x, int64_t x_stride, int64_t n,
                         float* y, int64_t r0, int64_t r1, void* buf) {
  const int64_t panel_q = panel_cols(w.cols, kBf16PanelCols) * 32;
  uint8_t* q = static_cast<uint8_t*>(buf);
  for (int64_t r = r0; r < r1; r += 16 * kPanels) {
    const int np = r1 - r > 16 ? kPanels : 1;
    __mmask16 mask[kPanels];
    for (int p = 0; p < kPanels; ++p) mask[p] = avx512::tail_mask(r1 - r - 16 * p);
    for (int64_t k0 = 0; k0 < w.cols; k0 += kBf16PanelCols) {
      const int64_t kc = w.cols - k0 < kBf16PanelCols ? w.cols - k0 : kBf16PanelCols;
      for (int p = 0; p < np; ++p) pack_panel(w, r + 16 * p, r1, k0, kc, q + p * panel_q);
      PanelPrefetch ahead(w, r, r1, 16 * kPanels, k0, kc, kBf16PanelCols);
      if (np == 2)
        panels_all_tokens<2>(q, panel_q, x, x_stride, n, k0, kc, y, w.rows, r, mask, ahead);
      else
        panels_all_tokens<1>(q, panel_q, x, x_stride, n, k0, kc, y, w.rows, r, mask, ahead);
    }
  }
}

}  // namespace cpu
}  // namespace mixcon
MIXCON_TARGET_REGION_END

#else
namespace mixcon {
namespace cpu {
// Not an x86 build: cpu_has_avx512_bf16() is false, so nothing calls these.
void matvec_bf16dot_rows(const MatrixRef&, const uint16_t*, float*, int64_t, int64_t) {
  fail(Status::Internal, "the AVX512_BF16 kernels are not built for this CPU");
}
void matmul_bf16dot_rows(const MatrixRef&, const uint16_t*, int64_t, int64_t, float*, int64_t,
                         int64_t, void*) {
  fail(Status::Internal, "the AVX512_BF16 kernels are not built for this CPU");
}
}  // namespace cpu
}  // namespace mixcon
#endif  // MIXCON_HAVE_AVX512_PATH
