#include "core/session/kv_cache.h"

#include <string>

#include "core/common/status.h"

namespace mixcon {

bool kv_dtype_supported(DType t, int64_t head_dim) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 ||
         (t == DType::Q8_0 && head_dim % kQ8BlockValues == 0);
}

KvCache::KvCache(const Model& model, int64_t max_context, DType dtype) : dtype_(dtype) {
  const ModelConfig& c = model.config();
  if (!kv_dtype_supported(dtype, c.attention.head_dim))
    fail(Status::Unsupported,
         dtype == DType::Q8_0
             ? "kv_dtype: a q8_0 KV cache needs head_dim to be a multiple of 32; this model's is " +
                   std::to_string(c.attention.head_dim)
             : std::string("kv_dtype: a KV cache can be f32, f16, bf16 or q8_0, not ") + dtype_name(dtype));
  // The CUDA kernels read f32/f16/bf16 caches only (kernels/cuda/attention.cu).
  if (dtype == DType::Q8_0 && model.backend().device() != Device::Cpu)
    fail(Status::Unsupported, "kv_dtype: a q8_0 KV cache is CPU-only; use f16 or bf16 on CUDA");
  n_heads_ = c.attention.n_kv_heads;
  head_dim_ = c.attention.head_dim;
  max_context_ = max_context;
  row_bytes_ = dtype_row_bytes(dtype, head_dim_);
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
