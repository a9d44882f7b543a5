// Causal softmax attention of a chunk of queries over the KV cache, with
// grouped KV heads, split-K over the keys (flash-decoding).
//
// Pass 1: block (head, split, token) takes keys [split·L, (split+1)·L) of
// its token's causal range, in tiles of kKeyTile keys: the warps score the
// tile's keys into shared memory, then every thread folds the tile into a
// running softmax (max m, sum l) and its share of the weighted value sum,
// one head dimension per thread. It leaves (m, l, acc[head_dim]) in
// `partials`; a split past the token's last key leaves l = 0.
// Pass 2: block (head, token) rescales the splits to their common maximum
// and writes out = Σ acc·e^(m-M) / Σ l·e^(m-M).
//
// Pass 1 for a prefill chunk (several queries, head_dim <= 128): block
// (head, split, query tile) takes kPrefillQ consecutive queries at once, so
// each tile of keys and values is read from memory once per kPrefillQ
// queries (through shared memory) instead of once per query; it leaves the
// same partials, and pass 2 is the same.
//
// One decode token of a long context thus spreads over enough blocks to
// fill the GPU, and a prefill chunk runs one split per (tile, head) when its
// tiles already do. Nothing grows with the context but the split length.
//
// Pass 1 is a template over the cache's element type (Load: f32, f16 or
// bf16, widened exactly as in device_math.cuh); the arithmetic after the
// load is the same for all three.
#include <string>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_math.cuh"

