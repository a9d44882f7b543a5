// Products of q8_0 weights with int8-rounded activations (q8_activations.h)
// by AVX-512 VNNI: vpdpbusd adds four u8·s8 products into each of its int32
// lanes, so one instruction does 64 multiply-adds exactly (the f32 path does
// 16 per FMA, after converting the weights). The weights' sign bit is flipped
// to make them unsigned (q + 128), and each sum starts from -128·Σ q_x
// (Q8Activations::bias_*), which takes the +128 back out exactly.
//
// Prefill packs 16 weight rows at a time like matmul_avx512.cpp, but as
// 4-byte groups: one 64-byte vector holds the same 4 columns of 16 rows, so
// a token's 4 activations (one broadcast) multiply all 16 rows at once. Each
// output lane sums one block in int32, then adds float(sum)·(d_w·d_x) to a
// float accumulator: block after block, one fused multiply-add each — the
// canonical order of q8_activations.h, bit for bit.
//
// Decode streams each row once (256-bit: one block per step, one lane per
// 4-value group), so its float sums run in another order: equal to prefill
// within float rounding (MODEL.md §5), not bitwise.
#include "kernels/cpu/matmul_vnni.h"

#include "core/common/status.h"
#include "core/format/dtype.h"
#include "kernels/cpu/avx512_math.h"
#include "kernels/cpu/avx512_target.h"

namespace mixcon {
namespace cpu {
#ifdef MIXCON_HAVE_AVX512_PATH
#define MIXCON_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,fma,f16c")))
#define MIXCON_VNNI_INLINE MIXCON_VNNI __attribute__((always_inline)) inline
namespace {

using avx512::tail_mask;
using avx512::transpose16;

const BlockQ8_0* row_blocks(const MatrixRef& w, int64_t r) {
  return reinterpret_cast<const BlockQ8_0*>(static_cast<const uint8_t*>(w.data) + r * w.row_bytes);
}

// ---- decode --------------------------------------------------------------------------

MIXCON_VNNI_INLINE __m256 block_step(const BlockQ8_0& b, const int8_t* xq, const int32_t* bias,
                                     float dx, __m256 acc) {
  const __m256i sign = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i wq = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)), sign);
  const __m256i s = _mm256_dpbusd_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias)), wq,
                                        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq)));
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(_cvtsh_ss(b.d) * dx), acc);
}

MIXCON_VNNI_INLINE float hsum8(__m256 s) {
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  return _mm_cvtss_f32(h);
}

// ---- prefill: packed 4-byte-group panels -----------------------------------------------

// A register tile: kPanels panels of 16 rows × kTokens tokens, an int32
// and a float accumulator each (24 of the 32 vector registers).
constexpr int kPanels = 2;
constexpr int kTokens = 6;

// Rows r .. r+16 (rows past r1 repeat r1 - 1; their outputs are never
// stored), columns [k0, k0 + kc) (kc % 32 == 0) into
//   q[(k / 4)·64 + 4·i + j] = w[r + i][k0 + k + j] + 128   (as u8)
//   d[(k / 32)·16 + i]      = the scale of row r + i's block
MIXCON_VNNI void pack_panel(const MatrixRef& w, int64_t r, int64_t r1, int64_t k0, int64_t kc,
                            uint8_t* q, float* d) {
  const BlockQ8_0* rows[16];
  for (int i = 0; i < 16; ++i) rows[i] = row_blocks(w, r + i < r1 ? r + i : r1 - 1) + k0 / 32;
  const int64_t nbk = kc / 32;
  const __m512i sign = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t b = 0; b < nbk; b += 2) {
    const bool pair = b + 1 < nbk;
    __m512 v[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {
      const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[i][b].qs));
      const __m256i hi = pair ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[i][b + 1].qs))
                              : _mm256_setzero_si256();
      v[i] = _mm512_castsi512_ps(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
    }
    transpose16(v);
    const int groups = pair ? 16 : 8;
    for (int j = 0; j < groups; ++j)
      _mm512_storeu_si512(q + (b * 8 + j) * 64, _mm512_xor_si512(_mm512_castps_si512(v[j]), sign));
    for (int64_t bb = b; bb < b + (pair ? 2 : 1); ++bb) {
      __m256i h = _mm256_setzero_si256();
      alignas(32) uint16_t bits[16];
      for (int i = 0; i < 16; ++i) bits[i] = rows[i][bb].d;
      h = _mm256_load_si256(reinterpret_cast<const __m256i*>(bits));
      _mm512_storeu_ps(d + bb * 16, _mm512_cvtph_ps(h));
    }
  }
}

