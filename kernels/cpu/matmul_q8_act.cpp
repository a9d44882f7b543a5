// Products of q8_0 weights with activations rounded to int8
// (q8_activations.h): the portable kernel, and the dispatch to the SIMD
// ones (q8_panel_simd.h: matmul_vnni.cpp, matmul_avxvnni.cpp,
// matmul_avx2_int8.cpp).
//
// Every block's integer sum is exact on every path; what differs is only
// the order of the float sum over blocks. Every prefill kernel uses the
// canonical order (bitwise equal on every path); decode sums in vector
// lanes (equal within float rounding).
#include "kernels/cpu/matmul_q8_act.h"

#include <atomic>
#include <cmath>

#include "core/common/status.h"
#include "core/format/dtype.h"
#include "kernels/cpu/convert.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/matmul_avx512.h"
#include "kernels/cpu/matmul_group.h"
#include "kernels/cpu/matmul_vnni.h"

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
  // AVX-512 path of a CPU with it but not AVX-512 VNNI; else AVX2 alone.
  const bool allowed = g_vnni_allowed.load(std::memory_order_relaxed);
  const bool vnni = allowed && path == KernelPath::Avx512 && cpu_has_avx512_vnni();
  if (vnni) {
    if (x.n == 1) return matvec_q8act_rows_vnni(w, x, y, r0, r1);
    return matmul_q8act_rows_vnni(w, x, y, r0, r1, buf);
  }
  if (path != KernelPath::Portable) {
    const bool avx_vnni = allowed && cpu_has_avx_vnni();
    if (x.n == 1)
      return avx_vnni ? matvec_q8act_rows_avxvnni(w, x, y, r0, r1) : matvec_q8act_rows_avx2(w, x, y, r0, r1);
    return avx_vnni ? matmul_q8act_rows_avxvnni(w, x, y, r0, r1, buf)
                    : matmul_q8act_rows_avx2(w, x, y, r0, r1, buf);
  }
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
