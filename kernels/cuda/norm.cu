// RMSNorm and the residual add.
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_math.cuh"

namespace mixcon {
namespace cuda {
namespace {

constexpr int kNormThreads = 256;
constexpr int kAddThreads = 256;

// One block per row. The sum of squares is summed in double, as on the CPU,
// so the row length does not matter.
__global__ void rmsnorm_kernel(const float* __restrict__ x, const float* __restrict__ g,
                               int64_t d, float eps, float* __restrict__ y) {
  __shared__ double partial[kWarp];
  const float* xi = x + static_cast<int64_t>(blockIdx.x) * d;
  float* yi = y + static_cast<int64_t>(blockIdx.x) * d;
  double ss = 0.0;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) ss += static_cast<double>(xi[j]) * xi[j];
  ss = block_sum(ss, partial);
  const float inv = static_cast<float>(1.0 / sqrt(ss / static_cast<double>(d) + eps));
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) yi[j] = xi[j] * inv * g[j];
}

__global__ void add_kernel(float* __restrict__ y, const float* __restrict__ x, int64_t count) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] += x[i];
}

}  // namespace

void rmsnorm(const float* x, const float* g, int64_t n, int64_t d, float eps, float* y,
             cudaStream_t stream) {
  if (n <= 0 || d <= 0) return;
  // One block per row: rows are tokens of one chunk, far below the grid limit.
  if (n > 0x7fffffff) fail(Status::Unsupported, "rmsnorm: too many rows");
  rmsnorm_kernel<<<static_cast<unsigned int>(n), kNormThreads, 0, stream>>>(x, g, d, eps, y);
  check_launch("rmsnorm kernel launch");
}

void add(float* y, const float* x, int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  add_kernel<<<grid_for(count, kAddThreads), kAddThreads, 0, stream>>>(y, x, count);
  check_launch("add kernel launch");
}

}  // namespace cuda
}  // namespace mixcon
