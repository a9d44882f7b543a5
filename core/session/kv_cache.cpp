#include "core/session/kv_cache.h"

#include <string>

#include "core/common/status.h"

namespace mixcon {

bool kv_dtype_supported(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

KvCache::KvCache(const Model& model, int64_t max_context, DType dtype) : dtype_(dtype) {
  if (!kv_dtype_supported(dtype))
    fail(Status::Unsupported, std::string("kv_dtype: a KV cache can be f32, f16 or bf16, not ") +
                                  dtype_name(dtype));
  const ModelConfig& c = model.config();
  n_heads_ = c.attention.n_kv_heads;
  head_dim_ = c.attention.head_dim;
  max_context_ = max_context;
  element_bytes_ = dtype_row_bytes(dtype, 1);
  k_.resize(static_cast<size_t>(c.n_layers));
  v_.resize(static_cast<size_t>(c.n_layers));
  const int64_t bytes = max_context * token_bytes();
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
