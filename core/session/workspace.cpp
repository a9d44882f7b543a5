#include "core/session/workspace.h"

#include <algorithm>
#include <vector>

namespace mixcon {
namespace {

// Hands out 64-byte-aligned pieces of one block: first run with base ==
// nullptr to measure, then with the block to bind.
class Carver {
 public:
  explicit Carver(uint8_t* base) : base_(base) {}
  template <class T>
  T* take(int64_t count) {
    const int64_t bytes = (count * static_cast<int64_t>(sizeof(T)) + 63) / 64 * 64;
    T* p = base_ ? reinterpret_cast<T*>(base_ + used_) : nullptr;
    used_ += bytes;
    return p;
  }
  int64_t used() const { return used_; }

 private:
  uint8_t* base_;
  int64_t used_ = 0;
};

// `cv` carves backend memory, `host` host memory (the MoE routing table,
// which the model code reads to group tokens by expert).
void carve(Carver& cv, Carver& host, const ModelConfig& c, int64_t C, int64_t logits_rows,
           int64_t scratch_floats, int64_t act_bytes, ForwardScratch& s,
           float** exec_scratch, void** act) {
  const int64_t dm = c.d_model;
  const int64_t q_dim = c.attention.n_heads * c.attention.head_dim;
  const int64_t D = c.conba.d_inner, N = c.conba.d_state, r = c.conba.sel_rank;
  const int64_t d_ff = std::max(c.count_ffn(FfnType::Mlp) ? c.mlp.d_ff : 0,
                                c.count_ffn(FfnType::Moe) ? c.moe.d_ff : 0);
  const bool moe = c.count_ffn(FfnType::Moe) > 0;
  const int64_t E = moe ? c.moe.n_experts : 0, k = moe ? c.moe.top_k : 0;
  const bool attn = c.count_layers(LayerType::Attention) > 0;
  const bool conba = c.count_layers(LayerType::Conba) > 0;

  s.chunk = C;
  s.logits_rows = logits_rows;
  s.x = cv.take<float>(C * dm);
  s.xn = cv.take<float>(C * dm);
  s.out = cv.take<float>(C * dm);
  if (attn) {
    s.q = cv.take<float>(C * q_dim);
    s.att = cv.take<float>(C * q_dim);
    const int64_t kv_dim = c.attention.n_kv_heads * c.attention.head_dim;
    s.k = cv.take<float>(C * kv_dim);
    s.v = cv.take<float>(C * kv_dim);
  }
  if (conba) {
    s.uz = cv.take<float>(C * 2 * D);
    s.ubar = cv.take<float>(C * D);
    s.sel_g = cv.take<float>(C * r);
    s.sel_u = cv.take<float>(C * r);
    s.g = cv.take<float>(C * r);
    s.dt = cv.take<float>(C * D);
    s.B = cv.take<float>(C * N);
    s.C = cv.take<float>(C * N);
    s.scale = cv.take<float>(C * D);
    s.err = cv.take<float>(C * D);
    s.err_norm = cv.take<float>(C);
    s.y = cv.take<float>(C * D);
  }
  s.ff_gate = cv.take<float>(C * d_ff);
  s.ff_up = cv.take<float>(C * d_ff);
  s.ff_act = cv.take<float>(C * d_ff);
  if (moe) {
    s.router = cv.take<float>(C * E);
    s.route_ids = host.take<int32_t>(C * k);
    s.route_w = host.take<float>(C * k);
    s.expert_rows = host.take<int32_t>(C);
    s.expert_w = host.take<float>(C);
    s.moe_x = cv.take<float>(C * dm);
    s.moe_y = cv.take<float>(C * dm);
  }
  s.logits = cv.take<float>(logits_rows * c.vocab_size);
  *exec_scratch = cv.take<float>(scratch_floats);
  *act = act_bytes > 0 ? cv.take<uint8_t>(act_bytes) : nullptr;
}

}  // namespace

Workspace::Workspace(const Model& model, int64_t chunk, int n_threads, DType activations,
                     Stream* stream) {
  const ModelConfig& c = model.config();
  const int64_t C = chunk;
  const int64_t logits_rows = std::min(kLogitsRows, C);
  exec_.stream = stream;
  exec_.n_threads = n_threads;
  exec_.scratch_floats_per_thread = model.backend().scratch_floats_per_thread(
      model.weights().max_matrix_cols, c.attention.head_dim);
  const int64_t scratch_floats = exec_.scratch_floats_per_thread * n_threads;
  // A product's activations are at most a chunk of rows (the head and the
  // MoE experts take fewer).
  exec_.act_dtype = activations;
  exec_.act_bytes = activations == DType::F32 ? 0
                    : model.backend().activation_bytes(activations, C, model.weights().max_matrix_cols);

  Carver measure(nullptr), measure_host(nullptr);
  ForwardScratch probe;
  float* unused = nullptr;
  void* unused_act = nullptr;
  carve(measure, measure_host, c, C, logits_rows, scratch_floats, exec_.act_bytes, probe,
        &unused, &unused_act);
  buffer_ = DeviceBuffer(model.backend(), measure.used());
  // 64-byte pieces of a vector of 64-byte units: aligned like the backend's.
  host_.assign(static_cast<size_t>(measure_host.used() / 64 + 1), HostBlock{});
  Carver bind(static_cast<uint8_t*>(buffer_.data()));
  Carver bind_host(reinterpret_cast<uint8_t*>(host_.data()));
  carve(bind, bind_host, c, C, logits_rows, scratch_floats, exec_.act_bytes, scratch_,
        &exec_.scratch, &exec_.act);
}

}  // namespace mixcon
