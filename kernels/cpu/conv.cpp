// Causal depthwise convolution with SiLU (MODEL.md §4 (2)), over a chunk and
// the window of the previous K-1 inputs. Channels are independent: one
// channel is one unit of work.
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/thread_pool.h"

namespace mixcon {
namespace cpu {

void causal_conv(const CausalConvArgs& a, int n_threads) {
  const int64_t n = a.n_tokens, C = a.channels, K = a.kernel, K1 = a.kernel - 1;
  parallel_for(threads_for(n * C * K, n_threads), C, [&](int64_t begin, int64_t end, int) {
    for (int64_t c = begin; c < end; ++c) {
      // Input at chunk offset t (negative: from the window).
      auto in = [&](int64_t t) -> float {
        return t < 0 ? a.window[(K1 + t) * C + c] : a.x[t * a.x_stride + c];
      };
      const float* w = a.w + c * K;
      for (int64_t t = 0; t < n; ++t) {
        float acc = a.b[c];
        for (int64_t j = 0; j < K; ++j) acc += w[j] * in(t - K1 + j);
        a.out[t * C + c] = siluf(acc);
      }
      // Slot j takes the input at n-K1+j; it reads slot n+j >= j, never one
      // already overwritten, so the shift works in place.
      for (int64_t j = 0; j < K1; ++j) a.window[j * C + c] = in(n - K1 + j);
    }
  });
}

}  // namespace cpu
}  // namespace mixcon
