// Causal softmax attention of a chunk of queries over the KV cache, with
// grouped KV heads. One (token, head) pair is one unit of work, computed in a
// single pass over the cached keys in blocks with a running maximum (online
// softmax): one read of the keys and values, and no scratch that grows with
// the context.

#include <cmath>
#include <limits>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/cpu/vec_math.h"

namespace mixcon {
namespace cpu {
namespace {

constexpr int64_t kKeyBlock = 64;

// One query head over keys [0, n_keys). acc: head_dim floats of scratch.
__attribute__((target_clones("avx2", "default")))
void attend_one(const AttentionArgs& a, DotFn dot, float scale, const float* q, int64_t kv_off,
                int64_t n_keys, float* __restrict acc, float* __restrict out) {
  const int64_t hd = a.head_dim;
  float sc[kKeyBlock];
  float m = -std::numeric_limits<float>::infinity();
  float l = 0.0f;
  for (int64_t j = 0; j < hd; ++j) acc[j] = 0.0f;
  for (int64_t s0 = 0; s0 < n_keys; s0 += kKeyBlock) {
    const int64_t nb = n_keys - s0 < kKeyBlock ? n_keys - s0 : kKeyBlock;
    float bm = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < nb; ++j) {
      sc[j] = dot(a.k_cache + (s0 + j) * a.kv_stride + kv_off, q, hd) * scale;
      bm = sc[j] > bm ? sc[j] : bm;
    }
    if (bm > m) {
      const float c = exp_approx(m - bm);  // ~0 on the first block
      l *= c;
      for (int64_t j = 0; j < hd; ++j) acc[j] *= c;
      m = bm;
    }
#pragma omp simd
    for (int64_t j = 0; j < nb; ++j) sc[j] = exp_approx(sc[j] - m);
    for (int64_t j = 0; j < nb; ++j) l += sc[j];
    for (int64_t j = 0; j < nb; ++j) {
      const float p = sc[j];
      const float* __restrict v = a.v_cache + (s0 + j) * a.kv_stride + kv_off;
      for (int64_t e = 0; e < hd; ++e) acc[e] += p * v[e];
    }
  }
  const float inv = 1.0f / l;
  for (int64_t j = 0; j < hd; ++j) out[j] = acc[j] * inv;
}

}  // namespace

void attention(const AttentionArgs& a, const ExecContext& cx) {
  const int64_t hd = a.head_dim;
  const int64_t group = a.n_heads / a.n_kv_heads;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  const DotFn dot = dot_best(DType::F32);
  const int64_t items = a.n_tokens * a.n_heads;
  const int64_t work = items * (a.pos0 + a.n_tokens) * hd * 2;
  parallel_for(threads_for(work, cx.n_threads), items, [&](int64_t begin, int64_t end, int t) {
    float* acc = cx.scratch + static_cast<int64_t>(t) * cx.scratch_floats_per_thread;
    for (int64_t it = begin; it < end; ++it) {
      const int64_t i = it / a.n_heads, h = it % a.n_heads;
      attend_one(a, dot, scale, a.q + i * a.q_stride + h * hd, (h / group) * hd, a.pos0 + i + 1,
                 acc, a.out + i * a.out_stride + h * hd);
    }
  });
}

}  // namespace cpu
}  // namespace mixcon
