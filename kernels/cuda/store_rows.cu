// Rows entering a KV cache kept in a narrower type, rounded to nearest even
// like the CPU's store_rows (core/format/dtype.h): the same values give the
// same cache bits on either backend, so their saved states agree.
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_math.cuh"

namespace mixcon {
namespace cuda {
namespace {

constexpr int kThreads = 256;

__device__ inline uint16_t to_bf16_bits(float f) {
  const uint32_t x = __float_as_uint(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x0040u);  // quiet NaN
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

__global__ void store_rows_kernel(const float* __restrict__ src, int64_t count, int dtype,
                                  void* __restrict__ dst) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float x = src[i];
    if (dtype == static_cast<int>(DType::F16))
      static_cast<uint16_t*>(dst)[i] = __half_as_ushort(__float2half_rn(x));
    else if (dtype == static_cast<int>(DType::BF16))
      static_cast<uint16_t*>(dst)[i] = to_bf16_bits(x);
    else
      static_cast<float*>(dst)[i] = x;
  }
}

}  // namespace

void store_rows(const float* src, int64_t count, DType dtype, void* dst, cudaStream_t stream) {
  if (count <= 0) return;
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16)
    fail(Status::Unsupported, "store_rows: rows can be stored as f32, f16 or bf16 only");
  store_rows_kernel<<<grid_for(count, kThreads), kThreads, 0, stream>>>(src, count,
                                                                         static_cast<int>(dtype), dst);
  check_launch("store_rows kernel launch");
}

}  // namespace cuda
}  // namespace mixcon
