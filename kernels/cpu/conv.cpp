// Causal depthwise convolution with SiLU (MODEL.md §4 (2)), over a chunk and
// the window of the previous K-1 inputs.
//
// Channels are independent; a block of kBlock neighbouring channels is the
// unit of work, and inside it every loop runs over contiguous channels (the
// compiler vectorizes them) with the taps outside: a per-channel walk over
// tokens read x with a stride of a whole row per value and stayed scalar.
// Each output still sums b + w_0·x_0 + w_1·x_1 + ... in tap order, so every
// clone and every blocking gives the same bits.
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/thread_pool.h"

namespace mixcon {
namespace cpu {

namespace {

constexpr int64_t kBlock = 64;  // channels per unit of work
constexpr int64_t kTaps = 8;    // taps transposed at a time (K is usually 4)

// Channels [c0, c0 + nc) over the chunk. acc and wt are the block's
// accumulators and its taps' weights, transposed to [tap][channel].
__attribute__((target_clones("avx512f", "avx2", "default")))
void conv_block(const CausalConvArgs& a, int64_t c0, int64_t nc) {
  const int64_t C = a.channels, K = a.kernel, K1 = a.kernel - 1;
  float acc[kBlock], wt[kTaps][kBlock];
  // Input row at chunk offset t (negative: from the window), from channel c0.
  auto row = [&](int64_t t) -> const float* {
    return t < 0 ? a.window + (K1 + t) * C + c0 : a.x + t * a.x_stride + c0;
  };
  for (int64_t t = 0; t < a.n_tokens; ++t) {
    for (int64_t c = 0; c < nc; ++c) acc[c] = a.b[c0 + c];
    for (int64_t j0 = 0; j0 < K; j0 += kTaps) {
      const int64_t nj = K - j0 < kTaps ? K - j0 : kTaps;
      if (t == 0 || nj < K) {  // one tap group: transposed once per call
        for (int64_t j = 0; j < nj; ++j)
          for (int64_t c = 0; c < nc; ++c) wt[j][c] = a.w[(c0 + c) * K + j0 + j];
      }
      for (int64_t j = 0; j < nj; ++j) {
        const float* x = row(t - K1 + j0 + j);
        for (int64_t c = 0; c < nc; ++c) acc[c] += wt[j][c] * x[c];
      }
    }
    float* out = a.out + t * C + c0;
    for (int64_t c = 0; c < nc; ++c) out[c] = siluf(acc[c]);
  }
  // Slot j takes the input at n-K1+j; it reads slot n+j >= j, never one
  // already overwritten, so the shift works in place.
  for (int64_t j = 0; j < K1; ++j) {
    const float* src = row(a.n_tokens - K1 + j);
    float* dst = a.window + j * C + c0;
    for (int64_t c = 0; c < nc; ++c) dst[c] = src[c];
  }
}

}  // namespace

void causal_conv(const CausalConvArgs& a, int n_threads) {
  const int64_t C = a.channels;
  const int64_t blocks = (C + kBlock - 1) / kBlock;
  parallel_for(threads_for(a.n_tokens * C * a.kernel, n_threads), blocks,
               [&](int64_t begin, int64_t end, int) {
                 for (int64_t b = begin; b < end; ++b)
                   conv_block(a, b * kBlock, C - b * kBlock < kBlock ? C - b * kBlock : kBlock);
               });
}

}  // namespace cpu
}  // namespace mixcon
