// y[x.n, w.rows] = x · wᵀ for q8_0 weights and activations already rounded
// to int8 (q8_activations.h): AVX-512 VNNI where the CPU has it, else AVX2
// (int16 pair products), else portable; rows split over cx.n_threads
// (results do not depend on the count). cx.scratch: kVnniScratchBytes per
// thread (matmul_vnni.h).
#pragma once

#include "core/backend.h"
#include "kernels/cpu/q8_activations.h"

namespace mixcon {
namespace cpu {

void matmul_q8_act(const MatrixRef& w, const Q8Activations& x, float* y, const ExecContext& cx);

}  // namespace cpu
}  // namespace mixcon
