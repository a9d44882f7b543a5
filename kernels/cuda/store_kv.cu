// Keys and values entering the head-major KV cache, rounded to nearest even
// like the CPU's store_kv (core/format/dtype.h): the same values give the
// same cache bits on either backend, so their saved states agree.
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_math.cuh"

namespace mixcon {
namespace cuda {
namespace {

constexpr int kThreads = 256;

// Element e of the source rows [n][n_heads·head_dim]: token i, head g, dim d.
__global__ void store_kv_kernel(const float* __restrict__ src, int64_t count, int64_t n_heads,
                                int64_t head_dim, int64_t pos0, int64_t head_stride, int dtype,
                                void* __restrict__ dst) {
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < count;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = n_heads * head_dim;
    const int64_t i = e / row, g = (e % row) / head_dim, d = e % head_dim;
    const int64_t at = g * head_stride + (pos0 + i) * head_dim + d;
    const float x = src[e];
    if (dtype == static_cast<int>(DType::F16))
      static_cast<uint16_t*>(dst)[at] = __half_as_ushort(__float2half_rn(x));
    else if (dtype == static_cast<int>(DType::BF16))
      static_cast<uint16_t*>(dst)[at] = to_bf16_bits(x);
    else
      static_cast<float*>(dst)[at] = x;
  }
}

}  // namespace

void store_kv(const float* src, int64_t n, int64_t n_heads, int64_t head_dim, int64_t pos0,
              int64_t head_stride, DType dtype, void* dst, cudaStream_t stream) {
  const int64_t count = n * n_heads * head_dim;
  if (count <= 0) return;
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16)
    fail(Status::Unsupported, "store_kv: a KV cache can be f32, f16 or bf16 only");
  store_kv_kernel<<<grid_for(count, kThreads), kThreads, 0, stream>>>(
      src, count, n_heads, head_dim, pos0, head_stride, static_cast<int>(dtype), dst);
  check_launch("store_kv kernel launch");
}

}  // namespace cuda
}  // namespace mixcon
