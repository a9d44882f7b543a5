// Rotary position embedding, rotate-half pairing (GPT-NeoX): for i < h/2 the
// pair (v_i, v_{i+h/2}) turns by t·theta^(-2i/h) (MODEL.md §3).
#include <cmath>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/thread_pool.h"

namespace mixcon {
namespace cpu {

void rope(float* x, int64_t n, int64_t row_stride, int64_t n_heads, int64_t head_dim,
          int64_t pos0, double theta, int n_threads) {
  const int64_t half = head_dim / 2;
  parallel_for(threads_for(n * n_heads * head_dim * 8, n_threads), n, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      float* row = x + i * row_stride;
      const double t = static_cast<double>(pos0 + i);
      for (int64_t j = 0; j < half; ++j) {
        // The angle in double: positions reach millions, where a float angle
        // would already be off by whole radians.
        const double angle = t * std::pow(theta, -2.0 * static_cast<double>(j) / head_dim);
        const float c = static_cast<float>(std::cos(angle));
        const float s = static_cast<float>(std::sin(angle));
        for (int64_t h = 0; h < n_heads; ++h) {
          float* v = row + h * head_dim;
          const float a = v[j], b = v[j + half];
          v[j] = a * c - b * s;
          v[j + half] = b * c + a * s;
        }
      }
    }
  });
}

}  // namespace cpu
}  // namespace mixcon
