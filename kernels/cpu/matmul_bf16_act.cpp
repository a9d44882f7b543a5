#include "kernels/cpu/matmul_bf16_act.h"

#include <atomic>
#include <cstring>

#include "core/common/status.h"
#include "core/format/dtype.h"
#include "kernels/cpu/avx512_target.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/matmul_avx512.h"
#include "kernels/cpu/matmul_bf16dot.h"
#include "kernels/cpu/matmul_group.h"
#include "kernels/cpu/thread_pool.h"

namespace mixcon {
namespace cpu {

// Both sizes grow linearly with the panel's columns (multiples of 32).
static_assert(kBf16PanelCols <= kGemmKc &&
                  bf16_scratch_bytes(32) <= avx512_gemm_scratch_floats(32) * 4,
              "the bf16 panels fit the per-thread matmul scratch");

namespace {

std::atomic<bool> g_dot_allowed{true};

// x rounded to the nearest bf16 (ties to even), kept as a float: the same
// value f32_to_bf16 gives, inline so the loop vectorizes. NaN stays NaN.
inline float round_to_bf16(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  if ((b & 0x7fffffffu) <= 0x7f800000u) b = (b + 0x7fffu + ((b >> 16) & 1u)) & 0xffff0000u;
  std::memcpy(&x, &b, 4);
  return x;
}

// bf16 rows for vdpbf16ps: a stride of whole 32-value loads, zero past cols.
int64_t bf16_stride(int64_t cols) { return (cols + 31) / 32 * 32; }

#ifdef MIXCON_HAVE_AVX512_PATH
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
void round_row_bf16_avx512(const float* x, int64_t cols, uint16_t* out) {
  int64_t k = 0;
  for (; k + 16 <= cols; k += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + k),
                        (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + k)));
  for (; k < cols; ++k) out[k] = f32_to_bf16(x[k]);
}
#endif

}  // namespace

void allow_bf16_dot(bool allowed) { g_dot_allowed.store(allowed, std::memory_order_relaxed); }

int64_t bf16_activation_bytes(int64_t n, int64_t cols) {
  // The bf16 rows (2 bytes a value, padded) or, without vdpbf16ps, the
  // rounded values as floats (4 bytes): whichever is larger.
  const int64_t as_bf16 = n * bf16_stride(cols) * 2, as_f32 = n * cols * 4;
  return as_bf16 > as_f32 ? as_bf16 : as_f32;
}

Bf16Input round_activations_bf16(const float* x, int64_t n, int64_t cols, const ExecContext& cx) {
  if (bf16_activation_bytes(n, cols) > cx.act_bytes)
    fail(Status::Internal, "round_activations_bf16: the session's activation buffer is too small");
  const bool dot = g_dot_allowed.load(std::memory_order_relaxed) &&
                   kernel_path() == KernelPath::Avx512 && cpu_has_avx512_bf16();
  const int nt = n * cols >= kRoundParallelMinValues ? cx.n_threads : 1;
  Bf16Input in;
  if (!dot) {
    // The exact kernels will run on the rounded values (bf16 → f32 is exact).
    float* xr = static_cast<float*>(cx.act);
    parallel_for(nt, n, [&](int64_t t0, int64_t t1, int) {
      for (int64_t i = t0 * cols; i < t1 * cols; ++i) xr[i] = round_to_bf16(x[i]);
    });
    in.rounded = xr;
    return in;
  }
#ifdef MIXCON_HAVE_AVX512_PATH
  const int64_t stride = bf16_stride(cols);
  uint16_t* xb = static_cast<uint16_t*>(cx.act);
  parallel_for(nt, n, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      round_row_bf16_avx512(x + t * cols, cols, xb + t * stride);
      for (int64_t k = cols; k < stride; ++k) xb[t * stride + k] = 0;
    }
  });
  in.bf16 = xb;
  in.stride = stride;
#endif
  return in;
}

}  // namespace cpu
}  // namespace mixcon
