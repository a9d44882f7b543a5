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
// Queries (consecutive tokens of one head) that walk the cache together: a
// block of keys and values is read from memory once and reused by all of
// them from L1, instead of once per query — at a long context a prefill
// would otherwise stream the whole cache from DRAM for every token.
constexpr int64_t kQueryTile = kAttentionQueryTile;

// Keys [s0, s0+nb) into one query's running softmax (max m, sum l, acc).
inline void absorb_block(const AttentionArgs& a, DotFn dot, float scale, const float* q,
                         int64_t kv_off, int64_t s0, int64_t nb, float& m, float& l,
                         float* __restrict acc) {
  const int64_t hd = a.head_dim;
  float sc[kKeyBlock];
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

// Heads [h0, h0+nh) (all in one KV group) for chunk tokens [i0, i1), with
// (i1-i0)·nh <= kQueryTile; token i sees keys [0, pos0+i]. Each query goes
// through exactly the blocks and operations it would alone, so tiling changes
// no bit. acc: (i1-i0)·nh·head_dim floats.
__attribute__((target_clones("avx2", "default")))
void attend_tile(const AttentionArgs& a, DotFn dot, float scale, int64_t h0, int64_t nh,
                 int64_t i0, int64_t i1, float* __restrict acc) {
  const int64_t hd = a.head_dim;
  const int64_t kv_off = (h0 / (a.n_heads / a.n_kv_heads)) * hd;
  const int64_t nq = (i1 - i0) * nh;  // query u: token i0 + u / nh, head h0 + u % nh
  float m[kQueryTile], l[kQueryTile];
  for (int64_t u = 0; u < nq; ++u) {
    m[u] = -std::numeric_limits<float>::infinity();
    l[u] = 0.0f;
  }
  for (int64_t j = 0; j < nq * hd; ++j) acc[j] = 0.0f;
  const int64_t max_keys = a.pos0 + i1;
  for (int64_t s0 = 0; s0 < max_keys; s0 += kKeyBlock) {
    for (int64_t u = 0; u < nq; ++u) {
      const int64_t i = i0 + u / nh, h = h0 + u % nh;
      const int64_t n_keys = a.pos0 + i + 1;
      if (s0 >= n_keys) continue;
      const int64_t nb = n_keys - s0 < kKeyBlock ? n_keys - s0 : kKeyBlock;
      absorb_block(a, dot, scale, a.q + i * a.q_stride + h * hd, kv_off, s0, nb, m[u], l[u],
                   acc + u * hd);
    }
  }
  for (int64_t u = 0; u < nq; ++u) {
    const int64_t i = i0 + u / nh, h = h0 + u % nh;
    const float inv = 1.0f / l[u];
    float* out = a.out + i * a.out_stride + h * hd;
    for (int64_t j = 0; j < hd; ++j) out[j] = acc[u * hd + j] * inv;
  }
}

}  // namespace

void attention(const AttentionArgs& a, const ExecContext& cx) {
  const int64_t hd = a.head_dim;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  const DotFn dot = dot_best(DType::F32);
  // A tile: nh heads of one KV group (so a decode step reads each KV head
  // once, not once per query head) times as many tokens as fit kQueryTile.
  const int64_t group = a.n_heads / a.n_kv_heads;
  int64_t nh = group < kQueryTile ? group : kQueryTile;
  while (group % nh != 0) --nh;
  const int64_t tile_tokens = kQueryTile / nh;
  const int64_t head_blocks = a.n_heads / nh;
  const int64_t tiles = (a.n_tokens + tile_tokens - 1) / tile_tokens;
  const int64_t work = a.n_tokens * a.n_heads * (a.pos0 + a.n_tokens) * hd * 2;
  parallel_for(threads_for(work, cx.n_threads), tiles * head_blocks,
               [&](int64_t begin, int64_t end, int t) {
                 float* acc = cx.scratch + static_cast<int64_t>(t) * cx.scratch_floats_per_thread;
                 for (int64_t it = begin; it < end; ++it) {
                   const int64_t tile = it / head_blocks, hb = it % head_blocks;
                   const int64_t i0 = tile * tile_tokens;
                   const int64_t i1 = i0 + tile_tokens < a.n_tokens ? i0 + tile_tokens : a.n_tokens;
                   attend_tile(a, dot, scale, hb * nh, nh, i0, i1, acc);
                 }
               });
}

}  // namespace cpu
}  // namespace mixcon
