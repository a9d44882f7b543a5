// The one interface between the model code (core/model, core/session) and the
// kernels that do the arithmetic (kernels/cpu today, kernels/cuda later).
//
// The model code describes WHAT a layer computes as a sequence of these calls;
// a backend decides HOW. Pointers handed to the ops point into memory the
// backend allocated (alloc) or mapped (map_weight): the model code passes them
// along but never dereferences them, so a device backend can hand out device
// pointers. Host data crosses only through upload/download, token ids and the
// MoE routing table (see moe_route) excepted.
//
// Every op writes its outputs row by row and splits its work over output
// rows/channels only, never across a reduction, so results are bitwise the
// same for any thread count.
//
// A Backend is immutable after creation and shared by every session of a
// model; per-call state (thread count, scratch memory, the session's Stream)
// comes in ExecContext, owned by the calling session, so sessions may run
// concurrently.
#pragma once

#include <cstdint>
#include <memory>

#include "core/format/dtype.h"

namespace mixcon {

enum class Device { Cpu = 0, Cuda = 1 };

// A weight matrix [rows, cols] as stored: row-major, each row row_bytes bytes
// of `dtype` (q8_0 rows are cols/32 blocks). Stays in its stored dtype; the
// kernels convert inside their dot products.
struct MatrixRef {
  DType dtype = DType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t row_bytes = 0;
  const void* data = nullptr;

  // Row r as stored, viewed as T elements (float, uint16_t bits, BlockQ8_0).
  template <class T>
  const T* row(int64_t r) const {
    return reinterpret_cast<const T*>(static_cast<const uint8_t*>(data) + r * row_bytes);
  }

