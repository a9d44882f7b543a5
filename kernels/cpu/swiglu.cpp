// SwiGLU gating: SiLU(gate) ⊙ up.
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/thread_pool.h"

namespace mixcon {
namespace cpu {

void swiglu(const float* gate, const float* up, float* out, int64_t count, int n_threads) {
  parallel_for(threads_for(count * 8, n_threads), count, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) out[i] = siluf(gate[i]) * up[i];
  });
}

}  // namespace cpu
}  // namespace mixcon
