// Matrix products with weights in their stored dtype (f32, f16, bf16, q8_0),
// converted inside the dot product: decode is bound by reading the weights,
// so they are never expanded in memory.
//
// Every dot variant shares one accumulation structure (portable: 8 lanes;
// AVX2: four 8-lane FMA accumulators over 32 values, then 8-value steps, then
// a scalar tail, reduced in a fixed order). Conversions are exact (q8_0:
// d·q fits a float), so a row read as stored and the same row dequantized
// to float32 give the same dot bitwise.
#include <cmath>
#include <cstring>

#include "core/common/status.h"
#include "kernels/cpu/avx2_math.h"
#include "kernels/cpu/convert.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/matmul_avx512.h"
#include "kernels/cpu/matmul_group.h"
#include "kernels/cpu/matmul_panels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MIXCON_X86 1
#endif

namespace mixcon {
namespace cpu {
namespace {

// ---- portable -----------------------------------------------------------------

// Every portable dot is these sums: eight running sums over the row in steps
// of 8 (acc[j] += w[i + j]·x[i + j]), a scalar tail, a fixed reduction.
// Narrow rows are converted a chunk at a time into floats first, by loops the
// compiler vectorizes; converting inside the sums kept them scalar (the f16
// and q8_0 decode products ran at 0.02-0.04 of the bandwidth bound with SIMD
// off, which is what a CPU without an own kernel path, e.g. arm64, runs).
// The same values in the same order, so the same bits as before.
inline void sums8(const float* w, const float* x, int64_t n, float* acc) {
  for (int64_t i = 0; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += w[i + j] * x[i + j];
}

inline float reduce8(const float* acc, float tail) {
  return (((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))) +
         tail;
}

constexpr int64_t kDotChunk = 256;  // floats converted at a time (1 KiB, in L1)

// ToF32(i0, m, out): values [i0, i0 + m) of the row as floats.
template <class ToF32>
inline float dot_converted(ToF32 to_f32, const float* x, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  float w[kDotChunk];
  const int64_t n8 = n / 8 * 8;
  for (int64_t i = 0; i < n8; i += kDotChunk) {
    const int64_t m = n8 - i < kDotChunk ? n8 - i : kDotChunk;
    to_f32(i, m, w);
    sums8(w, x + i, m, acc);
  }
  float tail = 0.0f;
  if (n8 < n) {
    to_f32(n8, n - n8, w);
    for (int64_t i = n8; i < n; ++i) tail += w[i - n8] * x[i];
  }
  return reduce8(acc, tail);
}

float dot_f32_portable(const void* w, const float* x, int64_t n) {
  const float* p = static_cast<const float*>(w);
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  sums8(p, x, n, acc);
  float tail = 0.0f;
  for (int64_t i = n / 8 * 8; i < n; ++i) tail += p[i] * x[i];
  return reduce8(acc, tail);
}
float dot_f16_portable(const void* w, const float* x, int64_t n) {
  const uint16_t* p = static_cast<const uint16_t*>(w);
  return dot_converted(
      [p](int64_t i0, int64_t m, float* out) {
        for (int64_t k = 0; k < m; ++k) out[k] = f16_bits_to_f32(p[i0 + k]);
      },
      x, n);
}
float dot_bf16_portable(const void* w, const float* x, int64_t n) {
  const uint16_t* p = static_cast<const uint16_t*>(w);
  return dot_converted(
      [p](int64_t i0, int64_t m, float* out) {
        for (int64_t k = 0; k < m; ++k) out[k] = bf16_bits_to_f32(p[i0 + k]);
      },
      x, n);
}
// w = d·q; q8_0 rows are whole blocks and the chunks start on one.
float dot_q8_portable(const void* w, const float* x, int64_t n) {
  const BlockQ8_0* b = static_cast<const BlockQ8_0*>(w);
  return dot_converted(
      [b](int64_t i0, int64_t m, float* out) {
        for (int64_t k = 0; k < m; k += kQ8BlockValues) {
          const BlockQ8_0& blk = b[(i0 + k) / kQ8BlockValues];
          const float d = f16_bits_to_f32(blk.d);
          for (int j = 0; j < kQ8BlockValues; ++j) out[k + j] = d * static_cast<float>(blk.qs[j]);
        }
      },
      x, n);
}

// ---- AVX2 / FMA ------------------------------------------------------------------

#ifdef MIXCON_X86
#define MIXCON_AVX2 __attribute__((target("avx2,fma,f16c"), always_inline)) inline

struct Avx2F32 {
  const float* p;
  MIXCON_AVX2 __m256 load8(int64_t i) const { return _mm256_loadu_ps(p + i); }
  MIXCON_AVX2 float load1(int64_t i) const { return p[i]; }
};
struct Avx2F16 {
  const uint16_t* p;
  MIXCON_AVX2 __m256 load8(int64_t i) const {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)));
  }
  MIXCON_AVX2 float load1(int64_t i) const { return _cvtsh_ss(p[i]); }
};
struct Avx2BF16 {
  const uint16_t* p;
  MIXCON_AVX2 __m256 load8(int64_t i) const {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
  MIXCON_AVX2 float load1(int64_t i) const { return bf16_bits_to_f32(p[i]); }
};

template <class Load>
MIXCON_AVX2 float dot_avx2_impl(Load w, const float* x, int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_fmadd_ps(w.load8(i), _mm256_loadu_ps(x + i), a0);
    a1 = _mm256_fmadd_ps(w.load8(i + 8), _mm256_loadu_ps(x + i + 8), a1);
    a2 = _mm256_fmadd_ps(w.load8(i + 16), _mm256_loadu_ps(x + i + 16), a2);
    a3 = _mm256_fmadd_ps(w.load8(i + 24), _mm256_loadu_ps(x + i + 24), a3);
  }
  for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(w.load8(i), _mm256_loadu_ps(x + i), a0);
  float tail = 0.0f;
  for (; i < n; ++i) tail = std::fmaf(w.load1(i), x[i], tail);
  return avx2::hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))) + tail;
}

