// Products of q8_0 weights with int8-rounded activations (q8_activations.h)
// by an int8 dot product into int32 lanes, written once for any vector
// width: V is a traits struct — W lanes (weight rows per panel), an int32
// and a float register type, dpbusd (four byte products summed into each
// int32 lane, 4·W per step), pack (W rows' blocks to 4-byte-group panels),
// masked row loads/stores. matmul_vnni.cpp instantiates it with AVX-512
// VNNI (16 rows); q8_panel_v8.h holds the 8-row traits that
// matmul_avxvnni.cpp instantiates with AVX-VNNI and matmul_avx2_int8.cpp
// with AVX2's vpmaddubsw + vpmaddwd (CPUs without any VNNI).
//
// vpdpbusd multiplies unsigned by signed bytes, so with V::kUnsignedWeights
// the packed weights have their sign bit flipped (q + 128, unsigned) and
// each sum starts from -128·Σ q_x (Q8Activations::bias_*), which takes the
// +128 back out exactly; otherwise the weights stay as stored and the sums
// start from zero. Either way every block's sum is the exact integer.
//
// Prefill: a panel vector holds the same 4 columns of W rows, so a token's 4
// activations (one broadcast) multiply all W rows at once. Each lane sums
// one block in int32, then adds float(sum)·(d_w·d_x) to its float
// accumulator: block after block, one fused multiply-add each — the
// canonical order of q8_activations.h, bit for bit on every width and dot
// product. Decode streams each row once, one block per step with one lane
// per 4-value group (two blocks per 512-bit step where V::kDecodePairs: the
// same sums, as the even and odd blocks' halves), so its float sums run in
// another order than prefill's (equal within float rounding, MODEL.md §5).
//
// Include it only inside a target region for V's instruction set, after
// every header it relies on has been included outside the region.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "core/backend.h"
#include "core/format/dtype.h"
#include "kernels/cpu/avx2_math.h"
#include "kernels/cpu/panel_prefetch.h"
#include "kernels/cpu/q8_activations.h"
#include "kernels/cpu/tile_output.h"

#define MIXCON_Q8P_INLINE __attribute__((always_inline)) inline

namespace mixcon {
namespace cpu {
namespace q8_panel {

// ---- decode ----------------------------------------------------------------------------

template <class V>
MIXCON_Q8P_INLINE __m256 block_step(const BlockQ8_0& b, const int8_t* xq, const int32_t* bias,
                                    float dx, __m256 acc) {
  __m256i wq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)), init;
  if constexpr (V::kUnsignedWeights) {
    wq = _mm256_xor_si256(wq, _mm256_set1_epi8(static_cast<char>(0x80)));
    init = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias));
  } else {
    init = _mm256_setzero_si256();
  }
  const __m256i s = V::dpbusd256(init, wq, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq)));
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(_cvtsh_ss(b.d) * dx), acc);
}


// y[r] = w[r] · x row 0, r in [r0, r1).
template <class V>
void matvec_rows(const MatrixRef& w, const Q8Activations& x, float* y, int64_t r0, int64_t r1) {
  const int64_t nb = w.cols / 32;
  const int8_t* xq = x.row_q(0);
  const float* dx = x.row_d(0);
  const int32_t* bias = x.row_bias_group(0);
  for (int64_t r = r0; r < r1; ++r) {
    const BlockQ8_0* b = w.row<BlockQ8_0>(r);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int64_t k = 0;
    if constexpr (V::kDecodePairs) {
      typename V::freg a = V::fzero();
      for (; k + 2 <= nb; k += 2) a = V::decode_pair(b[k], b[k + 1], xq + k * 32, bias + k * 8, dx + k, a);
      a0 = _mm512_castps512_ps256(a);
      a1 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1));
    } else {
      for (; k + 2 <= nb; k += 2) {
        a0 = block_step<V>(b[k], xq + k * 32, bias + k * 8, dx[k], a0);
        a1 = block_step<V>(b[k + 1], xq + (k + 1) * 32, bias + (k + 1) * 8, dx[k + 1], a1);
      }
    }
    if (k < nb) a0 = block_step<V>(b[k], xq + k * 32, bias + k * 8, dx[k], a0);
    y[r] = avx2::hsum(_mm256_add_ps(a0, a1));
  }
}