// Outputs of NP panels' rows (from r; mask[p] marks the real ones) × T
// tokens from t0 over the packed columns [k0, k0 + kc); the first column
// range starts from zero, later ones continue the float sums y holds. Each
// token's broadcast 4 activations feed all NP panels.
template <int NP, int T>
MIXCON_VNNI_INLINE void panel_tile(const uint8_t* q, const float* d, int64_t panel_q,
                                   int64_t panel_d, const Q8Activations& x, int64_t t0,
                                   int64_t k0, int64_t kc, float* y, int64_t rows, int64_t r,
                                   const __mmask16* mask) {
  __m512 acc[NP][T];
  const int8_t* xq[T];
  const float* dx[T];
  const int32_t* bias[T];
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) {
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p)
      acc[p][t] = k0 == 0 ? _mm512_setzero_ps()
                          : _mm512_maskz_loadu_ps(mask[p], y + (t0 + t) * rows + r + 16 * p);
    xq[t] = x.row_q(t0 + t) + k0;
    dx[t] = x.row_d(t0 + t) + k0 / 32;
    bias[t] = x.row_bias_block(t0 + t) + k0 / 32;
  }
  for (int64_t b = 0; b < kc / 32; ++b) {
    __m512i s[NP][T];
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m512i init = _mm512_set1_epi32(bias[t][b]);
#pragma GCC unroll 4
      for (int p = 0; p < NP; ++p) s[p][t] = init;
    }
#pragma GCC unroll 8
    for (int g = 0; g < 8; ++g) {
      __m512i wg[NP];
#pragma GCC unroll 4
      for (int p = 0; p < NP; ++p) wg[p] = _mm512_loadu_si512(q + p * panel_q + (b * 8 + g) * 64);
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        int32_t four;
        __builtin_memcpy(&four, xq[t] + b * 32 + g * 4, 4);
        const __m512i xb = _mm512_set1_epi32(four);
#pragma GCC unroll 4
        for (int p = 0; p < NP; ++p) s[p][t] = _mm512_dpbusd_epi32(s[p][t], wg[p], xb);
      }
    }
    __m512 dw[NP];
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) dw[p] = _mm512_loadu_ps(d + p * panel_d + b * 16);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m512 dxb = _mm512_set1_ps(dx[t][b]);
#pragma GCC unroll 4
      for (int p = 0; p < NP; ++p)
        acc[p][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[p][t]), _mm512_mul_ps(dw[p], dxb), acc[p][t]);
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t)
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p)
      _mm512_mask_storeu_ps(y + (t0 + t) * rows + r + 16 * p, mask[p], acc[p][t]);
}

template <int NP>
MIXCON_VNNI void panels_all_tokens(const uint8_t* q, const float* d, int64_t panel_q,
                                   int64_t panel_d, const Q8Activations& x, int64_t k0,
                                   int64_t kc, float* y, int64_t rows, int64_t r,
                                   const __mmask16* mask) {
  constexpr int T = kTokens;
  const int64_t n = x.n;
  int64_t t = 0;
  for (; t + T <= n; t += T) panel_tile<NP, T>(q, d, panel_q, panel_d, x, t, k0, kc, y, rows, r, mask);
  static_assert(T <= 7, "the tail cases below cover up to 6 tokens");
  switch (n - t) {
    case 6: panel_tile<NP, 6>(q, d, panel_q, panel_d, x, t, k0, kc, y, rows, r, mask); break;
    case 5: panel_tile<NP, 5>(q, d, panel_q, panel_d, x, t, k0, kc, y, rows, r, mask); break;
    case 4: panel_tile<NP, 4>(q, d, panel_q, panel_d, x, t, k0, kc, y, rows, r, mask); break;
    case 3: panel_tile<NP, 3>(q, d, panel_q, panel_d, x, t, k0, kc, y, rows, r, mask); break;
    case 2: panel_tile<NP, 2>(q, d, panel_q, panel_d, x, t, k0, kc, y, rows, r, mask); break;
    case 1: panel_tile<NP, 1>(q, d, panel_q, panel_d, x, t, k0, kc, y, rows, r, mask); break;
    default: break;
  }
}

}  // namespace

