// The model's configuration (the `config` object of FORMAT.md), as types.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mixcon {

enum class LayerType { Attention, Conba };
enum class FfnType { Mlp, Moe };

struct AttentionConfig {
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  double rope_theta = 0.0;  // 0 = no positional encoding
};

struct ConbaFeatures {
  bool scaling = true;
  bool delay = true;
  bool control = true;
};

struct ConbaConfig {
  int64_t d_inner = 0;   // D
  int64_t d_state = 0;   // N
  int64_t d_conv = 0;    // K
  int64_t sel_rank = 0;  // r
  int64_t delay = 1;     // tau (>= 1); ignored when !features.delay
  ConbaFeatures features;
};

struct MlpConfig {
  int64_t d_ff = 0;
};

struct MoeConfig {
  int64_t n_experts = 0;
  int64_t top_k = 0;
  int64_t d_ff = 0;
  std::string router = "topk_softmax";
};

struct ModelConfig {
  std::string arch = "mixcon";
  int64_t vocab_size = 0;
  int64_t d_model = 0;
  int64_t n_layers = 0;
  double norm_eps = 1e-6;
  bool tie_embeddings = false;
  int64_t max_context = 0;
  std::vector<LayerType> layer_types;  // n_layers entries
  std::vector<FfnType> ffn_types;      // n_layers entries
  // A section is present in the file only when a layer uses it; the sizes of
  // an unused section stay 0.
  AttentionConfig attention;
  ConbaConfig conba;
  MlpConfig mlp;
  MoeConfig moe;

  int64_t count_layers(LayerType t) const;
  int64_t count_ffn(FfnType t) const;
  // Ring length of the delayed-state buffer: delay when the feature is on, else 1.
  int64_t conba_ring() const;
};

// Parses and validates FORMAT.md's `config` object (every range rule, unknown
// keys and features rejected). Throws Error(Status::Format, "<label>: config.<field>: <reason>").
ModelConfig parse_config(const nlohmann::json& j, const std::string& label);
// The inverse, with the sections actually used; dumped with sorted keys it is
// what the writers put in the file.
nlohmann::json config_to_json(const ModelConfig& c);

// One tensor the config requires, in FORMAT.md's table.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  bool q8_allowed;  // a large matrix whose last dimension is a multiple of 32
};
// Every tensor the config requires, sorted by name.
std::vector<TensorSpec> expected_tensors(const ModelConfig& c);

// True for FORMAT.md's large matrices (tok_embeddings, lm_head, attn.w*,
// conba.in_proj/out_proj, mlp.w*, moe.w_*): the tensors q8_0 may hold.
bool is_large_matrix(const std::string& name);

}  // namespace mixcon
