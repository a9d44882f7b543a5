// SwiGLU gating: SiLU(gate) ⊙ up.
#include "kernels/cpu/cpu_kernels.h"

namespace mixcon {
namespace cpu {

void swiglu(const float* gate, const float* up, float* out, int64_t count, int n_threads) {
#pragma omp parallel for num_threads(threads_for(count * 8, n_threads)) schedule(static)
  for (int64_t i = 0; i < count; ++i) out[i] = siluf(gate[i]) * up[i];
}

}  // namespace cpu
}  // namespace mixcon
