// Mixture-of-experts routing (top-k + softmax over the chosen, "topk_softmax")
// and the row gather/scatter the dispatch uses, so only chosen experts run.
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/moe_route_token.h"

namespace mixcon {
namespace cpu {

void moe_route(const float* logits, int64_t n, int64_t n_experts, int64_t top_k, int32_t* ids,
               float* weights) {
  for (int64_t t = 0; t < n; ++t)
    route_token(logits + t * n_experts, n_experts, top_k, ids + t * top_k, weights + t * top_k);
}

void gather_rows(const float* src, int64_t d, const int32_t* rows, int64_t count, float* dst,
                 int n_threads) {
  parallel_for(threads_for(count * d, n_threads), count, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      const float* s = src + static_cast<int64_t>(rows[i]) * d;
      float* o = dst + i * d;
      for (int64_t j = 0; j < d; ++j) o[j] = s[j];
    }
  });
}

void scatter_add_rows(const float* src, int64_t d, const int32_t* rows, const float* scale,
                      int64_t count, float* dst, int n_threads) {
  // Split over column blocks, not rows: a row index may repeat, and each
  // column then still sees its additions in order i = 0, 1, ...
  constexpr int64_t kBlock = 256;
  const int64_t n_blocks = (d + kBlock - 1) / kBlock;
  parallel_for(threads_for(count * d, n_threads), n_blocks, [&](int64_t begin, int64_t end, int) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t j0 = b * kBlock, j1 = j0 + kBlock < d ? j0 + kBlock : d;
      for (int64_t i = 0; i < count; ++i) {
        float* o = dst + static_cast<int64_t>(rows[i]) * d;
        const float* s = src + i * d;
        const float c = scale[i];
        for (int64_t j = j0; j < j1; ++j) o[j] += c * s[j];
      }
    }
  });
}

}  // namespace cpu
}  // namespace mixcon
