// Causal softmax attention of a chunk of queries over the KV cache, with
// grouped KV heads. One (token, head) pair is one unit of work, computed in a
// single pass with a running maximum (online softmax), so its cost is one read
// of the cached keys and values and it needs no scratch that grows with the
// context.
#include <omp.h>

#include <cmath>
#include <limits>

#include "kernels/cpu/cpu_kernels.h"

namespace mixcon {
namespace cpu {

void attention(const AttentionArgs& a, const ExecContext& cx) {
  const int64_t hd = a.head_dim;
  const int64_t group = a.n_heads / a.n_kv_heads;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  const DotFn dot = dot_best(DType::F32);
  const int64_t items = a.n_tokens * a.n_heads;
  const int64_t work = items * (a.pos0 + a.n_tokens) * hd * 2;
#pragma omp parallel num_threads(threads_for(work, cx.n_threads))
  {
    float* acc = cx.scratch + static_cast<int64_t>(omp_get_thread_num()) * cx.scratch_floats_per_thread;
#pragma omp for schedule(static)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t i = it / a.n_heads, h = it % a.n_heads;
      const int64_t kvh = h / group;
      const float* q = a.q + i * a.q_stride + h * hd;
      const int64_t n_keys = a.pos0 + i + 1;
      float m = -std::numeric_limits<float>::infinity();
      float l = 0.0f;
      for (int64_t j = 0; j < hd; ++j) acc[j] = 0.0f;
      for (int64_t s = 0; s < n_keys; ++s) {
        const float* k = a.k_cache + s * a.kv_stride + kvh * hd;
        const float* v = a.v_cache + s * a.kv_stride + kvh * hd;
        const float score = dot(k, q, hd) * scale;
        if (score > m) {
          const float c = std::exp(m - score);  // 0 on the first key
          l *= c;
          for (int64_t j = 0; j < hd; ++j) acc[j] *= c;
          m = score;
        }
        const float p = std::exp(score - m);
        l += p;
        for (int64_t j = 0; j < hd; ++j) acc[j] += p * v[j];
      }
      float* out = a.out + i * a.out_stride + h * hd;
      const float inv = 1.0f / l;
      for (int64_t j = 0; j < hd; ++j) out[j] = acc[j] * inv;
    }
  }
}

}  // namespace cpu
}  // namespace mixcon
