// Portable matrix-matrix products over a range of output rows
// (matmul_portable.cpp): any CPU; the caller splits rows over threads
// (matmul_group.h). The portable matrix-vector products are the dot kernels
// of matmul.cpp.
#pragma once

#include <cstdint>

#include "core/backend.h"

namespace mixcon {
namespace cpu {

// y[t, r] = w[r] · x[t] for r in [r0, r1), every t < n; buf holds
// avx512_gemm_scratch_floats(w.cols) floats (matmul_avx512.h; the portable
// panels take a quarter of it).
void matmul_rows_portable(const MatrixRef& w, const float* x, int64_t n, float* y, int64_t r0,
                          int64_t r1, float* buf);

}  // namespace cpu
}  // namespace mixcon
