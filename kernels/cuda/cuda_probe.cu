// Bandwidth and GEMM probes for the benchmark (cuda_probe.h). Timed with
// the host clock around several back-to-back launches and one
// synchronization, so launch latency hardly counts.
#include "kernels/cuda/cuda_probe.h"

#include <chrono>
#include <cstdint>

#include "kernels/cuda/cublas_loader.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_math.cuh"

namespace mixcon {
namespace cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kPasses = 5;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// What a probe creates, freed however it ends.
struct ProbeResources {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  void* mem[3] = {nullptr, nullptr, nullptr};
  ~ProbeResources() {
    if (stream) cudaStreamSynchronize(stream);
    for (void* p : mem) cudaFree(p);
    if (cublas) cublas_api().destroy(cublas);
    if (stream) cudaStreamDestroy(stream);
    cudaGetLastError();
  }
  void* alloc(int i, int64_t bytes, const char* what) {
    check(cudaMalloc(&mem[i], static_cast<size_t>(bytes)), what);
    return mem[i];
  }
};

// Each block's sum of its share (float4 loads, as the decode kernels read)
// into out[block]: read so that nothing can be skipped.
__global__ void read_sum_kernel(const float4* __restrict__ p, int64_t n4, float* __restrict__ out) {
  __shared__ float partial[kWarp];
  float s = 0.0f;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n4;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float4 v = p[i];
    s += (v.x + v.y) + (v.z + v.w);
  }
  s = block_sum(s, partial);
  if (threadIdx.x == 0) out[blockIdx.x] = s;
}

// Values in [-1, 1) from a hash of the index (zeros would let the tensor
// cores idle and overstate the peak): floats, or bf16 bits when bf16.
__global__ void fill_kernel(void* p, int64_t count, int bf16) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    uint32_t h = static_cast<uint32_t>(i) * 2654435761u;
    h ^= h >> 15;
    const float v = static_cast<float>(h & 0xffffu) / 32768.0f - 1.0f;
    if (bf16)
      static_cast<uint16_t*>(p)[i] = to_bf16_bits(v);
    else
      static_cast<float*>(p)[i] = v;
  }
}

}  // namespace

double measure_read_bandwidth_GBs(int device) {
  check(cudaSetDevice(device), "cudaSetDevice");
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  const int64_t l2 = prop.l2CacheSize > 0 ? prop.l2CacheSize : (int64_t{64} << 20);
  const int64_t bytes = (16 * l2 > (int64_t{1} << 30) ? 16 * l2 : int64_t{1} << 30) / 4096 * 4096;
  const int64_t n4 = bytes / 16;
  const unsigned blocks = static_cast<unsigned>(prop.multiProcessorCount > 0 ? prop.multiProcessorCount * 8 : 1024);
  ProbeResources r;
  check(cudaStreamCreateWithFlags(&r.stream, cudaStreamNonBlocking), "cudaStreamCreate");
  void* buf = r.alloc(0, bytes, "bandwidth probe: cudaMalloc");
  float* out = static_cast<float*>(r.alloc(1, blocks * sizeof(float), "bandwidth probe: cudaMalloc"));
  fill_kernel<<<grid_for(bytes / 4, kThreads), kThreads, 0, r.stream>>>(buf, bytes / 4, 0);
  check_launch("bandwidth probe: fill");
  read_sum_kernel<<<blocks, kThreads, 0, r.stream>>>(static_cast<const float4*>(buf), n4, out);  // warm-up
  check_launch("bandwidth probe: read");
  check(cudaStreamSynchronize(r.stream), "bandwidth probe: cudaStreamSynchronize");
  constexpr int kReads = 10;
  double best = 0.0;
  for (int pass = 0; pass < kPasses; ++pass) {
    const double t0 = now_s();
    for (int i = 0; i < kReads; ++i)
      read_sum_kernel<<<blocks, kThreads, 0, r.stream>>>(static_cast<const float4*>(buf), n4, out);
    check_launch("bandwidth probe: read");
    check(cudaStreamSynchronize(r.stream), "bandwidth probe: cudaStreamSynchronize");
    const double gbs = double(bytes) * kReads / (now_s() - t0) / 1e9;
    if (gbs > best) best = gbs;
  }
  return best;
}

double measure_gemm_GFLOPs(int device, GemmKind kind) {
  check(cudaSetDevice(device), "cudaSetDevice");
  // 8192³: large enough for every GPU this build runs on to reach its peak,
  // 2 × 128 MiB of bf16 (or 256 MiB of f32) inputs.
  constexpr int n = 8192;
  const bool bf16 = kind == GemmKind::Bf16;
  const int64_t elems = int64_t{n} * n, in_bytes = elems * (bf16 ? 2 : 4);
  ProbeResources r;
  check(cudaStreamCreateWithFlags(&r.stream, cudaStreamNonBlocking), "cudaStreamCreate");
  const CublasApi& blas = cublas_api();
  check_cublas(blas.create(&r.cublas), "cublasCreate");
  check_cublas(blas.set_stream(r.cublas, r.stream), "cublasSetStream");
  check_cublas(blas.set_math_mode(r.cublas, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  void* a = r.alloc(0, in_bytes, "gemm probe: cudaMalloc");
  void* b = r.alloc(1, in_bytes, "gemm probe: cudaMalloc");
  float* c = static_cast<float*>(r.alloc(2, elems * 4, "gemm probe: cudaMalloc"));
  for (void* p : {a, b}) {
    fill_kernel<<<grid_for(elems, kThreads), kThreads, 0, r.stream>>>(p, elems, bf16 ? 1 : 0);
    check_launch("gemm probe: fill");
  }
  const float one = 1.0f, zero = 0.0f;
  auto gemm = [&] {
    if (bf16)
      check_cublas(blas.gemm_ex(r.cublas, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &one, a, CUDA_R_16BF,
                                n, b, CUDA_R_16BF, n, &zero, c, CUDA_R_32F, n, CUBLAS_COMPUTE_32F,
                                CUBLAS_GEMM_DEFAULT),
                   "gemm probe: cublasGemmEx");
    else
      check_cublas(blas.sgemm(r.cublas, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &one,
                              static_cast<const float*>(a), n, static_cast<const float*>(b), n,
                              &zero, c, n),
                   "gemm probe: cublasSgemm");
  };
  gemm();  // warm-up (cuBLAS picks its kernel, allocates its workspace)
  check(cudaStreamSynchronize(r.stream), "gemm probe: cudaStreamSynchronize");
  constexpr int kGemms = 3;
  double best = 0.0;
  for (int pass = 0; pass < kPasses; ++pass) {
    const double t0 = now_s();
    for (int i = 0; i < kGemms; ++i) gemm();
    check(cudaStreamSynchronize(r.stream), "gemm probe: cudaStreamSynchronize");
    const double gflops = 2.0 * double(n) * n * n * kGemms / (now_s() - t0) / 1e9;
    if (gflops > best) best = gflops;
  }
  return best;
}

}  // namespace cuda
}  // namespace mixcon
