// The float prefill product (matrix × a chunk of tokens) as packed panels,
// written once for any vector width: V is a traits struct — W lanes (weight
// rows per panel), kPanels panels side by side and kTokens tokens per
// register tile, a float register type, its loads, stores, broadcast, FMA,
// tail masks and W×W transpose — and L reads W weights of one stored row as
// exact floats (full(row, k); load(row, k, mask) for a tail, columns past
// the row as 0). matmul_avx512.cpp instantiates it with 16 lanes (2 panels ×
// 8 tokens: 16 of the 32 registers hold sums), matmul_avx2.cpp with 8 (2 × 6:
// 12 of the 16), matmul_portable.cpp with 4 (GCC/Clang vector types).
//
// A block of up to kPanels·W weight rows is converted once per kc columns
// into panels [kc][W] (W rows side by side for each column, by W×W
// in-register transposes), then every token of the chunk multiplies it as an
// outer product: a panel column (one load) times the token's x[k] (one
// broadcast) adds into W outputs at once. No horizontal sums, outputs stored
// as whole vectors, and the panels (up to 256 KiB) stay in L2 while all
// tokens pass over them. Each output sums its products in k order, one float
// accumulator, so the result does not depend on the tiling, the thread count
// or the vector width: both instances give the same bits.
//
// Include it only inside a target region for V's instruction set (none for
// the portable instance), after every header it relies on has been included
// outside the region.
#pragma once

#include <cstdint>

#include "core/backend.h"
#include "core/format/dtype.h"
#include "kernels/cpu/panel_prefetch.h"
#include "kernels/cpu/tile_output.h"

#define MIXCON_GEMM_INLINE __attribute__((always_inline)) inline

namespace mixcon {
namespace cpu {
namespace gemm_panel {

// Panel p of buf gets rows r + W·p .. +W, columns [k0, k0 + kc):
// buf[(p·kcp + k)·W + i] = w[r + W·p + i][k0 + k], kcp = kc rounded up to W
// (the columns past kc hold zeros). Rows past r1 repeat row r1 - 1: their
// outputs are never stored.
// Its rows were asked for while the previous panels computed
// (panel_prefetch.h).
template <class V, class L>
MIXCON_GEMM_INLINE void pack_panels(const uint8_t* base, int64_t rb, int64_t r, int64_t r1, int np,
                                    int64_t k0, int64_t kc, float* buf) {
  constexpr int W = V::W;
  const int64_t kcp = (kc + W - 1) / W * W;
  for (int p = 0; p < np; ++p) {
    const uint8_t* rows[W];
#pragma GCC unroll 16
    for (int i = 0; i < W; ++i) rows[i] = base + (r + W * p + i < r1 ? r + W * p + i : r1 - 1) * rb;
    for (int64_t k = 0; k < kc; k += W) {
      typename V::freg v[W];
      if (kc - k >= W) {
#pragma GCC unroll 16
        for (int i = 0; i < W; ++i) v[i] = L::full(rows[i], k0 + k);
      } else {
        const typename V::mask m = V::tail_mask(kc - k);
#pragma GCC unroll 16
        for (int i = 0; i < W; ++i) v[i] = L::load(rows[i], k0 + k, m);
      }
      V::transpose(v);
      float* out = buf + (p * kcp + k) * W;
#pragma GCC unroll 16
      for (int j = 0; j < W; ++j) V::fstore(out + j * W, v[j]);
    }
  }
}

// Outputs of NP·W rows (from r, `valid` of them real) × T tokens from t0,
// over columns [k0, k0 + kc) of packed panels; the first column block
// starts from zero, later ones add to what y holds.
template <class V, int NP, int T>
MIXCON_GEMM_INLINE void panel_tile(const float* buf, const float* x, int64_t n, int64_t cols,
                                   int64_t t0, int64_t k0, int64_t kc, float* y, int64_t rows,
                                   int64_t r, int64_t valid) {
  constexpr int W = V::W;
  typename V::freg acc[NP][T];
  typename V::mask mask[NP];
#pragma GCC unroll 8
  for (int p = 0; p < NP; ++p) mask[p] = V::tail_mask(valid - W * p);
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t)
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p)
      acc[p][t] = k0 == 0 ? V::fzero() : V::load_rows(y + (t0 + t) * rows + r + W * p, mask[p]);
  prefetch_tile_outputs<T, W * NP>(y, rows, r, t0 + T, n);
  const float* xt = x + t0 * cols + k0;
  const int64_t kcp = (kc + W - 1) / W * W;
  for (int64_t k = 0; k < kc; ++k) {
    typename V::freg w[NP];
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) w[p] = V::fload(buf + (p * kcp + k) * W);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const typename V::freg xb = V::fset1(xt[t * cols + k]);
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) acc[p][t] = V::fmadd(w[p], xb, acc[p][t]);
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t)
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) V::store_rows(y + (t0 + t) * rows + r + W * p, mask[p], acc[p][t]);
}

