// The CUDA kernels, one host-side launcher per op (one file per op family,
// named as in kernels/cpu: matmul.cu, norm.cu, rope.cu, attention.cu,
// conv.cu, conba_scan.cu, swiglu.cu, moe.cu, embedding.cu).
//
// Every launcher enqueues its work on `stream` and returns without waiting;
// pointers are device memory unless a comment says host. A failed launch
// throws mixcon::Error (cuda_check.h). Results match the CPU kernels within
// float rounding: the same formulas in the same precision (double where the
// CPU sums in double), only the order of float additions differs.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "core/backend.h"

namespace mixcon {
namespace cuda {

// Host arrays (token ids, row indices, gate weights) travel to the kernels by
// value, as kernel parameters, in batches of this many: no staging buffer, no
// host synchronization, and a launch sequence that a CUDA graph can capture.
constexpr int kHostBatch = 256;

// ---- matmul.cu ----------------------------------------------------------------
// y[w.rows] = w · x, one warp per output row, converting the stored dtype
// inside the dot product (decode: weights are read once, never expanded).
void matvec(const MatrixRef& w, const float* x, float* y, cudaStream_t stream);
// y[n, w.rows] = x[n, w.cols] · wᵀ. n == 1: matvec. n > 1: cuBLAS SGEMM, f32
// weights in place, other dtypes dequantized tile by tile into `tile`
// (tile_floats floats of device scratch, reused after the GEMM that read it:
// same stream). cuBLAS runs in plain FP32 (no TF32), like the CPU.
void matmul(cublasHandle_t cublas, const MatrixRef& w, const float* x, int64_t n, float* y,
            float* tile, int64_t tile_floats, cudaStream_t stream);

// Products with x rounded to bf16 (ExecContext::act_dtype BF16), for bf16
// weights only, in two steps so that products of one input round it once.
// round_bf16_input rounds x [n, cols] into `act` (act_bytes of device
// scratch: bf16_act_bytes) and returns it: as floats when n == 1 (decode
// multiplies them in the matvec kernel), as bf16 bits when n > 1.
// matmul_bf16_rounded multiplies: n > 1 on the tensor cores (cublasGemmEx,
// bf16 × bf16 summed in float32) reading the weights in place, n == 1 in
// the decode kernel, so prefill and decode round alike.
const void* round_bf16_input(const float* x, int64_t n, int64_t cols, void* act, int64_t act_bytes,
                             cudaStream_t stream);
void matmul_bf16_rounded(cublasHandle_t cublas, const MatrixRef& w, const void* xr, int64_t n,
                         float* y, cudaStream_t stream);
// y = (matrix *sel of a stack) · x: `w` describes the stack's first matrix
// (one MoE expert: its rows, cols, dtype, and data = the stack's start), sel
// is device memory read by the kernel, so the choice need not reach the host.
void matvec_selected(const MatrixRef& w, const int32_t* sel, const float* x, float* y,
                     cudaStream_t stream);
// Several matrix-vector products in one launch, each exactly as matvec (or,
// with sel, matvec_selected) computes it alone: a decode step's products of
// one input. Parts with no rows are skipped.
struct MatvecPart {
  MatrixRef w;
  const float* x = nullptr;
  float* y = nullptr;
  const int32_t* sel = nullptr;  // nullptr: w itself; else as matvec_selected's
};
constexpr int kMaxMatvecParts = 8;
void matvec_parts(const MatvecPart* parts, int count, cudaStream_t stream);
// out[i] = x[i] rounded to bf16 (nearest even), as a float; out may be x.
void round_bf16(const float* x, int64_t count, float* out, cudaStream_t stream);
// Bytes of `act` for n rows of `cols` values.
int64_t bf16_act_bytes(int64_t n, int64_t cols);

// ---- embedding.cu ---------------------------------------------------------------
// out[i] = table[tokens[i]] as float32; tokens are host memory.
void embed(const MatrixRef& table, const int32_t* tokens, int64_t n, float* out,
           cudaStream_t stream);

// ---- norm.cu --------------------------------------------------------------------
void rmsnorm(const float* x, const float* g, int64_t n, int64_t d, float eps, float* y,
             cudaStream_t stream);
void add(float* y, const float* x, int64_t count, cudaStream_t stream);

// ---- rope.cu --------------------------------------------------------------------
void rope(float* x, int64_t n, int64_t row_stride, int64_t n_heads, int64_t head_dim,
          int64_t pos0, double theta, cudaStream_t stream);

// ---- attention.cu -----------------------------------------------------------------
// Largest head_dim the attention kernels take.
constexpr int64_t kMaxHeadDim = 512;
// Split-K attention (flash-decoding): the keys of each (token, head) are cut
// into splits that run in parallel blocks, each leaving a partial softmax
// (max, sum, weighted values) in `partials`; a second kernel combines them.
// `partials` holds partial_floats floats of device scratch; `sm_count` sizes
// the split so a single decode token still fills the GPU.
void attention(const AttentionArgs& a, float* partials, int64_t partial_floats, int sm_count,
               cudaStream_t stream);

// ---- store_kv.cu --------------------------------------------------------------------
// Backend::store_kv: token rows of n_heads·head_dim floats into a head-major
// cache of dtype (F32 copy; F16/BF16 round to nearest even).
void store_kv(const float* src, int64_t n, int64_t n_heads, int64_t head_dim, int64_t pos0,
              int64_t head_stride, DType dtype, void* dst, cudaStream_t stream);

// ---- conv.cu ------------------------------------------------------------------------
void causal_conv(const CausalConvArgs& a, cudaStream_t stream);

// ---- conba_scan.cu -------------------------------------------------------------------
void conba_scan(const ConbaScanArgs& a, cudaStream_t stream);

// ---- swiglu.cu ------------------------------------------------------------------------
void swiglu(const float* gate, const float* up, float* out, int64_t count, cudaStream_t stream);

// ---- moe.cu -----------------------------------------------------------------------------
// Top-k routing of n rows into device buffers ids[n, k] and weights[n, k]
// (lower index wins ties, ascending ids, softmax over the chosen).
void moe_route(const float* logits, int64_t n, int64_t n_experts, int64_t top_k, int32_t* ids,
               float* weights, cudaStream_t stream);
// y[i] += (*scale) · x[i]; scale is device memory (an MoE gate weight).
void axpy_device_scale(float* y, const float* x, const float* scale, int64_t count,
                       cudaStream_t stream);
// dst[i] = src[rows[i]]; rows are host memory.
void gather_rows(const float* src, int64_t d, const int32_t* rows, int64_t count, float* dst,
                 cudaStream_t stream);
// dst[rows[i]] += scale[i] * src[i] in order of i; rows and scale are host memory.
void scatter_add_rows(const float* src, int64_t d, const int32_t* rows, const float* scale,
                      int64_t count, float* dst, cudaStream_t stream);

}  // namespace cuda
}  // namespace mixcon