// ---- prefill: packed 4-byte-group panels ---------------------------------------------

// Rows r .. r+W (rows past r1 repeat r1 - 1; their outputs are never
// stored), columns [k0, k0 + kc) (kc % 32 == 0) into
//   q[(k / 4)·4W + 4·i + j] = w[r + i][k0 + k + j]  (+ 128 as u8 where
//                                                     V::kUnsignedWeights)
//   d[(k / 32)·W + i]       = the scale of row r + i's block
// Its rows were asked for while the previous panels computed
// (panel_prefetch.h).
template <class V>
void pack_panel(const MatrixRef& w, int64_t r, int64_t r1, int64_t k0, int64_t kc, uint8_t* q,
                float* d) {
  const BlockQ8_0* rows[V::W];
  for (int i = 0; i < V::W; ++i) rows[i] = w.row<BlockQ8_0>(r + i < r1 ? r + i : r1 - 1) + k0 / 32;
  const int64_t nbk = kc / 32;
  for (int64_t b = 0; b < nbk; b += V::kPackBlocks) {
    const int nblk = nbk - b < V::kPackBlocks ? static_cast<int>(nbk - b) : V::kPackBlocks;
    V::pack_groups(rows, b, nblk, q + b * 8 * 4 * V::W);
    for (int64_t bb = b; bb < b + nblk; ++bb) {
      alignas(64) uint16_t bits[V::W];
#pragma GCC unroll 16
      for (int i = 0; i < V::W; ++i) bits[i] = rows[i][bb].d;
      V::widen_scales(bits, d + bb * V::W);
    }
  }
}

// Outputs of NP panels' rows (from r; mask[p] marks the real ones) × T
// tokens from t0 over the packed columns [k0, k0 + kc); the first column
// range starts from zero, later ones continue the float sums y holds. Each
// token's broadcast 4 activations feed all NP panels.
template <class V, int NP, int T>
MIXCON_Q8P_INLINE void panel_tile(const uint8_t* q, const float* d, int64_t panel_q,
                                  int64_t panel_d, const Q8Activations& x, int64_t t0, int64_t k0,
                                  int64_t kc, float* y, int64_t rows, int64_t r,
                                  const typename V::mask* mask) {
  typename V::freg acc[NP][T];
  const int8_t* xq[T];
  const float* dx[T];
  const int32_t* bias[T];
  #pragma GCC unroll 16
  for (int t = 0; t < T; ++t) {
    #pragma GCC unroll 16
    for (int p = 0; p < NP; ++p)
      acc[p][t] = k0 == 0 ? V::fzero() : V::load_rows(y + (t0 + t) * rows + r + V::W * p, mask[p]);
    xq[t] = x.row_q(t0 + t) + k0;
    dx[t] = x.row_d(t0 + t) + k0 / 32;
    bias[t] = x.row_bias_block(t0 + t) + k0 / 32;
  }
  prefetch_tile_outputs<T, V::W * NP>(y, rows, r, t0 + T, x.n);
  for (int64_t b = 0; b < kc / 32; ++b) {
    typename V::ireg s[NP][T];
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const typename V::ireg init = V::iset1(V::kUnsignedWeights ? bias[t][b] : 0);
      #pragma GCC unroll 16
      for (int p = 0; p < NP; ++p) s[p][t] = init;
    }
    #pragma GCC unroll 16
    for (int g = 0; g < 8; ++g) {
      typename V::wreg wg[NP];
      #pragma GCC unroll 16
      for (int p = 0; p < NP; ++p) wg[p] = V::wload(q + p * panel_q + (b * 8 + g) * 4 * V::W);
      #pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        int32_t four;
        __builtin_memcpy(&four, xq[t] + b * 32 + g * 4, 4);
        const typename V::ireg xb = V::iset1(four);
        #pragma GCC unroll 16
        for (int p = 0; p < NP; ++p) s[p][t] = V::dpbusd(s[p][t], wg[p], xb);
      }
    }
    typename V::freg dw[NP];
    #pragma GCC unroll 16
    for (int p = 0; p < NP; ++p) dw[p] = V::fload(d + p * panel_d + b * V::W);
    #pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const typename V::freg dxb = V::fset1(dx[t][b]);
      #pragma GCC unroll 16
      for (int p = 0; p < NP; ++p)
        acc[p][t] = V::fmadd(V::cvt(s[p][t]), V::fmul(dw[p], dxb), acc[p][t]);
    }
  }
  #pragma GCC unroll 16
  for (int t = 0; t < T; ++t)
    #pragma GCC unroll 16
    for (int p = 0; p < NP; ++p) V::store_rows(y + (t0 + t) * rows + r + V::W * p, mask[p], acc[p][t]);
}

