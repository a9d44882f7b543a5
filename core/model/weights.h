// Typed views of the weights, layer by layer (FORMAT.md tensor table).
//
// Large matrices stay as stored (MatrixRef, converted inside the kernels).
// Vectors and the small per-channel tables are float32 in backend memory,
// converted once at load, and the Conba parameters that only ever enter the
// math through a fixed function are stored already transformed:
// A = -exp(A_log), rho = 0.5·σ(delay_logit), lambda = σ(gain_decay_logit),
// eta = softplus(gain_rate_raw) (computed in double, then rounded once).
#pragma once

#include <cstdint>
#include <vector>

#include "core/backend.h"

namespace mixcon {

struct AttentionWeights {
  MatrixRef wq;  // [H·h, d_model]
  MatrixRef wk;  // [G·h, d_model]
  MatrixRef wv;  // [G·h, d_model]
  MatrixRef wo;  // [d_model, H·h]
};

struct ConbaWeights {
  MatrixRef in_proj;     // [2D, d_model]: rows 0..D-1 give u, D..2D-1 give z
  const float* conv_w = nullptr;   // [D, K]
  const float* conv_b = nullptr;   // [D]
  MatrixRef sel_gate;    // [r, D]
  MatrixRef sel_up;      // [r, D]
  MatrixRef dt_proj;     // [D, r]
  const float* dt_bias = nullptr;  // [D]
  MatrixRef b_proj;      // [N, r]
  MatrixRef c_proj;      // [N, r]
  MatrixRef scale_proj;  // [D, r]   (scaling; data nullptr when off)
  const float* scale_bias = nullptr;  // [D]   (scaling)
  const float* a = nullptr;        // [D, N]  A = -exp(A_log)
  const float* d_skip = nullptr;   // [D]
  const float* rho = nullptr;        // [D] (delay)
  const float* w_ref = nullptr;      // [D] (control)
  const float* lambda = nullptr;     // [D] (control)
  const float* eta = nullptr;        // [D] (control)
  std::vector<float> gain_init;      // [D] host copy: the session's k after reset (control)
  MatrixRef out_proj;    // [d_model, D]
};

struct MlpWeights {
  MatrixRef w_gate;  // [d_ff, d_model]
  MatrixRef w_up;    // [d_ff, d_model]
  MatrixRef w_down;  // [d_model, d_ff]
};

// Experts stacked: expert e is rows_slice(e·d_ff, d_ff) of w_gate/w_up and
// rows_slice(e·d_model, d_model) of w_down.
struct MoeWeights {
  MatrixRef router;  // [E, d_model]
  MatrixRef w_gate;  // [E·d_ff, d_model]
  MatrixRef w_up;    // [E·d_ff, d_model]
  MatrixRef w_down;  // [E·d_model, d_ff]
};

struct LayerWeights {
  const float* mixer_norm = nullptr;  // [d_model]
  const float* ffn_norm = nullptr;    // [d_model]
  AttentionWeights attn;    // when layer_types[l] == Attention
  ConbaWeights conba;       // when layer_types[l] == Conba
  MlpWeights mlp;           // when ffn_types[l] == Mlp
  MoeWeights moe;           // when ffn_types[l] == Moe
};

struct ModelWeights {
  MatrixRef tok_embeddings;   // [vocab, d_model]
  const float* output_norm = nullptr;   // [d_model]
  MatrixRef lm_head;          // [vocab, d_model]; the embeddings when tied
  std::vector<LayerWeights> layers;
  int64_t max_matrix_cols = 0;  // widest matrix: sizes the matmul scratch
};

}  // namespace mixcon
