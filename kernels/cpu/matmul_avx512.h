// AVX-512 matrix products over a range of output rows (matmul_avx512.cpp).
// Call only when the CPU has AVX512F/BW/VL (cpu_features.h); the caller
// splits rows over threads (matmul_group.h).
#pragma once

#include <cstdint>

#include "core/backend.h"

namespace mixcon {
namespace cpu {

// y[r] = w[r] · x for r in [r0, r1).
void matvec_rows_avx512(const MatrixRef& w, const float* x, float* y, int64_t r0, int64_t r1);
// y[t, r] = w[r] · x[t] for r in [r0, r1), every t < n; buf holds
// avx512_gemm_scratch_floats(w.cols) floats (the packed panels).
void matmul_rows_avx512(const MatrixRef& w, const float* x, int64_t n, float* y, int64_t r0,
                        int64_t r1, float* buf);

// The prefill tiling: kGemmPanels panels of 16 weight rows, packed
// kGemmKc columns at a time, times kGemmTokens tokens per register tile.
//
// kGemmKc covers whole rows up to 2048 columns (256 KiB of f32 panels, from
// L2): against 256-column panels that stayed in L1, 512-token prefill
// measured +4% (f16) to +7% (f32) A/B in one process, the same bits (each
// output sums its row in k order either way): every column range had cost
// each tile its setup and a reload and store of its outputs. The int8 and
// bf16 panels (matmul_vnni.h, matmul_bf16dot.h) measured the same way.
constexpr int kGemmPanels = 2;
constexpr int64_t kGemmKc = 2048;
constexpr int kGemmTokens = 8;

// Columns a product's panels hold: its rows up to kGemmKc, rounded up to 32
// (a q8_0 block; 16 bf16 pairs), and the floats of its kGemmPanels f32
// panels — the most per column of any packed kernel (int8 and bf16 panels
// fit in them: matmul_q8_act.cpp, matmul_bf16_act.cpp). A model's narrow
// products so need no more scratch than their rows.
constexpr int64_t panel_cols(int64_t cols, int64_t limit) {
  return ((cols < limit ? cols : limit) + 31) / 32 * 32;
}
constexpr int64_t gemm_panel_cols(int64_t cols) { return panel_cols(cols, kGemmKc); }
constexpr int64_t avx512_gemm_scratch_floats(int64_t cols) {
  return kGemmPanels * 16 * gemm_panel_cols(cols);
}

}  // namespace cpu
}  // namespace mixcon
