// Activations rounded to int8 for products with q8_0 weights (the session
// option activation_dtype = Q8_0, mixcon.h): each row of x is cut into the
// q8_0 weights' 32-value blocks, d = max|x| / 127 per block, q = x / d
// rounded to nearest even. A block's dot product is then an exact integer
// sum, scaled once by d_w·d_x:
//
//   y = Σ_b (d_w[b]·d_x[b]) · Σ_j q_w[b,j]·q_x[b,j]      (canonical order:
//       one float accumulator, blocks in order, a fused multiply-add each)
//
// which the VNNI instruction vpdpbusd computes 64 products at a time. It
// multiplies unsigned by signed bytes, so the kernels flip the weights'
// sign bit (q_w + 128, unsigned) and start each sum from -128·Σ q_x, kept
// here per block (matrix-matrix tiles: one lane per weight row) and per
// 4-value group (matrix-vector: one lane per group).
//
// Error: each activation moves by at most d_x/2 (1/254 of its block's
// largest), so a product's relative error is ~1e-3; the exact float path
// stays the default (MODEL.md §5's 1e-4 holds between prefill and decode
// here too: both round the same activations the same way).
#pragma once

#include <cstdint>

namespace mixcon {
namespace cpu {

// n rows of `cols` activations (cols % 32 == 0), carved from one buffer.
struct Q8Activations {
  int64_t n = 0;
  int64_t cols = 0;
  int8_t* q = nullptr;          // [n][cols]
  float* d = nullptr;           // [n][cols/32]   block scales
  int32_t* bias_block = nullptr;  // [n][cols/32] -128·Σ q of each block
  int32_t* bias_group = nullptr;  // [n][cols/4]  -128·Σ q of each 4 values

  int64_t blocks() const { return cols / 32; }
  const int8_t* row_q(int64_t t) const { return q + t * cols; }
  const float* row_d(int64_t t) const { return d + t * blocks(); }
  const int32_t* row_bias_block(int64_t t) const { return bias_block + t * blocks(); }
  const int32_t* row_bias_group(int64_t t) const { return bias_group + t * (cols / 4); }
};

// Bytes of buffer n rows of cols activations need (64-byte aligned pieces).
int64_t q8_activation_bytes(int64_t n, int64_t cols);
// The rows laid out in `buf` (q8_activation_bytes(n, cols) bytes, 64-aligned).
Q8Activations q8_activations_in(void* buf, int64_t n, int64_t cols);
// Rounds x[n][cols] into `out` (laid out for n, cols), rows split over threads.
// Every kernel path rounds bit for bit alike.
void quantize_q8_activations(const float* x, Q8Activations& out, int n_threads);

}  // namespace cpu
}  // namespace mixcon
