// The Conba scan (MODEL.md §4 (4)-(9) gate): selective state update with the
// delayed state, output, adaptive control, output gate; the arithmetic and
// the state ring of ConbaScanArgs exactly as kernels/cpu/conba_scan.cpp.
//
// The recurrence is independent per channel and sequential in time, so a
// warp owns a channel and walks the chunk token by token, its lanes owning
// the channel's state elements (h_{t-1} stays in registers from one token to
// the next; the ring in device memory receives every h_t and serves the
// delayed h_{t-tau}). The control gain couples channels only through the
// per-token ||e_t||, so with control on the layer runs in three kernels, as
// on the CPU: (1) per channel: state, y and e; (2) per token: ||e||/sqrt(D),
// summed in double over all D channels; (3) per channel: gain k, ŷ, gate.
#include <string>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_math.cuh"

namespace mixcon {
namespace cuda {
namespace {

constexpr int kScanWarps = 4;  // channels per block
// State elements a lane keeps in registers: d_state up to 32 × this.
constexpr int kStatePerLane = 8;
constexpr int64_t kMaxState = kWarp * kStatePerLane;
constexpr int kNormThreads = 256;
constexpr int kGainThreads = 128;

__global__ void conba_state_kernel(const ConbaScanArgs a) {
  const int lane = threadIdx.x % kWarp;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * kScanWarps + threadIdx.x / kWarp;
  const int64_t D = a.d_inner, N = a.d_state;
  if (i >= D) return;  // the whole warp leaves together: i is per warp
  const int64_t slots = a.ring + 1;
  const int64_t slot_size = D * N;
  const bool control = a.w_ref != nullptr;
  const float rho = a.rho ? a.rho[i] : 0.0f;

  // Lane `lane` owns state elements k = lane + 32·r.
  float A[kStatePerLane], h_prev[kStatePerLane];
  {
    const float* h0 = a.h_ring + (a.head % slots) * slot_size + i * N;
    for (int r = 0; r < kStatePerLane; ++r) {
      const int64_t k = lane + static_cast<int64_t>(r) * kWarp;
      A[r] = k < N ? a.a[i * N + k] : 0.0f;
      h_prev[r] = k < N ? h0[k] : 0.0f;
    }
  }
  for (int64_t t = 0; t < a.n_tokens; ++t) {
    const float u = a.u[t * D + i];
    const float dt = softplusf_dev(a.dt_raw[t * D + i] + a.dt_bias[i]);
    const float s =
        a.scale_raw ? sigmoidf_dev(a.scale_raw[t * D + i] + a.scale_bias[i]) : 1.0f;
    // Slot head+t holds h_{t-1} (h_prev); h_{t-tau} is ring-1 slots older;
    // the free slot head+t+1 receives h_t. The delayed slot was written by
    // this same lane (earlier in the chunk) or before the call.
    const float* h_del =
        a.h_ring + ((a.head + t + slots - (a.ring - 1)) % slots) * slot_size + i * N;
    float* h_new = a.h_ring + ((a.head + t + 1) % slots) * slot_size + i * N;
    const float* B = a.B + t * N;
    const float* C = a.C + t * N;
    const float du = dt * u;
    float y = 0.0f;
    for (int r = 0; r < kStatePerLane; ++r) {
      const int64_t k = lane + static_cast<int64_t>(r) * kWarp;
      if (k >= N) break;
      const float abar = expf(dt * A[r]);
      const float carry = a.rho ? (1.0f - rho) * h_prev[r] + rho * h_del[k] : h_prev[r];
      const float h = s * abar * carry + du * B[k];
      h_new[k] = h;
      h_prev[r] = h;
      y += C[k] * h;
    }
    y = warp_sum(y) + a.d_skip[i] * u;
    if (lane == 0) {
      if (control) {
        a.err[t * D + i] = a.w_ref[i] * u - y;
        a.out[t * D + i] = y;  // ŷ and the gate follow in the gain kernel
      } else {
        a.out[t * D + i] = y * siluf_dev(a.z[t * a.z_stride + i]);
      }
    }
  }
}

// One block per token: err_norm[t] = ||e_t||_2 / sqrt(D).
__global__ void conba_err_norm_kernel(const ConbaScanArgs a) {
  __shared__ double partial[kWarp];
  const int64_t t = blockIdx.x, D = a.d_inner;
  const float* e = a.err + t * D;
  double ss = 0.0;
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x) ss += static_cast<double>(e[i]) * e[i];
  ss = block_sum(ss, partial);
  if (threadIdx.x == 0) a.err_norm[t] = static_cast<float>(sqrt(ss / static_cast<double>(D)));
}

// One thread per channel: the gain recurrence k_t = lambda·k_{t-1} + eta·||e_t||.
__global__ void conba_gain_kernel(const ConbaScanArgs a) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t D = a.d_inner;
  if (i >= D) return;
  float k = a.gain[i];
  const float lambda = a.lambda[i], eta = a.eta[i];
  for (int64_t t = 0; t < a.n_tokens; ++t) {
    k = lambda * k + eta * a.err_norm[t];
    const float yhat = a.out[t * D + i] + k * a.err[t * D + i];
    a.out[t * D + i] = yhat * siluf_dev(a.z[t * a.z_stride + i]);
  }
  a.gain[i] = k;
}

}  // namespace

void conba_scan(const ConbaScanArgs& a, cudaStream_t stream) {
  if (a.n_tokens <= 0 || a.d_inner <= 0) return;
  if (a.d_state < 1 || a.d_state > kMaxState)
    fail(Status::Unsupported, "conba_scan: d_state " + std::to_string(a.d_state) +
                                  " outside [1, " + std::to_string(kMaxState) + "]");
  if (a.ring < 1) fail(Status::InvalidArgument, "conba_scan: ring < 1");
  const bool control = a.w_ref != nullptr;
  if (control && (!a.err || !a.err_norm || !a.gain || !a.lambda || !a.eta))
    fail(Status::InvalidArgument, "conba_scan: control on without its buffers");
  if (a.scale_raw && !a.scale_bias)
    fail(Status::InvalidArgument, "conba_scan: scaling on without scale_bias");

  const int64_t blocks = (a.d_inner + kScanWarps - 1) / kScanWarps;
  if (blocks > 0x7fffffff || a.n_tokens > 0x7fffffff)
    fail(Status::Unsupported, "conba_scan: sizes beyond the grid limit");
  conba_state_kernel<<<static_cast<unsigned int>(blocks), kScanWarps * kWarp, 0, stream>>>(a);
  check_launch("conba_scan state kernel launch");
  if (!control) return;
  conba_err_norm_kernel<<<static_cast<unsigned int>(a.n_tokens), kNormThreads, 0, stream>>>(a);
  check_launch("conba_scan err_norm kernel launch");
  const int64_t gain_blocks = (a.d_inner + kGainThreads - 1) / kGainThreads;
  conba_gain_kernel<<<static_cast<unsigned int>(gain_blocks), kGainThreads, 0, stream>>>(a);
  check_launch("conba_scan gain kernel launch");
}

}  // namespace cuda
}  // namespace mixcon