template <class V, int NP>
void panels_all_tokens(const uint8_t* q, const float* d, int64_t panel_q, int64_t panel_d,
                       const Q8Activations& x, int64_t k0, int64_t kc, float* y, int64_t rows,
                       int64_t r, const typename V::mask* mask, PanelPrefetch& ahead) {
  constexpr int T = V::kTokens;
  static_assert(T <= 7, "the tail cases below cover up to 6 tokens");
  const int64_t n = x.n;
  ahead.plan(n / T);
  int64_t t = 0;
  for (; t + T <= n; t += T) {
    ahead.step();
    panel_tile<V, NP, T>(q, d, panel_q, panel_d, x, t, k0, kc, y, rows, r, mask);
  }
  ahead.finish();
  switch (n - t) {
    case 6: panel_tile<V, NP, 6>(q, d, panel_q, panel_d, x, t, k0, kc, y, rows, r, mask); break;
    case 5: panel_tile<V, NP, 5>(q, d, panel_q, panel_d, x, t, k0, kc, y, rows, r, mask); break;
    case 4: panel_tile<V, NP, 4>(q, d, panel_q, panel_d, x, t, k0, kc, y, rows, r, mask); break;
    case 3: panel_tile<V, NP, 3>(q, d, panel_q, panel_d, x, t, k0, kc, y, rows, r, mask); break;
    case 2: panel_tile<V, NP, 2>(q, d, panel_q, panel_d, x, t, k0, kc, y, rows, r, mask); break;
    case 1: panel_tile<V, NP, 1>(q, d, panel_q, panel_d, x, t, k0, kc, y, rows, r, mask); break;
    default: break;
  }
}

// y[t, r] = w[r] · x row t, every t < x.n, r in [r0, r1); buf holds
// V::kPanels panels of c = min(w.cols, kc_max) columns (bytes: c·W each,
// then c/32·W floats each).
template <class V>
void matmul_rows(const MatrixRef& w, const Q8Activations& x, float* y, int64_t r0, int64_t r1,
                 void* buf, int64_t kc_max) {
  constexpr int NP = V::kPanels;
  const int64_t c = w.cols < kc_max ? w.cols : kc_max;
  const int64_t panel_q = c * V::W, panel_d = c / 32 * V::W;
  uint8_t* q = static_cast<uint8_t*>(buf);
  float* d = reinterpret_cast<float*>(q + NP * panel_q);
  for (int64_t r = r0; r < r1; r += V::W * NP) {
    const int np = r1 - r > V::W * (NP - 1) ? NP : 1;
    typename V::mask mask[NP];
    for (int p = 0; p < NP; ++p) mask[p] = V::tail_mask(r1 - r - V::W * p);
    for (int64_t k0 = 0; k0 < w.cols; k0 += kc_max) {
      const int64_t kc = w.cols - k0 < kc_max ? w.cols - k0 : kc_max;
      for (int p = 0; p < np; ++p)
        pack_panel<V>(w, r + V::W * p, r1, k0, kc, q + p * panel_q, d + p * panel_d);
      PanelPrefetch ahead(w, r, r1, V::W * NP, k0, kc, kc_max);
      if (np == NP)
        panels_all_tokens<V, NP>(q, d, panel_q, panel_d, x, k0, kc, y, w.rows, r, mask, ahead);
      else
        panels_all_tokens<V, 1>(q, d, panel_q, panel_d, x, k0, kc, y, w.rows, r, mask, ahead);
    }
  }
}

}  // namespace q8_panel
}  // namespace cpu
}  // namespace mixcon
