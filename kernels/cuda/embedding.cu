// Embedding lookup: one stored row per token, converted to float32.
#include <string>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_math.cuh"

namespace mixcon {
namespace cuda {
namespace {

constexpr int kThreads = 256;

// Token ids cross to the device as a kernel parameter (cuda_kernels.h).
struct TokenBatch {
  int32_t ids[kHostBatch];
};

template <class Load>
__global__ void embed_kernel(const uint8_t* __restrict__ table, int64_t cols, int64_t row_bytes,
                             const TokenBatch batch, int64_t count, float* __restrict__ out) {
  const int64_t total = count * cols;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = e / cols, c = e % cols;
    out[e] = Load::at(table + static_cast<int64_t>(batch.ids[i]) * row_bytes, c);
  }
}

template <class Load>
void launch(const MatrixRef& table, const TokenBatch& batch, int64_t count, float* out,
            cudaStream_t stream) {
  embed_kernel<Load><<<grid_for(count * table.cols, kThreads), kThreads, 0, stream>>>(
      static_cast<const uint8_t*>(table.data), table.cols, table.row_bytes, batch, count, out);
  check_launch("embed kernel launch");
}

}  // namespace

void embed(const MatrixRef& table, const int32_t* tokens, int64_t n, float* out,
           cudaStream_t stream) {
  if (n <= 0 || table.cols == 0) return;
  if (!tokens || !table.data) fail(Status::InvalidArgument, "embed: NULL table or tokens");
  require_host_memory(tokens, "embed: tokens");
  TokenBatch batch{};
  for (int64_t b0 = 0; b0 < n; b0 += kHostBatch) {
    const int64_t count = n - b0 < kHostBatch ? n - b0 : kHostBatch;
    for (int64_t i = 0; i < count; ++i) {
      const int32_t t = tokens[b0 + i];
      // The session checks ids; a bad one here would read outside the table
      // on the device, where it cannot be caught, so it is checked again.
      if (t < 0 || t >= table.rows)
        fail(Status::InvalidArgument, "embed: token id " + std::to_string(t) + " outside [0, " +
                                          std::to_string(table.rows) + ")");
      batch.ids[i] = t;
    }
    float* dst = out + b0 * table.cols;
    switch (table.dtype) {
      case DType::F32: launch<LoadF32>(table, batch, count, dst, stream); break;
      case DType::F16: launch<LoadF16>(table, batch, count, dst, stream); break;
      case DType::BF16: launch<LoadBF16>(table, batch, count, dst, stream); break;
      case DType::Q8_0: launch<LoadQ8>(table, batch, count, dst, stream); break;
      default: fail(Status::InvalidArgument, "embed: unknown table dtype");
    }
  }
}

}  // namespace cuda
}  // namespace mixcon
