// AVX-512 matrix products for every weight dtype (f32, f16, bf16, q8_0).
//
// Decode (matrix-vector) reads each weight once from memory and converts it
// in registers; it is bound by memory bandwidth, so the arithmetic only has to
// keep up. Prefill (matrix-matrix)
// converts a block of 4 weight rows once into f32 scratch (L1-resident) and
// multiplies it with every token of the chunk in 4×4 register tiles, so each
// weight is read from memory once per chunk and each converted value is used
// by every token.
//
// Numerics: every conversion is exact (f16/bf16 widen, q8_0's d·q fits a
// float) and every dot accumulates in float32 in a fixed order that depends
// only on the row and its length, never on the thread count or on which rows
// or tokens share a tile, so results are bitwise independent of threads.
// Decode (four 16-lane accumulators over k mod 64) and prefill (one 16-lane
// accumulator per row and token) differ only in rounding order, far inside
// MODEL.md §5's 1e-4.
#include "kernels/cpu/matmul_avx512.h"

// GCC 12's AVX-512 intrinsics (_mm512_cvtph_ps, _mm512_extractf64x4_pd) pass
// an intentionally undefined vector and trip -Wmaybe-uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <algorithm>

#include "kernels/cpu/convert.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/thread_pool.h"
#include "core/common/status.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MIXCON_HAVE_AVX512_PATH 1
#endif

namespace mixcon {
namespace cpu {
#ifdef MIXCON_HAVE_AVX512_PATH
namespace {

#define MIXCON_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c")))
#define MIXCON_AVX512_INLINE MIXCON_AVX512 __attribute__((always_inline)) inline

// Fixed halving reduction: 16 → 8 → 4 → 2 → 1 lanes.
MIXCON_AVX512_INLINE float hsum(__m512 v) {
  const __m256 lo = _mm512_castps512_ps256(v);
  const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
  const __m256 a = _mm256_add_ps(lo, hi);
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  b = _mm_add_ss(b, _mm_movehdup_ps(b));
  return _mm_cvtss_f32(b);
}

MIXCON_AVX512_INLINE __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1u);
}

// 16 weights of one stored row from column k, as exact floats; `m` masks a
// tail (columns past the row read as 0).
struct LoadF32 {
  MIXCON_AVX512_INLINE static __m512 load(const uint8_t* row, int64_t k, __mmask16 m) {
    return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + k);
  }
};
struct LoadF16 {
  MIXCON_AVX512_INLINE static __m512 load(const uint8_t* row, int64_t k, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + k));
  }
};
struct LoadBF16 {
  MIXCON_AVX512_INLINE static __m512 load(const uint8_t* row, int64_t k, __mmask16 m) {
    const __m256i h = _mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + k);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
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
  const __mmask16 full = 0xffff;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = base + r * w.row_bytes;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t k = 0;
    for (; k + 64 <= cols; k += 64) {
      a0 = _mm512_fmadd_ps(L::load(row, k, full), _mm512_loadu_ps(x + k), a0);
      a1 = _mm512_fmadd_ps(L::load(row, k + 16, full), _mm512_loadu_ps(x + k + 16), a1);
      a2 = _mm512_fmadd_ps(L::load(row, k + 32, full), _mm512_loadu_ps(x + k + 32), a2);
      a3 = _mm512_fmadd_ps(L::load(row, k + 48, full), _mm512_loadu_ps(x + k + 48), a3);
    }
    for (; k < cols; k += 16) {
      const __mmask16 m = tail_mask(cols - k);
      a0 = _mm512_fmadd_ps(L::load(row, k, m), _mm512_maskz_loadu_ps(m, x + k), a0);
    }
    y[r] = hsum(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  }
}

// The f32 tile: R weight rows (f32, wr[i] rows of `cols`) × T tokens.
template <int R, int T>
MIXCON_AVX512_INLINE void gemm_tile(const float* const* wr, const float* x, int64_t cols,
                                    int64_t t0, int64_t rows, int64_t r0, float* y) {
  __m512 acc[R][T];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  const float* xt = x + t0 * cols;
  // Full steps, then one masked step for a tail (zeros add nothing).
  for (int64_t k = 0; k < cols; k += 16) {
    const __mmask16 m = tail_mask(cols - k);
    __m512 wv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) wv[r] = _mm512_maskz_loadu_ps(m, wr[r] + k);
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, xt + t * cols + k);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t)
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) y[(t0 + t) * rows + r0 + r] = hsum(acc[r][t]);
}

template <int R>
MIXCON_AVX512_INLINE void gemm_rows_all_tokens(const float* const* wr, const float* x, int64_t n,
                                               int64_t cols, int64_t rows, int64_t r0, float* y) {
  int64_t t = 0;
  for (; t + 4 <= n; t += 4) gemm_tile<R, 4>(wr, x, cols, t, rows, r0, y);
  switch (n - t) {
    case 3: gemm_tile<R, 3>(wr, x, cols, t, rows, r0, y); break;
    case 2: gemm_tile<R, 2>(wr, x, cols, t, rows, r0, y); break;
    case 1: gemm_tile<R, 1>(wr, x, cols, t, rows, r0, y); break;
    default: break;
  }
}

// Converts `nr` rows starting at r to f32 in buf (rows of `cols` floats).
template <class L>
MIXCON_AVX512_INLINE void convert_rows(const uint8_t* base, int64_t rb, int64_t cols, int64_t r,
                                       int nr, float* buf) {
  for (int i = 0; i < nr; ++i) {
    const uint8_t* row = base + (r + i) * rb;
    float* out = buf + i * cols;
    for (int64_t k = 0; k < cols; k += 16) {
      const __mmask16 m = tail_mask(cols - k);
      _mm512_mask_storeu_ps(out + k, m, L::load(row, k, m));
    }
  }
}

