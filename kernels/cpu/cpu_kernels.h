// The CPU kernels, one function per op (one file per op family: matmul.cpp,
// norm.cpp, rope.cpp, attention.cpp, conv.cpp, conba_scan.cpp, swiglu.cpp,
// moe.cpp, embedding.cpp), callable directly so each can be tested against
// the plain reference loop it replaces (tests/kernels_cpu_test.cpp).
//
// Threading: the persistent worker team of thread_pool.h, over output
// rows/channels only; a reduction is never split across threads, so every
// result is bitwise independent of `n_threads`.
#pragma once

#include <cstdint>
#include <limits>

#include "core/backend.h"
#include "core/format/dtype.h"
#include "kernels/cpu/vec_math.h"

namespace mixcon {
namespace cpu {

// ---- dot products (matmul.cpp) --------------------------------------------
// sum_i w[i] * x[i] for one stored row of n values. Every variant for every
// dtype accumulates in the same lane order, so a row gives the same float
// whether it is read as stored or after row_to_f32 (decode == prefill).
using DotFn = float (*)(const void* w, const float* x, int64_t n);
DotFn dot_portable(DType t);
// The AVX2/FMA variant; nullptr when this CPU (or build target) lacks it.
DotFn dot_avx2(DType t);
// What the kernels use: AVX2/FMA when the CPU has it, else portable.
DotFn dot_best(DType t);
bool cpu_has_avx2_fma();
// kernel_path_name(kernel_path()) (cpu_features.h): "portable", "avx2-fma", "avx512".
const char* cpu_kernel_path();

// Exact conversion of one stored row to float32 (q8_0: n % 32 == 0).
void row_to_f32(DType t, const void* row, float* out, int64_t n);

// y[w.rows] = w · x (decode). matvec and matmul are exact (float32 input);
// the backend's products go through matmul_group (matmul_group.h), which
// also applies a session's narrow activations and runs groups in one pass.
void matvec(const MatrixRef& w, const float* x, float* y, int n_threads);
// y[n, w.rows] = x[n, w.cols] · wᵀ (prefill); scratch holds a thread's packed
// weight panels (gemm_panel_simd.h).
// Scratch floats per thread matmul needs for a matrix of `cols` columns, on
// any kernel path.
int64_t matmul_scratch_floats(int64_t cols);
void matmul(const MatrixRef& w, const float* x, int64_t n, float* y, const ExecContext& cx);
// Rows [r0, r1) of the exact product on the current kernel path; r0 a
// multiple of 16; buf: this share's scratch (n > 1).
void matmul_rows(const MatrixRef& w, const float* x, int64_t n, float* y, int64_t r0, int64_t r1,
                 float* buf);

// ---- norm.cpp ---------------------------------------------------------------
void rmsnorm(const float* x, const float* g, int64_t n, int64_t d, float eps, float* y,
             int n_threads);
void add(float* y, const float* x, int64_t count, int n_threads);

// ---- rope.cpp ---------------------------------------------------------------
void rope(float* x, int64_t n, int64_t row_stride, int64_t n_heads, int64_t head_dim,
          int64_t pos0, double theta, int n_threads);

// ---- attention.cpp ------------------------------------------------------------
// Queries walk the cache kAttentionQueryTile at a time, keys in blocks of
// kAttentionKeyBlock; scratch: kAttentionScratchRows·head_dim floats per
// thread (the tile's accumulators; a key block — transposed by the portable
// tile, widened from a narrow cache by the SIMD ones — and its values; one
// more row). A prefill tile streams its KV head's whole cache once for all
// its queries: 64 queries (32 tokens of a 2-head group)
// instead of 16 took a 512-token chunk at 16K tokens of context from ~1.35 s
// to ~1.1-1.17 s (bench-small q8_0, int8 activations, 2 threads; attention
// ~0.78 -> ~0.6 s of it; 128 measured the same as 64). Every query computes
// the same way in any tile, so the size changes no bit.
constexpr int64_t kAttentionQueryTile = 64;
constexpr int64_t kAttentionKeyBlock = 64;
constexpr int64_t kAttentionScratchRows = kAttentionQueryTile + 2 * kAttentionKeyBlock + 1;
void attention(const AttentionArgs& a, const ExecContext& cx);

// The cached keys and values of the one KV head that query heads h0.. read
// (every head of a tile shares it), row s as stored; every attention tile
// (portable, AVX2, AVX-512) walks them.
struct KvHeadRows {
  KvHeadRows(const AttentionArgs& a, int64_t h0)
      : row_bytes(dtype_row_bytes(a.kv_dtype, a.head_dim)),
        row_step(dtype_row_bytes(a.kv_dtype, a.kv_stride)),
        k(static_cast<const uint8_t*>(a.k_cache) + dtype_row_bytes(a.kv_dtype, head_offset(a, h0))),
        v(static_cast<const uint8_t*>(a.v_cache) + dtype_row_bytes(a.kv_dtype, head_offset(a, h0))) {}
  const uint8_t* key(int64_t s) const { return k + s * row_step; }
  const uint8_t* value(int64_t s) const { return v + s * row_step; }

