// Numerics: every channel goes through the same operations whether the chunk
// is one token (decode) or many (prefill), and a thread always takes whole
// 16-channel blocks counted from channel 0, so chunking and thread count
// change no bit. Against the portable walk the results differ by rounding
// (fused multiply-adds, the vector exp/log, y summed by a tree): far inside
// MODEL.md §5's 1e-4, checked against a float64 reference on every path.
#include "kernels/cpu/conba_scan_avx512.h"

#include <cmath>

#include "kernels/cpu/avx512_math.h"
#include "kernels/cpu/avx512_target.h"
#include "kernels/cpu/cpu_kernels.h"

namespace mixcon {
namespace cpu {
#ifdef MIXCON_HAVE_AVX512_PATH
namespace {

using avx512::tail_mask;

// 16 floats of a per-channel or per-token row from channel i0 (masked tail
// reads as 0), or `fill` where the row is absent.
MIXCON_AVX512_INLINE __m512 load16(const float* row, int64_t i0, __mmask16 m, float fill = 0.0f) {
  return row ? _mm512_maskz_loadu_ps(m, row + i0) : _mm512_set1_ps(fill);
}

// Pass 1 for channels [i0, i0 + nc): state update, y, and e (or the gated
// output when control is off), token after token.
MIXCON_AVX512 void scan_block(const ConbaScanArgs& a, int64_t i0, int64_t nc) {
  const int64_t D = a.d_inner, N = a.d_state;
  const int64_t slots = a.ring + 1, slot_size = D * N;
  const int64_t nv = (N + 15) / 16;  // vectors per state row
  const __mmask16 mc = tail_mask(nc), mlast = tail_mask(N - 16 * (nv - 1));
  // Without the delay feature rho = 0 and h_del is h_prev (the ring has one
  // live slot), as in the portable walk.
  alignas(64) float keep[16], rho[16];
  {
    const __m512 r = load16(a.rho, i0, mc);
    _mm512_store_ps(rho, r);
    _mm512_store_ps(keep, _mm512_sub_ps(_mm512_set1_ps(1.0f), r));
  }
  const __m512 dt_bias = load16(a.dt_bias, i0, mc), d_skip = load16(a.d_skip, i0, mc);
  const __m512 s_bias = load16(a.scale_bias, i0, mc), w_ref = load16(a.w_ref, i0, mc);
  alignas(64) float dt[16], du[16], s[16];
  alignas(64) float acc[16 * 16];
  for (int64_t t = 0; t < a.n_tokens; ++t) {
    const __m512 u = load16(a.u + t * D, i0, mc);
    const __m512 dtv = avx512::softplus(_mm512_add_ps(load16(a.dt_raw + t * D, i0, mc), dt_bias));
    _mm512_store_ps(dt, dtv);
    _mm512_store_ps(du, _mm512_mul_ps(dtv, u));
    _mm512_store_ps(s, a.scale_raw ? avx512::sigmoid(_mm512_add_ps(
                                         load16(a.scale_raw + t * D, i0, mc), s_bias))
                                   : _mm512_set1_ps(1.0f));
    // Slot head+t holds h_{t-1}; h_{t-tau} is ring-1 slots older; the free
    // slot head+t+1 receives h_t.
    const float* h_prev = a.h_ring + ((a.head + t) % slots) * slot_size + i0 * N;
    const float* h_del = a.h_ring + ((a.head + t + slots - (a.ring - 1)) % slots) * slot_size + i0 * N;
    float* h_new = a.h_ring + ((a.head + t + 1) % slots) * slot_size + i0 * N;
    const float* B = a.B + t * N;
    const float* C = a.C + t * N;
    for (int64_t c = 0; c < nc; ++c) {
      const __m512 dtc = _mm512_set1_ps(dt[c]), duc = _mm512_set1_ps(du[c]);
      const __m512 sc = _mm512_set1_ps(s[c]), kc = _mm512_set1_ps(keep[c]), rc = _mm512_set1_ps(rho[c]);
      const float* A = a.a + (i0 + c) * N;
      __m512 y = _mm512_setzero_ps();
      for (int64_t j = 0; j < nv; ++j) {
        const __mmask16 m = j + 1 == nv ? mlast : __mmask16(0xffff);
        const int64_t o = c * N + 16 * j;
        const __m512 abar = avx512::exp(_mm512_mul_ps(dtc, _mm512_maskz_loadu_ps(m, A + 16 * j)));
        const __m512 mix = _mm512_fmadd_ps(rc, _mm512_maskz_loadu_ps(m, h_del + o),
                                           _mm512_mul_ps(kc, _mm512_maskz_loadu_ps(m, h_prev + o)));
        const __m512 h = _mm512_fmadd_ps(_mm512_mul_ps(sc, abar), mix,
                                         _mm512_mul_ps(duc, _mm512_maskz_loadu_ps(m, B + 16 * j)));
        _mm512_mask_storeu_ps(h_new + o, m, h);
        y = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, C + 16 * j), h, y);
      }
      _mm512_store_ps(acc + 16 * c, y);
    }
    for (int64_t c = nc; c < 16; ++c) _mm512_store_ps(acc + 16 * c, _mm512_setzero_ps());
    __m512 rows[16];
    for (int c = 0; c < 16; ++c) rows[c] = _mm512_load_ps(acc + 16 * c);
    const __m512 y = _mm512_fmadd_ps(d_skip, u, avx512::sum16(rows));
    if (a.w_ref) {
      _mm512_mask_storeu_ps(a.err + t * D + i0, mc, _mm512_fmsub_ps(w_ref, u, y));
      _mm512_mask_storeu_ps(a.out + t * D + i0, mc, y);  // ŷ and the gate follow in pass 3
    } else {
      const __m512 z = _mm512_maskz_loadu_ps(mc, a.z + t * a.z_stride + i0);
      _mm512_mask_storeu_ps(a.out + t * D + i0, mc, _mm512_mul_ps(y, avx512::silu(z)));
    }
  }
}

// Pass 2 for token t: ||e|| / sqrt(D), summed in double over eight fixed
// lanes (i mod 8) and a fixed tree.
MIXCON_AVX512 float error_norm(const float* e, int64_t D) {
  __m512d s = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= D; i += 8) {
    const __m512d v = _mm512_cvtps_pd(_mm256_loadu_ps(e + i));
    s = _mm512_fmadd_pd(v, v, s);
  }
  double ss = _mm512_reduce_add_pd(s);
  for (; i < D; ++i) ss += static_cast<double>(e[i]) * e[i];
  return static_cast<float>(std::sqrt(ss / static_cast<double>(D)));
}