template <class L, bool kIsF32>
MIXCON_AVX512 void matmul_rows(const MatrixRef& w, const float* x, int64_t n, float* y,
                               int64_t r0, int64_t r1, float* buf) {
  const uint8_t* base = static_cast<const uint8_t*>(w.data);
  const int64_t cols = w.cols, rb = w.row_bytes, rows = w.rows;
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const float* wr[4];
    if (kIsF32) {
      for (int i = 0; i < 4; ++i) wr[i] = reinterpret_cast<const float*>(base + (r + i) * rb);
    } else {
      convert_rows<L>(base, rb, cols, r, 4, buf);
      for (int i = 0; i < 4; ++i) wr[i] = buf + i * cols;
    }
    gemm_rows_all_tokens<4>(wr, x, n, cols, rows, r, y);
  }
  for (; r < r1; ++r) {
    const float* wr[1];
    if (kIsF32) {
      wr[0] = reinterpret_cast<const float*>(base + r * rb);
    } else {
      convert_rows<L>(base, rb, cols, r, 1, buf);
      wr[0] = buf;
    }
    gemm_rows_all_tokens<1>(wr, x, n, cols, rows, r, y);
  }
}

}  // namespace

void matvec_rows_avx512(const MatrixRef& w, const float* x, float* y, int64_t r0, int64_t r1) {
  switch (w.dtype) {
    case DType::F32: return matvec_rows<LoadF32>(w, x, y, r0, r1);
    case DType::F16: return matvec_rows<LoadF16>(w, x, y, r0, r1);
    case DType::BF16: return matvec_rows<LoadBF16>(w, x, y, r0, r1);
    case DType::Q8_0: return matvec_rows<LoadQ8>(w, x, y, r0, r1);
  }
}

void matmul_rows_avx512(const MatrixRef& w, const float* x, int64_t n, float* y, int64_t r0,
                        int64_t r1, float* buf) {
  switch (w.dtype) {
    case DType::F32: return matmul_rows<LoadF32, true>(w, x, n, y, r0, r1, buf);
    case DType::F16: return matmul_rows<LoadF16, false>(w, x, n, y, r0, r1, buf);
    case DType::BF16: return matmul_rows<LoadBF16, false>(w, x, n, y, r0, r1, buf);
    case DType::Q8_0: return matmul_rows<LoadQ8, false>(w, x, n, y, r0, r1, buf);
  }
}

namespace {

// Rows [r0, r1) of thread t of nt: contiguous ranges in multiples of 16 rows,
// so threads never write the same cache line of y.
void thread_rows(int64_t rows, int t, int nt, int64_t* r0, int64_t* r1) {
  const int64_t units = (rows + 15) / 16;
  const int64_t per = (units + nt - 1) / nt;
  *r0 = std::min(rows, t * per * 16);
  *r1 = std::min(rows, (t + 1) * per * 16);
}

}  // namespace

// A decode step runs ~10 matrix-vector products per layer; waking a thread
// team costs microseconds (more on a busy machine), while a matrix under
// about a megabyte streams in tens of microseconds on one core. So only
// products above kMatvecParallelMinWork multiply-adds are split.
constexpr int64_t kMatvecParallelMinWork = int64_t(1) << 19;

void matvec_avx512(const MatrixRef& w, const float* x, float* y, int n_threads) {
  const int nt = w.rows * w.cols < kMatvecParallelMinWork ? 1 : n_threads;
  if (nt <= 1) {
    matvec_rows_avx512(w, x, y, 0, w.rows);
    return;
  }
  parallel(nt, [&](int t, int parts) {
    int64_t r0, r1;
    thread_rows(w.rows, t, parts, &r0, &r1);
    if (r0 < r1) matvec_rows_avx512(w, x, y, r0, r1);
  });
}

void matmul_avx512(const MatrixRef& w, const float* x, int64_t n, float* y,
                   const ExecContext& cx) {
  const int nt = threads_for(w.rows * w.cols * n, cx.n_threads);
  if (nt <= 1) {
    matmul_rows_avx512(w, x, n, y, 0, w.rows, cx.scratch);
    return;
  }
  parallel(nt, [&](int t, int parts) {
    int64_t r0, r1;
    thread_rows(w.rows, t, parts, &r0, &r1);
    if (r0 < r1)
      matmul_rows_avx512(w, x, n, y, r0, r1, cx.scratch + int64_t(t) * cx.scratch_floats_per_thread);
  });
}

#else
// Not an x86 build: kernel_path() never selects this path.
void matvec_rows_avx512(const MatrixRef&, const float*, float*, int64_t, int64_t) {
  fail(Status::Internal, "the AVX-512 kernel path is not built for this CPU");
}
void matmul_rows_avx512(const MatrixRef&, const float*, int64_t, float*, int64_t, int64_t, float*) {
  fail(Status::Internal, "the AVX-512 kernel path is not built for this CPU");
}
void matvec_avx512(const MatrixRef&, const float*, float*, int) {
  fail(Status::Internal, "the AVX-512 kernel path is not built for this CPU");
}
void matmul_avx512(const MatrixRef&, const float*, int64_t, float*, const ExecContext&) {
  fail(Status::Internal, "the AVX-512 kernel path is not built for this CPU");
}
#endif  // MIXCON_HAVE_AVX512_PATH

}  // namespace cpu
}  // namespace mixcon