__attribute__((target("avx2,fma,f16c"))) float dot_f32_avx2(const void* w, const float* x,
                                                             int64_t n) {
  return dot_avx2_impl(Avx2F32{static_cast<const float*>(w)}, x, n);
}
__attribute__((target("avx2,fma,f16c"))) float dot_f16_avx2(const void* w, const float* x,
                                                             int64_t n) {
  return dot_avx2_impl(Avx2F16{static_cast<const uint16_t*>(w)}, x, n);
}
__attribute__((target("avx2,fma,f16c"))) float dot_bf16_avx2(const void* w, const float* x,
                                                              int64_t n) {
  return dot_avx2_impl(Avx2BF16{static_cast<const uint16_t*>(w)}, x, n);
}
// q8_0 block by block: one scale conversion per 32 values. Same lanes,
// accumulators and rounding as dot_avx2_impl (w = d·q exactly, then FMA), so
// it equals the f32 dot of the dequantized row bitwise.
__attribute__((target("avx2,fma,f16c"))) float dot_q8_avx2(const void* w, const float* x,
                                                            int64_t n) {
  const BlockQ8_0* b = static_cast<const BlockQ8_0*>(w);
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  const int64_t nb = n / kQ8BlockValues;
  for (int64_t k = 0; k < nb; ++k, x += kQ8BlockValues) {
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(b[k].d));
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[k].qs));
    const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    const __m256 w0 = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)));
    const __m256 w1 = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))));
    const __m256 w2 = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)));
    const __m256 w3 = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))));
    a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x), a0);
    a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + 8), a1);
    a2 = _mm256_fmadd_ps(w2, _mm256_loadu_ps(x + 16), a2);
    a3 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(x + 24), a3);
  }
  return avx2::hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))) + 0.0f;
}

// F16C conversion of one f16 row (exact, like f16_bits_to_f32).
__attribute__((target("avx2,fma,f16c"))) void f16_row_to_f32_avx2(const uint16_t* p, float* out,
                                                                   int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i))));
  for (; i < n; ++i) out[i] = _cvtsh_ss(p[i]);
}

#endif  // MIXCON_X86

bool detect_avx2_fma() {
#ifdef MIXCON_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
#else
  return false;
#endif
}

}  // namespace

bool cpu_has_avx2_fma() {
  static const bool has = detect_avx2_fma();
  return has;
}

const char* cpu_kernel_path() { return kernel_path_name(kernel_path()); }

