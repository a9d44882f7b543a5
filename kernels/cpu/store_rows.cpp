// Rows entering a KV cache kept in a narrower type: rounded exactly as the
// file writer rounds weights (core/format/dtype.h, round to nearest even),
// so a cache row and the same values saved by any other path are the same
// bits. A decode step stores a few hundred values, a prefill chunk a few
// ten thousand: one thread does it in microseconds.
#include "kernels/cpu/cpu_kernels.h"

namespace mixcon {
namespace cpu {

void store_rows(const float* src, int64_t count, DType dtype, void* dst, int n_threads) {
  (void)n_threads;
  if (count > 0) quantize_row(dtype, src, dst, count);
}

}  // namespace cpu
}  // namespace mixcon
