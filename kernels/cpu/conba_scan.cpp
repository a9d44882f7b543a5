// The Conba scan (MODEL.md §4 (4)-(9) gate): selective state update with the
// delayed state, output, adaptive control, output gate.
//
// The recurrence is independent per channel i, so channels are the unit of
// work and each state element h[i, n] is read and written once per token.
// The control gain couples channels only through ||e_t||, a per-token scalar,
// so the layer runs in three passes over the chunk: (1) per channel: state,
// y and e; (2) per token: ||e|| / sqrt(D); (3) per channel: gain k, ŷ, gate.
// On CPUs with AVX-512 (AVX2) the same passes run sixteen (eight) channels
// at a time (conba_scan_avx512.cpp, conba_scan_avx2.cpp); this walk is the
// portable path.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/conba_scan_avx2.h"
#include "kernels/cpu/conba_scan_avx512.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/cpu/vec_math.h"

namespace mixcon {
namespace cpu {

namespace {

// One channel over the chunk: state update, y, and e (or the gated output
// when control is off). Plain loops the compiler vectorizes over N.
void scan_channel(const ConbaScanArgs& a, int64_t i) {
  const int64_t n = a.n_tokens, D = a.d_inner, N = a.d_state;
  const int64_t slots = a.ring + 1;
  const int64_t slot_size = D * N;
  const float* A = a.a + i * N;
  // Without the delay feature rho = 0 and, the ring having one live slot,
  // h_del == h_prev: the same formula then gives h_{t-1} exactly.
  const float rho = a.rho ? a.rho[i] : 0.0f;
  const float keep = 1.0f - rho;
  for (int64_t t = 0; t < n; ++t) {
    const float u = a.u[t * D + i];
    const float dt = softplusf(a.dt_raw[t * D + i] + a.dt_bias[i]);
    const float s = a.scale_raw ? sigmoidf(a.scale_raw[t * D + i] + a.scale_bias[i]) : 1.0f;
    // Slot head+t holds h_{t-1}; h_{t-tau} is ring-1 slots older; the free
    // slot head+t+1 receives h_t.
    const float* __restrict h_prev = a.h_ring + ((a.head + t) % slots) * slot_size + i * N;
    const float* __restrict h_del =
        a.h_ring + ((a.head + t + slots - (a.ring - 1)) % slots) * slot_size + i * N;
    float* __restrict h_new = a.h_ring + ((a.head + t + 1) % slots) * slot_size + i * N;
    const float* __restrict B = a.B + t * N;
    const float* __restrict C = a.C + t * N;
    const float du = dt * u;
    const float dt_log2e = dt * poly::kLog2e;
#pragma omp simd
    for (int64_t k = 0; k < N; ++k) {
      const float abar = exp2_approx(dt_log2e * A[k]);  // e^(Δ·A), vec_math.h
      h_new[k] = s * abar * (keep * h_prev[k] + rho * h_del[k]) + du * B[k];
    }
    // C·h in 8 lanes, reduced in a fixed tree: a 16-long chain of dependent
    // adds per channel and token was a tenth of a prefill.
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t k = 0;
    for (; k + 8 <= N; k += 8)
#pragma omp simd
      for (int64_t j = 0; j < 8; ++j) lane[j] += C[k + j] * h_new[k + j];
    float y = ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
    for (; k < N; ++k) y += C[k] * h_new[k];
    y += a.d_skip[i] * u;
    if (a.w_ref) {
      a.err[t * D + i] = a.w_ref[i] * u - y;
      a.out[t * D + i] = y;  // ŷ and the gate follow in pass 3
    } else {
      a.out[t * D + i] = y * siluf(a.z[t * a.z_stride + i]);
    }
  }
}

}  // namespace

void conba_scan_blocks(const ConbaScanArgs& a, int n_threads, const ConbaScanBlockKernels& k) {
  const int64_t n = a.n_tokens, D = a.d_inner, N = a.d_state;
  const int64_t blocks = (D + k.width - 1) / k.width;
  auto each_block = [&](int nt, void (*body)(const ConbaScanArgs&, int64_t, int64_t)) {
    parallel_for(nt, blocks, [&](int64_t begin, int64_t end, int) {
      for (int64_t b = begin; b < end; ++b) body(a, k.width * b, std::min(k.width, D - k.width * b));
    });
  };
  each_block(threads_for(n * D * N * 8, n_threads), k.scan);
  if (!a.w_ref) return;
  parallel_for(threads_for(n * D, n_threads), n, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) a.err_norm[t] = k.error_norm(a.err + t * D, D);
  });
  each_block(threads_for(n * D * 4, n_threads), k.control);
}

void conba_scan(const ConbaScanArgs& a, int n_threads) {
#if defined(__x86_64__) || defined(__i386__)
  if (kernel_path() == KernelPath::Avx512) {
    conba_scan_avx512(a, n_threads);
    return;
  }
  if (kernel_path() == KernelPath::Avx2) {
    conba_scan_avx2(a, n_threads);
    return;
  }
#endif
  const int64_t n = a.n_tokens, D = a.d_inner, N = a.d_state;
  const bool control = a.w_ref != nullptr;

  parallel_for(threads_for(n * D * N * 8, n_threads), D, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) scan_channel(a, i);
  });
  if (!control) return;

  parallel_for(threads_for(n * D, n_threads), n, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) {
      double ss = 0.0;
      for (int64_t i = 0; i < D; ++i) ss += static_cast<double>(a.err[t * D + i]) * a.err[t * D + i];
      a.err_norm[t] = static_cast<float>(std::sqrt(ss / static_cast<double>(D)));
    }
  });

  parallel_for(threads_for(n * D * 4, n_threads), D, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      float k = a.gain[i];
      const float lambda = a.lambda[i], eta = a.eta[i];
      for (int64_t t = 0; t < n; ++t) {
        k = lambda * k + eta * a.err_norm[t];
        const float yhat = a.out[t * D + i] + k * a.err[t * D + i];
        a.out[t * D + i] = yhat * siluf(a.z[t * a.z_stride + i]);
      }
      a.gain[i] = k;
    }
  });
}

}  // namespace cpu
}  // namespace mixcon
