// SwiGLU gating: SiLU(gate) ⊙ up. Cloned per vector width (the same
// operations, so the same bits): the baseline build vectorizes it 4 wide.
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/thread_pool.h"

namespace mixcon {
namespace cpu {

namespace {

__attribute__((target_clones("avx512f", "avx2", "default")))
void swiglu_range(const float* gate, const float* up, float* out, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) out[i] = siluf(gate[i]) * up[i];
}

}  // namespace

void swiglu(const float* gate, const float* up, float* out, int64_t count, int n_threads) {
  parallel_for(threads_for(count * 8, n_threads), count, [&](int64_t begin, int64_t end, int) {
    swiglu_range(gate, up, out, begin, end);
  });
}

}  // namespace cpu
}  // namespace mixcon
