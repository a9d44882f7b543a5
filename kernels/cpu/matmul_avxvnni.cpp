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

#ifdef MIXCON_HAVE_AVX2_PATH
#include <cpuid.h>

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
    __m256 r[8], t[8], u[8];
    #pragma GCC unroll 16
    for (int i = 0; i < 8; ++i)
      r[i] = _mm256_castsi256_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[i][b].qs)));
    #pragma GCC unroll 16
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    #pragma GCC unroll 16
    for (int i = 0; i < 2; ++i) {
      u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
      u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
      u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
      u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    const __m256i sign = _mm256_set1_epi8(static_cast<char>(0x80));
    #pragma GCC unroll 16
    for (int j = 0; j < 4; ++j) {
      const __m256 lo = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
      const __m256 hi = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + j * 32), _mm256_xor_si256(_mm256_castps_si256(lo), sign));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + (4 + j) * 32), _mm256_xor_si256(_mm256_castps_si256(hi), sign));
    }
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

namespace mixcon {
namespace cpu {
// CPUID leaf 7 subleaf 1, EAX bit 4 (clang 14's __builtin_cpu_supports
// does not know "avxvnni").
bool cpu_has_avx_vnni() {
  static const bool has = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    return cpu_supports(KernelPath::Avx2) && __get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 4) & 1u) != 0;
  }();
  return has;
}
}  // namespace cpu
}  // namespace mixcon

#else
namespace mixcon {
namespace cpu {
// Not an x86 build: cpu_has_avx_vnni() is false, so nothing calls these.
bool cpu_has_avx_vnni() { return false; }
void matvec_q8act_rows_avxvnni(const MatrixRef&, const Q8Activations&, float*, int64_t, int64_t) {
  fail(Status::Internal, "the AVX-VNNI kernels are not built for this CPU");
}
void matmul_q8act_rows_avxvnni(const MatrixRef&, const Q8Activations&, float*, int64_t, int64_t, void*) {
  fail(Status::Internal, "the AVX-VNNI kernels are not built for this CPU");
}
}  // namespace cpu
}  // namespace mixcon
#endif  // MIXCON_HAVE_AVX2_PATH
