// Causal depthwise convolution with SiLU (MODEL.md §4 (2)), over a chunk and
// the window of the previous K-1 inputs. Channels are independent: one thread
// per channel walks the chunk in order, which also lets it shift its column
// of the window in place, exactly as the CPU kernel does.
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_math.cuh"

namespace mixcon {
namespace cuda {
namespace {

constexpr int kThreads = 128;

__global__ void causal_conv_kernel(const CausalConvArgs a) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t n = a.n_tokens, C = a.channels, K = a.kernel, K1 = a.kernel - 1;
  if (c >= C) return;
  // Input at chunk offset t (negative: from the window).
  auto in = [&](int64_t t) -> float {
    return t < 0 ? a.window[(K1 + t) * C + c] : a.x[t * a.x_stride + c];
  };
  const float* w = a.w + c * K;
  for (int64_t t = 0; t < n; ++t) {
    float acc = a.b[c];
    for (int64_t j = 0; j < K; ++j) acc += w[j] * in(t - K1 + j);
    a.out[t * C + c] = siluf_dev(acc);
  }
  // Slot j takes the input at n-K1+j; it reads slot n+j >= j, never one
  // already overwritten, so the shift works in place.
  for (int64_t j = 0; j < K1; ++j) a.window[j * C + c] = in(n - K1 + j);
}

}  // namespace

void causal_conv(const CausalConvArgs& a, cudaStream_t stream) {
  if (a.kernel < 1) fail(Status::InvalidArgument, "causal_conv: kernel size < 1");
  if (a.n_tokens <= 0 || a.channels <= 0) return;
  const int64_t blocks = (a.channels + kThreads - 1) / kThreads;
  if (blocks > 0x7fffffff) fail(Status::Unsupported, "causal_conv: too many channels");
  causal_conv_kernel<<<static_cast<unsigned int>(blocks), kThreads, 0, stream>>>(a);
  check_launch("causal_conv kernel launch");
}

}  // namespace cuda
}  // namespace mixcon
