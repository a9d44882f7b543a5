#include "cli/bench_cost_model.h"

namespace mixcon {
namespace bench {
namespace {

bool ends_with(const std::string& s, const char* suffix) {
  const std::string suf(suffix);
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

bool is_expert_stack(const std::string& name) {
  return ends_with(name, ".moe.w_gate") || ends_with(name, ".moe.w_up") ||
         ends_with(name, ".moe.w_down");
}

}  // namespace

DecodeBytes decode_bytes_per_token(const ModelConfig& c, const std::vector<StoredTensor>& tensors,
                                   double context, int64_t kv_row_bytes) {
  DecodeBytes b;
  for (const StoredTensor& t : tensors) {
    if (t.name == "tok_embeddings") {
      b.weights += double(t.nbytes) / double(t.rows);
    } else if (is_expert_stack(t.name)) {
      b.weights += double(t.nbytes) * double(c.moe.top_k) / double(c.moe.n_experts);
    } else {
      b.weights += double(t.nbytes);
    }
  }
  const double n_attn = double(c.count_layers(LayerType::Attention));
  b.kv_cache = n_attn * 2.0 * double(c.attention.n_kv_heads) * double(kv_row_bytes) * context;
  const double n_conba = double(c.count_layers(LayerType::Conba));
  const double D = double(c.conba.d_inner), N = double(c.conba.d_state);
  const double states_read = c.conba.features.delay && c.conba.delay > 1 ? 2.0 : 1.0;
  const double gain = c.conba.features.control ? D : 0.0;
  b.conba_state = n_conba * 4.0 * (states_read * D * N + double(c.conba.d_conv - 1) * D + gain);
  return b;
}

double prefill_flops_per_token(const ModelConfig& c, int64_t prompt) {
  const double dm = double(c.d_model);
  double macs = 0.0;  // multiply-adds per token
  for (int64_t l = 0; l < c.n_layers; ++l) {
    if (c.layer_types[size_t(l)] == LayerType::Attention) {
      const AttentionConfig& a = c.attention;
      const double q = double(a.n_heads * a.head_dim), kv = double(a.n_kv_heads * a.head_dim);
      macs += dm * q + 2.0 * dm * kv + q * dm;
      // Scores and weighted values: each query head over the prefix (on
      // average (prompt + 1) / 2 keys), head_dim multiply-adds for each.
      macs += 2.0 * double(a.n_heads * a.head_dim) * (double(prompt) + 1.0) / 2.0;
    } else {
      const ConbaConfig& k = c.conba;
      const double D = double(k.d_inner), N = double(k.d_state), r = double(k.sel_rank);
      macs += 2.0 * D * dm + dm * D;                            // in_proj, out_proj
      macs += 2.0 * r * D;                                      // selection gate and up
      macs += D * r + 2.0 * N * r + (k.features.scaling ? D * r : 0.0);  // dt, B, C, scale
      macs += 2.0 * D * N;                                      // state update and C·h
    }
    if (c.ffn_types[size_t(l)] == FfnType::Mlp) {
      macs += 3.0 * dm * double(c.mlp.d_ff);
    } else {
      macs += dm * double(c.moe.n_experts) + double(c.moe.top_k) * 3.0 * dm * double(c.moe.d_ff);
    }
  }
  macs += double(c.vocab_size) * dm / double(prompt > 0 ? prompt : 1);
  return 2.0 * macs;
}

int64_t expected_kv_bytes_per_token(const ModelConfig& c, int64_t kv_row_bytes) {
  return 2 * c.count_layers(LayerType::Attention) * c.attention.n_kv_heads * kv_row_bytes;
}

}  // namespace bench
}  // namespace mixcon
