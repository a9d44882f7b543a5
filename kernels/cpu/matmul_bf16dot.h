// bf16 weights × bf16 activations by AVX512_BF16's vdpbf16ps
// (matmul_bf16dot.cpp). Call only when cpu_has_avx512_bf16() and the
// AVX-512 path is in use; the caller splits rows over threads.
//
// Activations come as bf16 rows of `x_stride` values (a multiple of 32,
// zero past cols), so every load of a pair of activations is whole.
#pragma once

#include <cstdint>

#include "core/backend.h"

namespace mixcon {
namespace cpu {

// Columns packed per panel of 16 rows: whole rows up to 2048 (as kGemmKc,
// matmul_avx512.h): +4.6-5.6% prefill against 256 columns. The per-thread
// buffer holds two panels of c columns (c = min(cols, kBf16PanelCols)
// rounded up to 32), c·32 bytes each.
constexpr int64_t kBf16PanelCols = 2048;
constexpr int64_t bf16_scratch_bytes(int64_t panel_cols) { return 2 * panel_cols * 32; }

// y[r] = w[r] · x row 0 (decode), r in [r0, r1).
void matvec_bf16dot_rows(const MatrixRef& w, const uint16_t* x, float* y, int64_t r0, int64_t r1);
// y[t, r] = w[r] · x row t for t < n (prefill), r in [r0, r1).
void matmul_bf16dot_rows(const MatrixRef& w, const uint16_t* x, int64_t x_stride, int64_t n,
                         float* y, int64_t r0, int64_t r1, void* buf);

}  // namespace cpu
}  // namespace mixcon
