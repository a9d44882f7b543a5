// AVX-512 VNNI instance of the int8-activation products (q8_panel_simd.h):
// panels of 16 weight rows, two side by side, six tokens per register tile
// (24 of the 32 registers hold accumulators); decode one block per step.
#include "kernels/cpu/matmul_vnni.h"

#include <cstdint>

#include "core/backend.h"
#include "core/common/status.h"
#include "core/format/dtype.h"
#include "kernels/cpu/avx2_math.h"
#include "kernels/cpu/avx512_math.h"
#include "kernels/cpu/avx512_target.h"
#include "kernels/cpu/convert.h"
#include "kernels/cpu/q8_activations.h"
#include "kernels/cpu/tile_output.h"

#ifdef MIXCON_HAVE_AVX512_PATH
MIXCON_TARGET_REGION_BEGIN("avx512f,avx512bw,avx512vl,avx512vnni,fma,f16c")
#include "kernels/cpu/q8_panel_simd.h"

namespace mixcon {
namespace cpu {
namespace {

struct V16 {
  static constexpr int W = 16;
  static constexpr int kPanels = 2;
  static constexpr int kTokens = 6;
  static constexpr int kPackBlocks = 2;  // a 64-byte load holds two blocks' 4-byte groups
  using ireg = __m512i;
  using freg = __m512;
  using mask = __mmask16;
  MIXCON_Q8P_INLINE static ireg iset1(int32_t v) { return _mm512_set1_epi32(v); }
  MIXCON_Q8P_INLINE static ireg iload(const uint8_t* p) { return _mm512_loadu_si512(p); }
  MIXCON_Q8P_INLINE static ireg dpbusd(ireg acc, ireg u8, ireg s8) { return _mm512_dpbusd_epi32(acc, u8, s8); }
  MIXCON_Q8P_INLINE static __m256i dpbusd256(__m256i acc, __m256i u8, __m256i s8) {
    return _mm256_dpbusd_epi32(acc, u8, s8);
  }
  MIXCON_Q8P_INLINE static freg cvt(ireg v) { return _mm512_cvtepi32_ps(v); }
  MIXCON_Q8P_INLINE static freg fzero() { return _mm512_setzero_ps(); }
  MIXCON_Q8P_INLINE static freg fset1(float v) { return _mm512_set1_ps(v); }
  MIXCON_Q8P_INLINE static freg fload(const float* p) { return _mm512_loadu_ps(p); }
  MIXCON_Q8P_INLINE static freg fmul(freg a, freg b) { return _mm512_mul_ps(a, b); }
  MIXCON_Q8P_INLINE static freg fmadd(freg a, freg b, freg c) { return _mm512_fmadd_ps(a, b, c); }
  MIXCON_Q8P_INLINE static void widen_scales(const uint16_t* f16, float* out) {
    _mm512_storeu_ps(out, _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(f16))));
  }
  MIXCON_Q8P_INLINE static mask tail_mask(int64_t left) { return avx512::tail_mask(left); }
  MIXCON_Q8P_INLINE static freg load_rows(const float* p, mask m) { return _mm512_maskz_loadu_ps(m, p); }
  MIXCON_Q8P_INLINE static void store_rows(float* p, mask m, freg v) { _mm512_mask_storeu_ps(p, m, v); }
  // Blocks b (and b + 1 when nblk == 2) of 16 rows: each row's 64 bytes as
  // 16 int32 "groups", transposed so vector j holds group j of every row.
  MIXCON_Q8P_INLINE static void pack_groups(const BlockQ8_0* const* rows, int64_t b, int nblk, uint8_t* q) {
    __m512 v[16];
    #pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {
      const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[i][b].qs));
      const __m256i hi = nblk == 2 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[i][b + 1].qs))
                                   : _mm256_setzero_si256();
      v[i] = _mm512_castsi512_ps(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
    }
    avx512::transpose16(v);
    const __m512i sign = _mm512_set1_epi8(static_cast<char>(0x80));
    #pragma GCC unroll 16
    for (int j = 0; j < 8 * nblk; ++j)
      _mm512_storeu_si512(q + j * 64, _mm512_xor_si512(_mm512_castps_si512(v[j]), sign));
  }
};

}  // namespace

void matvec_q8act_rows_vnni(const MatrixRef& w, const Q8Activations& x, float* y, int64_t r0,
                            int64_t r1) {
  q8_panel::matvec_rows<V16>(w, x, y, r0, r1);
}

void matmul_q8act_rows_vnni(const MatrixRef& w, const Q8Activations& x, float* y, int64_t r0,
                            int64_t r1, void* buf) {
  q8_panel::matmul_rows<V16>(w, x, y, r0, r1, buf, kVnniPanelCols);
}

}  // namespace cpu
}  // namespace mixcon
MIXCON_TARGET_REGION_END


#else
namespace mixcon {
namespace cpu {
// Not an x86 build: cpu_has_avx512_vnni() is false, so nothing calls these.
void matvec_q8act_rows_vnni(const MatrixRef&, const Q8Activations&, float*, int64_t, int64_t) {
  fail(Status::Internal, "the AVX-512 VNNI kernels are not built for this CPU");
}
void matmul_q8act_rows_vnni(const MatrixRef&, const Q8Activations&, float*, int64_t, int64_t, void*) {
  fail(Status::Internal, "the AVX-512 VNNI kernels are not built for this CPU");
}
}  // namespace cpu
}  // namespace mixcon
#endif  // MIXCON_HAVE_AVX512_PATH
