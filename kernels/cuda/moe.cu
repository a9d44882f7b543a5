// Mixture-of-experts routing (top-k + softmax over the chosen, "topk_softmax")
// and the row gather/scatter the dispatch uses, so only chosen experts run.
#include <string>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_math.cuh"
#include "kernels/moe_route_token.h"

namespace mixcon {
namespace cuda {
namespace {

constexpr int kRouteThreads = 64;
constexpr int kThreads = 256;

// One thread per token: the CPU's routing rule itself (moe_route_token.h).
__global__ void moe_route_kernel(const float* __restrict__ logits, int64_t n, int64_t n_experts,
                                 int64_t top_k, int32_t* __restrict__ ids,
                                 float* __restrict__ weights) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= n) return;
  route_token(logits + t * n_experts, n_experts, top_k, ids + t * top_k, weights + t * top_k);
}

// Row indices and gate weights cross as kernel parameters (cuda_kernels.h).
struct RowBatch {
  int32_t rows[kHostBatch];
  float scale[kHostBatch];
};

__global__ void gather_rows_kernel(const float* __restrict__ src, int64_t d, const RowBatch batch,
                                   int64_t count, float* __restrict__ dst) {
  const int64_t total = count * d;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = e / d, j = e % d;
    dst[e] = src[static_cast<int64_t>(batch.rows[i]) * d + j];
  }
}

// One thread per column: a row index may repeat, and each column then still
// sees its additions in order i = 0, 1, ... (as on the CPU).
__global__ void scatter_add_rows_kernel(const float* __restrict__ src, int64_t d,
                                        const RowBatch batch, int64_t count,
                                        float* __restrict__ dst) {
  for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < d;
       j += static_cast<int64_t>(gridDim.x) * blockDim.x)
    for (int64_t i = 0; i < count; ++i)
      dst[static_cast<int64_t>(batch.rows[i]) * d + j] += batch.scale[i] * src[i * d + j];
}

// The same addition as scatter_add_rows_kernel, with the gate weight read on
// the device.
__global__ void axpy_device_scale_kernel(float* __restrict__ y, const float* __restrict__ x,
                                         const float* __restrict__ scale, int64_t count) {
  const float s = *scale;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] += s * x[i];
}

int64_t fill_rows(const int32_t* rows, int64_t b0, int64_t count, RowBatch& batch, const char* op) {
  for (int64_t i = 0; i < count; ++i) {
    if (rows[b0 + i] < 0)
      fail(Status::InvalidArgument, std::string(op) + ": negative row index");
    batch.rows[i] = rows[b0 + i];
  }
  return count;
}

}  // namespace

void moe_route(const float* logits, int64_t n, int64_t n_experts, int64_t top_k, int32_t* ids,
               float* weights, cudaStream_t stream) {
  if (n <= 0) return;
  if (top_k < 1 || top_k > n_experts)
    fail(Status::InvalidArgument, "moe_route: top_k " + std::to_string(top_k) + " outside [1, " +
                                      std::to_string(n_experts) + "]");
  const int64_t blocks = (n + kRouteThreads - 1) / kRouteThreads;
  if (blocks > 0x7fffffff) fail(Status::Unsupported, "moe_route: too many rows");
  moe_route_kernel<<<static_cast<unsigned int>(blocks), kRouteThreads, 0, stream>>>(
      logits, n, n_experts, top_k, ids, weights);
  check_launch("moe_route kernel launch");
}

void gather_rows(const float* src, int64_t d, const int32_t* rows, int64_t count, float* dst,
                 cudaStream_t stream) {
  if (count <= 0 || d <= 0) return;
  if (!rows) fail(Status::InvalidArgument, "gather_rows: NULL rows");
  require_host_memory(rows, "gather_rows: rows");
  RowBatch batch{};
  for (int64_t b0 = 0; b0 < count; b0 += kHostBatch) {
    const int64_t m = fill_rows(rows, b0, count - b0 < kHostBatch ? count - b0 : kHostBatch,
                                batch, "gather_rows");
    gather_rows_kernel<<<grid_for(m * d, kThreads), kThreads, 0, stream>>>(src, d, batch, m,
                                                                         dst + b0 * d);
    check_launch("gather_rows kernel launch");
  }
}

void scatter_add_rows(const float* src, int64_t d, const int32_t* rows, const float* scale,
                      int64_t count, float* dst, cudaStream_t stream) {
  if (count <= 0 || d <= 0) return;
  if (!rows || !scale) fail(Status::InvalidArgument, "scatter_add_rows: NULL rows or scale");
  require_host_memory(rows, "scatter_add_rows: rows");
  require_host_memory(scale, "scatter_add_rows: scale");
  RowBatch batch{};
  for (int64_t b0 = 0; b0 < count; b0 += kHostBatch) {
    const int64_t m = fill_rows(rows, b0, count - b0 < kHostBatch ? count - b0 : kHostBatch,
                                batch, "scatter_add_rows");
    for (int64_t i = 0; i < m; ++i) batch.scale[i] = scale[b0 + i];
    // Batches run in stream order, so additions to a column stay in order.
    scatter_add_rows_kernel<<<grid_for(d, kThreads), kThreads, 0, stream>>>(src + b0 * d, d,
                                                                            batch, m, dst);
    check_launch("scatter_add_rows kernel launch");
  }
}

void axpy_device_scale(float* y, const float* x, const float* scale, int64_t count,
                       cudaStream_t stream) {
  if (count <= 0) return;
  axpy_device_scale_kernel<<<grid_for(count, kThreads), kThreads, 0, stream>>>(y, x, scale, count);
  check_launch("axpy kernel launch");
}

}  // namespace cuda
}  // namespace mixcon
