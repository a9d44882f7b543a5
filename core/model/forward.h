// The whole network over one chunk of tokens (MODEL.md §1), as backend calls.
//
// The session owns every byte of memory involved; this file defines what the
// forward pass needs from it: each layer's mutable state (LayerState) and the
// chunk-sized scratch buffers (ForwardScratch), both planned when the session
// is created.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/backend.h"
#include "core/model/model.h"

namespace mixcon {

// One layer's mutable state; only the members of the layer's kind are set.
struct LayerState {
  // Attention: [n_kv_heads][max_context][head_dim] of kv_dtype each
  // (core/session/kv_cache.h); kv_head_stride = max_context·head_dim.
  void* k_cache = nullptr;
  void* v_cache = nullptr;
  int64_t kv_head_stride = 0;
  DType kv_dtype = DType::F32;
  // Conba (MODEL.md §4 session state).
  float* conv_window = nullptr;  // [K-1, D], oldest first
  float* h_ring = nullptr;       // [ring+1, D, N] (see ConbaScanArgs)
  int64_t ring_head = 0;         // slot of h_{t-1}; forward_chunk advances it
  float* gain = nullptr;         // [D] k_{t-1}
};

// Scratch for a chunk of up to `chunk` tokens; every buffer is [chunk, width].
struct ForwardScratch {
  int64_t chunk = 0;
  int64_t logits_rows = 0;  // rows of `logits`; the head runs in batches of this many
  float* x = nullptr;       // [chunk, d_model] residual stream
  float* xn = nullptr;      // [chunk, d_model] normalized input of a block
  float* out = nullptr;     // [chunk, d_model] output of a mixer or FFN
  // attention
  float* q = nullptr;    // [chunk, H·h]
  float* att = nullptr;  // [chunk, H·h]
  // Keys and values as projected (token rows), before store_kv puts them
  // into the head-major cache in its dtype.
  float* k = nullptr;  // [chunk, H_kv·h]
  float* v = nullptr;  // [chunk, H_kv·h]
  // conba
  float* uz = nullptr;        // [chunk, 2D]
  float* ubar = nullptr;      // [chunk, D]
  float* sel_g = nullptr;     // [chunk, r]
  float* sel_u = nullptr;     // [chunk, r]
  float* g = nullptr;         // [chunk, r]
  float* dt = nullptr;        // [chunk, D]
  float* B = nullptr;         // [chunk, N]
  float* C = nullptr;         // [chunk, N]
  float* scale = nullptr;     // [chunk, D]
  float* err = nullptr;       // [chunk, D]
  float* err_norm = nullptr;  // [chunk]
  float* y = nullptr;         // [chunk, D]
  // MLP / experts (width: the larger d_ff)
  float* ff_gate = nullptr;  // [chunk, d_ff]
  float* ff_up = nullptr;    // [chunk, d_ff]
  float* ff_act = nullptr;   // [chunk, d_ff]
  // MoE
  float* router = nullptr;      // [chunk, E]
  int32_t* route_ids = nullptr;  // [chunk, top_k] (host-visible)
  float* route_w = nullptr;     // [chunk, top_k] (host-visible)
  int32_t* expert_rows = nullptr;  // [chunk] tokens routed to one expert (host)
  float* expert_w = nullptr;       // [chunk] their gate weights (host)
  float* moe_x = nullptr;          // [chunk, d_model] gathered inputs
  float* moe_y = nullptr;          // [chunk, d_model] one expert's outputs
  // head
  float* logits = nullptr;  // [logits_rows, vocab]
};

// What every layer function receives.
struct ForwardStep {
  const Model& model;
  const Backend& be;
  const ExecContext& cx;
  const ForwardScratch& ws;
  int64_t n;     // tokens in this chunk
  int64_t pos0;  // position of the first
};

// Mixers read ws.xn and write ws.out; FFNs likewise.
void attention_layer(const ForwardStep& s, const AttentionWeights& w, LayerState& st);
void conba_layer(const ForwardStep& s, const ConbaWeights& w, LayerState& st);
void mlp_layer(const ForwardStep& s, const MlpWeights& w);
void moe_layer(const ForwardStep& s, const MoeWeights& w);

// Feeds tokens[0..n) (n <= ws.chunk, ids already checked) at positions pos0..
// Updates `states` (one per layer): KV rows pos0..pos0+n-1, Conba state and
// ring heads. Writes the logits after the last token to last_logits (host,
// vocab floats) and, when all_logits != nullptr, the logits after every token
// there (host, [n, vocab]). Throws Error(Cancelled) when *cancel is seen true
// (checked before every layer); the caller restores the state.
void forward_chunk(const Model& model, const ExecContext& cx, const ForwardScratch& ws,
                   LayerState* states, const int32_t* tokens, int64_t n, int64_t pos0,
                   float* last_logits, float* all_logits, const std::atomic<bool>* cancel);

}  // namespace mixcon
