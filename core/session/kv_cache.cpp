#include "core/session/kv_cache.h"

namespace mixcon {

KvCache::KvCache(const Model& model, int64_t max_context) {
  const ModelConfig& c = model.config();
  row_floats_ = c.attention.n_kv_heads * c.attention.head_dim;
  k_.resize(static_cast<size_t>(c.n_layers));
  v_.resize(static_cast<size_t>(c.n_layers));
  const int64_t bytes = max_context * row_floats_ * static_cast<int64_t>(sizeof(float));
  for (int64_t l = 0; l < c.n_layers; ++l) {
    if (c.layer_types[l] != LayerType::Attention) continue;
    k_[static_cast<size_t>(l)] = DeviceBuffer(model.backend(), bytes);
    v_[static_cast<size_t>(l)] = DeviceBuffer(model.backend(), bytes);
  }
}

int64_t KvCache::bytes() const {
  int64_t b = 0;
  for (size_t l = 0; l < k_.size(); ++l) b += k_[l].bytes() + v_[l].bytes();
  return b;
}

}  // namespace mixcon
