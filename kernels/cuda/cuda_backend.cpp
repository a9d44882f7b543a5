// Backend over one GPU: device memory and one stream; each op forwards to
// its launcher in kernels/cuda.
//
// The Backend interface is synchronous per call from the caller's point of
// view: work is enqueued on the backend's stream in call order, and every
// call that hands data to the host (download, moe_route) waits for the stream
// first, so results are visible exactly when the CPU backend's would be.
// Calls from concurrent sessions are serialized on the host side by a mutex
// (one stream, one cuBLAS handle, one set of device scratch), which keeps the
// shared scratch safe: a later call's kernels run after an earlier call's on
// the same stream.
//
// ExecContext: n_threads is a CPU notion and its scratch is planned for host
// threads, so the ops ignore it; the device scratch (weight tile, attention
// partials, routing results) belongs to the backend and is allocated once, at
// creation, so no call allocates.
#include "kernels/cuda/cuda_backend.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <mutex>
#include <string>
#include <vector>

#include "core/common/status.h"
#include "kernels/cuda/cublas_loader.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"

namespace mixcon {
namespace {

using cuda::check;
using cuda::check_cublas;

// Device scratch, fixed at creation.
constexpr int64_t kTileFloats = int64_t{16} << 20;    // 64 MiB: dequantized weight tile (prefill)
constexpr int64_t kPartialFloats = int64_t{4} << 20;  // 16 MiB: split-K attention partials
constexpr int64_t kRouteEntries = int64_t{1} << 16;   // MoE (id, weight) pairs per routing pass
// cudaMalloc aligns to 256 bytes; sizes are rounded to it so a zero-byte
// request still gets a distinct, valid pointer (as the CPU backend's).
constexpr int64_t kAllocAlign = 256;

// Empty when GPU `index` can run this build's kernels; otherwise why not, with
// the status to report it under.
std::string unusable_reason(int index, Status* status, cudaDeviceProp* prop) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();  // leave no error behind for later calls
    *status = Status::Backend;
    return std::string("cuda: cudaGetDeviceCount: ") + cudaGetErrorString(e);
  }
  if (index < 0 || index >= count) {
    *status = Status::Backend;
    return "cuda:" + std::to_string(index) + ": no such device (" + std::to_string(count) +
           " visible)";
  }
  const cudaError_t pe = cudaGetDeviceProperties(prop, index);
  if (pe != cudaSuccess) {
    cudaGetLastError();
    *status = Status::Backend;
    return "cuda:" + std::to_string(index) + ": cudaGetDeviceProperties: " + cudaGetErrorString(pe);
  }
  // The library carries sm_80 and sm_90 code plus compute_90 PTX: any 8.x
  // runs the sm_80 code, 9.0 and newer the sm_90 code or the PTX.
  if (prop->major < 8) {
    *status = Status::Unsupported;
    return "cuda:" + std::to_string(index) + ": " + prop->name + " has compute capability " +
           std::to_string(prop->major) + "." + std::to_string(prop->minor) +
           "; this build needs 8.0 or newer";
  }
  try {
    cuda::cublas_api();
  } catch (const Error& e) {
    *status = e.status();
    return std::string("cuda: ") + e.what();
  }
  return std::string();
}

