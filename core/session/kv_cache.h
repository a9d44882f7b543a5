// The attention layers' key/value cache: rows [max_context,
// n_kv_heads·head_dim] per attention layer, allocated once for the session's
// max_context, in the session's KV dtype (PERF.md: 2 × n_attn × n_kv_heads ×
// head_dim × dtype bytes per token).
//
// f32 (the default) keeps attention exact to the reference; f16 and bf16
// halve the cache and what a long-context decode step reads (llama.cpp's
// cache types), at the cost of rounding each key and value once.
#pragma once

#include <cstdint>
#include <vector>

#include "core/model/model.h"
#include "core/session/device_buffer.h"

namespace mixcon {

class KvCache {
 public:
  // Throws Unsupported for a dtype other than F32, F16, BF16.
  KvCache(const Model& model, int64_t max_context, DType dtype);

  // Per model layer; nullptr for a Conba layer.
  void* k(int64_t layer) const { return k_[static_cast<size_t>(layer)].data(); }
  void* v(int64_t layer) const { return v_[static_cast<size_t>(layer)].data(); }
  DType dtype() const { return dtype_; }
  int64_t row_elements() const { return row_elements_; }  // n_kv_heads·head_dim
  int64_t row_bytes() const { return row_bytes_; }
  int64_t bytes() const;

 private:
  DType dtype_ = DType::F32;
  int64_t row_elements_ = 0;
  int64_t row_bytes_ = 0;
  std::vector<DeviceBuffer> k_, v_;
};

// Whether `t` can be a KV cache dtype (F32, F16, BF16).
bool kv_dtype_supported(DType t);

}  // namespace mixcon
