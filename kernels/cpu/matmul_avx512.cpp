// AVX-512 matrix products for every weight dtype (f32, f16, bf16, q8_0).
//
// Decode (matrix-vector) reads each weight once from memory and converts it
// in registers; it is bound by memory bandwidth, so the arithmetic only has to
// keep up. Prefill (matrix-matrix) packs blocks of weight rows, converted to
// f32, into panels and multiplies them with every token of the chunk as
// outer products (gemm_panel_simd.h, also the AVX2 prefill), so each weight is read
// from memory once per chunk and each converted value is used by every token.
//
// Numerics: every conversion is exact (f16/bf16 widen, q8_0's d·q fits a
// float) and every dot accumulates in float32 in a fixed order that depends
// only on the row and its length, never on the thread count or on which rows
// or tokens share a tile, so results are bitwise independent of threads.
// Decode (four 16-lane accumulators over k mod 64; q8_0: the scale applied to
// each block's partial sum) and prefill (one float per output, summed in k
// order) differ only in rounding order, far inside MODEL.md §5's 1e-4.
#include "kernels/cpu/matmul_avx512.h"

#include <algorithm>

#include "core/common/status.h"
#include "kernels/cpu/avx512_math.h"
#include "kernels/cpu/avx512_target.h"
#include "kernels/cpu/convert.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/panel_prefetch.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/cpu/tile_output.h"

#ifdef MIXCON_HAVE_AVX512_PATH
MIXCON_AVX512_REGION_BEGIN
#include "kernels/cpu/gemm_panel_simd.h"

namespace mixcon {
namespace cpu {
namespace {

using avx512::hsum;
using avx512::tail_mask;
using avx512::transpose16;

// 16 weights of one stored row from column k, as exact floats: `full` for
// 16 columns inside the row, `load` with a mask `m` for a tail (columns past
// the row read as 0). Separate because a masked load cannot fold into the
// conversion: the f16 decode product with masked loads throughout streamed
// 19 GB/s on one Zen 4 core, with plain loads 27 (bf16 24 -> 27).
// full(row, k): the 16 values from column k; pair(row, k, a, b): the 32
// from column k (k + 32 <= cols).
struct LoadF32 {
  MIXCON_AVX512_INLINE static void pair(const uint8_t* row, int64_t k, __m512& a, __m512& b) {
    a = _mm512_loadu_ps(reinterpret_cast<const float*>(row) + k);
    b = _mm512_loadu_ps(reinterpret_cast<const float*>(row) + k + 16);
  }
  MIXCON_AVX512_INLINE static __m512 load(const uint8_t* row, int64_t k, __mmask16 m) {
    return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + k);
  }
  MIXCON_AVX512_INLINE static __m512 full(const uint8_t* row, int64_t k) {
    return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + k);
  }
};
// The 2-byte types' pair is one 64-byte load converted by halves, not two
// converting loads of 32 bytes: the same values with fewer instructions per
// line, which is what bounds a core's streaming once the bus is fast. One
// thread over 512 MiB of 2048x1024 rows: f16 -1..+13% (mostly +1-3%), bf16
// +3-4%; a whole bench-small decode step, A/B alternating in one process:
// f16 +31-51% (the VM in its ~60 GB/s minutes), bf16 +6-23%, f32 the same
// (November 2026, Zen 4).
struct LoadF16 {
  MIXCON_AVX512_INLINE static void pair(const uint8_t* row, int64_t k, __m512& a, __m512& b) {
    const __m512i v = _mm512_loadu_si512(row + 2 * k);
    a = _mm512_cvtph_ps(_mm512_castsi512_si256(v));
    b = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(v, 1));
  }
  MIXCON_AVX512_INLINE static __m512 load(const uint8_t* row, int64_t k, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + k));
  }
  MIXCON_AVX512_INLINE static __m512 full(const uint8_t* row, int64_t k) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * k)));
  }
};
struct LoadBF16 {
  MIXCON_AVX512_INLINE static __m512 widen(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  MIXCON_AVX512_INLINE static void pair(const uint8_t* row, int64_t k, __m512& a, __m512& b) {
    const __m512i v = _mm512_loadu_si512(row + 2 * k);
    a = widen(_mm512_castsi512_si256(v));
    b = widen(_mm512_extracti64x4_epi64(v, 1));
  }
  MIXCON_AVX512_INLINE static __m512 load(const uint8_t* row, int64_t k, __mmask16 m) {
    return widen(_mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + k));
  }
  MIXCON_AVX512_INLINE static __m512 full(const uint8_t* row, int64_t k) {
    return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * k)));
  }
};
// q8_0 rows have cols % 32 == 0, so k is a multiple of 16 inside a block and
// the mask is always full.
struct LoadQ8 {
  MIXCON_AVX512_INLINE static __m512 load(const uint8_t* row, int64_t k, __mmask16) {
    const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(row) + (k >> 5);
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b->qs + (k & 31)));
    const __m512 d = _mm512_set1_ps(_cvtsh_ss(b->d));
    return _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)));
  }
  MIXCON_AVX512_INLINE static __m512 full(const uint8_t* row, int64_t k) { return load(row, k, 0xffff); }
};