class CudaBackend final : public Backend {
 public:
  CudaBackend(int device, const cudaDeviceProp& prop) : device_(device) {
    name_ = "cuda:" + std::to_string(device) + " " + prop.name + " (sm_" +
            std::to_string(prop.major) + std::to_string(prop.minor) + ")";
    sm_count_ = prop.multiProcessorCount;
    try {
      check(cudaSetDevice(device_), "cudaSetDevice");
      check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
      const cuda::CublasApi& blas = cuda::cublas_api();
      check_cublas(blas.create(&cublas_), "cublasCreate");
      check_cublas(blas.set_stream(cublas_, stream_), "cublasSetStream");
      // Plain FP32 GEMMs (no TF32): prefill then matches decode and the CPU
      // within float rounding.
      check_cublas(blas.set_math_mode(cublas_, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
      check(cudaMalloc(reinterpret_cast<void**>(&tile_), kTileFloats * sizeof(float)),
            "cudaMalloc (matmul tile)");
      check(cudaMalloc(reinterpret_cast<void**>(&partials_), kPartialFloats * sizeof(float)),
            "cudaMalloc (attention partials)");
      check(cudaMalloc(reinterpret_cast<void**>(&route_ids_), kRouteEntries * sizeof(int32_t)),
            "cudaMalloc (routing ids)");
      check(cudaMalloc(reinterpret_cast<void**>(&route_w_), kRouteEntries * sizeof(float)),
            "cudaMalloc (routing weights)");
    } catch (...) {
      destroy();
      throw;
    }
  }
  ~CudaBackend() override { destroy(); }

  Device device() const override { return Device::Cuda; }
  const char* name() const override { return name_.c_str(); }

  // ---- memory -------------------------------------------------------------
  void* alloc(int64_t bytes) const override {
    if (bytes < 0) fail(Status::Internal, "cuda backend: negative allocation");
    const int64_t size = bytes == 0 ? kAllocAlign : (bytes + kAllocAlign - 1) / kAllocAlign * kAllocAlign;
    Scope scope(*this);
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, static_cast<size_t>(size));
    if (e != cudaSuccess) {
      cudaGetLastError();
      cuda::throw_cuda_error(
          ("cudaMalloc of " + std::to_string(bytes) + " bytes on " + name_).c_str(), e);
    }
    const cudaError_t z = cudaMemsetAsync(p, 0, static_cast<size_t>(size), stream_);
    if (z != cudaSuccess) {
      cudaFree(p);
      cuda::throw_cuda_error("cudaMemsetAsync", z);
    }
    return p;
  }
  void release(void* p) const noexcept override {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu_);
    // Kernels still queued may use the memory: let them finish first.
    // Errors cannot be reported from here; a broken context shows on the
    // next call that can report.
    if (cudaSetDevice(device_) == cudaSuccess) cudaStreamSynchronize(stream_);
    cudaFree(p);
    cudaGetLastError();
  }
  void upload(void* dst, const void* host_src, int64_t bytes) const override {
    if (bytes <= 0) return;
    Scope scope(*this);
    // cudaMemcpyDefault: the direction follows from the pointers (unified
    // addressing), so host memory of any kind is accepted.
    check(cudaMemcpyAsync(dst, host_src, static_cast<size_t>(bytes), cudaMemcpyDefault, stream_),
          "upload: cudaMemcpyAsync");
    check(cudaStreamSynchronize(stream_), "upload: cudaStreamSynchronize");
  }
  void download(void* host_dst, const void* src, int64_t bytes) const override {
    if (bytes <= 0) return;
    Scope scope(*this);
    check(cudaMemcpyAsync(host_dst, src, static_cast<size_t>(bytes), cudaMemcpyDefault, stream_),
          "download: cudaMemcpyAsync");
    check(cudaStreamSynchronize(stream_), "download: cudaStreamSynchronize");
  }
  void copy(void* dst, const void* src, int64_t bytes) const override {
    if (bytes <= 0 || dst == src) return;
    Scope scope(*this);
    check(cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyDefault, stream_),
          "copy: cudaMemcpyAsync");
  }
  void zero(void* dst, int64_t bytes) const override {
    if (bytes <= 0) return;
    Scope scope(*this);
    check(cudaMemsetAsync(dst, 0, static_cast<size_t>(bytes), stream_), "zero: cudaMemsetAsync");
  }
  const void* map_weight(const void* host, int64_t bytes) override {
    if (bytes < 0 || (bytes > 0 && !host))
      fail(Status::InvalidArgument, "map_weight: invalid host weight");
    void* p = alloc(bytes);
    try {
      upload(p, host, bytes);
      std::lock_guard<std::mutex> lock(mu_);
      weights_.push_back(p);
    } catch (...) {
      release(p);
      throw;
    }
    return p;
  }
  int64_t scratch_floats_per_thread(int64_t, int64_t) const override {
    return 0;  // the device scratch is the backend's own (see the top of this file)
  }
  int64_t activation_bytes(DType, int64_t, int64_t) const override {
    return 0;  // no narrow-activation products on the GPU: cuBLAS runs the prefill in float
  }

  // ---- ops ----------------------------------------------------------------
  void matmul(const ExecContext&, const MatrixRef& w, const float* x, int64_t n,
              float* y) const override {
    Scope scope(*this);
    cuda::matmul(cublas_, w, x, n, y, tile_, kTileFloats, stream_);
  }
  void embed(const ExecContext&, const MatrixRef& table, const int32_t* tokens, int64_t n,
             float* out) const override {
    Scope scope(*this);
    cuda::embed(table, tokens, n, out, stream_);
  }
  void rmsnorm(const ExecContext&, const float* x, const float* g, int64_t n, int64_t d,
               float eps, float* y) const override {
    Scope scope(*this);
    cuda::rmsnorm(x, g, n, d, eps, y, stream_);
  }
  void store_kv(const ExecContext&, const float* src, int64_t n, int64_t n_heads,
                int64_t head_dim, int64_t pos0, int64_t head_stride, DType dtype,
                void* dst) const override {
    Scope scope(*this);
    cuda::store_kv(src, n, n_heads, head_dim, pos0, head_stride, dtype, dst, stream_);
  }
  void add(const ExecContext&, float* y, const float* x, int64_t count) const override {
    Scope scope(*this);
    cuda::add(y, x, count, stream_);
  }
  void rope(const ExecContext&, float* x, int64_t n, int64_t row_stride, int64_t n_heads,
            int64_t head_dim, int64_t pos0, double theta) const override {
    Scope scope(*this);
    cuda::rope(x, n, row_stride, n_heads, head_dim, pos0, theta, stream_);
  }
  void attention(const ExecContext&, const AttentionArgs& a) const override {
    Scope scope(*this);
    cuda::attention(a, partials_, kPartialFloats, sm_count_, stream_);
  }
  void causal_conv(const ExecContext&, const CausalConvArgs& a) const override {
    Scope scope(*this);
    cuda::causal_conv(a, stream_);
  }
  void conba_scan(const ExecContext&, const ConbaScanArgs& a) const override {
    Scope scope(*this);
    cuda::conba_scan(a, stream_);
  }
  void swiglu(const ExecContext&, const float* gate, const float* up, float* out,
              int64_t count) const override {
    Scope scope(*this);
    cuda::swiglu(gate, up, out, count, stream_);
  }
  // ids and weights are host-visible memory of the caller: the routing runs
  // on the device into the backend's buffers, which are copied out once the
  // stream has reached them.
  void moe_route(const ExecContext&, const float* logits, int64_t n, int64_t n_experts,
                 int64_t top_k, int32_t* ids, float* weights) const override {
    if (n <= 0) return;
    if (top_k < 1 || top_k > kRouteEntries)
      fail(Status::InvalidArgument, "moe_route: top_k " + std::to_string(top_k) + " out of range");
    Scope scope(*this);
    // The model code reads them right after this call, on the host.
    cuda::require_host_memory(ids, "moe_route: ids");
    cuda::require_host_memory(weights, "moe_route: weights");
    const int64_t rows_per_pass = kRouteEntries / top_k;
    for (int64_t t0 = 0; t0 < n; t0 += rows_per_pass) {
      const int64_t m = n - t0 < rows_per_pass ? n - t0 : rows_per_pass;
      cuda::moe_route(logits + t0 * n_experts, m, n_experts, top_k, route_ids_, route_w_, stream_);
      const size_t entries = static_cast<size_t>(m * top_k);
      check(cudaMemcpyAsync(ids + t0 * top_k, route_ids_, entries * sizeof(int32_t),
                            cudaMemcpyDefault, stream_),
            "moe_route: cudaMemcpyAsync (ids)");
      check(cudaMemcpyAsync(weights + t0 * top_k, route_w_, entries * sizeof(float),
                            cudaMemcpyDefault, stream_),
            "moe_route: cudaMemcpyAsync (weights)");
      // The next pass reuses the device buffers, and the caller reads the
      // results as soon as this call returns.
      check(cudaStreamSynchronize(stream_), "moe_route: cudaStreamSynchronize");
    }
  }
  void gather_rows(const ExecContext&, const float* src, int64_t d, const int32_t* rows,
                   int64_t count, float* dst) const override {
    Scope scope(*this);
    cuda::gather_rows(src, d, rows, count, dst, stream_);
  }
  void scatter_add_rows(const ExecContext&, const float* src, int64_t d, const int32_t* rows,
                        const float* scale, int64_t count, float* dst) const override {
    Scope scope(*this);
    cuda::scatter_add_rows(src, d, rows, scale, count, dst, stream_);
  }

 private:
  // Serializes the host side of a call and makes this backend's GPU current
  // on the calling thread (the CUDA current device is per thread).
  class Scope {
   public:
    explicit Scope(const CudaBackend& be) : lock_(be.mu_) {
      check(cudaSetDevice(be.device_), "cudaSetDevice");
    }

   private:
    std::lock_guard<std::mutex> lock_;
  };

  // Frees whatever exists; used by the destructor and by a failed constructor.
  void destroy() noexcept {
    if (cudaSetDevice(device_) != cudaSuccess) return;  // no context: nothing was created
    if (stream_) cudaStreamSynchronize(stream_);
    for (void* p : weights_) cudaFree(p);
    weights_.clear();
    cudaFree(tile_);
    cudaFree(partials_);
    cudaFree(route_ids_);
    cudaFree(route_w_);
    if (cublas_) cuda::cublas_api().destroy(cublas_);  // loaded: cublas_ was made with it
    if (stream_) cudaStreamDestroy(stream_);
    tile_ = partials_ = route_w_ = nullptr;
    route_ids_ = nullptr;
    cublas_ = nullptr;
    stream_ = nullptr;
    cudaGetLastError();
  }

  int device_;
  std::string name_;
  int sm_count_ = 1;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  float* tile_ = nullptr;
  float* partials_ = nullptr;
  int32_t* route_ids_ = nullptr;
  float* route_w_ = nullptr;
  std::vector<void*> weights_;  // device copies made by map_weight
  mutable std::mutex mu_;
};

}  // namespace

bool cuda_backend_available(int device_index) noexcept {
  try {
    Status status = Status::Ok;
    cudaDeviceProp prop{};
    return unusable_reason(device_index, &status, &prop).empty();
  } catch (...) {
    return false;
  }
}

std::unique_ptr<Backend> create_cuda_backend(int device_index) {
  Status status = Status::Ok;
  cudaDeviceProp prop{};
  const std::string why = unusable_reason(device_index, &status, &prop);
  if (!why.empty()) fail(status, why);
  return std::make_unique<CudaBackend>(device_index, prop);
}

}  // namespace mixcon
