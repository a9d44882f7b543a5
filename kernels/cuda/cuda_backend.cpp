// Backend over one GPU: device memory, and one Lane (CUDA stream, cuBLAS
// handle, device scratch) per session stream plus one of its own; each op
// forwards to its launcher in kernels/cuda on the caller's lane.
//
// The Backend interface is synchronous per call from the caller's point of
// view: work is enqueued on the caller's stream in call order, and every call
// that hands data to the host (download, upload, moe_route) waits for that
// stream first, so results are visible exactly when the CPU backend's would
// be. Sessions' lanes share nothing mutable, so their calls need no lock and
// their kernels run side by side on the GPU; calls without a stream
// (model load, tests) use the backend's own lane under a mutex.
//
// ExecContext: n_threads is a CPU notion and its scratch is planned for host
// threads, so the ops ignore it; the device scratch (weight tile, attention
// partials, routing results) is the lane's, allocated when the stream is
// created, so no op allocates.
#include "kernels/cuda/cuda_backend.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdlib>
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

// Device scratch of each lane, fixed at its creation (~80 MiB: the price of a
// session's prefill running beside other sessions' work; counted in the
// session's memory_bytes).
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

// One ordered lane of GPU work and the scratch its ops use.
struct Lane {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  float* tile = nullptr;
  float* partials = nullptr;
  int32_t* route_ids = nullptr;
  float* route_w = nullptr;
  // The decode step's executable graph (run_graph), kept between tokens and
  // updated in place while its shape holds.
  cudaGraphExec_t step_graph = nullptr;
  // A recording failed on this lane: its steps run directly from then on.
  bool graphs_failed = false;

  static constexpr int64_t kBytes = kTileFloats * int64_t(sizeof(float)) +
                                    kPartialFloats * int64_t(sizeof(float)) +
                                    kRouteEntries * int64_t(sizeof(int32_t) + sizeof(float));