  // Rows [first, first + n) as a matrix of their own (an expert of a stack).
  MatrixRef rows_slice(int64_t first, int64_t n) const {
    MatrixRef r = *this;
    r.rows = n;
    r.data = static_cast<const uint8_t*>(data) + first * row_bytes;
    return r;
  }
};

// A session's own ordered lane of work on a backend, with the device scratch
// its ops need (created once, with the session: Backend::create_stream). On a
// device backend a call only enqueues its work on the stream; everything on
// one stream runs in call order, and streams of different sessions run
// independently (no lock between them). The CPU backend has none: its calls
// run to completion on the calling thread.
class Stream {
 public:
  virtual ~Stream() = default;
  // Device memory this stream holds (scratch), for the session's accounting.
  virtual int64_t bytes() const = 0;
};

// What one op call may use: its thread count and the calling session's
// scratch (n_threads blocks of scratch_floats_per_thread floats, sized by
// Backend::scratch_floats_per_thread when the session was planned).
struct ExecContext {
  // The calling session's stream (Backend::create_stream); nullptr: the
  // backend's own, shared stream (serialized between callers).
  Stream* stream = nullptr;
  int n_threads = 1;
  float* scratch = nullptr;
  int64_t scratch_floats_per_thread = 0;
  // Session option activation_dtype (Q8_0 or BF16): products with weights of
  // that dtype round their activations to it into this buffer
  // (Backend::activation_bytes) and multiply narrow (q8_0: int8 block sums;
  // bf16: bf16 pair products). act == nullptr: every product is exact float32.
  DType act_dtype = DType::F32;
  void* act = nullptr;
  int64_t act_bytes = 0;
};

// Causal depthwise convolution over a chunk, SiLU fused (MODEL.md §4 (2)):
//   out[t, c] = SiLU(b[c] + sum_j w[c, j] * x_{t-K+1+j}[c])
// where positions before the chunk come from `window` ([K-1, C], oldest
// first), which is advanced to the chunk's last K-1 inputs.
struct CausalConvArgs {
  int64_t n_tokens = 0;
  int64_t channels = 0;
  int64_t kernel = 0;       // K
  const float* x = nullptr;  // [n_tokens] rows of x_stride floats, first `channels` used
  int64_t x_stride = 0;
  float* window = nullptr;  // [K-1, channels], updated in place
  const float* w = nullptr;  // [channels, K]
  const float* b = nullptr;  // [channels]
  float* out = nullptr;      // [n_tokens, channels]
};

// The Conba selective scan with delayed state and adaptive control, fused so
// each state element is read and written once per token (MODEL.md §4 (4)-(8)
// and the gate of (9)). Parameters derived once at load are passed ready:
// A = -exp(A_log), rho = 0.5*sigmoid(delay_logit), lambda = sigmoid(gain_decay_logit),
// eta = softplus(gain_rate_raw). A nullptr feature pointer switches it off
// (scale_raw: s = 1; rho: no delay; w_ref: no control).
//
// The state ring holds n_slots = ring + 1 states [D, N]: slot `head` is h_{t-1},
// slot head-k+1 is h_{t-k}, and the token at chunk offset i writes
// h_t into slot head+i+1, the one slot not live. A single-token call
// therefore never overwrites a live state: the caller commits it by
// advancing head (by n_tokens, modulo n_slots) only when the whole feed succeeds.
struct ConbaScanArgs {
  int64_t n_tokens = 0;
  int64_t d_inner = 0;  // D
  int64_t d_state = 0;  // N
  int64_t ring = 1;     // tau when the delay feature is on, else 1
  // Per-token inputs.
  const float* u = nullptr;          // [n, D]  ū (after conv + SiLU)
  const float* dt_raw = nullptr;     // [n, D]  W_dt g
  const float* B = nullptr;          // [n, N]  W_B g
  const float* C = nullptr;          // [n, N]  W_C g
  const float* scale_raw = nullptr;  // [n, D]  W_s g, or nullptr (scaling off)
  const float* z = nullptr;          // [n] rows of z_stride floats: the gate z
  int64_t z_stride = 0;
  // Per-channel parameters.
  const float* dt_bias = nullptr;     // [D]
  const float* a = nullptr;           // [D, N] A = -exp(A_log)
  const float* d_skip = nullptr;      // [D]
  const float* scale_bias = nullptr;  // [D] (scaling on)
  const float* rho = nullptr;         // [D] or nullptr (delay off)
  const float* w_ref = nullptr;       // [D] or nullptr (control off)
  const float* lambda = nullptr;      // [D] (control on)
  const float* eta = nullptr;         // [D] (control on)
  // State.
  float* h_ring = nullptr;  // [ring + 1, D, N]
  int64_t head = 0;         // slot of h_{t-1} before the chunk
  float* gain = nullptr;    // [D] k_{t-1}, advanced to the chunk's last k (control on)
  // Scratch and output.
  float* err = nullptr;       // [n, D] tracking error e (control on)
  float* err_norm = nullptr;  // [n]    ||e||_2 / sqrt(D) (control on)
  float* out = nullptr;       // [n, D] ŷ ⊙ SiLU(z)
};

// Attention of n_tokens queries at positions pos0.. over the cached keys and
// values 0..pos0+i (causal), with grouped KV heads (MODEL.md §3). The cache
// holds kv_dtype elements (F32, F16 or BF16; see store_kv), read as float32:
// key s of KV head g starts at element g·kv_head_stride + s·kv_stride.
struct AttentionArgs {
  int64_t n_tokens = 0;
  int64_t pos0 = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  const float* q = nullptr;  // [n, n_heads*head_dim] rows of q_stride
  int64_t q_stride = 0;
  const void* k_cache = nullptr;  // keys 0 .. pos0+n-1 of every KV head
  const void* v_cache = nullptr;
  int64_t kv_stride = 0;       // elements from one key of a head to the next
  int64_t kv_head_stride = 0;  // elements from one KV head to the next
  DType kv_dtype = DType::F32;
  float* out = nullptr;  // [n, n_heads*head_dim] rows of out_stride
  int64_t out_stride = 0;
};

// The MoE FFN of one token (MODEL.md §2) as one backend op: see
// Backend::moe_token. Stacks as in MoeWeights: expert e's gate and up are
// rows [e·d_ff, (e+1)·d_ff), its down rows [e·d_model, (e+1)·d_model).
struct MoeTokenArgs {
  int64_t n_experts = 0;
  int64_t top_k = 0;
  int64_t d_model = 0;
  int64_t d_ff = 0;
  const float* router = nullptr;  // [n_experts] logits
  MatrixRef w_gate, w_up, w_down;
  const float* x = nullptr;  // [d_model] the normalized input
  // Scratch.
  float* gate = nullptr;  // [d_ff]
  float* up = nullptr;    // [d_ff]
  float* act = nullptr;   // [d_ff]
  float* y = nullptr;     // [d_model] one expert's output
  float* out = nullptr;   // [d_model] Σ w_e·MLP_e(x), ascending e
};

// A callable by reference (Backend::run_graph's step): unlike std::function
// it never allocates, so a decode step stays allocation-free.
class StepRef {
 public:
  template <class F>
  StepRef(F& f) : obj_(&f), call_([](void* o) { (*static_cast<F*>(o))(); }) {}  // NOLINT: implicit by design
  void operator()() const { call_(obj_); }

