// Mixture-of-experts routing (top-k + softmax over the chosen, "topk_softmax")
// and the row gather/scatter the dispatch uses, so only chosen experts run.
#include <cmath>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/thread_pool.h"

namespace mixcon {
namespace cpu {

void moe_route(const float* logits, int64_t n, int64_t n_experts, int64_t top_k, int32_t* ids,
               float* weights) {
  for (int64_t t = 0; t < n; ++t) {
    const float* r = logits + t * n_experts;
    int32_t* id = ids + t * top_k;
    float* w = weights + t * top_k;
    // k passes of "largest not yet chosen", scanning upwards with a strict >,
    // so among equal logits the lower index wins (MODEL.md §2). top_k is small.
    for (int64_t k = 0; k < top_k; ++k) {
      int64_t best = -1;
      for (int64_t e = 0; e < n_experts; ++e) {
        bool taken = false;
        for (int64_t j = 0; j < k; ++j) taken |= id[j] == e;
        if (taken) continue;
        if (best < 0 || r[e] > r[best]) best = e;
      }
      id[k] = static_cast<int32_t>(best);
    }
    // Ascending expert order, so every path adds the experts' outputs in the
    // same order (insertion sort: k is small).
    for (int64_t k = 1; k < top_k; ++k)
      for (int64_t j = k; j > 0 && id[j - 1] > id[j]; --j) {
        const int32_t tmp = id[j];
        id[j] = id[j - 1];
        id[j - 1] = tmp;
      }
    float m = r[id[0]];
    for (int64_t k = 1; k < top_k; ++k) m = r[id[k]] > m ? r[id[k]] : m;
    double sum = 0.0;
    for (int64_t k = 0; k < top_k; ++k) {
      w[k] = std::exp(r[id[k]] - m);
      sum += w[k];
    }
    for (int64_t k = 0; k < top_k; ++k) w[k] = static_cast<float>(w[k] / sum);
  }
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