// Pass 3 for channels [i0, i0 + nc): the gain k through the chunk, ŷ, gate.
MIXCON_AVX512 void control_block(const ConbaScanArgs& a, int64_t i0, int64_t nc) {
  const int64_t D = a.d_inner;
  const __mmask16 mc = tail_mask(nc);
  const __m512 lambda = load16(a.lambda, i0, mc), eta = load16(a.eta, i0, mc);
  __m512 k = load16(a.gain, i0, mc);
  for (int64_t t = 0; t < a.n_tokens; ++t) {
    k = _mm512_fmadd_ps(lambda, k, _mm512_mul_ps(eta, _mm512_set1_ps(a.err_norm[t])));
    float* out = a.out + t * D + i0;
    const __m512 yhat = _mm512_fmadd_ps(k, _mm512_maskz_loadu_ps(mc, a.err + t * D + i0),
                                        _mm512_maskz_loadu_ps(mc, out));
    const __m512 z = _mm512_maskz_loadu_ps(mc, a.z + t * a.z_stride + i0);
    _mm512_mask_storeu_ps(out, mc, _mm512_mul_ps(yhat, avx512::silu(z)));
  }
  _mm512_mask_storeu_ps(a.gain + i0, mc, k);
}

}  // namespace

void conba_scan_avx512(const ConbaScanArgs& a, int n_threads) {
  conba_scan_blocks(a, n_threads, {16, scan_block, error_norm, control_block});
}

#endif  // MIXCON_HAVE_AVX512_PATH
}  // namespace cpu
}  // namespace mixcon
