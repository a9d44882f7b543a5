// Products of bf16 weights with activations rounded to bf16 (the session
// option activation_dtype = BF16, mixcon.h): each activation rounded to
// nearest even once, then multiplied with the weights. With AVX512_BF16 the
// products run as vdpbf16ps (32 multiply-adds per instruction, twice the f32
// FMA rate: matmul_bf16dot.cpp); elsewhere the exact float kernels run on
// the rounded values, so every CPU computes the same products up to float
// rounding, and none runs slower than with exact activations.
#pragma once

#include <cstdint>

#include "core/backend.h"

namespace mixcon {
namespace cpu {

// Bytes of ExecContext::act for n rows of up to cols activations.
int64_t bf16_activation_bytes(int64_t n, int64_t cols);
// y[n, w.rows] = round_bf16(x[n, w.cols]) · wᵀ for bf16 weights; cx.act holds
// bf16_activation_bytes(n, w.cols) bytes.
void matmul_bf16_act(const MatrixRef& w, const float* x, int64_t n, float* y, const ExecContext& cx);

// x rounded to bf16 into cx.act, once for every product of a group: bf16
// rows for vdpbf16ps (AVX512_BF16 on the AVX-512 path) or, elsewhere, the
// rounded values as floats for the exact kernels.
struct Bf16Input {
  const float* rounded = nullptr;
  const uint16_t* bf16 = nullptr;
  int64_t stride = 0;  // values from one bf16 row to the next (a multiple of 32, zero-padded)
};
Bf16Input round_activations_bf16(const float* x, int64_t n, int64_t cols, const ExecContext& cx);

bool cpu_has_avx512_bf16();
// Tests only: false makes matmul_bf16_act skip vdpbf16ps (the float kernels
// on rounded values run instead). Not while kernels run.
void allow_bf16_dot(bool allowed);

}  // namespace cpu
}  // namespace mixcon
