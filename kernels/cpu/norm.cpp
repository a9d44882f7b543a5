// RMSNorm and the residual add.
#include <cmath>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/thread_pool.h"

namespace mixcon {
namespace cpu {

void rmsnorm(const float* x, const float* g, int64_t n, int64_t d, float eps, float* y,
             int n_threads) {
  parallel_for(threads_for(n * d, n_threads), n, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      const float* xi = x + i * d;
      float* yi = y + i * d;
      // The sum of squares is the one long reduction here; double keeps it
      // exact enough that the row length does not matter.
      double ss = 0.0;
      for (int64_t j = 0; j < d; ++j) ss += static_cast<double>(xi[j]) * xi[j];
      const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
      for (int64_t j = 0; j < d; ++j) yi[j] = xi[j] * inv * g[j];
    }
  });
}

void add(float* y, const float* x, int64_t count, int n_threads) {
  parallel_for(threads_for(count, n_threads), count, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) y[i] += x[i];
  });
}

}  // namespace cpu
}  // namespace mixcon
