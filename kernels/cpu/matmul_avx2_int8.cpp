// AVX2 instance of the int8-activation products (q8_panel_simd.h) for CPUs
// with neither VNNI (most desktop CPUs before 2021: AMD Zen 1-3, Intel
// Haswell to Comet Lake): the 8-row panels of q8_panel_v8.h, the dot product
// by vpmaddubsw + vpmaddwd.
//
// vpmaddubsw multiplies unsigned by signed bytes and adds neighbours into
// int16, saturating; vpmaddwd by ones then adds those pairs into int32. With
// |q_w| as the unsigned operand and q_x·sign(q_w) as the signed one a pair
// is at most 2·128·127 = 32512 (|q_w| ≤ 128; |q_x| ≤ 127: q8_activations.h
// clamps to ±127), so nothing saturates and every block's sum is the exact
// integer vpdpbusd gives: the prefill is the canonical order, bitwise equal
// to the portable and VNNI kernels. Until November 2026 this path widened
// both operands to int16 (vpmaddwd) with lanes along the columns and a scale
// product per row, token and block, and ran slower than the exact float
// products (Zen 4 with AVX-512 switched off: prefill 0.8x, decode 0.5x).
#include "kernels/cpu/matmul_vnni.h"

#include <cstdint>

#include "core/backend.h"
#include "core/common/status.h"
#include "core/format/dtype.h"
#include "kernels/cpu/avx2_math.h"
#include "kernels/cpu/convert.h"
#include "kernels/cpu/q8_activations.h"
#include "kernels/cpu/tile_output.h"

#ifdef MIXCON_HAVE_AVX2_PATH
MIXCON_TARGET_REGION_BEGIN("avx2,fma,f16c")
#include "kernels/cpu/q8_panel_simd.h"
#include "kernels/cpu/q8_panel_v8.h"

namespace mixcon {
namespace cpu {
namespace {

struct MaddubsDot {
  static constexpr bool kUnsignedWeights = false;
  // 2 registers per token (float and int32 sums), 2 for the prepared
  // weights, the ones, a broadcast and two temporaries: 4 tokens fill 14
  // of the 16.
  static constexpr int kTokens = 4;
  struct wreg {
    __m256i abs, sign;
  };
  MIXCON_Q8P_INLINE static wreg prepare(__m256i w) { return {_mm256_abs_epi8(w), w}; }
  MIXCON_Q8P_INLINE static __m256i dot(__m256i acc, const wreg& w, __m256i x) {
    const __m256i pairs = _mm256_maddubs_epi16(w.abs, _mm256_sign_epi8(x, w.sign));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
  }
};
using V8 = q8_panel::V8<MaddubsDot>;

}  // namespace

void matvec_q8act_rows_avx2(const MatrixRef& w, const Q8Activations& x, float* y, int64_t r0,
                            int64_t r1) {
  q8_panel::matvec_rows<V8>(w, x, y, r0, r1);
}

void matmul_q8act_rows_avx2(const MatrixRef& w, const Q8Activations& x, float* y, int64_t r0,
                            int64_t r1, void* buf) {
  q8_panel::matmul_rows<V8>(w, x, y, r0, r1, buf, kVnniPanelCols);
}

}  // namespace cpu
}  // namespace mixcon
MIXCON_TARGET_REGION_END

#else
namespace mixcon {
namespace cpu {
// Not an x86 build: matmul_q8_act.cpp calls these only on the AVX2 path.
void matvec_q8act_rows_avx2(const MatrixRef&, const Q8Activations&, float*, int64_t, int64_t) {
  fail(Status::Internal, "the AVX2 int8 kernels are not built for this CPU");
}
void matmul_q8act_rows_avx2(const MatrixRef&, const Q8Activations&, float*, int64_t, int64_t, void*) {
  fail(Status::Internal, "the AVX2 int8 kernels are not built for this CPU");
}
}  // namespace cpu
}  // namespace mixcon
#endif  // MIXCON_HAVE_AVX2_PATH