namespace mixcon {
namespace cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / kWarp;
constexpr int kKeyTile = 32;
constexpr int kDimsPerThread = static_cast<int>(kMaxHeadDim / kThreads);
static_assert(kMaxHeadDim % kThreads == 0, "head dims split evenly over the threads");
// Below this many keys a split is not worth its partial result.
constexpr int64_t kMinSplitKeys = 64;
// Grid y and z limit.
constexpr int64_t kMaxGridYZ = 65535;

struct Params {
  const float* q;
  int64_t q_stride;
  const uint8_t* k;
  const uint8_t* v;
  int64_t kv_stride;       // elements from one key of a head to the next
  int64_t kv_head_stride;  // elements from one KV head to the next
  int64_t elem_bytes;
  float* out;
  int64_t out_stride;
  int64_t pos0;
  int64_t tok0;  // first token of this launch within the call
  int64_t n_heads;
  int64_t group;  // query heads per KV head
  int64_t head_dim;
  int64_t split_len;
  int64_t n_splits;
  float scale;
  float* partials;  // [tokens of the launch, n_heads, n_splits, head_dim + 2]
};

// Cached row s (keys or values) of the KV head starting at element kv_off.
__device__ inline const uint8_t* kv_row(const uint8_t* base, const Params& p, int64_t s,
                                        int64_t kv_off) {
  return base + (s * p.kv_stride + kv_off) * p.elem_bytes;
}

template <class Load>
__global__ void attention_partial_kernel(const Params p) {
  extern __shared__ float smem[];
  float* q_sh = smem;                 // [head_dim]
  float* score = smem + p.head_dim;   // [kKeyTile]
  const int64_t h = blockIdx.x, split = blockIdx.y, ti = blockIdx.z;
  const int64_t i = p.tok0 + ti;
  const int64_t hd = p.head_dim;
  const int64_t kv_off = (h / p.group) * p.kv_head_stride;
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;

  const int64_t n_keys = p.pos0 + i + 1;  // causal: keys 0..pos0+i
  const int64_t s0 = split * p.split_len;
  const int64_t s1 = s0 + p.split_len < n_keys ? s0 + p.split_len : n_keys;

  const float* q = p.q + i * p.q_stride + h * hd;
  for (int64_t d = threadIdx.x; d < hd; d += kThreads) q_sh[d] = q[d];
  __syncthreads();

  float m = -INFINITY, l = 0.0f;
  float acc[kDimsPerThread];
  for (int k = 0; k < kDimsPerThread; ++k) acc[k] = 0.0f;

  for (int64_t t0 = s0; t0 < s1; t0 += kKeyTile) {
    const int nt = static_cast<int>(s1 - t0 < kKeyTile ? s1 - t0 : kKeyTile);
    for (int j = warp; j < nt; j += kWarps) {
      const uint8_t* kr = kv_row(p.k, p, t0 + j, kv_off);
      float dot = 0.0f;
      for (int64_t d = lane; d < hd; d += kWarp) dot += Load::at(kr, d) * q_sh[d];
      dot = warp_sum(dot);
      if (lane == 0) score[j] = dot * p.scale;
    }
    __syncthreads();
    // Every thread folds the same tile with the same arithmetic, so m and l
    // agree across the block without another reduction.
    float tile_max = -INFINITY;
    for (int j = 0; j < nt; ++j) tile_max = fmaxf(tile_max, score[j]);
    const float m_new = fmaxf(m, tile_max);
    const float c = m == -INFINITY ? 0.0f : expf(m - m_new);  // 0 before the first key
    l *= c;
    for (int k = 0; k < kDimsPerThread; ++k) acc[k] *= c;
    for (int j = 0; j < nt; ++j) {
      const float pj = expf(score[j] - m_new);
      l += pj;
      const uint8_t* vr = kv_row(p.v, p, t0 + j, kv_off);
      for (int k = 0; k < kDimsPerThread; ++k) {
        const int64_t d = threadIdx.x + static_cast<int64_t>(k) * kThreads;
        if (d < hd) acc[k] += pj * Load::at(vr, d);
      }
    }
    m = m_new;
    __syncthreads();  // the next tile overwrites `score`
  }

  float* part = p.partials + ((ti * p.n_heads + h) * p.n_splits + split) * (hd + 2);
  if (threadIdx.x == 0) {
    part[0] = m;
    part[1] = l;
  }
  for (int k = 0; k < kDimsPerThread; ++k) {
    const int64_t d = threadIdx.x + static_cast<int64_t>(k) * kThreads;
    if (d < hd) part[2 + d] = acc[k];
  }
}

__global__ void attention_combine_kernel(const Params p) {
  const int64_t h = blockIdx.x, ti = blockIdx.y;
  const int64_t i = p.tok0 + ti;
  const int64_t hd = p.head_dim, stride = hd + 2;
  const float* part = p.partials + (ti * p.n_heads + h) * p.n_splits * stride;
  float big_m = -INFINITY;
  for (int64_t s = 0; s < p.n_splits; ++s)
    if (part[s * stride + 1] > 0.0f) big_m = fmaxf(big_m, part[s * stride]);
  float big_l = 0.0f;
  for (int64_t s = 0; s < p.n_splits; ++s) {
    const float l = part[s * stride + 1];
    if (l > 0.0f) big_l += l * expf(part[s * stride] - big_m);
  }
  const float inv = 1.0f / big_l;
  float* out = p.out + i * p.out_stride + h * hd;
  for (int64_t d = threadIdx.x; d < hd; d += blockDim.x) {
    float o = 0.0f;
    for (int64_t s = 0; s < p.n_splits; ++s) {
      const float l = part[s * stride + 1];
      if (l > 0.0f) o += part[s * stride + 2 + d] * expf(part[s * stride] - big_m);
    }
    out[d] = o * inv;
  }
}

// ---- pass 1, prefill: a tile of queries per block ----------------------------------

constexpr int kPrefillQ = 16;                           // queries per block
constexpr int kPrefillKeys = 32;                        // keys per shared-memory tile
constexpr int kThreadsPerQuery = kThreads / kPrefillQ;  // they split the head dims
constexpr int64_t kPrefillMaxHeadDim = 128;             // shared memory stays under 48 KiB
constexpr int kPrefillDims = static_cast<int>(kPrefillMaxHeadDim / kThreadsPerQuery);
// Chunks of fewer queries take the per-query kernel.
constexpr int64_t kPrefillMinTokens = 4;
static_assert(kThreads % kPrefillQ == 0, "threads split evenly over the queries");

size_t prefill_smem_bytes(int64_t hd) {
  // q [Q][hd], k [K][hd+1] (padded: the score loop reads down a column),
  // v [K][hd], scores [Q][K].
  return static_cast<size_t>(kPrefillQ * hd + kPrefillKeys * (hd + 1) + kPrefillKeys * hd +
                             kPrefillQ * kPrefillKeys) *
         sizeof(float);
}

template <class Load>
__global__ void attention_prefill_partial_kernel(const Params p, int64_t n_launch) {
  extern __shared__ float smem[];
  const int64_t hd = p.head_dim, k_stride = hd + 1;
  float* q_sh = smem;                            // [kPrefillQ][hd]
  float* k_sh = q_sh + kPrefillQ * hd;           // [kPrefillKeys][hd + 1]
  float* v_sh = k_sh + kPrefillKeys * k_stride;  // [kPrefillKeys][hd]
  float* s_sh = v_sh + kPrefillKeys * hd;        // [kPrefillQ][kPrefillKeys]
  const int64_t h = blockIdx.x, split = blockIdx.y;
  const int64_t q0 = static_cast<int64_t>(blockIdx.z) * kPrefillQ;  // within the launch
  const int64_t kv_off = (h / p.group) * p.kv_head_stride;
  const int qi = threadIdx.x / kThreadsPerQuery;   // this thread's query in the tile
  const int sub = threadIdx.x % kThreadsPerQuery;  // its head dims: sub, sub + 8, ...
  const int64_t my_t = q0 + qi;
  // Query t of the launch (token tok0 + t of the call) sees keys < first_key_end + t.
  const int64_t first_key_end = p.pos0 + p.tok0 + 1;

  // The block's keys: its split, cut at the causal end of its last query.
  const int64_t last_t = (q0 + kPrefillQ < n_launch ? q0 + kPrefillQ : n_launch) - 1;
  const int64_t s0 = split * p.split_len;
  const int64_t block_end = first_key_end + last_t;
  const int64_t s1 = s0 + p.split_len < block_end ? s0 + p.split_len : block_end;

  for (int64_t e = threadIdx.x; e < kPrefillQ * hd; e += kThreads) {
    const int64_t t = q0 + e / hd, d = e % hd;
    q_sh[e] = t < n_launch ? p.q[(p.tok0 + t) * p.q_stride + h * hd + d] : 0.0f;
  }

  float m = -INFINITY, l = 0.0f;
  float acc[kPrefillDims];
  for (int k = 0; k < kPrefillDims; ++k) acc[k] = 0.0f;

  for (int64_t t0 = s0; t0 < s1; t0 += kPrefillKeys) {
    const int nt = static_cast<int>(s1 - t0 < kPrefillKeys ? s1 - t0 : kPrefillKeys);
    __syncthreads();  // the previous tile is consumed (first pass: q_sh is written)
    for (int64_t e = threadIdx.x; e < nt * hd; e += kThreads) {
      const int64_t j = e / hd, d = e % hd;
      k_sh[j * k_stride + d] = Load::at(kv_row(p.k, p, t0 + j, kv_off), d);
      v_sh[j * hd + d] = Load::at(kv_row(p.v, p, t0 + j, kv_off), d);
    }
    __syncthreads();
    // Scores of every (query, key) pair of the tile; -inf past a query's
    // causal end, past the tile, or for a row beyond the launch's queries.
    for (int e = threadIdx.x; e < kPrefillQ * kPrefillKeys; e += kThreads) {
      const int r = e / kPrefillKeys, j = e % kPrefillKeys;
      const int64_t t = q0 + r;
      float score = -INFINITY;
      if (j < nt && t < n_launch && t0 + j < first_key_end + t) {
        float dot = 0.0f;
        for (int64_t d = 0; d < hd; ++d) dot += q_sh[r * hd + d] * k_sh[j * k_stride + d];
        score = dot * p.scale;
      }
      s_sh[e] = score;
    }
    __syncthreads();
    // The threads of a query fold its row with the same arithmetic, so they
    // agree on m and l.
    const float* row = s_sh + qi * kPrefillKeys;
    float tile_max = -INFINITY;
    for (int j = 0; j < nt; ++j) tile_max = fmaxf(tile_max, row[j]);
    const float m_new = fmaxf(m, tile_max);
    const float c = m == -INFINITY ? 0.0f : expf(m - m_new);  // 0 before the first key
    l *= c;
    for (int k = 0; k < kPrefillDims; ++k) acc[k] *= c;
    for (int j = 0; j < nt; ++j) {
      if (row[j] == -INFINITY) continue;  // masked: weight 0 (and m_new may be -inf)
      const float pj = expf(row[j] - m_new);
      l += pj;
      for (int k = 0; k < kPrefillDims; ++k) {
        const int64_t d = sub + static_cast<int64_t>(k) * kThreadsPerQuery;
        if (d < hd) acc[k] += pj * v_sh[j * hd + d];
      }
    }
    m = m_new;
  }

  if (my_t >= n_launch) return;
  float* part = p.partials + ((my_t * p.n_heads + h) * p.n_splits + split) * (hd + 2);
  if (sub == 0) {
    part[0] = m;
    part[1] = l;
  }
  for (int k = 0; k < kPrefillDims; ++k) {
    const int64_t d = sub + static_cast<int64_t>(k) * kThreadsPerQuery;
    if (d < hd) part[2 + d] = acc[k];
  }
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

template <class Load>
void launch_partial(const Params& p, bool tiled, dim3 grid, size_t smem, int64_t nb,
                    cudaStream_t stream) {
  if (tiled) {
    attention_prefill_partial_kernel<Load><<<grid, kThreads, prefill_smem_bytes(p.head_dim), stream>>>(
        p, nb);
    check_launch("attention prefill kernel launch");
  } else {
    attention_partial_kernel<Load><<<grid, kThreads, smem, stream>>>(p);
    check_launch("attention partial kernel launch");
  }
}

}  // namespace

void attention(const AttentionArgs& a, float* partials, int64_t partial_floats, int sm_count,
               cudaStream_t stream) {
  if (a.n_tokens <= 0) return;
  if (a.head_dim < 1 || a.head_dim > kMaxHeadDim)
    fail(Status::Unsupported, "attention: head_dim " + std::to_string(a.head_dim) +
                                  " outside [1, " + std::to_string(kMaxHeadDim) + "]");
  if (a.n_heads < 1 || a.n_kv_heads < 1 || a.n_heads % a.n_kv_heads != 0)
    fail(Status::InvalidArgument, "attention: n_heads " + std::to_string(a.n_heads) +
                                      " is not a multiple of n_kv_heads " +
                                      std::to_string(a.n_kv_heads));
  if (a.n_heads > 0x7fffffff) fail(Status::Unsupported, "attention: too many heads");
  if (a.kv_dtype != DType::F32 && a.kv_dtype != DType::F16 && a.kv_dtype != DType::BF16)
    fail(Status::Unsupported, "attention: a KV cache must be f32, f16 or bf16");

  Params p{};
  p.q = a.q;
  p.q_stride = a.q_stride;
  p.k = static_cast<const uint8_t*>(a.k_cache);
  p.v = static_cast<const uint8_t*>(a.v_cache);
  p.kv_stride = a.kv_stride;
  p.kv_head_stride = a.kv_head_stride;
  p.elem_bytes = a.kv_dtype == DType::F32 ? 4 : 2;
  p.out = a.out;
  p.out_stride = a.out_stride;
  p.pos0 = a.pos0;
  p.n_heads = a.n_heads;
  p.group = a.n_heads / a.n_kv_heads;
  p.head_dim = a.head_dim;
  p.scale = static_cast<float>(1.0 / sqrt(static_cast<double>(a.head_dim)));
  p.partials = partials;

  // Tokens per launch: at least one split of each (token, head) must fit.
  const int64_t per_token = a.n_heads * (a.head_dim + 2);
  int64_t batch = partial_floats / per_token;
  if (batch > kMaxGridYZ) batch = kMaxGridYZ;
  if (batch < 1)
    fail(Status::Unsupported, "attention: " + std::to_string(a.n_heads) + " heads of " +
                                  std::to_string(a.head_dim) + " exceed the attention workspace");
  const size_t smem = static_cast<size_t>(a.head_dim + kKeyTile) * sizeof(float);
  const int64_t target_blocks = 4 * static_cast<int64_t>(sm_count > 0 ? sm_count : 1);

  for (int64_t tok0 = 0; tok0 < a.n_tokens; tok0 += batch) {
    const int64_t nb = a.n_tokens - tok0 < batch ? a.n_tokens - tok0 : batch;
    const int64_t keys = a.pos0 + tok0 + nb;  // the longest causal range in this launch
    const bool tiled = nb >= kPrefillMinTokens && a.head_dim <= kPrefillMaxHeadDim;
    const int64_t query_blocks = tiled ? ceil_div(nb, kPrefillQ) : nb;
    // Split so that heads × query blocks × splits fills the GPU a few times
    // over, but no split is shorter than kMinSplitKeys and all fit the workspace.
    const int64_t want = ceil_div(target_blocks, a.n_heads * query_blocks);
    int64_t split_len = ceil_div(keys, want);
    if (split_len < kMinSplitKeys) split_len = kMinSplitKeys;
    int64_t max_splits = partial_floats / (nb * per_token);
    if (max_splits > kMaxGridYZ) max_splits = kMaxGridYZ;
    if (ceil_div(keys, split_len) > max_splits) split_len = ceil_div(keys, max_splits);
    p.tok0 = tok0;
    p.split_len = split_len;
    p.n_splits = ceil_div(keys, split_len);

    const dim3 grid1(static_cast<unsigned int>(a.n_heads), static_cast<unsigned int>(p.n_splits),
                     static_cast<unsigned int>(query_blocks));
    switch (a.kv_dtype) {
      case DType::F32: launch_partial<LoadF32>(p, tiled, grid1, smem, nb, stream); break;
      case DType::F16: launch_partial<LoadF16>(p, tiled, grid1, smem, nb, stream); break;
      case DType::BF16: launch_partial<LoadBF16>(p, tiled, grid1, smem, nb, stream); break;
      default: fail(Status::Unsupported, "attention: a KV cache must be f32, f16 or bf16");
    }
    const dim3 grid2(static_cast<unsigned int>(a.n_heads), static_cast<unsigned int>(nb));
    attention_combine_kernel<<<grid2, kThreads, 0, stream>>>(p);
    check_launch("attention combine kernel launch");
  }
}

}  // namespace cuda
}  // namespace mixcon