bool cpu_has_avx512_vnni() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni") != 0;
  }();
  return has;
}

MIXCON_VNNI void matvec_q8act_rows_vnni(const MatrixRef& w, const Q8Activations& x, float* y,
                                        int64_t r0, int64_t r1) {
  const int64_t nb = w.cols / 32;
  const int8_t* xq = x.row_q(0);
  const float* dx = x.row_d(0);
  const int32_t* bias = x.row_bias_group(0);
  for (int64_t r = r0; r < r1; ++r) {
    const BlockQ8_0* b = row_blocks(w, r);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int64_t k = 0;
    for (; k + 2 <= nb; k += 2) {
      a0 = block_step(b[k], xq + k * 32, bias + k * 8, dx[k], a0);
      a1 = block_step(b[k + 1], xq + (k + 1) * 32, bias + (k + 1) * 8, dx[k + 1], a1);
    }
    if (k < nb) a0 = block_step(b[k], xq + k * 32, bias + k * 8, dx[k], a0);
    y[r] = hsum8(_mm256_add_ps(a0, a1));
  }
}

MIXCON_VNNI void matmul_q8act_rows_vnni(const MatrixRef& w, const Q8Activations& x, float* y,
                                        int64_t r0, int64_t r1, void* buf) {
  constexpr int64_t panel_q = kVnniPanelCols * 16, panel_d = kVnniPanelCols / 2;
  static_assert(kPanels * (panel_q + panel_d * 4) <= kVnniScratchBytes, "panels fit the scratch");
  uint8_t* q = static_cast<uint8_t*>(buf);
  float* d = reinterpret_cast<float*>(q + kPanels * panel_q);
  for (int64_t r = r0; r < r1; r += 16 * kPanels) {
    const int np = r1 - r > 16 ? kPanels : 1;
    __mmask16 mask[kPanels];
    for (int p = 0; p < kPanels; ++p) mask[p] = tail_mask(r1 - r - 16 * p);
    for (int64_t k0 = 0; k0 < w.cols; k0 += kVnniPanelCols) {
      const int64_t kc = w.cols - k0 < kVnniPanelCols ? w.cols - k0 : kVnniPanelCols;
      for (int p = 0; p < np; ++p) pack_panel(w, r + 16 * p, r1, k0, kc, q + p * panel_q, d + p * panel_d);
      if (np == 2)
        panels_all_tokens<2>(q, d, panel_q, panel_d, x, k0, kc, y, w.rows, r, mask);
      else
        panels_all_tokens<1>(q, d, panel_q, panel_d, x, k0, kc, y, w.rows, r, mask);
    }
  }
}

#else
// Not an x86 build: cpu_has_avx512_vnni() is false, so nothing calls these.
bool cpu_has_avx512_vnni() { return false; }
void matvec_q8act_rows_vnni(const MatrixRef&, const Q8Activations&, float*, int64_t, int64_t) {
  fail(Status::Internal, "the AVX-512 VNNI kernels are not built for this CPU");
}
void matmul_q8act_rows_vnni(const MatrixRef&, const Q8Activations&, float*, int64_t, int64_t, void*) {
  fail(Status::Internal, "the AVX-512 VNNI kernels are not built for this CPU");
}
#endif  // MIXCON_HAVE_AVX512_PATH

}  // namespace cpu
}  // namespace mixcon