// y[r] = row r · x for r in [r0, r1): one row after the other, so each
// thread streams its contiguous share of the matrix front to back (what the
// hardware prefetchers follow best; interleaving rows measured slower from
// DRAM), with four accumulators to cover the FMA latency.
template <class L>
MIXCON_AVX512 void matvec_rows(const MatrixRef& w, const float* x, float* y, int64_t r0,
                               int64_t r1) {
  const uint8_t* base = static_cast<const uint8_t*>(w.data);
  const int64_t cols = w.cols;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = base + r * w.row_bytes;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t k = 0;
    for (; k + 64 <= cols; k += 64) {
      // The four weight loads first, then the products: written one product
      // at a time, GCC interleaved each load with its FMA, and the f16 product
      // streamed 20 GB/s on one Zen 4 core instead of 26 (in isolation; a
      // whole decode step on 2 threads, bound by the shared bus, showed no
      // difference above the host's noise).
      __m512 w0, w1, w2, w3;
      L::pair(row, k, w0, w1);
      L::pair(row, k + 32, w2, w3);
      a0 = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + k), a0);
      a1 = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + k + 16), a1);
      a2 = _mm512_fmadd_ps(w2, _mm512_loadu_ps(x + k + 32), a2);
      a3 = _mm512_fmadd_ps(w3, _mm512_loadu_ps(x + k + 48), a3);
    }
    for (; k < cols; k += 16) {
      const __mmask16 m = tail_mask(cols - k);
      a0 = _mm512_fmadd_ps(L::load(row, k, m), _mm512_maskz_loadu_ps(m, x + k), a0);
    }
    y[r] = hsum(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  }
}

// q8_0 rows: the scale is applied once per 32-value block to the block's
// partial dot product, not to each value (one multiply and one broadcast per
// block instead of two multiplies and two scalar conversions), so the
// per-core conversion rate — what bounds decode once memory is fast — goes
// up: +17% from cache on one core (four accumulators measured the same as
// two, which cover the FMA latency over alternating blocks).
MIXCON_AVX512_INLINE __m512 q8_block(const BlockQ8_0& b, const float* xk, __m512 acc) {
  const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
  const __m128i q1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs + 16));
  const __m512 part =
      _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q1)), _mm512_loadu_ps(xk + 16),
                      _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q0)), _mm512_loadu_ps(xk)));
  return _mm512_fmadd_ps(part, _mm512_set1_ps(_cvtsh_ss(b.d)), acc);
}

