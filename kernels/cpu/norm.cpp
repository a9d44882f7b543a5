// RMSNorm and the residual add.
#include <cmath>

#include "kernels/cpu/cpu_kernels.h"

namespace mixcon {
namespace cpu {

void rmsnorm(const float* x, const float* g, int64_t n, int64_t d, float eps, float* y,
             int n_threads) {
#pragma omp parallel for num_threads(threads_for(n * d, n_threads)) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float* xi = x + i * d;
    float* yi = y + i * d;
    // The sum of squares is the one long reduction here; double keeps it
    // exact enough that the row length does not matter.
    double ss = 0.0;
    for (int64_t j = 0; j < d; ++j) ss += static_cast<double>(xi[j]) * xi[j];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
    for (int64_t j = 0; j < d; ++j) yi[j] = xi[j] * inv * g[j];
  }
}

void add(float* y, const float* x, int64_t count, int n_threads) {
#pragma omp parallel for num_threads(threads_for(count, n_threads)) schedule(static)
  for (int64_t i = 0; i < count; ++i) y[i] += x[i];
}

}  // namespace cpu
}  // namespace mixcon
