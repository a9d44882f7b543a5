// Products of q8_0 weights with activations rounded to int8
// (q8_activations.h): the portable and AVX2 kernels, and the dispatch that
// also picks the VNNI ones (q8_panel_simd.h: matmul_vnni.cpp,
// matmul_avxvnni.cpp).
//
// Every block's integer sum is exact on every path; what differs is only
// the order of the float sum over blocks. Portable and VNNI prefill use the
// canonical order (bitwise equal); decode and the AVX2 kernels sum in
// vector lanes (equal within float rounding). Without VNNI, AVX2 widens to
// int16 and the per-block scaling dominates: such a CPU prefills slower
// with int8 activations than with exact float ones (measured 0.8x).
#include "kernels/cpu/matmul_q8_act.h"

#include <atomic>
#include <cmath>

#include "core/common/status.h"
#include "core/format/dtype.h"
#include "kernels/cpu/avx2_math.h"
#include "kernels/cpu/convert.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/matmul_avx512.h"
#include "kernels/cpu/matmul_group.h"
#include "kernels/cpu/matmul_vnni.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MIXCON_X86 1
#endif

namespace mixcon {
namespace cpu {
// Both sizes grow linearly with the panel's columns (multiples of 32).
static_assert(kVnniPanelCols <= kGemmKc &&
                  vnni_scratch_bytes(32) <= avx512_gemm_scratch_floats(32) * 4,
              "the VNNI panels fit the per-thread matmul scratch");

namespace {

// The canonical order: block after block, one fused multiply-add each.
float dot_portable(const BlockQ8_0* w, const int8_t* xq, const float* dx, int64_t nb) {
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b, xq += 32) {
    int32_t s = 0;
    for (int j = 0; j < 32; ++j) s += int32_t(w[b].qs[j]) * int32_t(xq[j]);
    acc = std::fma(static_cast<float>(s), f16_bits_to_f32(w[b].d) * dx[b], acc);
  }
  return acc;
}

#ifdef MIXCON_X86
#define MIXCON_AVX2_Q8 __attribute__((target("avx2,fma,f16c")))
#define MIXCON_AVX2_Q8_INLINE MIXCON_AVX2_Q8 __attribute__((always_inline)) inline


// Without VNNI: int8 widened to int16, pmaddwd sums pairs into int32
// (exact). R weight rows × T tokens: each block's weights are widened once
// for the T tokens, each token's once for the R rows; one 8-lane float
// accumulator per output, reduced at the end.
template <int R, int T>
MIXCON_AVX2_Q8_INLINE void tile_avx2(const MatrixRef& w, int64_t r0, const Q8Activations& x,
                                     int64_t t0, float* y) {
  const int64_t nb = w.cols / 32;
  const BlockQ8_0* rows[R];
  for (int r = 0; r < R; ++r) rows[r] = w.row<BlockQ8_0>(r0 + r);
  __m256 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m256i wl[R], wh[R];
    float dw[R];
    for (int r = 0; r < R; ++r) {
      wl[r] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[r][b].qs)));
      wh[r] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[r][b].qs + 16)));
      dw[r] = _cvtsh_ss(rows[r][b].d);
    }
    for (int t = 0; t < T; ++t) {
      const int8_t* xq = x.row_q(t0 + t) + b * 32;
      const __m256i x_lo = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(xq)));
      const __m256i x_hi = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(xq + 16)));
      const float dx = x.row_d(t0 + t)[b];
      for (int r = 0; r < R; ++r) {
        const __m256i s = _mm256_add_epi32(_mm256_madd_epi16(wl[r], x_lo), _mm256_madd_epi16(wh[r], x_hi));
        acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(dw[r] * dx), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) y[(t0 + t) * w.rows + r0 + r] = avx2::hsum(acc[r][t]);
}

template <int R>
MIXCON_AVX2_Q8 void rows_all_tokens_avx2(const MatrixRef& w, int64_t r0, const Q8Activations& x,
                                         float* y) {
  int64_t t = 0;
  for (; t + 4 <= x.n; t += 4) tile_avx2<R, 4>(w, r0, x, t, y);
  for (; t < x.n; ++t) tile_avx2<R, 1>(w, r0, x, t, y);
}

MIXCON_AVX2_Q8 void matmul_rows_avx2(const MatrixRef& w, const Q8Activations& x, float* y,
                                     int64_t r0, int64_t r1) {
  int64_t r = r0;
  for (; r + 2 <= r1; r += 2) rows_all_tokens_avx2<2>(w, r, x, y);
  if (r < r1) rows_all_tokens_avx2<1>(w, r, x, y);
}
#endif  // MIXCON_X86

void matmul_rows_portable(const MatrixRef& w, const Q8Activations& x, float* y, int64_t r0,
                          int64_t r1) {
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t t = 0; t < x.n; ++t)
      y[t * w.rows + r] = dot_portable(w.row<BlockQ8_0>(r), x.row_q(t), x.row_d(t), x.blocks());
}

std::atomic<bool> g_vnni_allowed{true};

}  // namespace

void allow_vnni(bool allowed) { g_vnni_allowed.store(allowed, std::memory_order_relaxed); }

void matmul_q8_act_rows(const MatrixRef& w, const Q8Activations& x, float* y, int64_t r0,
                        int64_t r1, void* buf) {
  if (w.dtype != DType::Q8_0 || w.cols != x.cols)
    fail(Status::Internal, "matmul_q8_act: needs q8_0 weights as wide as the activations");
  const KernelPath path = kernel_path();
  // AVX-512 VNNI on the AVX-512 path; AVX-VNNI on the AVX2 path, or on the
  // AVX-512 path of a CPU with it but not AVX-512 VNNI.
  const bool allowed = g_vnni_allowed.load(std::memory_order_relaxed);
  const bool vnni = allowed && path == KernelPath::Avx512 && cpu_has_avx512_vnni();
  if (vnni) {
    if (x.n == 1) return matvec_q8act_rows_vnni(w, x, y, r0, r1);
    return matmul_q8act_rows_vnni(w, x, y, r0, r1, buf);
  }
#ifdef MIXCON_X86
  if (allowed && path != KernelPath::Portable && cpu_has_avx_vnni()) {
    if (x.n == 1) return matvec_q8act_rows_avxvnni(w, x, y, r0, r1);
    return matmul_q8act_rows_avxvnni(w, x, y, r0, r1, buf);
  }
  if (path != KernelPath::Portable) return matmul_rows_avx2(w, x, y, r0, r1);
#endif
  (void)path;
  matmul_rows_portable(w, x, y, r0, r1);
}

void matmul_q8_act(const MatrixRef& w, const Q8Activations& x, float* y, const ExecContext& cx) {
  Product p;
  p.w = &w;
  p.n = x.n;
  p.y = y;
  p.q8 = &x;
  run_products(&p, 1, cx);
}

}  // namespace cpu
}  // namespace mixcon