template <class V, int NP>
MIXCON_GEMM_INLINE void panel_all_tokens(const float* buf, const float* x, int64_t n, int64_t cols,
                                         int64_t k0, int64_t kc, float* y, int64_t rows, int64_t r,
                                         int64_t valid, PanelPrefetch& ahead) {
  constexpr int T = V::kTokens;
  static_assert(T <= 8, "the tail cases below cover up to 7 tokens");
  ahead.plan(n / T);
  int64_t t = 0;
  for (; t + T <= n; t += T) {
    ahead.step();
    panel_tile<V, NP, T>(buf, x, n, cols, t, k0, kc, y, rows, r, valid);
  }
  ahead.finish();
  switch (n - t) {
    case 7: panel_tile<V, NP, 7>(buf, x, n, cols, t, k0, kc, y, rows, r, valid); break;
    case 6: panel_tile<V, NP, 6>(buf, x, n, cols, t, k0, kc, y, rows, r, valid); break;
    case 5: panel_tile<V, NP, 5>(buf, x, n, cols, t, k0, kc, y, rows, r, valid); break;
    case 4: panel_tile<V, NP, 4>(buf, x, n, cols, t, k0, kc, y, rows, r, valid); break;
    case 3: panel_tile<V, NP, 3>(buf, x, n, cols, t, k0, kc, y, rows, r, valid); break;
    case 2: panel_tile<V, NP, 2>(buf, x, n, cols, t, k0, kc, y, rows, r, valid); break;
    case 1: panel_tile<V, NP, 1>(buf, x, n, cols, t, k0, kc, y, rows, r, valid); break;
    default: break;
  }
}

// y[t, r] = w[r] · x[t] for r in [r0, r1), every t < n; buf holds
// V::kPanels panels of min(w.cols, kc_max) rounded up to W columns.
template <class V, class L>
void matmul_rows(const MatrixRef& w, const float* x, int64_t n, float* y, int64_t r0, int64_t r1,
                 float* buf, int64_t kc_max) {
  constexpr int W = V::W, NP = V::kPanels;
  static_assert(NP == 1 || NP == 2, "one or two panels per tile");
  const uint8_t* base = static_cast<const uint8_t*>(w.data);
  const int64_t cols = w.cols, rb = w.row_bytes, rows = w.rows;
  for (int64_t r = r0; r < r1; r += W * NP) {
    const int64_t valid = r1 - r < W * NP ? r1 - r : W * NP;
    const int np = static_cast<int>((valid + W - 1) / W);
    for (int64_t k0 = 0; k0 < cols; k0 += kc_max) {
      const int64_t kc = cols - k0 < kc_max ? cols - k0 : kc_max;
      pack_panels<V, L>(base, rb, r, r1, np, k0, kc, buf);
      PanelPrefetch ahead(w, r, r1, W * NP, k0, kc, kc_max);
      if (np == NP)
        panel_all_tokens<V, NP>(buf, x, n, cols, k0, kc, y, rows, r, valid, ahead);
      else
        panel_all_tokens<V, 1>(buf, x, n, cols, k0, kc, y, rows, r, valid, ahead);
    }
  }
}

// matmul_rows for w's dtype: Loads names the loader of each (F32, F16, BF16,
// Q8) at V's width.
template <class V, class Loads>
void matmul_rows_any(const MatrixRef& w, const float* x, int64_t n, float* y, int64_t r0,
                     int64_t r1, float* buf, int64_t kc_max) {
  switch (w.dtype) {
    case DType::F32: return matmul_rows<V, typename Loads::F32>(w, x, n, y, r0, r1, buf, kc_max);
    case DType::F16: return matmul_rows<V, typename Loads::F16>(w, x, n, y, r0, r1, buf, kc_max);
    case DType::BF16: return matmul_rows<V, typename Loads::BF16>(w, x, n, y, r0, r1, buf, kc_max);
    case DType::Q8_0: return matmul_rows<V, typename Loads::Q8>(w, x, n, y, r0, r1, buf, kc_max);
  }
}

}  // namespace gemm_panel
}  // namespace cpu
}  // namespace mixcon
