// Device-side helpers shared by the kernels: the stored weight formats read
// as float32 (exact, as kernels/cpu/convert.h), the scalar activations in the
// CPU's formulas, and warp/block reductions.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

namespace mixcon {
namespace cuda {

constexpr int kWarp = 32;
constexpr int kQ8Block = 32;       // values per q8_0 block
constexpr int kQ8BlockBytes = 34;  // f16 scale + 32 int8

// Value i of one stored row, per dtype. Rows start at even byte offsets
// (row_bytes is even for every dtype), so the 16-bit reads are aligned.
struct LoadF32 {
  __device__ static float at(const uint8_t* row, int64_t i) {
    return reinterpret_cast<const float*>(row)[i];
  }
};
struct LoadF16 {
  __device__ static float at(const uint8_t* row, int64_t i) {
    return __half2float(__ushort_as_half(reinterpret_cast<const unsigned short*>(row)[i]));
  }
};
struct LoadBF16 {
  __device__ static float at(const uint8_t* row, int64_t i) {
    const uint32_t bits = reinterpret_cast<const uint16_t*>(row)[i];
    return __uint_as_float(bits << 16);
  }
};
struct LoadQ8 {
  __device__ static float at(const uint8_t* row, int64_t i) {
    const uint8_t* block = row + (i / kQ8Block) * kQ8BlockBytes;
    const float d = __half2float(__ushort_as_half(*reinterpret_cast<const unsigned short*>(block)));
    const int8_t q = static_cast<int8_t>(block[2 + i % kQ8Block]);
    return d * static_cast<float>(q);
  }
};

// float32 to bf16 bits, nearest even, NaN kept quiet: core/format/dtype.h's
// rounding, so both backends round a value to the same bf16.
__device__ inline uint16_t to_bf16_bits(float f) {
  const uint32_t x = __float_as_uint(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x0040u);  // quiet NaN
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

__device__ inline float sigmoidf_dev(float a) { return 1.0f / (1.0f + expf(-a)); }
__device__ inline float siluf_dev(float a) { return a * sigmoidf_dev(a); }
// Overflow-safe softplus (MODEL.md: a for a > 20), as the CPU.
__device__ inline float softplusf_dev(float a) { return a > 20.0f ? a : log1pf(expf(a)); }

template <class T>
__device__ inline T warp_sum(T v) {
  for (int off = kWarp / 2; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every
// thread gets the result. `shared` holds 32 values.
template <class T>
__device__ inline T block_sum(T v, T* shared) {
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  const int n_warps = blockDim.x / kWarp;
  v = warp_sum(v);
  __syncthreads();  // `shared` may still be read by a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  T total = T(0);
  for (int w = 0; w < n_warps; ++w) total += shared[w];
  return total;
}

}  // namespace cuda
}  // namespace mixcon