 private:
  void* obj_;
  void (*call_)(void*);
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  virtual const char* name() const = 0;

  // ---- streams ------------------------------------------------------------
  // A new stream for one session (see Stream); nullptr when this backend
  // needs none (the CPU). Throws Error(OutOfMemory / Backend).
  virtual std::unique_ptr<Stream> create_stream() const { return nullptr; }
  // Returns once everything enqueued on `s` (nullptr: the backend's own
  // stream) has run.
  virtual void synchronize(Stream* s) const { (void)s; }

  // Runs `step`, a sequence of op calls on cx's stream (a decode step), as
  // one unit: the CPU backend just calls it; the CUDA backend records it
  // into a CUDA graph and launches that, so hundreds of small kernels cost
  // one launch. `step` should not synchronize with the host (no upload,
  // download or moe_route; moe_token instead), and must change no host state:
  // where a recording fails, the CUDA backend runs `step` again directly (and
  // records no more on that stream). If `step` throws, part of it may have
  // run (CPU) or none (CUDA: nothing recorded is launched); the caller undoes
  // the state either way, as for any failed feed.
  virtual void run_graph(const ExecContext& cx, StepRef step) const {
    (void)cx;
    step();
  }

  // ---- memory -------------------------------------------------------------
  // Zeroed memory for session state and workspace, ready for any stream;
  // throws Error(OutOfMemory).
  virtual void* alloc(int64_t bytes) const = 0;
  // Waits for every stream's work that may still use p, then frees it.
  virtual void release(void* p) const noexcept = 0;
  // The transfers run on stream `s` (nullptr: the backend's own), in order
  // with the ops enqueued there. upload and download return once the bytes
  // have arrived (the host buffer may be reused at once); copy and zero only
  // enqueue.
  virtual void upload(Stream* s, void* dst, const void* host_src, int64_t bytes) const = 0;
  virtual void download(Stream* s, void* host_dst, const void* src, int64_t bytes) const = 0;
  virtual void copy(Stream* s, void* dst, const void* src, int64_t bytes) const = 0;
  virtual void zero(Stream* s, void* dst, int64_t bytes) const = 0;
  // A stored weight (host bytes living as long as the backend) made usable for
  // compute. The CPU backend uses it in place; a device backend copies it and
  // owns the copy.
  virtual const void* map_weight(const void* host, int64_t bytes) = 0;
  // Scratch an op may need per thread, for matrices of up to max_cols columns
  // and attention heads of head_dim.
  virtual int64_t scratch_floats_per_thread(int64_t max_cols, int64_t head_dim) const = 0;
  // Bytes of ExecContext::act for products of up to `rows` activation rows
  // of up to max_cols columns rounded to `t` (Q8_0 or BF16); 0 when this
  // backend has no such products (the session then refuses the option).
  virtual int64_t activation_bytes(DType t, int64_t rows, int64_t max_cols) const = 0;

