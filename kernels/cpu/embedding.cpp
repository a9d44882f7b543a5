// Embedding lookup: one stored row per token, converted to float32.
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/thread_pool.h"

namespace mixcon {
namespace cpu {

void embed(const MatrixRef& table, const int32_t* tokens, int64_t n, float* out, int n_threads) {
  const uint8_t* base = static_cast<const uint8_t*>(table.data);
  parallel_for(threads_for(n * table.cols, n_threads), n, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i)
      row_to_f32(table.dtype, base + tokens[i] * table.row_bytes, out + i * table.cols,
                 table.cols);
  });
}

}  // namespace cpu
}  // namespace mixcon
