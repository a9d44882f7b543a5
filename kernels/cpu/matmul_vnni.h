// q8_0 weights × int8-rounded activations (q8_activations.h) by the panel
// kernels of q8_panel_simd.h: AVX-512 VNNI (matmul_vnni.cpp; call only when
// cpu_has_avx512_vnni() and the AVX-512 path is in use), AVX-VNNI
// (matmul_avxvnni.cpp; only when cpu_has_avx_vnni()) and plain AVX2
// (matmul_avx2_int8.cpp; on the AVX2 or AVX-512 path). The caller splits
// rows over threads.
#pragma once

#include <cstdint>

#include "core/backend.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/q8_activations.h"

namespace mixcon {
namespace cpu {


// Columns packed per panel in the prefill kernels: whole rows up to 2048
// (as kGemmKc, matmul_avx512.h): +5.7% int8 prefill against 512 columns,
// the same bits. The per-thread buffer holds two panels of 16 rows (AVX-512)
// or one of 8 (AVX-VNNI, AVX2) of c = min(cols, kVnniPanelCols) columns: c·16
// bytes of weights and c/2 floats of scales per 16-row panel.
constexpr int64_t kVnniPanelCols = 2048;
constexpr int64_t vnni_scratch_bytes(int64_t panel_cols) {
  return 2 * (panel_cols * 16 + panel_cols / 2 * 4);
}

// y[r] = w[r] · x row 0, r in [r0, r1) (decode).
void matvec_q8act_rows_vnni(const MatrixRef& w, const Q8Activations& x, float* y, int64_t r0,
                            int64_t r1);
// y[t, r] = w[r] · x row t, every t < x.n, r in [r0, r1) (prefill).
void matmul_q8act_rows_vnni(const MatrixRef& w, const Q8Activations& x, float* y, int64_t r0,
                            int64_t r1, void* buf);
// The same with AVX-VNNI (8 rows per panel).
void matvec_q8act_rows_avxvnni(const MatrixRef& w, const Q8Activations& x, float* y, int64_t r0,
                               int64_t r1);
void matmul_q8act_rows_avxvnni(const MatrixRef& w, const Q8Activations& x, float* y, int64_t r0,
                               int64_t r1, void* buf);
// The same with AVX2 alone (8 rows per panel; vpmaddubsw + vpmaddwd).
void matvec_q8act_rows_avx2(const MatrixRef& w, const Q8Activations& x, float* y, int64_t r0,
                            int64_t r1);
void matmul_q8act_rows_avx2(const MatrixRef& w, const Q8Activations& x, float* y, int64_t r0,
                            int64_t r1, void* buf);

}  // namespace cpu
}  // namespace mixcon