  // The device must be current. On a throw, whatever was created is left
  // for destroy().
  void create() {
    check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
    const cuda::CublasApi& blas = cuda::cublas_api();
    check_cublas(blas.create(&cublas), "cublasCreate");
    check_cublas(blas.set_stream(cublas, stream), "cublasSetStream");
    // Plain FP32 GEMMs (no TF32): prefill then matches decode and the CPU
    // within float rounding.
    check_cublas(blas.set_math_mode(cublas, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    check(cudaMalloc(reinterpret_cast<void**>(&tile), kTileFloats * sizeof(float)),
          "cudaMalloc (matmul tile)");
    check(cudaMalloc(reinterpret_cast<void**>(&partials), kPartialFloats * sizeof(float)),
          "cudaMalloc (attention partials)");
    check(cudaMalloc(reinterpret_cast<void**>(&route_ids), kRouteEntries * sizeof(int32_t)),
          "cudaMalloc (routing ids)");
    check(cudaMalloc(reinterpret_cast<void**>(&route_w), kRouteEntries * sizeof(float)),
          "cudaMalloc (routing weights)");
  }
  // The device must be current. Waits for the lane's work, then frees.
  void destroy() noexcept {
    if (stream) cudaStreamSynchronize(stream);
    if (step_graph) cudaGraphExecDestroy(step_graph);
    cudaFree(tile);
    cudaFree(partials);
    cudaFree(route_ids);
    cudaFree(route_w);
    if (cublas) cuda::cublas_api().destroy(cublas);  // loaded: cublas was made with it
    if (stream) cudaStreamDestroy(stream);
    *this = Lane();
    cudaGetLastError();
  }
};

// A session's lane (Backend::create_stream).
class CudaStream final : public Stream {
 public:
  explicit CudaStream(int device) : device_(device) {
    check(cudaSetDevice(device_), "cudaSetDevice");
    try {
      lane_.create();
    } catch (...) {
      lane_.destroy();
      throw;
    }
  }
  ~CudaStream() override {
    if (cudaSetDevice(device_) == cudaSuccess) lane_.destroy();
  }
  int64_t bytes() const override { return Lane::kBytes; }
  Lane& lane() { return lane_; }
  int device() const { return device_; }

 private:
  int device_;
  Lane lane_;
};

class CudaBackend final : public Backend {
 public:
  CudaBackend(int device, const cudaDeviceProp& prop) : device_(device), graphs_(graphs_wanted()) {
    name_ = "cuda:" + std::to_string(device) + " " + prop.name + " (sm_" +
            std::to_string(prop.major) + std::to_string(prop.minor) + ")";
    sm_count_ = prop.multiProcessorCount;
    try {
      check(cudaSetDevice(device_), "cudaSetDevice");
      own_.create();
    } catch (...) {
      destroy();
      throw;
    }
  }
  ~CudaBackend() override { destroy(); }

  Device device() const override { return Device::Cuda; }
  const char* name() const override { return name_.c_str(); }

  // ---- streams ------------------------------------------------------------
  std::unique_ptr<Stream> create_stream() const override {
    return std::make_unique<CudaStream>(device_);
  }
  void synchronize(Stream* s) const override {
    Scope scope(*this, s);
    check(cudaStreamSynchronize(scope.lane().stream), "cudaStreamSynchronize");
  }

  // A session's decode step is captured (stream capture: the kernels are
  // recorded, not run), and the recording replaces the parameters of the
  // stream's executable graph from the previous token (cudaGraphExecUpdate:
  // positions, ring heads and token ids change per token, the kernels do
  // not) or, when the shape changed (an attention split more), a new graph
  // is instantiated; then the graph is launched: one launch per token
  // instead of hundreds, and no gaps between the kernels on the GPU. What
  // llama.cpp does too. The backend's own lane (no session stream) runs
  // steps directly. A recording that fails (the step did something a graph
  // cannot hold, or the driver refused it) is not an error of the feed: the
  // step runs again directly, as do the lane's later steps — slower, never
  // wrong. CudaVsCpu.DecodeGraphFallsBackWhenRecordingFails checks it.
  void run_graph(const ExecContext& cx, StepRef step) const override {
    if (!graphs_ || !cx.stream) return step();
    Lane& l = static_cast<CudaStream*>(cx.stream)->lane();
    if (l.graphs_failed) return step();
    check(cudaSetDevice(device_), "cudaSetDevice");
    if (cudaStreamBeginCapture(l.stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
      cudaGetLastError();
      l.graphs_failed = true;
      return step();
    }
    cudaGraph_t graph = nullptr;
    try {
      step();
    } catch (...) {
      // Nothing was run. An error of the recording itself (the capture was
      // invalidated) leaves the step to run directly; any other is the
      // step's own, for the caller.
      const cudaError_t e = cudaStreamEndCapture(l.stream, &graph);
      if (graph) cudaGraphDestroy(graph);
      cudaGetLastError();
      if (e != cudaErrorStreamCaptureInvalidated) throw;
      l.graphs_failed = true;
      return step();
    }
    if (cudaStreamEndCapture(l.stream, &graph) != cudaSuccess || !graph) {
      cudaGetLastError();
      l.graphs_failed = true;
      return step();
    }
    struct GraphGuard {
      cudaGraph_t g;
      ~GraphGuard() { cudaGraphDestroy(g); }
    } guard{graph};
    if (l.step_graph) {
      cudaGraphExecUpdateResultInfo info{};
      if (cudaGraphExecUpdate(l.step_graph, graph, &info) != cudaSuccess) {
        cudaGetLastError();  // another shape: instantiate anew below
        cudaGraphExecDestroy(l.step_graph);
        l.step_graph = nullptr;
      }
    }
    if (!l.step_graph && cudaGraphInstantiate(&l.step_graph, graph, 0) != cudaSuccess) {
      cudaGetLastError();
      l.step_graph = nullptr;
      l.graphs_failed = true;
      return step();
    }
    check(cudaGraphLaunch(l.step_graph, l.stream), "decode graph: cudaGraphLaunch");
  }

  // ---- memory -------------------------------------------------------------
  void* alloc(int64_t bytes) const override {
    if (bytes < 0) fail(Status::Internal, "cuda backend: negative allocation");
    const int64_t size = bytes == 0 ? kAllocAlign : (bytes + kAllocAlign - 1) / kAllocAlign * kAllocAlign;
    Scope scope(*this, nullptr);
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, static_cast<size_t>(size));
    if (e != cudaSuccess) {
      cudaGetLastError();
      cuda::throw_cuda_error(
          ("cudaMalloc of " + std::to_string(bytes) + " bytes on " + name_).c_str(), e);
    }
    // Zeroed on the backend's lane and waited for, so the memory is ready
    // for any session's stream.
    cudaError_t z = cudaMemsetAsync(p, 0, static_cast<size_t>(size), own_.stream);
    if (z == cudaSuccess) z = cudaStreamSynchronize(own_.stream);
    if (z != cudaSuccess) {
      cudaFree(p);
      cuda::throw_cuda_error("cudaMemsetAsync", z);
    }
    return p;
  }
  void release(void* p) const noexcept override {
    if (!p) return;
    // Kernels still queued on any stream may use the memory: let them
    // finish first. Errors cannot be reported from here; a broken context
    // shows on the next call that can report.
    if (cudaSetDevice(device_) == cudaSuccess) cudaDeviceSynchronize();
    cudaFree(p);
    cudaGetLastError();
  }
  void upload(Stream* s, void* dst, const void* host_src, int64_t bytes) const override {
    if (bytes <= 0) return;
    Scope scope(*this, s);
    // cudaMemcpyDefault: the direction follows from the pointers (unified
    // addressing), so host memory of any kind is accepted.
    check(cudaMemcpyAsync(dst, host_src, static_cast<size_t>(bytes), cudaMemcpyDefault,
                          scope.lane().stream),
          "upload: cudaMemcpyAsync");
    check(cudaStreamSynchronize(scope.lane().stream), "upload: cudaStreamSynchronize");
  }
  void download(Stream* s, void* host_dst, const void* src, int64_t bytes) const override {
    if (bytes <= 0) return;
    Scope scope(*this, s);
    check(cudaMemcpyAsync(host_dst, src, static_cast<size_t>(bytes), cudaMemcpyDefault,
                          scope.lane().stream),
          "download: cudaMemcpyAsync");
    check(cudaStreamSynchronize(scope.lane().stream), "download: cudaStreamSynchronize");
  }
  void copy(Stream* s, void* dst, const void* src, int64_t bytes) const override {
    if (bytes <= 0 || dst == src) return;
    Scope scope(*this, s);
    check(cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyDefault,
                          scope.lane().stream),
          "copy: cudaMemcpyAsync");
  }
  void zero(Stream* s, void* dst, int64_t bytes) const override {
    if (bytes <= 0) return;
    Scope scope(*this, s);
    check(cudaMemsetAsync(dst, 0, static_cast<size_t>(bytes), scope.lane().stream),
          "zero: cudaMemsetAsync");
  }
  const void* map_weight(const void* host, int64_t bytes) override {
    if (bytes < 0 || (bytes > 0 && !host))
      fail(Status::InvalidArgument, "map_weight: invalid host weight");
    void* p = alloc(bytes);
    try {
      upload(nullptr, p, host, bytes);
      std::lock_guard<std::mutex> lock(weights_mu_);
      weights_.push_back(p);
    } catch (...) {
      release(p);
      throw;
    }
    return p;
  }
  int64_t scratch_floats_per_thread(int64_t, int64_t) const override {
    return 0;  // the device scratch is the lane's (see the top of this file)
  }
  // bf16 activations: bf16 weights multiply on the tensor cores. No int8
  // products on the GPU (q8_0 weights are dequantized for float GEMMs).
  int64_t activation_bytes(DType t, int64_t rows, int64_t max_cols) const override {
    return t == DType::BF16 ? cuda::bf16_act_bytes(rows, max_cols) : 0;
  }

  // ---- ops ----------------------------------------------------------------
  void matmul(const ExecContext& cx, const MatrixRef& w, const float* x, int64_t n,
              float* y) const override {
    matmul_group(cx, &w, 1, x, n, &y);
  }
  // With bf16 activations the input is rounded once for every bf16 product
  // of the group (q, k, v; gate and up), as on the CPU.
  void matmul_group(const ExecContext& cx, const MatrixRef* w, int count, const float* x,
                    int64_t n, float* const* y) const override {
    Scope scope(*this, cx.stream);
    const Lane& l = scope.lane();
    const void* rounded = nullptr;
    if (n == 1 && count > 1 && count <= cuda::kMaxMatvecParts) {
      // Decode: the group's products in one launch.
      cuda::MatvecPart parts[cuda::kMaxMatvecParts];
      for (int i = 0; i < count; ++i) {
        const bool round = rounds_bf16(cx, w[i]);
        if (round && !rounded)
          rounded = cuda::round_bf16_input(x, 1, w[i].cols, cx.act, cx.act_bytes, l.stream);
        parts[i] = {w[i], round ? static_cast<const float*>(rounded) : x, y[i], nullptr};
      }
      cuda::matvec_parts(parts, count, l.stream);
      return;
    }
    for (int i = 0; i < count; ++i) {
      if (rounds_bf16(cx, w[i]) && n > 0) {
        if (!rounded) rounded = cuda::round_bf16_input(x, n, w[i].cols, cx.act, cx.act_bytes, l.stream);
        cuda::matmul_bf16_rounded(l.cublas, w[i], rounded, n, y[i], l.stream);
      } else {
        cuda::matmul(l.cublas, w[i], x, n, y[i], l.tile, kTileFloats, l.stream);
      }
    }
  }
  void embed(const ExecContext& cx, const MatrixRef& table, const int32_t* tokens, int64_t n,
             float* out) const override {
    Scope scope(*this, cx.stream);
    cuda::embed(table, tokens, n, out, scope.lane().stream);
  }
  void rmsnorm(const ExecContext& cx, const float* x, const float* g, int64_t n, int64_t d,
               float eps, float* y) const override {
    Scope scope(*this, cx.stream);
    cuda::rmsnorm(x, g, n, d, eps, y, scope.lane().stream);
  }
  void store_kv(const ExecContext& cx, const float* src, int64_t n, int64_t n_heads,
                int64_t head_dim, int64_t pos0, int64_t head_stride, DType dtype,
                void* dst) const override {
    Scope scope(*this, cx.stream);
    cuda::store_kv(src, n, n_heads, head_dim, pos0, head_stride, dtype, dst, scope.lane().stream);
  }
  void add(const ExecContext& cx, float* y, const float* x, int64_t count) const override {
    Scope scope(*this, cx.stream);
    cuda::add(y, x, count, scope.lane().stream);
  }
  void rope(const ExecContext& cx, float* x, int64_t n, int64_t row_stride, int64_t n_heads,
            int64_t head_dim, int64_t pos0, double theta) const override {
    Scope scope(*this, cx.stream);
    cuda::rope(x, n, row_stride, n_heads, head_dim, pos0, theta, scope.lane().stream);
  }
  void attention(const ExecContext& cx, const AttentionArgs& a) const override {
    Scope scope(*this, cx.stream);
    const Lane& l = scope.lane();
    cuda::attention(a, l.partials, kPartialFloats, sm_count_, l.stream);
  }
  void causal_conv(const ExecContext& cx, const CausalConvArgs& a) const override {
    Scope scope(*this, cx.stream);
    cuda::causal_conv(a, scope.lane().stream);
  }
  void conba_scan(const ExecContext& cx, const ConbaScanArgs& a) const override {
    Scope scope(*this, cx.stream);
    cuda::conba_scan(a, scope.lane().stream);
  }
  void swiglu(const ExecContext& cx, const float* gate, const float* up, float* out,
              int64_t count) const override {
    Scope scope(*this, cx.stream);
    cuda::swiglu(gate, up, out, count, scope.lane().stream);
  }
  // ids and weights are host-visible memory of the caller: the routing runs
  // on the device into the lane's buffers, which are copied out once the
  // stream has reached them.
  void moe_route(const ExecContext& cx, const float* logits, int64_t n, int64_t n_experts,
                 int64_t top_k, int32_t* ids, float* weights) const override {
    if (n <= 0) return;
    if (top_k < 1 || top_k > kRouteEntries)
      fail(Status::InvalidArgument, "moe_route: top_k " + std::to_string(top_k) + " out of range");
    Scope scope(*this, cx.stream);
    const Lane& l = scope.lane();
    // The model code reads them right after this call, on the host.
    cuda::require_host_memory(ids, "moe_route: ids");
    cuda::require_host_memory(weights, "moe_route: weights");
    const int64_t rows_per_pass = kRouteEntries / top_k;
    for (int64_t t0 = 0; t0 < n; t0 += rows_per_pass) {
      const int64_t m = n - t0 < rows_per_pass ? n - t0 : rows_per_pass;
      cuda::moe_route(logits + t0 * n_experts, m, n_experts, top_k, l.route_ids, l.route_w, l.stream);
      const size_t entries = static_cast<size_t>(m * top_k);
      check(cudaMemcpyAsync(ids + t0 * top_k, l.route_ids, entries * sizeof(int32_t),
                            cudaMemcpyDefault, l.stream),
            "moe_route: cudaMemcpyAsync (ids)");
      check(cudaMemcpyAsync(weights + t0 * top_k, l.route_w, entries * sizeof(float),
                            cudaMemcpyDefault, l.stream),
            "moe_route: cudaMemcpyAsync (weights)");
      // The next pass reuses the device buffers, and the caller reads the
      // results as soon as this call returns.
      check(cudaStreamSynchronize(l.stream), "moe_route: cudaStreamSynchronize");
    }
  }
  // Routing into the lane's buffers, each chosen expert's MLP reading its
  // index there (matvec_selected) and its gate weight (axpy_device_scale).
  bool moe_token(const ExecContext& cx, const MoeTokenArgs& a) const override {
    if (a.top_k < 1 || a.top_k > a.n_experts || a.top_k > kRouteEntries)
      fail(Status::InvalidArgument, "moe_token: top_k " + std::to_string(a.top_k) +
                                        " outside [1, " + std::to_string(a.n_experts) + "]");
    Scope scope(*this, cx.stream);
    const Lane& l = scope.lane();
    cuda::moe_route(a.router, 1, a.n_experts, a.top_k, l.route_ids, l.route_w, l.stream);
    check(cudaMemsetAsync(a.out, 0, static_cast<size_t>(a.d_model) * sizeof(float), l.stream),
          "moe_token: cudaMemsetAsync");
    // Expert 0 of each stack; the kernels move to the chosen one.
    const MatrixRef gate = a.w_gate.rows_slice(0, a.d_ff), up = a.w_up.rows_slice(0, a.d_ff);
    const MatrixRef down = a.w_down.rows_slice(0, a.d_model);
    // With bf16 activations a bf16 expert multiplies its rounded input, as
    // matmul does: x rounded once for every expert, each expert's SwiGLU
    // output rounded in place.
    const float* x_up = a.x;
    const float* x_gate = a.x;
    if (rounds_bf16(cx, gate) || rounds_bf16(cx, up)) {
      const float* xr = static_cast<const float*>(
          cuda::round_bf16_input(a.x, 1, a.d_model, cx.act, cx.act_bytes, l.stream));
      if (rounds_bf16(cx, gate)) x_gate = xr;
      if (rounds_bf16(cx, up)) x_up = xr;
    }
    for (int64_t j = 0; j < a.top_k; ++j) {
      const int32_t* e = l.route_ids + j;
      const cuda::MatvecPart gate_up[] = {{gate, x_gate, a.gate, e}, {up, x_up, a.up, e}};
      cuda::matvec_parts(gate_up, 2, l.stream);
      cuda::swiglu(a.gate, a.up, a.act, a.d_ff, l.stream);
      if (rounds_bf16(cx, down)) cuda::round_bf16(a.act, a.d_ff, a.act, l.stream);
      cuda::matvec_selected(down, e, a.act, a.y, l.stream);
      cuda::axpy_device_scale(a.out, a.y, l.route_w + j, a.d_model, l.stream);
    }
    return true;
  }
  void gather_rows(const ExecContext& cx, const float* src, int64_t d, const int32_t* rows,
                   int64_t count, float* dst) const override {
    Scope scope(*this, cx.stream);
    cuda::gather_rows(src, d, rows, count, dst, scope.lane().stream);
  }
  void scatter_add_rows(const ExecContext& cx, const float* src, int64_t d, const int32_t* rows,
                        const float* scale, int64_t count, float* dst) const override {
    Scope scope(*this, cx.stream);
    cuda::scatter_add_rows(src, d, rows, scale, count, dst, scope.lane().stream);
  }

 private:
  // The lane a call runs on: the session stream's, or (s == nullptr) the
  // backend's own, held under its mutex for the call. Makes this backend's
  // GPU current on the calling thread (the CUDA current device is per thread).
  class Scope {
   public:
    Scope(const CudaBackend& be, Stream* s)
        : lock_(be.own_mu_, std::defer_lock),
          lane_(s ? static_cast<CudaStream*>(s)->lane() : be.own_) {
      if (!s) lock_.lock();
      check(cudaSetDevice(be.device_), "cudaSetDevice");
    }
    const Lane& lane() const { return lane_; }

   private:
    std::unique_lock<std::mutex> lock_;
    const Lane& lane_;
  };

  // Frees whatever exists; used by the destructor and by a failed constructor.
  void destroy() noexcept {
    if (cudaSetDevice(device_) != cudaSuccess) return;  // no context: nothing was created
    own_.destroy();
    cudaDeviceSynchronize();
    for (void* p : weights_) cudaFree(p);
    weights_.clear();
    cudaGetLastError();
  }

  // Whether a product with w rounds its input to bf16 (session option).
  static bool rounds_bf16(const ExecContext& cx, const MatrixRef& w) {
    return cx.act_dtype == DType::BF16 && cx.act && w.dtype == DType::BF16;
  }

  // MIXCON_CUDA_GRAPHS=0 turns decode graphs off (to compare, or to rule
  // them out); anything else, or unset, leaves them on.
  static bool graphs_wanted() {
    const char* v = std::getenv("MIXCON_CUDA_GRAPHS");
    return !(v && std::string(v) == "0");
  }

  int device_;
  bool graphs_;
  std::string name_;
  int sm_count_ = 1;
  Lane own_;  // calls without a stream (model load, tests)
  mutable std::mutex own_mu_;
  std::vector<void*> weights_;  // device copies made by map_weight
  std::mutex weights_mu_;
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
