// AVX-VNNI instance of the int8-activation products (q8_panel_simd.h), for
// CPUs with the 256-bit VEX vpdpbusd but no AVX-512 (Intel's desktop cores
// since Alder Lake): panels of 8 weight rows, six tokens per register tile
// (12 of the 16 registers hold accumulators); decode one block per step.
// Without any VNNI, AVX2 has no int8 dot product (matmul_q8_act.cpp).
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

namespace mixcon {
namespace cpu {
namespace {

struct V8 {
  static constexpr int W = 8;
  static constexpr int kPanels = 1;
  static constexpr int kTokens = 6;
  static constexpr int kPackBlocks = 1;
  static constexpr bool kDecodePairs = false;  // 8 lanes: one block per step
  using ireg = __m256i;
  using freg = __m256;
  using mask = __m256i;  // all ones in the lanes of real rows
  MIXCON_Q8P_INLINE static ireg iset1(int32_t v) { return _mm256_set1_epi32(v); }
  MIXCON_Q8P_INLINE static ireg iload(const uint8_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  MIXCON_Q8P_INLINE static ireg dpbusd(ireg acc, ireg u8, ireg s8) { return _mm256_dpbusd_avx_epi32(acc, u8, s8); }
  MIXCON_Q8P_INLINE static __m256i dpbusd256(__m256i acc, __m256i u8, __m256i s8) { return dpbusd(acc, u8, s8); }
  MIXCON_Q8P_INLINE static freg cvt(ireg v) { return _mm256_cvtepi32_ps(v); }
  MIXCON_Q8P_INLINE static freg fzero() { return _mm256_setzero_ps(); }
  MIXCON_Q8P_INLINE static freg fset1(float v) { return _mm256_set1_ps(v); }
  MIXCON_Q8P_INLINE static freg fload(const float* p) { return _mm256_loadu_ps(p); }
  MIXCON_Q8P_INLINE static freg fmul(freg a, freg b) { return _mm256_mul_ps(a, b); }
  MIXCON_Q8P_INLINE static freg fmadd(freg a, freg b, freg c) { return _mm256_fmadd_ps(a, b, c); }
  MIXCON_Q8P_INLINE static void widen_scales(const uint16_t* f16, float* out) {
    _mm256_storeu_ps(out, _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(f16))));
  }
  MIXCON_Q8P_INLINE static mask tail_mask(int64_t left) {
    const int n = left >= 8 ? 8 : left <= 0 ? 0 : static_cast<int>(left);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  MIXCON_Q8P_INLINE static freg load_rows(const float* p, mask m) { return _mm256_maskload_ps(p, m); }
  MIXCON_Q8P_INLINE static void store_rows(float* p, mask m, freg v) { _mm256_maskstore_ps(p, m, v); }
  // Block b of 8 rows: each row's 32 bytes as 8 int32 "groups", transposed
  // (8×8) so vector j holds group j of every row.
  MIXCON_Q8P_INLINE static void pack_groups(const BlockQ8_0* const* rows, int64_t b, int, uint8_t* q) {
    __m256 r[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i)
      r[i] = _mm256_castsi256_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[i][b].qs)));
    avx2::transpose8(r);
    const __m256i sign = _mm256_set1_epi8(static_cast<char>(0x80));
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + j * 32), _mm256_xor_si256(_mm256_castps_si256(r[j]), sign));
  }
};

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
