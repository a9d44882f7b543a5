// Matrix products run as one parallel pass: every product of a group (the
// q, k and v projections of one input; an FFN's gate and up; a Conba
// layer's selection projections) splits its output rows over the same
// thread shares, so a group costs one wake of the thread team instead of one
// per product, and a narrow-activation group rounds its input once.
//
// Prefill shares are contiguous multiples of 16 rows (share_rows16); decode
// cuts the group into ~kMatvecUnitBytes units of whole 16-row blocks that the
// threads balance at run time (parallel_balanced). Every kernel computes a
// row the same way whichever thread holds it, so results are bitwise
// independent of the thread count, the grouping and the balance.
#pragma once

#include <cstdint>

#include "core/backend.h"
#include "kernels/cpu/q8_activations.h"

namespace mixcon {
namespace cpu {

// One product y[n, w.rows] = x[n, w.cols] · wᵀ and the input its kernel
// reads: float32 x (exact, or bf16-rounded values), int8 rows (q8_0
// weights, q8_activations.h) or bf16 rows (bf16 weights, vdpbf16ps).
struct Product {
  const MatrixRef* w = nullptr;
  int64_t n = 0;
  float* y = nullptr;
  const float* x = nullptr;
  const Q8Activations* q8 = nullptr;
  const uint16_t* bf16 = nullptr;
  int64_t bf16_stride = 0;
};

// Runs `count` products in one pass of cx.n_threads shares (one share when
// the whole group is too small to be worth waking the team: under
// kMatvecParallelMinBytes of weights for decode, kParallelMinWork
// multiply-adds for prefill); cx.scratch holds matmul_scratch_floats per
// thread when n > 1.
void run_products(const Product* p, int count, const ExecContext& cx);

// y[i] = x · w[i]ᵀ for i < count (every w[i].cols the same), with cx's
// narrow activations where cx.act_dtype matches a weight's dtype (rounded
// once for the group). At most kMaxGroup products.
constexpr int kMaxGroup = 8;
void matmul_group(const MatrixRef* w, int count, const float* x, int64_t n, float* const* y,
                  const ExecContext& cx);

}  // namespace cpu
}  // namespace mixcon
