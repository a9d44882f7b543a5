// Output rows of the matrix-product tiles (y[token][row], one row of `rows`
// floats per token): a tile of T tokens stores into T lines `rows` floats
// apart, a pattern the hardware prefetcher does not foresee, so in a large
// product (y of several MiB) every one of those stores missed and held the
// tile up — 17% of the int8 tile's time on a 2048-row product (Zen 4,
// measured). Each tile asks for the next tile's lines before it starts its
// own sums; they arrive while it computes.
#pragma once

#include <xmmintrin.h>

#include <cstdint>

namespace mixcon {
namespace cpu {

// Tokens [t, min(t + T, n)), floats [r, r + width) of their rows.
template <int T, int64_t kWidth>
__attribute__((always_inline)) inline void prefetch_tile_outputs(const float* y, int64_t rows,
                                                                 int64_t r, int64_t t, int64_t n) {
  const int64_t end = t + T < n ? t + T : n;
  for (int64_t u = t; u < end; ++u)
#pragma GCC unroll 8
    for (int64_t c = 0; c < kWidth; c += 16)
      _mm_prefetch(reinterpret_cast<const char*>(y + u * rows + r + c), _MM_HINT_T0);
}

}  // namespace cpu
}  // namespace mixcon
