// y[x.n, w.rows] = x · wᵀ for q8_0 weights and activations already rounded
// to int8 (q8_activations.h): by VNNI where the CPU has it (AVX-512 VNNI on
// the AVX-512 path, AVX-VNNI on the AVX2 path), else AVX2 (vpmaddubsw),
// else portable; rows split over cx.n_threads (results do not
// depend on the count). cx.scratch: matmul_scratch_floats(w.cols) per thread
// (matmul_vnni.h).
#pragma once

#include "core/backend.h"
#include "kernels/cpu/q8_activations.h"

namespace mixcon {
namespace cpu {

void matmul_q8_act(const MatrixRef& w, const Q8Activations& x, float* y, const ExecContext& cx);
// Rows [r0, r1) of it (r0 a multiple of 16); buf: this share's scratch.
void matmul_q8_act_rows(const MatrixRef& w, const Q8Activations& x, float* y, int64_t r0,
                        int64_t r1, void* buf);

// Tests only: false makes matmul_q8_act skip the VNNI kernels (so the AVX2
// vpmaddubsw ones run on a CPU that has VNNI). Not while kernels run.
void allow_vnni(bool allowed);

}  // namespace cpu
}  // namespace mixcon
