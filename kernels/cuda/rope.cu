// Rotary position embedding, rotate-half pairing (GPT-NeoX): for j < h/2 the
// pair (v_j, v_{j+h/2}) turns by t·theta^(-2j/h) (MODEL.md §3).
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"

namespace mixcon {
namespace cuda {
namespace {

constexpr int kThreads = 256;

// One thread per (row, pair index j): it computes the angle once and turns
// that pair in every head.
__global__ void rope_kernel(float* __restrict__ x, int64_t n, int64_t row_stride, int64_t n_heads,
                            int64_t head_dim, int64_t pos0, double theta) {
  const int64_t half = head_dim / 2;
  const int64_t total = n * half;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = e / half, j = e % half;
    // The angle in double, as on the CPU: positions reach millions, where a
    // float angle would already be off by whole radians.
    const double t = static_cast<double>(pos0 + i);
    const double angle = t * pow(theta, -2.0 * static_cast<double>(j) / head_dim);
    const float c = static_cast<float>(cos(angle));
    const float s = static_cast<float>(sin(angle));
    float* row = x + i * row_stride;
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = row + h * head_dim;
      const float a = v[j], b = v[j + half];
      v[j] = a * c - b * s;
      v[j + half] = b * c + a * s;
    }
  }
}

}  // namespace

void rope(float* x, int64_t n, int64_t row_stride, int64_t n_heads, int64_t head_dim,
          int64_t pos0, double theta, cudaStream_t stream) {
  const int64_t half = head_dim / 2;
  if (n <= 0 || n_heads <= 0 || half <= 0) return;
  rope_kernel<<<grid_for(n * half, kThreads), kThreads, 0, stream>>>(x, n, row_stride, n_heads,
                                                                     head_dim, pos0, theta);
  check_launch("rope kernel launch");
}

}  // namespace cuda
}  // namespace mixcon
