// AVX-VNNI instance of the int8-activation products (q8_panel_simd.h), for
// CPUs with the 256-bit VEX vpdpbusd but no AVX-512 (Intel's desktop cores
// since Alder Lake): panels of 8 weight rows (the 8-lane traits of
// q8_panel_v8.h), six tokens per register tile; decode one block per step.
// Without any VNNI: matmul_avx2_int8.cpp.
#include "kernels/cpu/matmul_vnni.h"

#include <cstdint>

#include "core/backend.h"
#include "core/common/status.h"
#include "core/format/dtype.h"
#include "kernels/cpu/avx2_math.h"
#include "kernels/cpu/convert.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/q8_activations.h"
#include "kernels/cpu/tile_output.h"

#ifdef MIXCON_HAVE_AVX2_PATH
MIXCON_TARGET_REGION_BEGIN("avx2,fma,f16c,avxvnni")
#include "kernels/cpu/q8_panel_simd.h"
#include "kernels/cpu/q8_panel_v8.h"

namespace mixcon {
namespace cpu {
namespace {

// vpdpbusd multiplies unsigned by signed bytes: the panels hold q + 128.
struct VnniDot {
  static constexpr bool kUnsignedWeights = true;
  static constexpr int kTokens = 6;  // 12 of the 16 registers hold accumulators
  using wreg = __m256i;
  MIXCON_Q8P_INLINE static wreg prepare(__m256i w) { return w; }
  MIXCON_Q8P_INLINE static __m256i dot(__m256i acc, wreg w, __m256i x) {
    return _mm256_dpbusd_avx_epi32(acc, w, x);
  }
};
using V8 = q8_panel::V8<VnniDot>;

}  // namespace

void matvec_q8act_rows_avxvnni(const MatrixRef& w, const Q8Activations& x, float* y, int64_t r0,
                               int64_t r1) {
  q8_panel::matvec_rows<V8>(w, x, y, r0, r1);
}

void matmul_q8act_rows_avxvnni(const MatrixRef& w, const Q8Activations& x, float* y, int64_t r0,
                               int64_t r1, void* buf) {
  q8_panel::matmul_rows<V8>(w, x, y, r0, r1, buf, kVnniPanelCols);
}

}  // namespace cpu
}  // namespace mixcon
MIXCON_TARGET_REGION_END


#else
namespace mixcon {
namespace cpu {
// Not an x86 build: cpu_has_avx_vnni() is false, so nothing calls these.
void matvec_q8act_rows_avxvnni(const MatrixRef&, const Q8Activations&, float*, int64_t, int64_t) {
  fail(Status::Internal, "the AVX-VNNI kernels are not built for this CPU");
}
void matmul_q8act_rows_avxvnni(const MatrixRef&, const Q8Activations&, float*, int64_t, int64_t, void*) {
  fail(Status::Internal, "the AVX-VNNI kernels are not built for this CPU");
}
}  // namespace cpu
}  // namespace mixcon
#endif  // MIXCON_HAVE_AVX2_PATH
