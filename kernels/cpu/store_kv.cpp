// Keys and values entering the head-major KV cache: each token row is split
// into its heads' runs and rounded exactly as the file writer rounds weights
// (core/format/dtype.h, round to nearest even), so a cache row and the same
// values saved by any other path are the same bits. A decode step stores a
// few hundred values, a prefill chunk a few ten thousand: one thread does it
// in microseconds.
#include "kernels/cpu/cpu_kernels.h"

namespace mixcon {
namespace cpu {

void store_kv(const float* src, int64_t n, int64_t n_heads, int64_t head_dim, int64_t pos0,
              int64_t head_stride, DType dtype, void* dst) {
  // Offsets as byte counts of whole rows (q8_0: head_dim % 32 == 0).
  const int64_t row = dtype_row_bytes(dtype, head_dim), head = dtype_row_bytes(dtype, head_stride);
  for (int64_t g = 0; g < n_heads; ++g)
    for (int64_t i = 0; i < n; ++i)
      quantize_row(dtype, src + (i * n_heads + g) * head_dim,
                   static_cast<uint8_t*>(dst) + g * head + (pos0 + i) * row, head_dim);
}

}  // namespace cpu
}  // namespace mixcon
