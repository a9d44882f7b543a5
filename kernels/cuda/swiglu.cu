// SwiGLU gating: SiLU(gate) ⊙ up.
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_math.cuh"

namespace mixcon {
namespace cuda {
namespace {

constexpr int kThreads = 256;

__global__ void swiglu_kernel(const float* __restrict__ gate, const float* __restrict__ up,
                              float* __restrict__ out, int64_t count) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = siluf_dev(gate[i]) * up[i];
}

}  // namespace

void swiglu(const float* gate, const float* up, float* out, int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  swiglu_kernel<<<grid_for(count, kThreads), kThreads, 0, stream>>>(gate, up, out, count);
  check_launch("swiglu kernel launch");
}

}  // namespace cuda
}  // namespace mixcon