MIXCON_AVX512 void matvec_rows_q8(const MatrixRef& w, const float* x, float* y, int64_t r0,
                                  int64_t r1) {
  const int64_t nb = w.cols / kQ8BlockValues;
  for (int64_t r = r0; r < r1; ++r) {
    const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(static_cast<const uint8_t*>(w.data) + r * w.row_bytes);
    __m512 a0 = _mm512_setzero_ps(), a1 = a0;
    int64_t k = 0;
    for (; k + 2 <= nb; k += 2) {
      a0 = q8_block(b[k], x + k * kQ8BlockValues, a0);
      a1 = q8_block(b[k + 1], x + (k + 1) * kQ8BlockValues, a1);
    }
    if (k < nb) a0 = q8_block(b[k], x + k * kQ8BlockValues, a0);
    y[r] = hsum(_mm512_add_ps(a0, a1));
  }
}

// ---- prefill: packed panels (gemm_panel_simd.h) --------------------------------------

struct V16 {
  static constexpr int W = 16;
  static constexpr int kPanels = kGemmPanels;
  static constexpr int kTokens = kGemmTokens;
  using freg = __m512;
  using mask = __mmask16;
  MIXCON_AVX512_INLINE static freg fzero() { return _mm512_setzero_ps(); }
  MIXCON_AVX512_INLINE static freg fload(const float* p) { return _mm512_loadu_ps(p); }
  MIXCON_AVX512_INLINE static void fstore(float* p, freg v) { _mm512_storeu_ps(p, v); }
  MIXCON_AVX512_INLINE static freg fset1(float v) { return _mm512_set1_ps(v); }
  MIXCON_AVX512_INLINE static freg fmadd(freg a, freg b, freg c) { return _mm512_fmadd_ps(a, b, c); }
  MIXCON_AVX512_INLINE static mask tail_mask(int64_t left) { return avx512::tail_mask(left); }
  MIXCON_AVX512_INLINE static freg load_rows(const float* p, mask m) { return _mm512_maskz_loadu_ps(m, p); }
  MIXCON_AVX512_INLINE static void store_rows(float* p, mask m, freg v) { _mm512_mask_storeu_ps(p, m, v); }
  MIXCON_AVX512_INLINE static void transpose(freg* v) { transpose16(v); }
};
struct Loads {
  using F32 = LoadF32;
  using F16 = LoadF16;
  using BF16 = LoadBF16;
  using Q8 = LoadQ8;
};

}  // namespace

void matvec_rows_avx512(const MatrixRef& w, const float* x, float* y, int64_t r0, int64_t r1) {
  switch (w.dtype) {
    case DType::F32: return matvec_rows<LoadF32>(w, x, y, r0, r1);
    case DType::F16: return matvec_rows<LoadF16>(w, x, y, r0, r1);
    case DType::BF16: return matvec_rows<LoadBF16>(w, x, y, r0, r1);
    case DType::Q8_0: return matvec_rows_q8(w, x, y, r0, r1);
  }
}

void matmul_rows_avx512(const MatrixRef& w, const float* x, int64_t n, float* y, int64_t r0,
                        int64_t r1, float* buf) {
  gemm_panel::matmul_rows_any<V16, Loads>(w, x, n, y, r0, r1, buf, kGemmKc);
}

}  // namespace cpu
}  // namespace mixcon
MIXCON_TARGET_REGION_END

#else
namespace mixcon {
namespace cpu {
// Not an x86 build: kernel_path() never selects this path.
void matvec_rows_avx512(const MatrixRef&, const float*, float*, int64_t, int64_t) {
  fail(Status::Internal, "the AVX-512 kernel path is not built for this CPU");
}
void matmul_rows_avx512(const MatrixRef&, const float*, int64_t, float*, int64_t, int64_t, float*) {
  fail(Status::Internal, "the AVX-512 kernel path is not built for this CPU");
}
}  // namespace cpu
}  // namespace mixcon
#endif  // MIXCON_HAVE_AVX512_PATH