  int64_t row_bytes;  // of one key (head_dim values) in the cache's dtype
  int64_t row_step;   // bytes from one key of the head to the next
  const uint8_t* k;
  const uint8_t* v;

 private:
  static int64_t head_offset(const AttentionArgs& a, int64_t h0) {
    return (h0 / (a.n_heads / a.n_kv_heads)) * a.kv_head_stride;
  }
};

// v[0, n) folded by op over 8 interleaved partial results (element j into
// part j % 8), combined pairwise in a fixed order. The online softmax's block
// maximum and weight sum each ran as one chain of dependent scalar
// operations: split, a prefill tile was 3-4% (maximum) and 12% (sum) faster.
template <class Op>
__attribute__((always_inline)) inline float fold8(const float* v, int64_t n, float init, Op op) {
  float part[8];
  for (int k = 0; k < 8; ++k) part[k] = init;
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) part[k] = op(part[k], v[j + k]);
  for (; j < n; ++j) part[j % 8] = op(part[j % 8], v[j]);
  return op(op(op(part[0], part[1]), op(part[2], part[3])), op(op(part[4], part[5]), op(part[6], part[7])));
}

// One key block of the online softmax, the same in every attention tile:
// sc[0, nb) holds the block's scaled scores for one query and becomes their
// weights e^(s - m); the running max *m, sum *l and the query's value
// accumulator qacc[hd] are rescaled when the block raises the max.
__attribute__((always_inline)) inline void online_softmax_block(float* sc, int64_t nb, float* m,
                                                                float* l, float* qacc, int64_t hd) {
  const float bm = fold8(sc, nb, -std::numeric_limits<float>::infinity(),
                         [](float a, float b) { return b > a ? b : a; });
  if (bm > *m) {
    const float c = exp_approx(*m - bm);  // ~0 on the first block
    *l *= c;
    for (int64_t e = 0; e < hd; ++e) qacc[e] *= c;
    *m = bm;
  }
  const float mu = *m;
#pragma omp simd
  for (int64_t t = 0; t < nb; ++t) sc[t] = exp_approx(sc[t] - mu);
  *l += fold8(sc, nb, 0.0f, [](float a, float b) { return a + b; });
}

// ---- store_kv.cpp ---------------------------------------------------------------
// Backend::store_kv: token rows of n_heads·head_dim floats into a head-major
// cache of dtype (F32 copy; F16/BF16 round to nearest even).
void store_kv(const float* src, int64_t n, int64_t n_heads, int64_t head_dim, int64_t pos0,
              int64_t head_stride, DType dtype, void* dst);

// ---- conv.cpp -------------------------------------------------------------------
void causal_conv(const CausalConvArgs& a, int n_threads);

// ---- conba_scan.cpp ---------------------------------------------------------------
void conba_scan(const ConbaScanArgs& a, int n_threads);

// The scan's three passes over blocks of `width` neighbouring channels (the
// SIMD paths: conba_scan_avx512.cpp, conba_scan_avx2.cpp). Each thread takes
// whole blocks counted from channel 0, so the thread count changes no bit.
struct ConbaScanBlockKernels {
  int64_t width;
  // Pass 1 for channels [i0, i0 + nc): state, y, and e (or the gated output).
  void (*scan)(const ConbaScanArgs& a, int64_t i0, int64_t nc);
  // Pass 2 for one token: ||e|| / sqrt(D), in a fixed order.
  float (*error_norm)(const float* e, int64_t d_inner);
  // Pass 3 for channels [i0, i0 + nc): the gain through the chunk, ŷ, gate.
  void (*control)(const ConbaScanArgs& a, int64_t i0, int64_t nc);
};
void conba_scan_blocks(const ConbaScanArgs& a, int n_threads, const ConbaScanBlockKernels& k);

// ---- swiglu.cpp -------------------------------------------------------------------
void swiglu(const float* gate, const float* up, float* out, int64_t count, int n_threads);

// ---- moe.cpp ------------------------------------------------------------------------
void moe_route(const float* logits, int64_t n, int64_t n_experts, int64_t top_k, int32_t* ids,
               float* weights);
void gather_rows(const float* src, int64_t d, const int32_t* rows, int64_t count, float* dst,
                 int n_threads);
void scatter_add_rows(const float* src, int64_t d, const int32_t* rows, const float* scale,
                      int64_t count, float* dst, int n_threads);

// ---- embedding.cpp ------------------------------------------------------------------
void embed(const MatrixRef& table, const int32_t* tokens, int64_t n, float* out, int n_threads);

// ---- shared scalar math ---------------------------------------------------------------
// exp_approx (vec_math.h) keeps the loops around these vectorizable.
inline float sigmoidf(float a) { return 1.0f / (1.0f + exp_approx(-a)); }
inline float siluf(float a) { return a * sigmoidf(a); }
// Overflow-safe softplus (MODEL.md: a for a > 20).
inline float softplusf(float a) { return a > 20.0f ? a : __builtin_log1pf(__builtin_expf(a)); }

// Work below this many multiply-adds stays on one thread: waking a team costs
// more than it saves.
constexpr int64_t kParallelMinWork = 16384;
inline int threads_for(int64_t work, int n_threads) {
  return work < kParallelMinWork ? 1 : n_threads;
}

// Rounding activations (int8, bf16) costs ~1 ns a value: fewer than this
// many stay on one thread.
constexpr int64_t kRoundParallelMinValues = int64_t(1) << 16;

// A decode step runs ~10 matrix-vector products per layer; waking a thread
// team costs microseconds (more on a busy machine). What a product costs is
// the bytes it streams, so matrices of at least kMatvecParallelMinBytes are
// split: counting multiply-adds (2^19) left the f32 selection matrices of a
// Conba layer (512 KiB each) on one thread, a fifth of the worker's time idle
// in a bench-small q8_0 step; splitting them measured +3% decode (6 of 6
// alternating runs).
constexpr int64_t kMatvecParallelMinBytes = int64_t(1) << 18;
// A decode product's unit of work between threads (parallel_balanced):
// small enough to even out two threads' jitter within a 0.5 MiB region,
// large enough that claiming one (a compare-and-swap) costs nothing; 16, 32
// and 64 KiB measured alike.
constexpr int64_t kMatvecUnitBytes = int64_t(32) << 10;

// Output rows [*r0, *r1) of share t of nt: contiguous, in multiples of 16
// rows (an AVX-512 panel), so shares never write one cache line of y.
inline void share_rows16(int64_t rows, int t, int nt, int64_t* r0, int64_t* r1) {
  const int64_t units = (rows + 15) / 16;
  const int64_t per = (units + nt - 1) / nt;
  *r0 = t * per * 16 < rows ? t * per * 16 : rows;
  *r1 = (t + 1) * per * 16 < rows ? (t + 1) * per * 16 : rows;
}

}  // namespace cpu
}  // namespace mixcon
