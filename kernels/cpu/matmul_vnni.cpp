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
  using wreg = __m512i;
  using mask = __mmask16;
  static constexpr bool kUnsignedWeights = true;  // q + 128: vpdpbusd's u8 operand
  MIXCON_Q8P_INLINE static ireg iset1(int32_t v) { return _mm512_set1_epi32(v); }
  MIXCON_Q8P_INLINE static wreg wload(const uint8_t* p) { return _mm512_loadu_si512(p); }
  MIXCON_Q8P_INLINE static ireg dpbusd(ireg acc, ireg u8, ireg s8) { return _mm512_dpbusd_epi32(acc, u8, s8); }
  MIXCON_Q8P_INLINE static __m256i dpbusd256(__m256i acc, __m256i u8, __m256i s8) {
    return _mm256_dpbusd_epi32(acc, u8, s8);
  }
  MIXCON_Q8P_INLINE static freg cvt(ireg v) { return _mm512_cvtepi32_ps(v); }
  // Decode, two blocks k and k + 1 of a row per step: the low half of the
  // sums is block k's (as block_step's 256-bit one), the high half block
  // k + 1's, each scaled by its own d_w·d_x — the same bits as two 256-bit
  // steps with half the instructions: one thread streamed 23 -> 30 GB/s (of
  // ~31 for its probe), bench-small decode +4-6% at ~35 GB/s.
  static constexpr bool kDecodePairs = true;
  MIXCON_Q8P_INLINE static freg decode_pair(const BlockQ8_0& b0, const BlockQ8_0& b1, const int8_t* xq,
                                            const int32_t* bias, const float* dx, freg acc) {
    const __m512i w = _mm512_xor_si512(
        _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0.qs))),
                           _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b1.qs)), 1),
        _mm512_set1_epi8(static_cast<char>(0x80)));
    const __m512i s = _mm512_dpbusd_epi32(_mm512_loadu_si512(bias), w, _mm512_loadu_si512(xq));
    const __m128 d = _mm_cvtph_ps(_mm_insert_epi16(_mm_cvtsi32_si128(b0.d), b1.d, 1));
    const __m128 sc = _mm_mul_ps(d, _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(dx))));
    const __m512 f = _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                                           _mm512_castps128_ps512(sc));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), f, acc);
  }
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
