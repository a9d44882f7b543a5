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
#include "kernels/cpu/cpu_features.h"

namespace mixcon {
namespace cpu {

// The products themselves run through matmul_group (matmul_group.h) with
// cx.act_dtype = BF16. Bytes of ExecContext::act for n rows of up to cols
// activations:
int64_t bf16_activation_bytes(int64_t n, int64_t cols);

// x rounded to bf16 into cx.act, once for every product of a group: bf16
// rows for vdpbf16ps (AVX512_BF16 on the AVX-512 path) or, elsewhere, the
// rounded values as floats for the exact kernels.
struct Bf16Input {
  const float* rounded = nullptr;
  const uint16_t* bf16 = nullptr;
  int64_t stride = 0;  // values from one bf16 row to the next (a multiple of 32, zero-padded)
};
Bf16Input round_activations_bf16(const float* x, int64_t n, int64_t cols, const ExecContext& cx);

// Tests only: false makes the bf16 products skip vdpbf16ps (the float kernels
// on rounded values run instead). Not while kernels run.
void allow_bf16_dot(bool allowed);

}  // namespace cpu
}  // namespace mixcon