  // ---- ops ----------------------------------------------------------------
  // y[n, w.rows] = x[n, w.cols] · wᵀ (contiguous rows). n == 1 is the decode
  // path (matrix-vector), n > 1 the prefill path (matrix-matrix).
  virtual void matmul(const ExecContext& cx, const MatrixRef& w, const float* x, int64_t n,
                      float* y) const = 0;
  // y[i] = x · w[i]ᵀ for i < count (at most 8; every w[i].cols the same):
  // products of one input (q, k, v; an FFN's gate and up), each y[i] exactly
  // what matmul(w[i]) writes. A backend may run them as one pass (the CPU:
  // one wake of its threads, narrow activations rounded once); this default
  // runs them one after the other.
  virtual void matmul_group(const ExecContext& cx, const MatrixRef* w, int count, const float* x,
                            int64_t n, float* const* y) const {
    for (int i = 0; i < count; ++i) matmul(cx, w[i], x, n, y[i]);
  }
  // out[i] = table[tokens[i]] as float32; tokens are host memory, already checked.
  virtual void embed(const ExecContext& cx, const MatrixRef& table, const int32_t* tokens,
                     int64_t n, float* out) const = 0;
  // y[i] = x[i] / sqrt(mean(x[i]²) + eps) ⊙ g, rows of d.
  virtual void rmsnorm(const ExecContext& cx, const float* x, const float* g, int64_t n,
                       int64_t d, float eps, float* y) const = 0;
  // How keys or values enter the KV cache: src holds n token rows of
  // n_heads·head_dim floats; head g of row i goes to the head_dim elements at
  // dst + g·head_stride + (pos0+i)·head_dim, in `dtype` (F32: copied; F16,
  // BF16: rounded to nearest even, as core/format/dtype.h).
  virtual void store_kv(const ExecContext& cx, const float* src, int64_t n, int64_t n_heads,
                        int64_t head_dim, int64_t pos0, int64_t head_stride, DType dtype,
                        void* dst) const = 0;
  // y += x, count floats.
  virtual void add(const ExecContext& cx, float* y, const float* x, int64_t count) const = 0;
  // Rotate-half RoPE in place on n rows (row_stride floats apart) of n_heads
  // heads; row i is at position pos0 + i.
  virtual void rope(const ExecContext& cx, float* x, int64_t n, int64_t row_stride,
                    int64_t n_heads, int64_t head_dim, int64_t pos0, double theta) const = 0;
  virtual void attention(const ExecContext& cx, const AttentionArgs& a) const = 0;
  virtual void causal_conv(const ExecContext& cx, const CausalConvArgs& a) const = 0;
  virtual void conba_scan(const ExecContext& cx, const ConbaScanArgs& a) const = 0;
  // out = SiLU(gate) ⊙ up, count floats.
  virtual void swiglu(const ExecContext& cx, const float* gate, const float* up, float* out,
                      int64_t count) const = 0;
  // Top-k of each router row (ties: lower index wins) and the softmax over the
  // chosen: ids[n, k] (host-visible memory, ascending expert index within a
  // row) and weights[n, k].
  virtual void moe_route(const ExecContext& cx, const float* logits, int64_t n,
                         int64_t n_experts, int64_t top_k, int32_t* ids,
                         float* weights) const = 0;
  // The MoE FFN of one token with the routing kept on the device: top-k of
  // a.router as moe_route, then each chosen expert's SwiGLU MLP of a.x,
  // w_e·MLP_e(x) summed into a.out in ascending expert order — the same
  // arithmetic as the host-routed path. Returns false, doing nothing, where
  // the backend has no such op (the CPU, whose host routing costs nothing
  // extra); the model code then routes on the host.
  virtual bool moe_token(const ExecContext& cx, const MoeTokenArgs& a) const {
    (void)cx;
    (void)a;
    return false;
  }
  // dst[i] = src[rows[i]], rows of d floats; rows are host memory.
  virtual void gather_rows(const ExecContext& cx, const float* src, int64_t d,
                           const int32_t* rows, int64_t count, float* dst) const = 0;
  // dst[rows[i]] += scale[i] * src[i], rows of d floats; rows and scale are host memory.
  virtual void scatter_add_rows(const ExecContext& cx, const float* src, int64_t d,
                                const int32_t* rows, const float* scale, int64_t count,
                                float* dst) const = 0;
};

// The backend for `device` (index for multi-GPU machines). Throws
// Error(Unsupported) for a device this build has no backend for.
std::unique_ptr<Backend> create_backend(Device device, int device_index);

}  // namespace mixcon
