// The SIMD Conba scan's pass-1 and pass-3 block kernels (conba_scan_blocks in
// cpu_kernels.h runs the passes), written once for any vector width: V is a
// traits struct — reg, mask, W (channels per block = lanes), tail_mask(n),
// masked load (zero-filled) and store, store to an aligned array, set1, zero,
// add, sub, mul, fmadd, fmsub, sum (W vectors to one vector of their lane
// sums, fixed order), and exp2, softplus, sigmoid, silu. Instantiated 16 lanes
// wide by conba_scan_avx512.cpp and 8 by conba_scan_avx2.cpp.
//
// A block is W neighbouring channels: their per-channel scalars (Δ, s, ū, y,
// the gate) are one vector, each channel's state row is ceil(N/W) vectors, and
// the W channels' chains h_{t-1} → h_t are independent, which hides their
// latency. Every channel goes through the same operations whether the chunk
// is one token or many, so chunking changes no bit.
//
// Include it only inside a `#pragma GCC target` region for V's instruction
// set, after every header it relies on (below) has been included outside it.
#pragma once

#include <cstdint>

#include "core/backend.h"

#define MIXCON_SCAN_INLINE __attribute__((always_inline)) inline

namespace mixcon {
namespace cpu {
namespace simd_scan {

// A block walks its W channels' column of the chunk's [n, D] rows: one line
// per token, D floats apart, a stride the hardware prefetchers do not follow.
// In a scan-only harness (512 tokens, D = 2048, rows in L3) each token's
// first loads waited for the line: 69 cycles per channel and token, 34 with
// the rows kScanAhead tokens on asked for while this token is computed (2
// beat 1 and 4). Inside a whole prefill the gain was within the host's noise.
constexpr int64_t kScanAhead = 2;

template <int W>
MIXCON_SCAN_INLINE void prefetch_row(const float* p) {
  _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(p + W - 1), _MM_HINT_T0);
}

// W floats of a per-channel or per-token row from channel i0 (masked tail
// reads as 0), or `fill` where the row is absent.
template <class V>
MIXCON_SCAN_INLINE typename V::reg load_row(const float* row, int64_t i0, typename V::mask m,
                                            float fill = 0.0f) {
  return row ? V::load(row + i0, m) : V::set1(fill);
}

// Pass 1 for channels [i0, i0 + nc): state update, y, and e (or the gated
// output when control is off), token after token. NV: vectors per state row
// when known at compile time (N = 16 is one AVX-512 or two AVX2 vectors;
// the fixed count lets the compiler drop the loop and its masks: +2-3%
// prefill), else 0.
template <class V, int NV = 0>
void scan_block(const ConbaScanArgs& a, int64_t i0, int64_t nc) {
  const int64_t D = a.d_inner, N = a.d_state;
  const int64_t slots = a.ring + 1, slot_size = D * N;
  constexpr int W = V::W;
  using reg = typename V::reg;
  if (NV == 0 && N == W) return scan_block<V, 1>(a, i0, nc);
  if (NV == 0 && N == 2 * W) return scan_block<V, 2>(a, i0, nc);
  const int64_t nv = NV > 0 ? NV : (N + W - 1) / W;
  const typename V::mask mc = V::tail_mask(nc), mlast = V::tail_mask(N - W * (nv - 1));
  // Without the delay feature rho = 0 and h_del is h_prev (the ring has one
  // live slot), as in the portable walk.
  alignas(64) float keep[W], rho[W];
  {
    const reg r = load_row<V>(a.rho, i0, mc);
    V::store(rho, r);
    V::store(keep, V::sub(V::set1(1.0f), r));
  }
  const reg dt_bias = load_row<V>(a.dt_bias, i0, mc), d_skip = load_row<V>(a.d_skip, i0, mc);
  const reg s_bias = load_row<V>(a.scale_bias, i0, mc), w_ref = load_row<V>(a.w_ref, i0, mc);
  alignas(64) float dt_log2e[W], du[W], s[W];
  reg acc[W];
  // Ring slots of h_{t-1}, h_{t-tau} and h_t, advanced by one per token
  // (kept as counters: a modulo per token was a 64-bit division each).
  int64_t prev_slot = a.head % slots, del_slot = (a.head + slots - (a.ring - 1)) % slots;
  for (int64_t t = 0; t < a.n_tokens; ++t) {
    if (t + kScanAhead < a.n_tokens) {
      const int64_t at = (t + kScanAhead) * D + i0;
      prefetch_row<W>(a.u + at);
      prefetch_row<W>(a.dt_raw + at);
      if (a.scale_raw) prefetch_row<W>(a.scale_raw + at);
      if (a.w_ref) {
        prefetch_row<W>(a.err + at);
      } else {
        prefetch_row<W>(a.z + (t + kScanAhead) * a.z_stride + i0);
      }
      prefetch_row<W>(a.out + at);
    }
    const int64_t new_slot = prev_slot + 1 == slots ? 0 : prev_slot + 1;
    const reg u = load_row<V>(a.u + t * D, i0, mc);
    const reg dtv = V::softplus(V::add(load_row<V>(a.dt_raw + t * D, i0, mc), dt_bias));
    V::store(dt_log2e, V::mul(dtv, V::set1(poly::kLog2e)));
    V::store(du, V::mul(dtv, u));
    V::store(s, a.scale_raw ? V::sigmoid(V::add(load_row<V>(a.scale_raw + t * D, i0, mc), s_bias))
                            : V::set1(1.0f));
    // Slot head+t holds h_{t-1}; h_{t-tau} is ring-1 slots older; the free
    // slot head+t+1 receives h_t.
    const float* h_prev = a.h_ring + prev_slot * slot_size + i0 * N;
    const float* h_del = a.h_ring + del_slot * slot_size + i0 * N;
    float* h_new = a.h_ring + new_slot * slot_size + i0 * N;
    prev_slot = new_slot;
    del_slot = del_slot + 1 == slots ? 0 : del_slot + 1;
    const float* B = a.B + t * N;
    const float* C = a.C + t * N;
    for (int64_t c = 0; c < nc; ++c) {
      const reg dtc = V::set1(dt_log2e[c]), duc = V::set1(du[c]);
      const reg sc = V::set1(s[c]), kc = V::set1(keep[c]), rc = V::set1(rho[c]);
      const float* A = a.a + (i0 + c) * N;
      reg y = V::zero();
      for (int64_t j = 0; j < nv; ++j) {
        const typename V::mask m = j + 1 == nv ? mlast : V::tail_mask(W);
        const int64_t o = c * N + W * j;
        const reg abar = V::exp2(V::mul(dtc, V::load(A + W * j, m)));  // e^(Δ·A)
        const reg mix = V::fmadd(rc, V::load(h_del + o, m), V::mul(kc, V::load(h_prev + o, m)));
        const reg h = V::fmadd(V::mul(sc, abar), mix, V::mul(duc, V::load(B + W * j, m)));
        V::store(h_new + o, m, h);
        y = V::fmadd(V::load(C + W * j, m), h, y);
      }
      acc[c] = y;
    }
    for (int64_t c = nc; c < W; ++c) acc[c] = V::zero();
    const reg y = V::fmadd(d_skip, u, V::sum(acc));
    if (a.w_ref) {
      V::store(a.err + t * D + i0, mc, V::fmsub(w_ref, u, y));
      V::store(a.out + t * D + i0, mc, y);  // ŷ and the gate follow in pass 3
    } else {
      const reg z = V::load(a.z + t * a.z_stride + i0, mc);
      V::store(a.out + t * D + i0, mc, V::mul(y, V::silu(z)));
    }
  }
}

// Pass 3 for channels [i0, i0 + nc): the gain k through the chunk, ŷ, gate.
template <class V>
void control_block(const ConbaScanArgs& a, int64_t i0, int64_t nc) {
  using reg = typename V::reg;
  const int64_t D = a.d_inner;
  const typename V::mask mc = V::tail_mask(nc);
  const reg lambda = load_row<V>(a.lambda, i0, mc), eta = load_row<V>(a.eta, i0, mc);
  reg k = load_row<V>(a.gain, i0, mc);
  for (int64_t t = 0; t < a.n_tokens; ++t) {
    if (t + kScanAhead < a.n_tokens) {
      prefetch_row<V::W>(a.err + (t + kScanAhead) * D + i0);
      prefetch_row<V::W>(a.out + (t + kScanAhead) * D + i0);
      prefetch_row<V::W>(a.z + (t + kScanAhead) * a.z_stride + i0);
    }
    k = V::fmadd(lambda, k, V::mul(eta, V::set1(a.err_norm[t])));
    float* out = a.out + t * D + i0;
    const reg yhat = V::fmadd(k, V::load(a.err + t * D + i0, mc), V::load(out, mc));
    const reg z = V::load(a.z + t * a.z_stride + i0, mc);
    V::store(out, mc, V::mul(yhat, V::silu(z)));
  }
  V::store(a.gain + i0, mc, k);
}

}  // namespace simd_scan
}  // namespace cpu
}  // namespace mixcon
