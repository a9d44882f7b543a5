// Numerics as conba_scan_avx512.cpp: whole 8-channel blocks counted from
// channel 0 per thread, the same operations for a token alone or in a chunk,
// so chunking and thread count change no bit; rounding differs from the
// other paths far inside MODEL.md §5's 1e-4 (tested against float64).
#include "kernels/cpu/conba_scan_avx2.h"

#include <cmath>

#include "kernels/cpu/avx2_math.h"
#include "kernels/cpu/cpu_kernels.h"

namespace mixcon {
namespace cpu {
#ifdef MIXCON_HAVE_AVX2_PATH
namespace {

using avx2::tail_mask;

// 8 floats of a per-channel or per-token row from channel i0 (masked tail
// reads as 0), or `fill` where the row is absent.
MIXCON_AVX2_INLINE __m256 load8(const float* row, int64_t i0, __m256i m, float fill = 0.0f) {
  return row ? _mm256_maskload_ps(row + i0, m) : _mm256_set1_ps(fill);
}

// Pass 1 for channels [i0, i0 + nc): state update, y, and e (or the gated
// output when control is off), token after token.
MIXCON_AVX2_FN void scan_block(const ConbaScanArgs& a, int64_t i0, int64_t nc) {
  const int64_t D = a.d_inner, N = a.d_state;
  const int64_t slots = a.ring + 1, slot_size = D * N;
  const int64_t nv = (N + 7) / 8;  // vectors per state row
  const __m256i mc = tail_mask(nc), mlast = tail_mask(N - 8 * (nv - 1)), full = tail_mask(8);
  alignas(32) float keep[8], rho[8];
  {
    const __m256 r = load8(a.rho, i0, mc);
    _mm256_store_ps(rho, r);
    _mm256_store_ps(keep, _mm256_sub_ps(_mm256_set1_ps(1.0f), r));
  }
  const __m256 dt_bias = load8(a.dt_bias, i0, mc), d_skip = load8(a.d_skip, i0, mc);
  const __m256 s_bias = load8(a.scale_bias, i0, mc), w_ref = load8(a.w_ref, i0, mc);
  alignas(32) float dt[8], du[8], s[8];
  __m256 acc[8];
  for (int64_t t = 0; t < a.n_tokens; ++t) {
    const __m256 u = load8(a.u + t * D, i0, mc);
    const __m256 dtv = avx2::softplus(_mm256_add_ps(load8(a.dt_raw + t * D, i0, mc), dt_bias));
    _mm256_store_ps(dt, dtv);
    _mm256_store_ps(du, _mm256_mul_ps(dtv, u));
    _mm256_store_ps(s, a.scale_raw ? avx2::sigmoid(_mm256_add_ps(load8(a.scale_raw + t * D, i0, mc), s_bias))
                                   : _mm256_set1_ps(1.0f));
    // Ring slots as in conba_scan.cpp.
    const float* h_prev = a.h_ring + ((a.head + t) % slots) * slot_size + i0 * N;
    const float* h_del = a.h_ring + ((a.head + t + slots - (a.ring - 1)) % slots) * slot_size + i0 * N;
    float* h_new = a.h_ring + ((a.head + t + 1) % slots) * slot_size + i0 * N;
    const float* B = a.B + t * N;
    const float* C = a.C + t * N;
    for (int64_t c = 0; c < nc; ++c) {
      const __m256 dtc = _mm256_set1_ps(dt[c]), duc = _mm256_set1_ps(du[c]);
      const __m256 sc = _mm256_set1_ps(s[c]), kc = _mm256_set1_ps(keep[c]), rc = _mm256_set1_ps(rho[c]);
      const float* A = a.a + (i0 + c) * N;
      __m256 y = _mm256_setzero_ps();
      for (int64_t j = 0; j < nv; ++j) {
        const __m256i m = j + 1 == nv ? mlast : full;
        const int64_t o = c * N + 8 * j;
        const __m256 abar = avx2::exp(_mm256_mul_ps(dtc, _mm256_maskload_ps(A + 8 * j, m)));
        const __m256 mix = _mm256_fmadd_ps(rc, _mm256_maskload_ps(h_del + o, m),
                                           _mm256_mul_ps(kc, _mm256_maskload_ps(h_prev + o, m)));
        const __m256 h = _mm256_fmadd_ps(_mm256_mul_ps(sc, abar), mix,
                                         _mm256_mul_ps(duc, _mm256_maskload_ps(B + 8 * j, m)));
        _mm256_maskstore_ps(h_new + o, m, h);
        y = _mm256_fmadd_ps(_mm256_maskload_ps(C + 8 * j, m), h, y);
      }
      acc[c] = y;
    }
    for (int64_t c = nc; c < 8; ++c) acc[c] = _mm256_setzero_ps();
    const __m256 y = _mm256_fmadd_ps(d_skip, u, avx2::sum8(acc));
    if (a.w_ref) {
      _mm256_maskstore_ps(a.err + t * D + i0, mc, _mm256_fmsub_ps(w_ref, u, y));
      _mm256_maskstore_ps(a.out + t * D + i0, mc, y);  // ŷ and the gate follow in pass 3
    } else {
      const __m256 z = _mm256_maskload_ps(a.z + t * a.z_stride + i0, mc);
      _mm256_maskstore_ps(a.out + t * D + i0, mc, _mm256_mul_ps(y, avx2::silu(z)));
    }
  }
}

// Pass 2 for token t: ||e|| / sqrt(D) in double over four fixed lanes.
MIXCON_AVX2_FN float error_norm(const float* e, int64_t D) {
  __m256d s = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 4 <= D; i += 4) {
    const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(e + i));
    s = _mm256_fmadd_pd(v, v, s);
  }
  alignas(32) double lane[4];
  _mm256_store_pd(lane, s);
  double ss = (lane[0] + lane[1]) + (lane[2] + lane[3]);
  for (; i < D; ++i) ss += static_cast<double>(e[i]) * e[i];
  return static_cast<float>(std::sqrt(ss / static_cast<double>(D)));
}

// Pass 3 for channels [i0, i0 + nc): the gain k through the chunk, ŷ, gate.
MIXCON_AVX2_FN void control_block(const ConbaScanArgs& a, int64_t i0, int64_t nc) {
  const int64_t D = a.d_inner;
  const __m256i mc = tail_mask(nc);
  const __m256 lambda = load8(a.lambda, i0, mc), eta = load8(a.eta, i0, mc);
  __m256 k = load8(a.gain, i0, mc);
  for (int64_t t = 0; t < a.n_tokens; ++t) {
    k = _mm256_fmadd_ps(lambda, k, _mm256_mul_ps(eta, _mm256_set1_ps(a.err_norm[t])));
    float* out = a.out + t * D + i0;
    const __m256 yhat = _mm256_fmadd_ps(k, _mm256_maskload_ps(a.err + t * D + i0, mc),
                                        _mm256_maskload_ps(out, mc));
    const __m256 z = _mm256_maskload_ps(a.z + t * a.z_stride + i0, mc);
    _mm256_maskstore_ps(out, mc, _mm256_mul_ps(yhat, avx2::silu(z)));
  }
  _mm256_maskstore_ps(a.gain + i0, mc, k);
}

}  // namespace

void conba_scan_avx2(const ConbaScanArgs& a, int n_threads) {
  conba_scan_blocks(a, n_threads, {8, scan_block, error_norm, control_block});
}

#endif  // MIXCON_HAVE_AVX2_PATH
}  // namespace cpu
}  // namespace mixcon
