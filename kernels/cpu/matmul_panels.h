// The prefill products of gemm_panel_simd.h on the paths without AVX-512:
// AVX2 (matmul_avx2.cpp; call only when the CPU has AVX2, FMA and F16C) and
// portable (matmul_portable.cpp; any CPU). The AVX-512 one and the tiling
// constants are in matmul_avx512.h; the matrix-vector products of these
// paths are the dot kernels of matmul.cpp. The caller splits rows over
// threads (matmul_group.h).
#pragma once

#include <cstdint>

#include "core/backend.h"

namespace mixcon {
namespace cpu {

// y[t, r] = w[r] · x[t] for r in [r0, r1), every t < n; buf holds
// avx512_gemm_scratch_floats(w.cols) floats (matmul_avx512.h; the AVX2
// panels take half of it, the portable ones a quarter).
void matmul_rows_avx2(const MatrixRef& w, const float* x, int64_t n, float* y, int64_t r0,
                      int64_t r1, float* buf);
void matmul_rows_portable(const MatrixRef& w, const float* x, int64_t n, float* y, int64_t r0,
                          int64_t r1, float* buf);

}  // namespace cpu
}  // namespace mixcon