DotFn dot_portable(DType t) {
  switch (t) {
    case DType::F32: return dot_f32_portable;
    case DType::F16: return dot_f16_portable;
    case DType::BF16: return dot_bf16_portable;
    case DType::Q8_0: return dot_q8_portable;
  }
  fail(Status::Internal, "dot_portable: unknown dtype");
}

DotFn dot_avx2(DType t) {
#ifdef MIXCON_X86
  if (!cpu_has_avx2_fma()) return nullptr;
  switch (t) {
    case DType::F32: return dot_f32_avx2;
    case DType::F16: return dot_f16_avx2;
    case DType::BF16: return dot_bf16_avx2;
    case DType::Q8_0: return dot_q8_avx2;
  }
  fail(Status::Internal, "dot_avx2: unknown dtype");
#else
  (void)t;
  return nullptr;
#endif
}

DotFn dot_best(DType t) {
  // A pinned portable path (tests, MIXCON_CPU_KERNELS) means portable dots too.
  if (kernel_path() == KernelPath::Portable) return dot_portable(t);
  DotFn f = dot_avx2(t);
  return f ? f : dot_portable(t);
}

void row_to_f32(DType t, const void* row, float* out, int64_t n) {
  switch (t) {
    case DType::F32:
      std::memcpy(out, row, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::F16: {
      const uint16_t* p = static_cast<const uint16_t*>(row);
#ifdef MIXCON_X86
      if (cpu_has_avx2_fma()) {
        f16_row_to_f32_avx2(p, out, n);
        return;
      }
#endif
      for (int64_t i = 0; i < n; ++i) out[i] = f16_bits_to_f32(p[i]);
      return;
    }
    case DType::BF16: {
      const uint16_t* p = static_cast<const uint16_t*>(row);
      for (int64_t i = 0; i < n; ++i) out[i] = bf16_bits_to_f32(p[i]);
      return;
    }
    case DType::Q8_0: {
      const BlockQ8_0* b = static_cast<const BlockQ8_0*>(row);
      for (int64_t k = 0; k < n / kQ8BlockValues; ++k) {
        const float d = f16_bits_to_f32(b[k].d);
        for (int64_t j = 0; j < kQ8BlockValues; ++j)
          out[k * kQ8BlockValues + j] = d * static_cast<float>(b[k].qs[j]);
      }
      return;
    }
  }
  fail(Status::Internal, "row_to_f32: unknown dtype");
}

void matvec(const MatrixRef& w, const float* x, float* y, int n_threads) {
  ExecContext cx;
  cx.n_threads = n_threads;
  const Product p{&w, 1, y, x};
  run_products(&p, 1, cx);
}

// Every path's prefill panels fit the AVX-512 ones (the widest), and so do
// the int8 and bf16 panels (matmul_q8_act.cpp, matmul_bf16_act.cpp).
int64_t matmul_scratch_floats(int64_t cols) { return avx512_gemm_scratch_floats(cols); }

void matmul(const MatrixRef& w, const float* x, int64_t n, float* y, const ExecContext& cx) {
  const Product p{&w, n, y, x};
  run_products(&p, 1, cx);
}

void matmul_rows(const MatrixRef& w, const float* x, int64_t n, float* y, int64_t r0, int64_t r1,
                 float* buf) {
  const KernelPath path = kernel_path();
  const uint8_t* base = static_cast<const uint8_t*>(w.data);
  const int64_t cols = w.cols, rb = w.row_bytes;
  if (n == 1) {
    if (path == KernelPath::Avx512) return matvec_rows_avx512(w, x, y, r0, r1);
    // One row after the other: each thread streams its contiguous share of
    // the matrix front to back, which is what the hardware prefetchers
    // follow best (interleaving several rows measured 3-4x slower from DRAM).
    const DotFn dot = dot_best(w.dtype);
    for (int64_t r = r0; r < r1; ++r) y[r] = dot(base + r * rb, x, cols);
    return;
  }
  if (path == KernelPath::Avx512) return matmul_rows_avx512(w, x, n, y, r0, r1, buf);
  if (path == KernelPath::Avx2) return matmul_rows_avx2(w, x, n, y, r0, r1, buf);
  matmul_rows_portable(w, x, n, y, r0, r1, buf);
}

}  // namespace cpu
}  // namespace mixcon
