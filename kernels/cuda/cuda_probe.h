// The GPU's own bounds for `mixcon bench --device cuda` (PERF.md): its read
// bandwidth and its GEMM throughput, measured the way the backend uses the
// GPU, so the benchmark's rooflines compare like with like. Not part of the
// Backend interface: the benchmark calls them directly.
//
// Defined only in builds with MIXCON_CUDA (MIXCON_HAVE_CUDA=1).
#pragma once

namespace mixcon {
namespace cuda {

// GB/s of a sum over a device buffer of max(1 GiB, 16 × the L2 cache), best of
// several passes. Throws Error(Backend / OutOfMemory) with the CUDA message.
double measure_read_bandwidth_GBs(int device);

// GFLOP/s of one large square GEMM through cuBLAS, best of several: bf16 ×
// bf16 summed in float32 (the tensor cores; what bf16 activations use and
// PERF.md's bar) or plain float32 (what exact prefill uses: no TF32).
enum class GemmKind { F32, Bf16 };
double measure_gemm_GFLOPs(int device, GemmKind kind);

}  // namespace cuda
}  // namespace mixcon
